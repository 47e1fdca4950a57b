/**
 * The churn bench's two daemons, each in its own `gt-` namespace on 127.0.0.1:179 (AS 65000):
 * a transit (127.0.0.2, AS 65001, hold 90) whose routes (NEXT_HOP 192.0.2.2, on the veth
 * subnet) go into two kernel tables (201 full, 202 resale) and out to N customers (127.0.1.x,
 * private 4-octet ASes, hold time 9, passive), both daemons exporting the full table to them.
 * - gredged: transit `transit`, customers `customer`, `fib: {full-table: 201, resale-table: 202}`,
 *   metrics on 127.0.0.1:9475 of its namespace (the lag series the probe samples).
 * - BIRD 2: bench/fib's layout (transit → t201 → kernel 201; a pipe to t202 → kernel 202), with
 *   every customer exported t201 with next hop self; multihop (BIRD refuses a 127/8 neighbor as
 *   directly connected), next hops resolved through the veth subnet from `protocol direct`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAIN } from '../../test/interop/harness/gredged.js';
import { Daemon } from '../../test/interop/harness/proc.js';
import { birdUp } from '../bgp-propagation/daemons.js';
import { atCleanup } from '../fib/cleanup.js';
import { LINK } from './ns.js';

export type Which = 'gredged' | 'bird';
export const DAEMON = { address: '127.0.0.1', port: 179, as: 65000 };
export const TRANSIT = { address: '127.0.0.2', as: 65001, hold: 90 };
export const METRICS_URL = 'http://127.0.0.1:9475/metrics';

export interface ChurnCustomer {
  address: string;
  as: number;
}

/** Customer i: 127.0.1.(i+1) … (up to 250 per /24 of 127.0.x). */
export function churnCustomers(n: number): ChurnCustomer[] {
  return Array.from({ length: n }, (_, i) => ({
    address: `127.0.${1 + Math.floor(i / 250)}.${(i % 250) + 1}`,
    as: 4_200_000_000 + i,
  }));
}

export interface Running {
  daemon: Daemon;
  /** BIRD's control socket (birdc -s). */
  ctl?: string;
  stop(): Promise<void>;
}

function track(daemon: Daemon, graceMs: number): Running {
  const undo = atCleanup(() => daemon.killNow());
  return {
    daemon,
    async stop() {
      await daemon.stop(graceMs);
      undo();
    },
  };
}

export function gredgedChurnYaml(cs: ChurnCustomer[], hold: number, dir: string): string {
  const L = [
    '# written by bench/churn/daemons.ts',
    'router-id: 192.0.2.1',
    `local-as: ${DAEMON.as}`,
    `listen: { address: ${DAEMON.address}, port: ${DAEMON.port} }`,
    'log: { level: info }',
    `control: { socket: ${JSON.stringify(join(dir, 'gredge-churn.sock'))} }`,
    'metrics: { listen: "127.0.0.1:9475" }',
    'fib: { full-table: 201, resale-table: 202, protocol: 250 }',
    'neighbors:',
    `  - { name: transit, address: ${TRANSIT.address}, remote-as: ${TRANSIT.as}, role: transit, passive: true, hold-time: ${TRANSIT.hold}, families: [ipv4-unicast] }`,
    ...cs.map(
      (c, i) =>
        `  - { name: c${i}, address: ${c.address}, remote-as: ${c.as}, role: customer, passive: true, hold-time: ${hold}, families: [ipv4-unicast] }`,
    ),
  ];
  return `${L.join('\n')}\n`;
}

export function birdChurnConf(cs: ChurnCustomer[], hold: number): string {
  return `# written by bench/churn/daemons.ts
router id 192.0.2.1;
log stderr { warning, error, fatal, bug };
ipv4 table t201;
ipv4 table t202;
ipv4 table nh4;
protocol device {}
protocol direct { ipv4 { table nh4; }; interface "${LINK.device}"; }
protocol bgp transit {
  local ${DAEMON.address} as ${DAEMON.as}; neighbor ${TRANSIT.address} as ${TRANSIT.as};
  multihop; passive yes; hold time ${TRANSIT.hold}; graceful restart off;
  ipv4 { table t201; import all; export none; igp table nh4; };
}
protocol pipe p202 { table t201; peer table t202; export all; import none; }
protocol kernel k201 { kernel table 201; ipv4 { table t201; import none; export all; }; }
protocol kernel k202 { kernel table 202; ipv4 { table t202; import none; export all; }; }
template bgp customer {
  local ${DAEMON.address} as ${DAEMON.as}; multihop; passive yes; hold time ${hold}; graceful restart off;
  ipv4 { table t201; import none; export all; next hop self; igp table nh4; };
}
${cs.map((c, i) => `protocol bgp c${i} from customer { neighbor ${c.address} as ${c.as}; }`).join('\n')}
`;
}

export async function startChurnDaemon(
  which: Which,
  ns: string,
  dir: string,
  cs: ChurnCustomer[],
  hold: number,
): Promise<Running> {
  if (which === 'gredged') {
    const conf = join(dir, 'gredge-churn.yaml');
    writeFileSync(conf, gredgedChurnYaml(cs, hold, dir));
    const r = track(new Daemon('gredged', [process.execPath, MAIN, '--config', conf], { netns: ns }), 30_000);
    try {
      await r.daemon.waitFor(/gredged started/, 60_000);
    } catch (err) {
      await r.stop();
      throw err;
    }
    return r;
  }
  const conf = join(dir, 'bird-churn.conf');
  const ctl = join(dir, 'bird-churn.ctl');
  writeFileSync(conf, birdChurnConf(cs, hold));
  const argv = ['bird', '-f', '-c', conf, '-s', ctl, '-P', join(dir, 'bird-churn.pid')];
  // BIRD removes its kernel routes on the way out: give it time.
  const r = track(new Daemon('bird', argv, { netns: ns }), 60_000);
  const exited = r.daemon.exited.then((code): never => {
    throw new Error(`bird exited (${code}) at start-up: ${r.daemon.output.slice(-2000)}`);
  });
  exited.catch(() => {});
  try {
    await Promise.race([exited, birdUp(ctl)]);
  } catch (err) {
    await r.stop();
    throw err;
  }
  return { ...r, ctl };
}
