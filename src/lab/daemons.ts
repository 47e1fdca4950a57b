/**
 * The lab's other daemons and their configs: BIRD 2 on the peer and inside each customer's
 * tunnel, GoBGP as the transit and the internal network, gredge's data plane as each CPE's end
 * of its GRE circuit (this kernel has no GRE module, so the CPE cannot use kernel GRE), and the
 * checks that each one is ready. Configs are written under /run/gredge-lab/<name>/.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CPE_ROUTES,
  type Customer,
  EDGE_AS,
  EDGE_UNDERLAY,
  GREDGED,
  type Neighbor,
  ns,
  RUN_DIR,
} from './plan.js';
import { type Daemon, must, run, startDaemon, until } from './sh.js';

/** A daemon's directory under the run directory (made empty). */
export function daemonDir(name: string): string {
  const dir = join(RUN_DIR, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

export interface BirdSpec {
  name: string;
  role: string;
  routerId: string;
  /** The static routes BIRD announces (blackholes: BIRD here never forwards, the namespace does). */
  routes: string[];
  /** A `protocol bgp` block (ours, or pasted from `gredgectl customer add`). */
  bgp: string;
}

/** A BGP block for the lab's BIRDs: fast timers (a lab should come up in seconds), no GR. */
export function birdBgp(o: {
  name: string;
  local: string;
  localAs: number;
  neighbor: string;
  neighborAs: number;
  holdTime?: number;
}): string {
  const hold = o.holdTime ?? 9;
  return `protocol bgp ${o.name} {
  local ${o.local} as ${o.localAs};
  neighbor ${o.neighbor} as ${o.neighborAs};
  hold time ${hold}; keepalive time ${Math.floor(hold / 3)};
  connect delay time 1; connect retry time 1; error wait time 1, 5;
  graceful restart off;
  ipv4 { import all; export where source = RTS_STATIC; };
}`;
}

export function birdConfig(s: BirdSpec, dir: string): string {
  return [
    `# BIRD 2 of the gredge lab (${s.name}), written by src/lab/daemons.ts`,
    `router id ${s.routerId};`,
    `log "${join(dir, 'bird.log')}" all;`,
    'protocol device { scan time 1; }',
    `protocol static { ipv4; ${s.routes.map((r) => `route ${r} blackhole;`).join(' ')} }`,
    s.bgp,
    '',
  ].join('\n');
}

export class Bird {
  readonly ctl: string;
  constructor(
    readonly spec: BirdSpec,
    readonly dir: string,
  ) {
    this.ctl = join(dir, 'bird.ctl');
  }

  start(onExit: (d: Daemon, code: number | null) => void): Daemon {
    const conf = join(this.dir, 'bird.conf');
    writeFileSync(conf, birdConfig(this.spec, this.dir));
    const d: Daemon = startDaemon(
      `bird ${this.spec.name}`,
      ns(this.spec.role),
      ['bird', '-f', '-c', conf, '-s', this.ctl, '-P', join(this.dir, 'bird.pid')],
      join(this.dir, 'stdout.log'),
      (code) => onExit(d, code),
    );
    return d;
  }

  birdc(...args: string[]): Promise<string> {
    return run(['birdc', '-s', this.ctl, ...args], { timeoutMs: 10_000 }).then((r) => r.stdout + r.stderr);
  }

  async ready(timeoutMs: number): Promise<void> {
    const r = await until(
      () => this.birdc('show', 'status'),
      (s) => s.includes('Daemon is up'),
      timeoutMs,
      100,
    );
    if (!r.ok) throw new Error(`BIRD ${this.spec.name} did not start in ${timeoutMs} ms: ${r.value.trim()}`);
  }
}

export function peerBird(p: Neighbor): Bird {
  return new Bird(
    {
      name: p.role,
      role: p.role,
      routerId: p.addr,
      routes: [p.prefix],
      bgp: birdBgp({
        name: 'edge',
        local: p.addr,
        localAs: p.as,
        neighbor: p.edge,
        neighborAs: EDGE_AS,
        holdTime: 30,
      }),
    },
    daemonDir(`bird-${p.role}`),
  );
}

export function cpeBird(c: Customer, inner: { edge: string; cpe: string }, bgp?: string): Bird {
  return new Bird(
    {
      name: c.role,
      role: c.role,
      routerId: c.cpe,
      routes: [c.prefix],
      bgp:
        bgp ??
        birdBgp({ name: 'edge', local: inner.cpe, localAs: c.as, neighbor: inner.edge, neighborAs: EDGE_AS }),
    },
    daemonDir(`bird-${c.role}`),
  );
}

/** GoBGP (gobgpd 3.x): passive (its own connect retry is at least 5 s), gRPC on a Unix socket. */
export class Gobgp {
  readonly target: string;
  readonly dir: string;
  constructor(readonly n: Neighbor) {
    this.dir = daemonDir(`gobgp-${n.role}`);
    this.target = `unix://${join(this.dir, 'gobgp.sock')}`;
  }

  config(): string {
    const n = this.n;
    return `# GoBGP of the gredge lab (${n.role}), written by src/lab/daemons.ts
[global.config]
  as = ${n.as}
  router-id = "${n.addr}"
  port = 179
  local-address-list = ["${n.addr}"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "${n.edge}"
    peer-as = ${EDGE_AS}
  [neighbors.transport.config]
    passive-mode = true
    local-address = "${n.addr}"
  [neighbors.timers.config]
    hold-time = 30
    keepalive-interval = 10
    idle-hold-time-after-reset = 1
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
`;
  }

  start(onExit: (d: Daemon, code: number | null) => void): Daemon {
    const conf = join(this.dir, 'gobgpd.toml');
    writeFileSync(conf, this.config());
    const d: Daemon = startDaemon(
      `gobgpd ${this.n.role}`,
      ns(this.n.role),
      ['gobgpd', '-f', conf, '--api-hosts', this.target, '--pprof-disable', '-l', 'info'],
      join(this.dir, 'gobgpd.log'),
      (code) => onExit(d, code),
    );
    return d;
  }

  cli(...args: string[]): Promise<string> {
    return must(['gobgp', '--target', this.target, ...args], { timeoutMs: 10_000 });
  }

  async ready(timeoutMs: number): Promise<void> {
    const r = await until(
      () => this.cli('global').catch((e: Error) => e.message),
      (s) => /AS:\s*\d+/.test(s),
      timeoutMs,
      100,
    );
    if (!r.ok) throw new Error(`gobgpd ${this.n.role} did not start in ${timeoutMs} ms: ${r.value.trim()}`);
  }

  /** Originates the neighbor's prefix (next hop: its own address; GoBGP drops loopback ones). */
  announce(): Promise<string> {
    return this.cli('global', 'rib', 'add', '-a', 'ipv4', this.n.prefix, 'nexthop', this.n.addr);
  }
}

export interface CpeTunnel {
  key: number;
  /** The CPE's inner address and prefix length, e.g. 192.0.2.2/30. */
  inner: string;
  mtu?: number;
}

/** A CPE's gredged: a tunnel-only data plane (no BGP, no FIB), the lab's destinations routed in. */
export function cpeYaml(c: Customer, t: CpeTunnel): string {
  return [
    `# ${c.name}'s CPE: gredge's data plane as its end of the GRE circuit (this kernel has no GRE`,
    '# module); the BGP session inside the tunnel is BIRD 2. Written by src/lab/daemons.ts.',
    `router-id: ${c.cpe}`,
    `local-as: ${c.as}`,
    'log: { level: info }',
    'dataplane: { tun: gredge0, workers: 1 }',
    // The CPE routes by its data plane's static routes below, not by a FIB of its own.
    'fib: false',
    'control: false',
    'metrics: false',
    `underlay: { local: ${c.cpe} }`,
    'tunnels:',
    '  - name: to-edge',
    `    remote: ${EDGE_UNDERLAY}`,
    `    key: ${t.key}`,
    ...(t.mtu ? [`    mtu: ${t.mtu}`] : []),
    `    inner: { local: ${t.inner} }`,
    '    allowed-sources: [0.0.0.0/0]',
    `    routes: [${CPE_ROUTES.join(', ')}]`,
    '',
  ].join('\n');
}

/** gredged in a namespace, ready once its log says "gredged started". */
export class Gredged {
  readonly dir: string;
  readonly log: string;
  /** The config file; `yaml` given: written into the daemon's directory. */
  readonly config: string;
  constructor(
    readonly name: string,
    readonly role: string,
    config: string | { yaml: string },
  ) {
    this.dir = daemonDir(`gredged-${role}`);
    this.log = join(this.dir, 'gredged.log');
    if (typeof config === 'string') this.config = config;
    else {
      this.config = join(this.dir, 'gredge.yaml');
      writeFileSync(this.config, config.yaml);
    }
  }

  start(onExit: (d: Daemon, code: number | null) => void): Daemon {
    const d: Daemon = startDaemon(
      this.name,
      ns(this.role),
      [process.execPath, GREDGED, '--config', this.config],
      this.log,
      (code) => onExit(d, code),
    );
    return d;
  }

  logText(): string {
    try {
      return readFileSync(this.log, 'utf8');
    } catch {
      return '';
    }
  }

  async ready(timeoutMs: number): Promise<void> {
    const r = await until(
      async () => this.logText(),
      (s) => s.includes('"msg":"gredged started"'),
      timeoutMs,
      100,
    );
    if (!r.ok)
      throw new Error(
        `${this.name} did not start in ${timeoutMs} ms; its log ends: ${r.value.slice(-1500).trim()}`,
      );
  }
}

/** A CPE's gredged, its config written into its directory. */
export function cpeGredged(c: Customer, t: CpeTunnel): Gredged {
  return new Gredged(`gredged ${c.role}`, c.role, { yaml: cpeYaml(c, t) });
}
