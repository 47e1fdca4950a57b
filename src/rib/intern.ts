/**
 * Interned (hash-consed) path-attribute sets, refcounted by the paths that use them and freed
 * when unused. A full table of ~1M prefixes carries ~100k distinct sets, so every per-prefix
 * structure holds a small integer id; the decision-process inputs of each set are precomputed
 * into typed arrays (RFC 4271 §9.1.2.2 inputs: LOCAL_PREF, AS_PATH length, ORIGIN, MED and the
 * neighbor AS for MED comparison; RFC 1997 well-known communities as flags).
 */
import { AsPathSegmentType, type PathAttributes } from '../bgp/wire/types.js';
import { growF64, growI32, growU8 } from './arrays.js';
import { equalAttrs, hashAttrs } from './attr-hash.js';

export const COMMUNITY_NO_EXPORT = 0xffffff01;
export const COMMUNITY_NO_ADVERTISE = 0xffffff02;
export const COMMUNITY_NO_EXPORT_SUBCONFED = 0xffffff03;

/** Bits of `AttrStore.flags`. */
export const ATTR_NO_EXPORT = 1;
export const ATTR_NO_ADVERTISE = 2;

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

/**
 * The stored copy: every field present in one fixed order, so ~100k interned sets share one
 * hidden class instead of one each (V8 gives spread/patched objects their own maps).
 */
function canonical(a: PathAttributes, lp: number | undefined): PathAttributes {
  return {
    origin: a.origin,
    asPath: a.asPath,
    nextHop: a.nextHop,
    nextHop6: a.nextHop6,
    med: a.med,
    localPref: lp ?? a.localPref,
    atomicAggregate: a.atomicAggregate,
    aggregator: a.aggregator,
    communities: a.communities,
    largeCommunities: a.largeCommunities,
    otc: a.otc,
    unknown: a.unknown,
  };
}

export class AttrStore {
  /** Bucket (hash & mask) → first id of its chain; chains continue through #next. A typed
   * table: a Map keyed by numbers was the slowest part of interning. */
  #buckets = new Int32Array(1024).fill(-1);
  #next = new Int32Array(0);
  #hash = new Int32Array(0);
  #attrs: (PathAttributes | undefined)[] = [];
  #free: number[] = [];
  #size = 0;
  refs = new Int32Array(0);
  localPref = new Float64Array(0);
  pathLen = new Int32Array(0);
  origin = new Uint8Array(0);
  med = new Float64Array(0); // missing MED = 0 (RFC 4271 §9.1.2.2 c)
  nbrAs = new Float64Array(0);
  flags = new Uint8Array(0);

  get size(): number {
    return this.#size;
  }

  /**
   * Id of the set equal to `a` (with LOCAL_PREF replaced by `localPref` when given), taking
   * `count` references. The arrays inside `a` are shared, so callers must not mutate them.
   */
  intern(a: PathAttributes, count: number, localPref?: number): number {
    const lp = localPref !== undefined && a.localPref !== localPref ? localPref : undefined;
    const h = hashAttrs(a, lp);
    const b = h & (this.#buckets.length - 1);
    let id = this.#buckets[b]!;
    while (id !== -1 && (this.#hash[id] !== h || !equalAttrs(this.#attrs[id]!, a, lp))) id = this.#next[id]!;
    if (id === -1) {
      a = canonical(a, lp);
      id = this.#free.length > 0 ? this.#free.pop()! : this.#attrs.length;
      this.#grow(id + 1);
      this.#size++;
      this.#next[id] = this.#buckets[b]!;
      this.#hash[id] = h;
      this.#buckets[b] = id;
      this.#attrs[id] = a;
      if (this.#size > this.#buckets.length) this.#rehash(this.#buckets.length * 4);
      this.localPref[id] = a.localPref ?? DEFAULT_LOCAL_PREF;
      this.pathLen[id] = asPathLength(a);
      this.origin[id] = a.origin;
      this.med[id] = a.med ?? 0;
      this.nbrAs[id] = firstAs(a);
      let f = 0;
      for (const c of a.communities ?? []) {
        if (c === COMMUNITY_NO_EXPORT || c === COMMUNITY_NO_EXPORT_SUBCONFED) f |= ATTR_NO_EXPORT;
        else if (c === COMMUNITY_NO_ADVERTISE) f |= ATTR_NO_ADVERTISE;
      }
      this.flags[id] = f;
      this.refs[id] = 0;
    }
    this.refs[id]! += count;
    return id;
  }

  get(id: number): PathAttributes {
    return this.#attrs[id]!;
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
    this.#attrs[id] = undefined;
    this.#free.push(id);
  }

  #rehash(size: number): void {
    const buckets = new Int32Array(size).fill(-1);
    const mask = size - 1;
    for (let id = 0; id < this.#attrs.length; id++) {
      if (this.#attrs[id] === undefined) continue;
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
    this.localPref = growF64(this.localPref, need);
    this.pathLen = growI32(this.pathLen, need);
    this.origin = growU8(this.origin, need);
    this.med = growF64(this.med, need);
    this.nbrAs = growF64(this.nbrAs, need);
    this.flags = growU8(this.flags, need);
  }
}
