/**
 * Growable typed arrays and bitsets for the RIB's struct-of-arrays tables. A full table is a few
 * flat typed arrays instead of a million small objects, so growth is by doubling and explicit.
 */

export function growI32(a: Int32Array<ArrayBuffer>, need: number, fill = 0): Int32Array<ArrayBuffer> {
  if (need <= a.length) return a;
  let n = a.length > 0 ? a.length : 16;
  while (n < need) n *= 2;
  const b = new Int32Array(n);
  b.set(a);
  if (fill !== 0) b.fill(fill, a.length);
  return b;
}

export function growF64(a: Float64Array<ArrayBuffer>, need: number): Float64Array<ArrayBuffer> {
  if (need <= a.length) return a;
  let n = a.length > 0 ? a.length : 16;
  while (n < need) n *= 2;
  const b = new Float64Array(n);
  b.set(a);
  return b;
}

export function growU8(a: Uint8Array<ArrayBuffer>, need: number): Uint8Array<ArrayBuffer> {
  if (need <= a.length) return a;
  let n = a.length > 0 ? a.length : 16;
  while (n < need) n *= 2;
  const b = new Uint8Array(n);
  b.set(a);
  return b;
}

/** A bitset over entry ids that grows on set; reads past the end are 0. */
export class BitSet {
  words = new Int32Array(0);

  has(i: number): boolean {
    const w = i >>> 5;
    return w < this.words.length && (this.words[w]! & (1 << (i & 31))) !== 0;
  }

  set(i: number): void {
    const w = i >>> 5;
    if (w >= this.words.length) this.words = growI32(this.words, w + 1);
    this.words[w]! |= 1 << (i & 31);
  }

  clear(i: number): void {
    const w = i >>> 5;
    if (w < this.words.length) this.words[w]! &= ~(1 << (i & 31));
  }

  /** Calls fn for every set bit, then empties the set. */
  drain(fn: (i: number) => void): void {
    const words = this.words;
    this.words = new Int32Array(0);
    for (let w = 0; w < words.length; w++) {
      let v = words[w]!;
      while (v !== 0) {
        const b = 31 - Math.clz32(v & -v);
        v &= v - 1;
        fn(w * 32 + b);
      }
    }
  }
}
