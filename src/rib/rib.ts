/**
 * The RIB: Adj-RIB-In per neighbor, Loc-RIB with the RFC 4271 §9.1 decision process computed
 * per table (`full`, and `resale` without no-resale routes), Adj-RIB-Out per neighbor with packed
 * UPDATEs and End-of-RIB (RFC 4724 §2). Sessions talk to it only through the PeerChannel each
 * `addNeighbor` returns; the FIB subscribes with `onBestChange`. Import policy (policy/import.ts)
 * runs on every UPDATE: refused routes stay in the neighbor's Adj-RIB-In as ineligible, with
 * their reason (counted, logged once per reason and session, shown by `explain`), and never
 * take part in best-path selection; accepted ones are stored with their source tag.
 * Batches are processed synchronously; output is flushed on setImmediate and drained in time
 * slices so timers and keepalives keep running during a full-table load.
 * Graceful restart (RFC 4724, rib/graceful.ts): a neighbor's routes kept as stale across its
 * restart, and after our own restart the export deferred until End-of-RIB from the neighbors.
 */
import {
  formatPrefix4,
  formatPrefix6,
  parsePrefix4 as prefix4FromText,
  parsePrefix6 as prefix6FromText,
  prefix4,
  prefix6,
} from '../bgp/wire/index.js';
import type { Family, PathAttributes, Prefix4, Prefix6, UpdateMessage } from '../bgp/wire/types.js';
import type { NeighborConfig } from '../config/types.js';
import type { Logger } from '../observe/log.js';
import { DEFAULT_BOGONS } from '../policy/bogons.js';
import type { TableName } from '../policy/export.js';
import {
  type GlobalPolicy,
  originAsOf,
  REFUSALS,
  Rov,
  ROV_NAMES,
  type Refusal,
  refusalCode,
  rovOfTags,
} from '../policy/import.js';
import { vrpText } from '../rpki/text.js';
import { PrefixSet } from '../policy/prefix-set.js';
import type { OutboundSink, PeerChannel, SessionInfo } from './channel.js';
import type { EncodeCache } from './adj-out.js';
import { type RibCodec, wireCodec } from './codec.js';
import { STEP_NAMES } from './decide.js';
import { AttrStore, DEFAULT_LOCAL_PREF } from './intern.js';
import { LocRib } from './loc-rib.js';
import { NeighborState } from './neighbor.js';
import { KeyIndex4, KeyIndex6 } from './prefix-index.js';
import { explainPrefix, type Explanation } from './explain.js';
import {
  type DeferralStatus,
  REAL_TIMERS,
  type RibTimers,
  SelectionDeferral,
  StaleRoutes,
  type StaleStatus,
} from './graceful.js';
import { type ReimportCounts, reimport } from './reimport.js';
import {
  ALL,
  type RevalidateCounts,
  type RovAffected,
  type RovCounts,
  type RovPolicy,
  Revalidator,
  rovCode,
  rovCounts,
} from './rov.js';

export interface RibOptions {
  localAs: number;
  routerId: number;
  log: Logger;
  /** Encoder for outbound UPDATEs; defaults to src/bgp/wire. */
  codec?: RibCodec;
  /** Expected IPv4 table size, to size the prefix tables once instead of by doubling. */
  expectedPrefixes?: number;
  /** Entries turned into UPDATEs per step of an Adj-RIB-Out drain. */
  chunk?: number;
  /** Milliseconds of draining before yielding to the event loop. */
  sliceMs?: number;
  /** The provider's own space (CIDR): refused from eBGP. Default none. */
  ownPrefixes?: readonly string[];
  /** Prefix rules refused from eBGP; default policy/bogons.ts. */
  bogons?: readonly string[];
  /** RPKI origin validation of eBGP routes (rib/rov.ts); absent: off. */
  rov?: RovPolicy;
  /** Graceful restart's timers and clock (rib/graceful.ts); tests drive their own. */
  timers?: RibTimers;
}

/** The best route of one table for one prefix. */
export interface RouteInfo {
  neighbor: string;
  /** Interned, shared: read-only. */
  attrs: Readonly<PathAttributes>;
}

/** A prefix whose best path changed; an absent table entry means no route in that table. */
export interface BestChange {
  family: Family;
  prefix: Prefix4 | Prefix6;
  full?: RouteInfo;
  resale?: RouteInfo;
}

/**
 * The prefixes whose best paths changed in one flush, as packed keys: a subscriber that applies
 * them later (the FIB) reads each one's best paths with bestOf() when it gets to it, so a
 * million changes wait as 8-byte keys, not as objects the garbage collector must copy.
 */
export interface ChangedPrefixes {
  v4: Prefix4[];
  v6: Prefix6[];
}

export interface RouteView {
  family: Family;
  prefix: string;
  neighbor: string;
  attrs: Readonly<PathAttributes>;
  /** Whether this path is the best of the table asked for. */
  best: boolean;
  /** Kept from a session that ended, not announced again yet (graceful restart, RFC 4724). */
  stale: boolean;
}

/** A route refused on import: held in the neighbor's Adj-RIB-In as ineligible. */
export interface RefusedRouteView {
  family: Family;
  prefix: string;
  neighbor: string;
  reason: Refusal;
  /** As received. */
  attrs: Readonly<PathAttributes>;
  /** `rpki-invalid`: the covering VRPs, as text (`192.0.2.0/24-24 AS64500`). */
  vrps?: string[];
}

export interface RoutesOptions {
  table?: TableName;
  /** Adj-RIB-In of this neighbor instead of the best paths. */
  neighbor?: string;
}

export interface NeighborStats {
  name: string;
  up: boolean;
  prefixesIn: Record<Family, number>;
  prefixesOut: Record<Family, number>;
  /** Routes held as refused (ineligible) in the Adj-RIB-In now. */
  prefixesRefused: Record<Family, number>;
  /** Refusals by reason since the neighbor was added (a prefix refused twice counts twice). */
  refused: Record<Refusal, number>;
  /** Times the neighbor went over its max-prefix limit. */
  maxPrefixExceeded: number;
  encodeErrors: number;
  eorReceived: Family[];
  eorSent: Family[];
  pendingOut: number;
  // Graceful restart (always set by Rib.stats; optional for stats built by hand).
  /** Routes of the neighbor kept as stale (graceful restart), also counted in prefixesIn. */
  prefixesStale?: Record<Family, number>;
  /** The neighbor's graceful restart while it lasts (its routes stale), else null. */
  gracefulRestart?: StaleStatus | null;
}

export interface RibStats {
  locRib: Record<Family, number>;
  /** Prefixes with a best path in the `resale` table (no no-resale peer's routes). */
  resale: Record<Family, number>;
  paths: Record<Family, number>;
  attributeSets: number;
  // Graceful restart (always set by Rib.stats; optional for stats built by hand).
  /** Stale routes (graceful restart) of every neighbor. */
  stale?: Record<Family, number>;
  /** Our own restart while the export is deferred (RFC 4724 §4.1), else null. */
  restart?: DeferralStatus | null;
  neighbors: NeighborStats[];
}

export type { Explanation } from './explain.js';
export type { DeferralStatus, RibTimers, StaleStatus } from './graceful.js';
export type { ReimportCounts } from './reimport.js';
export type { RevalidateCounts, RovAffected, RovCounts, RovPolicy, RovValidator } from './rov.js';

interface Subscriber {
  /** One of the two: best-path changes as objects, or the changed prefixes' keys. */
  listener?: (batch: BestChange[]) => void;
  keys?: (changed: ChangedPrefixes) => void;
  /** Next entry of the snapshot still to hand over, per family; -1 when none is due. */
  cursor4: number;
  cursor6: number;
  /** Keys subscribers: the snapshot hands over only prefixes whose full or resale best path
   * passes (live changes are handed over whatever they are). Asked once per (neighbor, set). */
  filter?: (family: Family, r: RouteInfo) => boolean;
  passes?: Map<number, boolean>[];
}

/** Dirty entries handed to neighbors between two looks at the clock. */
const FANOUT_STEP = 8192;

export class Rib {
  readonly localAs: number;
  readonly routerId: number;
  readonly attrs: AttrStore;
  #policy: GlobalPolicy;
  #rov: RovPolicy | undefined;
  readonly t4: LocRib<Prefix4>;
  readonly t6: LocRib<Prefix6>;
  readonly #log: Logger;
  #codec: RibCodec;
  readonly #chunk: number;
  readonly #sliceMs: number;
  readonly #peers: (NeighborState | undefined)[] = [];
  readonly #byName = new Map<string, NeighborState>();
  readonly #freeIdx: number[] = [];
  readonly #listeners: Subscriber[] = [];
  #flushScheduled = false;
  /** The neighbor (index in #peers) the next turn of #pump serves first. */
  #pumpNext = 0;
  /** RouteInfo objects handed out during this flush (#routeInfo). */
  readonly #infoCache = new Map<number, RouteInfo>();
  #idleWaiters: (() => void)[] = [];
  /** Per-prefix RPKI states of one UPDATE (#importRov). */
  #rovScratch = new Int8Array(64);
  /** Re-validation of stored routes after a VRP or policy change, sliced (rib/rov.ts). */
  readonly #reval: Revalidator;
  /** Graceful restart: neighbors' stale routes, and our own restart's deferred export. */
  readonly #timers: RibTimers;
  readonly #stale: StaleRoutes;
  #deferral: SelectionDeferral | undefined;
  readonly #restartDone: (() => void)[] = [];

  constructor(opts: RibOptions) {
    this.localAs = opts.localAs;
    this.routerId = opts.routerId;
    this.attrs = new AttrStore(opts.localAs);
    this.#policy = globalPolicy(opts.localAs, opts.ownPrefixes, opts.bogons);
    this.#log = opts.log;
    this.#rov = opts.rov;
    this.#codec = opts.codec ?? wireCodec;
    this.#chunk = opts.chunk ?? 4096;
    this.#sliceMs = opts.sliceMs ?? 20;
    this.t4 = new LocRib(new KeyIndex4(opts.expectedPrefixes ?? 1024), this.attrs, this.#peers);
    this.t6 = new LocRib(new KeyIndex6(), this.attrs, this.#peers);
    if (opts.expectedPrefixes !== undefined) this.t4.reserve(opts.expectedPrefixes);
    this.#reval = new Revalidator({
      neighbors: () => this.#byName.values(),
      peers: this.#peers,
      t4: this.t4,
      t6: this.t6,
      attrs: this.attrs,
      policy: () => this.#rov,
      changed: () => this.#schedule(),
      log: this.#log,
    });
    this.#timers = opts.timers ?? REAL_TIMERS;
    this.#stale = new StaleRoutes({
      t4: this.t4,
      t6: this.t6,
      log: this.#log,
      timers: this.#timers,
      changed: () => this.#schedule(),
    });
  }

  addNeighbor(n: NeighborConfig): PeerChannel {
    if (this.#byName.has(n.name)) throw new Error(`neighbor ${n.name} already in the RIB`);
    const idx = this.#freeIdx.length > 0 ? this.#freeIdx.pop()! : this.#peers.length;
    const st = new NeighborState(idx, n, this.#policy, this.t4, this.t6, this.#peers);
    this.#peers[idx] = st;
    this.#byName.set(n.name, st);
    return {
      up: (info, sink) => this.#up(st, info, sink),
      updates: (batch) => this.#updates(st, batch),
      routeRefresh: (family) => this.#refresh(st, family),
      down: (reason, opts) => this.#down(st, reason, opts?.graceful === true),
      flush: (reason) => this.#flushStale(st, reason),
    };
  }

  /** Withdraws the neighbor's routes and forgets it; its channel goes inert. */
  removeNeighbor(name: string): void {
    const st = this.#byName.get(name);
    if (st === undefined) return;
    this.#down(st, 'removed');
    // Down already, its routes kept as stale: they go too.
    this.#flushStale(st, 'removed');
    this.#deferral?.gone(st);
    st.removed = true;
    this.#byName.delete(name);
    this.#peers[st.idx] = undefined;
    this.#freeIdx.push(st.idx);
  }

  /**
   * Subscribes to batches of best-path changes, one batch per RIB flush; returns an unsubscribe
   * function. With `snapshot`, a subscriber that comes late (the FIB after a restart of its
   * writer) is first handed every current best path, in batches of its own between flushes;
   * changes meanwhile arrive as usual. Every batch tells the state at the time it is handed
   * over, so a prefix seen in both ends up right whichever came first.
   */
  onBestChange(listener: (batch: BestChange[]) => void, opts: { snapshot?: boolean } = {}): () => void {
    return this.#subscribe({ listener, cursor4: -1, cursor6: -1 }, opts);
  }

  /**
   * Like onBestChange, but hands over only the keys of the changed prefixes (the snapshot: every
   * prefix with a best path); the subscriber reads their best paths with bestOf() when it is
   * ready to apply them.
   */
  onPrefixChange(
    listener: (changed: ChangedPrefixes) => void,
    opts: { snapshot?: boolean } = {},
  ): () => void {
    return this.#subscribe({ keys: listener, cursor4: -1, cursor6: -1 }, opts);
  }

  /**
   * Hands an onPrefixChange subscriber the prefixes whose full or resale best path passes
   * `filter` (asked once per neighbor and attribute set), in slices like a snapshot: for a
   * subscriber whose view of some best paths changed (the FIB after a reload moved a session
   * into a tunnel). A snapshot still under way starts again from the top, whole: the part
   * already handed over may be affected too. Unknown listener: nothing.
   */
  rehand(
    listener: (changed: ChangedPrefixes) => void,
    filter: (family: Family, r: RouteInfo) => boolean,
  ): void {
    const sub = this.#listeners.find((l) => l.keys === listener);
    if (sub === undefined) return;
    const running = sub.cursor4 >= 0 || sub.cursor6 >= 0;
    if (running && sub.filter === undefined) {
      // An unfiltered snapshot under way: from the top, unfiltered.
    } else if (running) {
      // Two filters: the union.
      const before = sub.filter!;
      sub.filter = (f, r) => before(f, r) || filter(f, r);
      sub.passes = [];
    } else {
      sub.filter = filter;
      sub.passes = [];
    }
    sub.cursor4 = this.t4.index.highWater > 0 ? 0 : -1;
    sub.cursor6 = this.t6.index.highWater > 0 ? 0 : -1;
    if (sub.cursor4 >= 0 || sub.cursor6 >= 0) this.#schedule();
  }

  #subscribe(sub: Subscriber, opts: { snapshot?: boolean }): () => void {
    // Nothing to hand over from an empty table (a FIB that starts before any session).
    const snap4 = opts.snapshot === true && this.t4.index.highWater > 0;
    const snap6 = opts.snapshot === true && this.t6.index.highWater > 0;
    sub.cursor4 = snap4 ? 0 : -1;
    sub.cursor6 = snap6 ? 0 : -1;
    this.#listeners.push(sub);
    if (snap4 || snap6) this.#schedule();
    return () => {
      const i = this.#listeners.indexOf(sub);
      if (i >= 0) this.#listeners.splice(i, 1);
    };
  }

  /** The current best paths of one prefix (what a BestChange for it would say now). */
  bestOf(family: Family, prefix: Prefix4 | Prefix6): BestChange {
    const t = (family === 'ipv4-unicast' ? this.t4 : this.t6) as LocRib<Prefix4 | Prefix6>;
    const e = (t.index as { find(k: Prefix4 | Prefix6): number }).find(prefix);
    if (e < 0 || t.head[e] === -1) return { family, prefix };
    const c = this.#change(t, family, e);
    this.#infoCache.clear();
    return c;
  }

  /** Resolves once pending changes are flushed and every unblocked neighbor is drained. */
  idle(): Promise<void> {
    if (!this.#busy()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  *routes(family: Family, opts: RoutesOptions = {}): Generator<RouteView> {
    const t = family === 'ipv4-unicast' ? this.t4 : this.t6;
    const fmt = (e: number): string =>
      family === 'ipv4-unicast'
        ? formatPrefix4(t.index.key(e) as Prefix4)
        : formatPrefix6(t.index.key(e) as Prefix6);
    // Read live at each entry: a caller may iterate across event-loop turns (the control socket
    // does, in slices) while a table load grows, and so replaces, these arrays.
    const resale = opts.table === 'resale';
    const nbr = opts.neighbor !== undefined ? this.#byName.get(opts.neighbor) : undefined;
    if (opts.neighbor !== undefined && nbr === undefined) return;
    const hw = Math.min(t.index.highWater, t.head.length);
    for (let e = 0; e < hw; e++) {
      const bestOf = resale ? t.bestResale : t.best;
      const p = nbr !== undefined ? t.pathOf(e, nbr.idx) : bestOf[e]!;
      if (p === -1 || t.head[e] === -1) continue;
      yield {
        family,
        prefix: fmt(e),
        neighbor: this.#peers[t.pNbr[p]!]!.name,
        attrs: this.attrs.get(t.pAttr[p]!),
        best: bestOf[e] === p,
        stale: t.isStale(e, t.pNbr[p]!),
      };
    }
  }

  /** Routes refused on import, with their reason: every neighbor's, or one neighbor's. */
  *refusedRoutes(family: Family, opts: { neighbor?: string } = {}): Generator<RefusedRouteView> {
    const v6 = family === 'ipv6-unicast';
    const attrs = v6 ? this.t6.attrs : this.t4.attrs;
    for (const st of this.#byName.values()) {
      if (opts.neighbor !== undefined && st.name !== opts.neighbor) continue;
      const map: ReadonlyMap<Prefix4 | Prefix6, number> = v6 ? st.refused6 : st.refused4;
      for (const [p, v] of map) {
        const view: RefusedRouteView = {
          family,
          prefix: v6 ? formatPrefix6(p as Prefix6) : formatPrefix4(p as Prefix4),
          neighbor: st.name,
          reason: REFUSALS[v % 16]!,
          attrs: attrs.get(Math.floor(v / 16)),
        };
        if (view.reason === 'rpki-invalid') view.vrps = this.#coveringText(p);
        yield view;
      }
    }
  }

  /**
   * The longest prefix with a best path in `table` that covers an address (IPv4 as a uint32,
   * IPv6 as 16 bytes), as text; undefined when none does. At most 33 or 129 lookups.
   */
  longestMatch(address: number | Uint8Array, table: TableName = 'full'): string | undefined {
    if (typeof address === 'number') {
      const t = this.t4;
      const best = table === 'resale' ? t.bestResale : t.best;
      for (let len = 32; len >= 0; len--) {
        const key = prefix4(address, len);
        const e = t.index.find(key);
        if (e >= 0 && e < t.head.length && t.head[e] !== -1 && best[e] !== -1) return formatPrefix4(key);
      }
      return undefined;
    }
    const t = this.t6;
    const best = table === 'resale' ? t.bestResale : t.best;
    for (let len = 128; len >= 0; len--) {
      const key = prefix6(address, len);
      const e = t.index.find(key);
      if (e >= 0 && e < t.head.length && t.head[e] !== -1 && best[e] !== -1) return formatPrefix6(key);
    }
    return undefined;
  }

  /** Every candidate path of a prefix ("192.0.2.0/24", "2001:db8::/32"), the winners and why. */
  explain(prefix: string): Explanation | undefined {
    const ex = explainPrefix(prefix, this.t4, this.t6, this.#peers, STEP_NAMES);
    if (ex === undefined) return undefined;
    // RPKI: the state each candidate carries; the VRPs behind an rpki-invalid refusal.
    for (const c of ex.candidates) {
      const r = rovOfTags(c.attrs.largeCommunities, this.localAs);
      if (r !== Rov.NONE) c.rpki = ROV_NAMES[r];
    }
    const key = ex.family === 'ipv4-unicast' ? prefix4FromText(ex.prefix) : prefix6FromText(ex.prefix);
    for (const r of ex.refused)
      if (r.reason === 'rpki-invalid' && key !== undefined) r.vrps = this.#coveringText(key);
    return ex;
  }

  #coveringText(p: Prefix4 | Prefix6): string[] {
    const v = this.#rov?.validator;
    if (v === undefined) return [];
    return v.covering(p).map(vrpText);
  }

  /**
   * RPKI origin validation: swaps the policy in (undefined: off) and re-validates every stored
   * eBGP route against it (rib/rov.ts); resolves when every route has its new state.
   */
  setRov(rov: RovPolicy | undefined): Promise<RevalidateCounts> {
    this.#rov = rov;
    return this.revalidate(ALL);
  }

  /**
   * After a VRP change: re-validates the stored eBGP routes whose prefixes `affected` covers (a
   * small delta touches a few routes; a first load or an expiry, all of them), a few ms per
   * event-loop turn (rib/rov.ts Revalidator). No session is reset: routes turning Invalid leave
   * (refused `rpki-invalid`), others come back or change state, and each flush sends the
   * difference so far. Resolves when done (idle() waits for it too).
   */
  revalidate(affected: RovAffected): Promise<RevalidateCounts> {
    return this.#reval.request(affected);
  }

  /** Per neighbor: accepted routes by RPKI state, and refused Invalid ones (one pass). */
  rovCounts(): Map<string, RovCounts> {
    return rovCounts(this.#byName.values(), this.t4, this.t6, this.attrs);
  }

  /**
   * The same figures as rovCounts without its walk over every path (tens of ms at 1M routes,
   * too long for a metrics scrape): accepted paths from the tables' per-neighbor counts
   * (LocRib.nbrRov), refused `rpki-invalid` ones from the neighbors' refused maps.
   */
  rovTally(): Map<string, RovCounts> {
    const out = new Map<string, RovCounts>();
    for (const st of this.#byName.values()) {
      const c: RovCounts = { valid: 0, invalid: 0, notFound: 0, unverified: 0, refused: 0 };
      for (const t of [this.t4, this.t6] as LocRib<Prefix4 | Prefix6>[]) {
        const at = st.idx * 4;
        c.unverified += t.nbrRov[at] ?? 0;
        c.valid += t.nbrRov[at + 1 + Rov.VALID] ?? 0;
        c.notFound += t.nbrRov[at + 1 + Rov.NOT_FOUND] ?? 0;
        c.invalid += t.nbrRov[at + 1 + Rov.INVALID] ?? 0;
      }
      for (const m of [st.refused4, st.refused6] as ReadonlyMap<unknown, number>[])
        for (const v of m.values()) if (REFUSALS[v % 16] === 'rpki-invalid') c.refused++;
      c.invalid += c.refused;
      out.set(st.name, c);
    }
    return out;
  }

  stats(): RibStats {
    const neighbors: NeighborStats[] = [];
    for (const st of this.#byName.values()) {
      const eorSent: Family[] = [];
      if (st.out4.eorSent) eorSent.push('ipv4-unicast');
      if (st.out6.eorSent) eorSent.push('ipv6-unicast');
      neighbors.push({
        name: st.name,
        up: st.up,
        prefixesIn: {
          'ipv4-unicast': this.t4.nbrCount[st.idx] ?? 0,
          'ipv6-unicast': this.t6.nbrCount[st.idx] ?? 0,
        },
        prefixesOut: { 'ipv4-unicast': st.out4.sentCount, 'ipv6-unicast': st.out6.sentCount },
        prefixesRefused: { 'ipv4-unicast': st.refused4.size, 'ipv6-unicast': st.refused6.size },
        refused: Object.fromEntries(REFUSALS.map((r, i) => [r, st.refusedCount[i]!])) as Record<
          Refusal,
          number
        >,
        maxPrefixExceeded: st.maxPrefixExceeded,
        encodeErrors: st.out4.encodeErrors + st.out6.encodeErrors,
        eorReceived: [...st.eorReceived],
        eorSent,
        pendingOut: st.out4.pending + st.out6.pending,
        prefixesStale: {
          'ipv4-unicast': this.t4.staleCount(st.idx),
          'ipv6-unicast': this.t6.staleCount(st.idx),
        },
        gracefulRestart: this.#stale.status(st) ?? null,
      });
    }
    const stale = { 'ipv4-unicast': 0, 'ipv6-unicast': 0 };
    for (const n of neighbors) {
      stale['ipv4-unicast'] += n.prefixesStale!['ipv4-unicast'];
      stale['ipv6-unicast'] += n.prefixesStale!['ipv6-unicast'];
    }
    return {
      locRib: { 'ipv4-unicast': this.t4.routes, 'ipv6-unicast': this.t6.routes },
      resale: { 'ipv4-unicast': this.t4.resaleRoutes, 'ipv6-unicast': this.t6.resaleRoutes },
      paths: { 'ipv4-unicast': this.t4.paths, 'ipv6-unicast': this.t6.paths },
      attributeSets: this.attrs.size,
      stale,
      restart: this.#deferral?.status() ?? null,
      neighbors,
    };
  }

  /**
   * RFC 4724 §4.1, the Restarting Speaker: gredged restarted with its forwarding state kept (the
   * daemon says so: the FIB found its routes in the kernel). Best paths are selected as routes
   * arrive, but nothing is exported until every neighbor with graceful restart has sent
   * End-of-RIB, or `deferralMs` passed; then every Established neighbor gets its initial export
   * and End-of-RIB, and the onRestartComplete callbacks run. Call before sessions start.
   */
  beginRestart(opts: { deferralMs: number }): void {
    if (this.#deferral !== undefined) return;
    this.#deferral = new SelectionDeferral(
      { log: this.#log, timers: this.#timers },
      this.#byName.values(),
      opts.deferralMs,
      () => this.#restartComplete(),
    );
    // No neighbor to wait for: done once the caller has registered its callbacks.
    setImmediate(() => this.#deferral?.check());
  }

  /** True while our own restart defers the export (between beginRestart and its end). */
  get restarting(): boolean {
    return this.#deferral?.active === true;
  }

  /** Runs `fn` once our restart's route selection is done (see beginRestart). */
  onRestartComplete(fn: () => void): void {
    this.#restartDone.push(fn);
  }

  #restartComplete(): void {
    this.#deferral = undefined;
    for (const st of this.#byName.values()) if (st.up) this.#initialExport(st);
    this.#schedule();
    for (const fn of this.#restartDone.splice(0)) {
      try {
        fn();
      } catch (err) {
        this.#log.error({ err }, 'rib: a restart-complete callback failed');
      }
    }
  }

  /**
   * A reload's RIB part, applied in one synchronous step (so no neighbor is ever exported to
   * under half-old, half-new policy): the daemon-wide import policy (`ownPrefixes`, `bogons`)
   * and the in-place changes of neighbors (policy, prefixes, resale, next hop, max-prefix) are
   * swapped in, every affected Adj-RIB-In is re-evaluated against the new policy (refused
   * routes are kept with their attributes, so a widened policy needs no route refresh), and
   * every affected Adj-RIB-Out is re-considered; the next flush sends only the difference.
   * Neighbors added or removed go through addNeighbor/removeNeighbor.
   */
  reconfigure(r: RibReconfigure): ReimportCounts {
    const total: ReimportCounts = { accepted: 0, refused: 0, retagged: 0 };
    const globalChanged = r.global !== undefined;
    if (r.global !== undefined)
      this.#policy = globalPolicy(this.localAs, r.global.ownPrefixes, r.global.bogons);
    const changed = new Map((r.neighbors ?? []).map((n) => [n.name, n]));
    for (const st of this.#byName.values()) {
      const cfg = changed.get(st.name);
      if (cfg === undefined && !globalChanged) continue;
      st.reconfigure(cfg ?? st.config, this.#policy);
      if (!st.up) continue;
      const c = reimport(st, this.t4, this.t6, this.attrs);
      total.accepted += c.accepted;
      total.refused += c.refused;
      total.retagged += c.retagged;
      // While a restart defers the export, its end sends everything anyway.
      if (this.restarting) continue;
      if (st.families.has('ipv4-unicast')) st.out4.considerAll();
      if (st.families.has('ipv6-unicast')) st.out6.considerAll();
    }
    this.#log.info({ ...total, neighbors: [...changed.keys()], globalChanged }, 'rib: reconfigured in place');
    this.#schedule();
    return total;
  }

  #up(st: NeighborState, info: SessionInfo, sink: OutboundSink): void {
    if (st.removed) return;
    if (st.up) this.#down(st, 'session replaced');
    st.establish(info, sink, this.localAs);
    this.#stale.up(st, info);
    if (this.#deferral !== undefined) {
      this.#log.info(
        { neighbor: st.name, families: info.families },
        'rib: neighbor up; export deferred until the restart is done (RFC 4724 §4.1)',
      );
      this.#deferral.up(st, info);
    } else {
      this.#log.info({ neighbor: st.name, families: info.families }, 'rib: neighbor up, initial export');
      this.#initialExport(st);
    }
    this.#schedule();
  }

  /**
   * Everything exportable to `st`, then End-of-RIB, per negotiated family (RFC 4724 §2); a family
   * that had its End-of-RIB already (up before a restart's deferral began) gets the changes only.
   */
  #initialExport(st: NeighborState): void {
    for (const [out, f] of [
      [st.out4, 'ipv4-unicast'],
      [st.out6, 'ipv6-unicast'],
    ] as const) {
      if (!st.families.has(f)) continue;
      out.considerAll();
      if (!out.eorSent) out.eorPending = true;
    }
  }

  /**
   * The session left Established. `graceful` (lost without a NOTIFICATION) with graceful restart
   * negotiated keeps the routes of the families it covers as stale (rib/graceful.ts).
   */
  #down(st: NeighborState, reason: string, graceful = false): void {
    if (!st.up) return;
    const keep = graceful ? this.#stale.retained(st) : [];
    const restartTime = st.info?.remoteCapabilities.gracefulRestart?.restartTime ?? 0;
    st.disestablish();
    const { kept, withdrawn } = this.#stale.down(st, keep, restartTime);
    this.#forgetRefused(st);
    if (keep.length > 0)
      this.#log.info(
        { neighbor: st.name, reason, stale: kept, families: keep, restartTime, withdrawn },
        'rib: neighbor down, routes kept as stale (graceful restart)',
      );
    else this.#log.info({ neighbor: st.name, reason, withdrawn }, 'rib: neighbor down, routes withdrawn');
    this.#schedule();
  }

  /** A graceful restart of `st` ends before its time: what is kept of it as stale goes. */
  #flushStale(st: NeighborState, reason: string): void {
    const n = this.#stale.forget(st);
    if (n === 0) return;
    this.#log.info({ neighbor: st.name, reason, withdrawn: n }, 'rib: stale routes withdrawn');
    this.#schedule();
  }

  #refresh(st: NeighborState, family: Family): void {
    // While a restart defers the export, its end sends everything anyway.
    if (!st.up || !st.families.has(family) || this.restarting) return;
    const out = family === 'ipv4-unicast' ? st.out4 : st.out6;
    out.considerAll();
    out.refreshPending = true;
    this.#schedule();
  }

  #updates(st: NeighborState, batch: UpdateMessage[]): void {
    if (!st.up) {
      st.updatesIgnored += batch.length;
      return;
    }
    for (const m of batch) {
      try {
        this.#update(st, m);
      } catch (err) {
        // A bug here must not take the session or the process down with it.
        this.#log.error({ neighbor: st.name, err }, 'rib: failed to apply an UPDATE');
      }
    }
    if (st.config.maxPrefix !== undefined) this.#checkMaxPrefix(st, st.config.maxPrefix);
    this.#schedule();
  }

  /**
   * Prefixes the neighbor holds in our Adj-RIB-In, accepted or refused (what it sent before
   * filtering), against its max-prefix limit: `warn` logs once per crossing; `restart` ends the
   * session with Cease 6/1 (RFC 4486) and holds it down for restart-after seconds.
   */
  #checkMaxPrefix(st: NeighborState, mp: NonNullable<NeighborConfig['maxPrefix']>): void {
    const n =
      (this.t4.nbrCount[st.idx] ?? 0) + (this.t6.nbrCount[st.idx] ?? 0) + st.refused4.size + st.refused6.size;
    if (n <= mp.limit) {
      st.overLimit = false;
      return;
    }
    if (st.overLimit) return;
    st.overLimit = true;
    st.maxPrefixExceeded++;
    const log = { neighbor: st.name, prefixes: n, limit: mp.limit, action: mp.action };
    if (mp.action === 'warn') {
      this.#log.warn(log, 'rib: max-prefix exceeded');
      return;
    }
    this.#log.warn(
      { ...log, restartAfter: mp.restartAfter },
      'rib: max-prefix exceeded: closing the session',
    );
    st.sink?.close?.(1, new Uint8Array(0), `max-prefix ${mp.limit} exceeded (${n})`, mp.restartAfter);
  }

  #update(st: NeighborState, m: UpdateMessage): void {
    const idx = st.idx;
    if (m.endOfRib !== undefined) {
      st.eorReceived.add(m.endOfRib);
      this.#stale.endOfRib(st, m.endOfRib);
      this.#deferral?.endOfRib(st, m.endOfRib);
      return;
    }
    for (const p of m.withdrawn4) {
      this.t4.withdraw(idx, p);
      if (st.refused4.size > 0) this.#unrefuse(st.refused4, p);
    }
    for (const p of m.withdrawn6) {
      this.t6.withdraw(idx, p);
      if (st.refused6.size > 0) this.#unrefuse(st.refused6, p);
    }
    const a = m.attrs;
    if (a === undefined || (m.nlri4.length === 0 && m.nlri6.length === 0)) return;
    const peerAs = st.info?.peerAs ?? st.config.remoteAs;
    const bad = st.policy.checkAttributes(a, peerAs);
    // LOCAL_PREF is ours to set on eBGP routes (RFC 4271 §5.1.5); iBGP carries it, default 100.
    const lp = st.ebgp ? DEFAULT_LOCAL_PREF : a.localPref === undefined ? DEFAULT_LOCAL_PREF : undefined;
    if (this.#rov !== undefined && st.ebgp && bad === undefined) {
      // RPKI on: per-prefix states (rpki off keeps the path below untouched).
      if (m.nlri4.length > 0) this.#importRov(st, this.t4, st.refused4, m.nlri4, a, peerAs, lp, false);
      if (m.nlri6.length > 0) this.#importRov(st, this.t6, st.refused6, m.nlri6, a, peerAs, lp, true);
      return;
    }
    if (m.nlri4.length > 0) this.#import(st, this.t4, st.refused4, m.nlri4, a, peerAs, lp, bad, false);
    if (m.nlri6.length > 0) this.#import(st, this.t6, st.refused6, m.nlri6, a, peerAs, lp, bad, true);
  }

  /**
   * #import with RFC 6811 validation of each prefix the per-prefix policy accepts: one interned
   * set per state present in the UPDATE (with LOCAL-AS:2:STATE), Invalid ones refused as
   * `rpki-invalid` (attributes as received) under `rpki.invalid: reject`.
   */
  #importRov<K extends Prefix4 | Prefix6>(
    st: NeighborState,
    t: LocRib<K>,
    refused: Map<K, number>,
    keys: readonly K[],
    a: PathAttributes,
    peerAs: number,
    lp: number | undefined,
    v6: boolean,
  ): void {
    const pol = st.policy;
    const rov = this.#rov!;
    const reject = rov.invalid === 'reject';
    const origin = originAsOf(a);
    const states = this.#rovScratch.length >= keys.length ? this.#rovScratch : new Int8Array(keys.length);
    this.#rovScratch = states;
    const n = [0, 0, 0];
    let nRefused = 0;
    for (let i = 0; i < keys.length; i++) {
      const p = keys[i]!;
      const why = v6 ? pol.checkPrefix6(p as Prefix6) : pol.checkPrefix4(p as Prefix4);
      if (why !== undefined) {
        states[i] = -1 - refusalCode(why);
        nRefused++;
        continue;
      }
      const r = rovCode(rov.validator.validate(p, origin));
      if (r === Rov.INVALID && reject) {
        states[i] = -1 - refusalCode('rpki-invalid');
        nRefused++;
        continue;
      }
      states[i] = r;
      n[r]!++;
    }
    const idx = st.idx;
    const otc = pol.otcToAdd(a, peerAs);
    // Graceful restart: an announcement refreshes a stale route (RFC 4724 §4.2).
    const stale = t.staleCount(idx) > 0;
    for (let r = 0; r < 3; r++) {
      if (n[r] === 0) continue;
      const id = this.attrs.intern(a, n[r]!, lp, pol.cls, otc, r);
      for (let i = 0; i < keys.length; i++) {
        if (states[i] !== r) continue;
        const p = keys[i]!;
        const e = t.announce(idx, p, id);
        if (stale) t.unstale(idx, e);
        if (refused.size > 0) this.#unrefuse(refused, p);
      }
    }
    if (nRefused === 0) return;
    const rid = this.attrs.intern(a, nRefused, lp);
    for (let i = 0; i < keys.length; i++) {
      if (states[i]! >= 0) continue;
      this.#refuse(st, t, refused, keys[i]!, rid, -1 - states[i]!, v6);
    }
  }

  /**
   * Announces the accepted prefixes of one family with one interned set (with our source tag
   * and OTC, policy/import.ts), and keeps the refused ones (with the attributes as received) in
   * the neighbor's refused map. The common case, all accepted, checks each prefix once and
   * allocates nothing per prefix or per UPDATE.
   */
  #import<K extends Prefix4 | Prefix6>(
    st: NeighborState,
    t: LocRib<K>,
    refused: Map<K, number>,
    keys: readonly K[],
    a: PathAttributes,
    peerAs: number,
    lp: number | undefined,
    bad: Refusal | undefined,
    v6: boolean,
  ): void {
    const pol = st.policy;
    const check = (p: K): Refusal | undefined =>
      v6 ? pol.checkPrefix6(p as Prefix6) : pol.checkPrefix4(p as Prefix4);
    let nBad = keys.length;
    if (bad === undefined) {
      nBad = 0;
      for (let i = 0; i < keys.length; i++) if (check(keys[i]!) !== undefined) nBad++;
    }
    const idx = st.idx;
    if (nBad < keys.length) {
      const id = this.attrs.intern(a, keys.length - nBad, lp, pol.cls, pol.otcToAdd(a, peerAs));
      // Graceful restart: an announcement refreshes a stale route (RFC 4724 §4.2).
      const stale = t.staleCount(idx) > 0;
      for (let i = 0; i < keys.length; i++) {
        const p = keys[i]!;
        if (nBad > 0 && check(p) !== undefined) continue;
        const e = t.announce(idx, p, id);
        if (stale) t.unstale(idx, e);
        if (refused.size > 0) this.#unrefuse(refused, p);
      }
    }
    if (nBad === 0) return;
    const rid = this.attrs.intern(a, nBad, lp);
    for (let i = 0; i < keys.length; i++) {
      const p = keys[i]!;
      const why = bad ?? check(p);
      if (why !== undefined) this.#refuse(st, t, refused, p, rid, refusalCode(why), v6);
    }
  }

  /**
   * Keeps one refused route (attribute set `rid`, reason `code`) in the neighbor's refused map,
   * withdrawing the route it replaces; counted, and logged once per reason and session.
   */
  #refuse<K extends Prefix4 | Prefix6>(
    st: NeighborState,
    t: LocRib<K>,
    refused: Map<K, number>,
    p: K,
    rid: number,
    code: number,
    v6: boolean,
  ): void {
    t.withdraw(st.idx, p); // a route it replaces (implicit withdraw) goes with it
    const old = refused.get(p);
    if (old !== undefined) this.attrs.unref(Math.floor(old / 16));
    refused.set(p, rid * 16 + code);
    st.refusedCount[code]!++;
    if ((st.refusedLogged & (1 << code)) === 0) {
      st.refusedLogged |= 1 << code;
      const prefix = v6 ? formatPrefix6(p as Prefix6) : formatPrefix4(p as Prefix4);
      this.#log.warn(
        { neighbor: st.name, reason: REFUSALS[code], prefix },
        'rib: route refused on import (logged once per reason and session; see explain)',
      );
    }
  }

  #unrefuse<K>(refused: Map<K, number>, p: K): void {
    const v = refused.get(p);
    if (v === undefined) return;
    refused.delete(p);
    this.attrs.unref(Math.floor(v / 16));
  }

  #forgetRefused(st: NeighborState): void {
    for (const map of [st.refused4, st.refused6] as Map<unknown, number>[]) {
      for (const v of map.values()) this.attrs.unref(Math.floor(v / 16));
      map.clear();
    }
    st.refusedLogged = 0;
  }

  /**
   * True while best-path changes still wait to be sent to neighbors that can take them (a
   * neighbor whose socket is full is not waited for): the FIB gives way to BGP meanwhile.
   */
  propagating(): boolean {
    if (this.t4.dirtyCount > 0 || this.t6.dirtyCount > 0) return true;
    for (const st of this.#byName.values()) {
      if (st.up && !st.blocked && (st.out4.pending > 0 || st.out6.pending > 0)) return true;
    }
    return false;
  }

  #busy(): boolean {
    if (this.#reval.running) return true;
    if (this.#flushScheduled) return true;
    for (const l of this.#listeners) if (l.cursor4 >= 0 || l.cursor6 >= 0) return true;
    for (const st of this.#byName.values()) {
      if (st.up && !st.blocked && !(st.out4.idle && st.out6.idle)) return true;
    }
    return false;
  }

  #schedule(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#flushScheduled = false;
    const up4: NeighborState[] = [];
    const up6: NeighborState[] = [];
    for (const st of this.#byName.values()) {
      // While a restart defers the export nobody is fed; its end queues everything.
      if (!st.up || this.#deferral !== undefined) continue;
      if (st.families.has('ipv4-unicast')) up4.push(st);
      if (st.families.has('ipv6-unicast')) up6.push(st);
    }
    const changes: BestChange[] | null = this.#listeners.some((l) => l.listener) ? [] : null;
    const keys: ChangedPrefixes | null = this.#listeners.some((l) => l.keys) ? { v4: [], v6: [] } : null;
    // Fan-out costs (changed prefixes × neighbors): sliced so the loop keeps serving timers.
    const t0 = performance.now();
    let left = 1;
    while (left > 0 && performance.now() - t0 < this.#sliceMs) {
      left =
        this.#fanOut(this.t4, 'ipv4-unicast', up4, changes, keys?.v4 ?? null) +
        this.#fanOut(this.t6, 'ipv6-unicast', up6, changes, keys?.v6 ?? null);
    }
    if (left > 0) this.#schedule();
    if (!this.#pump()) this.#schedule();
    // Subscribers (the FIB) after the neighbors: their work never delays an UPDATE going out.
    const anyKeys = keys !== null && keys.v4.length + keys.v6.length > 0;
    if ((changes !== null && changes.length > 0) || anyKeys)
      for (const l of [...this.#listeners]) this.#hand(l, changes, anyKeys ? keys : null);
    for (const l of [...this.#listeners]) if (l.cursor4 >= 0 || l.cursor6 >= 0) this.#snapshotStep(l);
    // Attribute ids are reused once freed: an entry must not outlive the flush that made it.
    this.#infoCache.clear();
    this.#checkIdle();
  }

  #hand(l: Subscriber, batch: BestChange[] | null, keys: ChangedPrefixes | null): void {
    try {
      if (l.keys !== undefined) {
        if (keys !== null) l.keys(keys);
      } else if (batch !== null && batch.length > 0) l.listener?.(batch);
    } catch (err) {
      this.#log.error({ err }, 'rib: best-change listener failed');
    }
  }

  /** The next part of a subscriber's snapshot: up to FANOUT_STEP entries with a best path. */
  #snapshotStep(l: Subscriber): void {
    const batch: BestChange[] = [];
    const keys: ChangedPrefixes = { v4: [], v6: [] };
    // Keys are cheap to hand over: eight times as many per step.
    const step = l.keys !== undefined ? FANOUT_STEP * 8 : FANOUT_STEP;
    // A filtered snapshot may pass over most of the table: the entries looked at are bounded too.
    let looked = 0;
    const lookLimit = step * 4;
    const filter = l.filter;
    const passes = (family: Family, t: LocRib<Prefix4 | Prefix6>, p: number): boolean => {
      if (p === -1) return false;
      const nbr = t.pNbr[p]!;
      const attr = t.pAttr[p]!;
      let byAttr = l.passes![nbr];
      if (byAttr === undefined) l.passes![nbr] = byAttr = new Map();
      let ok = byAttr.get(attr);
      if (ok === undefined) byAttr.set(attr, (ok = filter!(family, this.#routeInfo(nbr, attr))));
      return ok;
    };
    let n = 0;
    for (const [t, family, v6] of [
      [this.t4, 'ipv4-unicast', false],
      [this.t6, 'ipv6-unicast', true],
    ] as const) {
      let e = v6 ? l.cursor6 : l.cursor4;
      if (e < 0) continue;
      const hw = Math.min(t.index.highWater, t.head.length);
      for (; e < hw && n < step && looked < lookLimit; e++) {
        if (t.best[e] === -1 && t.bestResale[e] === -1) continue;
        looked++;
        if (filter) {
          const lr = t as LocRib<Prefix4 | Prefix6>;
          if (!passes(family, lr, t.best[e]!) && !passes(family, lr, t.bestResale[e]!)) continue;
        }
        n++;
        if (l.keys === undefined) batch.push(this.#change(t as LocRib<Prefix4 | Prefix6>, family, e));
        else if (v6) keys.v6.push((t as LocRib<Prefix6>).index.key(e));
        else keys.v4.push((t as LocRib<Prefix4>).index.key(e));
      }
      if (v6) l.cursor6 = e < hw ? e : -1;
      else l.cursor4 = e < hw ? e : -1;
      if (n >= step || looked >= lookLimit) break;
    }
    if (n > 0) this.#hand(l, batch, keys);
    if (l.cursor4 >= 0 || l.cursor6 >= 0) this.#schedule();
    else {
      l.filter = undefined;
      l.passes = undefined;
    }
  }

  #fanOut<K extends Prefix4 | Prefix6>(
    t: LocRib<K>,
    family: Family,
    ups: NeighborState[],
    changes: BestChange[] | null,
    keys: K[] | null,
  ): number {
    if (t.dirtyCount === 0) return 0;
    const v6 = family === 'ipv6-unicast';
    return t.takeDirty((e) => {
      if (changes !== null) changes.push(this.#change(t, family, e));
      if (keys !== null) keys.push(t.index.key(e));
      for (let i = 0; i < ups.length; i++) (v6 ? ups[i]!.out6 : ups[i]!.out4).consider(e);
    }, FANOUT_STEP);
  }

  #change<K extends Prefix4 | Prefix6>(t: LocRib<K>, family: Family, e: number): BestChange {
    const c: BestChange = { family, prefix: t.index.key(e) };
    const b = t.best[e]!;
    const r = t.bestResale[e]!;
    if (b !== -1) c.full = this.#routeInfo(t.pNbr[b]!, t.pAttr[b]!);
    if (r !== -1) c.resale = r === b ? c.full! : this.#routeInfo(t.pNbr[r]!, t.pAttr[r]!);
    return c;
  }

  /**
   * One RouteInfo per (neighbor, attribute set) and flush: a full table shares ~10 prefixes per
   * attribute set, and a million short-lived objects are what the collector would pay for.
   */
  #routeInfo(nbr: number, attrId: number): RouteInfo {
    const key = attrId * 1048576 + nbr; // exact below 2^20 neighbors
    let info = this.#infoCache.get(key);
    if (info === undefined) {
      info = { neighbor: this.#peers[nbr]!.name, attrs: this.attrs.get(attrId) };
      this.#infoCache.set(key, info);
    }
    return info;
  }

  /**
   * Sends what neighbors have queued, a chunk per neighbor in turn, for at most one slice in
   * all; the next turn starts with the neighbor after the last one served. One slice for all of
   * them, not one each: with a thousand customers taking a full table, a slice each held the
   * event loop for seconds, and new sessions' OPENs waited behind it past their hold time.
   * Returns true when nothing is left that an unblocked neighbor could take.
   */
  #pump(): boolean {
    const list = this.#peers;
    const n = list.length;
    if (n === 0) return true;
    // One encoding per (attribute set, profile) for every neighbor served in this turn.
    const caches = new Map<string, EncodeCache>();
    const t0 = performance.now();
    let quiet = 0; // neighbors in a row found with nothing to send
    let i = this.#pumpNext % n;
    while (quiet < n) {
      const st = list[i];
      i = (i + 1) % n;
      if (st === undefined || !this.#serve(st, caches)) {
        quiet++;
        continue;
      }
      quiet = 0;
      if (performance.now() - t0 > this.#sliceMs) {
        this.#pumpNext = i;
        return false;
      }
    }
    this.#pumpNext = i;
    return true;
  }

  /**
   * One chunk per family to `st`, then its End-of-RIB and refresh markers once nothing is
   * queued; true when it has more to send now (not blocked).
   */
  #serve(st: NeighborState, caches: Map<string, EncodeCache>): boolean {
    // Most neighbors have nothing to send most turns: no look at them beyond this.
    if (!st.up || st.blocked || st.removed || (st.out4.idle && st.out6.idle)) return false;
    const sink = st.sink!;
    const codec = this.#codec;
    for (const out of [st.out4, st.out6]) {
      if (out.pending === 0) continue;
      const ck = `${out.v6 ? 6 : 4}${st.profile}`;
      let cache = caches.get(ck);
      if (cache === undefined) caches.set(ck, (cache = new Map()));
      const msgs = out.takeChunk(codec, this.#chunk, cache);
      if (msgs.length > 0 && !sink.send(msgs)) {
        this.#block(st);
        return false;
      }
    }
    if (st.out4.pending > 0 || st.out6.pending > 0) return true;
    for (const [out, family] of [
      [st.out4, 'ipv4-unicast'],
      [st.out6, 'ipv6-unicast'],
    ] as const) {
      if (out.refreshPending) {
        out.refreshPending = false;
        sink.refreshed?.(family);
      }
      if (!out.eorPending) continue;
      out.eorPending = false;
      out.eorSent = true;
      if (!sink.send([codec.encodeEndOfRib(family)])) {
        this.#block(st);
        return false;
      }
    }
    return false;
  }

  #block(st: NeighborState): void {
    st.blocked = true;
    const gen = st.generation;
    st.sink!.onDrain(() => {
      if (st.generation !== gen || !st.up) return;
      st.blocked = false;
      this.#schedule();
    });
  }

  #checkIdle(): void {
    if (this.#idleWaiters.length === 0 || this.#busy()) return;
    const w = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const r of w) r();
  }
}

/** A reload's in-place part for the RIB (see Rib.reconfigure). */
export interface RibReconfigure {
  /** The daemon-wide import policy, when it changed (`bogons` undefined: the default list). */
  global?: { ownPrefixes: readonly string[]; bogons?: readonly string[] };
  /** Neighbors whose changes apply in place, with their new config. */
  neighbors?: readonly NeighborConfig[];
}

function globalPolicy(
  localAs: number,
  ownPrefixes: readonly string[] | undefined,
  bogons: readonly string[] | undefined,
): GlobalPolicy {
  return {
    localAs,
    // Inside our space means the space itself and everything more specific.
    ownPrefixes: PrefixSet.of((ownPrefixes ?? []).map((p) => `${p} le ${p.includes(':') ? 128 : 32}`)),
    bogons: PrefixSet.of(bogons ?? DEFAULT_BOGONS.map((b) => b.rule)),
  };
}
