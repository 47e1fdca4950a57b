/**
 * bench:sessions and bench:memory end to end at a tiny size (20 customers, 2,000 + 500 prefixes,
 * one run) against gredged and BIRD 2: each must finish, write a well-formed results envelope
 * (figures with both daemons and ratio = gredged / BIRD, plots with both series) and report
 * figures that match the load it was given. Keeps the two benches from rotting between the
 * full-size runs nobody does in CI.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { BenchResult as Envelope, Figure } from '../../bench/envelope.js';
import { ROOT } from '../interop/harness/gredged.js';
import { haveCommand } from '../interop/harness/proc.js';
import { cannotRun } from '../must-run.js';
import { freePort } from '../ports.js';

const children = new Set<ChildProcess>();
/** The bench runs in its own process group: its daemons go with it if it has to be killed. */
function killGroup(c: ChildProcess): void {
  if (c.exitCode !== null || c.signalCode !== null || c.pid === undefined) return;
  try {
    process.kill(-c.pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}
process.on('exit', () => {
  for (const c of children) killGroup(c);
});

function runBench(t: Test, name: string, argv: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [join(ROOT, `dist/bench/${name}/run.js`), ...argv], {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(c);
    t.teardown(() => killGroup(c));
    let out = '';
    c.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    c.stderr!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const timer = setTimeout(() => {
      killGroup(c);
      reject(new Error(`bench:${name} still running after ${timeoutMs / 1000} s:\n${out}`));
    }, timeoutMs);
    c.on('exit', (code) => {
      clearTimeout(timer);
      children.delete(c);
      if (code === 0) resolve(out);
      else reject(new Error(`bench:${name} exited ${code}:\n${out}`));
    });
  });
}

function checkEnvelope(t: Test, e: Envelope, bench: string): Map<string, Figure> {
  t.equal(e.bench, bench, 'bench name');
  t.ok(Number.isFinite(Date.parse(e.date)), 'date is ISO');
  t.ok(e.host.cpus >= 1 && e.host.loadavg.length === 3 && e.host.kernel && e.host.node, 'host described');
  t.match(e.host.bird ?? '', /BIRD version 2/, 'BIRD version recorded');
  const figures = new Map(e.figures.map((f) => [f.id, f]));
  t.equal(figures.size, e.figures.length, 'figure ids are unique');
  for (const f of e.figures) {
    t.ok(f.label && f.unit, `${f.id}: label and unit`);
    for (const v of [f.gredged, f.bird, f.ratio])
      t.ok(v === null || Number.isFinite(v), `${f.id}: numbers or null`);
    if (f.gredged !== null && f.bird !== null && f.bird !== 0)
      t.ok(Math.abs(f.ratio! - f.gredged / f.bird) < 1e-9, `${f.id}: ratio = gredged / BIRD`);
    else t.equal(f.ratio, null, `${f.id}: no ratio without both`);
  }
  t.ok(e.plots.length >= 2, 'plots');
  for (const p of e.plots) {
    t.same(
      p.series.map((s) => s.name),
      ['gredged', 'BIRD 2'],
      `${p.id}: both daemons plotted`,
    );
    for (const s of p.series) t.ok(s.points.length > 0, `${p.id}/${s.name}: has points`);
  }
  return figures;
}

t.test('bench:sessions and bench:memory at a tiny size', async (t) => {
  if (process.getuid?.() !== 0) return cannotRun(t, 'needs root (the benches start daemons as the lab does)');
  if (!haveCommand('bird')) return cannotRun(t, 'BIRD 2 is not installed (apt-get install bird2)');
  const dir = mkdtempSync(join(tmpdir(), 'gredge-bench-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));

  t.test('sessions', async (t) => {
    const json = join(dir, 'sessions.json');
    const port = await freePort('127.0.0.1');
    const argv = ['--customers', '20', '--prefixes', '2000', '--prefixes6', '500', '--runs', '1'];
    await runBench(
      t,
      'sessions',
      [...argv, '--idle', '1', '--timeout', '40', '--port', `${port}`, '--json', json],
      120_000,
    );
    const e = JSON.parse(readFileSync(json, 'utf8')) as Envelope;
    const f = checkEnvelope(t, e, 'sessions');
    t.equal(e.params.customers, 20);
    for (const d of ['gredged', 'bird'] as const) {
      t.equal(f.get('established_count')?.[d], 20, `${d}: every customer Established`);
      t.equal(f.get('customers_complete')?.[d], 20, `${d}: every customer got everything`);
      // 20 customers × (2,000 + 500 transit routes + 19 × 5 from the other customers), distinct;
      // announcements may repeat a prefix (BIRD re-sends after resolving a recursive next hop).
      t.ok((f.get('exported_routes')?.[d] ?? 0) >= 20 * (2500 + 19 * 5), `${d}: routes sent to customers`);
      const conv = f.get('converged_s')?.[d];
      t.ok(
        conv !== null && conv !== undefined && conv > 0 && conv < 40,
        `${d}: converged within the deadline`,
      );
      t.ok(
        (f.get('established_s')?.[d] ?? Number.POSITIVE_INFINITY) <= conv!,
        `${d}: Established before converged`,
      );
      t.ok((f.get('peak_rss_mb')?.[d] ?? 0) > 1, `${d}: peak RSS measured`);
      t.equal(f.get('sessions_lost')?.[d], 0, `${d}: no session lost`);
    }
  });

  t.test('memory', async (t) => {
    const json = join(dir, 'memory.json');
    const port = await freePort('127.0.0.1');
    await runBench(
      t,
      'memory',
      [
        '--prefixes',
        '2000',
        '--prefixes6',
        '500',
        '--runs',
        '1',
        '--timeout',
        '30',
        '--port',
        `${port}`,
        '--json',
        json,
      ],
      120_000,
    );
    const e = JSON.parse(readFileSync(json, 'utf8')) as Envelope;
    const f = checkEnvelope(t, e, 'memory');
    for (const id of ['rss_mb_200', 'rss_mb_2000', 'rss_mb_2500', 'rss_mb_feeders_2', 'rss_mb_feeders_3'])
      for (const d of ['gredged', 'bird'] as const)
        t.ok((f.get(id)?.[d] ?? 0) > 1, `${id}: ${d} RSS measured`);
    for (const d of ['gredged', 'bird'] as const) {
      // 7,500 routes are within V8's heap noise for gredged: its RSS may even shrink; BIRD's
      // allocator only grows, so its three feeders must show.
      if (d === 'bird')
        t.ok(f.get('rss_mb_feeders_3')!.bird! >= f.get('baseline_rss_mb')!.bird!, 'BIRD grows with routes');
      t.ok(Number.isFinite(f.get('bytes_per_route_2500')![d]), `${d}: bytes per route`);
      for (const id of ['load_s_200', 'load_s_2000', 'load_s_2500'])
        t.ok((f.get(id)?.[d] ?? 0) > 0, `${id}: ${d} loaded the table`);
    }
    const byRoutes = e.plots.find((p) => p.id === 'rss_vs_routes')!;
    t.same(
      byRoutes.series[0]!.points.map(([x]) => x),
      [0, 200, 2000, 2500],
      'RSS plotted at 0, 200, 2,000 and 2,500 routes',
    );
    t.same(
      e.plots.find((p) => p.id === 'rss_vs_feeders')!.series[1]!.points.map(([x]) => x),
      [1, 2, 3],
      'RSS plotted against 1, 2 and 3 feeders',
    );
  });
});
