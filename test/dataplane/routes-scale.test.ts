/**
 * Table scale (issue 4: 10,000 tunnels and 1,000,000 routes): a live data plane holds 10k
 * tunnels and one addRoutes batch of 1M IPv4 /24s spread over them, the LPM picks the right
 * tunnel, and one removeRoutes batch takes them all away. Time and memory are printed as
 * figures, not asserted (speed targets live in bench/). Needs root (a namespace with a TUN).
 */
import t from 'tap';
import { Child, makePair, rootSkip } from './ns.js';
import { skipUnless } from '../must-run.js';

const skip = skipUnless(t, rootSkip());

t.test('10,000 tunnels and 1M IPv4 routes in one batch', { skip, timeout: 120_000 }, async (t) => {
  const pair = makePair('r');
  const kids: Child[] = [];
  t.teardown(async () => {
    for (const k of kids) await k.close();
    pair.destroy();
  });
  const a = new Child(pair.a, {
    open: { tun: 'gdr0', workers: 1, underlay: { local: '198.51.100.1' } },
    tunnels: [{ name: 'to-b', remote: '198.51.100.2', key: 1, inner: { local: '192.0.2.1/30' } }],
  });
  kids.push(a);
  t.equal((await a.ready()).event, 'ready', a.stderr);
  const tunnels = (await a.ok('bulkTunnels', 10_000, '198.51.100.3')) as { n: number; ms: number };
  t.equal(tunnels.n, 10_000, '10,000 more tunnels');
  t.comment(`addTunnel ×10k: ${tunnels.ms.toFixed(0)} ms`);
  const names = ['to-b', 'bulk-0', 'bulk-4999', 'bulk-9999'];
  const r = (await a.ok('bulkRoutes', 1_000_000, names)) as {
    n: number;
    ms: number;
    cpuMs: number;
    rss0: number;
    rss1: number;
    removed: number;
    removeMs: number;
    probes: { addr: string; want: string; got: string | null }[];
  };
  t.comment(
    `addRoutes(1M /24): ${r.ms.toFixed(0)} ms wall, ${r.cpuMs.toFixed(0)} ms CPU, RSS +${((r.rss1 - r.rss0) / 2 ** 20).toFixed(0)} MiB ` +
      `(${(r.rss1 / 2 ** 20).toFixed(0)} MiB total); removeRoutes: ${r.removeMs.toFixed(0)} ms`,
  );
  t.equal(r.n, 1_000_000, 'all added');
  for (const p of r.probes) t.equal(p.got, p.want, `LPM: ${p.addr} → ${p.want}`);
  t.equal(r.removed, 1_000_000, 'all removed');
  t.same(await a.ok('routeCount'), { v4: 1, v6: 0 }, 'only the tunnel subnet is left');
  t.equal(await a.ok('lookup', '1.2.3.4'), null, 'removed routes no longer match');
});
