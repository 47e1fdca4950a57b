/**
 * BIRD 2 as an interop peer: writes its config (one BGP protocol per peer, multihop because
 * BIRD will not treat a loopback-hosted address as directly connected, next hops resolved
 * through an IGP table holding the lab's ranges via "lo", `strict bind` so that it does not
 * take 0.0.0.0:179), starts it with its own control socket and pid file, changes its static
 * routes in place (`birdc configure`) and reads what it learned from `birdc show route all`.
 */
import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Daemon, until } from './proc.js';
import { isV6, type Route, type RouteSpec } from './route.js';

export interface BirdPeer {
  name: string; // protocol name
  address: string;
  as: number;
  /** BIRD waits for the connection (the other side connects). */
  passive: boolean;
  holdTime?: number;
  port?: number;
}

export interface BirdOptions {
  dir: string;
  netns?: string | undefined;
  routerId: string;
  localAddress: string;
  as: number;
  /** The IPv6 next hop BIRD announces over its IPv4 sessions. */
  nextHop6: string;
  peers: BirdPeer[];
  routes?: RouteSpec[];
}

export class Bird {
  readonly opts: BirdOptions;
  readonly ctl: string;
  readonly confPath: string;
  daemon: Daemon | undefined;
  #routes: RouteSpec[];

  constructor(opts: BirdOptions) {
    this.opts = opts;
    this.ctl = join(opts.dir, 'bird.ctl');
    this.confPath = join(opts.dir, 'bird.conf');
    this.#routes = opts.routes ?? [];
  }

  config(): string {
    const o = this.opts;
    const st4 = this.#routes.filter((r) => !isV6(r.prefix));
    const st6 = this.#routes.filter((r) => isV6(r.prefix));
    const statics = (routes: RouteSpec[]) => routes.map((r) => `  route ${r.prefix} blackhole;\n`).join('');
    // BIRD sends MED to an eBGP neighbor only when the export filter sets it, so all of a static
    // route's attributes are set there, per prefix.
    const perRoute = this.#routes
      .map((r) => {
        const s: string[] = [];
        if (r.med !== undefined) s.push(`bgp_med = ${r.med};`);
        for (const c of r.communities ?? []) s.push(`bgp_community.add((${c.replace(':', ',')}));`);
        for (const c of r.largeCommunities ?? [])
          s.push(`bgp_large_community.add((${c.replaceAll(':', ',')}));`);
        for (const a of [...(r.asPath ?? [])].reverse()) s.push(`bgp_path.prepend(${a});`);
        return s.length === 0 ? '' : `    if net = ${r.prefix} then { ${s.join(' ')} }\n`;
      })
      .join('');
    const peers = o.peers
      .map(
        (p) => `protocol bgp ${p.name} {
  local ${o.localAddress} as ${o.as};
  neighbor ${p.address} port ${p.port ?? 179} as ${p.as};
  multihop;
  strict bind yes;
  passive ${p.passive ? 'yes' : 'no'};
  hold time ${p.holdTime ?? 90}; keepalive time ${Math.max(1, Math.floor((p.holdTime ?? 90) / 3))};
  connect retry time 1; connect delay time 1; error wait time 1, 2;
  graceful restart off;
  ipv4 { import all; export filter export_static; igp table nh4; };
  ipv6 { import all; export filter export_static; igp table nh6; next hop address ${o.nextHop6}; };
}
`,
      )
      .join('');
    return `# written by test/interop/harness/bird.ts
router id ${o.routerId};
log "${join(o.dir, 'bird.log')}" all;
debug protocols { states, events };
ipv4 table nh4;
ipv6 table nh6;
protocol device {}
protocol static nhs4 { ipv4 { table nh4; }; route 192.0.2.0/24 via "lo"; route 127.0.0.0/8 via "lo"; }
protocol static nhs6 { ipv6 { table nh6; }; route 2001:db8::/32 via "lo"; }
protocol static st4 {
  ipv4;
${statics(st4)}}
protocol static st6 {
  ipv6;
${statics(st6)}}
filter export_static {
  if source = RTS_STATIC then {
${perRoute}  }
  accept;
}
${peers}`;
  }

  /** Starts BIRD; again after a kill, too (a restarted peer keeps its config and routes). */
  async start(): Promise<void> {
    rmSync(this.ctl, { force: true });
    writeFileSync(this.confPath, this.config());
    this.daemon = new Daemon(
      'bird',
      ['bird', '-f', '-c', this.confPath, '-s', this.ctl, '-P', join(this.opts.dir, 'bird.pid')],
      { netns: this.opts.netns },
    );
    await until(
      'BIRD control socket',
      async () => ((await this.birdc(['show', 'status'])).includes('Daemon is up') ? true : undefined),
      10_000,
    );
  }

  /** Replace the originated routes and apply them without restarting BIRD. */
  async setRoutes(routes: RouteSpec[]): Promise<void> {
    this.#routes = routes;
    writeFileSync(this.confPath, this.config());
    const out = await this.birdc(['configure']);
    if (!/Reconfigur/i.test(out)) throw new Error(`birdc configure: ${out}`);
  }

  birdc(args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(
        'birdc',
        ['-s', this.ctl, ...args],
        { timeout: 10_000, maxBuffer: 256 << 20 },
        (err, out, errOut) =>
          err ? reject(new Error(`birdc ${args.join(' ')}: ${err.message} ${errOut}`)) : resolve(out),
      );
    });
  }

  /** The `show protocols all NAME` text (state, last error, capabilities). */
  protocolInfo(peer: string): Promise<string> {
    return this.birdc(['show', 'protocols', 'all', peer]);
  }

  async state(peer: string): Promise<string> {
    const info = await this.protocolInfo(peer);
    return info.match(/BGP state:\s+(\S+)/)?.[1] ?? 'Down';
  }

  waitEstablished(peer: string, timeoutMs = 20_000): Promise<true> {
    return until(
      `BIRD ${peer} Established`,
      async () => ((await this.state(peer)) === 'Established' ? true : undefined),
      timeoutMs,
    );
  }

  /** Routes BIRD learned over BGP protocol `peer` (both tables). */
  async routes(peer: string): Promise<Route[]> {
    return parseBirdRoutes(await this.birdc(['show', 'route', 'all', 'protocol', peer]));
  }
}

/** Parses `birdc show route all` text. Route heads start at column 0 (new prefix) or with spaces. */
export function parseBirdRoutes(text: string): Route[] {
  const out: Route[] = [];
  let prefix = '';
  let cur: Route | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('\t')) {
      if (!cur) continue;
      const m = line.match(/^\t(BGP\.\w+): ?(.*)$/);
      if (!m) continue;
      const [, key, value] = m as unknown as [string, string, string];
      if (key === 'BGP.as_path') cur.asPath = (value.match(/\d+/g) ?? []).map(Number);
      else if (key === 'BGP.next_hop') cur.nextHop = value.split(/\s+/)[0] ?? '';
      else if (key === 'BGP.med') cur.med = Number(value);
      else if (key === 'BGP.local_pref') cur.localPref = Number(value);
      else if (key === 'BGP.community')
        cur.communities = [...value.matchAll(/\((\d+),(\d+)\)/g)].map((x) => `${x[1]}:${x[2]}`);
      else if (key === 'BGP.large_community')
        cur.largeCommunities = [...value.matchAll(/\((\d+), (\d+), (\d+)\)/g)].map(
          (x) => `${x[1]}:${x[2]}:${x[3]}`,
        );
      continue;
    }
    const head = line.match(/^(\S+)\s+.*\[\S+ [^\]]*?(?:from (\S+))?\]/);
    const alt = line.match(/^ +\S.*\[\S+ [^\]]*?(?:from (\S+))?\]/);
    if (head && head[1]!.includes('/')) prefix = head[1]!;
    else if (!alt) continue;
    const from = (head && head[1]!.includes('/') ? head[2] : alt?.[1]) ?? '';
    cur = { prefix, from, asPath: [], nextHop: '', communities: [], largeCommunities: [] };
    out.push(cur);
  }
  return out;
}
