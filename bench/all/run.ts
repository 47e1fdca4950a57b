#!/usr/bin/env node
/**
 * bench/all (`npm run bench`): every benchmark of bench/report/catalog.ts in turn, each as its
 * own process (its compiled run.js with `--json DIR/<name>.json` and the catalog's size flags),
 * then one HTML report of all of them (bench/report/render.ts).
 *
 *   npm run bench -- [--only a,b] [--skip a,b] [--quick] [--report-only] [--out DIR]
 *                    [--timeout SECONDS] [--with 'name=--flag value ...']
 *
 * --quick      small sizes, to check the suite end to end in a few minutes; results go to
 *              bench/results/quick/ unless --out says otherwise, so they never overwrite full ones.
 * --report-only  no bench runs: the report is rendered again from the JSON files already there.
 * --with       the flags for one bench's sizes instead of the catalog's (repeatable), e.g.
 *              --with 'bgp-propagation=--prefixes 100000,1000000 --runs 5'.
 * --timeout    per bench (default 3600 s); its whole process group is then ended.
 *
 * A bench that fails does not stop the others: the runner records its exit, its log
 * (DIR/logs/<name>.log) and the end of its output in DIR/manifest.json, and the report shows it
 * as failed. The old JSON of a bench about to run is removed first, so that a failure can never
 * leave an earlier result on show as if it were new. Exit code: 0 when every bench run ended
 * well, 1 otherwise.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, release } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BENCHES, type BenchInfo, type BenchRunRecord, MANIFEST, type Manifest } from '../report/catalog.js';
import { RESULTS, ROOT, renderReport } from '../report/render.js';

const TAIL_LINES = 25;

function usage(problem: string): never {
  console.error(`bench: ${problem}`);
  console.error(
    'usage: npm run bench -- [--only a,b] [--skip a,b] [--quick] [--report-only] [--out DIR] [--timeout S] [--with "name=--flag v"]',
  );
  console.error(`benches: ${BENCHES.map((b) => b.name).join(', ')}`);
  process.exit(2);
}

const { values: args } = (() => {
  try {
    return parseArgs({
      options: {
        only: { type: 'string' },
        skip: { type: 'string' },
        quick: { type: 'boolean', default: false },
        'report-only': { type: 'boolean', default: false },
        out: { type: 'string' },
        timeout: { type: 'string', default: '3600' },
        with: { type: 'string', multiple: true, default: [] },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (err) {
    usage((err as Error).message);
  }
})();

function names(list: string | undefined, flag: string): string[] | undefined {
  if (list === undefined) return undefined;
  const ns = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const n of ns) if (!BENCHES.some((b) => b.name === n)) usage(`${flag}: no bench named "${n}"`);
  return ns;
}

/** The flags for each bench's sizes from --with. */
function overrides(list: string[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const w of list) {
    const eq = w.indexOf('=');
    const name = eq > 0 ? w.slice(0, eq) : '';
    if (!BENCHES.some((b) => b.name === name))
      usage(`--with "${w}": expected NAME=FLAGS with a bench's name`);
    m.set(
      name,
      w
        .slice(eq + 1)
        .split(/\s+/)
        .filter(Boolean),
    );
  }
  return m;
}

const host = () => ({
  cpus: availableParallelism(),
  loadavg: loadavg().map((x) => +x.toFixed(2)),
  kernel: release(),
  node: process.version,
});

/** The child running now, so that Ctrl-C ends its process group too. */
let current: { pid: number } | undefined;
/** Set by SIGINT/SIGTERM: no bench starts after the one running; the report is still rendered. */
let stopping = false;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

function signalOnly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

async function runOne(b: BenchInfo, dir: string, sizes: string[], timeoutS: number): Promise<BenchRunRecord> {
  const script = join(ROOT, 'dist/bench', b.name, 'run.js');
  const json = join(dir, `${b.name}.json`);
  const log = join('logs', `${b.name}.log`);
  const rec: BenchRunRecord = {
    status: 'ok',
    started: new Date().toISOString(),
    loadBefore: host().loadavg,
    log,
  };
  if (!existsSync(script)) {
    return {
      ...rec,
      status: 'failed',
      message: `${relative(ROOT, script)} does not exist (bench not written yet, or not built: npm run build)`,
    };
  }
  rmSync(json, { force: true });
  const argv = [...b.nodeFlags, script, ...sizes, ...(b.output === 'json-flag' ? ['--json', json] : [])];
  rec.argv = ['node', ...argv].map((a) => (a.startsWith(`${ROOT}/`) ? relative(ROOT, a) : a));
  console.log(`\n=== ${b.name}: ${rec.argv.join(' ')} (full size ${b.fullTime}) ===`);
  const logStream = createWriteStream(join(dir, log));
  const t0 = performance.now();
  let stdout = '';
  let lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines = lines.concat(chunk.toString().split('\n')).slice(-TAIL_LINES * 4);
  };
  const child = spawn(process.execPath, argv, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  current = { pid: child.pid! };
  child.stdout.on('data', (c: Buffer) => {
    logStream.write(c);
    keep(c);
    // rpki prints its JSON on stdout: keep it whole for the file, do not echo it.
    if (b.output === 'stdout') stdout += c.toString();
    else process.stdout.write(c);
  });
  child.stderr.on('data', (c: Buffer) => {
    logStream.write(c);
    keep(c);
    process.stderr.write(c);
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    console.error(`bench ${b.name}: still running after ${timeoutS} s: ending its process group`);
    // The bench first, so that it removes its namespaces and daemons itself; then the group.
    signalOnly(child.pid!, 'SIGINT');
    setTimeout(() => killGroup(child.pid!, 'SIGKILL'), 10_000).unref();
  }, timeoutS * 1000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((res) => {
    child.on('close', (c, s) => res([c, s]));
    child.on('error', (err) => {
      lines.push(`spawn failed: ${err.message}`);
      res([null, null]);
    });
  });
  clearTimeout(timer);
  current = undefined;
  // Whatever the bench started and left behind in its process group goes with it.
  killGroup(child.pid!, 'SIGKILL');
  await new Promise<void>((r) => logStream.end(r));
  rec.seconds = +((performance.now() - t0) / 1000).toFixed(1);
  rec.loadAfter = host().loadavg;
  rec.exitCode = code;
  rec.signal = signal;
  if (b.output === 'stdout' && code === 0) {
    try {
      JSON.parse(stdout);
      writeFileSync(json, stdout);
    } catch (err) {
      rec.status = 'failed';
      rec.message = `its output is not the JSON expected: ${(err as Error).message}`;
    }
  }
  if (timedOut) rec.status = 'timeout';
  else if (code !== 0) rec.status = 'failed';
  if (rec.status !== 'ok') rec.tail = lines.filter((l) => l.trim() !== '').slice(-TAIL_LINES);
  console.log(`=== ${b.name}: ${rec.status} in ${rec.seconds} s${code ? ` (exit ${code})` : ''} ===`);
  return rec;
}

async function main(): Promise<number> {
  if (args.help) usage('help');
  const only = names(args.only, '--only');
  const skip = names(args.skip, '--skip') ?? [];
  const withFlags = overrides(args.with);
  const dir = resolve(args.out ?? (args.quick ? join(RESULTS, 'quick') : RESULTS));
  const timeoutS = Number(args.timeout);
  if (!(timeoutS > 0)) usage(`--timeout ${args.timeout}: expected seconds`);
  mkdirSync(join(dir, 'logs'), { recursive: true });
  let failures = 0;
  if (!args['report-only']) {
    const manifest: Manifest = {
      started: new Date().toISOString(),
      quick: args.quick,
      host: host(),
      benches: {},
    };
    const save = () => writeFileSync(join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    const interrupted = (sig: NodeJS.Signals) => {
      manifest.finished = new Date().toISOString();
      save();
      console.error(`bench: ${sig}: stopping; partial manifest in ${join(dir, MANIFEST)}`);
      stopping = true;
      const pid = current?.pid;
      if (pid === undefined) process.exit(130);
      // The running bench cleans up on SIGINT (namespaces, daemons); 10 s, then its whole group.
      signalOnly(pid, 'SIGINT');
      setTimeout(() => {
        killGroup(pid, 'SIGKILL');
        process.exit(130);
      }, 10_000);
    };
    process.once('SIGINT', interrupted);
    process.once('SIGTERM', interrupted);
    console.log(
      `bench: ${args.quick ? 'QUICK sizes' : 'full sizes'} into ${dir}; load average ${manifest.host.loadavg.join(', ')} on ${manifest.host.cpus} CPUs`,
    );
    for (const b of BENCHES) {
      if ((only && !only.includes(b.name)) || skip.includes(b.name)) {
        manifest.benches[b.name] = {
          status: 'skipped',
          message: only ? `not in --only ${args.only}` : `--skip ${args.skip}`,
        };
        continue;
      }
      const sizes = withFlags.get(b.name) ?? (args.quick ? b.quick : b.full);
      const rec = await runOne(b, dir, sizes, timeoutS);
      manifest.benches[b.name] = rec;
      if (rec.status !== 'ok') failures++;
      save();
      if (stopping) break;
    }
    for (const b of BENCHES)
      manifest.benches[b.name] ??= { status: 'skipped', message: 'the run was stopped (SIGINT) before it' };
    manifest.finished = new Date().toISOString();
    save();
  }
  const { file, views } = renderReport(dir);
  console.log('\nbench summary:');
  for (const v of views) console.log(`  ${v.name.padEnd(16)} ${v.status}${v.reason ? `: ${v.reason}` : ''}`);
  console.log(`\nreport: ${file}`);
  return stopping ? 130 : failures > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
