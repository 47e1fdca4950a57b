/**
 * The interop topology, one per test file, in its own namespace:
 *   BIRD 2 (192.0.2.2, AS 65010, customer) ─┐                ┌─ GoBGP (192.0.2.3, AS 65020, customer)
 *                                           ├─ gredged (192.0.2.1, AS 65000) ─┤
 *                                           └─ GoBGP iBGP (192.0.2.4, AS 65000, internal)
 * Customers' routes go to every neighbor, so each direction is exercised. The iBGP GoBGP is
 * where MED can be read after gredged (RFC 4271 §5.1.4 keeps MED from a third AS).
 * `mode` says who opens the TCP connections: gredged ('connect') or the peers ('listen').
 */
import type { Test as Tap } from 'tap';
import { mkdirSync, rmSync } from 'node:fs';
import { Bird } from './bird.js';
import { Gobgp } from './gobgp.js';
import { Gredged, tempDir } from './gredged.js';
import { Netns, v4, v6 } from './netns.js';
import { until } from './proc.js';
import { byPrefix, type Route, type RouteSpec } from './route.js';

export const AS = { gredged: 65000, bird: 65010, gobgp: 65020 };
export const G = 1;
export const B = 2;
export const GO = 3;
export const IB = 4;

export const BIRD_ROUTES: RouteSpec[] = [
  {
    prefix: '198.51.100.0/24',
    asPath: [65011],
    med: 42,
    communities: ['65010:7', '65010:8'],
    largeCommunities: ['65010:1:2'],
  },
  {
    prefix: '2001:db8:10::/48',
    asPath: [65012, 65013],
    med: 43,
    communities: ['65010:9'],
    largeCommunities: ['65010:3:4'],
  },
];
export const GOBGP_ROUTES: RouteSpec[] = [
  {
    prefix: '203.0.113.0/24',
    nextHop: v4(GO),
    asPath: [65021],
    med: 10,
    communities: ['65020:1'],
    largeCommunities: ['65020:1:2'],
  },
  {
    prefix: '2001:db8:20::/48',
    nextHop: v6(GO),
    asPath: [65022],
    med: 11,
    communities: ['65020:2'],
    largeCommunities: ['65020:3:4'],
  },
];

/** The bogon list of a lab: only the length limits, so documentation prefixes pass. */
export const LAB_BOGONS = ['0.0.0.0/0 ge 25', '::/0 ge 49'];

export interface TopoOptions {
  tag: string;
  mode: 'connect' | 'listen';
  holdTime: number;
}

export class Topo {
  readonly ns: Netns;
  readonly dir: string;
  readonly gredged: Gredged;
  readonly bird: Bird;
  readonly gobgp: Gobgp;
  readonly ibgp: Gobgp;

  private constructor(o: TopoOptions, ns: Netns, dir: string) {
    this.ns = ns;
    this.dir = dir;
    const peersConnect = o.mode === 'listen';
    const sub = (name: string) => {
      const d = `${dir}/${name}`;
      mkdirSync(d, { recursive: true });
      return d;
    };
    this.gredged = new Gredged({
      dir,
      netns: ns.name,
      routerId: v4(G),
      localAs: AS.gredged,
      listen: { address: v4(G), port: 179 },
      logLevel: 'debug',
      // The routes below live in the documentation ranges, bogons under the default list.
      bogons: LAB_BOGONS,
      neighbors: [
        {
          name: 'bird',
          address: v4(B),
          remoteAs: AS.bird,
          role: 'customer',
          prefixes: BIRD_ROUTES.map((r) => r.prefix),
        },
        {
          name: 'gobgp',
          address: v4(GO),
          remoteAs: AS.gobgp,
          role: 'customer',
          prefixes: GOBGP_ROUTES.map((r) => r.prefix),
        },
        { name: 'ibgp', address: v4(IB), remoteAs: AS.gredged, role: 'internal' },
      ].map((n) => ({
        ...n,
        role: n.role as 'customer' | 'internal',
        passive: peersConnect,
        holdTime: o.holdTime,
        localAddress: v4(G),
        nextHop6: v6(G),
      })),
    });
    this.bird = new Bird({
      dir: sub('bird'),
      netns: ns.name,
      routerId: v4(B),
      localAddress: v4(B),
      as: AS.bird,
      nextHop6: v6(B),
      peers: [
        { name: 'gredged', address: v4(G), as: AS.gredged, passive: !peersConnect, holdTime: o.holdTime },
      ],
      routes: BIRD_ROUTES,
    });
    const gob = (h: number, as: number, name: string) =>
      new Gobgp({
        dir: sub(name),
        netns: ns.name,
        routerId: v4(h),
        localAddress: v4(h),
        as,
        peers: [{ address: v4(G), as: AS.gredged, passive: !peersConnect, holdTime: o.holdTime }],
      });
    this.gobgp = gob(GO, AS.gobgp, 'gobgp');
    this.ibgp = gob(IB, AS.gredged, 'ibgp');
  }

  /** Starts everything, waits for the three sessions, and has GoBGP originate its routes. */
  static async create(t: Tap, o: TopoOptions): Promise<Topo> {
    const ns = Netns.create(o.tag, [G, B, GO, IB]);
    const topo = new Topo(o, ns, tempDir(`interop-${o.tag}`));
    t.teardown(async () => {
      if (!t.passing()) topo.dumpLogs(t);
      await Promise.all([topo.gredged, topo.bird, topo.gobgp, topo.ibgp].map((x) => x.daemon?.kill()));
      ns.destroy();
      rmSync(topo.dir, { recursive: true, force: true });
    });
    await topo.gredged.start();
    await Promise.all([topo.bird.start(), topo.gobgp.start(), topo.ibgp.start()]);
    await topo.established();
    for (const r of GOBGP_ROUTES) await topo.gobgp.addRoute(r);
    return topo;
  }

  async established(timeoutMs = 30_000): Promise<void> {
    await Promise.all([
      this.bird.waitEstablished('gredged', timeoutMs),
      this.gobgp.waitEstablished(v4(G), timeoutMs),
      this.ibgp.waitEstablished(v4(G), timeoutMs),
    ]);
  }

  /** Waits until `read()` holds exactly the prefixes `want` (empty: holds none of `gone`). */
  static async holding(what: string, read: () => Promise<Route[]>, want: string[], timeoutMs = 20_000) {
    return until(
      what,
      async () => {
        const m = byPrefix(await read());
        const keys = [...m.keys()].sort();
        return keys.join(' ') === [...want].sort().join(' ') ? m : undefined;
      },
      timeoutMs,
    );
  }

  /** What GoBGP (eBGP), BIRD and the iBGP GoBGP learned from gredged. */
  gobgpFromGredged = () => this.gobgp.routesFrom(v4(G));
  birdFromGredged = () => this.bird.routes('gredged');
  ibgpFromGredged = () => this.ibgp.routesFrom(v4(G));

  dumpLogs(t: Tap): void {
    for (const [name, d] of [
      ['gredged', this.gredged.daemon],
      ['bird', this.bird.daemon],
      ['gobgp', this.gobgp.daemon],
      ['ibgp', this.ibgp.daemon],
    ] as const) {
      t.comment(`--- ${name} output (tail) ---\n${(d?.output ?? '').slice(-4000)}`);
    }
  }
}
