/**
 * Interned (hash-consed) path-attribute sets, refcounted by the paths that use them and freed
 * when unused. A full table of ~1M prefixes carries ~100k distinct sets, so every per-prefix
 * structure holds a small integer id. Sets are stored as flat word records (attr-words.ts), not
 * objects, so keeping them costs the GC nothing; the decision-process inputs are precomputed
 * into typed arrays (RFC 4271 §9.1.2.2 inputs: LOCAL_PREF, AS_PATH length, ORIGIN, MED and the
 * neighbor AS for MED comparison; RFC 1997 well-known communities as flags).
 */
import { AsPathSegmentType, type PathAttributes } from '../bgp/wire/types.js';
import { classOfTags, originAsOf, rovOfTags } from '../policy/import.js';
import { growF64, growI32, growU8 } from './arrays.js';
import { deserialize, equalWords, hashWords, type ImportOverlay, serialize, WordBuf } from './attr-words.js';

export const COMMUNITY_NO_EXPORT = 0xffffff01;
export const COMMUNITY_NO_ADVERTISE = 0xffffff02;
export const COMMUNITY_NO_EXPORT_SUBCONFED = 0xffffff03;

/** Bits of `AttrStore.flags`. */
export const ATTR_NO_EXPORT = 1;
export const ATTR_NO_ADVERTISE = 2;
/** The set carries OTC (RFC 9234): not to be propagated to providers and peers. */
export const ATTR_OTC = 4;

export const DEFAULT_LOCAL_PREF = 100;

/** RFC 4271 §9.1.2.2 a): an AS_SET counts 1, confederation segments (RFC 5065) count 0. */
export function asPathLength(attrs: PathAttributes): number {
  let n = 0;
  for (const s of attrs.asPath) {
    if (s.type === AsPathSegmentType.AS_SEQUENCE) n += s.asns.length;
    else if (s.type === AsPathSegmentType.AS_SET) n += 1;
  }
  return n;
}

/** Leftmost AS of the path (the "neighbor AS" of RFC 4271 §9.1.2.2 c), 0 when none. */
export function firstAs(attrs: PathAttributes): number {
  const s = attrs.asPath[0];
  return s !== undefined && s.type === AsPathSegmentType.AS_SEQUENCE && s.asns.length > 0 ? s.asns[0]! : 0;
}

export function asPathContains(attrs: PathAttributes, asn: number): boolean {
  for (const s of attrs.asPath) if (s.asns.includes(asn)) return true;
  return false;
}

/** Sets whose decoded objects are kept for repeated `get` (direct-mapped by id). */
const OBJ_CACHE = 1024;

export class AttrStore {
  /** Bucket (hash & mask) → first id of its chain; chains continue through #next. A typed
   * table: a Map keyed by numbers was the slowest part of interning. */
  #buckets = new Int32Array(1024).fill(-1);
  #next = new Int32Array(0);
  #hash = new Int32Array(0);
  /** Each set's record in #arena (attr-words.ts); #len 0 marks a free id. */
  #off = new Int32Array(0);
  #len = new Int32Array(0);
  #arena = new Uint32Array(1 << 16);
  #top = 0;
  /** Words of #arena held by freed records, reclaimed by #compact. */
  #garbage = 0;
  #high = 0;
  readonly #scratch = new WordBuf();
  readonly #objs: (PathAttributes | undefined)[] = new Array(OBJ_CACHE).fill(undefined);
  readonly #objIds = new Int32Array(OBJ_CACHE).fill(-1);
  #free: number[] = [];
  #size = 0;
  refs = new Int32Array(0);
  localPref = new Float64Array(0);
  pathLen = new Int32Array(0);
  origin = new Uint8Array(0);
  med = new Float64Array(0); // missing MED = 0 (RFC 4271 §9.1.2.2 c)
  nbrAs = new Float64Array(0);
  flags = new Uint8Array(0);
  /** Route class of the set's source tag (policy/import.ts RouteClass). */
  cls = new Uint8Array(0);
  /** RPKI state the set carries (LOCAL-AS:2:STATE, policy/import.ts Rov) + 1; 0: none. */
  rov = new Uint8Array(0);
  /** RFC 6811 origin AS of the set's AS_PATH (policy/import.ts originAsOf); 0: NONE. */
  originAs = new Float64Array(0);
  readonly #localAs: number;
  readonly #overlay: ImportOverlay;

  /** `localAs` names our tags (LOCAL-AS:1:CLASS) among the large communities. */
  constructor(localAs = 0) {
    this.#localAs = localAs;
    this.#overlay = { localAs, tag: 0, otc: undefined, rov: -1 };
  }

  get size(): number {
    return this.#size;
  }

  /**
   * Id of the set equal to `a` (with LOCAL_PREF replaced by `localPref` when given, and with
   * our source tag and OTC when `tag` is given: see attr-words.ts ImportOverlay), taking
   * `count` references. `a` is copied, never kept.
   */
  intern(a: PathAttributes, count: number, localPref?: number, tag?: number, otc?: number, rov = -1): number {
    const lp = localPref !== undefined && a.localPref !== localPref ? localPref : undefined;
    const sc = this.#scratch;
    let overlay: ImportOverlay | undefined;
    if (tag !== undefined) {
      overlay = this.#overlay;
      overlay.tag = tag;
      overlay.otc = otc;
      overlay.rov = rov;
    }
    serialize(a, lp, sc, overlay);
    const words = sc.w;
    const n = sc.n;
    const h = hashWords(words, 0, n);
    const b = h & (this.#buckets.length - 1);
    let id = this.#buckets[b]!;
    while (
      id !== -1 &&
      (this.#hash[id] !== h || this.#len[id] !== n || !equalWords(this.#arena, this.#off[id]!, words, 0, n))
    )
      id = this.#next[id]!;
    if (id === -1) {
      id = this.#free.length > 0 ? this.#free.pop()! : this.#high++;
      this.#grow(id + 1);
      this.#size++;
      this.#next[id] = this.#buckets[b]!;
      this.#hash[id] = h;
      this.#buckets[b] = id;
      this.#store(id, words, n);
      if (this.#size > this.#buckets.length) this.#rehash(this.#buckets.length * 4);
      const l = lp ?? a.localPref;
      this.localPref[id] = l ?? DEFAULT_LOCAL_PREF;
      this.pathLen[id] = asPathLength(a);
      this.origin[id] = a.origin;
      this.med[id] = a.med ?? 0;
      this.nbrAs[id] = firstAs(a);
      let f = 0;
      const cs = a.communities;
      if (cs !== undefined) {
        for (let i = 0; i < cs.length; i++) {
          const c = cs[i];
          if (c === COMMUNITY_NO_EXPORT || c === COMMUNITY_NO_EXPORT_SUBCONFED) f |= ATTR_NO_EXPORT;
          else if (c === COMMUNITY_NO_ADVERTISE) f |= ATTR_NO_ADVERTISE;
        }
      }
      if (a.otc !== undefined || (overlay !== undefined && otc !== undefined)) f |= ATTR_OTC;
      this.flags[id] = f;
      this.cls[id] = tag ?? classOfTags(a.largeCommunities, this.#localAs);
      this.rov[id] = (overlay !== undefined ? rov : rovOfTags(a.largeCommunities, this.#localAs)) + 1;
      this.originAs[id] = originAsOf(a);
      this.refs[id] = 0;
    }
    this.refs[id]! += count;
    return id;
  }

  /**
   * The set as an object (shared with other callers until evicted: read-only). Recently used
   * sets are cached; others are decoded from their record.
   */
  get(id: number): PathAttributes {
    const slot = id & (OBJ_CACHE - 1);
    if (this.#objIds[slot] === id) return this.#objs[slot]!;
    if (this.#len[id] === 0 || id >= this.#high) return undefined as unknown as PathAttributes;
    const o = deserialize(this.#arena, this.#off[id]!);
    this.#objIds[slot] = id;
    this.#objs[slot] = o;
    return o;
  }

  ref(id: number, count = 1): void {
    this.refs[id]! += count;
  }

  /** Drops `count` references; frees the set when none remain. */
  unref(id: number, count = 1): void {
    const r = (this.refs[id]! -= count);
    if (r > 0) return;
    if (r < 0) throw new Error(`attribute set ${id} refcount below zero`);
    const b = this.#hash[id]! & (this.#buckets.length - 1);
    let p = this.#buckets[b]!;
    if (p === id) {
      this.#buckets[b] = this.#next[id]!;
    } else {
      while (this.#next[p] !== id) p = this.#next[p]!;
      this.#next[p] = this.#next[id]!;
    }
    this.#size--;
    this.#garbage += this.#len[id]!;
    this.#len[id] = 0;
    const slot = id & (OBJ_CACHE - 1);
    if (this.#objIds[slot] === id) {
      this.#objIds[slot] = -1;
      this.#objs[slot] = undefined;
    }
    this.#free.push(id);
  }

  #store(id: number, words: Uint32Array, n: number): void {
    if (this.#top + n > this.#arena.length) this.#makeRoom(n);
    const arena = this.#arena;
    const top = this.#top;
    // A loop, not set(subarray): a view per set was a typed-array allocation per set.
    for (let i = 0; i < n; i++) arena[top + i] = words[i]!;
    this.#off[id] = this.#top;
    this.#len[id] = n;
    this.#top += n;
  }

  /** Compacts the arena when freed records fill half of it, else doubles it. */
  #makeRoom(n: number): void {
    const live = this.#top - this.#garbage;
    let size = this.#arena.length;
    while (live + n > size / 2) size *= 2;
    const next = new Uint32Array(size);
    if (this.#garbage === 0) {
      next.set(this.#arena.subarray(0, this.#top));
    } else {
      let top = 0;
      for (let id = 0; id < this.#high; id++) {
        const len = this.#len[id]!;
        if (len === 0) continue;
        const off = this.#off[id]!;
        next.set(this.#arena.subarray(off, off + len), top);
        this.#off[id] = top;
        top += len;
      }
      this.#top = top;
      this.#garbage = 0;
    }
    this.#arena = next;
  }

  #rehash(size: number): void {
    const buckets = new Int32Array(size).fill(-1);
    const mask = size - 1;
    for (let id = 0; id < this.#high; id++) {
      if (this.#len[id] === 0) continue;
      const b = this.#hash[id]! & mask;
      this.#next[id] = buckets[b]!;
      buckets[b] = id;
    }
    this.#buckets = buckets;
  }

  #grow(need: number): void {
    if (need <= this.refs.length) return;
    this.refs = growI32(this.refs, need);
    this.#next = growI32(this.#next, need);
    this.#hash = growI32(this.#hash, need);
    this.#off = growI32(this.#off, need);
    this.#len = growI32(this.#len, need);
    this.localPref = growF64(this.localPref, need);
    this.pathLen = growI32(this.pathLen, need);
    this.origin = growU8(this.origin, need);
    this.med = growF64(this.med, need);
    this.nbrAs = growF64(this.nbrAs, need);
    this.flags = growU8(this.flags, need);
    this.cls = growU8(this.cls, need);
    this.rov = growU8(this.rov, need);
    this.originAs = growF64(this.originAs, need);
  }
}
