/**
 * gredged in the no-resale lab: the edge (tunnels to both CPEs, every BGP neighbor) and the
 * CPEs' tunnel-only data planes (configs.ts' `cpe` shape), their YAML, and the process: started
 * with `node dist/src/main.js --config FILE` in its namespace, ready at "gredged started",
 * stopped with SIGTERM or SIGKILL by PID; its JSON log lines are kept across restarts.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LabProcess } from '../netns.js';
import type { NrLab } from './lab.js';
import {
  AS,
  AUX,
  BOGONS,
  CUSTOMERS,
  type Customer,
  EDGE_UNDERLAY,
  INTERNAL,
  innerSubnets,
  OWN_PREFIXES,
  PEER,
  RS_GOOD_ROUTE,
  TRANSIT,
  TUN,
} from './plan.js';

const MAIN = fileURLToPath(new URL('../../../src/main.js', import.meta.url));
const q = (s: string) => JSON.stringify(s);
const list = (xs: readonly string[]) => `[${xs.map(q).join(', ')}]`;

/** What a customer may announce: its prefixes and their more specifics down to /28 (v4). */
export function customerPrefixes(c: Customer): string[] {
  return [`${c.prefix4} le 28`, c.prefix6];
}

/** A tunnel's anti-spoofing list: the customer's prefixes and the tunnel's inner subnets. */
export function allowedSources(c: Customer): string[] {
  const s = innerSubnets(c);
  return [c.prefix4, c.prefix6, s.v4, s.v6];
}

export function edgeYaml(): string {
  const lines = [
    '# lab: the no-resale edge (test/lab/no-resale)',
    `router-id: ${EDGE_UNDERLAY}`,
    `local-as: ${AS.edge}`,
    'log: { level: info }',
    // Three gredged run at once in this lab: none of them needs a control socket or an exporter.
    'control: false',
    'metrics: false',
    `dataplane: { tun: ${TUN}, workers: 2 }`,
    `underlay: { local: ${q(EDGE_UNDERLAY)} }`,
    `own-prefixes: ${list(OWN_PREFIXES)}`,
    `bogons: ${list(BOGONS)}`,
    'tunnels:',
  ];
  for (const c of CUSTOMERS) {
    lines.push(
      `  - name: ${c.name}`,
      `    remote: ${q(c.link.cpe)}`,
      `    key: ${c.key}`,
      `    inner: { local: ${q(`${c.inner.edge}/30`)}, local6: ${q(`${c.inner.edge6}/127`)} }`,
      `    allowed-sources: ${list(allowedSources(c))}`,
    );
  }
  lines.push('neighbors:');
  const n = (fields: Record<string, string | number | boolean>) =>
    `  - { ${Object.entries(fields)
      .map(
        ([k, v]) => `${k}: ${typeof v === 'string' && !v.startsWith('[') && !v.startsWith('{') ? q(v) : v}`,
      )
      .join(', ')} }`;
  for (const c of CUSTOMERS) {
    lines.push(
      n({
        name: c.name,
        address: c.inner.cpe,
        'remote-as': c.as,
        role: 'customer',
        resale: c.resale,
        passive: true,
        tunnel: c.name,
        // keepalives every 3 s: after gredged is killed, the CPE's BIRD learns it within seconds
        'hold-time': 9,
        'next-hop6': c.inner.edge6,
        prefixes: list(customerPrefixes(c)),
      }),
    );
  }
  const ebgp = (name: string, address: string, as: number, role: string, nh6: string, extra = {}) =>
    n({ name, address, 'remote-as': as, role, passive: true, 'hold-time': 30, 'next-hop6': nh6, ...extra });
  lines.push(
    ebgp('peer', PEER.addr, AS.peer, 'peer', PEER.edge6, { 'no-resale': true }),
    // GoBGP waits for gredged's connection (gobgp.ts).
    ebgp('transit', TRANSIT.addr, AS.transit, 'transit', TRANSIT.edge6, {
      passive: false,
      'connect-retry': 1,
    }),
    n({
      name: 'int',
      address: INTERNAL.addr,
      'remote-as': AS.edge,
      role: 'internal',
      passive: false,
      'connect-retry': 1,
      'hold-time': 30,
    }),
    // gredged connects to the max-prefix neighbor (BIRD is passive), so that the hold-down is
    // gredged's alone: nothing connects while it lasts, BIRD's last error stays the Cease.
    ebgp('mp', AUX.mp, AS.mp, 'peer', AUX.edge6, {
      passive: false,
      'connect-retry': 1,
      'max-prefix': '{ limit: 2, action: restart, restart-after: 10 }',
    }),
    // Each customer owns its own space (overlapping customers' prefixes are a config error):
    // the two that never come up get a /48 of their own beside rs-good's.
    ebgp('rs-mismatch', AUX.rsMismatch, AS.rsMismatch, 'customer', AUX.edge6, {
      'role-strict': true,
      prefixes: list(['2001:db8:e9::/48']),
    }),
    ebgp('rs-missing', AUX.rsMissing, AS.rsMissing, 'customer', AUX.edge6, {
      'role-strict': true,
      prefixes: list(['2001:db8:ea::/48']),
    }),
    ebgp('rs-good', AUX.rsGood, AS.rsGood, 'customer', AUX.edge6, {
      'role-strict': true,
      prefixes: list([RS_GOOD_ROUTE]),
    }),
    ebgp('feeder', AUX.feeder, AS.feeder, 'transit', AUX.edge6),
  );
  return `${lines.join('\n')}\n`;
}

/** What each CPE routes into its tunnel: the lab's destinations, never its own underlay. */
export const CPE_ROUTES = [
  '203.0.113.0/24',
  INTERNAL.own4,
  PEER.prefix6,
  TRANSIT.prefix6,
  '2001:db8:c1::/48',
  '2001:db8:c2::/48',
  INTERNAL.own6,
];

export function cpeYaml(c: Customer): string {
  return [
    `# lab: ${c.name}'s CPE, a tunnel-only gredged (BGP is BIRD's, inside the tunnel)`,
    `router-id: ${c.link.cpe}`,
    `local-as: ${c.as}`,
    'log: { level: info }',
    `dataplane: { tun: ${TUN}, workers: 1 }`,
    // The CPE is only a tunnel end: no FIB of its own (its static routes stay the data plane's).
    'fib: false',
    'control: false',
    'metrics: false',
    `underlay: { local: ${q(c.link.cpe)} }`,
    'tunnels:',
    '  - name: to-edge',
    `    remote: ${q(EDGE_UNDERLAY)}`,
    `    key: ${c.key}`,
    `    inner: { local: ${q(`${c.inner.cpe}/30`)}, local6: ${q(`${c.inner.cpe6}/127`)} }`,
    `    allowed-sources: ${list(['0.0.0.0/0', '::/0'])}`,
    `    routes: ${list(CPE_ROUTES)}`,
    '',
  ].join('\n');
}

export type LogLine = Record<string, unknown> & { msg?: string; time?: number; neighbor?: string };

export class Gredged {
  readonly role: string;
  readonly config: string;
  proc: LabProcess | undefined;
  /** Every JSON log line of every run, in order. */
  readonly logs: LogLine[] = [];
  /** Index into `logs` where the current run starts. */
  runStart = 0;
  readonly #lab: NrLab;

  constructor(lab: NrLab, role: string, name: string, yaml: string) {
    this.#lab = lab;
    this.role = role;
    this.config = join(lab.dir, `${name}.yaml`);
    writeFileSync(this.config, yaml);
  }

  async start(timeoutMs = 20_000): Promise<void> {
    this.runStart = this.logs.length;
    const p = this.#lab.spawn(this.role, `gredged-${this.role}`, [
      process.execPath,
      MAIN,
      '--config',
      this.config,
    ]);
    this.proc = p;
    let buf = '';
    let ready!: () => void;
    const started = new Promise<void>((r) => (ready = r));
    p.child.stdout?.on('data', (d: string) => {
      buf += d;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const j = JSON.parse(line) as LogLine;
          this.logs.push(j);
          if (j.msg === 'gredged started') ready();
        } catch {}
      }
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      started,
      p.exited.then((code) => {
        throw new Error(`gredged on ${this.role} exited (${code}) before ready: ${p.stderr.slice(-3000)}`);
      }),
      new Promise((_r, rej) => {
        timer = setTimeout(
          () => rej(new Error(`gredged on ${this.role} not ready in ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]).finally(() => clearTimeout(timer));
  }

  get running(): boolean {
    return this.proc?.running ?? false;
  }

  /** SIGTERM; resolves with the exit code (SIGKILL after 10 s). */
  stop(): Promise<number | null> {
    return this.proc?.stop(10_000) ?? Promise.resolve(null);
  }

  /** kill -9, by PID; resolves once it is gone. */
  async kill9(): Promise<void> {
    this.proc?.killSync();
    await this.proc?.exited;
  }

  /** Log lines of every run matching `pred`. */
  find(pred: (l: LogLine) => boolean): LogLine[] {
    return this.logs.filter(pred);
  }

  /** Whether `neighbor` is Established in the current run (the last state change says so). */
  established(neighbor: string): boolean {
    for (let i = this.logs.length - 1; i >= this.runStart; i--) {
      const l = this.logs[i]!;
      if (l.neighbor === neighbor && typeof l.to === 'string') return l.to === 'Established';
    }
    return false;
  }
}
