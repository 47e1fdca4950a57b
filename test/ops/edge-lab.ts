/**
 * The lab of the stop and crash tests (test/ops/lifecycle.test.ts, crash.test.ts): the data-plane
 * lab's `cust — cpe — edge — net` namespaces (test/lab/topology.ts), a tunnel-only gredged on the
 * CPE, BIRD 2 in `net` as the edge's transit (AS 65010, graceful restart off), and the edge's
 * gredged with the FIB on (tables 201/202, protocol 250), the customer tunnel `cust-a` and
 * optionally a second tunnel `cust-b` (its far end never answers: it only holds an address, an
 * inner subnet and static routes). BIRD's prefixes are reached from `cust` through the tunnel,
 * the edge's resale table and BIRD's next hop, so traffic to them needs the routes gredged
 * programmed from BGP. Readers of the edge's kernel state, in canonical text, and the model of
 * what gredged must hold there.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';
import { Bird } from '../interop/harness/bird.js';
import { cpeYaml, edgeYaml, INNER } from '../lab/configs.js';
import { Gredge } from '../lab/gredged.js';
import { waitFor } from '../lab/netns.js';
import { expectedRules, fibRules } from '../lab/no-resale/kernel.js';
import type { NrLab } from '../lab/no-resale/lab.js';
import { ADDR, Lab } from '../lab/topology.js';

export const TUN = 'gredge0';
export const PROTO = 250;
const TABLES = [201, 202] as const;
const BIRD_AS = 65010;

/** BIRD's prefixes: `keep` stay announced, `drop` are withdrawn while gredged is dead. */
export const BIRD_PREFIXES = {
  keep: ['192.0.2.64/27', '2001:db8:3::/48'],
  drop: ['192.0.2.160/27', '2001:db8:4::/48'],
} as const;
/** Addresses inside BIRD's `keep` prefixes, on net's loopback: ping targets from cust. */
export const TARGETS = ['192.0.2.65', '2001:db8:3::1'] as const;
/** BIRD's next hops (net's addresses on the link to the edge). */
const NEXT_HOP = { v4: ADDR.net.v4, v6: ADDR.net.v6 };

/** The second tunnel: an address, an inner subnet and static routes on the edge. */
export const CUST_B = {
  addresses: ['192.0.2.133/30', '2001:db8:ff::3/127'],
  subnets: ['192.0.2.132/30', '2001:db8:ff::2/127'],
  routes: ['192.0.2.96/28', '2001:db8:5::/48'],
};
const CUST_A = {
  addresses: [`${INNER.edge.v4}/30`, `${INNER.edge.v6}/127`],
  subnets: ['192.0.2.128/30', '2001:db8:ff::/127'],
  routes: [ADDR.custNet.v4, ADDR.custNet.v6],
};

export interface EdgeOptions {
  persistent?: boolean;
  /** The second tunnel (default true). */
  custB?: boolean;
  /** `fib: false` (default: on). */
  fib?: boolean;
}

const q = (s: string) => JSON.stringify(s);
const isV6 = (p: string) => p.includes(':');

export class EdgeLab {
  readonly lab: Lab;
  readonly bird: Bird;
  readonly control: string;
  cpe: Gredge | undefined;
  edge: Gredge | undefined;
  #announced: string[] = [...BIRD_PREFIXES.keep, ...BIRD_PREFIXES.drop];
  #configs = 0;

  private constructor(lab: Lab) {
    this.lab = lab;
    this.control = join(lab.dir, 'edge.sock');
    this.bird = new Bird({
      dir: lab.dir,
      netns: lab.ns.net,
      routerId: ADDR.net.v4,
      localAddress: ADDR.net.v4,
      as: BIRD_AS,
      nextHop6: NEXT_HOP.v6,
      peers: [{ name: 'edge', address: ADDR.edgeNet.v4, as: 65000, passive: true, holdTime: 30 }],
      routes: this.#announced.map((prefix) => ({ prefix })),
    });
  }

  /** Namespaces, BIRD in `net`, the CPE's gredged; everything ends in `t`'s teardown. */
  static async create(t: Test, tag: string): Promise<EdgeLab> {
    const lab = await Lab.create({ tag });
    const e = new EdgeLab(lab);
    t.teardown(async () => {
      if (!t.passing()) e.dumpLogs(t);
      await e.bird.daemon?.kill();
      await lab.destroy();
    });
    for (const a of TARGETS) await lab.ip('net', 'addr', 'add', `${a}/${isV6(a) ? 128 : 32}`, 'dev', 'lo');
    await e.bird.start();
    // The CPE sends BIRD's prefixes into the tunnel too.
    const cpeRoutes = [ADDR.netNet.v4, ADDR.netNet.v6, ...BIRD_PREFIXES.keep];
    const cpe = cpeYaml({ underlay: 'v4' }).replace(
      /^ {4}routes: .*$/m,
      `    routes: [${cpeRoutes.map(q).join(', ')}]`,
    );
    const cpePath = join(lab.dir, 'cpe.yaml');
    writeFileSync(cpePath, cpe);
    // 30 s: a start on a 2-CPU box shared with other tests can take long.
    e.cpe = await Gredge.start(lab, 'cpe', cpePath, 'daemon', 30_000);
    return e;
  }

  /** The edge's YAML: the lab's edge (cust-a, control socket) with BIRD as a transit. */
  edgeYaml(o: EdgeOptions = {}): string {
    let y = edgeYaml({ underlay: 'v4', control: this.control });
    if (o.persistent) y = y.replace(/^dataplane: \{ (.*) \}$/m, 'dataplane: { $1, persistent: true }');
    const lines = [y.trimEnd()];
    if (o.custB ?? true)
      lines.push(
        '  - name: cust-b',
        `    remote: ${q('198.51.100.3')}`,
        '    key: 43',
        `    inner: { local: ${q(CUST_B.addresses[0]!)}, local6: ${q(CUST_B.addresses[1]!)} }`,
        `    allowed-sources: [${CUST_B.routes.map(q).join(', ')}]`,
        `    routes: [${CUST_B.routes.map(q).join(', ')}]`,
      );
    lines.push(
      // Documentation prefixes are bogons by default; only the length limits here.
      'bogons: ["0.0.0.0/0 ge 29", "::/0 ge 65"]',
      ...(o.fib === false ? ['fib: false'] : []),
      'neighbors:',
      `  - { name: up, address: ${q(ADDR.net.v4)}, remote-as: ${BIRD_AS}, role: transit, passive: false, ` +
        `connect-retry: 1, hold-time: 30, next-hop6: ${q(ADDR.edgeNet.v6)}, families: [ipv4-unicast, ipv6-unicast] }`,
      '',
    );
    return lines.join('\n');
  }

  /** Starts the edge's gredged on a config of `o`; resolves once it logged "gredged started". */
  async startEdge(o: EdgeOptions = {}, env?: NodeJS.ProcessEnv): Promise<Gredge> {
    const path = join(this.lab.dir, `edge-${this.#configs++}.yaml`);
    writeFileSync(path, this.edgeYaml(o));
    this.edge = await Gredge.start(this.lab, 'edge', path, 'daemon', 30_000, env);
    return this.edge;
  }

  /** Signals the edge's gredged; resolves with its exit code and how long it took (ms). */
  async signalEdge(sig: NodeJS.Signals, timeoutMs = 20_000): Promise<{ code: number | null; ms: number }> {
    const p = this.edge!.proc;
    const t0 = performance.now();
    const code = await p.stop(timeoutMs, sig);
    return { code, ms: Math.round(performance.now() - t0) };
  }

  /** Changes what BIRD announces, in place. */
  async announce(prefixes: string[]): Promise<void> {
    this.#announced = prefixes;
    await this.bird.setRoutes(prefixes.map((prefix) => ({ prefix })));
  }

  /**
   * The routes of protocol 250 the edge must hold once converged: every tunnel's inner subnets
   * and static routes through the TUN, and BIRD's announced prefixes via its next hop, in both
   * tables (BIRD is a transit: its routes are resold too).
   */
  expectedRoutes(o: EdgeOptions = {}): string[] {
    if (o.fib === false) return [];
    const out: string[] = [];
    const tunnels = [CUST_A, ...((o.custB ?? true) ? [CUST_B] : [])];
    for (const table of TABLES) {
      for (const t of tunnels)
        for (const p of [...t.subnets, ...t.routes]) out.push(`${table} ${p} dev ${TUN}`);
      for (const p of this.#announced) out.push(`${table} ${p} via ${isV6(p) ? NEXT_HOP.v6 : NEXT_HOP.v4}`);
    }
    return out.sort();
  }

  /** Addresses the edge's TUN must carry (link-local aside). */
  expectedAddresses(o: EdgeOptions = {}): string[] {
    return [...CUST_A.addresses, ...((o.custB ?? true) ? CUST_B.addresses : [])].sort();
  }

  /** Routes through the TUN in `main` (the data plane's: inner subnets and static routes). */
  expectedMain(o: EdgeOptions = {}): string[] {
    const tunnels = [CUST_A, ...((o.custB ?? true) ? [CUST_B] : [])];
    return tunnels.flatMap((t) => [...t.subnets, ...t.routes]).sort();
  }

  /** Every route of protocol 250 in any table of the edge, both families: `TABLE DST via GW|dev DEV`. */
  async routes(): Promise<string[]> {
    const out: string[] = [];
    for (const fam of ['-4', '-6'] as const) {
      const text = await this.lab.ip(
        'edge',
        fam,
        '-j',
        'route',
        'show',
        'table',
        'all',
        'proto',
        String(PROTO),
      );
      for (const r of (text.trim() ? JSON.parse(text) : []) as IpRoute[]) {
        const dst = r.dst === 'default' ? (fam === '-4' ? '0.0.0.0/0' : '::/0') : r.dst;
        const full = dst.includes('/') ? dst : `${dst}/${fam === '-4' ? 32 : 128}`;
        out.push(`${r.table ?? 'main'} ${full} ${r.gateway ? `via ${r.gateway}` : `dev ${r.dev}`}`);
      }
    }
    return out.sort();
  }

  /** gredged's ip rules (protocol 250), canonical (test/lab/no-resale/kernel.ts). */
  rules(): Promise<string[]> {
    // fibRules reads through `ip` only; this lab's namespaces answer the same calls.
    const reader = { ip: (role: string, ...args: string[]) => this.lab.ip(role as 'edge', ...args) };
    return fibRules(reader as unknown as NrLab);
  }

  /** The rules the edge's FIB must hold (no `resale: false` customer here). */
  expectedRules(o: EdgeOptions = {}): string[] {
    return o.fib === false ? [] : expectedRules([]);
  }

  /** TUN devices in the edge's namespace: name, ifindex, persist flag. */
  async tuns(): Promise<Array<{ name: string; ifindex: number; persist: boolean }>> {
    const text = await this.lab.ip('edge', '-d', '-j', 'link', 'show');
    return ((text.trim() ? JSON.parse(text) : []) as IpLink[])
      .filter((l) => l.linkinfo?.info_kind === 'tun')
      .map((l) => ({ name: l.ifname, ifindex: l.ifindex, persist: l.linkinfo?.info_data?.persist === true }));
  }

  /** The addresses on the TUN (none when it is gone), link-local aside, duplicates kept. */
  async addresses(): Promise<string[]> {
    if (!(await this.tuns()).some((x) => x.name === TUN)) return [];
    const text = await this.lab.ip('edge', '-j', 'addr', 'show', 'dev', TUN);
    const links = (text.trim() ? JSON.parse(text) : []) as Array<{ addr_info?: IpAddr[] }>;
    return links
      .flatMap((l) => l.addr_info ?? [])
      .filter((a) => a.scope !== 'link')
      .map((a) => `${a.local}/${a.prefixlen}`)
      .sort();
  }

  /** Destinations of the routes through the TUN in `main`, both families (none without a TUN). */
  async mainRoutes(): Promise<string[]> {
    if (!(await this.tuns()).some((x) => x.name === TUN)) return [];
    const out: string[] = [];
    for (const fam of ['-4', '-6'] as const) {
      const text = await this.lab.ip('edge', fam, '-j', 'route', 'show', 'table', 'main', 'dev', TUN);
      for (const r of (text.trim() ? JSON.parse(text) : []) as IpRoute[])
        if (!r.dst.startsWith('fe80:'))
          out.push(r.dst.includes('/') ? r.dst : `${r.dst}/${fam === '-4' ? 32 : 128}`);
    }
    return out.sort();
  }

  /** Waits until the edge's protocol-250 routes are exactly `want`; returns the last read. */
  async routesBecome(want: string[], timeoutMs = 30_000): Promise<string[]> {
    let got: string[] = [];
    await waitFor(
      async () => {
        got = await this.routes();
        return got.join('\n') === want.join('\n');
      },
      timeoutMs,
      200,
    );
    return got;
  }

  /** Pings from cust to net and to BIRD's prefixes (both families) through the tunnel. */
  async traffic(timeoutMs = 15_000): Promise<Record<string, boolean>> {
    const out: Record<string, boolean> = {};
    for (const dst of [ADDR.net.v4, ADDR.net.v6, ...TARGETS])
      out[dst] = await this.lab.waitReachable('cust', dst, timeoutMs);
    return out;
  }

  /** BIRD's log (`log FILE all`). */
  birdLog(): string {
    try {
      return readFileSync(join(this.lab.dir, 'bird.log'), 'utf8');
    } catch {
      return '';
    }
  }

  dumpLogs(t: Test): void {
    t.comment(`--- edge gredged (tail) ---\n${(this.edge?.proc.stdout ?? '').slice(-4000)}`);
    t.comment(`--- edge stderr ---\n${(this.edge?.proc.stderr ?? '').slice(-2000)}`);
    t.comment(`--- BIRD log (tail) ---\n${this.birdLog().slice(-2000)}`);
  }
}

/** JSON log lines of a gredged whose `msg` matches `re`. */
export function logLines(g: Gredge, re: RegExp): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const line of g.proc.stdout.split('\n')) {
    try {
      const j = JSON.parse(line) as Record<string, unknown>;
      if (typeof j.msg === 'string' && re.test(j.msg)) out.push(j);
    } catch {}
  }
  return out;
}

interface IpRoute {
  dst: string;
  table?: string;
  gateway?: string;
  dev?: string;
}

interface IpLink {
  ifname: string;
  ifindex: number;
  linkinfo?: { info_kind?: string; info_data?: { persist?: boolean } };
}

interface IpAddr {
  local: string;
  prefixlen: number;
  scope?: string;
}
