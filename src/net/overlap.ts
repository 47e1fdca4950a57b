/**
 * Which earlier prefixes overlap a new one, for the config's checks (inner subnets of tunnels,
 * customers' prefixes): by hashing, not by comparing every pair. Comparing pairs made a config
 * with 10,000 customers take over a minute to check (each pair parsed and masked again), and
 * every reload ran the same checks.
 *
 * Two prefixes overlap when one contains the other: the longer one, cut to the shorter one's
 * length, is the shorter one. The index knows beforehand every prefix length it will hold (a
 * config has a handful: /30, /31, /64, /127, /48 ...). An entry is kept under its own network,
 * and under its network cut to each shorter length in use. A query for P (length L) looks up P cut
 * to each length in use up to L (an entry containing P, or equal to it) and P itself among the
 * cut keys (entries inside P). Cost: the number of lengths in use, per add and per query.
 */
import type { Cidr } from './ip.js';

/**
 * One key per prefix: family, length, then the network (host bits clear) as 16-bit char codes,
 * made in one call. Not for reading: a hex text took a `padStart` and a concatenation per byte,
 * and the index makes a few keys per prefix of a 10,000-customer config.
 */
function keyOf(family: number, bytes: Uint8Array, length: number): string {
  if (family === 4)
    return String.fromCharCode(family, length, word(bytes, length, 0), word(bytes, length, 1));
  return String.fromCharCode(
    family,
    length,
    word(bytes, length, 0),
    word(bytes, length, 1),
    word(bytes, length, 2),
    word(bytes, length, 3),
    word(bytes, length, 4),
    word(bytes, length, 5),
    word(bytes, length, 6),
    word(bytes, length, 7),
  );
}

/** The `j`th 16-bit word of the first `length` bits of `bytes` (0 beyond them). */
function word(bytes: Uint8Array, length: number, j: number): number {
  return (masked(bytes, length, 2 * j) << 8) | masked(bytes, length, 2 * j + 1);
}

function masked(bytes: Uint8Array, length: number, i: number): number {
  const bits = length - i * 8;
  if (bits <= 0) return 0;
  return bits >= 8 ? bytes[i]! : bytes[i]! & (0xff00 >> bits) & 0xff;
}

export class OverlapIndex<T> {
  /** Lengths in use per family, ascending. */
  readonly #lengths = new Map<number, number[]>();
  /** Entries by their own network (a key's number is its place in #first and #more). */
  readonly #exact: StringTable;
  /** Entries by their network cut to each shorter length in use. */
  readonly #inside: StringTable;
  /** The first entry under each key, and the others (most keys have one: no list for it). */
  readonly #first: T[] = [];
  readonly #more: Array<T[] | undefined> = [];

  /**
   * `prefixes`: every prefix the index will be asked about or hold (their lengths are what
   * matter; each length once is enough). `size`: how many entries it will likely hold (default:
   * as many as `prefixes`).
   */
  constructor(prefixes: Iterable<Pick<Cidr, 'family' | 'length'>>, size?: number) {
    const seen = new Map<number, Set<number>>();
    let count = 0;
    for (const p of prefixes) {
      let s = seen.get(p.family);
      if (!s) seen.set(p.family, (s = new Set()));
      s.add(p.length);
      count++;
    }
    for (const [f, s] of seen)
      this.#lengths.set(
        f,
        [...s].sort((a, b) => a - b),
      );
    this.#exact = new StringTable(size ?? count);
    this.#inside = new StringTable(size ?? count);
  }

  #lengthsOf(c: Pick<Cidr, 'family' | 'length'>): number[] {
    const ls = this.#lengths.get(c.family);
    if (!ls?.includes(c.length))
      throw new Error(`OverlapIndex: /${c.length} (IPv${c.family}) was not among the lengths given`);
    return ls;
  }

  add(c: Cidr, value: T): void {
    this.#push(this.#exact, keyOf(c.family, c.bytes, c.length), value);
    for (const l of this.#lengthsOf(c)) {
      if (l >= c.length) break;
      this.#push(this.#inside, keyOf(c.family, c.bytes, l), value);
    }
  }

  #push(table: StringTable, key: string, value: T): void {
    const at = table.claim(key, this.#first.length);
    if (at < 0) {
      this.#first.push(value);
      this.#more.push(undefined);
    } else (this.#more[at] ??= []).push(value);
  }

  #visit(at: number, visit: (value: T) => void): void {
    if (at < 0) return;
    visit(this.#first[at]!);
    const more = this.#more[at];
    if (more) for (const v of more) visit(v);
  }

  /** Every entry that overlaps `c` (contains it, equals it or lies inside it), in no order. */
  overlapping(c: Cidr): T[] {
    const out: T[] = [];
    this.forEachOverlapping(c, (v) => out.push(v));
    return out;
  }

  /** overlapping(c), each entry handed to `visit` (no list built). `c` is read during the call only. */
  forEachOverlapping(c: Cidr, visit: (value: T) => void): void {
    for (const l of this.#lengthsOf(c)) {
      if (l > c.length) break;
      this.#visit(this.#exact.get(keyOf(c.family, c.bytes, l)), visit);
    }
    this.#visit(this.#inside.get(keyOf(c.family, c.bytes, c.length)), visit);
  }
}

/**
 * Strings to numbers (an index into the caller's own arrays), by open addressing in a typed
 * array. A V8 Map or Set cost here several times as much per entry (each insert into a growing
 * table), and the config's checks make one or two per entry of 10,000 tunnels and neighbors:
 * for the duplicate checks (config/checks.ts) as for the index above.
 */
export class StringTable {
  #keys: string[] = [];
  #values: number[] = [];
  /** Per slot, the position in #keys + 1; 0: empty. */
  #slots: Int32Array;

  /** `expected`: how many keys it will likely hold (it grows past that). */
  constructor(expected = 8) {
    let size = 16;
    while (size < expected * 2) size *= 2;
    this.#slots = new Int32Array(size);
  }

  get size(): number {
    return this.#keys.length;
  }

  /** The number stored for `key`, or -1. */
  get(key: string): number {
    const at = this.#find(key);
    return at < 0 ? -1 : this.#values[at]!;
  }

  set(key: string, value: number): void {
    this.#store(key, value, true);
  }

  /** set(key, value), returning the number it replaces, or -1: one lookup for both. */
  put(key: string, value: number): number {
    return this.#store(key, value, true);
  }

  /** The number stored for `key`; or, when there is none, -1 after storing `value`. */
  claim(key: string, value: number): number {
    return this.#store(key, value, false);
  }

  #store(key: string, value: number, replace: boolean): number {
    const slots = this.#slots;
    const mask = slots.length - 1;
    let s = hash(key) & mask;
    for (let at = slots[s]!; at !== 0; s = (s + 1) & mask, at = slots[s]!) {
      if (this.#keys[at - 1] !== key) continue;
      const was = this.#values[at - 1]!;
      if (replace) this.#values[at - 1] = value;
      return was;
    }
    this.#keys.push(key);
    this.#values.push(value);
    slots[s] = this.#keys.length;
    if (this.#keys.length * 2 > slots.length) this.#grow();
    return -1;
  }

  /** The position of `key` in #keys, or -1. */
  #find(key: string): number {
    const slots = this.#slots;
    const mask = slots.length - 1;
    for (let s = hash(key) & mask; ; s = (s + 1) & mask) {
      const at = slots[s]!;
      if (at === 0) return -1;
      if (this.#keys[at - 1] === key) return at - 1;
    }
  }

  #place(key: string, position: number): void {
    const slots = this.#slots;
    const mask = slots.length - 1;
    let s = hash(key) & mask;
    while (slots[s] !== 0) s = (s + 1) & mask;
    slots[s] = position;
  }

  #grow(): void {
    this.#slots = new Int32Array(this.#slots.length * 2);
    for (let i = 0; i < this.#keys.length; i++) this.#place(this.#keys[i]!, i + 1);
  }
}

/** FNV-1a over the UTF-16 code units. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
