/**
 * VRP table benchmark (not a test): loads a synthetic full RPKI (default 700,000 VRPs, 80 %
 * IPv4, lengths and max lengths shaped like today's table), prints the bytes held per VRP, then
 * validates a synthetic 1M-route table (85 % IPv4; about half the routes inside some VRP, with
 * the right origin, a wrong one, or too long) and prints the rate; finally the cost of finding
 * the routes a 100-VRP delta affects. Seeded: the same figures on every run of one machine.
 *
 *   node dist/bench/rpki/run.js [--vrps N] [--routes N] [--seed S]
 */
import { AffectedSet } from '../../src/rpki/affected.js';
import type { Vrp } from '../../src/rpki/types.js';
import { VrpTable } from '../../src/rpki/vrp-table.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

const VRPS = arg('vrps', 700_000);
const ROUTES = arg('routes', 1_000_000);
const SEED = arg('seed', 1);

/** mulberry32 */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rand = rng(SEED);
const pick = <T>(xs: readonly [number, T][]): T => {
  let r = rand();
  for (const [w, x] of xs) {
    if (r < w) return x;
    r -= w;
  }
  return xs[xs.length - 1]![1];
};
const mask4 = (len: number): number => (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0);

// Shapes of today's table (rpki-client output, 2025): IPv4 mostly /24 and /22–/20, a minority
// with maxLength above length; IPv6 mostly /48, /32, /29, /44, many with maxLength 48.
const LEN4: [number, number][] = [
  [0.55, 24],
  [0.12, 22],
  [0.1, 23],
  [0.08, 21],
  [0.07, 20],
  [0.04, 19],
  [0.02, 18],
  [0.02, 16],
];
const LEN6: [number, number][] = [
  [0.45, 48],
  [0.2, 32],
  [0.1, 29],
  [0.1, 44],
  [0.05, 40],
  [0.05, 36],
  [0.05, 46],
];

function v6key(len: number, hi: number, lo: number): string {
  // 2000::/3 space: first word 0x2000_0000–0x3fff_ffff, second word random.
  const w = [hi, lo];
  let s = String.fromCharCode(len);
  const n = (len + 7) >> 3;
  for (let i = 0; i < n; i++) {
    let b = i < 8 ? (w[i >> 2]! >>> (24 - 8 * (i & 3))) & 0xff : 0;
    if (i === n - 1 && (len & 7) !== 0) b &= (0xff << (8 - (len & 7))) & 0xff;
    s += String.fromCharCode(b);
  }
  return s;
}

function masked64(len: number): [number, number] {
  const hi = (0x20000000 | Math.floor(rand() * 0x1fffffff)) >>> 0;
  const lo = Math.floor(rand() * 0x100000000) >>> 0;
  const mhi = len >= 32 ? hi : (hi & mask4(len)) >>> 0;
  const mlo = len >= 64 ? lo : len <= 32 ? 0 : (lo & mask4(len - 32)) >>> 0;
  return [mhi, mlo];
}

const vrps: Vrp[] = [];
const n4 = Math.round(VRPS * 0.8);
for (let i = 0; i < VRPS; i++) {
  if (i < n4) {
    const len = pick(LEN4);
    const addr = (Math.floor(rand() * 0xdfffffff) & mask4(len)) >>> 0;
    const maxLength = rand() < 0.8 ? len : Math.min(24, len + 1 + Math.floor(rand() * (24 - len + 1)));
    vrps.push({
      prefix: addr * 64 + len,
      maxLength: Math.max(len, maxLength),
      asn: 1 + Math.floor(rand() * 400_000),
    });
  } else {
    const len = pick(LEN6);
    const [hi, lo] = masked64(len);
    const maxLength = rand() < 0.6 ? len : 48;
    vrps.push({
      prefix: v6key(len, hi, lo),
      maxLength: Math.max(len, maxLength),
      asn: 1 + Math.floor(rand() * 400_000),
    });
  }
}

// Routes: for half, a VRP's prefix or a more specific of it, origin right 70 % of the time.
const routes4: number[] = [];
const origins4: number[] = [];
const routes6: string[] = [];
const origins6: number[] = [];
for (let i = 0; i < ROUTES; i++) {
  const v4 = i < ROUTES * 0.85;
  if (rand() < 0.5) {
    const v = vrps[v4 ? Math.floor(rand() * n4) : n4 + Math.floor(rand() * (VRPS - n4))]!;
    const origin = rand() < 0.7 ? v.asn : 64512 + Math.floor(rand() * 1000);
    if (typeof v.prefix === 'number') {
      const len = v.prefix % 64;
      const rlen = rand() < 0.8 ? len : Math.min(24, len + Math.floor(rand() * 4));
      const addr =
        Math.floor(v.prefix / 64) +
        (((Math.floor(rand() * 2 ** (32 - len)) & mask4(rlen)) >>> 0) % 2 ** (32 - len));
      routes4.push(((addr & mask4(rlen)) >>> 0) * 64 + rlen);
      origins4.push(origin);
    } else {
      routes6.push(v.prefix);
      origins6.push(origin);
    }
  } else if (v4) {
    const len = pick(LEN4);
    routes4.push(((Math.floor(rand() * 0xdfffffff) & mask4(len)) >>> 0) * 64 + len);
    origins4.push(1 + Math.floor(rand() * 400_000));
  } else {
    const len = pick(LEN6);
    const [hi, lo] = masked64(len);
    routes6.push(v6key(len, hi, lo));
    origins6.push(1 + Math.floor(rand() * 400_000));
  }
}

// The measured loops live in functions: V8 optimizes module top-level code poorly.
function load(list: Vrp[]): VrpTable {
  const t = new VrpTable();
  for (let i = 0; i < list.length; i++) t.add(list[i]!);
  return t;
}

function validateAll(t: VrpTable, counts: Int32Array): void {
  for (let i = 0; i < routes4.length; i++) {
    const s = t.validate4(routes4[i]!, origins4[i]!);
    counts[s === 'valid' ? 0 : s === 'invalid' ? 1 : 2]!++;
  }
  for (let i = 0; i < routes6.length; i++) {
    const s = t.validate6(routes6[i]!, origins6[i]!);
    counts[s === 'valid' ? 0 : s === 'invalid' ? 1 : 2]!++;
  }
}

function scan(a: AffectedSet): number {
  let hit = 0;
  for (let i = 0; i < routes4.length; i++) if (a.covers(routes4[i]!)) hit++;
  for (let i = 0; i < routes6.length; i++) if (a.covers(routes6[i]!)) hit++;
  return hit;
}

const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
const before = process.memoryUsage();
let t0 = performance.now();
const table = load(vrps);
const loadMs = performance.now() - t0;
gc?.();
const after = process.memoryUsage();

const counts = new Int32Array(3);
let best = Number.POSITIVE_INFINITY;
for (let run = 0; run < 5; run++) {
  counts.fill(0);
  t0 = performance.now();
  validateAll(table, counts);
  best = Math.min(best, performance.now() - t0);
}

// A delta of 100 VRPs: which of the 1M routes need re-validation.
const affected = new AffectedSet();
for (let i = 0; i < 100; i++) affected.add(vrps[Math.floor(rand() * VRPS)]!.prefix);
let affectedMs = Number.POSITIVE_INFINITY;
let hit = 0;
for (let run = 0; run < 5; run++) {
  t0 = performance.now();
  hit = scan(affected);
  affectedMs = Math.min(affectedMs, performance.now() - t0);
}

const bytes = table.bytes();
const out = {
  vrps: table.size,
  vrps4: table.size4,
  vrps6: table.size6,
  loadMs: Math.round(loadMs),
  typedArrayBytes: bytes,
  bytesPerVrp: +(bytes / table.size).toFixed(1),
  arrayBuffersDeltaBytes: after.arrayBuffers - before.arrayBuffers,
  heapUsedDeltaBytes: gc ? after.heapUsed - before.heapUsed : undefined,
  routes: routes4.length + routes6.length,
  routes4: routes4.length,
  routes6: routes6.length,
  validateMs: Math.round(best),
  routesPerSecond: Math.round(((routes4.length + routes6.length) / best) * 1000),
  states: { valid: counts[0], invalid: counts[1], notFound: counts[2] },
  affectedDeltaVrps: 100,
  affectedRoutes: hit,
  affectedScanMs: Math.round(affectedMs),
};
console.log(JSON.stringify(out, null, 2));
