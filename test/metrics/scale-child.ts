/**
 * The exporter at scale, run as `ip netns exec NS node scale-child.js JSON` (root: a TUN):
 * a real Dataplane with `tunnels` tunnels (keys 1000…), a real Rib with `neighbors` neighbors
 * and a Peer each (not started: their counters are what a scrape reads), and the exporter on
 * 127.0.0.1:9475 of the namespace. Prints {"event":"ready", ...}; then answers lines on stdin:
 *   reset  → forgets the event-loop delay seen so far
 *   stats  → {"max","p99","mean"} event-loop delay (ms) since the last reset
 * and exits when stdin ends.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { Peer } from '../../src/bgp/session/peer.js';
import { Dataplane } from '../../src/dataplane/index.js';
import { createLogger } from '../../src/observe/log.js';
import { Metrics } from '../../src/observe/metrics.js';
import { Rib } from '../../src/rib/rib.js';
import { neighbor } from '../bgp/session/helpers.js';

const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
const o = JSON.parse(process.argv[2] ?? '{}') as { tunnels: number; neighbors: number; perTunnel: boolean };
const log = createLogger('error');

const dp = Dataplane.open({ tun: 'gms0', workers: 1, underlay: { local: '198.51.100.1' } });
const t0 = performance.now();
for (let i = 0; i < o.tunnels; i++)
  dp.addTunnel({ name: `cust-${i}`, remote: '198.51.100.2', key: 1000 + i });
const addMs = performance.now() - t0;
const rib = new Rib({ localAs: 65000, routerId: 0x0a000001, log });
const peers = new Map<string, Peer>();
for (let i = 0; i < o.neighbors; i++) {
  const n = neighbor({
    name: `cust-${i}`,
    address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    remoteAs: 65001,
    role: 'customer',
    passive: true,
  });
  const channel = rib.addNeighbor(n);
  peers.set(n.name, new Peer({ neighbor: n, localAs: 65000, routerId: 0x0a000001, channel, log }));
}
const up = new Map<string, boolean>();
for (let i = 0; i < o.tunnels; i += 2) up.set(`cust-${i}`, i % 4 === 0);
const metrics = new Metrics({
  sources: {
    peers,
    rib,
    dataplane: () => dp,
    fib: () => undefined,
    tunnelState: (name) => up.get(name),
    reloads: () => ({
      ok: 0,
      failed: 0,
      lastAt: null,
      lastError: null,
      rollbackPendingUntil: null,
      rollbacks: 0,
      lastRollbackAt: null,
    }),
  },
  log,
  version: 'scale',
  perTunnel: o.perTunnel,
});
const h = monitorEventLoopDelay({ resolution: 1 });
h.enable();
// What one synchronous Rib.stats() costs with this many neighbors (the scrape calls it once).
const s0 = performance.now();
rib.stats();
const ribStatsMs = performance.now() - s0;
await metrics.listen('127.0.0.1:9475');
out({ event: 'ready', addMs, ribStatsMs });
createInterface({ input: process.stdin })
  .on('line', (line) => {
    if (line === 'reset') {
      h.reset();
      out({ event: 'reset' });
    } else if (line === 'stats') {
      out({ event: 'stats', max: h.max / 1e6, p99: h.percentile(99) / 1e6, mean: h.mean / 1e6 });
    }
  })
  .on('close', async () => {
    await metrics.close();
    dp.close();
    process.exit(0);
  });
