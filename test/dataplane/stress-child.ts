/**
 * Child process of stress-race.test.ts (run as `ip netns exec NS node stress-child.js MODE JSON`).
 *   flood:  sends small UDP datagrams to `dsts` (round robin, `batch` per turn of the event loop)
 *           until stdin ends, then prints {"event":"done","sent":N}. Traffic for the TUN.
 *   stress: opens the native data plane (the addon's own handle: every index and counter slot is
 *           visible) and, for `ms` milliseconds, adds, replaces and removes tunnels and adds and
 *           removes LPM routes from this (JS) thread with a seeded PRNG (after "ready", from the
 *           test's first stdin line on; "churned" at the end), while the workers
 *           forward the floods and the keepalive and paths threads run. Then it brings the
 *           tables (after a second stdin line) to a known final state, waits for the counters to stand still and prints
 *           {"event":"result", ...}: the model's expectations next to what the addon reports.
 * Addresses: underlay 198.51.100.0/24; inner 203.0.113.0/24 and 2001:db8:ff::/48 (a → b),
 * 192.0.2.0/24 (b → a).
 */
import { createSocket } from 'node:dgram';
import { CounterReader, DROP_REASONS } from '../../src/dataplane/counters.js';
import { loadNative, type NativeDataplaneHandle } from '../../src/dataplane/native.js';
import { planTunnel, type TunnelSpec } from '../../src/dataplane/tunnels.js';

const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const [mode, json] = process.argv.slice(2);

interface FloodCfg {
  dsts: string[];
  batch: number;
}

/** Floods until stdin ends (the test ends it once the churn is over). */
async function flood(cfg: FloodCfg): Promise<void> {
  const s4 = createSocket('udp4');
  const s6 = createSocket('udp6');
  const payload = Buffer.alloc(32, 0x5a);
  let sent = 0;
  let stop = false;
  process.stdin.on('end', () => {
    stop = true;
  });
  process.stdin.resume();
  let i = 0;
  out({ event: 'started' });
  while (!stop) {
    for (let k = 0; k < cfg.batch; k++, i++) {
      const d = cfg.dsts[i % cfg.dsts.length]!;
      const s = d.includes(':') ? s6 : s4;
      // Errors (no route for a moment, a full buffer) only make this a lighter flood.
      s.send(payload, 9000 + (i % 64), d, () => {});
      sent++;
    }
    await new Promise<void>((r) => setImmediate(r));
  }
  await sleep(50);
  s4.close();
  s6.close();
  out({ event: 'done', sent });
}

/** The next line on stdin (the test's go-ahead). */
function nextLine(): Promise<string> {
  return new Promise((res) => {
    let buf = '';
    const on = (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      process.stdin.off('data', on);
      process.stdin.pause();
      res(buf.slice(0, nl));
    };
    process.stdin.on('data', on);
    process.stdin.resume();
  });
}

/** Small deterministic PRNG (mulberry32): the seed is printed by the test. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Prefix {
  family: 4 | 6;
  bytes: number[]; // 4 or 16
  len: number;
}

function pfxKey(p: Prefix): string {
  return `${p.bytes.join('.')}/${p.len}`;
}

function covers(p: Prefix, addr: number[]): boolean {
  if (p.bytes.length !== addr.length) return false;
  for (let bit = 0; bit < p.len; bit++) {
    const m = 0x80 >> (bit % 8);
    if ((p.bytes[bit >> 3]! & m) !== (addr[bit >> 3]! & m)) return false;
  }
  return true;
}

function pack(recs: Array<[Prefix, number]>): Uint8Array {
  const buf = new Uint8Array(recs.length * 24);
  const dv = new DataView(buf.buffer);
  recs.forEach(([p, idx], i) => {
    const o = i * 24;
    buf[o] = p.family;
    buf[o + 1] = p.len;
    dv.setUint32(o + 4, idx, true);
    buf.set(p.bytes, o + 8);
  });
  return buf;
}

interface StressCfg {
  seed: number;
  ms: number;
  tun: string;
  workers: number;
  /** keys b has tunnels for (b → a traffic carries these) */
  keys: number[];
}

async function stress(cfg: StressCfg): Promise<void> {
  const rnd = prng(cfg.seed);
  const pick = <T>(a: T[]): T => a[Math.floor(rnd() * a.length)]!;
  const native = loadNative();
  const events: Array<[number, boolean]> = [];
  const h: NativeDataplaneHandle = new native.NativeDataplane(
    {
      tun: cfg.tun,
      workers: cfg.workers,
      mtu: 1500,
      persistent: false,
      offload: true,
      directTx: true,
      local4: Uint8Array.from([198, 51, 100, 1]),
    },
    (idx, up) => events.push([idx, up]),
  );
  const reader = new CounterReader(h.counters());
  // Kernel routes that bring the floods to the TUN (the FIB's job in gredged).
  h.route(true, 4, Uint8Array.from([203, 0, 113, 0]), 24);
  h.route(true, 6, Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0xff, ...new Array(10).fill(0)]), 48);

  const tunnels = new Map<string, { index: number; key: number; ka: boolean }>();
  const routes = new Map<string, { p: Prefix; tunnel: string }>();
  let maxIndex = 0;
  const ops = { add: 0, replace: 0, remove: 0, routesAdded: 0, routesRemoved: 0, reusedIndex: 0 };
  const everUsed = new Set<number>();

  const spec = (name: string, key: number, ka: boolean, mtu = 1472): TunnelSpec => ({
    name,
    remote: '198.51.100.2',
    key,
    mtu,
    allowedSources: ['198.51.100.0/24', '2001:db8:100::/64'],
    ...(ka ? { keepalive: { interval: 0.1, retries: 3 } } : {}),
  });
  const addTunnel = (name: string, key: number, ka: boolean) => {
    const plan = planTunnel(spec(name, key, ka), { local: '198.51.100.1' });
    const index = h.addTunnel(plan.native);
    if (everUsed.has(index)) ops.reusedIndex++;
    everUsed.add(index);
    maxIndex = Math.max(maxIndex, index);
    tunnels.set(name, { index, key, ka });
    ops.add++;
  };
  const removeTunnel = (name: string) => {
    const t = tunnels.get(name)!;
    h.removeTunnel(t.index);
    tunnels.delete(name);
    // The addon drops every LPM route into the tunnel with it.
    for (const [k, r] of routes) if (r.tunnel === name) routes.delete(k);
    ops.remove++;
  };
  const freeKey = (): number | undefined => {
    const used = new Set([...tunnels.values()].map((t) => t.key));
    const free = cfg.keys.concat([101, 102, 103, 104, 105, 106]).filter((k) => !used.has(k));
    return free.length ? pick(free) : undefined;
  };
  const randPrefix = (): Prefix => {
    if (rnd() < 0.7) {
      const len = pick([16, 20, 24, 24, 25, 26, 28, 30, 32, 32]);
      const a = [203, 0, 113, Math.floor(rnd() * 256)];
      // Lengths under 24 cover 203.0.113.0/24 from outside it; all stay inside documentation space
      // only when masked: keep the first three bytes, mask the rest.
      const p: Prefix = { family: 4, bytes: a, len: Math.max(len, 24) };
      for (let bit = p.len; bit < 32; bit++) p.bytes[bit >> 3]! &= ~(0x80 >> (bit % 8));
      return p;
    }
    const len = pick([48, 52, 56, 60, 64, 96, 128]);
    const b = [0x20, 0x01, 0x0d, 0xb8, 0, 0xff, ...Array.from({ length: 10 }, () => Math.floor(rnd() * 4))];
    for (let bit = len; bit < 128; bit++) b[bit >> 3]! &= ~(0x80 >> (bit % 8));
    return { family: 6, bytes: b, len };
  };

  let n = 0;
  for (let i = 0; i < 6; i++) addTunnel(`t${n++}`, cfg.keys[i % cfg.keys.length]!, i < 2);
  // The floods start once the TUN and its kernel routes exist; the churn once they run.
  out({ event: 'ready' });
  await nextLine();
  const end = Date.now() + cfg.ms;
  let steps = 0;
  while (Date.now() < end) {
    const r = rnd();
    const names = [...tunnels.keys()];
    if (r < 0.2 && tunnels.size < 24) {
      const k = freeKey();
      if (k !== undefined) addTunnel(`t${n++}`, k, rnd() < 0.3);
    } else if (r < 0.35 && tunnels.size > 2) {
      removeTunnel(pick(names));
    } else if (r < 0.45 && names.length) {
      // Replace in place: a new key (decap index changes) or only a new MTU.
      const name = pick(names);
      const t = tunnels.get(name)!;
      const k = rnd() < 0.5 ? freeKey() : undefined;
      const key = k ?? t.key;
      h.replaceTunnel(
        t.index,
        planTunnel(spec(name, key, t.ka, 1400 + Math.floor(rnd() * 72)), { local: '198.51.100.1' }).native,
      );
      t.key = key;
      ops.replace++;
    } else if (r < 0.75 && names.length) {
      const batch: Array<[Prefix, number]> = [];
      for (let i = 0; i < 1 + Math.floor(rnd() * 16); i++) {
        const p = randPrefix();
        const tn = pick(names);
        batch.push([p, tunnels.get(tn)!.index]);
        routes.set(pfxKey(p), { p, tunnel: tn });
      }
      ops.routesAdded += h.addRoutes(pack(batch)) > 0 ? batch.length : 0;
    } else if (routes.size) {
      const keys = [...routes.keys()];
      const batch: Array<[Prefix, number]> = [];
      for (let i = 0; i < 1 + Math.floor(rnd() * 16); i++) {
        const k = pick(keys);
        const rt = routes.get(k);
        if (!rt) continue;
        batch.push([rt.p, 0]);
        routes.delete(k);
      }
      ops.routesRemoved += h.removeRoutes(pack(batch));
    }
    // Let the thread-safe function deliver tunnel-state events now and then.
    if (++steps % 50 === 0) await new Promise<void>((r) => setImmediate(r));
  }

  // The floods stop before the final state (the counters must stand still to add up).
  out({ event: 'churned' });
  await nextLine();

  // Final state: every tunnel removed, then a known set with known routes, no keepalives (they
  // would keep counters moving).
  for (const name of [...tunnels.keys()]) removeTunnel(name);
  const emptyCount = h.routeCount();
  const finalKeys = cfg.keys.slice(0, 4);
  finalKeys.forEach((k, i) => {
    addTunnel(`final${i}`, k, false);
  });
  const finalRoutes: Array<[Prefix, string]> = [
    [{ family: 4, bytes: [203, 0, 113, 0], len: 24 }, 'final0'],
    [{ family: 4, bytes: [203, 0, 113, 128], len: 25 }, 'final1'],
    [{ family: 4, bytes: [203, 0, 113, 77], len: 32 }, 'final2'],
    [{ family: 6, bytes: [0x20, 0x01, 0x0d, 0xb8, 0, 0xff, ...new Array(10).fill(0)], len: 48 }, 'final3'],
  ];
  routes.clear();
  for (const [p, tn] of finalRoutes) routes.set(pfxKey(p), { p, tunnel: tn });
  h.addRoutes(pack(finalRoutes.map(([p, tn]) => [p, tunnels.get(tn)!.index])));

  // Lookups against the model's longest match for a spread of addresses.
  const lookupErrors: string[] = [];
  const modelLookup = (addr: number[]): number => {
    let best: { p: Prefix; tunnel: string } | undefined;
    for (const r of routes.values()) if (covers(r.p, addr) && (!best || r.p.len > best.p.len)) best = r;
    return best ? tunnels.get(best.tunnel)!.index : -1;
  };
  for (let last = 0; last < 256; last += 7) {
    const a = [203, 0, 113, last];
    const got = h.lookup(Uint8Array.from(a));
    if (got !== modelLookup(a)) lookupErrors.push(`${a.join('.')}: ${got} != ${modelLookup(a)}`);
  }
  for (const tail of [0, 1, 3]) {
    const a = [0x20, 0x01, 0x0d, 0xb8, 0, 0xff, ...new Array(9).fill(tail), 1];
    const got = h.lookup(Uint8Array.from(a));
    if (got !== modelLookup(a)) lookupErrors.push(`v6 ${tail}: ${got} != ${modelLookup(a)}`);
  }
  {
    const a = [198, 51, 100, 9];
    if (h.lookup(Uint8Array.from(a)) !== -1) lookupErrors.push('198.51.100.9 has a route');
  }

  // Counters stand still once the floods (which end with the churn) have drained.
  const snapshot = () => {
    const g = reader.global();
    const sum: Record<string, number> = {};
    for (let i = 0; i <= maxIndex; i++) {
      const c = reader.tunnel(i);
      for (const k of [
        'rxPackets',
        'txPackets',
        'keepaliveRx',
        'keepaliveTx',
        'keepaliveReflected',
        'mssClamped',
      ]) {
        sum[k] = (sum[k] ?? 0) + (c as unknown as Record<string, number>)[k]!;
      }
      for (const r of DROP_REASONS) sum[`drops.${r}`] = (sum[`drops.${r}`] ?? 0) + c.drops[r];
    }
    return { g, sum };
  };
  let prev = JSON.stringify(snapshot());
  let still = 0;
  const settleEnd = Date.now() + 20_000;
  while (Date.now() < settleEnd && still < 5) {
    await sleep(100);
    const cur = JSON.stringify(snapshot());
    still = cur === prev ? still + 1 : 0;
    prev = cur;
  }
  const before = snapshot();

  // One exact flow through the final state: N datagrams to 203.0.113.77 (final2's /32).
  const idx2 = tunnels.get('final2')!.index;
  const tx0 = reader.tunnel(idx2).txPackets;
  const N = 200;
  const s = createSocket('udp4');
  for (let i = 0; i < N; i++) s.send(Buffer.alloc(16), 9999, '203.0.113.77', () => {});
  let tx1 = tx0;
  const flowEnd = Date.now() + 10_000;
  while (Date.now() < flowEnd && tx1 - tx0 < N) {
    await sleep(20);
    tx1 = reader.tunnel(idx2).txPackets;
  }
  await sleep(200);
  tx1 = reader.tunnel(idx2).txPackets;
  s.close();

  const result = {
    event: 'result',
    ops,
    steps,
    settled: still >= 5,
    maxIndex,
    events: events.length,
    emptyCount,
    routeCount: h.routeCount(),
    wantRouteCount: { v4: 3, v6: 1 },
    tunnelCount: tunnels.size,
    lookupErrors,
    flow: { sent: N, tx: tx1 - tx0 },
    global: before.g,
    sum: before.sum,
  };
  h.close();
  process.stdin.destroy();
  out(result);
}

if (mode === 'flood') {
  await flood(JSON.parse(json!) as FloodCfg);
} else if (mode === 'stress') {
  try {
    await stress(JSON.parse(json!) as StressCfg);
  } catch (e) {
    out({ event: 'failed', code: (e as { code?: string }).code, message: (e as Error).stack });
    process.exitCode = 1;
  }
}
