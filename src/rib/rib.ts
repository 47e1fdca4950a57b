/**
 * The RIB: Adj-RIB-In per neighbor, Loc-RIB with the RFC 4271 §9.1 decision process computed
 * per table (`full`, and `resale` without no-resale routes), Adj-RIB-Out per neighbor with packed
 * UPDATEs and End-of-RIB (RFC 4724 §2). Sessions talk to it only through the PeerChannel each
 * `addNeighbor` returns; the FIB subscribes with `onBestChange`. Import checks: AS_PATH loop
 * (RFC 4271 §9.1.2) and first AS of eBGP routes (§6.3), both treat-as-withdraw and counted.
 * Batches are processed synchronously; output is flushed on setImmediate and drained in time
 * slices so timers and keepalives keep running during a full-table load.
 */
import { formatPrefix4, formatPrefix6 } from '../bgp/wire/index.js';
import {
  AsPathSegmentType,
  type Family,
  type PathAttributes,
  type Prefix4,
  type Prefix6,
  type UpdateMessage,
} from '../bgp/wire/types.js';
import type { NeighborConfig } from '../config/types.js';
import type { Logger } from '../observe/log.js';
import type { TableName } from '../policy/export.js';
import type { OutboundSink, PeerChannel, SessionInfo } from './channel.js';
import type { EncodeCache } from './adj-out.js';
import { type RibCodec, wireCodec } from './codec.js';
import { STEP_NAMES } from './decide.js';
import { AttrStore, asPathContains, DEFAULT_LOCAL_PREF } from './intern.js';
import { LocRib } from './loc-rib.js';
import { NeighborState } from './neighbor.js';
import { KeyIndex4, KeyIndex6 } from './prefix-index.js';
import { explainPrefix, type Explanation } from './explain.js';

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

export interface RouteView {
  family: Family;
  prefix: string;
  neighbor: string;
  attrs: Readonly<PathAttributes>;
  /** Whether this path is the best of the table asked for. */
  best: boolean;
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
  loopDropped: number;
  firstAsDropped: number;
  encodeErrors: number;
  eorReceived: Family[];
  eorSent: Family[];
  pendingOut: number;
}

export interface RibStats {
  locRib: Record<Family, number>;
  paths: Record<Family, number>;
  attributeSets: number;
  neighbors: NeighborStats[];
}

export type { Explanation } from './explain.js';

/** Dirty entries handed to neighbors between two looks at the clock. */
const FANOUT_STEP = 8192;

export class Rib {
  readonly localAs: number;
  readonly routerId: number;
  readonly attrs = new AttrStore();
  readonly t4: LocRib<Prefix4>;
  readonly t6: LocRib<Prefix6>;
  readonly #log: Logger;
  #codec: RibCodec;
  readonly #chunk: number;
  readonly #sliceMs: number;
  readonly #peers: (NeighborState | undefined)[] = [];
  readonly #byName = new Map<string, NeighborState>();
  readonly #freeIdx: number[] = [];
  readonly #listeners: ((batch: BestChange[]) => void)[] = [];
  #flushScheduled = false;
  #idleWaiters: (() => void)[] = [];

  constructor(opts: RibOptions) {
    this.localAs = opts.localAs;
    this.routerId = opts.routerId;
    this.#log = opts.log;
    this.#codec = opts.codec ?? wireCodec;
    this.#chunk = opts.chunk ?? 4096;
    this.#sliceMs = opts.sliceMs ?? 20;
    this.t4 = new LocRib(new KeyIndex4(opts.expectedPrefixes ?? 1024), this.attrs, this.#peers);
    this.t6 = new LocRib(new KeyIndex6(), this.attrs, this.#peers);
    if (opts.expectedPrefixes !== undefined) this.t4.reserve(opts.expectedPrefixes);
  }

  addNeighbor(n: NeighborConfig): PeerChannel {
    if (this.#byName.has(n.name)) throw new Error(`neighbor ${n.name} already in the RIB`);
    const idx = this.#freeIdx.length > 0 ? this.#freeIdx.pop()! : this.#peers.length;
    const st = new NeighborState(idx, n, this.localAs, this.t4, this.t6, this.#peers);
    this.#peers[idx] = st;
    this.#byName.set(n.name, st);
    return {
      up: (info, sink) => this.#up(st, info, sink),
      updates: (batch) => this.#updates(st, batch),
      routeRefresh: (family) => this.#refresh(st, family),
      down: (reason) => this.#down(st, reason),
    };
  }

  /** Withdraws the neighbor's routes and forgets it; its channel goes inert. */
  removeNeighbor(name: string): void {
    const st = this.#byName.get(name);
    if (st === undefined) return;
    this.#down(st, 'removed');
    st.removed = true;
    this.#byName.delete(name);
    this.#peers[st.idx] = undefined;
    this.#freeIdx.push(st.idx);
  }

  /** Subscribes to batches of best-path changes; returns an unsubscribe function. */
  onBestChange(listener: (batch: BestChange[]) => void): () => void {
    this.#listeners.push(listener);
    return () => {
      const i = this.#listeners.indexOf(listener);
      if (i >= 0) this.#listeners.splice(i, 1);
    };
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
    const bestOf = opts.table === 'resale' ? t.bestResale : t.best;
    const nbr = opts.neighbor !== undefined ? this.#byName.get(opts.neighbor) : undefined;
    if (opts.neighbor !== undefined && nbr === undefined) return;
    const hw = Math.min(t.index.highWater, t.head.length);
    for (let e = 0; e < hw; e++) {
      const p = nbr !== undefined ? t.pathOf(e, nbr.idx) : bestOf[e]!;
      if (p === -1 || t.head[e] === -1) continue;
      yield {
        family,
        prefix: fmt(e),
        neighbor: this.#peers[t.pNbr[p]!]!.name,
        attrs: this.attrs.get(t.pAttr[p]!),
        best: bestOf[e] === p,
      };
    }
  }

  /** Every candidate path of a prefix ("192.0.2.0/24", "2001:db8::/32"), the winners and why. */
  explain(prefix: string): Explanation | undefined {
    return explainPrefix(prefix, this.t4, this.t6, this.#peers, STEP_NAMES);
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
        loopDropped: st.loopDropped,
        firstAsDropped: st.firstAsDropped,
        encodeErrors: st.out4.encodeErrors + st.out6.encodeErrors,
        eorReceived: [...st.eorReceived],
        eorSent,
        pendingOut: st.out4.pending + st.out6.pending,
      });
    }
    return {
      locRib: { 'ipv4-unicast': this.t4.routes, 'ipv6-unicast': this.t6.routes },
      paths: { 'ipv4-unicast': this.t4.paths, 'ipv6-unicast': this.t6.paths },
      attributeSets: this.attrs.size,
      neighbors,
    };
  }

  #up(st: NeighborState, info: SessionInfo, sink: OutboundSink): void {
    if (st.removed) return;
    if (st.up) this.#down(st, 'session replaced');
    st.establish(info, sink, this.localAs);
    this.#log.info({ neighbor: st.name, families: info.families }, 'rib: neighbor up, initial export');
    if (st.families.has('ipv4-unicast')) {
      st.out4.considerAll();
      st.out4.eorPending = true;
    }
    if (st.families.has('ipv6-unicast')) {
      st.out6.considerAll();
      st.out6.eorPending = true;
    }
    this.#schedule();
  }

  #down(st: NeighborState, reason: string): void {
    if (!st.up) return;
    st.disestablish();
    const n4 = this.t4.withdrawNeighbor(st.idx);
    const n6 = this.t6.withdrawNeighbor(st.idx);
    this.#log.info({ neighbor: st.name, reason, withdrawn: n4 + n6 }, 'rib: neighbor down, routes withdrawn');
    this.#schedule();
  }

  #refresh(st: NeighborState, family: Family): void {
    if (!st.up || !st.families.has(family)) return;
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
    this.#schedule();
  }

  #update(st: NeighborState, m: UpdateMessage): void {
    const idx = st.idx;
    if (m.endOfRib !== undefined) {
      st.eorReceived.add(m.endOfRib);
      return;
    }
    for (const p of m.withdrawn4) this.t4.withdraw(idx, p);
    for (const p of m.withdrawn6) this.t6.withdraw(idx, p);
    const a = m.attrs;
    if (a === undefined || (m.nlri4.length === 0 && m.nlri6.length === 0)) return;
    if (!this.#importable(st, a)) {
      for (const p of m.nlri4) this.t4.withdraw(idx, p);
      for (const p of m.nlri6) this.t6.withdraw(idx, p);
      return;
    }
    // LOCAL_PREF is ours to set on eBGP routes (RFC 4271 §5.1.5); iBGP carries it, default 100.
    const lp = st.ebgp ? DEFAULT_LOCAL_PREF : a.localPref === undefined ? DEFAULT_LOCAL_PREF : undefined;
    if (m.nlri4.length > 0) {
      const id = this.attrs.intern(a, m.nlri4.length, lp);
      for (const p of m.nlri4) this.t4.announce(idx, p, id);
    }
    if (m.nlri6.length > 0) {
      const id = this.attrs.intern(a, m.nlri6.length, lp);
      for (const p of m.nlri6) this.t6.announce(idx, p, id);
    }
  }

  #importable(st: NeighborState, a: PathAttributes): boolean {
    if (asPathContains(a, this.localAs)) {
      st.loopDropped++;
      return false;
    }
    if (st.ebgp) {
      const s = a.asPath[0];
      const peerAs = st.info?.peerAs ?? st.config.remoteAs;
      if (s === undefined || s.type !== AsPathSegmentType.AS_SEQUENCE || s.asns[0] !== peerAs) {
        st.firstAsDropped++;
        return false;
      }
    }
    return true;
  }

  #busy(): boolean {
    if (this.#flushScheduled) return true;
    for (const st of this.#byName.values()) {
      if (st.up && !st.blocked && (st.drainScheduled || st.out4.pending > 0 || st.out6.pending > 0))
        return true;
      if (st.up && !st.blocked && (st.out4.eorPending || st.out6.eorPending)) return true;
      if (st.up && !st.blocked && (st.out4.refreshPending || st.out6.refreshPending)) return true;
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
      if (!st.up) continue;
      if (st.families.has('ipv4-unicast')) up4.push(st);
      if (st.families.has('ipv6-unicast')) up6.push(st);
    }
    const changes: BestChange[] | null = this.#listeners.length > 0 ? [] : null;
    // Fan-out costs (changed prefixes × neighbors): sliced so the loop keeps serving timers.
    const t0 = performance.now();
    let left = 1;
    while (left > 0 && performance.now() - t0 < this.#sliceMs) {
      left =
        this.#fanOut(this.t4, 'ipv4-unicast', up4, changes) +
        this.#fanOut(this.t6, 'ipv6-unicast', up6, changes);
    }
    if (left > 0) this.#schedule();
    if (changes !== null && changes.length > 0) {
      for (const l of [...this.#listeners]) {
        try {
          l(changes);
        } catch (err) {
          this.#log.error({ err }, 'rib: best-change listener failed');
        }
      }
    }
    // One encoding per (attribute set, profile) for every neighbor drained in this tick.
    const caches = new Map<string, EncodeCache>();
    for (const st of this.#byName.values()) if (st.up) this.#drain(st, caches);
    this.#checkIdle();
  }

  #fanOut<K extends Prefix4 | Prefix6>(
    t: LocRib<K>,
    family: Family,
    ups: NeighborState[],
    changes: BestChange[] | null,
  ): number {
    if (t.dirtyCount === 0) return 0;
    const v6 = family === 'ipv6-unicast';
    return t.takeDirty((e) => {
      if (changes !== null) changes.push(this.#change(t, family, e));
      for (let i = 0; i < ups.length; i++) (v6 ? ups[i]!.out6 : ups[i]!.out4).consider(e);
    }, FANOUT_STEP);
  }

  #change<K extends Prefix4 | Prefix6>(t: LocRib<K>, family: Family, e: number): BestChange {
    const c: BestChange = { family, prefix: t.index.key(e) };
    const b = t.best[e]!;
    const r = t.bestResale[e]!;
    if (b !== -1) c.full = { neighbor: this.#peers[t.pNbr[b]!]!.name, attrs: this.attrs.get(t.pAttr[b]!) };
    if (r !== -1)
      c.resale =
        r === b ? c.full! : { neighbor: this.#peers[t.pNbr[r]!]!.name, attrs: this.attrs.get(t.pAttr[r]!) };
    return c;
  }

  /** Sends queued changes to one neighbor until done, blocked by its sink, or out of time. */
  #drain(st: NeighborState, caches = new Map<string, EncodeCache>()): void {
    if (!st.up || st.blocked || st.drainScheduled) return;
    const sink = st.sink!;
    const codec = this.#codec;
    const t0 = performance.now();
    for (const out of [st.out4, st.out6]) {
      const ck = `${out.v6 ? 6 : 4}${st.profile}`;
      let cache = caches.get(ck);
      if (cache === undefined) caches.set(ck, (cache = new Map()));
      while (out.pending > 0) {
        const msgs = out.takeChunk(codec, this.#chunk, cache);
        if (msgs.length > 0 && !sink.send(msgs)) {
          this.#block(st);
          return;
        }
        if (performance.now() - t0 > this.#sliceMs && (out.pending > 0 || st.out6.pending > 0)) {
          st.drainScheduled = true;
          setImmediate(() => {
            st.drainScheduled = false;
            this.#drain(st);
            this.#checkIdle();
          });
          return;
        }
      }
    }
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
        return;
      }
    }
  }

  #block(st: NeighborState): void {
    st.blocked = true;
    const gen = st.generation;
    st.sink!.onDrain(() => {
      if (st.generation !== gen || !st.up) return;
      st.blocked = false;
      this.#drain(st);
      this.#checkIdle();
    });
  }

  #checkIdle(): void {
    if (this.#idleWaiters.length === 0 || this.#busy()) return;
    const w = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const r of w) r();
  }
}
