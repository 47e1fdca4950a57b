/**
 * The reload lab (plan.ts): namespaces and veths, a real gredged on the edge (with a control
 * socket), a tunnel-only gredged and a BIRD 2 on each CPE (the session inside the tunnel), BIRD 2
 * as the no-resale peer. Building blocks from test/lab/no-resale (namespaces and cleanup, BIRD,
 * gredged processes). Everything ends in `destroy()`, also when create() fails half-way.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ControlClient } from '../../../src/control/client.js';
import { sleep } from '../../lab/netns.js';
import { Bird } from '../../lab/no-resale/bird.js';
import { Gredged } from '../../lab/no-resale/gredged.js';
import { NrLab } from '../../lab/no-resale/lab.js';
import { cpeYaml, type EdgeShape, edgeYaml } from './configs.js';
import { ALL, AS, CUST_A, CUST_C, CUST_D, type Cust, EDGE_UNDERLAY, PEER } from './plan.js';

const CTL = fileURLToPath(new URL('../../../src/control/cli/gredgectl.js', import.meta.url));

export interface CtlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The edge's shape at start: cust-a (no resale), cust-c (resells), cust-d; cust-e waits. */
export function initialShape(socket: string): EdgeShape {
  return { customers: [CUST_A, CUST_C, CUST_D], noResale: [CUST_A.name], socket };
}

export class ReloadLab {
  readonly lab: NrLab;
  readonly edge: Gredged;
  readonly socket: string;
  readonly cpe: Record<Cust['name'], Gredged>;
  readonly cpeSocket: Record<Cust['name'], string>;
  readonly bird: Record<Cust['name'] | 'peer', Bird>;
  readonly timing: Record<string, number> = {};

  private constructor(lab: NrLab) {
    this.lab = lab;
    this.socket = join(lab.dir, 'edge.sock');
    this.edge = new Gredged(lab, 'edge', 'edge', edgeYaml(initialShape(this.socket)));
    const cpe = {} as Record<Cust['name'], Gredged>;
    const cpeSocket = {} as Record<Cust['name'], string>;
    const bird = {} as Record<Cust['name'] | 'peer', Bird>;
    for (const c of ALL) {
      cpeSocket[c.name] = join(lab.dir, `${c.role}.sock`);
      cpe[c.name] = new Gredged(lab, c.role, c.role, cpeYaml(c, cpeSocket[c.name]));
      bird[c.name] = new Bird(lab, {
        name: c.role,
        role: c.role,
        routerId: c.link.cpe,
        sessions: [
          {
            name: 'edge',
            localAddress: c.inner.cpe,
            localAs: c.as,
            neighbor: c.inner.edge,
            neighborAs: AS.edge,
            passive: false,
            holdTime: 9,
            nextHop6: c.inner.cpe6,
            routes: [{ prefix: c.prefix4 }, { prefix: c.prefix6 }],
          },
        ],
      });
    }
    bird.peer = new Bird(lab, {
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
          routes: [{ prefix: PEER.prefix4 }, { prefix: PEER.prefix6 }],
        },
      ],
    });
    this.cpe = cpe;
    this.cpeSocket = cpeSocket;
    this.bird = bird;
  }

  /** Builds and starts everything; on failure tears down what it built and rethrows. */
  static async create(): Promise<ReloadLab> {
    const lab = new NrLab('reload');
    const r = new ReloadLab(lab);
    try {
      await r.#phase('namespaces', () => r.#build());
      await r.#phase('daemons', () =>
        Promise.all([
          r.bird.peer.start(),
          r.edge.start(60_000),
          ...ALL.map((c) => r.cpe[c.name].start(60_000)),
        ]),
      );
      await r.#phase('cpe bird', () => Promise.all(ALL.map((c) => r.bird[c.name].start())));
      await r.#phase('sessions', () => r.waitUp([CUST_A.name, CUST_C.name, CUST_D.name, 'peer'], 30_000));
    } catch (e) {
      await lab.destroy();
      throw e;
    }
    return r;
  }

  async #phase(name: string, f: () => Promise<unknown>): Promise<void> {
    const t0 = Date.now();
    await f();
    this.timing[name] = Date.now() - t0;
  }

  async #build(): Promise<void> {
    const l = this.lab;
    await l.addNs('edge', true);
    // Customer to customer is in on the TUN and out on the TUN: the kernel would answer with an
    // ICMP redirect ("New nexthop: the destination"), which ping counts as an error and stops
    // on. An edge has no use for redirects into its tunnels; `all` is OR-ed with the device's
    // setting, so both go off before gredged creates its TUN.
    await l.exec('edge', [
      'sysctl',
      '-q',
      '-w',
      'net.ipv4.conf.all.send_redirects=0',
      'net.ipv4.conf.default.send_redirects=0',
    ]);
    for (const r of ['peer', ...ALL.map((c) => c.role)]) await l.addNs(r);
    await l.ip('edge', 'addr', 'add', `${EDGE_UNDERLAY}/32`, 'dev', 'lo');
    for (const c of ALL) {
      await l.link({
        a: 'edge',
        ifA: c.edgeIf,
        addrA: [`${c.link.edge}/30`],
        b: c.role,
        ifB: 'u0',
        addrB: [`${c.link.cpe}/30`],
      });
      await l.ip(c.role, 'route', 'add', `${EDGE_UNDERLAY}/32`, 'via', c.link.edge);
      await l.ip(c.role, 'addr', 'add', `${c.host4}/32`, 'dev', 'lo');
      await l.ip(c.role, 'addr', 'add', `${c.host6}/128`, 'dev', 'lo');
    }
    await l.link({
      a: 'edge',
      ifA: PEER.edgeIf,
      addrA: [`${PEER.edge}/30`, `${PEER.edge6}/64`],
      b: 'peer',
      ifB: 'p0',
      addrB: [`${PEER.addr}/30`, `${PEER.addr6}/64`],
    });
    await l.ip('peer', 'route', 'add', 'default', 'via', PEER.edge);
    await l.ip('peer', '-6', 'route', 'add', 'default', 'via', PEER.edge6);
    await l.ip('peer', 'addr', 'add', `${PEER.host4}/32`, 'dev', 'lo');
    await l.ip('peer', 'addr', 'add', `${PEER.host6}/128`, 'dev', 'lo');
  }

  /** Waits until the edge's gredged logs every one of `names` Established; throws naming the others. */
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

  /** `gredgectl --socket SOCKET args...` (the edge's, or a CPE's). */
  ctl(args: string[], socket = this.socket): Promise<CtlResult> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        [CTL, '--socket', socket, ...args],
        { env: { ...process.env, GREDGE_SOCKET: '' }, timeout: 60_000 },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : 99) : 0;
          resolve({ code, stdout: String(stdout), stderr: String(stderr) });
        },
      );
    });
  }

  /** One request on the control socket (the edge's, or a CPE's); its result, or a throw. */
  // biome-ignore lint/suspicious/noExplicitAny: answers are checked field by field
  async query(cmd: string, args: Record<string, unknown> = {}, socket = this.socket): Promise<any> {
    const c = await ControlClient.connect(socket);
    try {
      const r = await c.request(cmd, args);
      if (!r.ok) throw new Error(`${cmd}: ${r.error.code}: ${r.error.message}`);
      return r.result;
    } finally {
      c.close();
    }
  }

  /**
   * `count` pings from `role` with source `src`, 0.2 s apart, each given a second for its answer:
   * transmitted / received from ping's own summary. (No `-w`: with a deadline ping goes on
   * sending until `count` are answered, which would hide a loss.)
   */
  async ping(
    role: string,
    src: string,
    dst: string,
    count = 3,
  ): Promise<{ tx: number; rx: number; out: string }> {
    const argv = ['ping', '-n', '-c', String(count), '-i', '0.2', '-W', '1', '-I', src, dst];
    const r = await this.lab.exec(role, argv, { allowFail: true, timeoutMs: (count + 8) * 1000 });
    return { ...pingSummary(r.stdout), out: r.stdout + r.stderr };
  }

  /** Polls until `src` in `role` gets an answer from `dst`, or `timeoutMs` passes. */
  async waitPing(role: string, src: string, dst: string, timeoutMs = 10_000): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const r = await this.lab.exec(role, ['ping', '-n', '-c', '1', '-W', '1', '-I', src, dst], {
        allowFail: true,
      });
      if (r.code === 0) return true;
      await sleep(100);
    }
    return false;
  }

  /** BIRD's log lines of its session to the edge changing state ("p_edge: State changed to ..."). */
  birdStateChanges(who: Cust['name'] | 'peer'): string[] {
    let text = '';
    try {
      text = readFileSync(join(this.bird[who].dir, 'bird.log'), 'utf8');
    } catch {}
    return text.split('\n').filter((l) => /p_edge: State changed/.test(l));
  }

  /**
   * `birdc show protocols p_edge`: the protocol's line and its "since" (ms of the day). BIRD keeps
   * that time on its monotonic clock and prints it converted to wall time, so two readings of
   * one unchanged time differ by a few ms.
   */
  async birdProtocol(who: Cust['name'] | 'peer'): Promise<{ line: string; state: string; sinceMs: number }> {
    const out = await this.bird[who].birdc(['show', 'protocols', 'p_edge']);
    const line = (out.split('\n').find((l) => l.startsWith('p_edge')) ?? out).trim();
    const m = /\s(\w+)\s+(\d\d):(\d\d):(\d\d)\.(\d{3})\s/.exec(line);
    const sinceMs = m
      ? ((Number(m[2]) * 60 + Number(m[3])) * 60 + Number(m[4])) * 1000 + Number(m[5])
      : Number.NaN;
    return { line, state: m?.[1] ?? '', sinceMs };
  }

  async destroy(): Promise<void> {
    await this.lab.destroy();
  }
}

/** "N packets transmitted, M received" of ping's summary (0 / 0 when there is none). */
export function pingSummary(out: string): { tx: number; rx: number } {
  const m = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(out);
  return { tx: m ? Number(m[1]) : 0, rx: m ? Number(m[2]) : 0 };
}
