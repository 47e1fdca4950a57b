/**
 * The two daemons the bench compares, each on 127.0.0.1 with the issue's neighbors (feeder
 * 127.0.0.2 AS 65001 transit, monitor 127.0.0.3 AS 65002 customer), both waiting for the
 * connections. BIRD gets the equivalent: multihop (a 127/8 neighbor is not "directly
 * connected" to BIRD), next hops resolved through a table with 127.0.0.0/8 via "lo",
 * import all from the feeder, export all with next hop self to the monitor, `strict bind`.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { execFile } from 'node:child_process';
import { Gredged, gredgedYaml, MAIN } from '../../test/interop/harness/gredged.js';
import { Daemon, until } from '../../test/interop/harness/proc.js';

export const ADDR = { daemon: '127.0.0.1', feeder: '127.0.0.2', monitor: '127.0.0.3' };
export const AS = { daemon: 65000, feeder: 65001, monitor: 65002 };

/** `--rpki`: the RTR cache (stayrtr) both daemons validate against, and how many VRPs it holds. */
export interface RpkiCache {
  address: string;
  port: number;
  vrps: number;
}

export interface Started {
  name: string;
  daemon: Daemon;
  /** With `rpki`: seconds from the daemon's RTR connection to all `rpki.vrps` VRPs visible in it. */
  vrpLoadSeconds?: number;
  /** With `rpki`: how many of the feeder's routes the daemon holds as Valid, asked after the run. */
  validRoutes?: () => Promise<number>;
}

/** How long a daemon may take to load `vrps` VRPs: 60 s, plus 1 s per 5,000 VRPs. */
const vrpDeadlineMs = (vrps: number) => 60_000 + vrps / 5;

export async function startBird(dir: string, port: number, rpki?: RpkiCache): Promise<Started> {
  const conf = join(dir, 'bird-bench.conf');
  const ctl = join(dir, 'bird-bench.ctl');
  const common = `local ${ADDR.daemon} port ${port} as ${AS.daemon}; multihop; strict bind yes; passive yes;
  hold time 240; graceful restart off;`;
  writeFileSync(
    conf,
    `# written by bench/bgp-propagation/daemons.ts
router id ${ADDR.daemon};
ipv4 table nh4;${
      rpki
        ? `
roa4 table r4;
protocol rpki rtr { roa4 { table r4; }; remote ${rpki.address} port ${rpki.port}; retry keep 1; }
filter rov { if roa_check(r4, net, bgp_path.last) = ROA_INVALID then reject; accept; }`
        : ''
    }
protocol device {}
protocol static nhs { ipv4 { table nh4; }; route 127.0.0.0/8 via "lo"; }
protocol bgp feeder {
  ${common}
  neighbor ${ADDR.feeder} port 179 as ${AS.feeder};
  ipv4 { import ${rpki ? 'filter rov' : 'all'}; export none; igp table nh4; };
}
protocol bgp monitor {
  ${common}
  neighbor ${ADDR.monitor} port 179 as ${AS.monitor};
  ipv4 { import none; export all; next hop self; igp table nh4; };
}
`,
  );
  // BIRD opens its RTR connection as it starts (milliseconds): its load time is from the spawn.
  const t0 = performance.now();
  const daemon = new Daemon('bird', ['bird', '-f', '-c', conf, '-s', ctl, '-P', join(dir, 'bird-bench.pid')]);
  await birdUp(ctl);
  if (!rpki) return { name: 'bird', daemon };
  await birdRoas(ctl, rpki.vrps);
  const validRoutes = () =>
    new Promise<number>((resolve, reject) =>
      execFile(
        'birdc',
        [
          '-s',
          ctl,
          'show',
          'route',
          'count',
          'protocol',
          'feeder',
          'where',
          'roa_check(r4, net, bgp_path.last) = ROA_VALID',
        ],
        { timeout: 120_000 },
        (err, out) => {
          const m = /(\d+) of \d+ routes/.exec(out);
          if (err || !m) reject(err ?? new Error(`birdc: ${out}`));
          else resolve(Number(m[1]));
        },
      ),
    );
  return { name: 'bird', daemon, vrpLoadSeconds: (performance.now() - t0) / 1000, validRoutes };
}

export async function startGredged(dir: string, port: number, rpki?: RpkiCache): Promise<Started> {
  const g = new Gredged({
    dir,
    routerId: ADDR.daemon,
    localAs: AS.daemon,
    listen: { address: ADDR.daemon, port },
    logLevel: 'info',
    // BGP work alone, as BIRD does here (no kernel protocol); bench:fib measures the FIB.
    fib: false,
    neighbors: [
      {
        name: 'upstream',
        address: ADDR.feeder,
        remoteAs: AS.feeder,
        role: 'transit',
        passive: true,
        holdTime: 240,
      },
      {
        name: 'cust-a',
        address: ADDR.monitor,
        remoteAs: AS.monitor,
        role: 'customer',
        passive: true,
        holdTime: 240,
      },
    ],
  });
  if (!rpki) return { name: 'gredged', daemon: await g.start() };
  // The harness writes no `rpki` key: the same config with it, started the same way.
  writeFileSync(
    g.confPath,
    `${gredgedYaml(g.opts)}rpki: { servers: [{ address: ${rpki.address}, port: ${rpki.port} }] }\n`,
  );
  const daemon = new Daemon('gredged', [process.execPath, MAIN, '--config', g.confPath]);
  await daemon.waitFor(/gredged started/, 15_000);
  // Its own log lines (pino JSON, `time` ISO with ms): the RTR client's first `syncing` state (connected,
  // Reset Query sent) to the `current` state holding every VRP.
  const syncing = await daemon.waitFor(/^.*"connection":"syncing".*$/m, 15_000);
  const current = await daemon.waitFor(
    new RegExp(`^.*"data":"current".*"vrps":${rpki.vrps}\\b.*$`, 'm'),
    vrpDeadlineMs(rpki.vrps),
  );
  const time = (m: RegExpMatchArray) => Date.parse((JSON.parse(m[0]) as { time: string }).time);
  const validRoutes = () =>
    new Promise<number>((resolve, reject) =>
      execFile(
        process.execPath,
        [CTL, '--socket', join(dir, 'gredge.sock'), '--json', 'show', 'neighbor', 'upstream'],
        { timeout: 120_000, maxBuffer: 1 << 24 },
        (err, out) => {
          const valid = err ? undefined : findValid(JSON.parse(out));
          if (valid === undefined)
            reject(err ?? new Error(`gredgectl: no rpki counts in ${out.slice(0, 500)}`));
          else resolve(valid);
        },
      ),
    );
  return { name: 'gredged', daemon, vrpLoadSeconds: (time(current) - time(syncing)) / 1000, validRoutes };
}

const CTL = join(dirname(MAIN), 'control', 'cli', 'gredgectl.js');

/** `rpki.valid` wherever it sits in gredgectl's JSON answer for a neighbor. */
function findValid(x: unknown): number | undefined {
  if (typeof x !== 'object' || x === null) return undefined;
  const r = (x as { rpki?: { valid?: unknown } }).rpki;
  if (r && typeof r.valid === 'number') return r.valid;
  for (const v of Object.values(x)) {
    const f = findValid(v);
    if (f !== undefined) return f;
  }
  return undefined;
}

/** Resolves once BIRD's ROA table holds `n` VRPs (polled every 200 ms; deadline vrpDeadlineMs). */
function birdRoas(ctl: string, n: number): Promise<true> {
  return until(
    'BIRD ROA table',
    () =>
      new Promise<true | undefined>((resolve) =>
        execFile('birdc', ['-s', ctl, 'show', 'route', 'table', 'r4', 'count'], (err, out) =>
          resolve(!err && out.includes(`${n} of ${n} routes`) ? true : undefined),
        ),
      ),
    vrpDeadlineMs(n),
  );
}

/** Resolves once the BIRD behind control socket `ctl` says it is up (10 s deadline). */
export function birdUp(ctl: string): Promise<true> {
  return until(
    'BIRD up',
    () =>
      new Promise<true | undefined>((resolve) =>
        execFile('birdc', ['-s', ctl, 'show', 'status'], (err, out) =>
          resolve(!err && out.includes('Daemon is up') ? true : undefined),
        ),
      ),
    10_000,
  );
}
