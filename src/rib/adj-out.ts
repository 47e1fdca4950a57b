/**
 * Adj-RIB-Out of one neighbor for one family (RFC 4271 §3.2, §9.2), kept as small as BIRD's:
 * what was advertised is one bit per Loc-RIB entry (the attributes sent are derived again from
 * the current best path and the export decision), plus what is still to be (re)considered:
 *
 *  - a queue of entries whose best path changed (fan-out), coalesced per prefix;
 *  - a sweep over entry ids for "everything" (initial export, route refresh, a policy change):
 *    a cursor, not a queue. The table is read as the output drains, so a customer coming up
 *    costs nothing until its socket takes routes, and nothing per entry of the table: with a
 *    queue, 1,000 customers each queueing a 1.2M-entry table held ~5 MB each and stopped the
 *    event loop for the whole walk of each.
 *
 * An entry ahead of the sweep is not queued when it changes (the sweep reads it as it is when it
 * gets there); one behind it is. Draining packs announcements by shared attribute set (encoded
 * once per set per chunk) and withdrawals together.
 */
import type { CodecContext, NextHop6, Prefix4, Prefix6 } from '../bgp/wire/types.js';
import { exportKey } from '../policy/export.js';
import { RouteClass } from '../policy/import.js';
import { type ExportContext, exportAttributes4, exportAttributes6 } from '../policy/transform.js';
import { BitSet, growI32 } from './arrays.js';
import type { RibCodec } from './codec.js';
import type { DecisionPeer } from './decide.js';
import { ATTR_NO_ADVERTISE, ATTR_NO_EXPORT, ATTR_OTC } from './intern.js';
import type { LocRib } from './loc-rib.js';

/** A neighbor as a source of routes for export decisions (iBGP-learned or not). */
export type ExportPeer = DecisionPeer;

/** A neighbor as a target of export. */
export interface OutTarget {
  idx: number;
  /** policy/export.ts allowMask: bit per export key (route class, learned over iBGP). */
  allow: number;
  ebgp: boolean;
  useResale: boolean;
  /** A reselling customer: no-resale routes never go there (checked below the mask). */
  resaleCustomer: boolean;
  /** A provider or peer: routes carrying OTC are not propagated (RFC 9234 §5). */
  otcBlocked: boolean;
  exportCtx: ExportContext;
  codecCtx: CodecContext;
  maxLength: number;
  /**
   * Neighbors with equal profiles get byte-identical attributes for a set (same next hop,
   * eBGP-ness, AS size, message size), so they share one encoding per flush.
   */
  profile: string;
}

/** A set's attributes as sent to one profile; bytes null when it cannot be sent. */
export interface Encoded {
  bytes: Uint8Array | null;
  nextHop6: NextHop6 | undefined;
  error: boolean;
}

/**
 * Encodings by attribute-set id for one profile and family. Valid only while no set is freed,
 * i.e. within one synchronous flush: ids are reused after a free.
 */
export type EncodeCache = Map<number, Encoded>;

interface Group<K> {
  enc: Encoded;
  keys: K[];
}

/** One takeChunk's output so far. */
interface Chunk<K> {
  groups: Map<number, Group<K>>;
  withdrawn: K[];
  /** The last set looked up, and its group. */
  lastA: number;
  lastG: Group<K> | undefined;
  /** Entries announced or withdrawn. */
  taken: number;
}

/** The sweep reads at most this many entries per entry it may send, per chunk. */
const SWEEP_LOOK = 8;
/** A drained queue longer than this is let go (256 KiB); churn grows it again as needed. */
const QUEUE_KEEP = 65536;
/**
 * A queue this long may become a sweep (#toSweep): a queue grows by 4 bytes an entry for each
 * neighbor, a sweep does not grow.
 */
const QUEUE_SWEEP = 65536;
const QMIN_NONE = 0x7fffffff;

export class AdjOut<K extends Prefix4 | Prefix6> {
  readonly table: LocRib<K>;
  readonly v6: boolean;
  readonly #peers: (ExportPeer | undefined)[];
  readonly #target: OutTarget;
  #queued = new BitSet();
  #sent = new BitSet();
  #queue = new Int32Array(0);
  #qHead = 0;
  #qLen = 0;
  /** Entries [#sweep, #sweepEnd) are still to be read by the sweep. */
  #sweep = 0;
  #sweepEnd = 0;
  /** No entry below this one is queued (a bound, not kept exact as the queue drains). */
  #qMin = QMIN_NONE;
  sentCount = 0;
  encodeErrors = 0;
  /** End-of-RIB still to be sent after the initial export (RFC 4724 §2). */
  eorPending = false;
  eorSent = false;
  /** A route refresh is being re-sent; tell the sink when it is out (RFC 7313 EoRR). */
  refreshPending = false;

  constructor(table: LocRib<K>, v6: boolean, peers: (ExportPeer | undefined)[], target: OutTarget) {
    this.table = table;
    this.v6 = v6;
    this.#peers = peers;
    this.#target = target;
  }

  /** Entries still to be considered: an upper bound on the routes to send or withdraw. */
  get pending(): number {
    return this.#qLen - this.#qHead + this.#sweepEnd - this.#sweep;
  }

  /** Nothing to send: no entry to consider, no End-of-RIB or refresh marker owed. */
  get idle(): boolean {
    return this.pending === 0 && !this.eorPending && !this.refreshPending;
  }

  /** The path of entry `e` this neighbor should have, or -1 (export policy applied). */
  exportPath(e: number): number {
    const t = this.table;
    const tg = this.#target;
    const p = tg.useResale ? t.bestResale[e]! : t.best[e]!;
    if (p === -1) return -1;
    const from = t.pNbr[p]!;
    if (from === tg.idx) return -1;
    const a = t.pAttr[p]!;
    const cls = t.attrs.cls[a]!;
    if ((tg.allow & (1 << exportKey(cls, !this.#peers[from]!.ebgp))) === 0) return -1;
    if (cls === RouteClass.NO_RESALE_PEER && tg.resaleCustomer) return -1;
    const f = t.attrs.flags[a]!;
    if ((f & ATTR_NO_ADVERTISE) !== 0 || ((f & ATTR_NO_EXPORT) !== 0 && tg.ebgp)) return -1;
    if ((f & ATTR_OTC) !== 0 && tg.otcBlocked) return -1;
    return p;
  }

  /** Queues entry `e` when it may need an announcement or a withdrawal. */
  consider(e: number): void {
    if (this.#queued.has(e)) return;
    if (e >= this.#sweep && e < this.#sweepEnd) return; // the sweep reads it when it gets there
    if (this.exportPath(e) === -1 && !this.#sent.has(e)) return;
    if (this.#qLen - this.#qHead >= QUEUE_SWEEP && this.#toSweep(e)) return;
    this.#queued.set(e);
    this.table.pins[e]!++;
    if (this.#qLen === this.#queue.length) {
      if (this.#qHead > 0 && this.#qHead * 2 >= this.#qLen) {
        this.#queue.copyWithin(0, this.#qHead, this.#qLen);
        this.#qLen -= this.#qHead;
        this.#qHead = 0;
      } else {
        this.#queue = growI32(this.#queue, this.#qLen + 1);
      }
    }
    this.#queue[this.#qLen++] = e;
    if (e < this.#qMin) this.#qMin = e;
  }

  /**
   * Considers every entry of the table again (initial export, route refresh, a policy change):
   * the sweep starts over from the first entry. Entries made after this call are new, and come
   * through the fan-out like any change.
   */
  considerAll(): void {
    this.#sweep = 0;
    this.#sweepEnd = this.table.index.highWater;
  }

  /**
   * A long queue becomes a sweep over the entries from the first one queued (or the sweep's
   * position) to the table's end, `e` included, when that re-reads no more than was queued: the
   * entries the sweep reads that neither the queue nor the sweep had are read for nothing, and
   * only those already sent are sent again (at most `sentCount`). A table arriving while its
   * customers are up (a box that restarted: they come back before the transit's table) is then
   * read as the customers' sockets take it, not queued for each of them, 4 bytes an entry.
   */
  #toSweep(e: number): boolean {
    const queued = this.#qLen - this.#qHead;
    const sweeping = this.#sweepEnd - this.#sweep;
    const lo = Math.min(this.#qMin, e, sweeping > 0 ? this.#sweep : e);
    const hi = Math.max(this.table.index.highWater, this.#sweepEnd, e + 1);
    const extra = hi - lo - queued - sweeping;
    if (Math.min(extra, this.sentCount) > queued) return false;
    const t = this.table;
    for (let i = this.#qHead; i < this.#qLen; i++) {
      const q = this.#queue[i]!;
      this.#queued.clear(q);
      t.unpin(q);
    }
    this.#qHead = this.#qLen = 0;
    this.#qMin = QMIN_NONE;
    this.#queue = new Int32Array(0);
    this.#sweep = lo;
    this.#sweepEnd = hi;
    return true;
  }

  /** Forgets everything (session down), releasing the entries it held. */
  reset(): void {
    const t = this.table;
    const q = this.#queued;
    const s = this.#sent;
    this.#queued = new BitSet();
    this.#sent = new BitSet();
    this.#qHead = this.#qLen = 0;
    this.#qMin = QMIN_NONE;
    this.#queue = new Int32Array(0);
    this.#sweep = this.#sweepEnd = 0;
    this.sentCount = 0;
    this.eorPending = false;
    this.eorSent = false;
    this.refreshPending = false;
    q.drain((e) => t.unpin(e));
    s.drain((e) => t.unpin(e));
  }

  /**
   * Builds the UPDATEs for up to `limit` entries: the queue's first, then the sweep's. The sweep
   * reads at most `limit` × SWEEP_LOOK entries a call, so a neighbor that is sent little of a
   * big table (a transit is sent customers' routes only) still gives way between chunks.
   */
  takeChunk(codec: RibCodec, limit: number, cache: EncodeCache = new Map()): Uint8Array[] {
    const t = this.table;
    const c: Chunk<K> = { groups: new Map(), withdrawn: [], lastA: -1, lastG: undefined, taken: 0 };
    const end = Math.min(this.#qLen, this.#qHead + limit);
    for (let i = this.#qHead; i < end; i++) {
      const e = this.#queue[i]!;
      this.#queued.clear(e);
      this.#take(e, c, codec, cache);
      t.unpin(e);
    }
    this.#qHead = end;
    if (this.#qHead === this.#qLen) {
      this.#qHead = this.#qLen = 0;
      this.#qMin = QMIN_NONE;
      // A burst's queue is not kept once sent (a full table's worth would stay forever).
      if (this.#queue.length > QUEUE_KEEP) this.#queue = new Int32Array(0);
    }
    if (c.taken < limit && this.#sweep < this.#sweepEnd) {
      const stop = Math.min(this.#sweepEnd, t.head.length);
      const look = Math.min(stop, this.#sweep + limit * SWEEP_LOOK);
      let e = this.#sweep;
      for (; e < look && c.taken < limit; e++) {
        // Queued: the queue has it. Dirty: its change is on its way (fan-out), and queues it.
        if (this.#queued.has(e) || t.isDirty(e)) continue;
        this.#take(e, c, codec, cache);
      }
      this.#sweep = e >= stop ? this.#sweepEnd : e;
      if (this.#sweep === this.#sweepEnd) this.#sweep = this.#sweepEnd = 0;
    }
    const max = this.#target.maxLength;
    const out: Uint8Array[] = [];
    const withdrawn = c.withdrawn;
    if (withdrawn.length > 0) {
      const w = this.v6
        ? codec.packWithdrawals6(withdrawn as Prefix6[], 0, withdrawn.length, max)
        : codec.packWithdrawals4(withdrawn as Prefix4[], 0, withdrawn.length, max);
      for (const m of w) out.push(m);
    }
    for (const g of c.groups.values()) {
      const b = g.enc.bytes;
      if (b === null || g.keys.length === 0) continue;
      const u = this.v6
        ? codec.packUpdates6(b, g.enc.nextHop6!, g.keys as Prefix6[], 0, g.keys.length, max)
        : codec.packUpdates4(b, g.keys as Prefix4[], 0, g.keys.length, max);
      for (const m of u) out.push(m);
    }
    return out;
  }

  /** Entry `e` into chunk `c`: announced with its set, withdrawn, or nothing to do. */
  #take(e: number, c: Chunk<K>, codec: RibCodec, cache: EncodeCache): void {
    const t = this.table;
    const p = this.exportPath(e);
    let g: Group<K> | undefined;
    if (p !== -1) {
      const a = t.pAttr[p]!;
      // Entries of one set arrive together (one UPDATE), so the previous group usually matches.
      g = a === c.lastA ? c.lastG : c.groups.get(a);
      if (g === undefined) {
        let enc = cache.get(a);
        if (enc === undefined) {
          enc = this.#encode(a, codec);
          cache.set(a, enc);
        }
        if (enc.error) this.encodeErrors++;
        g = { enc, keys: [] };
        c.groups.set(a, g);
      }
      c.lastA = a;
      c.lastG = g;
    }
    if (g !== undefined && g.enc.bytes !== null) {
      g.keys.push(t.index.key(e));
      c.taken++;
      if (!this.#sent.has(e)) {
        this.#sent.set(e);
        this.sentCount++;
        t.pins[e]!++;
      }
    } else if (this.#sent.has(e)) {
      c.withdrawn.push(t.index.key(e));
      c.taken++;
      this.#sent.clear(e);
      this.sentCount--;
      t.unpin(e);
    }
  }

  /** Encodes attribute set `a` for this neighbor's profile. */
  #encode(a: number, codec: RibCodec): Encoded {
    const attrs = this.table.attrs.get(a);
    const tg = this.#target;
    try {
      if (this.v6) {
        const x = exportAttributes6(attrs, tg.exportCtx);
        if (x === undefined) return { bytes: null, nextHop6: undefined, error: false };
        return this.#fits(codec.encodeAttributes(x.attrs, tg.codecCtx), x.nextHop);
      }
      const x = exportAttributes4(attrs, tg.exportCtx);
      if (x === undefined) return { bytes: null, nextHop6: undefined, error: false };
      return this.#fits(codec.encodeAttributes(x, tg.codecCtx), undefined);
    } catch {
      return { bytes: null, nextHop6: undefined, error: true };
    }
  }

  /**
   * Attributes too long to leave room for one prefix (RFC 4271 §4.3 size limit) cannot be
   * sent at all: such routes count as encode errors and are treated as not exportable.
   */
  #fits(bytes: Uint8Array, nextHop6: NextHop6 | undefined): Encoded {
    // Header, lengths, one /128 and, for IPv6, MP_REACH_NLRI with two next hops.
    const overhead = 23 + 17 + (this.v6 ? 4 + 5 + 32 + 1 : 0);
    if (bytes.length + overhead > this.#target.maxLength) return { bytes: null, nextHop6, error: true };
    return { bytes, nextHop6, error: false };
  }

  isSent(e: number): boolean {
    return this.#sent.has(e);
  }
}
