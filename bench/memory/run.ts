#!/usr/bin/env node
/**
 * bench/memory: the daemon's RSS per route, gredged beside BIRD 2 with the same feeds. Three
 * table sizes (by default 100k and 1M IPv4, then 1M IPv4 + 200k IPv6), each in a fresh daemon
 * with one full-table feeder; at the largest, a second and a third feeder send the same prefixes
 * (each with a shorter AS_PATH, so every route changes best path and is exported again).
 * RSS is read once the monitor holds everything and RSS has settled; bytes per route is
 * (RSS − RSS with sessions up and no routes) / routes held (prefixes × feeders). README.md.
 *   npm run bench:memory -- [--prefixes 1000000] [--prefixes6 200000] [--feeders 3] [--runs 1]
 *     [--only gredged|bird] [--port 20179] [--timeout 600] [--settle 10]
 *     [--json bench/results/memory.json]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from '../../test/interop/harness/gredged.js';
import { haveCommand } from '../../test/interop/harness/proc.js';
import { buildFeed, buildFeed6 } from '../bgp-propagation/feed.js';
import { peakRssBytes, rssBytes } from '../bgp-propagation/procstat.js';
import {
  type BenchResult,
  type Figure,
  hostInfo,
  loads,
  type Plot,
  publishMedians,
  sampleFigure,
} from '../envelope.js';
import {
  DAEMON,
  FEEDER_NEXT_HOP6,
  type Fleet,
  ipv6Bytes,
  type Neighbor,
  portFree,
  startFleet,
} from '../sessions/fleet.js';
import { Peer } from '../sessions/peer.js';

const { values: args } = parseArgs({
  options: {
    prefixes: { type: 'string', default: '1000000' },
    prefixes6: { type: 'string', default: '200000' },
    feeders: { type: 'string', default: '3' },
    runs: { type: 'string', default: '1' },
    only: { type: 'string' },
    port: { type: 'string', default: '20179' },
    timeout: { type: 'string', default: '600' },
    settle: { type: 'string', default: '10' },
    json: { type: 'string', default: join(ROOT, 'bench/results/memory.json') },
  },
});
const P4 = Number(args.prefixes);
const P6 = Number(args.prefixes6);
const FEEDERS = Number(args.feeders);
const RUNS = Number(args.runs);
const PORT = Number(args.port);
const TIMEOUT_S = Number(args.timeout);
const SETTLE_S = Number(args.settle);
for (const [k, v] of Object.entries({
  prefixes: P4,
  prefixes6: P6,
  feeders: FEEDERS,
  runs: RUNS,
  port: PORT,
}))
  if (!Number.isInteger(v) || v < (k === 'prefixes6' ? 0 : 1))
    throw new Error(`--${k} must be a whole number (got ${v})`);
if (FEEDERS > 9) throw new Error('--feeders: at most 9');

/** The table sizes, in the order measured; the last one also gets the extra feeders. */
const POINTS = [
  { v4: Math.round(P4 / 10), v6: 0 },
  { v4: P4, v6: 0 },
  ...(P6 > 0 ? [{ v4: P4, v6: P6 }] : []),
];
const LAST = POINTS.length - 1;

const feeder = (k: number): Neighbor => ({ name: `t${k}`, address: `127.20.0.${k}`, as: 65000 + k });
const MONITOR = { name: 'c0', address: '127.20.1.1', as: 4290000000, space: '176.0.0.0/21', maxLength: 24 };

interface Step {
  /** Feeders sending this table (1..FEEDERS). */
  feeders: number;
  routes: number;
  loadS: number;
  rssMB: number;
  bytesPerRoute: number;
}
interface PointResult {
  v4: number;
  v6: number;
  baselineMB: number;
  peakMB: number;
  steps: Step[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** RSS once it stops moving: two readings 500 ms apart within 0.5 %, at most --settle seconds. */
async function settledRss(pid: number): Promise<number> {
  let last = rssBytes(pid);
  const end = performance.now() + SETTLE_S * 1000;
  while (performance.now() < end) {
    await sleep(500);
    const now = rssBytes(pid);
    if (Math.abs(now - last) <= last * 0.005) return now;
    last = now;
  }
  return last;
}

function feeds(point: { v4: number; v6: number }, k: number, of: number): Buffer[] {
  const f = feeder(k);
  // Feeder k prepends (of − k) times: the later a feeder, the shorter its paths, the better.
  const out = [buildFeed(point.v4, f.as, f.address, 1, of - k).bytes];
  if (point.v6 > 0) out.push(buildFeed6(point.v6, f.as, ipv6Bytes(FEEDER_NEXT_HOP6), 2, of - k).bytes);
  return out;
}

async function measure(which: 'gredged' | 'bird', dir: string, p: number): Promise<PointResult> {
  const point = POINTS[p]!;
  const nFeeders = p === LAST ? FEEDERS : 1;
  await portFree(DAEMON.address, PORT);
  const fleet: Fleet = {
    port: PORT,
    transits: Array.from({ length: nFeeders }, (_, k) => feeder(k + 1)),
    customers: [MONITOR],
  };
  const { daemon } = await startFleet(which, dir, fleet);
  const pid = daemon.pid;
  const target = { address: DAEMON.address, port: PORT };
  const monitor = new Peer({ address: MONITOR.address, as: MONITOR.as, daemon: target, routes: [] });
  const peers = [monitor];
  const running = [monitor.run()];
  try {
    await until(() => monitor.established, 30_000, `${which}: monitor session not Established`);
    const baseline = await settledRss(pid);
    const routes = point.v4 + point.v6;
    const steps: Step[] = [];
    for (let k = 1; k <= nFeeders; k++) {
      const f = feeder(k);
      const peer = new Peer({
        address: f.address,
        as: f.as,
        daemon: target,
        routes: feeds(point, k, nFeeders),
      });
      peers.push(peer);
      const t0 = performance.now();
      running.push(peer.run());
      // Each feeder's routes are all better than the last one's: the monitor is sent every prefix again.
      await until(
        () => monitor.count.announced >= k * routes || !daemon.running,
        TIMEOUT_S * 1000,
        `${which}: monitor was sent ${monitor.count.announced} of ${k * routes} routes`,
      );
      if (!daemon.running) throw new Error(`${which} exited: ${daemon.output.slice(-1000)}`);
      const loadS = (performance.now() - t0) / 1000;
      const rss = await settledRss(pid);
      steps.push({
        feeders: k,
        routes: k * routes,
        loadS,
        rssMB: rss / 1e6,
        bytesPerRoute: (rss - baseline) / (k * routes),
      });
    }
    return { ...point, baselineMB: baseline / 1e6, peakMB: peakRssBytes(pid) / 1e6, steps };
  } finally {
    for (const peer of peers) peer.stop();
    await daemon.stop(10_000);
    await Promise.race([Promise.all(running), sleep(5000)]);
  }
}

async function until(ok: () => boolean, ms: number, what: string): Promise<void> {
  const end = performance.now() + ms;
  while (!ok()) {
    if (performance.now() > end) throw new Error(`${what} after ${ms / 1000} s`);
    await sleep(50);
  }
}

const short = (n: number) =>
  n >= 1e6 ? `${+(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${+(n / 1e3).toFixed(1)}k` : `${n}`;
const pointName = (p: { v4: number; v6: number }) =>
  p.v6 ? `${short(p.v4 + p.v6)} (${short(p.v4)} IPv4 + ${short(p.v6)} IPv6)` : `${short(p.v4)} IPv4`;

async function main(): Promise<number> {
  let daemons: Array<'gredged' | 'bird'> = ['gredged', 'bird'];
  if (args.only) {
    if (args.only !== 'gredged' && args.only !== 'bird') throw new Error('--only: gredged or bird');
    daemons = [args.only];
  }
  if (daemons.includes('bird') && !haveCommand('bird')) {
    console.log('BIRD 2 is not installed (apt-get install bird2): measuring gredged alone');
    daemons = daemons.filter((d) => d !== 'bird');
  }
  const la0 = loadavg();
  console.log(
    `load average ${loads(la0)}; tables ${POINTS.map(pointName).join(', ')}; up to ${FEEDERS} feeders at the last`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'gredge-bench-memory-'));
  const results: Record<string, PointResult[][]> = {};
  try {
    for (let run = 0; run < RUNS; run++) {
      for (const d of daemons) {
        const perPoint: PointResult[] = [];
        for (let p = 0; p < POINTS.length; p++) {
          const r = await measure(d, dir, p);
          perPoint.push(r);
          for (const s of r.steps)
            console.log(
              `run ${run + 1} ${d.padEnd(7)} ${pointName(r).padEnd(28)} ${s.feeders} feeder(s): loaded in ${s.loadS.toFixed(1)} s, RSS ${s.rssMB.toFixed(0)} MB (${r.baselineMB.toFixed(0)} MB with no routes), ${s.bytesPerRoute.toFixed(0)} B/route, peak ${r.peakMB.toFixed(0)} MB`,
            );
        }
        (results[d] ??= []).push(perPoint);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const la = loadavg();
  /** Per daemon, the samples (over runs) of point p, feeder step k. */
  const at = (d: string, p: number, k: number, f: (s: Step, r: PointResult) => number) =>
    results[d]?.map((run) => f(run[p]!.steps[k - 1]!, run[p]!));
  const row = (
    id: string,
    label: string,
    unit: string,
    p: number,
    k: number,
    f: (s: Step, r: PointResult) => number,
    note?: string,
  ): Figure => sampleFigure(id, label, unit, at('gredged', p, k, f), at('bird', p, k, f), note);
  const figures: Figure[] = [
    row('baseline_rss_mb', 'RSS with sessions up and no routes', 'MB', 0, 1, (_, r) => r.baselineMB),
  ];
  for (let p = 0; p < POINTS.length; p++) {
    const n = POINTS[p]!.v4 + POINTS[p]!.v6;
    figures.push(
      row(`rss_mb_${n}`, `RSS at ${pointName(POINTS[p]!)} routes`, 'MB', p, 1, (s) => s.rssMB),
      row(
        `bytes_per_route_${n}`,
        `bytes per route at ${pointName(POINTS[p]!)}`,
        'B',
        p,
        1,
        (s) => s.bytesPerRoute,
      ),
      row(
        `load_s_${n}`,
        `seconds until the monitor holds ${pointName(POINTS[p]!)}`,
        's',
        p,
        1,
        (s) => s.loadS,
      ),
    );
  }
  const top = POINTS[LAST]!;
  for (let k = 2; k <= FEEDERS; k++)
    figures.push(
      row(
        `rss_mb_feeders_${k}`,
        `RSS with ${k} full-table feeders (${short(k * (top.v4 + top.v6))} routes)`,
        'MB',
        LAST,
        k,
        (s) => s.rssMB,
      ),
      row(
        `bytes_per_route_feeders_${k}`,
        `bytes per route with ${k} feeders`,
        'B',
        LAST,
        k,
        (s) => s.bytesPerRoute,
      ),
    );
  figures.push(
    row(
      'peak_rss_mb',
      `peak RSS with ${FEEDERS} feeder(s) at ${pointName(top)}`,
      'MB',
      LAST,
      1,
      (_, r) => r.peakMB,
    ),
  );
  const name = (d: string) => (d === 'bird' ? 'BIRD 2' : 'gredged');
  const first = (d: string) => results[d]![0]!;
  const plots: Plot[] = [
    {
      id: 'rss_vs_routes',
      title: 'RSS against routes held (one feeder; 0: sessions up, no routes)',
      x: { label: 'routes', unit: 'count' },
      y: { label: 'RSS', unit: 'MB' },
      series: daemons.map((d) => ({
        name: name(d),
        points: [
          [0, first(d)[0]!.baselineMB] as [number, number],
          ...first(d).map((r): [number, number] => [r.v4 + r.v6, r.steps[0]!.rssMB]),
        ],
      })),
    },
    {
      id: 'rss_vs_feeders',
      title: `RSS against full-table feeders (${pointName(top)} each)`,
      x: { label: 'feeders', unit: 'count' },
      y: { label: 'RSS', unit: 'MB' },
      series: daemons.map((d) => ({
        name: name(d),
        points: first(d)[LAST]!.steps.map((s): [number, number] => [s.feeders, s.rssMB]),
      })),
    },
    {
      id: 'bytes_per_route',
      title: 'Bytes per route against routes held (all points, feeders included)',
      x: { label: 'routes', unit: 'count' },
      y: { label: 'bytes per route', unit: 'B' },
      series: daemons.map((d) => ({
        name: name(d),
        points: first(d).flatMap((r) => r.steps.map((s): [number, number] => [s.routes, s.bytesPerRoute])),
      })),
    },
  ];
  const out: BenchResult = {
    bench: 'memory',
    date: new Date().toISOString(),
    host: { ...hostInfo(), loadavg: la },
    params: {
      prefixes: P4,
      prefixes6: P6,
      feeders: FEEDERS,
      runs: RUNS,
      timeoutSeconds: TIMEOUT_S,
      loadavgAtStart: loads(la0),
    },
    figures,
    plots,
    raw: results,
  };
  publishMedians(args.json, out, la0, la, RUNS);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
