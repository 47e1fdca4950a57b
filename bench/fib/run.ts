#!/usr/bin/env node
/**
 * bench/fib: programming an N-prefix table (default 1,000,000) into two kernel tables (201 and
 * 202) and removing it, gredged against BIRD 2's kernel protocol, side by side in one run, each
 * daemon pass in a fresh network namespace. Per daemon and run:
 *   FIB on  — seconds from the first UPDATE the feeder sends until the monitor neighbor holds
 *             all N (propagation while the FIB is written) and until both tables hold all N
 *             routes (/proc/net/fib_triestat, read every --poll-ms once the monitor is full; "≤"
 *             when the first read found them full); then, from the removal (default: a
 *             Cease and the feeder's session closed, the event a lost transit causes; or
 *             `--removal withdraw`: withdrawal UPDATEs for every prefix) until both tables are
 *             empty and the monitor holds none; peak RSS and CPU seconds (user+sys) of the daemon;
 *   FIB off — the monitor's time alone (gredged `fib: false`, BIRD without kernel protocols), so
 *             that the propagation slowdown FIB on / FIB off shows (target for gredged ≤ ×1.20).
 * Medians over --runs, gredged/BIRD ratios, JSON in bench/results/fib.json (not committed).
 *   npm run bench:fib -- [--prefixes 1000000] [--runs 3] [--only bird|gredged]
 *                        [--removal close|withdraw] [--deadline 120] [--removal-deadline 400]
 *                        [--poll-ms 50] [--json FILE] [--verbose]
 * The announcement is waited for --deadline seconds, the removal --removal-deadline (both daemons
 * need 60–260 s to remove 1M here: the kernel's trie, update_suffix, takes most of it), each
 * failing with a message that says how far it got; a daemon that programs nothing at all is not
 * waited for again in later runs. The namespaces and every process the bench started are
 * removed on exit, error and SIGINT.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from '../../test/interop/harness/gredged.js';
import { haveCommand } from '../../test/interop/harness/proc.js';
import { AS } from '../bgp-propagation/daemons.js';
import { buildFeed } from '../bgp-propagation/feed.js';
import { atCleanup } from './cleanup.js';
import { checkGredgedConfig, TABLES, type Which } from './daemons.js';
import { LINK } from './netns.js';
import {
  type Context,
  type FibSample,
  fibPass,
  NothingProgrammed,
  type PropSample,
  propagationPass,
} from './passes.js';
import type { Removal } from './protocol.js';
import { buildWithdrawals } from './withdrawals.js';
import { fmt, report, type Summary } from './report.js';

const { values: args } = parseArgs({
  options: {
    prefixes: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '3' },
    only: { type: 'string' },
    removal: { type: 'string', default: 'close' },
    deadline: { type: 'string', default: '120' },
    'removal-deadline': { type: 'string', default: '400' },
    'poll-ms': { type: 'string', default: '50' },
    json: { type: 'string', default: join(ROOT, 'bench/results/fib.json') },
    verbose: { type: 'boolean', default: false },
  },
});

interface Failure {
  daemon: Which;
  pass: 'fib' | 'nofib';
  run: number;
  message: string;
}

function usage(problem: string): never {
  console.error(`bench:fib: ${problem}`);
  console.error(
    'usage: npm run bench:fib -- [--prefixes N] [--runs N] [--only bird|gredged] [--removal close|withdraw] [--deadline S] [--removal-deadline S] [--poll-ms MS] [--json FILE] [--verbose]',
  );
  process.exit(2);
}

function options() {
  const n = Number(args.prefixes);
  const runs = Number(args.runs);
  const deadlineS = Number(args.deadline);
  const removalDeadlineS = Number(args['removal-deadline']);
  const pollMs = Number(args['poll-ms']);
  if (!Number.isInteger(n) || n < 1 || n > 2_000_000) usage('--prefixes must be 1..2000000');
  if (!Number.isInteger(runs) || runs < 1) usage('--runs must be a positive integer');
  if (!(deadlineS > 0) || !(removalDeadlineS > 0) || !(pollMs >= 0))
    usage('--deadline, --removal-deadline and --poll-ms must be positive');
  if (args.removal !== 'withdraw' && args.removal !== 'close') usage('--removal is close or withdraw');
  if (args.only !== undefined && args.only !== 'bird' && args.only !== 'gredged')
    usage('--only is bird or gredged');
  const daemons: Which[] = args.only ? [args.only as Which] : ['bird', 'gredged'];
  return { n, runs, deadlineS, removalDeadlineS, pollMs, removal: args.removal as Removal, daemons };
}

/** Why a daemon cannot be measured at all, per pass kind, before spending minutes on it. */
function preflight(d: Which, dir: string): { fib?: string; nofib?: string } {
  if (d === 'bird') {
    if (!haveCommand('bird') || !haveCommand('birdc')) {
      const m = 'BIRD 2 is not installed (apt-get install --no-install-recommends bird2)';
      return { fib: m, nofib: m };
    }
    return {};
  }
  const said = (fib: boolean) => {
    const e = checkGredgedConfig(dir, fib);
    return e && `gredged refused the config with fib: ${fib ? '{full-table: 201, …}' : 'false'}: ${e}`;
  };
  const out: { fib?: string; nofib?: string } = {};
  const fib = said(true);
  const nofib = said(false);
  if (fib) out.fib = fib;
  if (nofib) out.nofib = nofib;
  return out;
}

function line(run: number, d: Which, text: string): void {
  console.log(`  run ${run} ${d.padEnd(7)} ${text}`);
}

function describeFib(s: FibSample): string {
  return (
    `FIB on : tables full ${s.fillUpperBound ? '≤' : ''}${fmt(s.fillS)} s, empty ${fmt(s.removeS)} s; monitor full ${fmt(s.monitorS)} s, ` +
    `empty ${fmt(s.monitorRemoveS)} s; peak RSS ${fmt(s.rssMB, 0)} MB; CPU ${fmt(s.cpuFillS)} s filling, ${fmt(s.cpuRemoveS)} s removing ` +
    `(feeder done ${fmt(s.feedS)} s; ${s.poll.reads} table reads, slowest ${fmt(s.poll.maxReadMs, 0)} ms; load ${fmt(s.load1)})`
  );
}

function describeProp(s: PropSample): string {
  return `FIB off: monitor full ${fmt(s.monitorS)} s; peak RSS ${fmt(s.rssMB, 0)} MB; CPU ${fmt(s.cpuS)} s (feeder done ${fmt(s.feedS)} s; load ${fmt(s.load1)})`;
}

async function main(): Promise<number> {
  const o = options();
  if (process.getuid?.() !== 0) usage('needs root (network namespaces, kernel routes, port 179)');
  const load = loadavg()[0]!;
  console.log(
    `load average ${load.toFixed(2)} on ${availableParallelism()} CPUs${load > 0.5 ? ' (busy: expect noisy times; CPU seconds are steadier)' : ''}`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'gredge-bench-fib-'));
  atCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const tb = performance.now();
  const feed = buildFeed(o.n, AS.feeder, LINK.nextHop, 1);
  const files = { feed: join(dir, 'feed.bin'), withdrawals: join(dir, 'withdrawals.bin') };
  writeFileSync(files.feed, feed.bytes);
  writeFileSync(files.withdrawals, buildWithdrawals(o.n));
  console.log(
    `N=${o.n}: ${feed.updates} UPDATEs, ${fmt(feed.bytes.length / 1e6, 1)} MB, NEXT_HOP ${LINK.nextHop}, encoded in ${fmt((performance.now() - tb) / 1000)} s; ` +
      `removal by ${o.removal === 'withdraw' ? 'withdrawal UPDATEs' : 'Cease + session close'}`,
  );
  const ctx: Context = {
    feed,
    files,
    dir,
    removal: o.removal,
    deadlineS: o.deadlineS,
    removalDeadlineS: o.removalDeadlineS,
    pollMs: o.pollMs,
    verbose: args.verbose,
  };
  const blocked = Object.fromEntries(o.daemons.map((d) => [d, preflight(d, dir)])) as Record<
    Which,
    { fib?: string; nofib?: string }
  >;
  for (const d of o.daemons)
    for (const why of new Set(Object.values(blocked[d]))) console.log(`  ${d}: will not run: ${why}`);

  const fib: Record<Which, FibSample[]> = { bird: [], gredged: [] };
  const nofib: Record<Which, PropSample[]> = { bird: [], gredged: [] };
  const failures: Failure[] = [];
  const fail = (daemon: Which, pass: 'fib' | 'nofib', run: number, message: string) => {
    failures.push({ daemon, pass, run, message });
    line(run, daemon, `FIB ${pass === 'fib' ? 'on ' : 'off'}: FAILED: ${message}`);
  };
  for (let r = 1; r <= o.runs; r++) {
    // Alternate the order run by run, so drift on a shared machine hits both daemons alike.
    const order = r % 2 === 1 ? o.daemons : [...o.daemons].reverse();
    for (const d of order) {
      const b = blocked[d];
      if (b.fib) fail(d, 'fib', r, b.fib);
      else {
        try {
          const s = await fibPass(d, ctx);
          fib[d].push(s);
          line(r, d, describeFib(s));
          if (r === 1) line(r, d, `kernel routes: ${s.routeSample.join('; ')}`);
        } catch (err) {
          const m = (err as Error).message;
          fail(d, 'fib', r, m);
          if (err instanceof NothingProgrammed) b.fib = `${m} (seen in run ${r}; not waited for again)`;
        }
      }
      if (b.nofib) fail(d, 'nofib', r, b.nofib);
      else {
        try {
          const s = await propagationPass(d, ctx);
          nofib[d].push(s);
          line(r, d, describeProp(s));
          if (s.warning) line(r, d, `warning: ${s.warning}`);
        } catch (err) {
          fail(d, 'nofib', r, (err as Error).message);
        }
      }
    }
  }

  const summary: Summary = report(o.daemons, fib, nofib, o.runs);
  const out = {
    bench: 'fib',
    date: new Date().toISOString(),
    prefixes: o.n,
    runs: o.runs,
    removal: o.removal,
    tables: TABLES,
    pollMs: o.pollMs,
    deadlineS: o.deadlineS,
    removalDeadlineS: o.removalDeadlineS,
    host: { cpus: availableParallelism(), loadavg: loadavg(), kernel: release(), node: process.version },
    ...summary,
    samples: { fib, nofib },
    failures,
  };
  mkdirSync(dirname(args.json), { recursive: true });
  writeFileSync(args.json, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`\nJSON: ${args.json}`);
  if (failures.length > 0) {
    console.log(`${failures.length} pass(es) failed:`);
    for (const f of failures)
      console.log(`  run ${f.run} ${f.daemon} FIB ${f.pass === 'fib' ? 'on' : 'off'}: ${f.message}`);
  }
  return failures.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
