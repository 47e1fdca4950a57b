/**
 * The two daemons of the FIB bench, each started inside its lab namespace on 127.0.0.1:179
 * with the propagation bench's neighbors (feeder 127.0.0.2 AS 65001, monitor 127.0.0.3 AS
 * 65002), both passive, graceful restart off, and writing (or, with `fib` off, not writing)
 * the best paths into kernel tables 201 and 202 via the feeder's next hop 192.0.2.2.
 * - BIRD 2: feeder → table t201 → kernel protocol into table 201; a pipe copies t201 into
 *   t202 → a second kernel protocol into table 202; the monitor is fed from t201 with next hop
 *   self. The sessions are multihop (BIRD refuses a 127/8 neighbor as directly connected, and
 *   multihop cannot use `gateway direct`), so 192.0.2.2 resolves recursively through table nh4,
 *   which holds the veth's connected subnet from `protocol direct`: the kernel routes come out
 *   `via 192.0.2.2 dev fib0`, as gredged's should.
 * - gredged: the feeder is a `transit` (its routes are best in both the full and the resale
 *   table), the monitor a `customer`; `fib: {full-table: 201, resale-table: 202, protocol: 250}`
 *   or `fib: false`. The default bogon list stays: the feed has no bogon (public-looking /22
 *   and /24 only), so the config is the one an operator would run.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAIN } from '../../test/interop/harness/gredged.js';
import { Daemon } from '../../test/interop/harness/proc.js';
import { ADDR, AS, birdUp } from '../bgp-propagation/daemons.js';
import { atCleanup } from './cleanup.js';
import { LINK } from './netns.js';

export const TABLES = [201, 202] as const;
export type Which = 'bird' | 'gredged';

export interface Started {
  daemon: Daemon;
  /** Ends the daemon (SIGTERM, SIGKILL after the grace period). */
  stop(): Promise<void>;
}

/** Keeps a daemon on the cleanup list until it has been stopped. */
function track(daemon: Daemon): Started {
  const undo = atCleanup(() => daemon.killNow());
  return {
    daemon,
    async stop() {
      // BIRD removes what its kernel protocols installed on the way out: give it time.
      await daemon.stop(30_000);
      undo();
    },
  };
}

export function birdConfig(fib: boolean): string {
  const common = `local ${ADDR.daemon} port 179 as ${AS.daemon}; multihop; strict bind yes; passive yes;
  hold time 240; graceful restart off;`;
  const kernel = fib
    ? `
ipv4 table t202;
protocol pipe p202 { table t201; peer table t202; export all; import none; }
protocol kernel k201 { kernel table ${TABLES[0]}; ipv4 { table t201; import none; export all; }; }
protocol kernel k202 { kernel table ${TABLES[1]}; ipv4 { table t202; import none; export all; }; }
`
    : '';
  return `# written by bench/fib/daemons.ts (kernel tables ${fib ? 'on' : 'off'})
router id ${ADDR.daemon};
log stderr { info, remote, warning, error, auth, fatal, bug };
ipv4 table t201;
ipv4 table nh4;
protocol device {}
protocol direct { ipv4 { table nh4; }; interface "${LINK.device}"; }
protocol bgp feeder {
  ${common}
  neighbor ${ADDR.feeder} port 179 as ${AS.feeder};
  ipv4 { table t201; import all; export none; igp table nh4; };
}
protocol bgp monitor {
  ${common}
  neighbor ${ADDR.monitor} port 179 as ${AS.monitor};
  ipv4 { table t201; import none; export all; next hop self; igp table nh4; };
}
${kernel}`;
}

export async function startBird(ns: string, dir: string, fib: boolean): Promise<Started> {
  const conf = join(dir, `bird-${ns}.conf`);
  const ctl = join(dir, `bird-${ns}.ctl`);
  writeFileSync(conf, birdConfig(fib));
  const argv = ['bird', '-f', '-c', conf, '-s', ctl, '-P', join(dir, `bird-${ns}.pid`)];
  const started = track(new Daemon('bird', argv, { netns: ns }));
  const exited = started.daemon.exited.then((code): never => {
    throw new Error(`bird exited (${code}) at start-up`);
  });
  exited.catch(() => {});
  try {
    await Promise.race([exited, birdUp(ctl)]);
  } catch (err) {
    await started.stop();
    throw new Error(`${(err as Error).message}\n${started.daemon.output.slice(-2000)}`);
  }
  return started;
}

/**
 * The control socket goes into the bench's directory (never the system's /run/gredge path,
 * which a gredged of the machine may hold); a gredged whose loader has no `control` key yet
 * gets none (decided once by `checkGredgedConfig`).
 */
let controlKey = true;
/** `metrics: false`: no Prometheus exporter on the default port (same fallback as `control`). */
let metricsKey = true;

export function gredgedConfig(fib: boolean, dir: string): string {
  const neighbor = (name: string, address: string, as: number, role: string) => [
    `  - name: ${name}`,
    `    address: ${address}`,
    `    remote-as: ${as}`,
    `    role: ${role}`,
    '    passive: true',
    '    hold-time: 240',
    '    families: [ipv4-unicast]',
  ];
  return [
    `# written by bench/fib/daemons.ts (FIB ${fib ? 'on' : 'off'})`,
    `router-id: ${ADDR.daemon}`,
    `local-as: ${AS.daemon}`,
    `listen: { address: ${ADDR.daemon}, port: 179 }`,
    'log: { level: info }',
    ...(controlKey ? [`control: { socket: ${JSON.stringify(join(dir, 'gredge-fib.sock'))} }`] : []),
    ...(metricsKey ? ['metrics: false'] : []),
    ...(fib
      ? ['fib:', `  full-table: ${TABLES[0]}`, `  resale-table: ${TABLES[1]}`, '  protocol: 250']
      : ['fib: false']),
    'neighbors:',
    ...neighbor('upstream', ADDR.feeder, AS.feeder, 'transit'),
    ...neighbor('monitor', ADDR.monitor, AS.monitor, 'customer'),
    '',
  ].join('\n');
}

function gredgedConfFile(dir: string, fib: boolean): string {
  const conf = join(dir, `gredge-fib-${fib ? 'on' : 'off'}.yaml`);
  writeFileSync(conf, gredgedConfig(fib, dir));
  return conf;
}

/** `gredged --check` on the config: undefined when accepted, else what it said. */
export function checkGredgedConfig(dir: string, fib: boolean): string | undefined {
  const check = () => {
    try {
      execFileSync(process.execPath, [MAIN, '--config', gredgedConfFile(dir, fib), '--check'], {
        stdio: 'pipe',
        timeout: 30_000,
      });
      return undefined;
    } catch (err) {
      const e = err as { stderr?: Buffer; stdout?: Buffer; message: string };
      const said = `${e.stderr?.toString() ?? ''}${e.stdout?.toString() ?? ''}`.trim() || e.message;
      return said.replace(/\s*\n\s*/g, '; ');
    }
  };
  const said = check();
  if (said === undefined) return said;
  const dropControl = controlKey && said.includes("unknown key 'control'");
  const dropMetrics = metricsKey && said.includes("unknown key 'metrics'");
  if (!dropControl && !dropMetrics) return said;
  if (dropControl) controlKey = false;
  if (dropMetrics) metricsKey = false;
  return check();
}

export async function startGredged(ns: string, dir: string, fib: boolean): Promise<Started> {
  const conf = gredgedConfFile(dir, fib);
  const started = track(new Daemon('gredged', [process.execPath, MAIN, '--config', conf], { netns: ns }));
  try {
    await started.daemon.waitFor(/gredged started/, 20_000);
  } catch (err) {
    await started.stop();
    throw err;
  }
  return started;
}

export function startDaemon(which: Which, ns: string, dir: string, fib: boolean): Promise<Started> {
  return which === 'bird' ? startBird(ns, dir, fib) : startGredged(ns, dir, fib);
}
