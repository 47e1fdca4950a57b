/**
 * The data-plane lab: four network namespaces in a line, `cust — cpe — edge — net`, joined by veth
 * pairs, with addresses only from the documentation ranges (RFC 5737, RFC 3849):
 *
 *   cust c0 ── c1 cpe u0 ══ underlay ══ u1 edge n0 ── n1 net
 *   192.0.2.2/26    .1    198.51.100.2/24   .1    203.0.113.1/24   .2
 *   2001:db8:1::2/64 ::1  2001:db8:ff00::2/64 ::1  2001:db8:2::1/64 ::2
 *
 * The path cust → net is carried either by gredge (a GRE tunnel between cpe and edge over the
 * underlay, see configs.ts) or by plain kernel routes over the same veths (the baseline). The kernel
 * here has no GRE module, so nothing in the lab uses kernel GRE.
 *
 * Cleanup is always complete: `destroy()` (call it from t.teardown) and a process 'exit' hook end
 * the processes the lab started, by PID, and delete its namespaces.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { haveCommand, type LabProcess, nsExec, nsExecSync, nsSpawn, sleep } from './netns.js';

export type Role = 'cust' | 'cpe' | 'edge' | 'net';
export const ROLES: readonly Role[] = ['cust', 'cpe', 'edge', 'net'];

/** Interface names, per namespace. */
export const IF = {
  cust: 'c0',
  cpeCust: 'c1',
  cpeUnder: 'u0',
  edgeUnder: 'u1',
  edgeNet: 'n0',
  net: 'n1',
} as const;

export const ADDR = {
  cust: { v4: '192.0.2.2', v6: '2001:db8:1::2' },
  cpeCust: { v4: '192.0.2.1', v6: '2001:db8:1::1' },
  cpeUnder: { v4: '198.51.100.2', v6: '2001:db8:ff00::2' },
  edgeUnder: { v4: '198.51.100.1', v6: '2001:db8:ff00::1' },
  edgeNet: { v4: '203.0.113.1', v6: '2001:db8:2::1' },
  net: { v4: '203.0.113.2', v6: '2001:db8:2::2' },
  /** Customer side prefixes (behind cpe) and provider side prefixes (behind edge). */
  custNet: { v4: '192.0.2.0/26', v6: '2001:db8:1::/64' },
  netNet: { v4: '203.0.113.0/24', v6: '2001:db8:2::/64' },
} as const;

const LINKS: Array<[Role, string, string, number, Role, string, string, number]> = [
  // [ns A, if A, v4 A, v6 A prefix len..., ns B, ...]: expanded below
  ['cust', IF.cust, ADDR.cust.v4, 26, 'cpe', IF.cpeCust, ADDR.cpeCust.v4, 26],
  ['cpe', IF.cpeUnder, ADDR.cpeUnder.v4, 24, 'edge', IF.edgeUnder, ADDR.edgeUnder.v4, 24],
  ['edge', IF.edgeNet, ADDR.edgeNet.v4, 24, 'net', IF.net, ADDR.net.v4, 24],
];
const V6: Record<string, string> = {
  [IF.cust]: `${ADDR.cust.v6}/64`,
  [IF.cpeCust]: `${ADDR.cpeCust.v6}/64`,
  [IF.cpeUnder]: `${ADDR.cpeUnder.v6}/64`,
  [IF.edgeUnder]: `${ADDR.edgeUnder.v6}/64`,
  [IF.edgeNet]: `${ADDR.edgeNet.v6}/64`,
  [IF.net]: `${ADDR.net.v6}/64`,
};

/** Every veth end, for offload settings and counters. */
export const VETHS: ReadonlyArray<[Role, string]> = [
  ['cust', IF.cust],
  ['cpe', IF.cpeCust],
  ['cpe', IF.cpeUnder],
  ['edge', IF.edgeUnder],
  ['edge', IF.edgeNet],
  ['net', IF.net],
];

let labSeq = 0;
const liveLabs = new Set<Lab>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' runs on normal exit and after an uncaught exception; signals are turned into exits so
  // that the hook runs for them too (tap sends SIGTERM on timeout).
  process.on('exit', () => {
    for (const lab of liveLabs) lab.destroySync();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      for (const lab of liveLabs) lab.destroySync();
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    });
  }
}

export interface LabOptions {
  /** Short tag in the namespace names, for humans reading `ip netns`. */
  tag?: string;
}

export class Lab {
  /** Full namespace names by role: `gl-<pid>-<seq><tag>-<role>`. */
  readonly ns: Record<Role, string>;
  /** A private directory for configs, captures and logs; removed by destroy(). */
  readonly dir: string;
  readonly #procs = new Set<LabProcess>();
  #created: Role[] = [];
  #destroyed = false;

  private constructor(tag: string) {
    const base = `gl-${process.pid}-${labSeq++}${tag ? `-${tag}` : ''}`;
    this.ns = { cust: `${base}-cust`, cpe: `${base}-cpe`, edge: `${base}-edge`, net: `${base}-net` };
    this.dir = mkdtempSync(join(tmpdir(), `${base}-`));
  }

  /** Build the namespaces, veths, addresses, sysctls and the hosts' default routes. */
  static async create(opts: LabOptions = {}): Promise<Lab> {
    installExitHook();
    const lab = new Lab(opts.tag ?? '');
    liveLabs.add(lab);
    try {
      await lab.#build();
    } catch (e) {
      await lab.destroy();
      throw e;
    }
    return lab;
  }

  async #build(): Promise<void> {
    for (const r of ROLES) {
      await nsExec(null, ['ip', 'netns', 'add', this.ns[r]]);
      this.#created.push(r);
      await this.ip(r, 'link', 'set', 'lo', 'up');
      // No DAD: addresses are usable at once; rp_filter off: decapsulated packets arrive on the TUN
      // while their source is routed elsewhere (asymmetric by design on an edge box).
      await this.sysctl(r, {
        'net.ipv6.conf.all.accept_dad': '0',
        'net.ipv6.conf.default.accept_dad': '0',
        'net.ipv4.conf.all.rp_filter': '0',
        'net.ipv4.conf.default.rp_filter': '0',
        'net.ipv4.ping_group_range': '0 2147483647',
      });
    }
    for (const r of ['cpe', 'edge'] as const) {
      await this.sysctl(r, {
        'net.ipv4.ip_forward': '1',
        'net.ipv6.conf.all.forwarding': '1',
      });
    }
    for (const [a, ifa, v4a, lena, b, ifb, v4b, lenb] of LINKS) {
      await nsExec(null, [
        'ip',
        '-n',
        this.ns[a],
        'link',
        'add',
        ifa,
        'type',
        'veth',
        'peer',
        'name',
        ifb,
        'netns',
        this.ns[b],
      ]);
      await this.ip(a, 'addr', 'add', `${v4a}/${lena}`, 'dev', ifa);
      await this.ip(b, 'addr', 'add', `${v4b}/${lenb}`, 'dev', ifb);
      await this.ip(a, '-6', 'addr', 'add', V6[ifa]!, 'dev', ifa, 'nodad');
      await this.ip(b, '-6', 'addr', 'add', V6[ifb]!, 'dev', ifb, 'nodad');
      await this.ip(a, 'link', 'set', ifa, 'up');
      await this.ip(b, 'link', 'set', ifb, 'up');
    }
    await this.ip('cust', 'route', 'add', 'default', 'via', ADDR.cpeCust.v4);
    await this.ip('cust', '-6', 'route', 'add', 'default', 'via', ADDR.cpeCust.v6);
    await this.ip('net', 'route', 'add', 'default', 'via', ADDR.edgeNet.v4);
    await this.ip('net', '-6', 'route', 'add', 'default', 'via', ADDR.edgeNet.v6);
  }

  /** `ip -n <ns> args...` */
  async ip(role: Role, ...args: string[]): Promise<string> {
    return (await nsExec(null, ['ip', '-n', this.ns[role], ...args])).stdout;
  }

  async sysctl(role: Role, kv: Record<string, string>): Promise<void> {
    const argv = ['sysctl', '-q', '-w'];
    for (const [k, v] of Object.entries(kv)) argv.push(`${k}=${v}`);
    await nsExec(this.ns[role], argv);
  }

  /** Run a command inside a namespace and wait for it. */
  exec(role: Role, argv: string[], opts?: Parameters<typeof nsExec>[2]) {
    return nsExec(this.ns[role], argv, opts);
  }

  /** Start a long-running process inside a namespace; destroy() ends it by PID. */
  spawn(role: Role, name: string, argv: string[], opts?: Parameters<typeof nsSpawn>[3]): LabProcess {
    const p = nsSpawn(this.ns[role], name, argv, opts);
    this.#procs.add(p);
    void p.exited.then(() => this.#procs.delete(p));
    return p;
  }

  /**
   * The baseline: plain kernel routes between cpe and edge over the underlay veth, no GRE.
   * `add=false` removes them (so the same lab can then carry the gredge path).
   */
  async kernelRouting(add = true): Promise<void> {
    const op = add ? 'replace' : 'del';
    const opt = { allowFail: !add };
    await nsExec(null, ['ip', '-n', this.ns.cpe, 'route', op, ADDR.netNet.v4, 'via', ADDR.edgeUnder.v4], opt);
    await nsExec(
      null,
      ['ip', '-n', this.ns.cpe, '-6', 'route', op, ADDR.netNet.v6, 'via', ADDR.edgeUnder.v6],
      opt,
    );
    await nsExec(
      null,
      ['ip', '-n', this.ns.edge, 'route', op, ADDR.custNet.v4, 'via', ADDR.cpeUnder.v4],
      opt,
    );
    await nsExec(
      null,
      ['ip', '-n', this.ns.edge, '-6', 'route', op, ADDR.custNet.v6, 'via', ADDR.cpeUnder.v6],
      opt,
    );
  }

  /** TSO/GSO/GRO (and checksum offloads with them) on or off on every veth of the lab. */
  async setOffloads(on: boolean): Promise<void> {
    const v = on ? 'on' : 'off';
    for (const [r, dev] of VETHS) {
      // tx checksumming must stay on for TSO to be on; turning it off with the rest is what a
      // "no offloads" baseline means.
      await this.exec(r, ['ethtool', '-K', dev, 'tx', v, 'tso', v, 'gso', v, 'gro', v], { allowFail: true });
    }
  }

  /** The same, for one device (e.g. the TUN gredge created). */
  async setDeviceOffloads(role: Role, dev: string, on: boolean): Promise<void> {
    const v = on ? 'on' : 'off';
    await this.exec(role, ['ethtool', '-K', dev, 'tso', v, 'gso', v, 'gro', v], { allowFail: true });
  }

  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    await Promise.all([...this.#procs].map((p) => p.stop(2000)));
    // A process that exits may leave a TUN or sockets behind for a moment; deleting the namespace
    // takes its devices with it.
    for (const r of this.#created) {
      await nsExec(null, ['ip', 'netns', 'del', this.ns[r]], { allowFail: true });
    }
    this.#finish();
  }

  destroySync(): void {
    if (this.#destroyed) return;
    for (const p of this.#procs) p.killSync();
    for (const r of this.#created) nsExecSync(null, ['ip', 'netns', 'del', this.ns[r]]);
    this.#finish();
  }

  #finish(): void {
    this.#destroyed = true;
    this.#created = [];
    liveLabs.delete(this);
    try {
      rmSync(this.dir, { recursive: true, force: true });
    } catch {}
  }

  /** Ping from a role to an address; returns received / transmitted. */
  async ping(
    role: Role,
    dst: string,
    opts: { count?: number; interval?: number; size?: number; flood?: boolean; timeoutS?: number } = {},
  ): Promise<{ tx: number; rx: number; out: string }> {
    const argv = ['ping', '-n', '-q', '-c', String(opts.count ?? 3)];
    if (opts.flood) argv.push('-f');
    else argv.push('-i', String(opts.interval ?? 0.2));
    if (opts.size !== undefined) argv.push('-s', String(opts.size));
    argv.push('-W', '1', '-w', String(opts.timeoutS ?? 10), dst);
    const r = await this.exec(role, argv, { allowFail: true, timeoutMs: ((opts.timeoutS ?? 10) + 5) * 1000 });
    const m = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(r.stdout);
    return { tx: m ? Number(m[1]) : 0, rx: m ? Number(m[2]) : 0, out: r.stdout + r.stderr };
  }

  /** Wait until `dst` answers a ping from `role` (routes and daemons settle). */
  async waitReachable(role: Role, dst: string, timeoutMs = 10_000): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const r = await this.exec(role, ['ping', '-n', '-q', '-c', '1', '-W', '1', dst], { allowFail: true });
      if (r.code === 0) return true;
      await sleep(100);
    }
    return false;
  }
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/**
 * Why a lab test cannot run on this machine, or undefined when it can: root first (to create
 * `what`), then each command in `tools` (command → where it comes from).
 */
export function labMissing(what: string, tools: Record<string, string> = {}): string | undefined {
  if (!isRoot()) return `the lab needs root to create ${what}`;
  for (const [cmd, from] of Object.entries(tools)) {
    if (!haveCommand(cmd)) return `${cmd} is not installed (${from})`;
  }
  return undefined;
}
