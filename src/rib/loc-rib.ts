/**
 * One address family's routes: Adj-RIB-In of every neighbor and the Loc-RIB (RFC 4271 §3.2,
 * §9.1) in one struct-of-arrays store. A path is (neighbor, attribute-set id) on a prefix entry;
 * it sits on its entry's candidate list (so a prefix's candidates are found without scanning
 * neighbors), and its entry id is in its neighbor's entry log (so a session going down visits
 * only its own prefixes). The log is append-only with lazy deletion and compaction: 4 bytes a
 * path instead of the 12 of back-pointers and a doubly linked list.
 * Each entry keeps two best paths, one per table: `full`, and `resale` (no no-resale routes,
 * known by their class tag wherever they were learned), so reselling customers get the best
 * eligible route.
 * Entries whose best changed are queued as dirty; flushing them is the caller's business.
 * Graceful restart (RFC 4724 §4.2) marks a neighbor's paths stale as a set of entry ids per
 * neighbor, built only while the neighbor is restarting: no field on any path or entry.
 */
import { BitSet, growI32, growU8 } from './arrays.js';
import { RouteClass } from '../policy/import.js';
import { type DecisionPeer, Decider } from './decide.js';
import type { AttrStore } from './intern.js';
import type { KeyIndex } from './prefix-index.js';

const DIRTY = 1;

export class LocRib<K extends number | string> {
  readonly index: KeyIndex<K>;
  readonly attrs: AttrStore;
  readonly decider: Decider;
  // Per entry.
  head = new Int32Array(0);
  best = new Int32Array(0);
  bestResale = new Int32Array(0);
  /** References from neighbors' Adj-RIB-Out (queued or advertised); an entry lives while > 0. */
  pins = new Int32Array(0);
  #flags = new Uint8Array(0);
  // Per path.
  pNbr = new Int32Array(0);
  pAttr = new Int32Array(0);
  pNext = new Int32Array(0);
  #pFree: number[] = [];
  #pHigh = 0;
  // Per neighbor.
  /** Entry ids each neighbor announced (may hold stale and repeated ids; see #compactLog). */
  #nbrLog: Int32Array<ArrayBuffer>[] = [];
  #nbrLogLen = new Int32Array(0);
  nbrCount = new Int32Array(0);
  /**
   * Paths per neighbor by the RPKI state their attribute set carries (AttrStore.rov: 0 none,
   * else Rov + 1) at nbr * 4 + state: kept as paths come and go, so the metrics read per
   * neighbor counts without walking a full table.
   */
  nbrRov = new Int32Array(0);
  /**
   * Graceful restart: the entries where a neighbor's path is stale (kept from a session that
   * ended, not yet announced again), and how many; absent for a neighbor with none.
   */
  #stale: (BitSet | undefined)[] = [];
  #staleCount: number[] = [];
  // Dirty entries since the last takeDirty.
  #dirty = new Int32Array(0);
  #dirtyLen = 0;
  #dirtyHead = 0;
  /** Entries with a best path in the full table. */
  routes = 0;
  /** Entries with a best path in the resale table (kept like `routes`, for the metrics). */
  resaleRoutes = 0;
  paths = 0;

  constructor(index: KeyIndex<K>, attrs: AttrStore, peers: (DecisionPeer | undefined)[]) {
    this.index = index;
    this.attrs = attrs;
    this.decider = new Decider(attrs, peers);
  }

  /** Sizes the per-entry and per-path arrays for `n` prefixes up front (no regrowth copies). */
  reserve(n: number): void {
    this.head = growI32(this.head, n, -1);
    this.best = growI32(this.best, n, -1);
    this.bestResale = growI32(this.bestResale, n, -1);
    this.pins = growI32(this.pins, n);
    this.#flags = growU8(this.#flags, n);
    this.pNbr = growI32(this.pNbr, n);
    this.pAttr = growI32(this.pAttr, n);
    this.pNext = growI32(this.pNext, n);
  }

  get dirtyCount(): number {
    return this.#dirtyLen - this.#dirtyHead;
  }

  /**
   * Neighbor `nbr` announces `key` with attribute set `attr`, handing over one reference to it.
   * A path already there from the same neighbor is replaced (implicit withdraw, RFC 4271 §3.1);
   * a stale mark stays (see unstale). Returns the prefix's entry.
   */
  announce(nbr: number, key: K, attr: number): number {
    const e = this.index.findOrAdd(key);
    if (e >= this.head.length) this.#growEntries();
    const pNext = this.pNext;
    const pNbr = this.pNbr;
    for (let p = this.head[e]!; p !== -1; p = pNext[p]!) {
      if (pNbr[p] !== nbr) continue;
      const old = this.pAttr[p]!;
      if (old === attr) {
        this.attrs.unref(attr);
        return e;
      }
      this.pAttr[p] = attr;
      this.nbrRov[nbr * 4 + this.attrs.rov[old]!]!--;
      this.nbrRov[nbr * 4 + this.attrs.rov[attr]!]!++;
      this.attrs.unref(old);
      this.#reselect(e, p);
      return e;
    }
    const p = this.#allocPath();
    this.pNbr[p] = nbr;
    this.pAttr[p] = attr;
    this.pNext[p] = this.head[e]!;
    this.head[e] = p;
    if (nbr >= this.nbrCount.length) this.#growNeighbors(nbr + 1);
    this.nbrCount[nbr]!++;
    this.nbrRov[nbr * 4 + this.attrs.rov[attr]!]!++;
    this.#logEntry(nbr, e);
    this.paths++;
    this.#reselect(e, p);
    return e;
  }

  /** Neighbor `nbr` withdraws `key`; false when it had no such path. */
  withdraw(nbr: number, key: K): boolean {
    const e = this.index.find(key);
    if (e === -1 || e >= this.head.length) return false;
    let prev = -1;
    for (let p = this.head[e]!; p !== -1; prev = p, p = this.pNext[p]!) {
      if (this.pNbr[p] !== nbr) continue;
      this.#removePath(e, p, prev);
      this.#reselect(e, -1);
      return true;
    }
    return false;
  }

  /** Removes every path of `nbr` (session down); returns how many. */
  withdrawNeighbor(nbr: number): number {
    if (nbr >= this.nbrCount.length) return 0;
    this.#dropStale(nbr);
    const log = this.#nbrLog[nbr]!;
    const len = this.#nbrLogLen[nbr]!;
    this.#nbrLog[nbr] = new Int32Array(0);
    this.#nbrLogLen[nbr] = 0;
    let n = 0;
    for (let i = 0; i < len; i++) {
      const e = log[i]!;
      let prev = -1;
      let p = this.head[e]!;
      while (p !== -1 && this.pNbr[p] !== nbr) {
        prev = p;
        p = this.pNext[p]!;
      }
      // Stale (withdrawn, or the id now names another prefix this neighbor lacks) or repeated.
      if (p === -1) continue;
      this.#removePath(e, p, prev);
      this.#reselect(e, -1);
      n++;
    }
    return n;
  }

  /**
   * Graceful restart (RFC 4724 §4.2): marks every path of `nbr` stale; returns how many. A path
   * stays stale until the neighbor announces its prefix again (unstale), withdraws it, or the
   * rest are swept. Paths still stale from an earlier restart must go first (sweepStale).
   */
  markStale(nbr: number): number {
    if (nbr >= this.nbrCount.length) return 0;
    this.#dropStale(nbr);
    const log = this.#nbrLog[nbr]!;
    const len = this.#nbrLogLen[nbr]!;
    const set = new BitSet();
    let n = 0;
    for (let i = 0; i < len; i++) {
      const e = log[i]!;
      // The log may repeat an entry or name one this neighbor left (lazy deletion).
      if (set.has(e) || this.pathOf(e, nbr) === -1) continue;
      set.set(e);
      n++;
    }
    if (n > 0) {
      this.#stale[nbr] = set;
      this.#staleCount[nbr] = n;
    }
    return n;
  }

  /** The neighbor announced entry `e` again: its path is fresh. */
  unstale(nbr: number, e: number): void {
    const set = this.#stale[nbr];
    if (set === undefined || !set.has(e)) return;
    set.clear(e);
    if (--this.#staleCount[nbr]! === 0) this.#dropStale(nbr);
  }

  /** Removes every stale path of `nbr` (End-of-RIB, a timer); returns how many. */
  sweepStale(nbr: number): number {
    const set = this.#stale[nbr];
    if (set === undefined) return 0;
    this.#dropStale(nbr);
    let n = 0;
    set.drain((e) => {
      let prev = -1;
      let p = this.head[e]!;
      while (p !== -1 && this.pNbr[p] !== nbr) {
        prev = p;
        p = this.pNext[p]!;
      }
      if (p === -1) return;
      this.#removePath(e, p, prev);
      this.#reselect(e, -1);
      n++;
    });
    return n;
  }

  /** Paths of `nbr` still stale. */
  staleCount(nbr: number): number {
    return this.#staleCount[nbr] ?? 0;
  }

  /** Whether the path of `nbr` on entry `e` is stale. */
  isStale(e: number, nbr: number): boolean {
    return this.#stale[nbr]?.has(e) ?? false;
  }

  #dropStale(nbr: number): void {
    if (this.#stale[nbr] === undefined) return;
    this.#stale[nbr] = undefined;
    this.#staleCount[nbr] = 0;
  }

  #logEntry(nbr: number, e: number): void {
    let log = this.#nbrLog[nbr]!;
    let len = this.#nbrLogLen[nbr]!;
    if (len === log.length) {
      if (len >= 64 && len > 2 * this.nbrCount[nbr]!) len = this.#compactLog(nbr);
      log = this.#nbrLog[nbr] = growI32(this.#nbrLog[nbr]!, len + 1);
    }
    log[len] = e;
    this.#nbrLogLen[nbr] = len + 1;
  }

  /** Keeps each entry id where `nbr` still has a path, once; returns the new length. */
  #compactLog(nbr: number): number {
    const log = this.#nbrLog[nbr]!;
    const sorted = log.subarray(0, this.#nbrLogLen[nbr]!).sort();
    let m = 0;
    for (let i = 0; i < sorted.length; i++) {
      const e = sorted[i]!;
      if ((m > 0 && log[m - 1] === e) || this.pathOf(e, nbr) === -1) continue;
      log[m++] = e;
    }
    this.#nbrLogLen[nbr] = m;
    return m;
  }

  /** The path of `nbr` for entry `e`, or -1. */
  pathOf(e: number, nbr: number): number {
    for (let p = this.head[e]!; p !== -1; p = this.pNext[p]!) if (this.pNbr[p] === nbr) return p;
    return -1;
  }

  /**
   * Hands up to `max` dirty entries to `fn`, oldest first, then forgets them (freeing entries
   * nobody holds); returns how many stay dirty. Entries marked dirty meanwhile queue behind.
   */
  takeDirty(fn: (e: number) => void, max = Number.POSITIVE_INFINITY): number {
    const list = this.#dirty;
    const end = Math.min(this.#dirtyLen, this.#dirtyHead + max);
    let i = this.#dirtyHead;
    for (; i < end; i++) {
      const e = list[i]!;
      this.#flags[e]! &= ~DIRTY;
      fn(e);
      this.maybeFree(e);
    }
    this.#dirtyHead = i;
    if (i === this.#dirtyLen) this.#dirtyHead = this.#dirtyLen = 0;
    return this.#dirtyLen - this.#dirtyHead;
  }

  /** Entry `e`'s best paths changed and the change is not handed out yet (takeDirty). */
  isDirty(e: number): boolean {
    return (this.#flags[e]! & DIRTY) !== 0;
  }

  unpin(e: number): void {
    this.pins[e]!--;
    this.maybeFree(e);
  }

  maybeFree(e: number): void {
    if (this.head[e] === -1 && this.pins[e] === 0 && (this.#flags[e]! & DIRTY) === 0) {
      this.index.remove(e);
      // A freed id is reused by findOrAdd; its per-entry state must read as empty.
      this.best[e] = -1;
      this.bestResale[e] = -1;
    }
  }

  #removePath(e: number, p: number, prev: number): void {
    if (prev === -1) this.head[e] = this.pNext[p]!;
    else this.pNext[prev] = this.pNext[p]!;
    const nbr = this.pNbr[p]!;
    if (this.#stale[nbr] !== undefined) this.unstale(nbr, e);
    this.nbrCount[nbr]!--;
    this.nbrRov[nbr * 4 + this.attrs.rov[this.pAttr[p]!]!]!--;
    this.paths--;
    this.attrs.unref(this.pAttr[p]!);
    this.pNbr[p] = -1;
    this.#pFree.push(p);
  }

  #reselect(e: number, touched: number): void {
    const oldB = this.best[e]!;
    const oldR = this.bestResale[e]!;
    const h = this.head[e]!;
    let b: number;
    let r: number;
    if (h === -1) {
      b = -1;
      r = -1;
    } else if (this.pNext[h] === -1) {
      b = h;
      r = this.attrs.cls[this.pAttr[h]!] === RouteClass.NO_RESALE_PEER ? -1 : h;
    } else {
      b = this.decider.decide(h, this.pNext, this.pNbr, this.pAttr, false);
      let anyNoResale = false;
      for (let p = h; p !== -1; p = this.pNext[p]!) {
        if (this.attrs.cls[this.pAttr[p]!] === RouteClass.NO_RESALE_PEER) {
          anyNoResale = true;
          break;
        }
      }
      r = anyNoResale ? this.decider.decide(h, this.pNext, this.pNbr, this.pAttr, true) : b;
    }
    this.best[e] = b;
    this.bestResale[e] = r;
    if (oldB === -1 && b !== -1) this.routes++;
    else if (oldB !== -1 && b === -1) this.routes--;
    if (oldR === -1 && r !== -1) this.resaleRoutes++;
    else if (oldR !== -1 && r === -1) this.resaleRoutes--;
    if (b !== oldB || r !== oldR || (touched !== -1 && (touched === b || touched === r))) this.#markDirty(e);
  }

  #markDirty(e: number): void {
    if ((this.#flags[e]! & DIRTY) !== 0) return;
    this.#flags[e]! |= DIRTY;
    if (this.#dirtyLen === this.#dirty.length) {
      if (this.#dirtyHead > 0) {
        this.#dirty.copyWithin(0, this.#dirtyHead, this.#dirtyLen);
        this.#dirtyLen -= this.#dirtyHead;
        this.#dirtyHead = 0;
      }
      this.#dirty = growI32(this.#dirty, this.#dirtyLen + 1);
    }
    this.#dirty[this.#dirtyLen++] = e;
  }

  #allocPath(): number {
    if (this.#pFree.length > 0) return this.#pFree.pop()!;
    const p = this.#pHigh++;
    if (p >= this.pNbr.length) {
      const need = p + 1;
      this.pNbr = growI32(this.pNbr, need);
      this.pAttr = growI32(this.pAttr, need);
      this.pNext = growI32(this.pNext, need);
    }
    return p;
  }

  #growEntries(): void {
    const need = this.index.highWater;
    this.head = growI32(this.head, need, -1);
    this.best = growI32(this.best, need, -1);
    this.bestResale = growI32(this.bestResale, need, -1);
    this.pins = growI32(this.pins, need);
    this.#flags = growU8(this.#flags, need);
  }

  #growNeighbors(need: number): void {
    this.nbrCount = growI32(this.nbrCount, need);
    this.nbrRov = growI32(this.nbrRov, this.nbrCount.length * 4);
    this.#nbrLogLen = growI32(this.#nbrLogLen, need);
    while (this.#nbrLog.length < this.nbrCount.length) this.#nbrLog.push(new Int32Array(0));
  }
}
