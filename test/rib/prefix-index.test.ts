// The IPv4 open-addressing index against a Map under seeded random insert/remove churn,
// including growth and backward-shift deletion; the IPv6 Map index for the same contract.
import t from 'tap';
import { KeyIndex4, KeyIndex6 } from '../../src/rib/prefix-index.js';

const seed = Number(process.env.RIB_SEED ?? Math.floor(Math.random() * 2 ** 31));
t.comment(`seed ${seed} (RIB_SEED=${seed} to replay)`);
let s = seed >>> 0 || 1;
function rnd(n: number): number {
  s ^= s << 13;
  s ^= s >>> 17;
  s ^= s << 5;
  return (s >>> 0) % n;
}

t.test(`KeyIndex4 matches a Map (seed ${seed})`, async (t) => {
  const idx = new KeyIndex4(4);
  const ref = new Map<number, number>();
  // A small key space so removals hit long probe chains.
  const keyOf = () => (0x0a000000 + rnd(3000) * 256) * 64 + 24;
  let bad = 0;
  for (let i = 0; i < 60000 && bad === 0; i++) {
    const k = keyOf();
    if (rnd(3) === 0 && ref.has(k)) {
      idx.remove(ref.get(k)!);
      ref.delete(k);
    } else {
      const e = idx.findOrAdd(k);
      if (ref.has(k) && ref.get(k) !== e) bad++;
      ref.set(k, e);
    }
    if (i % 997 === 0) {
      for (const [rk, re] of ref) if (idx.find(rk) !== re || idx.key(re) !== rk) bad++;
      if (idx.size !== ref.size) bad++;
    }
  }
  t.equal(bad, 0);
  t.equal(idx.size, ref.size);
  t.same(new Set(idx.entries()), new Set(ref.values()));
  for (const e of ref.values()) idx.remove(e);
  t.equal(idx.size, 0);
  t.equal(idx.find(0x0a000000 * 64 + 24), -1);
});

t.test('KeyIndex6 reuses ids and finds keys', async (t) => {
  const idx = new KeyIndex6();
  const a = idx.findOrAdd('\x30\x20\x01\x0d\xb8\x00\x01');
  t.equal(idx.findOrAdd('\x30\x20\x01\x0d\xb8\x00\x01'), a);
  idx.remove(a);
  t.equal(idx.find('\x30\x20\x01\x0d\xb8\x00\x01'), -1);
  t.equal(idx.findOrAdd('\x20\x20\x01\x0d\xb8'), a, 'freed id reused');
  t.equal(idx.key(a), '\x20\x20\x01\x0d\xb8');
});
