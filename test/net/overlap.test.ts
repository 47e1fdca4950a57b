/**
 * OverlapIndex (src/net/overlap.ts) against the pairwise definition (net/ip.ts `overlaps`):
 * random IPv4 and IPv6 prefixes of a few lengths, nested and disjoint, every query answered
 * with exactly the entries that overlap it.
 */
import t from 'tap';
import { type Cidr, maskBytes, overlaps } from '../../src/net/ip.js';
import { OverlapIndex } from '../../src/net/overlap.js';
import { prng as rng } from '../prng.js';

function prefixes(n: number, seed: number): Cidr[] {
  const r = rng(seed);
  const out: Cidr[] = [];
  for (let i = 0; i < n; i++) {
    const v6 = r() < 0.5;
    const bytes = new Uint8Array(v6 ? 16 : 4);
    // Few distinct high bytes: plenty of nesting and equal prefixes.
    bytes[0] = v6 ? 0x20 : 10;
    bytes[1] = Math.floor(r() * 4);
    bytes[2] = Math.floor(r() * 4);
    for (let b = 3; b < bytes.length; b++) bytes[b] = Math.floor(r() * 256);
    const lengths = v6 ? [32, 48, 64, 127] : [8, 16, 22, 30, 31];
    const length = lengths[Math.floor(r() * lengths.length)]!;
    out.push({ family: v6 ? 6 : 4, bytes: maskBytes(bytes, length), length });
  }
  return out;
}

t.test('the same answers as comparing every pair', async (t) => {
  for (const seed of [1, 2, 3]) {
    const all = prefixes(600, seed);
    const held = all.slice(0, 400);
    const idx = new OverlapIndex<number>(all);
    for (const [i, c] of held.entries()) idx.add(c, i);
    let hits = 0;
    let mismatches = 0;
    for (const q of all) {
      const want = held.flatMap((c, i) => (overlaps(c, q) ? [i] : [])).sort((a, b) => a - b);
      const got = idx.overlapping(q).sort((a, b) => a - b);
      hits += want.length;
      if (want.join() !== got.join()) mismatches++;
    }
    t.equal(mismatches, 0, `seed ${seed}: every one of ${all.length} queries (${hits} overlaps in all)`);
    t.ok(hits > all.length, 'the set has nesting and repeats to find');
  }
});

t.test('a length not announced is a programming error, said', async (t) => {
  const idx = new OverlapIndex<number>([{ family: 4, length: 24 }]);
  t.throws(
    () => idx.overlapping({ family: 4, bytes: Uint8Array.of(10, 0, 0, 0), length: 16 }),
    /\/16 \(IPv4\) was not among the lengths given/,
  );
});
