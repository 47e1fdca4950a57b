/**
 * The native LPM tables (DIR-24-8 for IPv4, 4-bit trie for IPv6) against a naive reference,
 * with random inserts and removals. Prints its seed; replay with GREDGE_SEED=<seed>.
 */
import t from 'tap';
import { loadNative } from '../../src/dataplane/native.js';
import { rng } from './packets.js';

const dbg = loadNative().debug;

interface R {
  fam: 4 | 6;
  len: number;
  addr: Uint8Array; // 16 bytes (IPv4 in the first 4)
  idx: number;
}

function mask(a: Uint8Array, len: number): Uint8Array {
  const o = Uint8Array.from(a);
  for (let i = 0; i < 16; i++) {
    const bits = len - i * 8;
    if (bits < 8) o[i] = bits <= 0 ? 0 : o[i]! & (0xff00 >> bits);
  }
  return o;
}
const key = (r: { fam: number; len: number; addr: Uint8Array }) => `${r.fam}|${r.len}|${r.addr.join('.')}`;

function pack(rs: R[]): Uint8Array {
  const out = new Uint8Array(rs.length * 24);
  const dv = new DataView(out.buffer);
  rs.forEach((r, i) => {
    out[i * 24] = r.fam;
    out[i * 24 + 1] = r.len;
    dv.setUint32(i * 24 + 4, r.idx, true);
    out.set(r.fam === 4 ? r.addr.subarray(0, 4) : r.addr, i * 24 + 8);
  });
  return out;
}

function reference(table: Map<string, R>, fam: 4 | 6, q: Uint8Array): number {
  const max = fam === 4 ? 32 : 128;
  for (let l = max; l >= 0; l--) {
    const r = table.get(key({ fam, len: l, addr: mask(q, l) }));
    if (r) return r.idx;
  }
  return -1;
}

t.test('LPM matches a naive reference under random inserts and removals', async (t) => {
  const seed = Number(process.env.GREDGE_SEED ?? Date.now() % 1e9);
  t.comment(`seed ${seed}`);
  const rand = rng(seed);
  // Addresses from a small pool of "clusters" so that prefixes overlap a lot.
  const bases = Array.from({ length: 6 }, () =>
    Uint8Array.from({ length: 16 }, () => Math.floor(rand() * 256)),
  );
  const randAddr = (): Uint8Array => {
    const a = Uint8Array.from(bases[Math.floor(rand() * bases.length)]!);
    const from = Math.floor(rand() * 16);
    for (let i = from; i < 16; i++) if (rand() < 0.3) a[i] = Math.floor(rand() * 256);
    if (rand() < 0.5) a[2]! ^= Math.floor(rand() * 4);
    return a;
  };
  const table = new Map<string, R>();
  const inserts: R[] = [];
  for (let i = 0; i < 3000; i++) {
    const fam: 4 | 6 = rand() < 0.5 ? 4 : 6;
    const max = fam === 4 ? 32 : 128;
    const len = rand() < 0.1 ? Math.floor(rand() * 9) : Math.floor(rand() * (max + 1));
    const a = randAddr();
    if (fam === 4) a.fill(0, 4);
    const r: R = { fam, len, addr: mask(a, len), idx: Math.floor(rand() * 1000) };
    inserts.push(r);
    table.set(key(r), r);
  }
  const removals: R[] = [];
  for (const r of [...table.values()]) {
    if (rand() < 0.4) {
      removals.push(r);
      table.delete(key(r));
    }
  }
  const queries: { fam: 4 | 6; a: Uint8Array }[] = [];
  for (let i = 0; i < 20000; i++) {
    const fam: 4 | 6 = rand() < 0.5 ? 4 : 6;
    const a = randAddr();
    if (fam === 4) a.fill(0, 4);
    queries.push({ fam, a });
  }
  const q = new Uint8Array(queries.length * 17);
  queries.forEach((x, i) => {
    q[i * 17] = x.fam;
    q.set(x.fam === 4 ? x.a.subarray(0, 4) : x.a, i * 17 + 1);
  });
  const got = dbg.lpmCheck(pack(inserts), pack(removals), q);
  let bad = 0;
  queries.forEach((x, i) => {
    const want = reference(table, x.fam, x.a);
    if (got[i] !== want && bad++ < 5) t.fail(`query ${x.fam} ${x.a.join('.')}: got ${got[i]}, want ${want}`);
  });
  t.equal(bad, 0, `${queries.length} lookups agree (seed ${seed})`);
});

t.test('LPM edge cases: default route, /32 and /128 hosts, removal restores the cover', async (t) => {
  const z = new Uint8Array(16);
  const host = Uint8Array.from([203, 0, 113, 7, ...new Array(12).fill(0)]);
  const routes: R[] = [
    { fam: 4, len: 0, addr: z, idx: 1 },
    { fam: 4, len: 24, addr: mask(host, 24), idx: 2 },
    { fam: 4, len: 32, addr: host, idx: 3 },
    { fam: 4, len: 26, addr: mask(host, 26), idx: 4 },
    { fam: 6, len: 0, addr: z, idx: 5 },
    { fam: 6, len: 128, addr: Uint8Array.from([0x20, 1, 0xd, 0xb8, ...new Array(11).fill(0), 1]), idx: 6 },
  ];
  const q = (fam: number, a: number[]) => Uint8Array.from([fam, ...a]);
  const queries = [
    q(4, [203, 0, 113, 7]),
    q(4, [203, 0, 113, 8]),
    q(4, [203, 0, 113, 200]),
    q(4, [8, 8, 8, 8]),
    q(6, [0x20, 1, 0xd, 0xb8, ...new Array(11).fill(0), 1]),
    q(6, [0x20, 1, 0xd, 0xb8, ...new Array(11).fill(0), 2]),
  ];
  const flat = new Uint8Array(queries.length * 17);
  queries.forEach((x, i) => {
    flat.set(x, i * 17);
  });
  t.same([...dbg.lpmCheck(pack(routes), new Uint8Array(0), flat)], [3, 4, 2, 1, 6, 5]);
  // Remove the /32 and the /26: 203.0.113.7 falls back to the /24.
  t.same([...dbg.lpmCheck(pack(routes), pack([routes[2]!, routes[3]!]), flat)], [2, 2, 2, 1, 6, 5]);
});

t.test('IPv6 trie nodes are given back on removal and reused (churn vs reference)', async (t) => {
  const seed = Number(process.env.GREDGE_SEED ?? Date.now() % 1e9);
  t.comment(`seed ${seed}`);
  const rand = rng(seed);
  const mk = (): R => {
    const a = Uint8Array.from({ length: 16 }, () => Math.floor(rand() * 256));
    a[0] = 0x20;
    a[1] = 0x01;
    const len = 16 + Math.floor(rand() * 113);
    return { fam: 6, len, addr: mask(a, len), idx: Math.floor(rand() * 500) };
  };
  const first = Array.from({ length: 2000 }, mk);
  const all = new Map(first.map((r) => [key(r), r]));
  const stats: { v6NodesAfterInsert?: number; v6NodesAfterRemove?: number } = {};
  dbg.lpmCheck(pack([...all.values()]), pack([...all.values()]), new Uint8Array(0), stats);
  t.ok(stats.v6NodesAfterInsert! > 2000, `${stats.v6NodesAfterInsert} nodes for 2000 routes`);
  t.equal(stats.v6NodesAfterRemove, 1, 'removing every route leaves only the root');

  // Remove half, insert new ones into the freed nodes, compare every lookup with the reference.
  const removed = [...all.values()].filter(() => rand() < 0.5);
  const table = new Map(all);
  for (const r of removed) table.delete(key(r));
  const again = Array.from({ length: 1500 }, mk);
  for (const r of again) table.set(key(r), r);
  const queries: Uint8Array[] = [];
  for (const r of [...all.values(), ...again]) {
    const a = Uint8Array.from(r.addr);
    if (rand() < 0.5) a[15] = Math.floor(rand() * 256);
    queries.push(a);
  }
  const q = new Uint8Array(queries.length * 17);
  queries.forEach((a, i) => {
    q[i * 17] = 6;
    q.set(a, i * 17 + 1);
  });
  const st2: { v6NodesAfterRemove?: number; v6NodesAfterInsert?: number } = {};
  const got = dbg.lpmCheck(pack([...all.values()]), pack(removed), q, st2, pack(again));
  t.ok(st2.v6NodesAfterRemove! < st2.v6NodesAfterInsert!, 'removal freed nodes');
  let bad = 0;
  queries.forEach((a, i) => {
    const want = reference(table, 6, a);
    if (got[i] !== want && bad++ < 5) t.fail(`query ${a.join('.')}: got ${got[i]}, want ${want}`);
  });
  t.equal(bad, 0, `${queries.length} lookups agree after churn (seed ${seed})`);
});

t.test('IPv4 exact-match map survives heavy churn (backward-shift deletion)', async (t) => {
  const seed = Number(process.env.GREDGE_SEED ?? Date.now() % 1e9);
  t.comment(`seed ${seed}`);
  const rand = rng(seed);
  const mk = (): R => {
    const a = new Uint8Array(16);
    for (let i = 0; i < 4; i++) a[i] = Math.floor(rand() * 256);
    a[0] = 10 + Math.floor(rand() * 4); // dense: many collisions in probe runs
    const len = 8 + Math.floor(rand() * 25);
    return { fam: 4, len, addr: mask(a, len), idx: Math.floor(rand() * 500) };
  };
  const first = Array.from({ length: 20000 }, mk);
  const all = new Map(first.map((r) => [key(r), r]));
  const removed = [...all.values()].filter(() => rand() < 0.7);
  const table = new Map(all);
  for (const r of removed) table.delete(key(r));
  const again = Array.from({ length: 5000 }, mk);
  for (const r of again) table.set(key(r), r);
  const survivors = [...table.values()];
  // After re-inserts, removing each survivor must uncover exactly its reference cover.
  const queries = survivors.slice(0, 3000).map((r) => {
    const a = Uint8Array.from(r.addr.subarray(0, 4));
    return a;
  });
  const q = new Uint8Array(queries.length * 17);
  queries.forEach((a, i) => {
    q[i * 17] = 4;
    q.set(a, i * 17 + 1);
  });
  const st: { v4Routes?: number } = {};
  const got = dbg.lpmCheck(pack([...all.values()]), pack(removed), q, st, pack(again));
  t.equal(st.v4Routes, all.size - removed.length, 'route count after removals');
  let bad = 0;
  queries.forEach((a, i) => {
    const want = reference(table, 4, Uint8Array.from([...a, ...new Array(12).fill(0)]));
    if (got[i] !== want && bad++ < 5) t.fail(`query ${a.join('.')}: got ${got[i]}, want ${want}`);
  });
  t.equal(bad, 0, `${queries.length} lookups agree (seed ${seed})`);
});
