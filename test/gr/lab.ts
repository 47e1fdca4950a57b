/**
 * The graceful-restart lab (test/gr/*-lab.test.ts): namespaces and veths, a real gredged on the
 * edge (a persistent TUN, a control socket, graceful restart on every neighbor), a customer whose
 * BGP session (BIRD 2) runs inside a GRE tunnel with gredge's own data plane on its CPE, and
 * BIRD 2 as a peer and as a transit on veths of their own. Every BIRD has `graceful restart on`.
 * Documentation space only (RFC 5737, RFC 3849) and documentation ASNs:
 *
 *   cpe (gredged + BIRD, AS 64500) ══GRE key 200══╗
 *                                                 edge (gredged, AS 65000)
 *   peer (BIRD, AS 64496) ──────────────────────────┤
 *   transit (BIRD, AS 64497) ───────────────────────┘
 *
 * The peer and the transit route everything via the edge (a default route), so a ping from one
 * host to the other crosses only the edge's kernel and the routes gredged programmed there; a
 * ping from the customer's host crosses the tunnel (both data planes) and the edge's kernel.
 * Building blocks from test/lab/no-resale (namespaces, cleanup by PID, BIRD configs, gredged
 * processes). Everything ends in destroy(), also when create() fails half-way.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ControlClient } from '../../src/control/client.js';
import { sleep } from '../lab/netns.js';
import { Bird, type BirdOptions, type BirdRoute } from '../lab/no-resale/bird.js';
import { Gredged } from '../lab/no-resale/gredged.js';
import { tableRoutes } from '../lab/no-resale/kernel.js';
import { NrLab } from '../lab/no-resale/lab.js';
import { until } from '../../src/lab/sh.js';

export const AS = { edge: 65000, cust: 64500, peer: 64496, transit: 64497 } as const;
export const EDGE_UNDERLAY = '198.51.100.254';

export const CUST = {
  role: 'cpe',
  key: 200,
  link: { edge: '198.51.100.1', cpe: '198.51.100.2' },
  inner: { edge: '192.0.2.1', cpe: '192.0.2.2', edge6: '2001:db8:ff::1', cpe6: '2001:db8:ff::' },
  net4: '192.0.2.0/30',
  net6: '2001:db8:ff::/127',
  prefix4: '203.0.113.0/27',
  prefix6: '2001:db8:c0::/48',
  host4: '203.0.113.1',
} as const;

export const PEER = {
  edge: '198.51.100.17',
  addr: '198.51.100.18',
  edge6: '2001:db8:100:3::1',
  addr6: '2001:db8:100:3::2',
  prefix4: '203.0.113.128/26',
  prefix6: '2001:db8:a1::/48',
  host4: '203.0.113.129',
  /** A second pair of prefixes: the one a restarted BIRD no longer announces (helper test). */
  extra4: '203.0.113.96/27',
  extra6: '2001:db8:a3::/48',
} as const;

export const TRANSIT = {
  edge: '198.51.100.21',
  addr: '198.51.100.22',
  edge6: '2001:db8:100:4::1',
  addr6: '2001:db8:100:4::2',
  prefix4: '203.0.113.192/26',
  prefix6: '2001:db8:a2::/48',
  host4: '203.0.113.193',
  /** A prefix withdrawn while gredged is down (restart test): it must not survive the restart. */
  extra4: '203.0.113.64/27',
} as const;

/** Documentation space must pass the lab's bogon list (the defaults refuse it). */
const BOGONS = ['10.0.0.0/8 le 32', '0.0.0.0/0 ge 29', '::/0 ge 49'];
/** The CPE routes the lab's destinations into its tunnel. */
const CPE_ROUTES = ['203.0.113.0/24', '2001:db8:a0::/44'];
export const TUN = 'gredge0';

const q = (s: string) => JSON.stringify(s);
const list = (xs: readonly string[]) => `[${xs.map(q).join(', ')}]`;

function edgeYaml(socket: string, persistent: boolean): string {
  const gr = 'graceful-restart: { enabled: true, restart-time: 120, stale-time: 60 }';
  return [
    '# lab: the graceful-restart edge (test/gr)',
    `router-id: ${EDGE_UNDERLAY}`,
    `local-as: ${AS.edge}`,
    'log: { level: info }',
    `control: { socket: ${q(socket)} }`,
    'metrics: false',
    'graceful-restart: { selection-deferral: 60 }',
    // The TUN outlives a killed gredged: the kernel keeps the routes into it. (Without it, only a
    // planned graceful restart keeps the TUN: it makes it persistent on its way out.)
    `dataplane: { tun: ${TUN}, workers: 2, persistent: ${persistent} }`,
    `underlay: { local: ${q(EDGE_UNDERLAY)} }`,
    `bogons: ${list(BOGONS)}`,
    'tunnels:',
    '  - name: cust',
    `    remote: ${q(CUST.link.cpe)}`,
    `    key: ${CUST.key}`,
    `    inner: { local: ${q(`${CUST.inner.edge}/30`)}, local6: ${q(`${CUST.inner.edge6}/127`)} }`,
    `    allowed-sources: ${list([CUST.prefix4, CUST.prefix6, CUST.net4, CUST.net6])}`,
    'neighbors:',
    // gredged connects to every neighbor (at once after its own restart) and listens too.
    '  - name: cust',
    `    address: ${q(CUST.inner.cpe)}`,
    `    remote-as: ${AS.cust}`,
    '    role: customer',
    '    tunnel: cust',
    '    connect-retry: 1',
    // The customer's BIRD learns that gredged died only from its hold timer (the FIN goes into
    // the TUN nobody reads): long enough for gredged to be back first, whatever the box's load.
    '    hold-time: 60',
    `    next-hop6: ${q(CUST.inner.edge6)}`,
    `    prefixes: ${list([CUST.prefix4, CUST.prefix6])}`,
    `    ${gr}`,
    '  - name: peer',
    `    address: ${q(PEER.addr)}`,
    `    remote-as: ${AS.peer}`,
    '    role: peer',
    '    connect-retry: 1',
    '    hold-time: 30',
    `    next-hop6: ${q(PEER.edge6)}`,
    `    ${gr}`,
    '  - name: transit',
    `    address: ${q(TRANSIT.addr)}`,
    `    remote-as: ${AS.transit}`,
    '    role: transit',
    '    connect-retry: 1',
    '    hold-time: 30',
    `    next-hop6: ${q(TRANSIT.edge6)}`,
    `    ${gr}`,
    '',
  ].join('\n');
}

function cpeYaml(): string {
  return [
    "# lab: the customer's CPE, a tunnel-only gredged (BGP is BIRD's, inside the tunnel)",
    `router-id: ${CUST.link.cpe}`,
    `local-as: ${AS.cust}`,
    'log: { level: info }',
    `dataplane: { tun: ${TUN}, workers: 1 }`,
    'fib: false',
    'control: false',
    'metrics: false',
    `underlay: { local: ${q(CUST.link.cpe)} }`,
    'tunnels:',
    '  - name: to-edge',
    `    remote: ${q(EDGE_UNDERLAY)}`,
    `    key: ${CUST.key}`,
    `    inner: { local: ${q(`${CUST.inner.cpe}/30`)}, local6: ${q(`${CUST.inner.cpe6}/127`)} }`,
    `    allowed-sources: ${list(['0.0.0.0/0', '::/0'])}`,
    `    routes: ${list(CPE_ROUTES)}`,
    '',
  ].join('\n');
}

/**
 * BIRD with graceful restart on (both sides: helper of gredged, and restartable itself), started
 * with `-R` (graceful restart recovery: Restart State and Forwarding State bits in its OPEN) when
 * `recovery` is set.
 */
export class GrBird extends Bird {
  readonly #lab: NrLab;
  recovery = false;

  constructor(lab: NrLab, opts: BirdOptions) {
    super(lab, opts);
    this.#lab = lab;
  }

  override config(): string {
    return super
      .config()
      .replaceAll('graceful restart off;', 'graceful restart on; graceful restart time 120;');
  }

  override async start(): Promise<void> {
    rmSync(this.ctl, { force: true });
    writeFileSync(this.conf, this.config());
    this.proc = this.#lab.spawn(this.opts.role, `bird-${this.opts.name}`, [
      'bird',
      '-f',
      ...(this.recovery ? ['-R'] : []),
      '-c',
      this.conf,
      '-s',
      this.ctl,
      '-P',
      join(this.dir, 'bird.pid'),
    ]);
    const end = Date.now() + 10_000;
    for (;;) {
      const out = await this.birdc(['show', 'status']).catch((e: Error) => e.message);
      if (out.includes('Daemon is up')) return;
      if (!this.proc.running || Date.now() > end)
        throw new Error(`BIRD ${this.opts.name} did not start: ${out} ${this.proc.stderr.slice(-2000)}`);
      await sleep(100);
    }
  }

  /** kill -9 by PID; resolves once it is gone. */
  async kill9(): Promise<void> {
    this.proc?.killSync();
    await this.proc?.exited;
  }

  /** Its log (the whole file). */
  log(): string {
    try {
      return readFileSync(join(this.dir, 'bird.log'), 'utf8');
    } catch {
      return '';
    }
  }
}

export class GrLab {
  readonly lab: NrLab;
  readonly edge: Gredged;
  readonly cpe: Gredged;
  readonly socket: string;
  readonly bird: { cust: GrBird; peer: GrBird; transit: GrBird };

  private constructor(lab: NrLab, routes: { peer: BirdRoute[]; transit: BirdRoute[] }, persistent: boolean) {
    this.lab = lab;
    this.socket = join(lab.dir, 'edge.sock');
    this.edge = new Gredged(lab, 'edge', 'edge', edgeYaml(this.socket, persistent));
    this.cpe = new Gredged(lab, CUST.role, CUST.role, cpeYaml());
    this.bird = {
      cust: new GrBird(lab, {
        name: 'cust',
        role: CUST.role,
        routerId: CUST.link.cpe,
        sessions: [
          {
            name: 'edge',
            localAddress: CUST.inner.cpe,
            localAs: AS.cust,
            neighbor: CUST.inner.edge,
            neighborAs: AS.edge,
            passive: false,
            holdTime: 60,
            nextHop6: CUST.inner.cpe6,
            routes: [{ prefix: CUST.prefix4 }, { prefix: CUST.prefix6 }],
          },
        ],
      }),
      peer: new GrBird(lab, {
        name: 'peer',
        role: 'peer',
        routerId: PEER.addr,
        sessions: [
          {
            name: 'edge',
            localAddress: PEER.addr,
            localAs: AS.peer,
            neighbor: PEER.edge,
            neighborAs: AS.edge,
            passive: false,
            nextHop6: PEER.addr6,
            routes: routes.peer,
          },
        ],
      }),
      transit: new GrBird(lab, {
        name: 'transit',
        role: 'transit',
        routerId: TRANSIT.addr,
        sessions: [
          {
            name: 'edge',
            localAddress: TRANSIT.addr,
            localAs: AS.transit,
            neighbor: TRANSIT.edge,
            neighborAs: AS.edge,
            passive: false,
            nextHop6: TRANSIT.addr6,
            routes: routes.transit,
          },
        ],
      }),
    };
  }

  /** Builds and starts everything; on failure tears down what it built and rethrows. */
  static async create(
    tag: string,
    routes: { peer: BirdRoute[]; transit: BirdRoute[] },
    opts: { persistent?: boolean } = {},
  ): Promise<GrLab> {
    const lab = new NrLab(tag);
    const r = new GrLab(lab, routes, opts.persistent ?? true);
    try {
      await r.#build();
      await Promise.all([
        r.bird.peer.start(),
        r.bird.transit.start(),
        r.edge.start(60_000),
        r.cpe.start(60_000),
      ]);
      await r.bird.cust.start();
      await r.waitUp(['cust', 'peer', 'transit'], 30_000);
    } catch (e) {
      await lab.destroy();
      throw e;
    }
    return r;
  }

  async #build(): Promise<void> {
    const l = this.lab;
    await l.addNs('edge', true);
    // In on the TUN and out on it is no redirect for the kernel to send (reload lab's note).
    await l.exec('edge', [
      'sysctl',
      '-q',
      '-w',
      'net.ipv4.conf.all.send_redirects=0',
      'net.ipv4.conf.default.send_redirects=0',
    ]);
    for (const r of [CUST.role, 'peer', 'transit']) await l.addNs(r);
    await l.ip('edge', 'addr', 'add', `${EDGE_UNDERLAY}/32`, 'dev', 'lo');
    await l.link({
      a: 'edge',
      ifA: 'uc',
      addrA: [`${CUST.link.edge}/30`],
      b: CUST.role,
      ifB: 'u0',
      addrB: [`${CUST.link.cpe}/30`],
    });
    await l.ip(CUST.role, 'route', 'add', `${EDGE_UNDERLAY}/32`, 'via', CUST.link.edge);
    await l.ip(CUST.role, 'addr', 'add', `${CUST.host4}/32`, 'dev', 'lo');
    for (const [name, x, ifA] of [
      ['peer', PEER, 'pe'],
      ['transit', TRANSIT, 'te'],
    ] as const) {
      await l.link({
        a: 'edge',
        ifA,
        addrA: [`${x.edge}/30`, `${x.edge6}/64`],
        b: name,
        ifB: 'x0',
        addrB: [`${x.addr}/30`, `${x.addr6}/64`],
      });
      await l.ip(name, 'route', 'add', 'default', 'via', x.edge);
      await l.ip(name, '-6', 'route', 'add', 'default', 'via', x.edge6);
      await l.ip(name, 'addr', 'add', `${x.host4}/32`, 'dev', 'lo');
    }
  }

  /** Waits until the edge's gredged logs each of `names` Established in its current run. */
  async waitUp(names: string[], timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const down = names.filter((n) => !this.edge.established(n));
      if (down.length === 0) return;
      if (Date.now() > end || !this.edge.running)
        throw new Error(
          `sessions not Established in ${timeoutMs} ms: ${down.join(', ')} (gredged ${this.edge.running ? 'running' : 'exited'})`,
        );
      await sleep(100);
    }
  }

  /** One request on the edge's control socket; its result, or a throw. */
  // biome-ignore lint/suspicious/noExplicitAny: answers are checked field by field
  async query(cmd: string, args: Record<string, unknown> = {}): Promise<any> {
    const c = await ControlClient.connect(this.socket);
    try {
      const r = await c.request(cmd, args);
      if (!r.ok) throw new Error(`${cmd}: ${r.error.code}: ${r.error.message}`);
      return r.result;
    } finally {
      c.close();
    }
  }

  /** Every route of gredge's protocol in the edge's tables 201 and 202 (`TABLE PREFIX ...`). */
  async fib(): Promise<string[]> {
    const out: string[] = [];
    for (const table of [201, 202])
      for (const fam of ['-4', '-6'] as const)
        for (const x of await tableRoutes(this.lab, 'edge', fam, table)) out.push(`${table} ${x}`);
    return out.sort();
  }

  /**
   * A ping flood from `role` (source `src`) to `dst`: one echo request every 10 ms, each reply
   * stamped (ping -D) so that a test can tell when traffic stopped and came back.
   */
  flood(role: string, src: string, dst: string, count: number): Flood {
    const p = this.lab.spawn(role, `flood-${role}`, [
      'ping',
      '-n',
      '-D',
      '-i',
      '0.01',
      '-c',
      String(count),
      '-W',
      '1',
      '-I',
      src,
      dst,
    ]);
    return new Flood(p);
  }

  /**
   * On `t`'s failure, its comments get the tails of the edge gredged's log and stderr and of the
   * named BIRDs' logs (what a failure in CI is read from).
   */
  logsOnFailure(
    t: { passing(): boolean; comment(s: string): void; teardown(fn: () => void): void },
    birds: Array<'peer' | 'cust'>,
    birdTail: number,
  ): void {
    t.teardown(() => {
      if (t.passing()) return;
      const tail = this.edge.logs
        .slice(-120)
        .map((l) => JSON.stringify(l))
        .join('\n');
      t.comment(
        `--- edge gredged log (tail) ---\n${tail}\n--- stderr ---\n${this.edge.proc?.stderr.slice(-2000)}`,
      );
      for (const b of birds)
        t.comment(
          `--- ${b === 'peer' ? 'peer' : 'customer'} BIRD log (tail) ---\n${this.bird[b].log().slice(-birdTail)}`,
        );
    });
  }

  async destroy(): Promise<void> {
    await this.lab.destroy();
  }
}

/** A running `ping -D` flood and what it saw. */
export class Flood {
  readonly #p: ReturnType<NrLab['spawn']>;

  constructor(p: ReturnType<NrLab['spawn']>) {
    this.#p = p;
  }

  get running(): boolean {
    return this.#p.running;
  }

  get exited(): Promise<number | null> {
    return this.#p.exited;
  }

  /** Replies so far: [epoch ms, icmp_seq]. */
  replies(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (const m of this.#p.stdout.matchAll(/^\[(\d+\.\d+)\] \d+ bytes from .*icmp_seq=(\d+)/gm))
      out.push([Math.round(Number(m[1]) * 1000), Number(m[2])]);
    return out;
  }

  /** ping's own summary, once it has ended. */
  summary(): { tx: number; rx: number; line: string } {
    const m = /(\d+) packets transmitted, (\d+) (?:packets )?received[^\n]*/.exec(this.#p.stdout);
    return { tx: m ? Number(m[1]) : 0, rx: m ? Number(m[2]) : 0, line: m?.[0] ?? this.#p.stdout.slice(-300) };
  }

  /** The longest stretch without a reply (ms) and where it ended (epoch ms). */
  longestGap(): { ms: number; endedAt: number } {
    const r = this.replies();
    let best = { ms: 0, endedAt: 0 };
    for (let i = 1; i < r.length; i++) {
      const gap = r[i]![0] - r[i - 1]![0];
      if (gap > best.ms) best = { ms: gap, endedAt: r[i]![0] };
    }
    return best;
  }
}

/**
 * What the edge's kernel must hold once everything is announced, both tables alike: the
 * customer's subnets and prefixes into the TUN, the peer's and the transit's via them
 * (`extra4`: the transit's second IPv4 prefix, which the restart test withdraws).
 */
export function expectedFib(extra4: boolean): string[] {
  const routes = [
    `${CUST.net4} dev ${TUN}`,
    `${CUST.net6} dev ${TUN}`,
    `${CUST.prefix4} dev ${TUN}`,
    `${CUST.prefix6} dev ${TUN}`,
    `${PEER.prefix4} via ${PEER.addr}`,
    `${PEER.prefix6} via ${PEER.addr6}`,
    `${TRANSIT.prefix4} via ${TRANSIT.addr}`,
    `${TRANSIT.prefix6} via ${TRANSIT.addr6}`,
    ...(extra4 ? [`${TRANSIT.extra4} via ${TRANSIT.addr}`] : []),
  ];
  return [201, 202].flatMap((table) => routes.map((r) => `${table} ${r}`)).sort();
}

/**
 * Two ping floods, one forwarded by the edge's kernel (`kernelFrom` → the other end) and one
 * through the tunnel (customer host → peer host), and whether both flow (100 replies each).
 */
export async function startFloods(
  r: GrLab,
  kernel: { role: string; src: string; dst: string },
  count: number,
): Promise<{ kernelFlood: Flood; tunnelFlood: Flood; flowing: { ok: boolean; value: number[] } }> {
  const kernelFlood = r.flood(kernel.role, kernel.src, kernel.dst, count);
  const tunnelFlood = r.flood(CUST.role, CUST.host4, PEER.host4, count);
  const flowing = await until(
    async () => [kernelFlood.replies().length, tunnelFlood.replies().length],
    ([k, u]) => k! >= 100 && u! >= 100,
    15_000,
    50,
  );
  return { kernelFlood, tunnelFlood, flowing };
}
