/**
 * The VRP table: every Validated ROA Payload of both families, in typed arrays, with O(1)
 * incremental add and remove, and route-origin validation (RFC 6811 §2):
 * - a VRP *covers* a route when the VRP prefix is the route prefix or contains it (its length is
 *   ≤ the route's and the bits agree); maxLength plays no part in covering;
 * - a VRP *matches* a route when it covers it, route length ≤ maxLength and the route's origin AS
 *   equals the VRP's AS; AS 0 (RFC 6483 §4, RFC 7607) matches nothing, and an origin of 0 stands
 *   for "NONE" (a path ending in an AS_SET), which matches nothing either;
 * - Valid: some VRP matches; Invalid: some VRP covers, none matches; NotFound: none covers.
 *
 * Layout per family: a PrefixMap (prefix → entry), per entry the head of a list of its VRPs, per
 * VRP an AS, a maxLength and a next link (9 bytes). Arrays grow by half, the slot table by
 * doubling (load 0.35–0.7), so `bytes()` (what is really held) lands at 35–50 bytes per VRP for a
 * full table. Lookups probe one masked key per prefix length present, shortest first, most of
 * them answered by the PrefixMap's in-cache filter.
 */
import type { Prefix4, Prefix6 } from '../bgp/wire/types.js';
import { MASK, maskWords, PrefixMap, prefix6Words, wordsPrefix6 } from './prefix-map.js';
import type { RovState, Vrp } from './types.js';

class FamilyVrps {
  readonly map: PrefixMap;
  head = new Int32Array(16).fill(-1);
  asn = new Int32Array(16); // origin AS as a signed 32-bit integer (`>>> 0` to read it)
  max = new Uint8Array(16);
  next = new Int32Array(16);
  #freeVrp = -1;
  #vrpHigh = 0;
  count = 0;

  constructor(words: 1 | 4) {
    this.map = new PrefixMap(words);
  }

  bytes(): number {
    return (
      this.map.bytes() +
      this.head.byteLength +
      this.asn.byteLength +
      this.max.byteLength +
      this.next.byteLength
    );
  }

  /** Slot of (entry, maxLength, asn), or -1. */
  findVrp(entry: number, maxLength: number, asn: number): number {
    for (let v = this.head[entry]!; v >= 0; v = this.next[v]!) {
      if (this.asn[v] === asn && this.max[v] === maxLength) return v;
    }
    return -1;
  }

  add(k: Int32Array, len: number, maxLength: number, asn: number): boolean {
    let e = this.map.find(k, 0, len);
    if (e >= 0 && this.findVrp(e, maxLength, asn) >= 0) return false;
    if (e < 0) {
      e = this.map.insert(k, 0, len);
      if (this.head.length < this.map.capacity) {
        const h = new Int32Array(this.map.capacity).fill(-1);
        h.set(this.head);
        this.head = h;
      }
      this.head[e] = -1;
    }
    let v = this.#freeVrp;
    if (v >= 0) {
      this.#freeVrp = this.next[v]!;
    } else {
      v = this.#vrpHigh++;
      if (v >= this.asn.length) this.#growVrps(v + 1);
    }
    this.asn[v] = asn;
    this.max[v] = maxLength;
    this.next[v] = this.head[e]!;
    this.head[e] = v;
    this.count++;
    return true;
  }

  remove(k: Int32Array, len: number, maxLength: number, asn: number): boolean {
    const e = this.map.find(k, 0, len);
    if (e < 0) return false;
    let prev = -1;
    for (let v = this.head[e]!; v >= 0; prev = v, v = this.next[v]!) {
      if (this.asn[v] !== asn || this.max[v] !== maxLength) continue;
      if (prev < 0) this.head[e] = this.next[v]!;
      else this.next[prev] = this.next[v]!;
      this.next[v] = this.#freeVrp;
      this.#freeVrp = v;
      this.count--;
      if (this.head[e]! < 0) this.map.remove(e);
      return true;
    }
    return false;
  }

  clear(): void {
    this.map.clear();
    this.head.fill(-1);
    this.#freeVrp = -1;
    this.#vrpHigh = 0;
    this.count = 0;
  }

  #growVrps(min: number): void {
    let cap = Math.ceil(this.asn.length * 1.5);
    while (cap < min) cap = Math.ceil(cap * 1.5);
    const asn = new Int32Array(cap);
    asn.set(this.asn);
    this.asn = asn;
    const max = new Uint8Array(cap);
    max.set(this.max);
    this.max = max;
    const next = new Int32Array(cap);
    next.set(this.next);
    this.next = next;
  }
}

/** Read side of the table: what validation and explain output need. */
export interface VrpReader {
  readonly size: number;
  validate(prefix: Prefix4 | Prefix6, originAs: number): RovState;
  covering(prefix: Prefix4 | Prefix6): Vrp[];
  has(vrp: Vrp): boolean;
}

export class VrpTable implements VrpReader {
  #v4 = new FamilyVrps(1);
  #v6 = new FamilyVrps(4);
  // Scratch words: no allocation per lookup.
  #k = new Int32Array(4);
  #m = new Int32Array(4);

  get size(): number {
    return this.#v4.count + this.#v6.count;
  }

  get size4(): number {
    return this.#v4.count;
  }

  get size6(): number {
    return this.#v6.count;
  }

  /** Bytes held in typed arrays (both families, growth slack included). */
  bytes(): number {
    return this.#v4.bytes() + this.#v6.bytes();
  }

  /** Adds a VRP; false when it is already there (nothing changes). */
  add(vrp: Vrp): boolean {
    const f = this.#key(vrp);
    return f.add(this.#k, this.#len, vrp.maxLength, vrp.asn | 0);
  }

  /** Removes a VRP; false when it is not there. */
  remove(vrp: Vrp): boolean {
    const f = this.#key(vrp);
    return f.remove(this.#k, this.#len, vrp.maxLength, vrp.asn | 0);
  }

  has(vrp: Vrp): boolean {
    const f = this.#key(vrp);
    const e = f.map.find(this.#k, 0, this.#len);
    return e >= 0 && f.findVrp(e, vrp.maxLength, vrp.asn | 0) >= 0;
  }

  clear(): void {
    this.#v4 = new FamilyVrps(1);
    this.#v6 = new FamilyVrps(4);
  }

  /** Takes over `other`'s contents in O(1) (a full set replacing ours); `other` is left empty. */
  adopt(other: VrpTable): void {
    this.#v4 = other.#v4;
    this.#v6 = other.#v6;
    other.clear();
  }

  validate(prefix: Prefix4 | Prefix6, originAs: number): RovState {
    return typeof prefix === 'number' ? this.validate4(prefix, originAs) : this.validate6(prefix, originAs);
  }

  validate4(prefix: Prefix4, originAs: number): RovState {
    const f = this.#v4;
    const map = f.map;
    const lengths = map.lengths;
    const n = map.nLengths;
    const a = Math.floor(prefix / 64);
    const len = prefix - a * 64;
    const addr = a | 0;
    const origin = originAs | 0;
    const head = f.head;
    const next = f.next;
    const asn = f.asn;
    const max = f.max;
    let state: RovState = 'not-found';
    for (let i = 0; i < n; i++) {
      const l = lengths[i]!;
      if (l > len) break;
      const e = map.find1(addr & MASK[l]!, l);
      if (e < 0) continue;
      state = 'invalid';
      if (origin === 0) continue;
      for (let v = head[e]!; v >= 0; v = next[v]!) {
        if (asn[v] === origin && len <= max[v]!) return 'valid';
      }
    }
    return state;
  }

  validate6(prefix: Prefix6, originAs: number): RovState {
    const f = this.#v6;
    const map = f.map;
    const lengths = map.lengths;
    const n = map.nLengths;
    const k = this.#k;
    const m = this.#m;
    const len = prefix6Words(prefix, k);
    const origin = originAs | 0;
    let state: RovState = 'not-found';
    for (let i = 0; i < n; i++) {
      const l = lengths[i]!;
      if (l > len) break;
      maskWords(k, 0, 4, l, m);
      const e = map.find(m, 0, l);
      if (e < 0) continue;
      state = 'invalid';
      if (origin === 0) continue;
      for (let v = f.head[e]!; v >= 0; v = f.next[v]!) {
        if (f.asn[v] === origin && len <= f.max[v]!) return 'valid';
      }
    }
    return state;
  }

  /** The VRPs covering a route prefix (RFC 6811 §2), shortest prefix first: for explain output. */
  covering(prefix: Prefix4 | Prefix6): Vrp[] {
    const out: Vrp[] = [];
    const v4 = typeof prefix === 'number';
    const f = v4 ? this.#v4 : this.#v6;
    const k = this.#k;
    const m = this.#m;
    let len: number;
    if (v4) {
      k[0] = Math.floor(prefix / 64) | 0;
      len = prefix % 64;
    } else {
      len = prefix6Words(prefix, k);
    }
    const lengths = f.map.lengths;
    for (let i = 0; i < f.map.nLengths; i++) {
      const l = lengths[i]!;
      if (l > len) break;
      maskWords(k, 0, f.map.words, l, m);
      const e = f.map.find(m, 0, l);
      if (e < 0) continue;
      const p = v4 ? (m[0]! >>> 0) * 64 + l : wordsPrefix6(m, 0, l);
      for (let v = f.head[e]!; v >= 0; v = f.next[v]!) {
        out.push({ prefix: p, maxLength: f.max[v]!, asn: f.asn[v]! >>> 0 });
      }
    }
    return out;
  }

  /** Every VRP (IPv4 first); the table must not change while iterating. */
  *entries(): Generator<Vrp> {
    for (const [f, v4] of [
      [this.#v4, true],
      [this.#v6, false],
    ] as const) {
      const map = f.map;
      const w = new Int32Array(4);
      for (const e of map.entries()) {
        const l = map.length(e);
        for (let i = 0; i < map.words; i++) w[i] = map.word(e, i);
        const p = v4 ? (w[0]! >>> 0) * 64 + l : wordsPrefix6(w, 0, l);
        for (let v = f.head[e]!; v >= 0; v = f.next[v]!) {
          yield { prefix: p, maxLength: f.max[v]!, asn: f.asn[v]! >>> 0 };
        }
      }
    }
  }

  #len = 0;

  /** Loads the VRP's address words into #k and its length into #len; returns its family. */
  #key(vrp: Vrp): FamilyVrps {
    if (typeof vrp.prefix === 'number') {
      const addr = Math.floor(vrp.prefix / 64);
      this.#k[0] = addr | 0;
      this.#len = vrp.prefix - addr * 64;
      return this.#v4;
    }
    this.#len = prefix6Words(vrp.prefix, this.#k);
    return this.#v6;
  }
}
