/**
 * bench:tunnels and bench:churn: the keepalive-gap accounting and the churn's UPDATE encoding on
 * their own (a gap at or over the hold time must be caught, also one still open at the end), and
 * each bench end to end at a tiny size against gredged and BIRD 2 (root: namespaces, a TUN,
 * kernel tables): it must finish, write a well-formed envelope and report figures that fit the
 * load it was given. The bench runs as a child; on failure or timeout it is stopped with SIGTERM
 * (its own cleanup deletes its namespaces and ends its daemons), then SIGKILLed with its process
 * group, and any `gt-…-PID` namespace it left is deleted here.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { type BenchResult, envelopeProblems } from '../../bench/envelope.js';
import { countPrefixes, encodeAnnounce, encodeWithdraw, flapSteps } from '../../bench/churn/flap.js';
import { GapTracker, judgeGaps } from '../../bench/churn/gaps.js';
import { perSecond, rateOver } from '../../bench/churn/measure.js';
import { leftoverNamespaces } from '../../bench/churn/ns.js';
import { ROOT } from '../interop/harness/gredged.js';
import { haveCommand } from '../interop/harness/proc.js';
import { skipUnless } from '../must-run.js';

t.test('gap accounting catches a missed keepalive', async (t) => {
  const g = new GapTracker(0);
  for (const at of [3000, 6000, 8900]) g.note(at);
  t.equal(g.maxGapMs, 3000, 'keepalives every 3 s: largest gap 3 s');
  g.note(18_900);
  t.equal(g.maxGapMs, 10_000, 'a 10 s silence is the largest gap');
  t.equal(g.maxGapAt, 18_900);
  t.equal(g.arrivals, 4);
  const open = new GapTracker(0);
  open.note(1000);
  t.equal(open.maxAt(12_000), 11_000, 'a silence still open at the end counts');
  const v = judgeGaps(
    [
      { maxGapMs: 3000 },
      { maxGapMs: 9000 },
      { maxGapMs: 8999 },
      { maxGapMs: 2000, closed: 'NOTIFICATION 4/0 ' },
    ],
    9,
  );
  t.same(
    v,
    { sessions: 4, maxGapS: 9, missed: 1, dropped: 1, ok: false },
    'a gap of exactly the hold time is missed',
  );
  t.ok(judgeGaps([{ maxGapMs: 3100 }, { maxGapMs: 2900 }], 9).ok, 'keepalives on time: ok');
});

t.test('churn UPDATEs: packed, counted back', async (t) => {
  const w = encodeWithdraw(0, 3000);
  const a = encodeAnnounce(0, 3000, 65001, '192.0.2.2');
  for (const [name, buf] of [
    ['withdraw', w],
    ['announce', a],
  ] as const) {
    let off = 0;
    let msgs = 0;
    let announced = 0;
    let withdrawn = 0;
    while (off < buf.length) {
      t.ok(
        buf.subarray(off, off + 16).every((b) => b === 0xff),
        `${name}: marker`,
      );
      const len = buf.readUInt16BE(off + 16);
      t.ok(len <= 4096, `${name}: message ${msgs} within 4096 bytes (${len})`);
      t.equal(buf[off + 18], 2, 'UPDATE');
      const c = countPrefixes(buf, off + 19, len - 19);
      announced += c.announced;
      withdrawn += c.withdrawn;
      off += len;
      msgs++;
    }
    t.equal(off, buf.length, `${name}: whole messages`);
    t.ok(msgs >= 3, `${name}: 3,000 prefixes need several messages (${msgs})`);
    t.same(
      { announced, withdrawn },
      name === 'withdraw' ? { announced: 0, withdrawn: 3000 } : { announced: 3000, withdrawn: 0 },
    );
  }
  const s = flapSteps(1000, 10, 65001, '192.0.2.2');
  t.equal(s.withdraw.length, 10);
  t.equal(s.announce.length, 10);
});

t.test('rates from cumulative counters', async (t) => {
  const pts: Array<[number, number]> = [
    [0, 0],
    [1000, 100],
    [2000, 300],
    [3000, 300],
  ];
  t.equal(rateOver(pts, 0, 2000), 150);
  t.equal(rateOver(pts, 500, 1500), 150, 'between samples: interpolated');
  t.same(perSecond(pts, 0, 0, 3000), [
    [1, 100],
    [2, 200],
    [3, 0],
  ]);
});

// ---------------------------------------------------------------- end to end

const missing =
  process.getuid?.() !== 0
    ? 'needs root (namespaces, a TUN, kernel tables)'
    : !haveCommand('bird') || !haveCommand('birdc')
      ? 'needs BIRD 2 (Debian package bird2)'
      : false;

const children = new Set<ChildProcess>();
function killGroup(c: ChildProcess): void {
  if (c.exitCode !== null || c.signalCode !== null || c.pid === undefined) return;
  try {
    process.kill(-c.pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}
function dropNamespaces(pid: number | undefined): void {
  if (pid === undefined) return;
  for (const ns of leftoverNamespaces(pid)) {
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      /* best effort */
    }
  }
}
process.on('exit', () => {
  for (const c of children) {
    killGroup(c);
    dropNamespaces(c.pid);
  }
});

/** SIGTERM (the bench cleans up after itself), then SIGKILL of the group after 10 s. */
async function stopBench(c: ChildProcess): Promise<void> {
  if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) {
    const exited = new Promise((r) => c.once('exit', r));
    try {
      process.kill(c.pid, 'SIGTERM');
    } catch {
      /* gone */
    }
    const timer = setTimeout(() => killGroup(c), 10_000);
    await exited;
    clearTimeout(timer);
  }
  dropNamespaces(c.pid);
  children.delete(c);
}

function runBench(t: Test, name: string, argv: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [join(ROOT, `dist/bench/${name}/run.js`), ...argv], {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(c);
    t.teardown(() => stopBench(c));
    let out = '';
    c.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    c.stderr!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const timer = setTimeout(() => {
      void stopBench(c);
      reject(new Error(`bench:${name} still running after ${timeoutMs / 1000} s:\n${out}`));
    }, timeoutMs);
    c.on('exit', (code) => {
      clearTimeout(timer);
      t.same(leftoverNamespaces(c.pid), [], `bench:${name} left no namespace`);
      if (code === 0) resolve(out);
      else reject(new Error(`bench:${name} exited ${code}:\n${out}`));
    });
  });
}

function fig(r: BenchResult, id: string) {
  const f = r.figures.find((x) => x.id === id);
  if (!f) throw new Error(`no figure ${id}`);
  return f;
}

t.test('bench:churn end to end, tiny', { skip: skipUnless(t, missing), timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gt-test-churn-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const json = join(dir, 'churn.json');
  const rate = 500;
  const seconds = 5;
  const customers = 5;
  const out = await runBench(
    t,
    'churn',
    [
      '--rate',
      `${rate}`,
      '--seconds',
      `${seconds}`,
      '--customers',
      `${customers}`,
      '--base',
      '2000',
      '--json',
      json,
    ],
    110_000,
  );
  t.match(out, /UPDATEs out to customers/, 'the table is printed');
  const r = JSON.parse(readFileSync(json, 'utf8')) as BenchResult;
  t.same(envelopeProblems(r), [], 'a well-formed envelope');
  t.equal(r.bench, 'churn');
  t.equal(r.params.rate, rate);
  // Each customer is sent every change: rate × customers over the window (flap + 3 s tail).
  const expected = (rate * customers * seconds) / (seconds + 3);
  for (const d of ['gredged', 'bird'] as const) {
    const p = fig(r, 'prefixes_out_per_s')[d]!;
    t.ok(p > expected * 0.5 && p < expected * 2, `${d}: ${p} prefix changes/s out, about ${expected}`);
    const fib = fig(r, 'fib_writes_per_s')[d]!;
    t.ok(fib > 0, `${d}: kernel route changes counted (${fib}/s)`);
    t.equal(fig(r, 'sessions_dropped')[d], 0, `${d}: no customer dropped`);
    t.equal(fig(r, 'sessions_missed_keepalive')[d], 0, `${d}: no missed keepalive`);
    const gap = fig(r, 'max_keepalive_gap_s')[d]!;
    t.ok(gap > 0 && gap < 9, `${d}: longest gap ${gap} s, below the hold time`);
    t.ok(fig(r, 'cpu_pct')[d]! > 0, `${d}: CPU measured`);
  }
  t.ok(fig(r, 'lag_max_ms').gredged! > 0, 'gredged event-loop lag sampled');
  t.equal(fig(r, 'lag_max_ms').bird, null, 'BIRD has no event-loop gauge');
  const lag = r.plots.find((p) => p.id === 'churn_lag')!;
  t.ok(lag.series.length === 2 && lag.series[0]!.points.length >= seconds - 1, 'lag over time plotted');
  const cpu = r.plots.find((p) => p.id === 'churn_cpu')!;
  t.same(
    cpu.series.map((s) => s.name),
    ['gredged', 'BIRD 2'],
  );
  t.ok(
    cpu.series.every((s) => s.points.some((p) => p[1] > 0)),
    'CPU over time plotted in % of a core',
  );
});

t.test('bench:tunnels end to end, tiny', { skip: skipUnless(t, missing), timeout: 150_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gt-test-tunnels-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const json = join(dir, 'tunnels.json');
  const n = 30;
  await runBench(
    t,
    'tunnels',
    ['--tunnels', `${n}`, '--sessions', '4', '--queries', '3', '--sizes', `${n}`, '--json', json],
    140_000,
  );
  const r = JSON.parse(readFileSync(json, 'utf8')) as BenchResult;
  t.same(envelopeProblems(r), [], 'a well-formed envelope');
  t.equal(r.bench, 'tunnels');
  t.equal(r.params.tunnels, n);
  for (const d of ['gredged', 'bird'] as const) {
    t.ok(fig(r, 'start_s')[d]! > 0, `${d}: start-up measured`);
    t.ok(fig(r, 'rss_mb')[d]! > 1, `${d}: RSS measured`);
    t.equal(fig(r, 'reload_disturbed_sessions')[d], 0, `${d}: the reload left the other sessions alone`);
    t.ok(fig(r, 'reload_one_s')[d]! > 0, `${d}: reload timed`);
  }
  t.equal(
    fig(r, 'reload_disturbed_tunnels').gredged,
    0,
    "the reload left the other tunnels' counters counting",
  );
  t.ok(
    fig(r, 'scrape_kb').gredged! > fig(r, 'scrape_totals_kb').gredged!,
    'per-tunnel: false makes the scrape smaller',
  );
  t.ok(fig(r, 'show_tunnels_ms').gredged! > 0);
  const rss = r.plots.find((p) => p.id === 'tunnels_rss')!;
  t.same(
    rss.series.map((s) => [s.name, s.points.map((p) => p[0])]),
    [
      ['gredged', [n]],
      ['BIRD 2', [n]],
    ],
    'RSS against customers, both daemons',
  );
});
