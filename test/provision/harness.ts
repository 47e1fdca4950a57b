/**
 * The provisioning edge for daemon.test.ts and lab.test.ts: a namespace `edge` (its underlay
 * address 198.51.100.254 on lo) running the real gredged with a `provisioning:` section, a
 * control socket in the lab's directory and an empty `customers/` it includes; `ctl` runs the
 * real gredgectl against that socket, in a process of its own (never a sync spawn: gredged's
 * sessions keep their timers). Namespaces and processes are the no-resale lab's (NrLab): removed
 * in destroy() and in a process exit hook, processes ended by PID.
 */
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ControlClient } from '../../src/control/client.js';
import type { Response } from '../../src/control/protocol.js';
import { Gredged } from '../lab/no-resale/gredged.js';
import { NrLab } from '../lab/no-resale/lab.js';

const CTL = fileURLToPath(new URL('../../src/control/cli/gredgectl.js', import.meta.url));

export const EDGE_UNDERLAY = '198.51.100.254';
export const LOCAL_AS = 65000;
export const POOL4 = '192.0.2.0/28';
export const POOL6 = '2001:db8:ff::/64';

export interface EdgeOptions {
  /** Veths to other namespaces, made before gredged starts (lab.test.ts). */
  extra?: string[];
}

export function edgeYaml(dir: string): string {
  return [
    '# provisioning lab edge (test/provision)',
    `router-id: ${EDGE_UNDERLAY}`,
    `local-as: ${LOCAL_AS}`,
    'listen: { address: 0.0.0.0, port: 179 }',
    'include: customers/*.yaml',
    'log: { level: info }',
    `control: { socket: ${JSON.stringify(join(dir, 'ctl.sock'))} }`,
    'dataplane: { tun: gredge0, workers: 1 }',
    `underlay: { local: ${EDGE_UNDERLAY} }`,
    'own-prefixes: [198.51.100.0/24]',
    // Documentation space stands for customers' space (README, bogons).
    'bogons: ["0.0.0.0/0 ge 29", "::/0 ge 49", "10.0.0.0/8 le 32"]',
    'provisioning:',
    '  key-range: 1000-1999',
    `  inner-pool4: ${POOL4}`,
    `  inner-pool6: ${JSON.stringify(POOL6)}`,
    '  directory: customers',
    'neighbors:',
    // Configured by hand: `customer remove` must refuse it.
    '  - { name: hand-made, address: 198.51.100.50, remote-as: 64499, role: peer, passive: true }',
    '',
  ].join('\n');
}

export interface CtlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class ProvEdge {
  readonly lab: NrLab;
  readonly gredged: Gredged;
  readonly customers: string;
  readonly socket: string;

  private constructor(lab: NrLab) {
    this.lab = lab;
    this.customers = join(lab.dir, 'customers');
    mkdirSync(this.customers);
    this.socket = join(lab.dir, 'ctl.sock');
    this.gredged = new Gredged(lab, 'edge', 'edge', edgeYaml(lab.dir));
  }

  /** Namespaces `roles` (edge first, a router) and gredged on the edge; `build` adds links in between. */
  static async create(
    tag: string,
    roles: string[],
    build?: (lab: NrLab) => Promise<void>,
  ): Promise<ProvEdge> {
    const lab = new NrLab(tag);
    const e = new ProvEdge(lab);
    try {
      await lab.addNs('edge', true);
      for (const r of roles) await lab.addNs(r);
      await lab.ip('edge', 'addr', 'add', `${EDGE_UNDERLAY}/32`, 'dev', 'lo');
      await build?.(lab);
      await e.gredged.start();
    } catch (err) {
      await lab.destroy();
      throw err;
    }
    return e;
  }

  /** gredgectl --socket SOCK ARGS. */
  ctl(args: string[]): Promise<CtlResult> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        [CTL, '--socket', this.socket, ...args],
        { env: { ...process.env, NODE_OPTIONS: '', GREDGE_SOCKET: '' }, timeout: 60_000 },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : 99) : 0;
          resolve({ code, stdout: String(stdout), stderr: String(stderr) });
        },
      );
    });
  }

  /** gredgectl ARGS --json, parsed; throws unless it exits 0. */
  // biome-ignore lint/suspicious/noExplicitAny: answers are checked field by field
  async json(args: string[]): Promise<any> {
    const r = await this.ctl([...args, '--json']);
    if (r.code !== 0) throw new Error(`gredgectl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  }

  /** One request over the socket without a gredgectl process (~1 s each here): the answer. */
  async req(cmd: string, args: Record<string, unknown> = {}): Promise<Response> {
    const c = await ControlClient.connect(this.socket);
    try {
      return await c.request(cmd, args);
    } finally {
      c.close();
    }
  }

  /** req(), and its result; throws on an error answer. */
  // biome-ignore lint/suspicious/noExplicitAny: answers are checked field by field
  async get(cmd: string, args: Record<string, unknown> = {}): Promise<any> {
    const r = await this.req(cmd, args);
    if (!r.ok) throw new Error(`${cmd}: ${r.error.code}: ${r.error.message}`);
    return r.result;
  }

  /** `ip -n edge ARGS`. */
  ip(...args: string[]): Promise<string> {
    return this.lab.ip('edge', ...args);
  }

  async destroy(): Promise<void> {
    await this.lab.destroy();
  }
}

export { until } from '../../src/lab/sh.js';
