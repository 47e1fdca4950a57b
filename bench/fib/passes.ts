/**
 * One daemon pass of the FIB bench, in a fresh namespace that is deleted afterwards:
 * - FIB on: the feeder announces N prefixes; measured from the first UPDATE written until the
 *   monitor holds all N and until both kernel tables hold N more routes than before
 *   (fib_triestat, read from the moment the monitor is full, so that the reads do not slow the
 *   propagation being measured; tables already full at the first read give an upper bound,
 *   flagged). Then, untimed, one route is read back from each table and the daemon gets a
 *   1 s settle; the feeder removes the table (Cease and close, or withdrawals) and the same
 *   clocks run until both tables are back to where they started and the monitor holds none.
 *   Peak RSS (VmHWM) and CPU seconds (user+sys, all threads) of the daemon process.
 * - FIB off: the same announcement, timed to the monitor only (the propagation baseline);
 *   the tables are checked to have stayed as they were.
 */
import { loadavg } from 'node:os';
import { type Feed, prefixAt } from '../bgp-propagation/feed.js';
import { cpuSeconds, peakRssBytes } from '../bgp-propagation/procstat.js';
import { Agent } from './agent-client.js';
import { type Started, startDaemon, TABLES, type Which } from './daemons.js';
import { LINK, Netns } from './netns.js';
import { nowMs, type Removal } from './protocol.js';
import { checkCounter, type PollStats, PollTimeout, pollUntil, readTables } from './triestat.js';

export interface Context {
  feed: Feed;
  files: { feed: string; withdrawals: string };
  dir: string;
  removal: Removal;
  /** Longest wait for the announcement (tables and monitor full). */
  deadlineS: number;
  /** Longest wait for the removal (tables and monitor empty). */
  removalDeadlineS: number;
  pollMs: number;
  /** Print the daemon's last log lines after each pass. */
  verbose: boolean;
}

export interface FibSample {
  /** First UPDATE → both kernel tables hold the N routes. */
  fillS: number;
  /** The first table read (right after the monitor was full) found them full already. */
  fillUpperBound: boolean;
  /** First withdrawal (or the Cease) → both tables back to their start. */
  removeS: number;
  /** First UPDATE → monitor holds N, while the FIB is written. */
  monitorS: number;
  /** First withdrawal → monitor holds none. */
  monitorRemoveS: number;
  /** The feeder's last byte left its buffers. */
  feedS: number;
  /** Routes per table when both were full (N plus whatever the daemon had there before). */
  tablesAtFull: number[];
  /** The feed's first prefix as each table holds it (`ip route show table T exact P`). */
  routeSample: string[];
  rssMB: number;
  cpuFillS: number;
  cpuRemoveS: number;
  poll: PollStats;
  /** 1-minute load average when the pass ended (other work on the machine skews times). */
  load1: number;
}

export interface PropSample {
  monitorS: number;
  feedS: number;
  rssMB: number;
  cpuS: number;
  load1: number;
}

export const SETTLE_MS = 1000;

/** Did the failure say that the daemon programmed nothing at all (FIB absent)? */
export class NothingProgrammed extends Error {}

interface Lab {
  ns: Netns;
  started: Started;
  agent: Agent;
  /** Rejects when the daemon exits before the pass ends. */
  guard: Promise<never>;
}

async function inLab<T>(
  which: Which,
  fib: boolean,
  ctx: Context,
  body: (lab: Lab) => Promise<T>,
): Promise<T> {
  const ns = Netns.create(`${which}-${fib ? 'fib' : 'nofib'}`);
  let started: Started | undefined;
  let agent: Agent | undefined;
  try {
    await checkCounter(ns, LINK.nextHop);
    started = await startDaemon(which, ns.name, ctx.dir, fib);
    const d = started.daemon;
    const guard = d.exited.then((code): never => {
      throw new Error(
        `${which} exited (${code}) during the pass; its last output:\n${d.output.slice(-1500)}`,
      );
    });
    guard.catch(() => {});
    agent = await Agent.start(ns.name, { ...ctx.files, prefixes: ctx.feed.n });
    agent.send({ cmd: 'connect' });
    await Promise.race([agent.wait('established', Date.now() + 40_000), guard]);
    return await body({ ns, started, agent, guard });
  } finally {
    await agent?.close();
    await started?.stop();
    ns.close();
    if (ctx.verbose && started) logTail(which, started.daemon.output);
  }
}

function logTail(which: Which, output: string): void {
  const lines = output.trimEnd().split('\n').slice(-20);
  console.log(`    ${which}'s last ${lines.length} log lines:`);
  for (const l of lines) console.log(`      ${l.slice(0, 300)}`);
}

/**
 * The feed's first prefix in table `t`, as `ip route` prints it. A filtered dump: ~1 s at 1M
 * routes, so it runs outside the timed windows (before the settle second).
 */
function sampleRoute(ns: Netns, t: number): string {
  const [addr, len] = prefixAt(0);
  const prefix = `${[24, 16, 8, 0].map((s) => (addr >>> s) & 0xff).join('.')}/${len}`;
  const got = ns.ip(['route', 'show', 'table', String(t), 'exact', prefix]).trim();
  return got === '' ? `${prefix} missing from table ${t}` : `${got} table ${t}`;
}

const sec = (from: number, to: number) => (to - from) / 1000;

/** A monitor wait whose timeout says how far the monitor got. */
async function monitorEvent(
  agent: Agent,
  ev: 'monitor-full' | 'monitor-empty',
  o: { which: Which; deadline: number; n: number; deadlineS: number },
) {
  try {
    return await agent.wait(ev, o.deadline);
  } catch (err) {
    if (Date.now() < o.deadline) throw err;
    const c = await agent.count();
    const phase = ev === 'monitor-full' ? 'announcement' : 'removal';
    throw new Error(
      `${o.which}: the monitor holds ${c ?? '?'} of ${o.n} prefixes ${o.deadlineS} s after the ${phase} began`,
    );
  }
}

export function fibPass(which: Which, ctx: Context): Promise<FibSample> {
  const n = ctx.feed.n;
  return inLab(which, true, ctx, async ({ ns, started, agent, guard }) => {
    const pid = started.daemon.pid;
    const poll: PollStats = { reads: 0, maxReadMs: 0 };
    const base = (await readTables(ns.name, TABLES)).counts;
    const ac = new AbortController();
    // Agent waits run on the wall clock, table reads on the monotonic one: one deadline each.
    const wall = (s: number) => Date.now() + s * 1000;
    const mono = (s: number) => nowMs() + s * 1000;
    try {
      const cpu0 = cpuSeconds(pid);
      const deadline = wall(ctx.deadlineS);
      agent.send({ cmd: 'announce' });
      const monitored = monitorEvent(agent, 'monitor-full', { which, deadline, n, deadlineS: ctx.deadlineS });
      // The tables are read only once the monitor holds everything: each read walks the tables
      // in the kernel (~0.1–0.5 s at 1M), and a reader competing for the 2 CPUs while the
      // routes propagate would bill its cost to the FIB-on propagation time.
      const polled = monitored
        .then(() =>
          pollUntil(ns.name, TABLES, (c) => c.every((x, i) => x >= base[i]! + n), {
            deadline: mono(ctx.deadlineS),
            gapMs: ctx.pollMs,
            stats: poll,
            signal: ac.signal,
            what: `${which} did not program ${n} routes within ${ctx.deadlineS} s: FIB missing or broken`,
          }),
        )
        .catch((err: unknown) => {
          if (err instanceof PollTimeout && err.last?.counts.every((x, i) => x <= base[i]!))
            throw new NothingProgrammed(err.message);
          throw err;
        });
      const [ann, mon, full] = await Promise.race([
        Promise.all([agent.wait('announced', deadline), monitored, polled]),
        guard,
      ]);
      // Full at the first read: the FIB was done no later than the monitor (an upper bound).
      const fillUpperBound = poll.reads === 1;
      const cpu1 = cpuSeconds(pid);
      const routeSample = TABLES.map((t) => sampleRoute(ns, t));
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      const cpu2 = cpuSeconds(pid);
      const d2 = wall(ctx.removalDeadlineS);
      agent.send({ cmd: 'remove', how: ctx.removal });
      const emptied = pollUntil(ns.name, TABLES, (c) => c.every((x, i) => x <= base[i]!), {
        deadline: mono(ctx.removalDeadlineS),
        gapMs: ctx.pollMs,
        stats: poll,
        signal: ac.signal,
        what: `${which} did not remove ${n} routes within ${ctx.removalDeadlineS} s`,
      });
      const [rem, monEmpty, empty] = await Promise.race([
        Promise.all([
          agent.wait('removing', d2),
          monitorEvent(agent, 'monitor-empty', { which, deadline: d2, n, deadlineS: ctx.removalDeadlineS }),
          emptied,
        ]),
        guard,
      ]);
      const cpu3 = cpuSeconds(pid);
      return {
        fillS: sec(ann.t0, full.t),
        fillUpperBound,
        removeS: sec(rem.t0, empty.t),
        monitorS: sec(ann.t0, mon.t),
        monitorRemoveS: sec(rem.t0, monEmpty.t),
        feedS: sec(ann.t0, ann.written),
        tablesAtFull: full.counts,
        routeSample,
        rssMB: peakRssBytes(pid) / 1e6,
        cpuFillS: cpu1 - cpu0,
        cpuRemoveS: cpu3 - cpu2,
        poll,
        load1: loadavg()[0]!,
      };
    } finally {
      ac.abort();
    }
  });
}

export function propagationPass(which: Which, ctx: Context): Promise<PropSample & { warning?: string }> {
  const n = ctx.feed.n;
  return inLab(which, false, ctx, async ({ ns, started, agent, guard }) => {
    const pid = started.daemon.pid;
    const base = (await readTables(ns.name, TABLES)).counts;
    const cpu0 = cpuSeconds(pid);
    const deadline = Date.now() + ctx.deadlineS * 1000;
    agent.send({ cmd: 'announce' });
    const [ann, mon] = await Promise.race([
      Promise.all([
        agent.wait('announced', deadline),
        monitorEvent(agent, 'monitor-full', { which, deadline, n, deadlineS: ctx.deadlineS }),
      ]),
      guard,
    ]);
    const sample: PropSample & { warning?: string } = {
      monitorS: sec(ann.t0, mon.t),
      feedS: sec(ann.t0, ann.written),
      rssMB: peakRssBytes(pid) / 1e6,
      cpuS: cpuSeconds(pid) - cpu0,
      load1: loadavg()[0]!,
    };
    const after = (await readTables(ns.name, TABLES)).counts;
    if (after.some((x, i) => x !== base[i]))
      sample.warning = `FIB off, yet tables ${TABLES.join('/')} went from ${base.join('/')} to ${after.join('/')} routes`;
    return sample;
  });
}
