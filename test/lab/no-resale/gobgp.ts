/**
 * GoBGP (gobgpd 3.x) instances of the no-resale lab: gRPC on a Unix socket in the lab's
 * directory, routes added with the `gobgp` CLI, the RIB read back as JSON
 * (`gobgp global rib -a FAM -j`, parsed by the interop harness). GoBGP is passive: gredged
 * connects (GoBGP's own connect retry is at least 5 s).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseGobgpRib } from '../../interop/harness/gobgp.js';
import type { Route } from '../../interop/harness/route.js';
import type { LabProcess } from '../netns.js';
import type { NrLab } from './lab.js';

export interface GobgpRoute {
  prefix: string;
  nextHop: string;
  /** The path after GoBGP's own AS (which it prepends over eBGP). */
  asPath?: number[];
  largeCommunities?: string[];
}

export interface GobgpOptions {
  name: string;
  role: string;
  routerId: string;
  as: number;
  localAddress: string;
  neighbor: string;
  neighborAs: number;
  holdTime?: number;
}

export class Gobgp {
  readonly opts: GobgpOptions;
  readonly dir: string;
  readonly target: string;
  proc: LabProcess | undefined;
  readonly #lab: NrLab;

  constructor(lab: NrLab, opts: GobgpOptions) {
    this.#lab = lab;
    this.opts = opts;
    this.dir = join(lab.dir, `gobgp-${opts.name}`);
    mkdirSync(this.dir, { recursive: true });
    this.target = `unix://${join(this.dir, 'gobgp.sock')}`;
  }

  config(): string {
    const o = this.opts;
    const hold = o.holdTime ?? 30;
    const fams = ['ipv4-unicast', 'ipv6-unicast']
      .map(
        (f) => `  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = "${f}"\n`,
      )
      .join('');
    return `# written by test/lab/no-resale/gobgp.ts (${o.name})
[global.config]
  as = ${o.as}
  router-id = "${o.routerId}"
  port = 179
  local-address-list = ["${o.localAddress}"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "${o.neighbor}"
    peer-as = ${o.neighborAs}
  [neighbors.transport.config]
    passive-mode = true
    local-address = "${o.localAddress}"
  [neighbors.timers.config]
    hold-time = ${hold}
    keepalive-interval = ${Math.max(1, Math.floor(hold / 3))}
    connect-retry = 1
    idle-hold-time-after-reset = 1
${fams}`;
  }

  async start(): Promise<void> {
    const sock = this.target.slice('unix://'.length);
    rmSync(sock, { force: true });
    const conf = join(this.dir, 'gobgpd.toml');
    writeFileSync(conf, this.config());
    this.proc = this.#lab.spawn(this.opts.role, `gobgpd-${this.opts.name}`, [
      'gobgpd',
      '-f',
      conf,
      '--api-hosts',
      this.target,
      '--pprof-disable',
      '-l',
      'info',
    ]);
    const end = Date.now() + 10_000;
    for (;;) {
      const out = await this.cli(['global']).catch((e: Error) => e.message);
      if (/AS:\s*\d+/.test(out)) return;
      if (!this.proc.running || Date.now() > end)
        throw new Error(`gobgpd ${this.opts.name} did not start: ${out} ${this.proc.stderr.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  cli(args: string[], timeoutMs = 15_000): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(
        'gobgp',
        ['--target', this.target, ...args],
        { timeout: timeoutMs, maxBuffer: 512 << 20 },
        (err, out, errOut) =>
          err ? reject(new Error(`gobgp ${args.join(' ')}: ${err.message} ${errOut}`)) : resolve(out),
      );
    });
  }

  async add(r: GobgpRoute): Promise<void> {
    const args = ['global', 'rib', 'add', '-a', r.prefix.includes(':') ? 'ipv6' : 'ipv4', r.prefix];
    args.push('nexthop', r.nextHop);
    if (r.asPath?.length) args.push('aspath', r.asPath.join(','));
    if (r.largeCommunities?.length) args.push('large-community', r.largeCommunities.join(','));
    await this.cli(args);
  }

  async del(prefix: string): Promise<void> {
    await this.cli(['global', 'rib', 'del', '-a', prefix.includes(':') ? 'ipv6' : 'ipv4', prefix]);
  }

  async state(): Promise<string> {
    const j = JSON.parse(await this.cli(['neighbor', this.opts.neighbor, '-j'])) as {
      state?: { session_state?: number };
    };
    const n = j.state?.session_state ?? 0;
    return ['unknown', 'idle', 'connect', 'active', 'opensent', 'openconfirm', 'established'][n] ?? String(n);
  }

  /** Routes learned from the lab's neighbor (gredged), both families. */
  async learned(): Promise<Route[]> {
    const out: Route[] = [];
    for (const fam of ['ipv4', 'ipv6'])
      out.push(...parseGobgpRib(await this.cli(['global', 'rib', '-a', fam, '-j'], 60_000)));
    return out.filter((r) => r.from === this.opts.neighbor);
  }

  stop(): Promise<number | null> {
    return this.proc?.stop(3000) ?? Promise.resolve(null);
  }
}
