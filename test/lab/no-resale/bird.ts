/**
 * BIRD 2 instances of the no-resale lab: one process per neighbor role, in that neighbor's
 * namespace, with its own config, control socket and log. Each BGP protocol exports only its
 * own static routes (blackholes, so BIRD never forwards anything), with per-route attributes
 * set in its export filter; `setRoutes` changes them in place (`birdc configure`). Sessions of
 * one instance toward the same neighbor address share BIRD's lock on it: one that stays up keeps
 * the others from ever connecting again, so the lab gives each such session a BIRD of its own.
 * BIRD ignores static routes in 127/8 (host scope): it cannot announce the IPv4 load.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseBirdRoutes } from '../../interop/harness/bird.js';
import type { Route } from '../../interop/harness/route.js';
import type { LabProcess } from '../netns.js';
import type { NrLab } from './lab.js';

/** A route BIRD originates. `asPath` is what follows BIRD's own AS (or, for an rs client, all). */
export interface BirdRoute {
  prefix: string;
  asPath?: number[];
  largeCommunities?: string[];
  /** RFC 9234 Only-to-Customer value, set in the export filter. */
  otc?: number;
  /** `asPath` is the whole path: the session's `prepend` is not applied (a foreign first AS). */
  raw?: boolean;
}

export interface BirdSession {
  name: string;
  localAddress: string;
  localAs: number;
  neighbor: string;
  neighborAs: number;
  passive: boolean;
  holdTime?: number;
  /** The IPv6 next hop announced over the IPv4 session. */
  nextHop6: string;
  /** RFC 9234 `local role` (BIRD 2.0.11+): provider, rs_server, rs_client, customer, peer. */
  localRole?: string;
  /** BIRD as a route server toward this neighbor: it does not put its own AS in the path. */
  rsClient?: boolean;
  /** ASNs put in front of every exported route's path (after BIRD's own). */
  prepend?: number[];
  routes: BirdRoute[];
}

export interface BirdOptions {
  name: string;
  role: string;
  routerId: string;
  sessions: BirdSession[];
}

const isV6 = (p: string) => p.includes(':');

export class Bird {
  readonly opts: BirdOptions;
  readonly dir: string;
  readonly ctl: string;
  readonly conf: string;
  proc: LabProcess | undefined;
  readonly #lab: NrLab;

  constructor(lab: NrLab, opts: BirdOptions) {
    this.#lab = lab;
    this.opts = opts;
    this.dir = join(lab.dir, `bird-${opts.name}`);
    mkdirSync(this.dir, { recursive: true });
    this.ctl = join(this.dir, 'bird.ctl');
    this.conf = join(this.dir, 'bird.conf');
  }

  session(name?: string): BirdSession {
    const s = name === undefined ? this.opts.sessions[0] : this.opts.sessions.find((x) => x.name === name);
    if (!s) throw new Error(`BIRD ${this.opts.name}: no session ${name}`);
    return s;
  }

  config(): string {
    const o = this.opts;
    const parts = [
      `# written by test/lab/no-resale/bird.ts (${o.name})`,
      `router id ${o.routerId};`,
      `log "${join(this.dir, 'bird.log')}" all;`,
      'debug protocols { states, events };',
      'protocol device { scan time 1; }',
    ];
    for (const s of o.sessions) {
      const st4 = s.routes.filter((r) => !isV6(r.prefix));
      const st6 = s.routes.filter((r) => isV6(r.prefix));
      const statics = (rs: BirdRoute[]) => rs.map((r) => `  route ${r.prefix} blackhole;\n`).join('');
      const special = s.routes
        .map((r) => {
          const a: string[] = [];
          for (const c of r.largeCommunities ?? [])
            a.push(`bgp_large_community.add((${c.replaceAll(':', ',')}));`);
          for (const x of [...(r.asPath ?? [])].reverse()) a.push(`bgp_path.prepend(${x});`);
          if (r.otc !== undefined) a.push(`bgp_otc = ${r.otc};`);
          if (r.raw) a.push('accept;');
          return a.length === 0 ? '' : `  if net = ${r.prefix} then { ${a.join(' ')} }\n`;
        })
        .join('');
      const prepend = [...(s.prepend ?? [])]
        .reverse()
        .map((x) => `  bgp_path.prepend(${x});\n`)
        .join('');
      const hold = s.holdTime ?? 30;
      parts.push(
        `protocol static s4_${s.name} {\n  ipv4;\n${statics(st4)}}`,
        `protocol static s6_${s.name} {\n  ipv6;\n${statics(st6)}}`,
        `filter ex_${s.name} {\n  if proto != "s4_${s.name}" && proto != "s6_${s.name}" then reject;\n${special}${prepend}  accept;\n}`,
        `protocol bgp p_${s.name} {
  local ${s.localAddress} as ${s.localAs};
  neighbor ${s.neighbor} as ${s.neighborAs};
  strict bind yes;
  passive ${s.passive ? 'yes' : 'no'};
  hold time ${hold}; keepalive time ${Math.max(1, Math.floor(hold / 3))};
  connect retry time 1; connect delay time 1; error wait time 1, 2;
  graceful restart off;${s.localRole ? `\n  local role ${s.localRole};` : ''}${s.rsClient ? '\n  rs client yes;' : ''}
  ipv4 { import all; export filter ex_${s.name}; };
  ipv6 { import all; export filter ex_${s.name}; next hop address ${s.nextHop6}; };
}`,
      );
    }
    return `${parts.join('\n')}\n`;
  }

  async start(): Promise<void> {
    rmSync(this.ctl, { force: true });
    writeFileSync(this.conf, this.config());
    this.proc = this.#lab.spawn(this.opts.role, `bird-${this.opts.name}`, [
      'bird',
      '-f',
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
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Replace a session's originated routes, applied in place. */
  async setRoutes(session: string, routes: BirdRoute[]): Promise<void> {
    this.session(session).routes = routes;
    writeFileSync(this.conf, this.config());
    const out = await this.birdc(['configure'], 60_000);
    if (!/Reconfigur/i.test(out)) throw new Error(`birdc configure (${this.opts.name}): ${out}`);
  }

  birdc(args: string[], timeoutMs = 15_000): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(
        'birdc',
        ['-s', this.ctl, ...args],
        { timeout: timeoutMs, maxBuffer: 512 << 20 },
        (err, out, errOut) =>
          err ? reject(new Error(`birdc ${args.join(' ')}: ${err.message} ${errOut}`)) : resolve(out),
      );
    });
  }

  /** `show protocols all NAME`: state, last error, capabilities. */
  info(session?: string): Promise<string> {
    return this.birdc(['show', 'protocols', 'all', `p_${this.session(session).name}`]);
  }

  async state(session?: string): Promise<string> {
    return /BGP state:\s+(\S+)/.exec(await this.info(session))?.[1] ?? 'Down';
  }

  async lastError(session?: string): Promise<string> {
    return /Last error:\s+(.*)/.exec(await this.info(session))?.[1]?.trim() ?? '';
  }

  /** What the session learned (both families), as the interop route shape. */
  async routes(session?: string): Promise<Route[]> {
    return parseBirdRoutes(
      await this.birdc(['show', 'route', 'all', 'protocol', `p_${this.session(session).name}`], 60_000),
    );
  }

  /** How many routes the session learned (cheap, for big tables). */
  async count(session?: string): Promise<number> {
    const out = await this.birdc(['show', 'route', 'protocol', `p_${this.session(session).name}`, 'count']);
    return Number(/(\d+) of \d+ routes/.exec(out)?.[1] ?? /(\d+) routes/.exec(out)?.[1] ?? Number.NaN);
  }

  stop(): Promise<number | null> {
    return this.proc?.stop(3000) ?? Promise.resolve(null);
  }
}
