#!/usr/bin/env node
/**
 * The benches' hands inside a `gt-` namespace (started with `ip netns exec`, so the PID is
 * node's), in one of three roles given as a JSON argument (protocol.ts):
 * - customers: N BGP speakers (bench/bgp-propagation/speaker.ts) to the daemon, each counting
 *   the UPDATEs and prefixes it is sent and the largest gap between arrivals (gaps.ts);
 * - transit: one speaker that writes the base table, then flaps (flap.ts) on a fixed schedule;
 * - probe: samples the daemon's /metrics once a second (event-loop lag, FIB writes) and counts
 *   the namespace's route changes with `ip -o monitor route`.
 * Every role also measures its own event loop, so a gap caused by the agent shows as such.
 */
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { buildFeed } from '../bgp-propagation/feed.js';
import { Speaker } from '../bgp-propagation/speaker.js';
import { countPrefixes, flapSteps } from './flap.js';
import { GapTracker } from './gaps.js';
import {
  type AgentArgs,
  type AgentEvent,
  type Command,
  type CustomerSpec,
  nowMs,
  type SessionReport,
} from './protocol.js';

const args = JSON.parse(process.argv[2] ?? '{}') as AgentArgs;
const emit = (e: AgentEvent): void => {
  process.stdout.write(`${JSON.stringify(e)}\n`);
};
const loop = monitorEventLoopDelay({ resolution: 5 });
loop.enable();
/** Own longest loop delay since the last call (ms). */
function loopMax(): number {
  const m = loop.max / 1e6;
  loop.reset();
  return m;
}

// ---------------------------------------------------------------- customers

interface Session {
  spec: CustomerSpec;
  sp: Speaker;
  gaps: GapTracker;
  updates: number;
  announced: number;
  closed?: string;
}
const sessions: Session[] = [];
let quitting = false;

let totalUpdates = 0;
let totalPrefixes = 0;

function announceUpdate(spec: CustomerSpec): Buffer | undefined {
  if (!spec.announce?.length) return undefined;
  const nh = spec.local.split('.').map(Number);
  const attrs = [0x40, 1, 1, 0, 0x40, 2, 6, 2, 1, ...u32(spec.as), 0x40, 3, 4, ...nh];
  const nlri: number[] = [];
  for (const p of spec.announce) {
    const [a, l] = p.split('/');
    const len = Number(l);
    nlri.push(
      len,
      ...a!
        .split('.')
        .map(Number)
        .slice(0, (len + 7) >>> 3),
    );
  }
  const body = [0, 0, ...u16(attrs.length), ...attrs, ...nlri];
  const b = Buffer.alloc(19 + body.length, 0xff);
  b.writeUInt16BE(19 + body.length, 16);
  b[18] = 2;
  Buffer.from(body).copy(b, 19);
  return b;
}
const u16 = (n: number) => [(n >>> 8) & 0xff, n & 0xff];
const u32 = (n: number) => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];

async function connectCustomers(a: Extract<AgentArgs, { mode: 'customers' }>): Promise<void> {
  const t0 = nowMs();
  let next = 0;
  const one = async (spec: CustomerSpec) => {
    const sp = await Speaker.connect({
      localAddress: spec.local,
      localAs: spec.as,
      routerId: spec.local,
      remoteAddress: a.daemon,
      remotePort: a.port,
      holdTime: a.hold,
      connectTimeoutMs: 120_000,
    });
    const s: Session = { spec, sp, gaps: new GapTracker(nowMs()), updates: 0, announced: 0 };
    sp.socket.on('data', () => s.gaps.note(nowMs()));
    sp.onUpdate = (buf, off, len) => {
      const c = countPrefixes(buf, off, len);
      s.updates++;
      s.announced += c.announced;
      totalUpdates++;
      totalPrefixes += c.announced + c.withdrawn;
    };
    sp.onClose = (why) => {
      if (quitting) return;
      s.closed = why;
      emit({ ev: 'lost', who: spec.local, why });
    };
    sessions.push(s);
    const upd = announceUpdate(spec);
    if (upd) await sp.write(upd);
  };
  const worker = async () => {
    while (next < a.customers.length) await one(a.customers[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, a.concurrency) }, worker));
  emit({ ev: 'established', n: sessions.length, t0, t1: nowMs() });
  setInterval(() => {
    const t = nowMs();
    let maxGapMs = 0;
    let closed = 0;
    for (const s of sessions) {
      maxGapMs = Math.max(maxGapMs, s.gaps.maxAt(t));
      if (s.closed) closed++;
    }
    emit({
      ev: 'tick',
      t,
      updates: totalUpdates,
      prefixes: totalPrefixes,
      maxGapMs,
      closed,
      loopMaxMs: loopMax(),
    });
  }, 1000);
}

function awaitPrefixes(n: number): void {
  const check = () => {
    if (sessions.every((s) => s.announced >= n)) emit({ ev: 'holding', t: nowMs() });
    else setTimeout(check, 50);
  };
  check();
}

function report(): void {
  const t = nowMs();
  const out: SessionReport[] = sessions.map((s) => ({
    local: s.spec.local,
    maxGapMs: s.gaps.maxAt(t),
    maxGapAt: s.gaps.maxAt(t) > s.gaps.maxGapMs ? t : s.gaps.maxGapAt,
    arrivals: s.gaps.arrivals,
    updates: s.updates,
    ...(s.closed ? { closed: s.closed } : {}),
  }));
  emit({ ev: 'report', sessions: out, loopMaxMs: loop.max / 1e6 });
}

// ---------------------------------------------------------------- transit

let transit: Speaker | undefined;

async function connectTransit(a: Extract<AgentArgs, { mode: 'transit' }>): Promise<void> {
  const t0 = nowMs();
  transit = await Speaker.connect({
    localAddress: a.local,
    localAs: a.as,
    routerId: a.local,
    remoteAddress: a.daemon,
    remotePort: a.port,
    holdTime: a.hold,
    connectTimeoutMs: 120_000,
  });
  transit.onClose = (why) => {
    if (!quitting) emit({ ev: 'lost', who: 'transit', why });
  };
  emit({ ev: 'established', n: 1, t0, t1: nowMs() });
}

async function writeBase(a: Extract<AgentArgs, { mode: 'transit' }>): Promise<void> {
  const feed = buildFeed(a.base, a.as, a.nextHop);
  const t0 = nowMs();
  await transit!.write(feed.bytes);
  emit({ ev: 'base-written', t0, t1: nowMs(), updates: feed.updates });
}

const TICKS_PER_SECOND = 10;

async function flap(a: Extract<AgentArgs, { mode: 'transit' }>): Promise<void> {
  if (a.rate > a.base)
    throw new Error(`--rate ${a.rate} exceeds --base ${a.base}: the flap takes base prefixes`);
  const steps = flapSteps(a.rate, TICKS_PER_SECOND, a.as, a.nextHop);
  const total = a.seconds * TICKS_PER_SECOND;
  const t0 = nowMs();
  let lateMaxMs = 0;
  for (let k = 0; k < total; k++) {
    const due = t0 + (k * 1000) / TICKS_PER_SECOND;
    const wait = due - nowMs();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    else lateMaxMs = Math.max(lateMaxMs, -wait);
    const second = Math.floor(k / TICKS_PER_SECOND);
    const tick = k % TICKS_PER_SECOND;
    const payload = second % 2 === 0 ? steps.withdraw[tick]! : steps.announce[tick]!;
    // Backpressure would stall the schedule: write and go on; a late tick is counted above.
    transit!.socket.write(payload);
  }
  // An odd number of seconds leaves the flapped slice withdrawn: announce it back.
  if (a.seconds % 2 === 1) for (const p of steps.announce) transit!.socket.write(p);
  await new Promise<void>((r) =>
    transit!.socket.writableLength === 0 ? r() : transit!.socket.once('drain', r),
  );
  emit({ ev: 'flap-done', t0, t1: nowMs(), ticks: total, prefixes: a.rate * a.seconds, lateMaxMs });
}

// ---------------------------------------------------------------- probe

function get(url: string): Promise<{ status: number; body: string; ms: number }> {
  const t0 = nowMs();
  return new Promise((resolve, reject) => {
    const req = request(url, { timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
          ms: nowMs() - t0,
        }),
      );
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timeout`)));
    req.on('error', reject);
    req.end();
  });
}

/** The value of an unlabelled series in Prometheus text, or undefined. */
export function seriesOf(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name}(?:\\{\\})? ([-+0-9.eE]+|NaN)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

let routeEvents = 0;

function sample(a: Extract<AgentArgs, { mode: 'probe' }>): void {
  if (a.monitorRoutes) {
    // One line per route added, changed or deleted in any table of the namespace.
    const mon = spawn('ip', ['-o', 'monitor', 'route'], { stdio: ['ignore', 'pipe', 'ignore'] });
    mon.stdout.on('data', (d: Buffer) => {
      for (let i = 0; i < d.length; i++) if (d[i] === 10) routeEvents++;
    });
    process.on('exit', () => mon.kill('SIGKILL'));
  }
  let busy = false;
  setInterval(() => {
    if (busy) return;
    const t = nowMs();
    if (!a.metricsUrl) return emit({ ev: 'sample', t, routeEvents });
    busy = true;
    get(a.metricsUrl).then(
      (r) => {
        busy = false;
        const sec = (n: string) => {
          const v = seriesOf(r.body, n);
          return v === undefined ? undefined : v * 1000;
        };
        const e: AgentEvent = { ev: 'sample', t, routeEvents, scrapeMs: r.ms };
        const p99 = sec('nodejs_eventloop_lag_p99_seconds');
        const max = sec('nodejs_eventloop_lag_max_seconds');
        const fib = seriesOf(r.body, 'gredge_fib_route_writes_total');
        if (p99 !== undefined) e.lagP99Ms = p99;
        if (max !== undefined) e.lagMaxMs = max;
        if (fib !== undefined) e.fibWrites = fib;
        emit(e);
      },
      (err: Error) => {
        busy = false;
        emit({ ev: 'error', message: err.message });
      },
    );
  }, 1000);
}

async function scrape(a: Extract<AgentArgs, { mode: 'probe' }>): Promise<void> {
  if (!a.metricsUrl) throw new Error('scrape: no metrics URL');
  const r = await get(a.metricsUrl);
  const lag = seriesOf(r.body, 'nodejs_eventloop_lag_max_seconds');
  emit({
    ev: 'scraped',
    ms: r.ms,
    bytes: Buffer.byteLength(r.body),
    status: r.status,
    ...(lag !== undefined ? { lagMaxMs: lag * 1000 } : {}),
  });
}

// ---------------------------------------------------------------- commands

function quit(): void {
  quitting = true;
  for (const s of sessions) s.sp.close();
  transit?.close();
  process.exit(0);
}

async function handle(c: Command): Promise<void> {
  if (c.cmd === 'quit') return quit();
  if (args.mode === 'customers') {
    if (c.cmd === 'connect') return connectCustomers(args);
    if (c.cmd === 'await-prefixes') return awaitPrefixes(c.n);
    if (c.cmd === 'report') return report();
  } else if (args.mode === 'transit') {
    if (c.cmd === 'connect') return connectTransit(args);
    if (c.cmd === 'base') return writeBase(args);
    if (c.cmd === 'flap') return flap(args);
  } else {
    if (c.cmd === 'sample') return sample(args);
    if (c.cmd === 'scrape') return scrape(args);
  }
  throw new Error(`${args.mode} agent: unknown command ${c.cmd}`);
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line.trim() === '') return;
  handle(JSON.parse(line) as Command).catch((e: Error) => emit({ ev: 'error', message: e.message }));
});
lines.on('close', quit);
emit({ ev: 'ready' });
