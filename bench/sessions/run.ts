#!/usr/bin/env node
/**
 * bench/sessions: 1,000 customer BGP sessions (5 prefixes each) and a transit feeding a full
 * table (1,000,000 IPv4 + 200,000 IPv6 prefixes), all starting at the same moment, against
 * gredged and BIRD 2 in turn with the same load: seconds until every session is Established and
 * everything has converged, peak RSS, CPU, and CPU with everything up and idle. README.md.
 *   npm run bench:sessions -- [--customers 1000] [--prefixes 1000000] [--prefixes6 200000]
 *     [--runs 1] [--only gredged|bird] [--port 20179] [--timeout 900] [--idle 10]
 *     [--stagger 0] [--max-rss-mb 8000] [--json bench/results/sessions.json]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from '../../test/interop/harness/gredged.js';
import { haveCommand } from '../../test/interop/harness/proc.js';
import { buildFeed, buildFeed6 } from '../bgp-propagation/feed.js';
import { cpuSeconds, peakRssBytes, rssBytes } from '../bgp-propagation/procstat.js';
import { type BenchResult, hostInfo, loads, type Plot, publishMedians, sampleFigure } from '../envelope.js';
import {
  type Customer,
  DAEMON,
  FEEDER_NEXT_HOP6,
  type Fleet,
  ipv6Bytes,
  portFree,
  startFleet,
} from './fleet.js';
import { encodeOrigination, Peer } from './peer.js';
import { CUSTOMER_BASE, SLOTS_PER_CUSTOMER, sessionsUniverse } from './universe.js';

const { values: args } = parseArgs({
  options: {
    customers: { type: 'string', default: '1000' },
    prefixes: { type: 'string', default: '1000000' },
    prefixes6: { type: 'string', default: '200000' },
    runs: { type: 'string', default: '1' },
    only: { type: 'string' },
    port: { type: 'string', default: '20179' },
    timeout: { type: 'string', default: '900' },
    idle: { type: 'string', default: '10' },
    stagger: { type: 'string', default: '0' },
    'max-rss-mb': { type: 'string', default: '8000' },
    json: { type: 'string', default: join(ROOT, 'bench/results/sessions.json') },
  },
});
const N = Number(args.customers);
const P4 = Number(args.prefixes);
const P6 = Number(args.prefixes6);
const RUNS = Number(args.runs);
const PORT = Number(args.port);
const TIMEOUT_S = Number(args.timeout);
const IDLE_S = Number(args.idle);
/** Customers connecting per second; 0: all at the same moment. */
const STAGGER = Number(args.stagger);
const MAX_RSS = Number(args['max-rss-mb']) * 1e6;
const PER_CUSTOMER = 5;
/** Seconds between the plotted samples: 0.5, or fewer points (about 400) over a long deadline. */
const SAMPLE_S = Math.max(0.5, TIMEOUT_S / 400);
for (const [k, v] of Object.entries({ customers: N, prefixes: P4, prefixes6: P6, runs: RUNS, port: PORT }))
  if (!Number.isInteger(v) || v < (k === 'prefixes' || k === 'prefixes6' ? 0 : 1))
    throw new Error(`--${k} must be a whole number (got ${v})`);
if (N > 62_500) throw new Error('--customers: at most 62,500 (250 per 127.10.x.0/24)');

const TRANSIT = { name: 't1', address: '127.0.0.2', as: 65001 };
/** Customer i: 127.10.(i/250).(i%250+1), AS 4290000000+i (private, outside the feed's path ASNs), 176/8 space. */
function customer(i: number): Customer {
  const base = CUSTOMER_BASE + i * SLOTS_PER_CUSTOMER * 256;
  return {
    name: `c${i}`,
    address: `127.10.${Math.floor(i / 250)}.${(i % 250) + 1}`,
    as: 4290000000 + i,
    space: `${ip4(base)}/21`,
    maxLength: 24,
  };
}
const ip4 = (a: number) => [a >>> 24, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff].join('.');

interface Sample {
  t: number;
  established: number;
  complete: number;
  rssMB: number;
}

interface RunResult {
  daemon: 'gredged' | 'bird';
  endedBy: 'converged' | 'timeout' | 'rss-limit' | 'daemon exited';
  /** Seconds from the start to: all customers Established; full table and all customers' prefixes through the daemon; every customer holding everything. */
  establishedS: number | null;
  ribS: number | null;
  convergedS: number | null;
  established: number;
  complete: number;
  /** Routes (announcements) the customers were sent in all, by the end: the export work done. */
  exported: number;
  /** Prefixes the daemon sent that nobody announced (must be 0). */
  unexpected: number;
  /** Seconds from the start to the end of the measurement (convergence, deadline or abort). */
  endS: number;
  lost: number;
  peakRssMB: number;
  cpuS: number;
  idleCpuPct: number | null;
  loadgenCpuS: number;
  loadgenIdleCpuPct: number | null;
  samples: Sample[];
  /** A few customers that never got there, and why, when the run did not converge. */
  stragglers: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function once(
  which: 'gredged' | 'bird',
  dir: string,
  feed: Buffer[],
  stagger: number,
): Promise<RunResult> {
  await portFree(DAEMON.address, PORT);
  const customers = Array.from({ length: N }, (_, i) => customer(i));
  const fleet: Fleet = { port: PORT, transits: [TRANSIT], customers };
  const { daemon } = await startFleet(which, dir, fleet);
  const pid = daemon.pid;
  const target = { address: DAEMON.address, port: PORT };
  // Each customer announces 5 /24s of its /21 and counts the distinct prefixes it is sent.
  const universe = sessionsUniverse(P4, P6, N);
  const peers = customers.map(
    (c, i) =>
      new Peer({
        address: c.address,
        as: c.as,
        daemon: target,
        universe,
        routes: [
          encodeOrigination(
            c.as,
            c.address,
            Array.from({ length: PER_CUSTOMER }, (_, k) => [
              CUSTOMER_BASE + (i * SLOTS_PER_CUSTOMER + k) * 256,
              24,
            ]),
          ),
        ],
      }),
  );
  const transit = new Peer({
    address: TRANSIT.address,
    as: TRANSIT.as,
    daemon: target,
    routes: feed,
    universe,
  });
  const wantCustomer = P4 + P6 + PER_CUSTOMER * (N - 1);
  const wantTransit = PER_CUSTOMER * N;
  const cpu0 = cpuSeconds(pid);
  const h0 = process.cpuUsage();
  const t0 = performance.now();
  const since = () => (performance.now() - t0) / 1000;
  const running = [transit.run()];
  let started = 0;
  const launcher = (async () => {
    for (const p of peers) {
      running.push(p.run());
      started++;
      if (stagger > 0) await sleep(1000 / stagger);
    }
  })();
  const r: RunResult = {
    daemon: which,
    endedBy: 'timeout',
    establishedS: null,
    ribS: null,
    convergedS: null,
    established: 0,
    complete: 0,
    exported: 0,
    unexpected: 0,
    endS: 0,
    lost: 0,
    peakRssMB: 0,
    cpuS: 0,
    idleCpuPct: null,
    loadgenCpuS: 0,
    loadgenIdleCpuPct: null,
    samples: [],
    stragglers: [],
  };
  let lastSample = -1;
  try {
    for (;;) {
      await sleep(100);
      const t = since();
      if (!daemon.running) {
        r.endedBy = 'daemon exited';
        break;
      }
      let est = 0;
      let complete = 0;
      for (const p of peers) {
        if (!p.established) continue;
        est++;
        if (p.count.progress >= wantCustomer) complete++;
      }
      const rss = rssBytes(pid);
      if (t - lastSample >= SAMPLE_S) {
        r.samples.push({ t: round(t, 2), established: est, complete, rssMB: round(rss / 1e6, 1) });
        lastSample = t;
      }
      if (est === N && transit.established && r.establishedS === null) r.establishedS = t;
      if (
        r.ribS === null &&
        transit.count.announced >= wantTransit &&
        peers[0]!.count.progress >= wantCustomer
      )
        r.ribS = t;
      r.established = est;
      r.complete = complete;
      if (complete === N && r.ribS !== null && r.establishedS !== null && started === N) {
        r.convergedS = t;
        r.endedBy = 'converged';
        break;
      }
      if (rss > MAX_RSS) {
        r.endedBy = 'rss-limit';
        break;
      }
      if (t > TIMEOUT_S) break;
    }
    r.endS = since();
    r.peakRssMB = peakRssBytes(pid) / 1e6;
    r.cpuS = cpuSeconds(pid) - cpu0;
    const h = process.cpuUsage(h0);
    r.loadgenCpuS = (h.user + h.system) / 1e6;
    r.lost = peers.reduce((s, p) => s + p.lost, transit.lost);
    r.exported = peers.reduce((s, p) => s + p.count.announced, 0);
    r.unexpected = peers.reduce((s, p) => s + p.count.unknown, transit.count.unknown);
    if (r.endedBy === 'converged' && IDLE_S > 0) {
      // Everything up and nothing left to send: what keeping 1,000 sessions costs.
      const c0 = cpuSeconds(pid);
      const i0 = process.cpuUsage();
      await sleep(IDLE_S * 1000);
      r.idleCpuPct = ((cpuSeconds(pid) - c0) / IDLE_S) * 100;
      const i = process.cpuUsage(i0);
      r.loadgenIdleCpuPct = ((i.user + i.system) / 1e6 / IDLE_S) * 100;
      const lostIdle = peers.reduce((s, p) => s + p.lost, transit.lost) - r.lost;
      if (lostIdle > 0) r.lost += lostIdle;
    } else if (r.endedBy !== 'converged') {
      // Those never Established first: they say why (refused, SYN lost, no OPEN in time).
      r.stragglers = [
        ...peers.filter((p) => !p.established),
        ...peers.filter((p) => p.established && p.count.progress < wantCustomer),
      ]
        .slice(0, 5)
        .map(
          (p) =>
            `${p.o.address}: ${p.established ? `holds ${p.count.progress} of ${wantCustomer}` : `not Established after ${p.attempts} attempt(s) (${p.lastClose || 'connecting'})`}`,
        );
      if (transit.count.progress < wantTransit)
        r.stragglers.push(`transit got ${transit.count.progress} of ${wantTransit} customer prefixes`);
    }
    return r;
  } finally {
    for (const p of [transit, ...peers]) p.stop();
    await launcher;
    await daemon.stop(10_000);
    // Every peer loop ends once its socket is gone (stop() destroys it).
    await Promise.race([Promise.all(running), sleep(5000)]);
  }
}

const round = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;
const fmt = (x: number | null, d = 2) => (x === null ? '—' : x.toFixed(d));

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
    `load average ${loads(la0)}; ${N} customers × ${PER_CUSTOMER} prefixes, transit ${P4} IPv4 + ${P6} IPv6, ${STAGGER ? `${STAGGER} connects/s` : 'all connecting at once'}`,
  );
  const tb = performance.now();
  const f4 = buildFeed(P4, TRANSIT.as, TRANSIT.address, 1);
  const f6 = buildFeed6(P6, TRANSIT.as, ipv6Bytes(FEEDER_NEXT_HOP6), 2);
  console.log(
    `feed: ${f4.updates + f6.updates} UPDATEs, ${((f4.bytes.length + f6.bytes.length) / 1e6).toFixed(1)} MB, built in ${((performance.now() - tb) / 1000).toFixed(1)} s`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'gredge-bench-sessions-'));
  const results: Record<string, RunResult[]> = {};
  try {
    for (let run = 0; run < RUNS; run++) {
      for (const d of daemons) {
        const r = await once(d, dir, [f4.bytes, f6.bytes], STAGGER);
        (results[d] ??= []).push(r);
        console.log(
          `run ${run + 1} ${d.padEnd(7)} ${r.endedBy}: Established ${r.established}/${N} (all at ${fmt(r.establishedS)} s), RIB ${fmt(r.ribS)} s, converged ${fmt(r.convergedS)} s (${r.complete}/${N} customers complete, ${r.exported} routes sent to them), peak RSS ${r.peakRssMB.toFixed(0)} MB, CPU ${r.cpuS.toFixed(1)} s, idle ${fmt(r.idleCpuPct)} %, lost ${r.lost}, load generator CPU ${r.loadgenCpuS.toFixed(1)} s`,
        );
        for (const s of r.stragglers) console.log(`    ${s}`);
        if (r.unexpected)
          console.log(`    warning: ${d} sent ${r.unexpected} prefixes that were never announced`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const la = loadavg();
  const pick = (d: string, f: (r: RunResult) => number | null) =>
    results[d]?.map(f).filter((x): x is number => x !== null);
  const noteFor = (f: (r: RunResult) => number | null) => {
    const missing = daemons.flatMap((d) => {
      const bad = (results[d] ?? []).filter((r) => f(r) === null);
      return bad.length
        ? [
            `${d}: not reached in ${bad.length} of ${results[d]!.length} run(s) (${bad.map((r) => r.endedBy).join(', ')}; deadline ${TIMEOUT_S} s)`,
          ]
        : [];
    });
    return missing.length ? missing.join('; ') : undefined;
  };
  const row = (id: string, label: string, unit: string, f: (r: RunResult) => number | null, note?: string) =>
    sampleFigure(
      id,
      label,
      unit,
      pick('gredged', f),
      pick('bird', f),
      [noteFor(f), note].filter(Boolean).join('; ') || undefined,
    );
  const figures = [
    row(
      'established_s',
      `all ${N} customer sessions and the transit Established`,
      's',
      (r) => r.establishedS,
    ),
    row(
      'established_count',
      'customer sessions Established at the end (converged or deadline)',
      'count',
      (r) => r.established,
    ),
    row(
      'rib_s',
      'full table and every customer prefix through the daemon (transit and customer 0 hold them)',
      's',
      (r) => r.ribS,
    ),
    row(
      'converged_s',
      'all Established and converged (every customer holds the full table and the others\u2019 prefixes)',
      's',
      (r) => r.convergedS,
    ),
    row('customers_complete', 'customers holding everything at the end', 'count', (r) => r.complete),
    row(
      'exported_routes',
      `routes the customers were sent by the end (${N} × ${P4 + P6 + PER_CUSTOMER * (N - 1)} when converged)`,
      'count',
      (r) => r.exported,
    ),
    row('export_rate', 'routes sent to customers per second, start to end', '/s', (r) => r.exported / r.endS),
    row('peak_rss_mb', 'daemon peak RSS', 'MB', (r) => r.peakRssMB),
    row('cpu_s', 'daemon CPU from start to convergence (or the end)', 's', (r) => r.cpuS),
    row(
      'idle_cpu_pct',
      `daemon CPU with everything up, over ${IDLE_S} s after convergence`,
      '%',
      (r) => r.idleCpuPct,
    ),
    row('sessions_lost', 'sessions lost after Established', 'count', (r) => r.lost),
    row(
      'loadgen_cpu_s',
      'load generator CPU (this process, all sessions) until the end',
      's',
      (r) => r.loadgenCpuS,
      'the harness, not a daemon: shows the load generator did not saturate the machine',
    ),
  ];
  const first = (d: string) => results[d]?.[0]?.samples ?? [];
  const series = (f: (s: Sample) => number) =>
    daemons.map((d) => ({
      name: d === 'bird' ? 'BIRD 2' : 'gredged',
      points: first(d).map((s): [number, number] => [s.t, f(s)]),
    }));
  const time = { label: 'time since all connect', unit: 's' };
  const plots: Plot[] = [
    {
      id: 'sessions_established',
      title: `Customer sessions Established over time (run 1 of ${RUNS})`,
      x: time,
      y: { label: 'sessions Established', unit: 'count' },
      series: series((s) => s.established),
    },
    {
      id: 'customers_complete',
      title: 'Customers holding the full table and every other customer\u2019s prefixes',
      x: time,
      y: { label: 'customers complete', unit: 'count' },
      series: series((s) => s.complete),
    },
    {
      id: 'rss',
      title: 'Daemon RSS while sessions come up and the table loads',
      x: time,
      y: { label: 'RSS', unit: 'MB' },
      series: series((s) => s.rssMB),
    },
  ];
  const out: BenchResult = {
    bench: 'sessions',
    date: new Date().toISOString(),
    host: { ...hostInfo(), loadavg: la },
    params: {
      customers: N,
      prefixesPerCustomer: PER_CUSTOMER,
      prefixes: P4,
      prefixes6: P6,
      runs: RUNS,
      staggerPerSecond: STAGGER,
      timeoutSeconds: TIMEOUT_S,
      idleSeconds: IDLE_S,
      maxRssMB: MAX_RSS / 1e6,
      holdTime: 240,
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
