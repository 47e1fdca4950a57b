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

/** `family/length/hex of the masked network`: one key per prefix. */
function keyOf(family: number, bytes: Uint8Array, length: number): string {
  let s = `${family}/${length}/`;
  const full = length >> 3;
  for (let i = 0; i < full; i++) s += bytes[i]!.toString(16).padStart(2, '0');
  const bits = length & 7;
  if (bits > 0) s += (bytes[full]! & (0xff00 >> bits)).toString(16).padStart(2, '0');
  return s;
}

export class OverlapIndex<T> {
  /** Lengths in use per family, ascending. */
  readonly #lengths = new Map<number, number[]>();
  /** Entries by their own network. */
  readonly #exact = new Map<string, T[]>();
  /** Entries by their network cut to each shorter length in use. */
  readonly #inside = new Map<string, T[]>();

  /** `prefixes`: every prefix the index will be asked about or hold (their lengths are what matter). */
  constructor(prefixes: Iterable<Pick<Cidr, 'family' | 'length'>>) {
    const seen = new Map<number, Set<number>>();
    for (const p of prefixes) {
      let s = seen.get(p.family);
      if (!s) seen.set(p.family, (s = new Set()));
      s.add(p.length);
    }
    for (const [f, s] of seen)
      this.#lengths.set(
        f,
        [...s].sort((a, b) => a - b),
      );
  }

  #lengthsOf(c: Pick<Cidr, 'family' | 'length'>): number[] {
    const ls = this.#lengths.get(c.family);
    if (!ls?.includes(c.length))
      throw new Error(`OverlapIndex: /${c.length} (IPv${c.family}) was not among the lengths given`);
    return ls;
  }

  add(c: Cidr, value: T): void {
    const push = (m: Map<string, T[]>, k: string) => {
      const l = m.get(k);
      if (l) l.push(value);
      else m.set(k, [value]);
    };
    push(this.#exact, keyOf(c.family, c.bytes, c.length));
    for (const l of this.#lengthsOf(c)) {
      if (l >= c.length) break;
      push(this.#inside, keyOf(c.family, c.bytes, l));
    }
  }

  /** Every entry that overlaps `c` (contains it, equals it or lies inside it), in no order. */
  overlapping(c: Cidr): T[] {
    const out: T[] = [];
    for (const l of this.#lengthsOf(c)) {
      if (l > c.length) break;
      const hit = this.#exact.get(keyOf(c.family, c.bytes, l));
      if (hit) out.push(...hit);
    }
    const inside = this.#inside.get(keyOf(c.family, c.bytes, c.length));
    if (inside) out.push(...inside);
    return out;
  }
}
