/**
 * Child process for the namespace tests (run as `ip netns exec NS node ns-child.js MODE JSON`):
 *   serve: opens a Dataplane from JSON { open, tunnels }, prints {"event":"ready"}, then answers
 *          JSON-line requests { id, op, args } on stdin; closes on stdin end.
 *   perm:  tries to open and prints the error code (run with capabilities dropped).
 */
import { createInterface } from 'node:readline';
import { Dataplane } from '../../src/dataplane/index.js';

const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);

const [mode, json] = process.argv.slice(2);
const cfg = JSON.parse(json ?? '{}') as { open: Parameters<typeof Dataplane.open>[0]; tunnels?: unknown[] };

if (mode === 'perm') {
  try {
    Dataplane.open(cfg.open).close();
    out({ ok: true });
  } catch (e) {
    out({ ok: false, code: (e as { code?: string }).code, message: (e as Error).message });
  }
} else {
  let dp: Dataplane;
  try {
    dp = Dataplane.open(cfg.open);
    for (const t of cfg.tunnels ?? []) dp.addTunnel(t as never);
  } catch (e) {
    out({ event: 'failed', code: (e as { code?: string }).code, message: (e as Error).message });
    process.exit(1);
  }
  dp.on('tunnel-state', (e) => out({ event: 'tunnel-state', ...e }));
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    const req = JSON.parse(line) as { id: number; op: string; args?: unknown[] };
    if (req.op === 'bulkTunnels') {
      // Scale check: `count` keyed tunnels to one remote (keys 1000…), generated here.
      const [count, remote] = (req.args ?? []) as [number, string];
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < count; i++) dp.addTunnel({ name: `bulk-${i}`, remote, key: 1000 + i });
      out({ id: req.id, ok: true, result: { n: count, ms: Number(process.hrtime.bigint() - t0) / 1e6 } });
      return;
    }
    if (req.op === 'bulkRoutes') {
      // Scale check: a full-table-sized batch generated here (not sent over the pipe), then one
      // addRoutes; route i goes into tunnels[i % tunnels.length]; RSS and CPU before and after,
      // and the tunnel the LPM picks for the first address of a few routes.
      const [count, tunnelArg] = (req.args ?? []) as [number, string | string[]];
      const tunnels = Array.isArray(tunnelArg) ? tunnelArg : [tunnelArg];
      const routes = new Array<{ prefix: string; tunnel: string }>(count);
      for (let i = 0; i < count; i++) {
        const a = 16 * 2 ** 24 + i * 256; // 16.0.0.0/24, 16.0.1.0/24, ...
        const tunnel = tunnels[i % tunnels.length]!;
        routes[i] = { prefix: `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.0/24`, tunnel };
      }
      const rss0 = process.memoryUsage().rss;
      const t0 = process.hrtime.bigint();
      const c0 = process.cpuUsage();
      const n = dp.addRoutes(routes);
      const c1 = process.cpuUsage(c0);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      const cpuMs = (c1.user + c1.system) / 1000;
      const rss1 = process.memoryUsage().rss;
      const probes = [0, 1, count >> 1, count - 1].map((i) => {
        const a = 16 * 2 ** 24 + i * 256 + 7;
        const addr = `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
        return { addr, want: routes[i]!.tunnel, got: dp.lookup(addr) ?? null };
      });
      const t1 = process.hrtime.bigint();
      const removed = dp.removeRoutes(routes.map((r) => r.prefix));
      const removeMs = Number(process.hrtime.bigint() - t1) / 1e6;
      out({ id: req.id, ok: true, result: { n, ms, cpuMs, rss0, rss1, removed, removeMs, probes } });
      return;
    }
    try {
      const fn = (dp as unknown as Record<string, (...a: unknown[]) => unknown>)[req.op];
      if (typeof fn !== 'function') throw new Error(`no op ${req.op}`);
      const t0 = process.hrtime.bigint();
      const result = fn.apply(dp, req.args ?? []);
      out({ id: req.id, ok: true, result: result ?? null, ms: Number(process.hrtime.bigint() - t0) / 1e6 });
    } catch (e) {
      out({ id: req.id, ok: false, code: (e as { code?: string }).code, message: (e as Error).message });
    }
  });
  rl.on('close', () => {
    dp.close();
    out({ event: 'closed' });
  });
  out({ event: 'ready' });
}
