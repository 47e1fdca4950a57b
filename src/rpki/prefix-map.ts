/**
 * Prefix → entry id, for one address family, in typed arrays: the key store under the VRP table
 * and the affected-prefix set. A prefix is `words` 32-bit words (1 for IPv4, 4 for IPv6, host
 * bits zero) and a length. Open addressing with linear probing and backward-shift deletion (no
 * tombstones, so a table that churns for months never degrades), load factor ≤ 0.7; entry ids
 * are dense and reused, so per-entry data elsewhere is a typed array indexed by entry id.
 *
 * It also keeps which prefix lengths are present, ascending: a covering lookup (RFC 6811 §2)
 * probes one masked key per present length no longer than the route, about 17 probes for a
 * real IPv4 table instead of 33, each a hash and one or two array reads.
 */

/** MASK[len]: the network mask of a /len in 32 bits, as a signed integer (no heap numbers). */
export const MASK: Int32Array = Int32Array.from({ length: 33 }, (_, len) =>
  len === 0 ? 0 : -1 << (32 - len),
);

export class PrefixMap {
  readonly words: 1 | 4;
  #keys: Int32Array;
  #lens: Uint8Array;
  /**
   * Two words per slot: the key's first word, and (entry id + 1) × 256 + length (0 = empty). A
   * probe of IPv4 reads one cache line, not the slot, then the key, then the length.
   */
  #slots: Int32Array;
  #mask: number;
  #free: Int32Array = new Int32Array(16);
  #freeLen = 0;
  #highWater = 0;
  #size = 0;
  #lenCount: Int32Array;
  #lengths: Uint8Array;
  #nLengths = 0;
  /**
   * Per length, one bit per 16-bit slice of the key (the top 16 bits for IPv4, bits 8–23 for
   * IPv6, whose top byte is nearly always 0x20–0x2f): set when a key of that length and slice was
   * added. 270 KB for IPv4, so it stays in cache, unlike the slot table: most probes of a covering
   * lookup are misses and end here. Bits are cleared only when the slots are rebuilt, so a stale
   * bit costs a probe, never an answer.
   */
  #filter: Int32Array;
  readonly #sliceShift: number;

  constructor(words: 1 | 4, capacity = 16) {
    this.words = words;
    const cap = Math.max(16, capacity);
    this.#keys = new Int32Array(cap * words);
    this.#lens = new Uint8Array(cap).fill(255);
    const slots = slotsFor(cap);
    this.#slots = new Int32Array(slots * 2);
    this.#mask = slots - 1;
    this.#lenCount = new Int32Array(words * 32 + 1);
    this.#lengths = new Uint8Array(words * 32 + 1);
    this.#filter = new Int32Array((words * 32 + 1) * 2048);
    this.#sliceShift = words === 1 ? 16 : 8;
  }

  get size(): number {
    return this.#size;
  }

  /** Upper bound (exclusive) of entry ids handed out: per-entry arrays must be this long. */
  get highWater(): number {
    return this.#highWater;
  }

  /** Capacity of the entry arrays: per-entry arrays elsewhere grow to match it. */
  get capacity(): number {
    return this.#lens.length;
  }

  /** Present prefix lengths, ascending; valid until the next add or remove. */
  get lengths(): Uint8Array {
    return this.#lengths;
  }

  get nLengths(): number {
    return this.#nLengths;
  }

  length(entry: number): number {
    return this.#lens[entry]!;
  }

  /** Word `i` of an entry's key. */
  word(entry: number, i: number): number {
    return this.#keys[entry * this.words + i]!;
  }

  isLive(entry: number): boolean {
    return entry < this.#highWater && this.#lens[entry] !== 255;
  }

  /** Bytes held by the typed arrays (what the map costs, slack included). */
  bytes(): number {
    return (
      this.#keys.byteLength +
      this.#lens.byteLength +
      this.#slots.byteLength +
      this.#free.byteLength +
      this.#lenCount.byteLength +
      this.#filter.byteLength +
      this.#lengths.byteLength
    );
  }

  /** IPv4 fast path: entry of (addr as a signed 32-bit integer, len), or -1; host bits zero. */
  find1(addr: number, len: number): number {
    const slice = (addr >>> 16) & 0xffff;
    if ((this.#filter[(len << 11) | (slice >>> 5)]! & (1 << (slice & 31))) === 0) return -1;
    const slots = this.#slots;
    const mask = this.#mask;
    let h = Math.imul(addr ^ Math.imul(len + 1, 0x9e3779b1), 0x85ebca6b);
    h ^= h >>> 15;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 13;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const meta = slots[2 * i + 1]!;
      if (meta === 0) return -1;
      if (slots[2 * i] === addr && (meta & 0xff) === len) return (meta >>> 8) - 1;
    }
  }

  /** Entry of the key at `k[off..off+words)` with `len`, or -1. The key has host bits zero. */
  find(k: Int32Array, off: number, len: number): number {
    if (this.words === 1) return this.find1(k[off]!, len);
    const slice = (k[off]! >>> 8) & 0xffff;
    if ((this.#filter[(len << 11) | (slice >>> 5)]! & (1 << (slice & 31))) === 0) return -1;
    const slots = this.#slots;
    const mask = this.#mask;
    const keys = this.#keys;
    const k0 = k[off]!;
    const k1 = k[off + 1]!;
    const k2 = k[off + 2]!;
    const k3 = k[off + 3]!;
    for (let i = hash4(k0, k1, k2, k3, len) & mask; ; i = (i + 1) & mask) {
      const meta = slots[2 * i + 1]!;
      if (meta === 0) return -1;
      if (slots[2 * i] !== k0 || (meta & 0xff) !== len) continue;
      const e = (meta >>> 8) - 1;
      const b = e * 4;
      if (keys[b + 1] === k1 && keys[b + 2] === k2 && keys[b + 3] === k3) return e;
    }
  }

  /** Entry of the key, added when absent. */
  add(k: Int32Array, off: number, len: number): number {
    const found = this.find(k, off, len);
    return found >= 0 ? found : this.insert(k, off, len);
  }

  /** Adds a key the caller knows is absent (it just failed to find it); returns its entry. */
  insert(k: Int32Array, off: number, len: number): number {
    if ((this.#size + 1) * 10 > (this.#mask + 1) * 7) this.#rehash((this.#mask + 1) * 2);
    const e = this.#freeLen > 0 ? this.#free[--this.#freeLen]! : this.#highWater++;
    if (e >= this.#lens.length) this.#growEntries(e + 1);
    const w = this.words;
    for (let i = 0; i < w; i++) this.#keys[e * w + i] = k[off + i]!;
    this.#lens[e] = len;
    this.#mark(e);
    this.#place(e);
    this.#size++;
    if (this.#lenCount[len]!++ === 0) this.#relist();
    return e;
  }

  /** Frees an entry; its id may be handed out again. */
  remove(entry: number): void {
    const slots = this.#slots;
    const mask = this.#mask;
    let i = this.#home(entry);
    while (slots[2 * i + 1]! >>> 8 !== entry + 1) i = (i + 1) & mask;
    // Backward-shift deletion: pull later members of the cluster into the hole when their home
    // slot does not lie cyclically in (hole, j].
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const meta = slots[2 * j + 1]!;
      if (meta === 0) break;
      const k = this.#home((meta >>> 8) - 1);
      const between = i <= j ? i < k && k <= j : i < k || k <= j;
      if (!between) {
        slots[2 * i] = slots[2 * j]!;
        slots[2 * i + 1] = meta;
        i = j;
      }
    }
    slots[2 * i] = 0;
    slots[2 * i + 1] = 0;
    const len = this.#lens[entry]!;
    this.#lens[entry] = 255; // marks a free id (no real length is 255)
    this.#size--;
    if (this.#freeLen === this.#free.length) {
      const f = new Int32Array(this.#free.length * 2);
      f.set(this.#free);
      this.#free = f;
    }
    this.#free[this.#freeLen++] = entry;
    if (--this.#lenCount[len]! === 0) this.#relist();
  }

  clear(): void {
    this.#slots.fill(0);
    this.#filter.fill(0);
    this.#lens.fill(255);
    this.#highWater = 0;
    this.#freeLen = 0;
    this.#size = 0;
    this.#lenCount.fill(0);
    this.#nLengths = 0;
  }

  /** Every live entry id. */
  *entries(): Generator<number> {
    for (let e = 0; e < this.#highWater; e++) if (this.#lens[e] !== 255) yield e;
  }

  #home(entry: number): number {
    const w = this.words;
    const keys = this.#keys;
    const len = this.#lens[entry]!;
    if (w === 1) {
      let h = Math.imul(keys[entry]! ^ Math.imul(len + 1, 0x9e3779b1), 0x85ebca6b);
      h ^= h >>> 15;
      h = Math.imul(h, 0xc2b2ae35);
      h ^= h >>> 13;
      return h & this.#mask;
    }
    const b = entry * 4;
    return hash4(keys[b]!, keys[b + 1]!, keys[b + 2]!, keys[b + 3]!, len) & this.#mask;
  }

  #place(entry: number): void {
    const slots = this.#slots;
    const mask = this.#mask;
    let i = this.#home(entry);
    while (slots[2 * i + 1] !== 0) i = (i + 1) & mask;
    slots[2 * i] = this.#keys[entry * this.words]!;
    slots[2 * i + 1] = (entry + 1) * 256 + this.#lens[entry]!;
  }

  #rehash(size: number): void {
    this.#slots = new Int32Array(size * 2);
    this.#mask = size - 1;
    this.#filter.fill(0);
    for (let e = 0; e < this.#highWater; e++) {
      if (this.#lens[e] === 255) continue;
      this.#mark(e);
      this.#place(e);
    }
  }

  #mark(entry: number): void {
    const slice = (this.#keys[entry * this.words]! >>> this.#sliceShift) & 0xffff;
    this.#filter[(this.#lens[entry]! << 11) | (slice >>> 5)]! |= 1 << (slice & 31);
  }

  #growEntries(min: number): void {
    let cap = Math.ceil(this.#lens.length * 1.5);
    while (cap < min) cap = Math.ceil(cap * 1.5);
    const keys = new Int32Array(cap * this.words);
    keys.set(this.#keys);
    this.#keys = keys;
    const lens = new Uint8Array(cap).fill(255);
    lens.set(this.#lens);
    this.#lens = lens;
  }

  #relist(): void {
    let n = 0;
    for (let l = 0; l < this.#lenCount.length; l++) if (this.#lenCount[l]! > 0) this.#lengths[n++] = l;
    this.#nLengths = n;
  }
}

/** Smallest power of two holding `n` entries at a load factor ≤ 0.7. */
function slotsFor(n: number): number {
  let slots = 32;
  while (slots * 7 < n * 10) slots *= 2;
  return slots;
}

function hash4(k0: number, k1: number, k2: number, k3: number, len: number): number {
  let h = Math.imul(len + 1, 0x9e3779b1);
  h = Math.imul(h ^ k0, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h ^ k1, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h ^ k2, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h ^ k3, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/** Words of a prefix masked to `len` bits, into `out[0..words)`. */
export function maskWords(k: Int32Array, off: number, words: number, len: number, out: Int32Array): void {
  for (let i = 0; i < words; i++) {
    const bits = len - 32 * i;
    out[i] = bits >= 32 ? k[off + i]! : bits <= 0 ? 0 : k[off + i]! & MASK[bits]!;
  }
}

/** A Prefix6 key's address into 4 words at `out[off..off+4)`; returns its length. */
export function prefix6Words(p: string, out: Int32Array, off = 0): number {
  out[off] = 0;
  out[off + 1] = 0;
  out[off + 2] = 0;
  out[off + 3] = 0;
  const n = p.length - 1 > 16 ? 16 : p.length - 1;
  for (let i = 0; i < n; i++) out[off + (i >> 2)] |= p.charCodeAt(i + 1) << (24 - 8 * (i & 3));
  return p.charCodeAt(0);
}

/** The Prefix6 key of 4 words and a length (host bits already zero). */
export function wordsPrefix6(k: Int32Array, off: number, len: number): string {
  let s = String.fromCharCode(len);
  const n = (len + 7) >> 3;
  for (let i = 0; i < n; i++) s += String.fromCharCode((k[off + (i >> 2)]! >>> (24 - 8 * (i & 3))) & 0xff);
  return s;
}
