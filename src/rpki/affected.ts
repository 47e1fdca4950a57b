/**
 * Which route prefixes a VRP change can affect. A route's state (RFC 6811 §2) depends only on
 * the VRPs that cover it, so after a commit only routes covered by an announced or withdrawn VRP
 * need re-validation: those whose prefix is, or lies inside, a changed VRP's prefix, whatever
 * their length against maxLength (a /25 under a changed /24-max-24 VRP turns Invalid or back).
 *
 * The set holds the changed VRP prefixes (deduplicated, no ASes) in the same typed-array map as
 * the table, so `covers()` costs one probe per distinct changed prefix length, usually a few:
 * a RIB can test each of a million prefixes against a small delta in tens of milliseconds, or
 * walk `prefixes()` against a sorted index of its own.
 */
import type { Prefix4, Prefix6 } from '../bgp/wire/types.js';
import { MASK, maskWords, PrefixMap, prefix6Words, wordsPrefix6 } from './prefix-map.js';

export class AffectedSet {
  #v4 = new PrefixMap(1);
  #v6 = new PrefixMap(4);
  #k = new Int32Array(4);
  #m = new Int32Array(4);
  /** Everything is affected (a full replacement whose diff was not worth computing, or expiry). */
  all = false;

  get size(): number {
    return this.#v4.size + this.#v6.size;
  }

  get empty(): boolean {
    return !this.all && this.size === 0;
  }

  /** Adds a changed VRP's prefix. */
  add(prefix: Prefix4 | Prefix6): void {
    if (typeof prefix === 'number') {
      const addr = Math.floor(prefix / 64);
      this.#k[0] = addr | 0;
      this.#v4.add(this.#k, 0, prefix - addr * 64);
    } else {
      const len = prefix6Words(prefix, this.#k);
      this.#v6.add(this.#k, 0, len);
    }
  }

  /** True when a route with this prefix may have changed state. */
  covers(prefix: Prefix4 | Prefix6): boolean {
    if (this.all) return true;
    if (typeof prefix === 'number') {
      const map = this.#v4;
      const a = Math.floor(prefix / 64);
      const len = prefix - a * 64;
      const addr = a | 0;
      const lengths = map.lengths;
      for (let i = 0; i < map.nLengths; i++) {
        const l = lengths[i]!;
        if (l > len) return false;
        if (map.find1(addr & MASK[l]!, l) >= 0) return true;
      }
      return false;
    }
    const map = this.#v6;
    const len = prefix6Words(prefix, this.#k);
    const lengths = map.lengths;
    for (let i = 0; i < map.nLengths; i++) {
      const l = lengths[i]!;
      if (l > len) return false;
      maskWords(this.#k, 0, 4, l, this.#m);
      if (map.find(this.#m, 0, l) >= 0) return true;
    }
    return false;
  }

  /** Of `prefixes`, those a route may have changed state for. */
  filter<P extends Prefix4 | Prefix6>(prefixes: Iterable<P>): P[] {
    const out: P[] = [];
    for (const p of prefixes) if (this.covers(p)) out.push(p);
    return out;
  }

  /** The changed VRP prefixes (distinct). */
  *prefixes(): Generator<Prefix4 | Prefix6> {
    for (const e of this.#v4.entries()) yield (this.#v4.word(e, 0) >>> 0) * 64 + this.#v4.length(e);
    const w = new Int32Array(4);
    for (const e of this.#v6.entries()) {
      for (let i = 0; i < 4; i++) w[i] = this.#v6.word(e, i);
      yield wordsPrefix6(w, 0, this.#v6.length(e));
    }
  }
}
