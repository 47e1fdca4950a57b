/**
 * Prefix → entry-id maps for the Loc-RIB. IPv4 uses an open-addressing hash of Int32 entry ids
 * (linear probing, backward-shift deletion, each slot with its hash) whose keys live once in a
 * Float64Array indexed by entry id: about 24 bytes per prefix instead of the 60+ of a Map. IPv6 tables are ~5x smaller,
 * so a Map<string, number> is fine there. Entry ids are dense and reused, so per-entry state
 * elsewhere is plain typed arrays indexed by entry id.
 */
import type { Prefix4, Prefix6 } from '../bgp/wire/types.js';
import { growF64, growI32 } from './arrays.js';

export interface KeyIndex<K> {
  /** Entry id of `key`, or -1. */
  find(key: K): number;
  /** Entry id of `key`, allocating one when absent. */
  findOrAdd(key: K): number;
  /** Frees an entry id (its key disappears). */
  remove(entry: number): void;
  key(entry: number): K;
  /** Upper bound of entry ids handed out so far (exclusive). */
  readonly highWater: number;
  readonly size: number;
  /** Every live entry id. */
  entries(): Generator<number>;
}

abstract class EntryAlloc {
  protected free = new Int32Array(0);
  protected freeLen = 0;
  highWater = 0;
  size = 0;
  protected live = new Uint8Array(0);

  protected alloc(): number {
    this.size++;
    const e = this.freeLen > 0 ? this.free[--this.freeLen]! : this.highWater++;
    if (e >= this.live.length) {
      const b = new Uint8Array(Math.max(16, this.live.length * 2));
      b.set(this.live);
      this.live = b;
    }
    this.live[e] = 1;
    return e;
  }

  protected release(e: number): void {
    this.size--;
    this.live[e] = 0;
    this.free = growI32(this.free, this.freeLen + 1);
    this.free[this.freeLen++] = e;
  }

  *entries(): Generator<number> {
    for (let e = 0; e < this.highWater; e++) if (this.live[e] === 1) yield e;
  }
}

/**
 * Slot hash of an IPv4 key (address × 64 + length). The /20, last octet and length are mixed; the four
 * address bits of a /21–/32 within its /20 stay as the low bits, so the prefixes of one /20 (an
 * UPDATE usually carries neighbours) share one or two cache lines of the slot table instead of
 * costing a random miss each. Prefixes of different /20s or lengths still scatter.
 */
function hash4(key: number): number {
  const addr = (key / 64) | 0;
  // The last octet goes with the length into the mixed part: /25–/32 inside one /24 scatter.
  let h = Math.imul(addr >>> 12, 0x9e3779b1) ^ Math.imul(((addr & 0xff) << 6) + (key & 63) + 1, 0x85ebca6b);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  // Up to /20 those four bits are zero: take them from the mix, or short prefixes pile up.
  return (h & ~15) | ((key & 63) > 20 ? (addr >>> 8) & 15 : h & 15);
}

export class KeyIndex4 extends EntryAlloc implements KeyIndex<Prefix4> {
  /**
   * Pairs (entry id, full hash) side by side: a probe compares hashes within the slot's cache
   * line and reads the key only on a hash match. Reading keys[e] of every occupied slot on the
   * way was one more random cache miss per probe step on a 1M-entry table.
   */
  #slots: Int32Array;
  #mask: number;
  #keys = new Float64Array(0);

  constructor(initialCapacity = 1024) {
    super();
    let cap = 16;
    while (cap < initialCapacity * 1.5) cap *= 2;
    this.#slots = new Int32Array(cap * 2).fill(-1);
    this.#mask = cap - 1;
    this.#keys = new Float64Array(initialCapacity);
  }

  find(key: Prefix4): number {
    const slots = this.#slots;
    const keys = this.#keys;
    const mask = this.#mask;
    const h = hash4(key);
    let i = h & mask;
    for (;;) {
      const e = slots[2 * i]!;
      if (e === -1 || (slots[2 * i + 1] === h && keys[e] === key)) return e;
      i = (i + 1) & mask;
    }
  }

  findOrAdd(key: Prefix4): number {
    const slots = this.#slots;
    const keys = this.#keys;
    const mask = this.#mask;
    const h = hash4(key);
    let i = h & mask;
    for (;;) {
      const e = slots[2 * i]!;
      if (e === -1) break;
      if (slots[2 * i + 1] === h && keys[e] === key) return e;
      i = (i + 1) & mask;
    }
    const e = this.alloc();
    if (e >= this.#keys.length) this.#keys = growF64(this.#keys, e + 1);
    this.#keys[e] = key;
    slots[2 * i] = e;
    slots[2 * i + 1] = h;
    if (this.size * 10 > (mask + 1) * 7) this.#rehash((mask + 1) * 2);
    return e;
  }

  remove(entry: number): void {
    const slots = this.#slots;
    const mask = this.#mask;
    let i = hash4(this.#keys[entry]!) & mask;
    while (slots[2 * i] !== entry) i = (i + 1) & mask;
    // Backward-shift deletion keeps probe chains intact without tombstones.
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const e = slots[2 * j]!;
      if (e === -1) break;
      const home = slots[2 * j + 1]! & mask;
      if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
        slots[2 * i] = e;
        slots[2 * i + 1] = slots[2 * j + 1]!;
        i = j;
      }
    }
    slots[2 * i] = -1;
    this.release(entry);
  }

  key(entry: number): Prefix4 {
    return this.#keys[entry]!;
  }

  #rehash(cap: number): void {
    const slots = new Int32Array(cap * 2).fill(-1);
    const mask = cap - 1;
    const old = this.#slots;
    for (let k = 0; k < old.length; k += 2) {
      const e = old[k]!;
      if (e === -1) continue;
      const h = old[k + 1]!;
      let i = h & mask;
      while (slots[2 * i] !== -1) i = (i + 1) & mask;
      slots[2 * i] = e;
      slots[2 * i + 1] = h;
    }
    this.#slots = slots;
    this.#mask = mask;
  }
}

export class KeyIndex6 extends EntryAlloc implements KeyIndex<Prefix6> {
  #map = new Map<Prefix6, number>();
  #keys: Prefix6[] = [];

  find(key: Prefix6): number {
    return this.#map.get(key) ?? -1;
  }

  findOrAdd(key: Prefix6): number {
    let e = this.#map.get(key);
    if (e === undefined) {
      e = this.alloc();
      this.#map.set(key, e);
      this.#keys[e] = key;
    }
    return e;
  }

  remove(entry: number): void {
    this.#map.delete(this.#keys[entry]!);
    this.#keys[entry] = '';
    this.release(entry);
  }

  key(entry: number): Prefix6 {
    return this.#keys[entry]!;
  }
}
