/**
 * The namespaces of the no-resale lab and their cleanup: every namespace this lab creates is
 * deleted, and every process it starts is ended by its PID, in `destroy()` (call it from
 * t.teardown) and in a process 'exit' hook (signals are turned into exits, as in topology.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ExecOptions, type LabProcess, nsExec, nsExecSync, nsSpawn } from '../netns.js';

const live = new Set<NrLab>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const l of live) l.destroySync();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      for (const l of live) l.destroySync();
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    });
  }
}

/** One veth pair: `a`'s end `ifA` with its addresses, `b`'s end `ifB` with its. */
export interface Link {
  a: string;
  ifA: string;
  addrA: string[];
  b: string;
  ifB: string;
  addrB: string[];
}

export class NrLab {
  readonly base: string;
  readonly dir: string;
  readonly #ns = new Map<string, string>();
  readonly #procs = new Set<LabProcess>();
  #destroyed = false;

  constructor(tag: string) {
    hookExit();
    this.base = `nr-${process.pid}-${tag}`;
    this.dir = mkdtempSync(join(tmpdir(), `${this.base}-`));
    live.add(this);
  }

  /** The full namespace name of `role`. */
  ns(role: string): string {
    const n = this.#ns.get(role);
    if (!n) throw new Error(`no namespace ${role} in this lab`);
    return n;
  }

  /** Creates a namespace with lo up, no DAD, rp_filter off; `router` also forwards. */
  async addNs(role: string, router = false): Promise<void> {
    const name = `${this.base}-${role}`;
    await nsExec(null, ['ip', 'netns', 'add', name]);
    this.#ns.set(role, name);
    await this.ip(role, 'link', 'set', 'lo', 'up');
    const kv: Record<string, string> = {
      'net.ipv6.conf.all.accept_dad': '0',
      'net.ipv6.conf.default.accept_dad': '0',
      'net.ipv4.conf.all.rp_filter': '0',
      'net.ipv4.conf.default.rp_filter': '0',
      'net.ipv4.ping_group_range': '0 2147483647',
      // Unreachables are the evidence of test 1: no rate limit hides one.
      'net.ipv4.icmp_ratelimit': '0',
      'net.ipv6.icmp.ratelimit': '0',
    };
    if (router) {
      kv['net.ipv4.ip_forward'] = '1';
      kv['net.ipv6.conf.all.forwarding'] = '1';
    }
    await this.exec(role, ['sysctl', '-q', '-w', ...Object.entries(kv).map(([k, v]) => `${k}=${v}`)]);
  }

  async link(l: Link): Promise<void> {
    await nsExec(null, [
      'ip',
      '-n',
      this.ns(l.a),
      'link',
      'add',
      l.ifA,
      'type',
      'veth',
      'peer',
      'name',
      l.ifB,
    ]);
    await nsExec(null, ['ip', '-n', this.ns(l.a), 'link', 'set', l.ifB, 'netns', this.ns(l.b)]);
    for (const [role, dev, addrs] of [
      [l.a, l.ifA, l.addrA],
      [l.b, l.ifB, l.addrB],
    ] as const) {
      for (const a of addrs)
        await this.ip(role, 'addr', 'add', a, 'dev', dev, ...(a.includes(':') ? ['nodad'] : []));
      await this.ip(role, 'link', 'set', dev, 'up');
    }
  }

  /** `ip -n <ns> args...` */
  async ip(role: string, ...args: string[]): Promise<string> {
    return (await nsExec(null, ['ip', '-n', this.ns(role), ...args])).stdout;
  }

  exec(role: string, argv: string[], opts?: ExecOptions) {
    return nsExec(this.ns(role), argv, opts);
  }

  /** A long-running process in `role`'s namespace, ended by PID in destroy(). */
  spawn(role: string, name: string, argv: string[], env?: NodeJS.ProcessEnv): LabProcess {
    const p = nsSpawn(this.ns(role), name, argv, env ? { env: { ...process.env, ...env } } : {});
    this.#procs.add(p);
    void p.exited.then(() => this.#procs.delete(p));
    return p;
  }

  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    await Promise.all([...this.#procs].map((p) => p.stop(2000)));
    for (const n of this.#ns.values()) await nsExec(null, ['ip', 'netns', 'del', n], { allowFail: true });
    this.#finish();
  }

  destroySync(): void {
    if (this.#destroyed) return;
    for (const p of this.#procs) p.killSync();
    for (const n of this.#ns.values()) nsExecSync(null, ['ip', 'netns', 'del', n]);
    this.#finish();
  }

  #finish(): void {
    this.#destroyed = true;
    this.#ns.clear();
    live.delete(this);
    try {
      rmSync(this.dir, { recursive: true, force: true });
    } catch {}
  }
}
