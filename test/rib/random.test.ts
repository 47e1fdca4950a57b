// Seeded random announce/withdraw/down/up sequences over several neighbors, with random
// back-pressure on the customers' sinks. After every step the Loc-RIB (both tables) must equal
// a brute-force reference decision process; at the end every customer must hold exactly what
// the reference export says. Re-run a failure with RIB_SEED=<seed>.
import t from 'tap';
import type { PathAttributes } from '../../src/bgp/wire/index.js';
import type { NeighborConfig } from '../../src/config/types.js';
import { communitiesAllow, type ExportSource, exportTable, mayExport } from '../../src/policy/export.js';
import type { PeerChannel } from '../../src/rib/channel.js';
import {
  announce,
  attrs,
  DecodingSink,
  harness,
  LOCAL_AS,
  neighbor,
  sessionInfo,
  withdraw,
} from './helpers.js';

const seed = Number(process.env.RIB_SEED ?? Math.floor(Math.random() * 2 ** 31));
t.comment(`seed ${seed} (RIB_SEED=${seed} to replay)`);

let s = seed >>> 0 || 1;
function rnd(n: number): number {
  s ^= s << 13;
  s ^= s >>> 17;
  s ^= s << 5;
  return (s >>> 0) % n;
}

interface Ref {
  cfg: NeighborConfig;
  routerId: number;
  up: boolean;
  ch: PeerChannel;
  sink: DecodingSink | undefined;
  adjIn: Map<string, PathAttributes>;
}

const NEIGHBORS: [NeighborConfig, number][] = [
  [neighbor('ta', 'transit', 65001, '127.0.0.2'), 7],
  [neighbor('tb', 'transit', 65001, '127.0.0.3'), 7],
  [neighbor('pr', 'peer', 65020, '127.0.0.4', { noResale: true }), 3],
  [neighbor('pe', 'peer', 65021, '127.0.0.5'), 9],
  [neighbor('ia', 'internal', LOCAL_AS, '127.0.0.6'), 2],
  [neighbor('ib', 'internal', LOCAL_AS, '127.0.0.7'), 2],
  [neighbor('cr', 'customer', 65030, '127.0.0.8'), 1],
  [neighbor('cn', 'customer', 65031, '127.0.0.9', { resale: false }), 5],
];
const PREFIXES = Array.from({ length: 40 }, (_, i) => `10.${i >> 3}.${(i & 7) * 16}.0/20`);

/** The class the RIB tags a route with (internal routes here carry no tag: the provider's own). */
function sourceOf(c: NeighborConfig): ExportSource {
  const cls = { customer: 1, peer: c.noResale ? 3 : 2, transit: 4, internal: 0 }[
    c.role
  ] as ExportSource['cls'];
  return { cls, viaIbgp: c.role === 'internal' };
}

function lp(r: Ref, a: PathAttributes): number {
  return r.cfg.role === 'internal' ? (a.localPref ?? 100) : 100;
}
function pathLen(a: PathAttributes): number {
  return a.asPath.reduce((n, seg) => n + (seg.type === 2 ? seg.asns.length : seg.type === 1 ? 1 : 0), 0);
}
function firstAs(a: PathAttributes): number {
  return a.asPath[0]?.type === 2 ? a.asPath[0].asns[0]! : 0;
}
function addrNum(r: Ref): number {
  return Number(r.cfg.address.split('.')[3]);
}

/** RFC 4271 §9.1.2.2 written plainly over (neighbor, attributes) pairs. */
function refBest(cands: [Ref, PathAttributes][]): string | undefined {
  if (cands.length === 0) return undefined;
  const keepMin = (xs: [Ref, PathAttributes][], f: (x: [Ref, PathAttributes]) => number) => {
    const m = Math.min(...xs.map(f));
    return xs.filter((x) => f(x) === m);
  };
  let c = keepMin(cands, ([r, a]) => -lp(r, a));
  c = keepMin(c, ([, a]) => pathLen(a));
  c = keepMin(c, ([, a]) => a.origin);
  c = c.filter(([, a]) => !c.some(([, b]) => firstAs(b) === firstAs(a) && (b.med ?? 0) < (a.med ?? 0)));
  c = keepMin(c, ([r]) => (r.cfg.role === 'internal' ? 1 : 0));
  c = keepMin(c, ([r]) => r.routerId);
  c = keepMin(c, ([r]) => addrNum(r));
  return c[0]![0].cfg.name;
}

t.test(`random sequences against a reference (seed ${seed})`, async (t) => {
  const h = harness();
  const refs: Ref[] = NEIGHBORS.map(([cfg, routerId]) => ({
    cfg,
    routerId,
    up: false,
    ch: h.add(cfg),
    sink: undefined,
    adjIn: new Map(),
  }));
  const bringUp = (r: Ref) => {
    r.up = true;
    r.sink = new DecodingSink({ ebgp: r.cfg.role !== 'internal', localAs: r.cfg.remoteAs, peerAs: LOCAL_AS });
    if (rnd(3) === 0) r.sink.budget = 1 + rnd(3);
    r.ch.up(sessionInfo(r.cfg, r.routerId), r.sink);
  };
  refs.forEach(bringUp);
  const check = (step: number): boolean => {
    for (const p of PREFIXES) {
      const cands = refs
        .filter((r) => r.up && r.adjIn.has(p))
        .map((r) => [r, r.adjIn.get(p)!] as [Ref, PathAttributes]);
      const full = refBest(cands);
      const resale = refBest(cands.filter(([r]) => !r.cfg.noResale));
      const x = h.rib.explain(p);
      if (x?.best !== full || x?.resaleBest !== resale) {
        t.fail(`step ${step} ${p}: rib ${x?.best}/${x?.resaleBest}, reference ${full}/${resale}`);
        return false;
      }
    }
    return true;
  };
  let ok = true;
  for (let step = 0; step < 1500 && ok; step++) {
    const r = refs[rnd(refs.length)]!;
    const op = rnd(20);
    if (op === 0) {
      if (r.up) {
        r.up = false;
        r.adjIn.clear();
        r.ch.down('random');
      } else bringUp(r);
    } else if (!r.up) {
      continue;
    } else if (op < 6) {
      const ps = Array.from({ length: 1 + rnd(4) }, () => PREFIXES[rnd(PREFIXES.length)]!);
      r.ch.updates([withdraw(ps)]);
      for (const p of ps) r.adjIn.delete(p);
    } else {
      const ebgp = r.cfg.role !== 'internal';
      const path = ebgp ? [r.cfg.remoteAs] : [];
      for (let i = rnd(3); i > 0; i--) path.push(64500 + rnd(3));
      if (!ebgp && rnd(2) === 0) path.unshift(65001);
      const extra: Partial<PathAttributes> = { origin: rnd(3) };
      if (rnd(2) === 0) extra.med = rnd(3);
      if (!ebgp || rnd(4) === 0) extra.localPref = 90 + 10 * rnd(3);
      if (rnd(10) === 0) extra.communities = [0xffffff01];
      const a = attrs(path, extra);
      const ps = Array.from({ length: 1 + rnd(5) }, () => PREFIXES[rnd(PREFIXES.length)]!);
      r.ch.updates([announce(a, ps)]);
      for (const p of ps) r.adjIn.set(p, a);
    }
    ok = check(step);
    if (rnd(10) === 0) {
      for (const x of refs) if (x.up && x.sink!.waitingForDrain && rnd(2) === 0) x.sink!.release(1 + rnd(3));
      await new Promise((res) => setImmediate(res));
    }
  }
  t.ok(ok, 'Loc-RIB matched the reference at every step');
  for (const x of refs) if (x.up) x.sink!.release();
  await h.settle();
  // What each up neighbor must hold: its table's best, when exportable to it.
  for (const to of refs.filter((x) => x.up)) {
    const want: string[] = [];
    for (const p of PREFIXES) {
      const cands = refs
        .filter((r) => r.up && r.adjIn.has(p) && (exportTable(to.cfg) === 'full' || !r.cfg.noResale))
        .map((r) => [r, r.adjIn.get(p)!] as [Ref, PathAttributes]);
      const best = refBest(cands);
      if (best === undefined || best === to.cfg.name) continue;
      const from = refs.find((r) => r.cfg.name === best)!;
      if (!mayExport(sourceOf(from.cfg), to.cfg)) continue;
      if (!communitiesAllow(from.adjIn.get(p)!.communities, to.cfg.role !== 'internal')) continue;
      want.push(p);
    }
    t.same([...to.sink!.routes.keys()].sort(), want.sort(), `${to.cfg.name} holds exactly its export`);
  }
});
