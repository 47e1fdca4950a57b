/**
 * GoBGP (gobgpd 3.x) as an interop peer: TOML config with one neighbor per peer, gRPC on a
 * Unix socket in the test's directory (no TCP port to collide on), routes added and deleted
 * with the `gobgp` CLI and read back as JSON from `gobgp global rib -j`.
 * GoBGP treats a loopback NEXT_HOP as withdraw, hence the documentation-range addresses.
 */
import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Daemon, until } from './proc.js';
import { isV6, type Route, type RouteSpec } from './route.js';

export interface GobgpPeer {
  address: string;
  as: number;
  /** GoBGP waits for the connection (the other side connects). */
  passive: boolean;
  holdTime?: number;
  port?: number;
}

export interface GobgpOptions {
  dir: string;
  netns?: string | undefined;
  routerId: string;
  localAddress: string;
  as: number;
  peers: GobgpPeer[];
}

export class Gobgp {
  readonly opts: GobgpOptions;
  readonly target: string;
  readonly confPath: string;
  daemon: Daemon | undefined;

  constructor(opts: GobgpOptions) {
    this.opts = opts;
    this.target = `unix://${join(opts.dir, 'gobgp.sock')}`;
    this.confPath = join(opts.dir, 'gobgpd.toml');
  }

  config(): string {
    const o = this.opts;
    const peers = o.peers
      .map((p) => {
        const hold = p.holdTime ?? 90;
        return `[[neighbors]]
  [neighbors.config]
    neighbor-address = "${p.address}"
    peer-as = ${p.as}
  [neighbors.transport.config]
    passive-mode = ${p.passive}
    local-address = "${o.localAddress}"
    remote-port = ${p.port ?? 179}
  [neighbors.timers.config]
    hold-time = ${hold}
    keepalive-interval = ${Math.max(1, Math.floor(hold / 3))}
    connect-retry = 1
    idle-hold-time-after-reset = 1
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
`;
      })
      .join('');
    return `# written by test/interop/harness/gobgp.ts
[global.config]
  as = ${o.as}
  router-id = "${o.routerId}"
  port = 179
  local-address-list = ["${o.localAddress}"]
${peers}`;
  }

  /** Starts gobgpd; again after a kill, too (its RIB starts empty: re-add routes). */
  async start(): Promise<void> {
    rmSync(this.target.slice('unix://'.length), { force: true });
    writeFileSync(this.confPath, this.config());
    this.daemon = new Daemon(
      'gobgpd',
      ['gobgpd', '-f', this.confPath, '--api-hosts', this.target, '--pprof-disable', '-l', 'info'],
      { netns: this.opts.netns },
    );
    await until(
      'gobgpd API',
      async () => ((await this.cli(['global'])).includes('AS') ? true : undefined),
      10_000,
    );
  }

  cli(args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(
        'gobgp',
        ['--target', this.target, ...args],
        { timeout: 10_000, maxBuffer: 256 << 20 },
        (err, out, errOut) =>
          err ? reject(new Error(`gobgp ${args.join(' ')}: ${err.message} ${errOut}`)) : resolve(out),
      );
    });
  }

  async addRoute(r: RouteSpec): Promise<void> {
    const args = ['global', 'rib', 'add', '-a', isV6(r.prefix) ? 'ipv6' : 'ipv4', r.prefix];
    args.push('nexthop', r.nextHop ?? (isV6(r.prefix) ? '::' : '0.0.0.0'));
    if (r.asPath?.length) args.push('aspath', r.asPath.join(','));
    if (r.med !== undefined) args.push('med', String(r.med));
    if (r.communities?.length) args.push('community', r.communities.join(','));
    if (r.largeCommunities?.length) args.push('large-community', r.largeCommunities.join(','));
    await this.cli(args);
  }

  async delRoute(prefix: string): Promise<void> {
    await this.cli(['global', 'rib', 'del', '-a', isV6(prefix) ? 'ipv6' : 'ipv4', prefix]);
  }

  /** BGP FSM state of the session with `address` ("established", "active", ...). */
  async state(address: string): Promise<string> {
    const j = JSON.parse(await this.cli(['neighbor', address, '-j'])) as {
      state?: { session_state?: number };
    };
    const n = j.state?.session_state ?? 0;
    return ['unknown', 'idle', 'connect', 'active', 'opensent', 'openconfirm', 'established'][n] ?? String(n);
  }

  waitEstablished(address: string, timeoutMs = 20_000): Promise<true> {
    return until(
      `GoBGP ${address} established`,
      async () => ((await this.state(address)) === 'established' ? true : undefined),
      timeoutMs,
    );
  }

  /** The Loc-RIB, learned and local routes, both families. */
  async routes(): Promise<Route[]> {
    const out: Route[] = [];
    for (const fam of ['ipv4', 'ipv6'])
      out.push(...parseGobgpRib(await this.cli(['global', 'rib', '-a', fam, '-j'])));
    return out;
  }

  /** Routes learned from `address` only. */
  async routesFrom(address: string): Promise<Route[]> {
    return (await this.routes()).filter((r) => r.from === address);
  }
}

interface GobgpAttr {
  type: number;
  as_paths?: { asns?: number[] }[];
  nexthop?: string;
  metric?: number;
  communities?: number[];
  value?: unknown;
}

/** Parses `gobgp global rib -a FAM -j`: { prefix: [ { attrs, neighbor-ip, ... } ] }. */
export function parseGobgpRib(text: string): Route[] {
  const t = text.trim();
  if (t === '' || t === 'null') return [];
  const j = JSON.parse(t) as Record<string, { attrs?: GobgpAttr[]; 'neighbor-ip'?: string }[]>;
  const out: Route[] = [];
  for (const [prefix, paths] of Object.entries(j)) {
    for (const p of paths) {
      const r: Route = {
        prefix,
        from: p['neighbor-ip'] ?? '',
        asPath: [],
        nextHop: '',
        communities: [],
        largeCommunities: [],
      };
      for (const a of p.attrs ?? []) {
        if (a.type === 2) r.asPath = (a.as_paths ?? []).flatMap((s) => s.asns ?? []);
        else if (a.type === 3 || a.type === 14) r.nextHop = a.nexthop ?? r.nextHop;
        else if (a.type === 4) r.med = a.metric ?? 0;
        else if (a.type === 5) r.localPref = Number(a.value);
        else if (a.type === 8) r.communities = (a.communities ?? []).map((c) => `${c >>> 16}:${c & 0xffff}`);
        else if (a.type === 32)
          r.largeCommunities = (
            (a.value ?? []) as { ASN: number; LocalData1: number; LocalData2: number }[]
          ).map((l) => `${l.ASN}:${l.LocalData1}:${l.LocalData2}`);
      }
      out.push(r);
    }
  }
  return out;
}
