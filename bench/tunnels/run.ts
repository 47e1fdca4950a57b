#!/usr/bin/env node
/**
 * bench:tunnels (issue 13): gredged with N GRE tunnels, one customer each (config.ts), beside
 * BIRD 2 with the same N customer BGP protocols (BIRD has no GRE). See bench/tunnels/README.md.
 *   node dist/bench/tunnels/run.js [--tunnels 10000] [--sessions 200] [--runs 1]
 *                                  [--only gredged|bird] [--queries 20] [--json FILE]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ControlClient } from '../../src/control/client.js';
import { AgentProc } from '../churn/agent-client.js';
import { benchNs } from '../churn/ns.js';
import { atCleanup } from '../fib/cleanup.js';
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
import { type Customer, customers, MAX_SESSIONS } from './config.js';
import {
  birdc,
  birdProtocols,
  gredgectl,
  METRICS_PORT,
  PORT,
  rssBytes,
  type Started,
  startBird,
  startGredged,
  writeBirdConf,
  writeGredgedConf,
} from './daemons.js';

type Which = 'gredged' | 'bird';

export interface TunnelsOptions {
  tunnels: number;
  sessions: number;
  runs: number;
  queries: number;
  /** Customer counts of the memory plot (0 and `tunnels` give the per-customer figure). */
  sizes: number[];
  only?: Which;
  json: string;
}

/** One daemon at one size: start-up and memory; at the full size, the rest. */
export interface SizePass {
  daemon: Which;
  tunnels: number;
  startS: number;
  rssMB: number;
  sessionsUpS?: number;
  loadavg: number;
  full?: FullPass;
}

export interface FullPass {
  reloadS: number;
  /** gredged's own account of that reload (its `reload: applied` log line): ms and entries kept. */
  reloadSteps?: string;
  reloadOk: boolean;
  /** Sessions other than the changed customer's that dropped, or whose uptime went back. */
  sessionsDisturbed: number;
  /** Tunnels pinged during the reload whose transmit counter did not keep counting. */
  tunnelsDisturbed: number;
  showNeighborsMs: number[];
  showTunnelsMs: number[];
  /** The same requests over one open control connection: the daemon's share, without Node's start. */
  socketNeighborsMs?: number[];
  socketTunnelsMs?: number[];
  scrape?: { ms: number[]; bytes: number; loopMaxMs: number[] };
  scrapeTotals?: { ms: number[]; bytes: number; loopMaxMs: number[] };
  metricsReloadS?: number;
}

function parse(argv: string[]): TunnelsOptions {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      tunnels: { type: 'string', default: '10000' },
      sessions: { type: 'string', default: '200' },
      runs: { type: 'string', default: '1' },
      queries: { type: 'string', default: '20' },
      sizes: { type: 'string' },
      only: { type: 'string' },
      json: { type: 'string', default: 'bench/results/tunnels.json' },
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
  const o: TunnelsOptions = {
    tunnels: int('tunnels', v.tunnels!, 4, 0x7fff),
    sessions: int('sessions', v.sessions!, 1, MAX_SESSIONS),
    runs: int('runs', v.runs!, 1, 20),
    queries: int('queries', v.queries!, 3, 1000),
    sizes: [],
    json: v.json!,
  };
  o.sizes = v.sizes
    ? [...new Set([...v.sizes.split(',').map((x) => int('sizes', x.trim(), 0, o.tunnels)), o.tunnels])].sort(
        (a, b) => a - b,
      )
    : defaultSizes(o.tunnels);
  if (v.only) o.only = v.only as Which;
  if (o.sessions >= o.tunnels)
    throw new Error(
      '--sessions must be below --tunnels (the changed customer and the pinged tunnels sit beyond them)',
    );
  return o;
}

/** The sizes of the memory plot: 0, a tenth, a half, all. */
export function defaultSizes(n: number): number[] {
  return [...new Set([0, Math.round(n / 10), Math.round(n / 2), n])];
}

/** Start-up deadline: generous, the config checks of a big box take long (README). */
const startDeadline = (n: number) => 120_000 + n * 60;

async function realSessions(ns: string, cs: Customer[], concurrency: number): Promise<AgentProc> {
  const real = cs.filter((c) => c.real);
  const agent = await AgentProc.start(
    ns,
    {
      mode: 'customers',
      daemon: '127.0.0.1',
      port: PORT,
      hold: 90,
      customers: real.map((c) => ({ local: c.address, as: c.asn, announce: [c.route4!] })),
      concurrency,
    },
    false,
  );
  return agent;
}

/** The longest-established-first uptimes of gredged's neighbors (name → seconds or null). */
async function gredgedUptimes(socket: string): Promise<Map<string, number | null>> {
  const r = await gredgectl(socket, '--json', 'show', 'neighbors');
  if (r.code !== 0) throw new Error(`gredgectl show neighbors: ${r.out.slice(0, 500)}`);
  const j = JSON.parse(r.out) as unknown;
  const rows = (Array.isArray(j) ? j : ((j as { neighbors?: unknown[] }).neighbors ?? [])) as Array<{
    name: string;
    uptimeSeconds: number | null;
  }>;
  return new Map(rows.map((n) => [n.name, n.uptimeSeconds]));
}

async function gredgedTx(socket: string): Promise<Map<string, number>> {
  const r = await gredgectl(socket, '--json', 'show', 'tunnels');
  if (r.code !== 0) throw new Error(`gredgectl show tunnels: ${r.out.slice(0, 500)}`);
  const j = JSON.parse(r.out) as unknown;
  const rows = (Array.isArray(j) ? j : ((j as { tunnels?: unknown[] }).tunnels ?? [])) as Array<{
    name: string;
    txPackets: number;
  }>;
  return new Map(rows.map((t) => [t.name, t.txPackets]));
}

/** A steady ping into a tunnel (its customer's inner address), so its counters move; ended by PID. */
function pinger(ns: string, c: Customer): () => void {
  const p = spawn('ip', ['netns', 'exec', ns, 'ping', '-6', '-q', '-i', '0.05', c.peer6], {
    stdio: 'ignore',
  });
  const undo = atCleanup(() => {
    if (p.exitCode === null && p.signalCode === null && p.pid !== undefined) process.kill(p.pid, 'SIGKILL');
  });
  return undo;
}

async function timesOf(
  n: number,
  f: () => Promise<{ code: number; ms: number; out: string }>,
): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await f();
    if (r.code !== 0) throw new Error(`query failed: ${r.out.slice(0, 500)}`);
    out.push(r.ms);
  }
  return out;
}

/** `n` requests over one control connection, each timed from send to the whole answer. */
async function socketTimes(socket: string, cmd: string, n: number): Promise<number[]> {
  const c = await ControlClient.connect(socket);
  try {
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      const r = await c.request(cmd, {}, 120_000);
      out.push(performance.now() - t0);
      if (!(r as { ok?: boolean }).ok) throw new Error(`${cmd}: ${JSON.stringify(r).slice(0, 300)}`);
    }
    return out;
  } finally {
    c.close();
  }
}

/**
 * A reload over the control socket, timed from the request to the daemon's answer (it answers
 * once the reload is applied or refused). Not through gredgectl, so that node's start-up is not
 * counted (gredgectl waits up to 300 s for a reload).
 */
async function reloadOver(socket: string): Promise<{ ok: boolean; ms: number; said: string }> {
  const c = await ControlClient.connect(socket);
  try {
    const t0 = performance.now();
    const r = await c.request('reload', {}, 900_000);
    const ms = performance.now() - t0;
    return { ok: (r as { ok?: boolean }).ok === true, ms, said: JSON.stringify(r).slice(0, 500) };
  } finally {
    c.close();
  }
}

async function scrapes(
  probe: AgentProc,
  n: number,
): Promise<{ ms: number[]; bytes: number; loopMaxMs: number[] }> {
  const ms: number[] = [];
  const loopMaxMs: number[] = [];
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    await new Promise((r) => setTimeout(r, 300));
    const a = await probe.ask({ cmd: 'scrape' }, 'scraped', 120_000);
    // The next scrape's lag max covers the loop from a's read onwards: a's own build.
    const b = await probe.ask({ cmd: 'scrape' }, 'scraped', 120_000);
    if (a.status !== 200) throw new Error(`GET /metrics: ${a.status}`);
    ms.push(a.ms);
    bytes = a.bytes;
    if (b.lagMaxMs !== undefined) loopMaxMs.push(b.lagMaxMs);
  }
  return { ms, bytes, loopMaxMs };
}

async function fullGredged(
  ns: string,
  dir: string,
  cs: Customer[],
  s: Started,
  agent: AgentProc,
  o: TunnelsOptions,
): Promise<FullPass> {
  const changed = cs.find((c) => !c.real)!;
  const pinged = [cs[o.sessions + 1], cs[Math.floor(cs.length / 2)], cs[cs.length - 1]].filter(
    (c): c is Customer => c !== undefined && c.i !== changed.i,
  );
  const stops = pinged.map((c) => pinger(ns, c));
  try {
    await new Promise((r) => setTimeout(r, 1500));
    const up0 = await gredgedUptimes(s.socket);
    const tx0 = await gredgedTx(s.socket);
    writeGredgedConf(dir, cs, true, changed.i);
    const lostBefore = agent.lost.length;
    const r = await reloadOver(s.socket);
    if (!r.ok) throw new Error(`reload changing ${changed.name}: ${r.said}`);
    await new Promise((res) => setTimeout(res, 1500));
    const applied = /"ms":(\{[^}]*\})(?:,"kept":(\{[^}]*\}))?[^\n]*reload: applied/.exec(s.daemon.output);
    const reloadSteps = applied ? `ms ${applied[1]}, kept ${applied[2] ?? 'none'}` : undefined;
    const up1 = await gredgedUptimes(s.socket);
    const tx1 = await gredgedTx(s.socket);
    let sessionsDisturbed = agent.lost.length - lostBefore;
    for (const c of cs.filter((x) => x.real)) {
      const a = up0.get(c.name);
      const b = up1.get(c.name);
      if (a == null || b == null || b < a) sessionsDisturbed++;
    }
    const tunnelsDisturbed = pinged.filter(
      (c) => !((tx1.get(c.tunnel) ?? 0) > (tx0.get(c.tunnel) ?? 0)),
    ).length;
    const showNeighborsMs = await timesOf(o.queries, () => gredgectl(s.socket, 'show', 'neighbors'));
    const showTunnelsMs = await timesOf(o.queries, () => gredgectl(s.socket, 'show', 'tunnels'));
    const socketNeighborsMs = await socketTimes(s.socket, 'show neighbors', o.queries);
    const socketTunnelsMs = await socketTimes(s.socket, 'show tunnels', o.queries);
    const probe = await AgentProc.start(ns, {
      mode: 'probe',
      metricsUrl: `http://127.0.0.1:${METRICS_PORT}/metrics`,
      monitorRoutes: false,
    });
    try {
      const scrape = await scrapes(probe, 5);
      // The switch for very many tunnels (docs/metrics.md): `per-tunnel: false`, applied by a reload.
      writeGredgedConf(dir, cs, false, changed.i);
      const mr = await reloadOver(s.socket);
      if (!mr.ok) throw new Error(`reload with per-tunnel false: ${mr.said}`);
      const scrapeTotals = await scrapes(probe, 5);
      return {
        reloadS: r.ms / 1000,
        ...(reloadSteps ? { reloadSteps } : {}),
        reloadOk: r.ok,
        sessionsDisturbed,
        tunnelsDisturbed,
        showNeighborsMs,
        showTunnelsMs,
        socketNeighborsMs,
        socketTunnelsMs,
        scrape,
        scrapeTotals,
        metricsReloadS: mr.ms / 1000,
      };
    } finally {
      await probe.close();
    }
  } finally {
    for (const s of stops) s();
  }
}

async function fullBird(
  dir: string,
  cs: Customer[],
  s: Started,
  agent: AgentProc,
  o: TunnelsOptions,
): Promise<FullPass> {
  const changed = cs.find((c) => !c.real)!;
  const p0 = birdProtocols((await birdc(s.socket, 'show', 'protocols')).out);
  writeBirdConf(dir, cs, changed.i);
  const lostBefore = agent.lost.length;
  const r = await birdc(s.socket, 'configure');
  await new Promise((res) => setTimeout(res, 1500));
  const p1 = birdProtocols((await birdc(s.socket, 'show', 'protocols')).out);
  let sessionsDisturbed = agent.lost.length - lostBefore;
  for (const c of cs.filter((x) => x.real)) {
    const a = p0.get(c.name);
    const b = p1.get(c.name);
    if (!a || !b || b.since !== a.since || !/Established/.test(b.info)) sessionsDisturbed++;
  }
  const showNeighborsMs = await timesOf(o.queries, () => birdc(s.socket, 'show', 'protocols'));
  return {
    reloadS: r.ms / 1000,
    reloadOk: r.code === 0 && /Reconfigured/.test(r.out),
    sessionsDisturbed,
    tunnelsDisturbed: 0,
    showNeighborsMs,
    showTunnelsMs: [],
  };
}

export async function sizePass(which: Which, n: number, full: boolean, o: TunnelsOptions): Promise<SizePass> {
  const dir = mkdtempSync(join(tmpdir(), 'gt-tunnels-'));
  const ns = benchNs(`tu${which === 'bird' ? 'b' : 'g'}`);
  let started: Started | undefined;
  let agent: AgentProc | undefined;
  try {
    const cs = customers(n, Math.min(o.sessions, n));
    started =
      which === 'gredged'
        ? await startGredged(ns.name, dir, cs, { perTunnel: true, deadlineMs: startDeadline(n) })
        : await startBird(ns.name, dir, cs, startDeadline(n));
    const pass: SizePass = {
      daemon: which,
      tunnels: n,
      startS: started.startS,
      rssMB: 0,
      loadavg: loadavg()[0]!,
    };
    if (cs.some((c) => c.real)) {
      agent = await realSessions(ns.name, cs, 8);
      const e = await agent.ask({ cmd: 'connect' }, 'established', 120_000 + o.sessions * 1000);
      pass.sessionsUpS = (e.t1 - e.t0) / 1000;
    }
    // Memory once the sessions are up and the start's garbage had a moment to go.
    await new Promise((r) => setTimeout(r, 2000));
    pass.rssMB = rssBytes(started.daemon.pid) / 2 ** 20;
    if (full && agent)
      pass.full =
        which === 'gredged'
          ? await fullGredged(ns.name, dir, cs, started, agent, o)
          : await fullBird(dir, cs, started, agent, o);
    pass.loadavg = loadavg()[0]!;
    return pass;
  } finally {
    await agent?.close().catch(() => {});
    await started?.stop().catch(() => {});
    ns.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function tunnelsResult(o: TunnelsOptions, passes: SizePass[], failures: string[] = []): BenchResult {
  const at = (w: Which, n: number) => passes.filter((p) => p.daemon === w && p.tunnels === n);
  const m = (ps: SizePass[], f: (p: SizePass) => number | undefined | null) =>
    ps.length ? median(ps.map(f)) : null;
  const N = o.tunnels;
  const perUnit = (w: Which) => {
    const a = m(at(w, 0), (p) => p.rssMB);
    const b = m(at(w, N), (p) => p.rssMB);
    return a === null || b === null ? null : ((b - a) * 1024) / N;
  };
  const fullOf = (w: Which) => passes.filter((p) => p.daemon === w && p.full).map((p) => p.full!);
  const fm = (w: Which, f: (p: FullPass) => number | undefined | null) => {
    const ps = fullOf(w);
    return ps.length ? median(ps.map(f)) : null;
  };
  const pct = (xs: number[], q: number) => percentile(xs, q);
  const figures = [
    figure(
      'start_s',
      `start until ready, ${N} tunnels / BGP protocols`,
      's',
      m(at('gredged', N), (p) => p.startS),
      m(at('bird', N), (p) => p.startS),
      'gredged: spawn → "gredged started" (READY=1 follows it) with every tunnel in the data plane; BIRD: spawn → every protocol listed by birdc',
    ),
    figure(
      'start_empty_s',
      'start until ready, empty config',
      's',
      m(at('gredged', 0), (p) => p.startS),
      m(at('bird', 0), (p) => p.startS),
    ),
    figure(
      'rss_mb',
      `RSS with ${N} customers`,
      'MB',
      m(at('gredged', N), (p) => p.rssMB),
      m(at('bird', N), (p) => p.rssMB),
    ),
    figure(
      'rss_per_tunnel_kb',
      'memory per customer ((RSS at N − RSS at 0) / N)',
      'KB',
      perUnit('gredged'),
      perUnit('bird'),
      'gredged: a tunnel (data plane, inner /127, a static /48) and its BGP neighbor; BIRD: a BGP protocol only',
    ),
    figure(
      'sessions_up_s',
      `${o.sessions} real customer sessions Established`,
      's',
      m(at('gredged', N), (p) => p.sessionsUpS),
      m(at('bird', N), (p) => p.sessionsUpS),
      '8 connections opened at a time (BIRD listens with a backlog of 8)',
    ),
    figure(
      'reload_one_s',
      'reload that changes one customer',
      's',
      fm('gredged', (f) => f.reloadS),
      fm('bird', (f) => f.reloadS),
      'request → answer over the control socket (what gredgectl reload sends, without node starting) / birdc configure; the change adds a /48 to one customer (tunnel route and allowed prefixes); target < 1 s',
    ),
    figure(
      'reload_metrics_s',
      'reload that turns per-tunnel metrics off',
      's',
      fm('gredged', (f) => f.metricsReloadS),
      null,
      'BIRD has no metrics',
    ),
    figure(
      'reload_disturbed_sessions',
      'other sessions reset by that reload',
      'count',
      fm('gredged', (f) => f.sessionsDisturbed),
      fm('bird', (f) => f.sessionsDisturbed),
      'a session lost, or its uptime / since not continuing',
    ),
    figure(
      'reload_disturbed_tunnels',
      'pinged tunnels whose counters stopped or reset',
      'count',
      fm('gredged', (f) => f.tunnelsDisturbed),
      null,
      'BIRD has no tunnels',
    ),
    figure(
      'show_neighbors_ms',
      'gredgectl show neighbors / birdc show protocols, median',
      'ms',
      fm('gredged', (f) => median(f.showNeighborsMs)),
      fm('bird', (f) => median(f.showNeighborsMs)),
      'end to end, as an operator runs it (gredgectl includes starting Node, ~0.1–0.3 s)',
    ),
    figure(
      'show_neighbors_p95_ms',
      'gredgectl show neighbors / birdc show protocols, p95',
      'ms',
      fm('gredged', (f) => pct(f.showNeighborsMs, 95)),
      fm('bird', (f) => pct(f.showNeighborsMs, 95)),
    ),
    figure(
      'show_tunnels_ms',
      'gredgectl show tunnels, median',
      'ms',
      fm('gredged', (f) => median(f.showTunnelsMs)),
      null,
      'BIRD has no tunnels',
    ),
    figure(
      'show_tunnels_p95_ms',
      'gredgectl show tunnels, p95',
      'ms',
      fm('gredged', (f) => pct(f.showTunnelsMs, 95)),
      null,
    ),
    figure(
      'show_neighbors_socket_ms',
      'show neighbors over an open control connection, median',
      'ms',
      fm('gredged', (f) => (f.socketNeighborsMs ? median(f.socketNeighborsMs) : null)),
      null,
      "the daemon's share: request sent → whole answer read (birdc's own start is negligible)",
    ),
    figure(
      'show_neighbors_socket_p95_ms',
      'show neighbors over an open control connection, p95',
      'ms',
      fm('gredged', (f) => (f.socketNeighborsMs ? pct(f.socketNeighborsMs, 95) : null)),
      null,
    ),
    figure(
      'show_tunnels_socket_ms',
      'show tunnels over an open control connection, median',
      'ms',
      fm('gredged', (f) => (f.socketTunnelsMs ? median(f.socketTunnelsMs) : null)),
      null,
    ),
    figure(
      'show_tunnels_socket_p95_ms',
      'show tunnels over an open control connection, p95',
      'ms',
      fm('gredged', (f) => (f.socketTunnelsMs ? pct(f.socketTunnelsMs, 95) : null)),
      null,
    ),
    figure(
      'scrape_ms',
      'GET /metrics, per-tunnel series on, median',
      'ms',
      fm('gredged', (f) => (f.scrape ? median(f.scrape.ms) : null)),
      null,
      'BIRD has no metrics endpoint',
    ),
    figure(
      'scrape_kb',
      'GET /metrics size, per-tunnel series on',
      'KB',
      fm('gredged', (f) => (f.scrape ? f.scrape.bytes / 1024 : null)),
      null,
    ),
    figure(
      'scrape_loop_block_ms',
      'longest event-loop block during a scrape, median',
      'ms',
      fm('gredged', (f) => (f.scrape ? median(f.scrape.loopMaxMs) : null)),
      null,
      "nodejs_eventloop_lag_max_seconds of the scrape that follows (the loop since the measured scrape's read)",
    ),
    figure(
      'scrape_totals_ms',
      'GET /metrics, per-tunnel: false, median',
      'ms',
      fm('gredged', (f) => (f.scrapeTotals ? median(f.scrapeTotals.ms) : null)),
      null,
    ),
    figure(
      'scrape_totals_kb',
      'GET /metrics size, per-tunnel: false',
      'KB',
      fm('gredged', (f) => (f.scrapeTotals ? f.scrapeTotals.bytes / 1024 : null)),
      null,
    ),
  ];
  const series = (w: Which, name: string, f: (p: SizePass) => number) =>
    o.sizes
      .map((n): [number, number | null] => [n, m(at(w, n), f)])
      .filter((pt): pt is [number, number] => pt[1] !== null)
      .map((pt) => ({ pt }))
      .reduce(
        (acc, { pt }) => {
          acc.points.push([pt[0], Math.round(pt[1] * 10) / 10]);
          return acc;
        },
        { name, points: [] as Array<[number, number]> },
      );
  const plots: Plot[] = [
    {
      id: 'tunnels_rss',
      title: 'RSS against customers (gredged: tunnel + BGP neighbor; BIRD 2: BGP protocol)',
      x: { label: 'customers', unit: 'count' },
      y: { label: 'RSS', unit: 'MB' },
      series: [series('gredged', 'gredged', (p) => p.rssMB), series('bird', 'BIRD 2', (p) => p.rssMB)].filter(
        (s) => s.points.length,
      ),
    },
    {
      id: 'tunnels_start',
      title: 'start until ready against customers',
      x: { label: 'customers', unit: 'count' },
      y: { label: 'start-up', unit: 's' },
      series: [
        series('gredged', 'gredged', (p) => p.startS),
        series('bird', 'BIRD 2', (p) => p.startS),
      ].filter((s) => s.points.length),
    },
  ];
  return {
    bench: 'tunnels',
    date: new Date().toISOString(),
    host: hostInfo(),
    params: {
      tunnels: N,
      sessions: o.sessions,
      runs: o.runs,
      queries: o.queries,
      sizes: o.sizes.join(','),
      only: o.only ?? 'both',
    },
    figures,
    plots,
    // A size a daemon could not start at is a finding (e.g. gredged's config load timing out).
    raw: { passes, failures },
  };
}

async function main(): Promise<number> {
  const o = benchOptions(parse, 'bench:tunnels needs root (a namespace and a TUN)');
  if (!o) return 2;
  const which: Which[] = o.only ? [o.only] : ['gredged', 'bird'];
  const passes: SizePass[] = [];
  const failures: string[] = [];
  for (let r = 0; r < o.runs; r++)
    for (const w of which)
      for (const n of o.sizes) {
        console.error(`run ${r + 1}/${o.runs}: ${w} with ${n} customers`);
        try {
          const p = await sizePass(w, n, n === o.tunnels, o);
          passes.push(p);
          const f = p.full;
          console.error(
            `  start ${p.startS.toFixed(2)} s  RSS ${p.rssMB.toFixed(1)} MB` +
              (p.sessionsUpS !== undefined ? `  sessions up ${p.sessionsUpS.toFixed(2)} s` : '') +
              (f
                ? `  reload ${f.reloadS.toFixed(2)} s (ok ${f.reloadOk}, disturbed ${f.sessionsDisturbed}/${f.tunnelsDisturbed}${f.reloadSteps ? `; ${f.reloadSteps}` : ''})` +
                  `  show ${median(f.showNeighborsMs)?.toFixed(0)} ms` +
                  (f.scrape
                    ? `  scrape ${median(f.scrape.ms)?.toFixed(0)} ms ${(f.scrape.bytes / 1024).toFixed(0)} KB`
                    : '')
                : '') +
              `  (load ${p.loadavg.toFixed(2)})`,
          );
        } catch (err) {
          failures.push(`${w} ${n} run ${r + 1}: ${(err as Error).message}`);
          console.error(`  failed: ${(err as Error).message.slice(0, 2000)}`);
        }
      }
  const result = tunnelsResult(o, passes, failures);
  return finishBench(o.json, result, failures, 500);
}

if (process.argv[1] && import.meta.url === (await import('node:url')).pathToFileURL(process.argv[1]).href)
  process.exitCode = await main();
