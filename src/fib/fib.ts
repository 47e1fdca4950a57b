/**
 * The FIB: the RIB's best paths made into forwarding state, on both planes.
 *
 *  - **Tunnel LPM** (the data plane): a prefix whose best path goes into a customer's tunnel
 *    (the route came from the session inside it, or its next hop is the tunnel's far end).
 *  - **Kernel tables** (rtnetlink, through the native writer's thread): the `full` best path of
 *    every prefix into `fib.full-table`, the `resale` best path (no no-resale peer's routes) into
 *    `fib.resale-table`; customer prefixes point into the TUN, the others at their BGP next hop.
 *  - **Policy rules**: packets from the TUN look up the resale table, except those whose inner
 *    source is an allowed source of a `resale: false` customer (anti-spoofing on decap makes the
 *    source trustworthy), which look up the full table; a packet from the TUN that finds no
 *    route there may use `main`'s specific routes but never its default route (which may well
 *    lead to the peer), and otherwise gets an ICMP unreachable; everything else (the provider's
 *    own traffic, traffic from peers and transits toward customers) looks up the full table,
 *    then `main`.
 *
 * Routes and rules carry `fib.protocol`, which is how gredged knows its own: at start, what an
 * earlier instance left is removed (rules: reconciled in place), and at stop it all goes. With
 * graceful restart (`restart`, RFC 4724 §4.1; kept.ts) the earlier instance's routes stay
 * instead, untouched while the RIB selects again, and are reconciled with it in restartComplete.
 * The FIB subscribes to the RIB with a snapshot, one write per RIB flush; a route the kernel
 * refuses for its next hop (no route to the gateway yet) is counted and retried with whatever
 * the RIB says then.
 */
import { readFileSync } from 'node:fs';
import { prefix4, prefix6 } from '../bgp/wire/prefix.js';
import type { Family, PathAttributes, Prefix4, Prefix6 } from '../bgp/wire/types.js';
import type { Config, FibConfig } from '../config/types.js';
import type { ParsedPrefix } from '../dataplane/addr.js';
import { maskBytes, parsePrefix } from '../dataplane/addr.js';
import type { Logger } from '../observe/log.js';
import type { BestChange, ChangedPrefixes, RouteInfo } from '../rib/rib.js';
import {
  FIB_RECORD,
  OP_ROUTE_DEL,
  OP_ROUTE_SET,
  OP_RULE_ADD,
  OP_RULE_DEL,
  RecordBatch,
  readRecord,
  recordKey,
} from './records.js';
import { DeletePass4, DeletePass6, TABLE_FULL, TABLE_RESALE } from './delete-order.js';
import { KeptRoutes } from './kept.js';
import { type Change, NamedList, type Target, TargetResolver } from './targets.js';
import { errnoName, type KernelWriter, NetlinkWriter, type WriteResult } from './writer.js';

/** What the FIB needs of the RIB. */
export interface FibRib {
  onPrefixChange(listener: (changed: ChangedPrefixes) => void, opts?: { snapshot?: boolean }): () => void;
  rehand(
    listener: (changed: ChangedPrefixes) => void,
    filter: (family: Family, r: RouteInfo) => boolean,
  ): void;
  bestOf(family: Family, prefix: Prefix4 | Prefix6): BestChange;
  /** True while best-path changes still wait to reach neighbors: the FIB gives way to them. */
  propagating?(): boolean;
}

/** What the FIB needs of the data plane. */
export interface FibDataplane {
  readonly tun: string;
  tunnelIndex(name: string): number | undefined;
  applyRoutes(records: Uint8Array, add: boolean): number;
}

export interface FibOptions {
  config: Pick<Config, 'neighbors' | 'tunnels'> & { fib: FibConfig };
  rib: FibRib;
  dataplane?: FibDataplane;
  log: Logger;
  /** Default: the native rtnetlink writer (unless `fib.kernel` is false). */
  writer?: KernelWriter;
  /** The TUN's ifindex; default: read from /sys/class/net. */
  tunIfindex?: number;
  /** How often routes refused for their next hop are tried again (ms); default 5000. */
  retryMs?: number;
  /**
   * Graceful restart (RFC 4724 §4.1): keep the routes an earlier instance left (`kept` says
   * whether there were any) until restartComplete(), instead of removing them at start.
   */
  restart?: boolean;
}

export interface FibStats {
  /** RIB batches applied, and the records written for them. */
  batches: number;
  routeWrites: number;
  /** Kernel refusals by errno name (ESRCH on delete, "already gone", is not one). */
  failed: Record<string, number>;
  /** Prefixes waiting for their next hop to become reachable. */
  unresolved: number;
  /** Best paths with no usable next hop at all (nothing to program). */
  noNextHop: number;
  /** Prefixes the FIB holds in tunnel LPMs. */
  tunnelRoutes: number;
  /** Best-path changes waiting for the FIB's turn on the event loop. */
  queued: number;
  /** Route deletions held back to go out in the kernel's fast order (prefixes × tables). */
  deletesHeld: number;
  /** Writes in flight, and how long the last and the slowest write took (ms). */
  pending: number;
  lastWriteMs: number;
  maxWriteMs: number;
  /** Stale routes and rules of an earlier instance removed at start. */
  staleRemoved: number;
  /**
   * Graceful restart: routes (prefix × table) an earlier instance left, kept until the restart
   * is done (then written from the RIB or removed); 0 once reconciled or when there were none.
   */
  restartKept?: number;
}

/** Errors that say "this next hop is not reachable now": retried, not fatal. */
const ENETUNREACH = 101;
const EHOSTUNREACH = 113;
const ENETDOWN = 100;
const ENODEV = 19;
const ESRCH = 3;
const EEXIST = 17;
const ENOBUFS = 105;
const ETIMEDOUT = 110;
const RETRYABLE = new Set([ENETUNREACH, EHOSTUNREACH, ENETDOWN, ENODEV, ENOBUFS, ETIMEDOUT]);

const ROUTE_RECORD = 24; // the data plane's LPM record (dataplane/route-pack.ts)
const MAIN_TABLE = 254;
/** Changes applied between two looks at the clock, and the FIB's share of one loop turn (ms). */
const PUMP_STEP = 1024;
const PUMP_MS = 2;
/**
 * While the RIB still has changes to send to neighbors, the FIB takes one turn per BGP_GAP_MS,
 * and only when no write is in flight: BGP propagation comes first, the kernel tables follow (a
 * full table's worth of kernel work would otherwise take CPU from the UPDATEs on a 2-CPU box).
 * Propagation of 1M prefixes with the FIB against without (bench/fib): ×1.41 with a turn per
 * 25 ms and writes in flight, ×1.20 with 50 ms and an idle writer, ×1.06 so; the tables fill
 * no later (the kernel, not the FIB's share of the loop, is what they wait for).
 */
const BGP_GAP_MS = 100;
/** Records handed to the writer and not yet acknowledged: the writer's queue stays short. */
const MAX_INFLIGHT = 16_384;
/** How long a deletion may wait for others to be ordered with (ms); the queue running dry ends it too. */
const DELETE_HOLD_MS = 1000;

type Key = Prefix4 | Prefix6;

interface StaticRoute {
  family: 4 | 6;
  prefix: ParsedPrefix;
  /** The prefix as the RIB and #static4 / #static6 know it. */
  key: Key;
  tunnel: string;
  /** Inner subnets: the tunnel MTU and our inner address as source, as in `main`. */
  mtu: number;
  src?: Uint8Array;
}

type FibTunnel = FibOptions['config']['tunnels'][number];
type FibNeighbor = FibOptions['config']['neighbors'][number];

/** What a tunnel's static routes are, as the FIB last took it (its inner subnets, then `routes`). */
interface TunnelStatics {
  /** As parsed, repeats included (start writes each, as it always did). */
  statics: StaticRoute[];
  /** Each distinct route (prefix, MTU, source) once, in config order: what a reload compares. */
  distinct: Map<string, StaticRoute>;
}

/** A neighbor's `resale: false` source rules as the FIB last took it (rule records, v4 first). */
interface NeighborRules {
  /** A `resale: false` customer in a tunnel (the others have no rules). */
  wants: boolean;
  /** The `allowed-sources` of its tunnel that the rules were made of. */
  allowed: readonly string[] | undefined;
  rules: Uint8Array;
  keys: string[];
  families: Array<4 | 6>;
}

const NO_RULES: NeighborRules = {
  wants: false,
  allowed: undefined,
  rules: new Uint8Array(0),
  keys: [],
  families: [],
};

export class Fib {
  readonly #cfg: FibConfig;
  readonly #rib: FibRib;
  readonly #dp: FibDataplane | undefined;
  readonly #log: Logger;
  readonly #resolver: TargetResolver;
  /** The RIB subscription's listener (one function: Rib.rehand finds the subscription by it). */
  readonly #onChange = (c: ChangedPrefixes): void => this.#enqueue(c);
  readonly #retryMs: number;
  /** Graceful restart: keep what an earlier instance left, and what it left (until reconciled). */
  readonly #restart: boolean;
  #kept: KeptRoutes | undefined;
  /** The rules this config wants (records with op rule-add). */
  readonly #rules: RecordBatch;
  #writer: KernelWriter | undefined;
  #tunIfindex = 0;
  #unsubscribe: (() => void) | undefined;
  /**
   * Customer prefixes configured as tunnels' static routes or inner subnets: config wins. Each
   * counts the static routes that name it (a reload moves one between tunnels without a gap).
   */
  readonly #static4 = new Map<Prefix4, number>();
  readonly #static6 = new Map<Prefix6, number>();
  /** The tunnels and their static routes; a reload parses only the tunnels that changed. */
  readonly #tunnels = new NamedList<FibTunnel, TunnelStatics>();
  /**
   * The neighbors and their `resale: false` source rules, the neighbors with rules by tunnel
   * name (a change of its `allowed-sources` remakes theirs), and how many neighbors want each
   * rule (by recordKey).
   */
  readonly #neighborRules = new NamedList<FibNeighbor, NeighborRules>();
  readonly #rulesByTunnel = new Map<string, Set<string>>();
  readonly #sourceRuleCount = new Map<string, number>();
  /** Prefixes the FIB put into tunnel LPMs (so that only those are ever removed). */
  readonly #lpm4 = new Set<Prefix4>();
  readonly #lpm6 = new Set<Prefix6>();
  /** For the metrics: the tunnel each of those points into, and how many each tunnel has. */
  readonly #lpmTunnel = new Map<Key, string>();
  readonly #lpmPerTunnel = new Map<string, { v4: number; v6: number }>();
  /** Prefixes refused for an unreachable next hop, tried again on a timer. */
  readonly #retry4 = new Set<Prefix4>();
  readonly #retry6 = new Set<Prefix6>();
  #retryTimer: NodeJS.Timeout | undefined;
  readonly #inflight = new Set<Promise<unknown>>();
  /**
   * Changed prefixes not yet applied (their best paths are read when applied: the newest word
   * of the RIB, and a backlog costs 8 bytes a prefix), and how far into the first batch the FIB
   * is (its IPv4 keys, then its IPv6 keys).
   */
  readonly #queue: ChangedPrefixes[] = [];
  #queuePos = 0;
  #pumpScheduled = false;
  #pumpTimer: NodeJS.Timeout | undefined;
  #lastTurn = -Infinity;
  #inflightRecords = 0;
  readonly #pumpWaiters: Array<() => void> = [];
  /** Deletions held back (prefix → TABLE_FULL | TABLE_RESALE bits), since when, and the pass emitting them. */
  readonly #del4 = new Map<Prefix4, number>();
  readonly #del6 = new Map<Prefix6, number>();
  #delSince = 0;
  #pass4: DeletePass4 | undefined;
  #pass6: DeletePass6 | undefined;
  readonly #logged = new Set<string>();
  readonly #stats: FibStats = {
    batches: 0,
    routeWrites: 0,
    failed: {},
    unresolved: 0,
    noNextHop: 0,
    tunnelRoutes: 0,
    queued: 0,
    deletesHeld: 0,
    pending: 0,
    lastWriteMs: 0,
    maxWriteMs: 0,
    staleRemoved: 0,
  };
  #stopped = false;

  constructor(opts: FibOptions) {
    this.#cfg = opts.config.fib;
    this.#rib = opts.rib;
    this.#dp = opts.dataplane;
    this.#log = opts.log;
    // Driven by the FIB's own comparison of the lists (one pass each, shared): see #take*.
    this.#resolver = new TargetResolver(undefined, (name) => this.#tunnels.get(name)?.order);
    this.#retryMs = opts.retryMs ?? 5000;
    this.#restart = opts.restart === true;
    this.#writer = opts.writer;
    if (opts.tunIfindex !== undefined) this.#tunIfindex = opts.tunIfindex;
    const tunnels = this.#takeTunnels(opts.config.tunnels);
    const neighbors = this.#takeRules(opts.config.neighbors, tunnels);
    for (const { now } of neighbors)
      for (const k of now?.value.keys ?? []) count(this.#sourceRuleCount, k, 1);
    this.#resolver.update({ neighbors, tunnels });
    this.#rules = this.#desiredRules(opts.config);
  }

  /**
   * Opens the kernel side (stale routes of an earlier instance removed, rules reconciled, the
   * tunnels' static routes written), then subscribes to the RIB with a snapshot.
   */
  async start(): Promise<void> {
    if (this.#cfg.kernel) {
      this.#writer ??= new NetlinkWriter(this.#cfg.protocol);
      if (this.#dp && this.#tunIfindex === 0) this.#tunIfindex = ifindexOf(this.#dp.tun);
      await this.#reconcile();
    }
    this.#unsubscribe = this.#rib.onPrefixChange(this.#onChange, { snapshot: true });
    this.#log.info(
      {
        fullTable: this.#cfg.fullTable,
        resaleTable: this.#cfg.resaleTable,
        protocol: this.#cfg.protocol,
        kernel: this.#cfg.kernel,
        tun: this.#dp?.tun,
        staleRemoved: this.#stats.staleRemoved,
        ...(this.#kept ? { restartKept: this.#kept.size, families: this.#kept.families } : {}),
      },
      this.#kept
        ? 'fib started; routes of the earlier instance kept until the restart is done (graceful restart)'
        : 'fib started',
    );
  }

  /**
   * Graceful restart: the families whose routes an earlier instance left and start() kept (the
   * forwarding state that survived: RFC 4724's F bit); undefined when nothing was kept.
   */
  get kept(): Family[] | undefined {
    return this.#kept?.families;
  }

  /**
   * Graceful restart: the RIB's route selection after the restart is done. Every kept prefix is
   * written from its best path now (a route replace: never absent meanwhile) or, without one,
   * removed; from here on the tables follow the RIB as usual.
   */
  restartComplete(): void {
    const kept = this.#kept;
    if (kept === undefined) return;
    this.#kept = undefined;
    this.#log.info({ routes: kept.size }, 'fib: restart done: kept routes reconciled with the RIB');
    this.#enqueue(kept.keys());
  }

  /** Resolves once every write handed to the kernel so far is acknowledged. */
  async idle(): Promise<void> {
    for (;;) {
      if (this.#hasWork() && !this.#stopped) await new Promise<void>((r) => this.#pumpWaiters.push(r));
      else if (this.#inflight.size > 0) await Promise.all([...this.#inflight]);
      else return;
    }
  }

  /** Stops following the RIB; removes every route and rule of ours unless `keep` (graceful restart). */
  async stop(opts: { keep?: boolean } = {}): Promise<void> {
    if (this.#stopped) return;
    this.#unsubscribe?.();
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    if (this.#pumpTimer) clearTimeout(this.#pumpTimer);
    // Kept routes (graceful restart) must be the RIB's last word: what is queued is written.
    if (opts.keep) while (this.#hasWork()) this.#turn(Number.POSITIVE_INFINITY, true);
    this.#stopped = true;
    this.#queue.length = 0;
    this.#del4.clear();
    this.#del6.clear();
    for (const w of this.#pumpWaiters.splice(0)) w();
    await this.idle();
    const w = this.#writer;
    if (w && !opts.keep) {
      const n = await this.#removeAll(w, true);
      this.#log.info({ removed: n }, 'fib: kernel routes and rules removed');
    }
    w?.close();
  }

  /** Prefixes the FIB put into tunnel `name`'s LPM, by family (0 for a tunnel it never used). */
  tunnelRoutesOf(name: string): { v4: number; v6: number } {
    const c = this.#lpmPerTunnel.get(name);
    return c ? { ...c } : { v4: 0, v6: 0 };
  }

  /** Keeps tunnelRoutesOf's counts as prefix `p` moves into `tunnel` (undefined: out of all). */
  #countLpm(p: Key, tunnel: string | undefined, v6: boolean): void {
    const was = this.#lpmTunnel.get(p);
    if (was === tunnel) return;
    const fam = v6 ? 'v6' : 'v4';
    if (was !== undefined) {
      const c = this.#lpmPerTunnel.get(was)!;
      c[fam]--;
      if (c.v4 + c.v6 === 0) this.#lpmPerTunnel.delete(was);
    }
    if (tunnel === undefined) {
      this.#lpmTunnel.delete(p);
      return;
    }
    this.#lpmTunnel.set(p, tunnel);
    let c = this.#lpmPerTunnel.get(tunnel);
    if (c === undefined) this.#lpmPerTunnel.set(tunnel, (c = { v4: 0, v6: 0 }));
    c[fam]++;
  }

  stats(): FibStats {
    return {
      ...this.#stats,
      failed: { ...this.#stats.failed },
      unresolved: this.#retry4.size + this.#retry6.size,
      tunnelRoutes: this.#lpm4.size + this.#lpm6.size,
      queued: this.#queue.reduce((n, b) => n + b.v4.length + b.v6.length, 0) - this.#queuePos,
      deletesHeld: this.#del4.size + this.#del6.size,
      pending: this.#inflight.size,
      restartKept: this.#kept?.size ?? 0,
    };
  }

  // ------------------------------------------------------------------ kernel side at start

  async #reconcile(): Promise<void> {
    const w = this.#writer!;
    // Rules: ours that are not wanted go, wanted ones missing are added; the rest stay put, so
    // packets from customers never meet a moment without them.
    const want = new Map<string, number>();
    const rules = this.#rules.bytes();
    for (let i = 0; i < rules.length / FIB_RECORD; i++) want.set(recordKey(rules, i), i);
    const fix = new RecordBatch();
    for (const fam of [4, 6] as const) {
      const have = await w.dumpRules(fam);
      for (let i = 0; i < have.length / FIB_RECORD; i++) {
        const k = recordKey(have, i);
        if (want.has(k)) want.delete(k);
        else {
          fix.copy(have, i, OP_RULE_DEL);
          this.#stats.staleRemoved++;
        }
      }
    }
    for (const i of want.values()) fix.copy(rules, i, OP_RULE_ADD);
    // Routes an earlier instance left (a crash, kill -9): without graceful restart nothing
    // says they are still right, so they go before anything is written. With it they stay,
    // forwarding, until the restart is done (restartComplete).
    if (this.#restart) {
      const dumps = [];
      for (const fam of [4, 6] as const)
        for (const [bit, table] of [
          [TABLE_FULL, this.#cfg.fullTable],
          [TABLE_RESALE, this.#cfg.resaleTable],
        ] as const)
          dumps.push({ bit, records: await w.dumpRoutes(fam, table) });
      const kept = new KeptRoutes(dumps);
      if (kept.size > 0) this.#kept = kept;
    } else this.#stats.staleRemoved += await this.#removeAll(w, false);
    if (this.#tunIfindex > 0) {
      for (const s of this.#tunnels.slots().flatMap((x) => x.value.statics)) {
        for (const table of [this.#cfg.fullTable, this.#cfg.resaleTable])
          fix.deviceRoute(s.family, s.prefix.bytes, s.prefix.len, table, this.#tunIfindex, s.mtu, s.src);
      }
    }
    if (fix.count > 0) this.#check(fix.bytes(), await w.write(fix.bytes()), 'start');
  }

  /** Deletes every route of our protocol in both tables (and with `rules`, our rules). */
  async #removeAll(w: KernelWriter, rules: boolean): Promise<number> {
    const del = new RecordBatch();
    for (const fam of [4, 6] as const) {
      for (const table of [this.#cfg.fullTable, this.#cfg.resaleTable]) {
        const have = await w.dumpRoutes(fam, table);
        // Highest prefix first: the kernel's trie removes a dense run of prefixes many times
        // faster from the top down than in the ascending order a dump gives (0.8 s against
        // 7.9 s for 262,144 adjacent /24s here).
        for (let i = have.length / FIB_RECORD - 1; i >= 0; i--) del.copy(have, i, OP_ROUTE_DEL);
      }
      if (rules) {
        const have = await w.dumpRules(fam);
        for (let i = 0; i < have.length / FIB_RECORD; i++) del.copy(have, i, OP_RULE_DEL);
      }
    }
    if (del.count > 0) this.#check(del.bytes(), await w.write(del.bytes()), 'removal');
    return del.count;
  }

  /**
   * The five rule priorities: resale:false sources → full; TUN → resale; TUN → main, except its
   * default route (connected networks and the operator's static routes keep working); TUN →
   * unreachable; everything else → full. A default route in `main` (toward the provider's core,
   * which may well leave through a no-resale peer at another edge) never carries a customer's
   * packet: a customer that should reach everything gets a default route over BGP.
   */
  #desiredRules(cfg: FibOptions['config']): RecordBatch {
    const b = new RecordBatch();
    const base = this.#cfg.rulePriority;
    const tun = this.#dp?.tun;
    const tunnels = new Map<string, FibTunnel>();
    for (const t of cfg.tunnels) if (!tunnels.has(t.name)) tunnels.set(t.name, t);
    for (const fam of [4, 6] as const) {
      if (tun !== undefined) {
        for (const n of cfg.neighbors) {
          if (!wantsSourceRules(n)) continue;
          this.#sourceRulesOf(b, fam, tunnels.get(n.tunnel!)?.allowedSources, tun);
        }
        b.rule(OP_RULE_ADD, fam, undefined, this.#cfg.resaleTable, base + 1, tun);
        b.rule(OP_RULE_ADD, fam, undefined, MAIN_TABLE, base + 2, tun, 0);
        b.rule(OP_RULE_ADD, fam, undefined, 0, base + 3, tun);
      }
      b.rule(OP_RULE_ADD, fam, undefined, this.#cfg.fullTable, base + 4, '');
    }
    return b;
  }

  /** The `resale: false` source rules of one family made of a tunnel's `allowed-sources`. */
  #sourceRulesOf(b: RecordBatch, fam: 4 | 6, allowed: readonly string[] | undefined, tun: string): void {
    for (const src of allowed ?? []) {
      const p = parsePrefix(src, false);
      if (typeof p === 'string' || p.family !== fam) continue;
      b.rule(
        OP_RULE_ADD,
        fam,
        { bytes: maskBytes(p.bytes, p.len), len: p.len },
        this.#cfg.fullTable,
        this.#cfg.rulePriority,
        tun,
      );
    }
  }

  // ------------------------------------------------------------------ reloads, incrementally

  /**
   * Brings the tunnels' static routes to `tunnels`, parsing only what changed (NamedList: the
   * same object, else the fields the routes are made of, inner addresses included for the
   * resolver; `allowed-sources` too, for the rules).
   * Returns the changed tunnels in the new config's order, then the removed ones; the counts in
   * #static4 / #static6 follow.
   */
  #takeTunnels(tunnels: readonly FibTunnel[]): Array<Change<FibTunnel, TunnelStatics>> {
    const changes = this.#tunnels.take(
      tunnels,
      (was, t) => sameStatics(was.item, t) && sameList(was.item.allowedSources, t.allowedSources),
      (t) => parseStatics(t),
    );
    for (const { was, now } of changes) {
      for (const s of was?.value.statics ?? [])
        count(s.family === 4 ? this.#static4 : this.#static6, s.key, -1);
      for (const s of now?.value.statics ?? [])
        count(s.family === 4 ? this.#static4 : this.#static6, s.key, 1);
    }
    return changes;
  }

  /**
   * Brings the neighbors and their source rules to `neighbors`, tunnels taken first (`tunnels`:
   * their changes): a neighbor is looked at again when it changed (role, resale, tunnel) or the
   * `allowed-sources` of its tunnel did. Returns the changed ones in the new config's order,
   * then the removed ones (the resolver takes them too); #sourceRuleCount is left to the
   * caller (a reload compares with it first).
   */
  #takeRules(
    neighbors: readonly FibNeighbor[],
    tunnels: Array<Change<FibTunnel, TunnelStatics>>,
  ): Array<Change<FibNeighbor, NeighborRules>> {
    const tun = this.#dp?.tun; // without a TUN, no source rules
    const allowedOf = (n: FibNeighbor) => this.#tunnels.get(n.tunnel!)?.item.allowedSources;
    const make = (n: FibNeighbor): NeighborRules => {
      if (tun === undefined || !wantsSourceRules(n)) return NO_RULES;
      const allowed = allowedOf(n);
      const b = new RecordBatch(4);
      this.#sourceRulesOf(b, 4, allowed, tun);
      const n4 = b.count;
      this.#sourceRulesOf(b, 6, allowed, tun);
      const rules = b.bytes();
      const keys: string[] = [];
      const families: Array<4 | 6> = [];
      for (let i = 0; i < b.count; i++) {
        keys.push(recordKey(rules, i));
        families.push(i < n4 ? 4 : 6);
      }
      return { wants: true, allowed, rules, keys, families };
    };
    const changes = this.#neighborRules.take(
      neighbors,
      (was, n) => {
        // The resolver is handed these changes too: a session's tunnel is its business.
        if (was.item.tunnel !== n.tunnel) return false;
        const wants = tun !== undefined && wantsSourceRules(n);
        if (wants !== was.value.wants) return false;
        if (!wants) return true;
        const allowed = allowedOf(n);
        if (!sameList(was.value.allowed, allowed)) return false;
        was.value.allowed = allowed;
        return true;
      },
      make,
    );
    // An unchanged customer whose tunnel's sources changed (or whose tunnel came or went).
    const met = new Set(changes.map((c) => (c.now ?? c.was)!.item.name));
    for (const { was, now } of tunnels) {
      for (const name of this.#rulesByTunnel.get((now ?? was)!.item.name) ?? []) {
        const slot = this.#neighborRules.get(name);
        if (met.has(name) || slot === undefined || sameList(slot.value.allowed, allowedOf(slot.item)))
          continue;
        met.add(name);
        changes.push(this.#neighborRules.remake(name, make)!);
      }
    }
    for (const { was, now } of changes) {
      const names = was?.value.wants ? this.#rulesByTunnel.get(was.item.tunnel!) : undefined;
      if (names?.delete(was!.item.name) && names.size === 0) this.#rulesByTunnel.delete(was!.item.tunnel!);
      if (now?.value.wants) {
        let to = this.#rulesByTunnel.get(now.item.tunnel!);
        if (to === undefined) this.#rulesByTunnel.set(now.item.tunnel!, (to = new Set()));
        to.add(now.item.name);
      }
    }
    // New config order (the rules are added in it), then the removed ones.
    const last = Number.MAX_SAFE_INTEGER;
    return changes.sort((x, y) => (x.now?.order ?? last) - (y.now?.order ?? last));
  }

  // ------------------------------------------------------------------ best-path changes

  #enqueue(changed: ChangedPrefixes): void {
    if (this.#stopped || changed.v4.length + changed.v6.length === 0) return;
    this.#queue.push(changed);
    this.#schedulePump();
  }

  #schedulePump(delayMs = 0): void {
    if (this.#pumpScheduled || this.#stopped) return;
    this.#pumpScheduled = true;
    if (delayMs <= 0) setImmediate(() => this.#pump());
    else
      this.#pumpTimer = setTimeout(() => {
        this.#pumpTimer = undefined;
        this.#pump();
      }, delayMs);
  }

  #hasWork(): boolean {
    return this.#queue.length > 0 || this.#del4.size > 0 || this.#del6.size > 0;
  }

  /**
   * One FIB turn on the event loop: queued changes for about PUMP_MS, then yields. The RIB's
   * flushes (UPDATEs to neighbors) and the FIB's turns alternate; while the RIB still has
   * changes for neighbors the FIB takes a turn only every BGP_GAP_MS with the writer idle, and
   * it never has more than MAX_INFLIGHT records waiting for the kernel (a write's completion
   * wakes it).
   */
  #pump(): void {
    this.#pumpScheduled = false;
    if (this.#stopped) return;
    if (this.#inflightRecords >= MAX_INFLIGHT) return;
    const now = performance.now();
    const wait = this.#lastTurn + BGP_GAP_MS - now;
    // While BGP is busy: a turn every BGP_GAP_MS, and only once the writer is idle (the kernel's
    // work runs on the same CPUs as the UPDATEs).
    if ((wait > 0 || this.#inflightRecords > 0) && this.#rib.propagating?.()) {
      if (wait > 0) this.#schedulePump(Math.ceil(wait));
      return; // else the write's completion wakes the pump
    }
    this.#lastTurn = now;
    this.#turn(PUMP_MS, false);
    if (this.#hasWork()) {
      if (this.#inflightRecords < MAX_INFLIGHT) this.#schedulePump();
    } else for (const w of this.#pumpWaiters.splice(0)) w();
  }

  /** Applies queued changes, then held deletions when they are due, for `budgetMs`. */
  #turn(budgetMs: number, force: boolean): void {
    const t0 = performance.now();
    const full = () => !force && this.#inflightRecords >= MAX_INFLIGHT;
    while (this.#queue.length > 0 && !full()) {
      const b = this.#queue[0]!;
      const total = b.v4.length + b.v6.length;
      const end = Math.min(total, this.#queuePos + PUMP_STEP);
      this.#apply(b, this.#queuePos, end);
      this.#queuePos = end;
      if (end >= total) {
        this.#queue.shift();
        this.#queuePos = 0;
      }
      if (performance.now() - t0 >= budgetMs) return;
    }
    // Deletions go once the RIB's changes are all applied (a withdrawn table is then ordered
    // whole), or when the oldest has waited DELETE_HOLD_MS under a steady stream of changes.
    const due =
      force ||
      this.#pass4 !== undefined ||
      this.#pass6 !== undefined ||
      this.#queue.length === 0 ||
      performance.now() - this.#delSince >= DELETE_HOLD_MS;
    if (!due || this.#del4.size + this.#del6.size === 0) return;
    while (!full()) {
      if (!this.#emitDeletes()) return;
      if (performance.now() - t0 >= budgetMs) return;
    }
  }

  /** Writes the next PUMP_STEP held deletions in the kernel's order; false once none is left. */
  #emitDeletes(): boolean {
    if (this.#pass4 === undefined && this.#pass6 === undefined) {
      if (this.#del4.size > 0) this.#pass4 = new DeletePass4(this.#del4);
      if (this.#del6.size > 0) this.#pass6 = new DeletePass6(this.#del6);
      if (this.#pass4 === undefined && this.#pass6 === undefined) return false;
    }
    const b = new RecordBatch(PUMP_STEP * 2);
    let n = 0;
    while (this.#pass4 !== undefined && n < PUMP_STEP) {
      const k = this.#pass4.next();
      if (k === undefined) this.#pass4 = undefined;
      else n += this.#deleteRecords(b, false, k, this.#del4);
    }
    while (this.#pass6 !== undefined && n < PUMP_STEP) {
      const k = this.#pass6.next();
      if (k === undefined) this.#pass6 = undefined;
      else n += this.#deleteRecords(b, true, k, this.#del6);
    }
    if (b.count > 0) this.#submit(b);
    if (this.#pass4 === undefined && this.#pass6 === undefined) {
      // Deletions held after the pass began wait for the next one, from now.
      this.#delSince = performance.now();
      return this.#del4.size + this.#del6.size > 0;
    }
    return true;
  }

  /** The deletions still held for `k` (a route set since cleared its bits). */
  #deleteRecords(b: RecordBatch, v6: boolean, k: Key, held: Map<Key, number>): number {
    const tables = held.get(k);
    if (tables === undefined) return 0;
    held.delete(k);
    for (const [bit, table] of [
      [TABLE_FULL, this.#cfg.fullTable],
      [TABLE_RESALE, this.#cfg.resaleTable],
    ] as const) {
      if ((tables & bit) === 0) continue;
      if (v6) b.route6(OP_ROUTE_DEL, k as Prefix6, table, 0);
      else b.route4(OP_ROUTE_DEL, k as Prefix4, table, 0);
    }
    return 1;
  }

  #apply(changed: ChangedPrefixes, from: number, to: number): void {
    if (this.#stopped) return;
    const kernel = this.#writer !== undefined ? new RecordBatch((to - from) * 2) : undefined;
    const lpmAdd: Array<[Key, number, 4 | 6]> = [];
    const lpmDel: Array<[Key, 4 | 6]> = [];
    const cache = new Map<string, Map<Readonly<PathAttributes>, Target>>();
    const resolve = (family: Family, r: RouteInfo | undefined): Target | undefined => {
      if (r === undefined) return undefined;
      let byAttrs = cache.get(r.neighbor);
      if (byAttrs === undefined) cache.set(r.neighbor, (byAttrs = new Map()));
      let t = byAttrs.get(r.attrs);
      if (t === undefined) byAttrs.set(r.attrs, (t = this.#resolver.resolve(family, r.neighbor, r.attrs)));
      return t;
    };
    const n4 = changed.v4.length;
    for (let i = from; i < to; i++) {
      const v6 = i >= n4;
      const c = v6
        ? this.#rib.bestOf('ipv6-unicast', changed.v6[i - n4]!)
        : this.#rib.bestOf('ipv4-unicast', changed.v4[i]!);
      if (v6 ? this.#static6.has(c.prefix as Prefix6) : this.#static4.has(c.prefix as Prefix4)) continue;
      const full = resolve(c.family, c.full);
      const resale = c.resale === c.full ? full : resolve(c.family, c.resale);
      if (kernel) {
        if (v6) this.#retry6.delete(c.prefix as Prefix6);
        else this.#retry4.delete(c.prefix as Prefix4);
        this.#kernelRecord(kernel, v6, c.prefix, TABLE_FULL, full);
        this.#kernelRecord(kernel, v6, c.prefix, TABLE_RESALE, resale);
      }
      if (this.#dp) {
        const tunnel =
          full?.kind === 'tunnel' ? full.tunnel : resale?.kind === 'tunnel' ? resale.tunnel : undefined;
        const idx = tunnel !== undefined ? this.#dp.tunnelIndex(tunnel) : undefined;
        const lpm = v6 ? this.#lpm6 : this.#lpm4;
        if (idx !== undefined) {
          lpmAdd.push([c.prefix, idx, v6 ? 6 : 4]);
          (lpm as Set<Key>).add(c.prefix);
          this.#countLpm(c.prefix, tunnel, v6);
        } else if ((lpm as Set<Key>).delete(c.prefix)) {
          lpmDel.push([c.prefix, v6 ? 6 : 4]);
          this.#countLpm(c.prefix, undefined, v6);
        }
      }
    }
    this.#stats.batches++;
    if (this.#dp && (lpmAdd.length > 0 || lpmDel.length > 0)) this.#applyLpm(lpmAdd, lpmDel);
    if (kernel && kernel.count > 0) this.#submit(kernel);
  }

  /** A route set goes into `b` now; a deletion is held (see delete-order.ts). */
  #kernelRecord(b: RecordBatch, v6: boolean, p: Key, bit: number, t: Target | undefined): void {
    // The earlier instance's route stays as it is until the restart is done (kept.ts).
    if (this.#kept?.has(v6, p, bit)) return;
    const table = bit === TABLE_FULL ? this.#cfg.fullTable : this.#cfg.resaleTable;
    const held = (v6 ? this.#del6 : this.#del4) as Map<Key, number>;
    let oif = 0;
    let gw: Uint8Array | undefined;
    if (t?.kind === 'tunnel' && this.#tunIfindex > 0) {
      oif = this.#tunIfindex;
    } else if (t?.kind === 'gateway') {
      gw = t.address;
    } else {
      // No best path, or one with nothing to forward to (no next hop; a tunnel on a box
      // without a TUN).
      if (t !== undefined) this.#stats.noNextHop++;
      const tables = held.get(p);
      if (tables === undefined) {
        if (held.size === 0 && this.#pass4 === undefined && this.#pass6 === undefined)
          this.#delSince = performance.now();
        held.set(p, bit);
      } else held.set(p, tables | bit);
      return;
    }
    const tables = held.get(p);
    if (tables !== undefined) {
      if ((tables & ~bit) === 0) held.delete(p);
      else held.set(p, tables & ~bit);
    }
    if (v6) b.route6(OP_ROUTE_SET, p as Prefix6, table, oif, gw);
    else b.route4(OP_ROUTE_SET, p as Prefix4, table, oif, gw);
  }

  #applyLpm(add: Array<[Key, number, 4 | 6]>, del: Array<[Key, 4 | 6]>): void {
    const pack = (list: Array<[Key, number, 4 | 6]>): Uint8Array => {
      const out = new Uint8Array(list.length * ROUTE_RECORD);
      const dv = new DataView(out.buffer);
      list.forEach(([p, idx, fam], i) => {
        const o = i * ROUTE_RECORD;
        out[o] = fam;
        dv.setUint32(o + 4, idx, true);
        if (fam === 4) {
          out[o + 1] = (p as number) % 64;
          dv.setUint32(o + 8, Math.floor((p as number) / 64), false);
        } else {
          const s = p as string;
          out[o + 1] = s.charCodeAt(0);
          for (let k = 1; k < s.length && k <= 16; k++) out[o + 7 + k] = s.charCodeAt(k);
        }
      });
      return out;
    };
    try {
      if (del.length > 0) this.#dp!.applyRoutes(pack(del.map(([p, f]) => [p, 0, f])), false);
      if (add.length > 0) this.#dp!.applyRoutes(pack(add), true);
    } catch (err) {
      this.#once('lpm', () => this.#log.error({ err }, 'fib: tunnel LPM update failed'));
    }
  }

  #submit(b: RecordBatch): void {
    const w = this.#writer!;
    const bytes = b.bytes();
    const t0 = performance.now();
    const n = b.count;
    this.#stats.routeWrites += n;
    this.#inflightRecords += n;
    const job = w.write(bytes).then(
      (res) => {
        this.#inflightRecords -= n;
        if (this.#hasWork()) this.#schedulePump();
        const ms = performance.now() - t0;
        this.#stats.lastWriteMs = ms;
        if (ms > this.#stats.maxWriteMs) this.#stats.maxWriteMs = ms;
        this.#check(bytes, res, 'update');
      },
      (err) => {
        this.#inflightRecords -= n;
        if (this.#hasWork()) this.#schedulePump();
        this.#once('write', () => this.#log.error({ err }, 'fib: kernel write failed'));
      },
    );
    this.#inflight.add(job);
    void job.finally(() => this.#inflight.delete(job));
  }

  /** Counts and logs (once per kind) what the kernel refused; next-hop failures are retried. */
  #check(bytes: Uint8Array, res: WriteResult, what: string): void {
    const { results } = res;
    let retry = false;
    for (let i = 0; i < results.length; i++) {
      const err = results[i]!;
      if (err === 0) continue;
      const op = bytes[i * FIB_RECORD]!;
      if ((op === OP_ROUTE_DEL && err === ESRCH) || (op === OP_RULE_ADD && err === EEXIST)) continue;
      const name = errnoName(err);
      this.#stats.failed[name] = (this.#stats.failed[name] ?? 0) + 1;
      const r = readRecord(bytes, i);
      if (op === OP_ROUTE_SET && RETRYABLE.has(err) && !this.#stopped) {
        if (r.family === 4) this.#retry4.add(prefix4(u32(r.dst), r.len));
        else this.#retry6.add(prefix6(r.dst, r.len));
        retry = true;
      }
      const text = res.messages.find(([e]) => e === err)?.[1];
      this.#once(`${op}:${err}`, () =>
        this.#log.warn(
          { errno: name, kernel: text || undefined, table: r.table, during: what, op: OPS[op] },
          err === ENETUNREACH || err === EHOSTUNREACH
            ? 'fib: next hop not reachable; the route is retried (logged once)'
            : 'fib: the kernel refused a route or rule (logged once per kind)',
        ),
      );
    }
    if (retry) this.#scheduleRetry();
  }

  #scheduleRetry(): void {
    if (this.#retryTimer || this.#stopped) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      // Applied with whatever the RIB says then, never with the refused record.
      const again: ChangedPrefixes = { v4: [...this.#retry4], v6: [...this.#retry6] };
      this.#retry4.clear();
      this.#retry6.clear();
      this.#enqueue(again);
    }, this.#retryMs);
    this.#retryTimer.unref();
  }

  #once(kind: string, fn: () => void): void {
    if (this.#logged.has(kind)) return;
    this.#logged.add(kind);
    fn();
  }

  /**
   * A reload's FIB part (BIRD's reconfigure()). Tunnels' inner subnets and static routes follow
   * the new config in both kernel tables (new ones written, gone ones deleted and the prefix
   * handed back to the RIB's best path); the `resale: false` source rules follow the neighbors
   * (new rules added before old ones go, so packets never meet a moment without one); when the
   * target of a best path may have changed (a session moved into or out of a tunnel, an inner
   * subnet changed) the best paths that may be affected are handed over again (route replaces:
   * no gap), not the whole table. Returns false, doing nothing, when `fib` itself changed
   * (tables, protocol, priorities, kernel): the caller restarts the module.
   *
   * The cost follows what changed, not the size of the config (10,000 tunnels, one customer
   * changed: one tunnel parsed, a few records). `newCfg` is compared per name with what the FIB
   * took last (its constructor's config or the previous reload's `newCfg`, which is what
   * `oldCfg` is; only its `fib` section is read): an entry that is the same object as before
   * costs one comparison, another is compared by the fields its routes, rules and targets are
   * made of, and only a changed one is parsed again (NamedList, targets.ts). The writes are
   * those of comparing the two whole configs, in the same order (test/fib/reconfigure-
   * incremental.test.ts holds them to it).
   */
  async reconfigure(oldCfg: FibOptions['config'], newCfg: FibOptions['config']): Promise<boolean> {
    if (JSON.stringify(oldCfg.fib) !== JSON.stringify(newCfg.fib)) return false;
    if (this.#stopped) return true;
    const batch = new RecordBatch();
    const handBack: ChangedPrefixes = { v4: [], v6: [] };
    const kernel = this.#writer !== undefined && this.#tunIfindex > 0;
    const tables = [this.#cfg.fullTable, this.#cfg.resaleTable];
    // Static routes: of the tunnels that changed, the new routes are written, then the old ones
    // no tunnel has any more are deleted (in the old config's order) and handed back to the
    // RIB's best path. A prefix that moved to another tunnel in this reload stays (rewritten
    // with its new tunnel's route, never deleted).
    const changed = this.#takeTunnels(newCfg.tunnels);
    let staticsAdded = 0;
    let staticsRemoved = 0;
    for (const { was, now } of changed) {
      for (const [k, s] of now?.value.distinct ?? []) {
        if (was?.value.distinct.has(k)) continue;
        staticsAdded++;
        if (!kernel) continue;
        for (const table of tables)
          batch.deviceRoute(s.family, s.prefix.bytes, s.prefix.len, table, this.#tunIfindex, s.mtu, s.src);
      }
    }
    const gone = changed.filter((c) => c.was !== undefined).sort((x, y) => x.was!.order - y.was!.order);
    for (const { was, now } of gone) {
      for (const [k, s] of was!.value.distinct) {
        if (now?.value.distinct.has(k)) continue;
        staticsRemoved++;
        if ((s.family === 4 ? this.#static4 : this.#static6).has(s.key as never)) continue; // stays
        if (kernel) {
          for (const table of tables) {
            if (s.family === 4) batch.route4(OP_ROUTE_DEL, s.key as Prefix4, table, 0);
            else batch.route6(OP_ROUTE_DEL, s.key as Prefix6, table, 0);
          }
        }
        if (s.family === 4) handBack.v4.push(s.key as Prefix4);
        else handBack.v6.push(s.key as Prefix6);
      }
    }
    // Rules: only those of customers whose rules may differ are looked at. A rule no customer
    // wanted before is added, then (the counts updated) one no customer wants any more is
    // deleted: new ones before old ones go, by family, each in its config's order.
    const rules = this.#takeRules(newCfg.neighbors, changed);
    if (rules.length > 0) {
      const wanted = this.#sourceRuleCount;
      const done = new Set<string>();
      const olds = rules.filter((c) => c.was !== undefined).sort((x, y) => x.was!.order - y.was!.order);
      for (const fam of [4, 6] as const) {
        for (const { now } of rules) {
          if (now === undefined) continue;
          const r = now.value;
          r.keys.forEach((k, i) => {
            if (r.families[i] !== fam || wanted.has(k) || done.has(k)) return;
            done.add(k);
            if (this.#writer !== undefined) batch.copy(r.rules, i, OP_RULE_ADD);
          });
        }
      }
      for (const { was, now } of rules) {
        for (const k of was?.value.keys ?? []) count(wanted, k, -1);
        for (const k of now?.value.keys ?? []) count(wanted, k, 1);
      }
      done.clear();
      for (const fam of [4, 6] as const) {
        for (const { was } of olds) {
          const r = was!.value;
          r.keys.forEach((k, i) => {
            if (r.families[i] !== fam || wanted.has(k) || done.has(k)) return;
            done.add(k);
            if (this.#writer !== undefined) batch.copy(r.rules, i, OP_RULE_DEL);
          });
        }
      }
    }
    const retarget = this.#resolver.update({ neighbors: rules, tunnels: changed });
    if (batch.count > 0 && this.#writer !== undefined)
      this.#check(batch.bytes(), await this.#writer.write(batch.bytes()), 'reload');
    if (this.#stopped) return true;
    if (retarget) {
      // The best paths whose target may have changed, handed over again in slices like a
      // snapshot (route replaces: no gap); live changes keep flowing meanwhile.
      this.#rib.rehand(this.#onChange, (family, r) => retarget(family, r.neighbor, r.attrs));
    }
    this.#enqueue(handBack);
    this.#log.info(
      {
        staticsAdded,
        staticsRemoved,
        rules: batch.count,
        retarget: retarget !== undefined,
      },
      'fib: reconfigured in place',
    );
    return true;
  }
}

const OPS: Record<number, string> = {
  [OP_ROUTE_SET]: 'route-set',
  [OP_ROUTE_DEL]: 'route-delete',
  [OP_RULE_ADD]: 'rule-add',
  [OP_RULE_DEL]: 'rule-delete',
};

/** A tunnel's static routes: its inner subnets (with MTU and source), then its `routes`. */
function parseStatics(t: FibTunnel): TunnelStatics {
  const statics: StaticRoute[] = [];
  const distinct = new Map<string, StaticRoute>();
  const inner = [t.inner.local, t.inner.local6].filter((x): x is string => x !== undefined);
  for (const cidr of [...inner, ...t.routes]) {
    const parsed = parsePrefix(cidr, false);
    if (typeof parsed === 'string') continue; // the config loader checked these
    // An inner address (192.0.2.129/30) stands for its subnet (192.0.2.128/30).
    const p = { ...parsed, bytes: maskBytes(parsed.bytes, parsed.len) };
    const isInner = inner.includes(cidr);
    const s: StaticRoute = {
      family: p.family,
      prefix: p,
      key: p.family === 4 ? prefix4(u32(p.bytes), p.len) : prefix6(p.bytes, p.len),
      tunnel: t.name,
      mtu: isInner ? t.mtu : 0,
      ...(isInner ? { src: parsed.bytes } : {}),
    };
    statics.push(s);
    const k = `${s.family}|${s.key}|${s.mtu}|${s.src?.join('.') ?? ''}`;
    if (!distinct.has(k)) distinct.set(k, s);
  }
  return { statics, distinct };
}

/** Whether a neighbor's inner sources get the full table (a `resale: false` customer in a tunnel). */
function wantsSourceRules(n: FibNeighbor): boolean {
  return n.role === 'customer' && !n.resale && n.tunnel !== undefined;
}

/** Whether two versions of a tunnel make the same static routes (and inner subnets). */
function sameStatics(a: FibTunnel, b: FibTunnel): boolean {
  return (
    a.name === b.name &&
    a.mtu === b.mtu &&
    a.inner.local === b.inner.local &&
    a.inner.local6 === b.inner.local6 &&
    sameList(a.routes, b.routes)
  );
}

function sameList(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Adds `by` to `k`'s count, dropping it at zero. */
function count<K>(m: Map<K, number>, k: K, by: number): void {
  const n = (m.get(k) ?? 0) + by;
  if (n > 0) m.set(k, n);
  else m.delete(k);
}

function u32(b: Uint8Array): number {
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

function ifindexOf(name: string): number {
  try {
    return Number(readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8').trim());
  } catch {
    return 0;
  }
}
