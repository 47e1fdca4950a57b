/**
 * The no-resale lab (issue 9): builds the namespaces and links of plan.ts, starts gredged on the
 * edge and on both CPEs, BIRD on the CPEs (inside the tunnels), the peer and aux, GoBGP as the
 * transit and the internal neighbor, the load feeder (feeder-main.ts), and waits for the sessions.
 * Everything ends in `destroy()`.
 */
import type { Route } from '../../interop/harness/route.js';
import { sleep } from '../netns.js';
import { Bird, type BirdRoute } from './bird.js';
import { Feeder } from './feeder.js';
import { Gobgp } from './gobgp.js';
import { cpeYaml, edgeYaml, Gredged } from './gredged.js';
import { NrLab } from './lab.js';
import { Model } from './model.js';
import {
  AS,
  AUX,
  CUST_N,
  CUST_R,
  CUSTOMERS,
  type Customer,
  EDGE_UNDERLAY,
  INTERNAL,
  innerSubnets,
  MP_ROUTES,
  PEER,
  RS_GOOD_ROUTE,
  TRANSIT,
} from './plan.js';

/** Neighbors whose sessions must come up (the two role-check ones never do). */
export const UP_NEIGHBORS = ['cust-r', 'cust-n', 'peer', 'transit', 'int', 'mp', 'rs-good', 'feeder'];

/** The IPv6 address of an aux helper: 2001:db8:100:6:: and its IPv4 address's last octet. */
export function auxV6(v4: string): string {
  return `2001:db8:100:6::${v4.split('.')[3]}`;
}

export function customerRoutes(c: Customer): BirdRoute[] {
  return [{ prefix: c.prefix4 }, { prefix: c.prefix6 }];
}

export function peerRoutes(): BirdRoute[] {
  return [{ prefix: PEER.prefix4 }, { prefix: PEER.prefix6 }];
}

export class NoResaleLab {
  readonly lab: NrLab;
  readonly edge: Gredged;
  readonly cpe: Record<'cust-r' | 'cust-n', Gredged>;
  readonly bird: {
    'cust-r': Bird;
    'cust-n': Bird;
    peer: Bird;
    mp: Bird;
    rsMismatch: Bird;
    rsMissing: Bird;
    rsGood: Bird;
  };
  /** The load feeder (test 5), a transit to gredged; started with the edge. */
  feeder: Feeder | undefined;
  readonly transit: Gobgp;
  readonly int: Gobgp;
  /** What is announced now, hence what the FIB must hold (tests keep it up to date). */
  readonly model = new Model();
  /** How long each phase of create() took (ms), for the test's diagnostics. */
  readonly timing: Record<string, number> = {};

  private constructor(lab: NrLab) {
    this.lab = lab;
    this.edge = new Gredged(lab, 'edge', 'edge', edgeYaml());
    this.cpe = {
      'cust-r': new Gredged(lab, CUST_R.role, CUST_R.role, cpeYaml(CUST_R)),
      'cust-n': new Gredged(lab, CUST_N.role, CUST_N.role, cpeYaml(CUST_N)),
    };
    const cpeBird = (c: Customer) =>
      new Bird(lab, {
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
            // cust-r is a route server toward the edge so that one of its routes can carry a
            // foreign first AS (test 3): its own AS is put in front by the export filter instead.
            ...(c.resale ? { rsClient: true, prepend: [c.as] } : {}),
            routes: customerRoutes(c),
          },
        ],
      });
    const auxSession = (name: string, addr: string, as: number, extra: object) => ({
      name,
      localAddress: addr,
      localAs: as,
      neighbor: AUX.edge,
      neighborAs: AS.edge,
      passive: false,
      nextHop6: auxV6(addr),
      routes: [] as BirdRoute[],
      ...extra,
    });
    const auxBird = (name: string, addr: string, as: number, extra: object) =>
      new Bird(lab, {
        name,
        role: 'aux',
        routerId: addr,
        sessions: [auxSession('edge', addr, as, extra)],
      });
    this.bird = {
      'cust-r': cpeBird(CUST_R),
      'cust-n': cpeBird(CUST_N),
      peer: new Bird(lab, {
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
            routes: peerRoutes(),
          },
        ],
      }),
      mp: auxBird('mp', AUX.mp, AS.mp, {
        passive: true,
        routes: MP_ROUTES.slice(0, 2).map((prefix) => ({ prefix })),
      }),
      // One BIRD each: sessions of one BIRD to the same neighbor address share a lock, and one
      // that stays up would keep the others from ever connecting again.
      // gredged sees a customer; this one says it is gredged's peer: 2/11 from both sides.
      rsMismatch: auxBird('rs-mismatch', AUX.rsMismatch, AS.rsMismatch, { localRole: 'peer' }),
      // No BGP Role capability at all: only role-strict refuses it.
      rsMissing: auxBird('rs-missing', AUX.rsMissing, AS.rsMissing, {}),
      // The right role under role-strict: Established (the control).
      rsGood: auxBird('rs-good', AUX.rsGood, AS.rsGood, {
        localRole: 'customer',
        routes: [{ prefix: RS_GOOD_ROUTE }],
      }),
    };
    this.transit = new Gobgp(lab, {
      name: 'transit',
      role: 'transit',
      routerId: TRANSIT.addr,
      as: AS.transit,
      localAddress: TRANSIT.addr,
      neighbor: TRANSIT.edge,
      neighborAs: AS.edge,
    });
    this.int = new Gobgp(lab, {
      name: 'int',
      role: 'int',
      routerId: INTERNAL.addr,
      as: AS.edge,
      localAddress: INTERNAL.addr,
      neighbor: INTERNAL.edge,
      neighborAs: AS.edge,
    });
  }

  /** The model of what #start() announces. */
  #initialModel(): void {
    const m = this.model;
    for (const c of CUSTOMERS) {
      const s = innerSubnets(c);
      m.addStatic(s.v4);
      m.addStatic(s.v6);
      for (const r of customerRoutes(c))
        m.announce(r.prefix, { from: c.name, len: 1, via: 'tunnel', noResale: false });
    }
    m.announce(PEER.prefix4, { from: 'peer', len: 1, via: PEER.addr, noResale: true });
    m.announce(PEER.prefix6, { from: 'peer', len: 1, via: PEER.addr6, noResale: true });
    m.announce(TRANSIT.prefix4, { from: 'transit', len: 1, via: TRANSIT.addr, noResale: false });
    m.announce(TRANSIT.prefix6, { from: 'transit', len: 1, via: TRANSIT.addr6, noResale: false });
    m.announce(INTERNAL.own4, { from: 'int', len: 0, via: INTERNAL.addr, noResale: false });
    m.announce(INTERNAL.own6, { from: 'int', len: 0, via: INTERNAL.addr6, noResale: false });
    for (const p of MP_ROUTES.slice(0, 2))
      m.announce(p, { from: 'mp', len: 1, via: auxV6(AUX.mp), noResale: false });
    m.announce(RS_GOOD_ROUTE, { from: 'rs-good', len: 1, via: auxV6(AUX.rsGood), noResale: false });
  }

  /** Builds and starts everything; on failure tears down what it built and rethrows. */
  static async create(): Promise<NoResaleLab> {
    const lab = new NrLab('lab');
    const nr = new NoResaleLab(lab);
    nr.#initialModel();
    try {
      await nr.#phase('namespaces', () => nr.#build());
      await nr.#start();
    } catch (e) {
      await lab.destroy();
      throw e;
    }
    return nr;
  }

  async #build(): Promise<void> {
    const l = this.lab;
    await l.addNs('edge', true);
    for (const r of ['cpe-r', 'cpe-n', 'peer', 'transit', 'int', 'aux']) await l.addNs(r);
    await l.ip('edge', 'addr', 'add', `${EDGE_UNDERLAY}/32`, 'dev', 'lo');
    for (const c of CUSTOMERS) {
      await l.link({
        a: 'edge',
        ifA: c.edgeIf,
        addrA: [`${c.link.edge}/${c.link.len}`, `${c.link.edge6}/64`],
        b: c.role,
        ifB: 'u0',
        addrB: [`${c.link.cpe}/${c.link.len}`, `${c.link.cpe6}/64`],
      });
      await l.ip(c.role, 'route', 'add', `${EDGE_UNDERLAY}/32`, 'via', c.link.edge);
      await l.ip(c.role, 'addr', 'add', `${c.host4}/32`, 'dev', 'lo');
      await l.ip(c.role, 'addr', 'add', `${c.host6}/128`, 'dev', 'lo');
    }
    for (const [role, x, ifB] of [
      ['peer', PEER, 'p0'],
      ['transit', TRANSIT, 't0'],
      ['int', INTERNAL, 'i0'],
    ] as const) {
      await l.link({
        a: 'edge',
        ifA: x.edgeIf,
        addrA: [`${x.edge}/30`, `${x.edge6}/64`],
        b: role,
        ifB,
        addrB: [`${x.addr}/30`, `${x.addr6}/64`],
      });
      await l.ip(role, 'route', 'add', 'default', 'via', x.edge);
      await l.ip(role, '-6', 'route', 'add', 'default', 'via', x.edge6);
    }
    // The peer's prefix answers pings at the peer, and at the transit too (it stands for the
    // rest of the Internet, from where the peer's network is reachable as well).
    for (const role of ['peer', 'transit']) {
      await l.ip(role, 'addr', 'add', `${PEER.host4}/32`, 'dev', 'lo');
      await l.ip(role, 'addr', 'add', `${PEER.host6}/128`, 'dev', 'lo');
    }
    await l.ip('int', 'addr', 'add', `${INTERNAL.host4}/32`, 'dev', 'lo');
    await l.ip('int', 'addr', 'add', `${INTERNAL.host6}/128`, 'dev', 'lo');
    await l.ip('transit', 'addr', 'add', `${TRANSIT.host4}/32`, 'dev', 'lo');
    await l.ip('transit', 'addr', 'add', `${TRANSIT.host6}/128`, 'dev', 'lo');
    const auxHosts = [AUX.mp, AUX.rsMismatch, AUX.rsMissing, AUX.rsGood, AUX.feeder];
    await l.link({
      a: 'edge',
      ifA: AUX.edgeIf,
      addrA: [`${AUX.edge}/${AUX.len}`, `${AUX.edge6}/64`],
      b: 'aux',
      ifB: 'a0',
      addrB: auxHosts.flatMap((a) => [`${a}/${AUX.len}`, `${auxV6(a)}/64`]),
    });
  }

  async #phase(name: string, f: () => Promise<unknown>): Promise<void> {
    const t0 = Date.now();
    await f();
    this.timing[name] = Date.now() - t0;
  }

  async #start(): Promise<void> {
    // GoBGP is passive (it waits out a connect-retry of at least 5 s when it connects itself):
    // it runs before gredged, which connects to it at once.
    const b = this.bird;
    await this.#phase('bgp daemons', () =>
      Promise.all(
        [b.peer, b.mp, b.rsMismatch, b.rsMissing, b.rsGood]
          .map((x) => x.start())
          .concat([this.transit.start(), this.int.start()]),
      ),
    );
    await this.#phase('edge gredged', () => this.edge.start());
    this.feeder = new Feeder(this.lab, 'aux', {
      local: AUX.feeder,
      remote: AUX.edge,
      as: AS.feeder,
      routerId: AUX.feeder,
      path: [AS.feeder, AS.feederUp],
      nextHop4: AUX.feeder,
      nextHop6: auxV6(AUX.feeder),
      holdTime: 30,
    });
    await this.#phase('cpe gredged', () =>
      Promise.all([this.cpe['cust-r'].start(), this.cpe['cust-n'].start()]),
    );
    await this.#phase('cpe bird', () => Promise.all([b['cust-r'].start(), b['cust-n'].start()]));
    await this.#phase('gobgp routes', async () => {
      await this.transit.add({ prefix: TRANSIT.prefix4, nextHop: TRANSIT.addr });
      await this.transit.add({ prefix: TRANSIT.prefix6, nextHop: TRANSIT.addr6 });
      await this.int.add({ prefix: INTERNAL.own4, nextHop: INTERNAL.addr });
      await this.int.add({ prefix: INTERNAL.own6, nextHop: INTERNAL.addr6 });
    });
    await this.#phase('sessions', () => this.waitUp(UP_NEIGHBORS, 30_000));
  }

  /** Waits until gredged logs every one of `names` Established; throws naming the others. */
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

  /** Ping from `role` with source `src`; received / transmitted and the text. */
  async ping(
    role: string,
    src: string,
    dst: string,
    count = 3,
  ): Promise<{ tx: number; rx: number; out: string }> {
    const r = await this.lab.exec(
      role,
      ['ping', '-n', '-c', String(count), '-i', '0.2', '-W', '1', '-w', String(count + 3), '-I', src, dst],
      { allowFail: true, timeoutMs: (count + 8) * 1000 },
    );
    const m = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(r.stdout);
    return { tx: m ? Number(m[1]) : 0, rx: m ? Number(m[2]) : 0, out: r.stdout + r.stderr };
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

  /** What a customer's BIRD learned from the edge. */
  custRoutes(c: Customer): Promise<Route[]> {
    return this.bird[c.name].routes('edge');
  }

  async destroy(): Promise<void> {
    await this.lab.destroy();
  }
}

export { until } from '../../../src/lab/sh.js';

export const has = (rs: Route[], prefix: string) => rs.some((r) => r.prefix === prefix);
