#!/usr/bin/env node
/**
 * bench:churn (issue 13): a transit flaps RATE prefixes per second for SECONDS seconds on top of
 * a BASE-prefix table while N customers with hold time 9 are connected; gredged and BIRD 2, each
 * in its own namespace with its kernel tables. See bench/churn/README.md.
 *   node dist/bench/churn/run.js [--rate 10000] [--seconds 60] [--customers 100] [--base 100000]
 *                                [--hold 9] [--runs 1] [--only gredged|bird] [--json FILE]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cpuSeconds } from '../bgp-propagation/procstat.js';
import {
  type BenchResult,
  benchOptions,
  figure,
  finishBench,
  hostInfo,
  median,
  percentile,
  type Plot,
} from '../envelope.js';
import { AgentProc } from './agent-client.js';
import {
  churnCustomers,
  DAEMON,
  METRICS_URL,
  type Running,
  startChurnDaemon,
  TRANSIT,
  type Which,
} from './daemons.js';
import { judgeGaps } from './gaps.js';
import { lastActivity, perSecond, rateOver, samplesOf, ticksOf } from './measure.js';
import { benchNs, LINK } from './ns.js';
import { nowMs, type SessionReport } from './protocol.js';

export interface ChurnOptions {
  rate: number;
  seconds: number;
  customers: number;
  base: number;
  hold: number;
  runs: number;
  only?: Which;
  json: string;
}

/** What one pass of one daemon measured. */
export interface ChurnPass {
  daemon: Which;
  loadavg: number;
  baseLoadS: number;
  cpuPct: number | null;
  lagP99Ms: number | null;
  lagMaxMs: number | null;
  updatesPerS: number | null;
  prefixesPerS: number | null;
  fibWritesPerS: number | null;
  /** gredged's own count (gredge_fib_route_writes_total) over the window, per second. */
  fibWritesOwnPerS: number | null;
  catchUpS: number | null;
  maxGapS: number;
  missed: number;
  dropped: number;
  transitLateMaxMs: number;
  /** First flap UPDATE → the transit's last byte written (s): longer than --seconds when the daemon read slowly. */
  flapS: number;
  agentLoopMaxMs: number;
  series: {
    cpu: Array<[number, number]>;
    lagP99: Array<[number, number]>;
    lagMax: Array<[number, number]>;
    fib: Array<[number, number]>;
    updates: Array<[number, number]>;
  };
  sessions: SessionReport[];
  /** Sessions whose largest gap reached half the hold time, by the phase in which it ended. */
  longGapsByPhase: Record<string, number>;
}

/** The phase of the pass a time falls in (CLOCK_MONOTONIC ms). */
export function phaseOf(
  t: number,
  marks: { base: number; held: number; flap0: number; flap1: number },
): string {
  if (t < marks.base) return 'connected, before the base table';
  if (t <= marks.held) return 'base table load';
  if (t < marks.flap0) return 'kernel tables settling';
  if (t <= marks.flap1) return 'flap';
  return 'after the flap';
}

/** Seconds after the flap the window keeps measuring (the daemon's backlog drains). */
const TAIL_S = 3;

function parse(argv: string[]): ChurnOptions {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      rate: { type: 'string', default: '10000' },
      seconds: { type: 'string', default: '60' },
      customers: { type: 'string', default: '100' },
      base: { type: 'string', default: '100000' },
      hold: { type: 'string', default: '9' },
      runs: { type: 'string', default: '1' },
      only: { type: 'string' },
      json: { type: 'string', default: 'bench/results/churn.json' },
    },
  });
  const int = (name: string, s: string, min: number, max: number) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new Error(`--${name} must be an integer ${min}–${max}, got ${s}`);
    return n;
  };
  if (v.only !== undefined && v.only !== 'gredged' && v.only !== 'bird')
    throw new Error(`--only must be gredged or bird, got ${v.only}`);
  const o: ChurnOptions = {
    rate: int('rate', v.rate!, 10, 100_000),
    seconds: int('seconds', v.seconds!, 1, 3600),
    customers: int('customers', v.customers!, 1, 1000),
    base: int('base', v.base!, 10, 2_000_000),
    hold: int('hold', v.hold!, 3, 65535),
    runs: int('runs', v.runs!, 1, 20),
    json: v.json!,
  };
  if (v.only) o.only = v.only as Which;
  if (o.rate > o.base)
    throw new Error(`--rate ${o.rate} exceeds --base ${o.base}: the flap takes base prefixes`);
  return o;
}

/** Resolves once the namespace's route-change count has not moved for `quietMs` (the FIB settled). */
async function fibSettled(probe: AgentProc, quietMs: number, deadline: number): Promise<void> {
  for (;;) {
    const s = samplesOf(probe.samples);
    const last = s[s.length - 1];
    const since = last ? s.filter((x) => x.t >= (last.t ?? 0) - quietMs) : [];
    if (since.length >= quietMs / 1000 && since.every((x) => x.routeEvents === last!.routeEvents)) return;
    if (Date.now() > deadline) throw new Error('the kernel tables did not settle after the base table');
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function churnPass(which: Which, o: ChurnOptions): Promise<ChurnPass> {
  const dir = mkdtempSync(join(tmpdir(), 'gt-churn-'));
  const ns = benchNs(`ch${which === 'bird' ? 'b' : 'g'}`);
  const agents: AgentProc[] = [];
  let daemon: Running | undefined;
  try {
    const cs = churnCustomers(o.customers);
    daemon = await startChurnDaemon(which, ns.name, dir, cs, o.hold);
    const pid = daemon.daemon.pid;
    const probeArgs = { mode: 'probe' as const, monitorRoutes: true };
    const probe = await AgentProc.start(
      ns.name,
      which === 'gredged' ? { ...probeArgs, metricsUrl: METRICS_URL } : probeArgs,
    );
    agents.push(probe);
    probe.send({ cmd: 'sample' });
    // Sessions lost are measured (a dropped customer is a finding), not a reason to stop.
    const custs = await AgentProc.start(
      ns.name,
      {
        mode: 'customers',
        daemon: DAEMON.address,
        port: DAEMON.port,
        hold: o.hold,
        customers: cs.map((c) => ({ local: c.address, as: c.as })),
        concurrency: 8,
      },
      false,
    );
    agents.push(custs);
    await custs.ask({ cmd: 'connect' }, 'established', 60_000 + o.customers * 1000);
    const transit = await AgentProc.start(ns.name, {
      mode: 'transit',
      daemon: DAEMON.address,
      port: DAEMON.port,
      hold: TRANSIT.hold,
      local: TRANSIT.address,
      as: TRANSIT.as,
      nextHop: LINK.nextHop,
      base: o.base,
      rate: o.rate,
      seconds: o.seconds,
    });
    agents.push(transit);
    await transit.ask({ cmd: 'connect' }, 'established', 60_000);
    const base = await transit.ask({ cmd: 'base' }, 'base-written', 600_000);
    const holding = await custs.ask({ cmd: 'await-prefixes', n: o.base }, 'holding', 900_000);
    await fibSettled(probe, 2000, Date.now() + 900_000);

    const cpu: Array<[number, number]> = [];
    const cpuTimer = setInterval(() => cpu.push([nowMs(), cpuSeconds(pid)]), 1000);
    cpu.push([nowMs(), cpuSeconds(pid)]);
    const flap = await transit.ask({ cmd: 'flap' }, 'flap-done', (o.seconds + 300) * 1000);
    await new Promise((r) => setTimeout(r, TAIL_S * 1000));
    clearInterval(cpuTimer);
    cpu.push([nowMs(), cpuSeconds(pid)]);
    const rep = await custs.ask({ cmd: 'report' }, 'report', 60_000);

    const t0 = flap.t0;
    const t1 = flap.t1 + TAIL_S * 1000;
    const ticks = ticksOf(custs.samples);
    const samples = samplesOf(probe.samples);
    const upd = ticks.map((t): [number, number] => [t.t, t.updates]);
    const pfx = ticks.map((t): [number, number] => [t.t, t.prefixes]);
    const routes = samples.map((s): [number, number] => [s.t, s.routeEvents ?? 0]);
    const own = samples
      .filter((s) => s.fibWrites !== undefined)
      .map((s): [number, number] => [s.t, s.fibWrites!]);
    // The lag series are reset at each scrape: a sample covers the second before it.
    const inWin = samples.filter((s) => s.t > t0 && s.t <= t1 + 1000);
    const p99s = inWin.flatMap((s) => (s.lagP99Ms === undefined ? [] : [s.lagP99Ms]));
    const maxes = inWin.flatMap((s) => (s.lagMaxMs === undefined ? [] : [s.lagMaxMs]));
    const cpuRate = rateOver(cpu, t0, t1);
    const verdict = judgeGaps(rep.sessions, o.hold);
    const last = lastActivity(ticks);
    const x = (t: number) => Math.round((t - t0) / 100) / 10;
    return {
      daemon: which,
      loadavg: (await import('node:os')).loadavg()[0]!,
      baseLoadS: (holding.t - base.t0) / 1000,
      cpuPct: cpuRate === null ? null : cpuRate * 100,
      lagP99Ms: percentile(p99s, 99),
      lagMaxMs: maxes.length ? Math.max(...maxes) : null,
      updatesPerS: rateOver(upd, t0, t1),
      prefixesPerS: rateOver(pfx, t0, t1),
      fibWritesPerS: rateOver(routes, t0, t1),
      fibWritesOwnPerS: own.length ? rateOver(own, t0, t1) : null,
      catchUpS: last === undefined ? null : Math.max(0, (last - flap.t1) / 1000),
      maxGapS: verdict.maxGapS,
      missed: verdict.missed,
      dropped: verdict.dropped,
      transitLateMaxMs: flap.lateMaxMs,
      flapS: (flap.t1 - flap.t0) / 1000,
      agentLoopMaxMs: rep.loopMaxMs,
      series: {
        // CPU seconds as percent-seconds: their rate per second is % of one core.
        cpu: perSecond(
          cpu.map(([t, v]): [number, number] => [t, v * 100]),
          t0,
          t0,
          t1,
        ),
        lagP99: inWin.flatMap((s) =>
          s.lagP99Ms === undefined ? [] : [[x(s.t), s.lagP99Ms] as [number, number]],
        ),
        lagMax: inWin.flatMap((s) =>
          s.lagMaxMs === undefined ? [] : [[x(s.t), s.lagMaxMs] as [number, number]],
        ),
        fib: perSecond(routes, t0, t0, t1),
        updates: perSecond(upd, t0, t0, t1),
      },
      sessions: rep.sessions,
      longGapsByPhase: rep.sessions
        .filter((s) => s.maxGapMs >= (o.hold * 1000) / 2)
        .reduce<Record<string, number>>((acc, s) => {
          const ph = phaseOf(s.maxGapAt, { base: base.t0, held: holding.t, flap0: flap.t0, flap1: flap.t1 });
          acc[ph] = (acc[ph] ?? 0) + 1;
          return acc;
        }, {}),
    };
  } finally {
    for (const a of agents.reverse()) await a.close().catch(() => {});
    await daemon?.stop().catch(() => {});
    ns.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function churnResult(o: ChurnOptions, passes: ChurnPass[]): BenchResult {
  const g = passes.filter((p) => p.daemon === 'gredged');
  const b = passes.filter((p) => p.daemon === 'bird');
  const m = (ps: ChurnPass[], f: (p: ChurnPass) => number | null) => (ps.length ? median(ps.map(f)) : null);
  const worst = (ps: ChurnPass[], f: (p: ChurnPass) => number) => (ps.length ? Math.max(...ps.map(f)) : null);
  const both = (id: string, label: string, unit: string, f: (p: ChurnPass) => number | null, note?: string) =>
    figure(id, label, unit, m(g, f), m(b, f), note);
  const figures = [
    both(
      'cpu_pct',
      'daemon CPU during the churn (100 = one core)',
      '%',
      (p) => p.cpuPct,
      'user + system, all threads, /proc/PID/stat over the flap window + 3 s',
    ),
    figure(
      'lag_p99_ms',
      'event-loop lag p99 during the churn',
      'ms',
      m(g, (p) => p.lagP99Ms),
      null,
      "99th percentile of the per-second p99 of gredged's monitorEventLoopDelay (metrics, 1 s scrapes); BIRD has no event-loop gauge",
    ),
    figure(
      'lag_max_ms',
      'event-loop lag max during the churn',
      'ms',
      m(g, (p) => p.lagMaxMs),
      null,
      'largest per-second max of nodejs_eventloop_lag_max_seconds; BIRD: none',
    ),
    both('updates_out_per_s', 'UPDATEs out to customers (all sessions)', '/s', (p) => p.updatesPerS),
    both(
      'prefixes_out_per_s',
      'prefix changes out to customers (all sessions)',
      '/s',
      (p) => p.prefixesPerS,
      'announced + withdrawn prefixes in the UPDATEs the customers received',
    ),
    both(
      'fib_writes_per_s',
      'kernel route changes (both tables)',
      '/s',
      (p) => p.fibWritesPerS,
      '`ip -o monitor route` lines in the namespace: tables 201 and 202, two per prefix change',
    ),
    both(
      'catch_up_s',
      'last UPDATE to customers after the flap ended',
      's',
      (p) => p.catchUpS,
      '1 s resolution',
    ),
    figure(
      'max_keepalive_gap_s',
      'longest gap between messages at any customer',
      's',
      worst(g, (p) => p.maxGapS),
      worst(b, (p) => p.maxGapS),
      `worst over runs; hold time ${o.hold}: a gap ≥ ${o.hold} s is a missed keepalive`,
    ),
    figure(
      'sessions_missed_keepalive',
      'customer sessions with a gap ≥ hold time',
      'count',
      worst(g, (p) => p.missed),
      worst(b, (p) => p.missed),
    ),
    figure(
      'sessions_dropped',
      'customer sessions dropped',
      'count',
      worst(g, (p) => p.dropped),
      worst(b, (p) => p.dropped),
    ),
    both('base_load_s', `base table (${o.base}) to every customer`, 's', (p) => p.baseLoadS),
  ];
  const first = (ps: ChurnPass[]) => ps[0];
  const series = (title: string, pick: (p: ChurnPass) => Array<[number, number]>, gName = 'gredged') =>
    [
      ...(first(g) ? [{ name: gName, points: pick(first(g)!) }] : []),
      ...(first(b) ? [{ name: 'BIRD 2', points: pick(first(b)!) }] : []),
    ].filter((s) => s.points.length > 0 && title.length > 0);
  const plots: Plot[] = [
    {
      id: 'churn_lag',
      title: `gredged event-loop lag during the churn (${o.rate}/s)`,
      x: { label: 'time since the flap started', unit: 's' },
      y: { label: 'lag', unit: 'ms' },
      series: first(g)
        ? [
            { name: 'gredged p99', points: first(g)!.series.lagP99 },
            { name: 'gredged max', points: first(g)!.series.lagMax },
          ]
        : [],
    },
    {
      id: 'churn_cpu',
      title: 'daemon CPU during the churn',
      x: { label: 'time since the flap started', unit: 's' },
      y: { label: 'CPU', unit: '%' },
      series: series('cpu', (p) => p.series.cpu),
    },
    {
      id: 'churn_updates',
      title: 'UPDATEs out to customers',
      x: { label: 'time since the flap started', unit: 's' },
      y: { label: 'UPDATEs', unit: '/s' },
      series: series('updates', (p) => p.series.updates),
    },
    {
      id: 'churn_fib',
      title: 'kernel route changes',
      x: { label: 'time since the flap started', unit: 's' },
      y: { label: 'route changes', unit: '/s' },
      series: series('fib', (p) => p.series.fib),
    },
  ];
  return {
    bench: 'churn',
    date: new Date().toISOString(),
    host: hostInfo(),
    params: {
      rate: o.rate,
      seconds: o.seconds,
      customers: o.customers,
      base: o.base,
      hold_time: o.hold,
      runs: o.runs,
      only: o.only ?? 'both',
    },
    figures,
    plots,
    raw: passes.map(({ sessions, ...p }) => ({
      ...p,
      sessionsOverHalfHold: sessions.filter((s) => s.maxGapMs >= (o.hold * 1000) / 2).length,
      closed: sessions.filter((s) => s.closed).map((s) => `${s.local}: ${s.closed}`),
    })),
  };
}

async function main(): Promise<number> {
  const o = benchOptions(parse, 'bench:churn needs root (network namespaces and kernel tables)');
  if (!o) return 2;
  const which: Which[] = o.only ? [o.only] : ['gredged', 'bird'];
  const passes: ChurnPass[] = [];
  const failures: string[] = [];
  for (let r = 0; r < o.runs; r++)
    for (const w of which) {
      console.error(
        `run ${r + 1}/${o.runs}: ${w} (${o.customers} customers, base ${o.base}, ${o.rate}/s for ${o.seconds} s)`,
      );
      try {
        const p = await churnPass(w, o);
        passes.push(p);
        console.error(
          `  cpu ${p.cpuPct?.toFixed(0)}%  lag p99/max ${p.lagP99Ms?.toFixed(1) ?? '—'}/${p.lagMaxMs?.toFixed(1) ?? '—'} ms  ` +
            `updates ${p.updatesPerS?.toFixed(0)}/s  fib ${p.fibWritesPerS?.toFixed(0)}/s  max gap ${p.maxGapS.toFixed(2)} s  ` +
            `dropped ${p.dropped}  (load ${p.loadavg.toFixed(2)})`,
        );
      } catch (err) {
        failures.push(`${w} run ${r + 1}: ${(err as Error).message}`);
        console.error(`  failed: ${(err as Error).message}`);
      }
    }
  const result = churnResult(o, passes);
  return finishBench(o.json, result, failures);
}

if (process.argv[1] && import.meta.url === (await import('node:url')).pathToFileURL(process.argv[1]).href)
  process.exitCode = await main();
