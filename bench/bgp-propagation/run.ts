#!/usr/bin/env node
/**
 * bench/bgp-propagation: seconds until a monitor holds all N IPv4 prefixes that a feeder sent
 * through the daemon, plus the daemon's peak RSS and CPU seconds, for gredged and BIRD 2 in the
 * same run with the same feeder and monitor; medians over runs and gredged/BIRD ratios.
 *   npm run bench:bgp-propagation -- [--prefixes 100000,1000000] [--runs 3] [--daemons bird,gredged]
 *                                    [--port 179] [--timeout 600] [--json FILE] [--rpki SHARE]
 *                                    [--vrps N]
 * --rpki SHARE (0–1): both daemons validate every route (RFC 6811) against a stayrtr cache
 * holding a VRP for SHARE of the feed's prefixes (bench/rpki/feed-vrps.ts: Valid, the rest
 * NotFound); BIRD with `protocol rpki` and roa_check() in its import filter. --vrps N (with
 * --rpki) tops the cache up to N VRPs with IPv4 VRPs outside the feed (a real table's size
 * without changing a verdict). Each daemon's VRP load time (RTR connect → all VRPs visible) is
 * reported beside its propagation time; peak RSS covers both.
 * The feeder → monitor floor (no daemon) is measured first so the harness is never the bottleneck.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { haveCommand } from '../../test/interop/harness/proc.js';
import { Daemon } from '../../test/interop/harness/proc.js';
import { feedVrps, fillerVrps, writeVrpFile } from '../rpki/feed-vrps.js';
import { ADDR, AS, type RpkiCache, type Started, startBird, startGredged } from './daemons.js';
import { buildFeed, type Feed } from './feed.js';
import { describeAttrs, PrefixCounter } from './monitor.js';
import { cpuSeconds, peakRssBytes } from './procstat.js';
import { Speaker } from './speaker.js';

interface Sample {
  seconds: number;
  /** --rpki: seconds from the daemon's RTR connection to every VRP loaded (daemons.ts). */
  vrpLoadSeconds: number;
  /** --rpki: routes the daemon holds as Valid right after the monitor got the last one. */
  valid: number;
  rssBytes: number;
  cpuSeconds: number;
  feedSeconds: number;
  harnessCpu: number;
}

const { values: args } = parseArgs({
  options: {
    prefixes: { type: 'string', default: '100000,1000000' },
    runs: { type: 'string', default: '3' },
    daemons: { type: 'string', default: 'bird,gredged' },
    port: { type: 'string', default: '179' },
    timeout: { type: 'string', default: '600' },
    json: { type: 'string' },
    rpki: { type: 'string' },
    vrps: { type: 'string' },
  },
});
const sizes = args.prefixes.split(',').map((s) => Number(s.trim()));
const runs = Number(args.runs);
const port = Number(args.port);
const timeoutS = Number(args.timeout);
let daemons = args.daemons.split(',').map((s) => s.trim());

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? Number.NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmt = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '—');
const mb = (b: number) => b / 1e6;

/** Feeder → monitor straight, no daemon: the harness's own cost for this feed. */
async function floor(feed: Feed): Promise<number> {
  const counter = new PrefixCounter();
  const server = createServer();
  const accepted = new Promise<Speaker>((resolve, reject) => {
    server.once('connection', (s) =>
      Speaker.handshake(s, { localAddress: ADDR.monitor, localAs: AS.monitor, routerId: ADDR.monitor }).then(
        resolve,
        reject,
      ),
    );
  });
  await new Promise<void>((r) => server.listen(0, ADDR.monitor, r));
  const addr = server.address();
  const fport = typeof addr === 'object' && addr ? addr.port : 0;
  const feeder = await Speaker.connect({
    localAddress: ADDR.feeder,
    localAs: AS.feeder,
    routerId: ADDR.feeder,
    remoteAddress: ADDR.monitor,
    remotePort: fport,
  });
  const monitor = await accepted;
  monitor.onUpdate = (b, o, l) => counter.update(b, o, l);
  const t0 = performance.now();
  const done = counter.whenHolding(feed.n);
  await feeder.write(feed.bytes);
  await done;
  const s = (performance.now() - t0) / 1000;
  feeder.close();
  monitor.close();
  server.close();
  return s;
}

async function once(which: string, feed: Feed, dir: string, rpki?: RpkiCache): Promise<Sample> {
  await portFree();
  const started: Started =
    which === 'bird' ? await startBird(dir, port, rpki) : await startGredged(dir, port, rpki);
  const pid = started.daemon.pid;
  const speakers: Speaker[] = [];
  try {
    const counter = new PrefixCounter();
    const monitor = await Speaker.connect({
      localAddress: ADDR.monitor,
      localAs: AS.monitor,
      routerId: ADDR.monitor,
      remoteAddress: ADDR.daemon,
      remotePort: port,
    });
    speakers.push(monitor);
    monitor.onUpdate = (b, o, l) => counter.update(b, o, l);
    const feeder = await Speaker.connect({
      localAddress: ADDR.feeder,
      localAs: AS.feeder,
      routerId: ADDR.feeder,
      remoteAddress: ADDR.daemon,
      remotePort: port,
    });
    speakers.push(feeder);
    const lost = new Promise<never>((_, reject) => {
      for (const sp of speakers) sp.onClose = (why) => reject(new Error(`${which}: session lost: ${why}`));
    });
    lost.catch(() => {});
    const cpu0 = cpuSeconds(pid);
    const h0 = process.cpuUsage();
    const t0 = performance.now();
    const done = counter.whenHolding(feed.n);
    const fed = feeder.write(feed.bytes).then(() => (performance.now() - t0) / 1000);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${which}: monitor holds ${counter.count} of ${feed.n} after ${timeoutS} s`)),
        timeoutS * 1000,
      );
    });
    await Promise.race([
      done,
      lost,
      timeout,
      started.daemon.exited.then(() => Promise.reject(new Error(`${which} exited`))),
    ]);
    clearTimeout(timer);
    const seconds = (performance.now() - t0) / 1000;
    const h = process.cpuUsage(h0);
    const sample: Sample = {
      seconds,
      vrpLoadSeconds: started.vrpLoadSeconds ?? Number.NaN,
      valid: Number.NaN,
      rssBytes: peakRssBytes(pid),
      cpuSeconds: cpuSeconds(pid) - cpu0,
      feedSeconds: await fed,
      harnessCpu: (h.user + h.system) / 1e6,
    };
    // Asked only now: BIRD's count runs roa_check() over every route again (CPU not to bill).
    if (started.validRoutes) sample.valid = await started.validRoutes().catch(() => Number.NaN);
    if (counter.firstAttrs) {
      const a = describeAttrs(counter.firstAttrs);
      if (a.asPath[0] !== AS.daemon || a.asPath[1] !== AS.feeder || a.nextHop !== ADDR.daemon)
        console.log(
          `  warning: ${which} sent AS_PATH ${a.asPath.join(' ')} NEXT_HOP ${a.nextHop} (expected ${AS.daemon} ${AS.feeder} … via ${ADDR.daemon})`,
        );
    }
    return sample;
  } finally {
    for (const sp of speakers) {
      sp.onClose = () => {};
      sp.close();
    }
    await started.daemon.stop(10_000);
  }
}

const RTR_ADDR = '127.0.0.9';

function freeTcpPort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, address, () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

/** Both daemons bind ADDR.daemon:port; say so plainly if something else holds it. */
function portFree(): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', (e) =>
      reject(new Error(`${ADDR.daemon}:${port} is busy (${(e as Error).message}); stop whatever holds it`)),
    );
    s.listen(port, ADDR.daemon, () => s.close(() => resolve()));
  });
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0 && port < 1024) {
    console.error(`bench:bgp-propagation needs root to bind ${ADDR.daemon}:${port} (or pass --port 1179)`);
    return 2;
  }
  if (daemons.includes('bird') && !haveCommand('bird')) {
    console.log('BIRD 2 is not installed (apt-get install bird2): measuring gredged alone');
    daemons = daemons.filter((d) => d !== 'bird');
  }
  // Two cores shared with anything else running: a busy machine skews both daemons' times.
  const load = loadavg()[0]!;
  console.log(
    `load average ${load.toFixed(2)} on ${availableParallelism()} CPUs${load > 0.5 ? ' (busy: expect noisy times; CPU seconds are steadier)' : ''}`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'gredge-bench-'));
  const results: Record<string, Record<string, Sample[]>> = {};
  const floors: Record<string, number[]> = {};
  try {
    for (const n of sizes) {
      const tb = performance.now();
      const feed = buildFeed(n, AS.feeder, ADDR.feeder, 1);
      console.log(
        `N=${n}: ${feed.updates} UPDATEs, ${fmt(feed.bytes.length / 1e6, 1)} MB, encoded in ${fmt((performance.now() - tb) / 1000)} s`,
      );
      floors[n] = [];
      let rpki: RpkiCache | undefined;
      let rtr: Daemon | undefined;
      if (args.rpki !== undefined) {
        const matching = feedVrps(feed, Number(args.rpki));
        const extra = Math.max(0, Number(args.vrps ?? 0) - matching.length);
        const roas = extra > 0 ? matching.concat(fillerVrps(extra)) : matching;
        const file = join(dir, `vrps-${n}.json`);
        writeVrpFile(file, roas);
        // stayrtr parses the whole file before it listens: >30 s for 750,000 VRPs on a busy
        // 2-core machine. 30 s plus 4 s per MB of JSON (~75 bytes per VRP).
        const mbytes = statSync(file).size / 1e6;
        const ts = performance.now();
        const rport = await freeTcpPort(RTR_ADDR);
        rtr = new Daemon('stayrtr', [
          'stayrtr',
          '-bind',
          `${RTR_ADDR}:${rport}`,
          '-cache',
          file,
          '-checktime=false',
          '-metrics.addr',
          '',
          '-rtr.refresh',
          '3600',
          '-rtr.expire',
          '7200',
          '-disable.aspa',
          '-disable.bgpsec',
        ]);
        await rtr.waitFor(/StayRTR Server started/, 30_000 + 4_000 * mbytes);
        rpki = { address: RTR_ADDR, port: rport, vrps: roas.length };
        console.log(
          `  rpki: ${roas.length} VRPs from stayrtr (${matching.length} for ${args.rpki} of the feed's /24s: Valid, the rest NotFound;` +
            ` ${extra} outside the feed), ${fmt(mbytes, 1)} MB JSON, stayrtr ready in ${fmt((performance.now() - ts) / 1000, 1)} s`,
        );
      }
      for (let r = 0; r < runs; r++) {
        const f = await floor(feed);
        floors[n]!.push(f);
        for (const d of daemons) {
          try {
            const s = await once(d, feed, dir, rpki);
            ((results[d] ??= {})[n] ??= []).push(s);
            console.log(
              `  run ${r + 1} ${d.padEnd(7)} ${rpki ? `VRPs loaded in ${fmt(s.vrpLoadSeconds)} s, ` : ''}${fmt(s.seconds)} s${rpki ? ` (${s.valid} Valid)` : ''}  peak RSS ${fmt(mb(s.rssBytes), 0)} MB  CPU ${fmt(s.cpuSeconds)} s` +
                `  (feeder done ${fmt(s.feedSeconds)} s, harness CPU ${fmt(s.harnessCpu)} s, floor ${fmt(f, 3)} s)`,
            );
          } catch (err) {
            console.log(`  run ${r + 1} ${d}: FAILED: ${(err as Error).message}`);
          }
        }
      }
      if (rtr) await rtr.stop(5000);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const la = loadavg();
  console.log(`\nload average at the end ${la.map((x) => x.toFixed(2)).join(', ')} (1, 5, 15 min)`);
  console.log(
    `medians over ${runs} run(s); feeder 127.0.0.2 AS 65001 → daemon 127.0.0.1 AS 65000 → monitor 127.0.0.3 AS 65002`,
  );
  const withVrps = args.rpki !== undefined;
  console.log(
    `prefixes  daemon  ${withVrps ? ' VRP load s' : ''}  seconds  peak RSS MB  CPU s   | harness floor s`,
  );
  const summary: Record<string, unknown>[] = [];
  for (const n of sizes) {
    const row: Record<string, number> = {};
    for (const d of daemons) {
      const ss = results[d]?.[n] ?? [];
      const t = median(ss.map((s) => s.seconds));
      const vload = median(ss.map((s) => s.vrpLoadSeconds));
      const rss = median(ss.map((s) => s.rssBytes));
      const cpu = median(ss.map((s) => s.cpuSeconds));
      if (withVrps) {
        row[`${d}VrpLoadSeconds`] = vload;
        row[`${d}Valid`] = median(ss.map((s) => s.valid));
      }
      Object.assign(row, { [`${d}Seconds`]: t, [`${d}RssMB`]: mb(rss), [`${d}Cpu`]: cpu });
      console.log(
        `${String(n).padStart(8)}  ${d.padEnd(7)} ${withVrps ? fmt(vload).padStart(11) : ''}${fmt(t).padStart(8)}  ${fmt(mb(rss), 0).padStart(11)}  ${fmt(cpu).padStart(6)}  | ${fmt(median(floors[n] ?? []), 3)}`,
      );
    }
    if (daemons.includes('bird') && daemons.includes('gredged')) {
      const ratio = (k: string) => row[`gredged${k}`]! / row[`bird${k}`]!;
      console.log(
        `${String(n).padStart(8)}  gredged/BIRD: ${withVrps ? `VRP load ×${fmt(ratio('VrpLoadSeconds'))}  ` : ''}time ×${fmt(ratio('Seconds'))}  RSS ×${fmt(ratio('RssMB'))}  CPU ×${fmt(ratio('Cpu'))}`,
      );
    }
    summary.push({ prefixes: n, floorSeconds: median(floors[n] ?? []), ...row });
  }
  if (args.json) writeFileSync(args.json, `${JSON.stringify({ runs, results: summary }, null, 2)}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
