/**
 * The RIB as the Receiving Speaker of RFC 4724 §4.2, on hand-driven timers: a session lost
 * without a NOTIFICATION keeps the neighbor's routes as stale (still best paths, still exported,
 * counted and shown); the restart timer, the F bits of the new OPEN, re-announcements, the
 * End-of-RIB of each family and the stale timer decide what goes and when; consecutive restarts
 * delete what was still stale; nothing of this applies without graceful restart negotiated or
 * after a NOTIFICATION.
 */
import t from 'tap';
import type { Family, GracefulRestartCapability } from '../../src/bgp/wire/types.js';
import type { ChangedPrefixes } from '../../src/rib/rib.js';
import { announce, neighbor, withdraw } from '../rib/helpers.js';
import { attrs46, grCap, grInfo, grNeighbor, grWorld } from './helpers.js';

const V4 = ['192.0.2.0/24', '198.51.100.0/24'];
const V6 = ['2001:db8:1::/48', '2001:db8:2::/48'];

function world(staleTime = 360) {
  const w = grWorld();
  const n = grNeighbor('a', 65001, '127.0.0.2', staleTime);
  const ch = w.h.add(n);
  w.up(ch, grInfo(n, 2, grCap()));
  ch.updates([announce(attrs46([65001]), V4, V6)]);
  const nbr = () => w.rib.stats().neighbors.find((x) => x.name === 'a')!;
  const stale = (f: Family) => nbr().prefixesStale![f];
  const has = (p: string) => w.rib.explain(p)?.candidates.some((c) => c.neighbor === 'a') ?? false;
  return { ...w, n, ch, nbr, stale, has };
}

/** Every change handed to a FIB-like subscriber. */
function changes(w: ReturnType<typeof world>): ChangedPrefixes[] {
  const seen: ChangedPrefixes[] = [];
  w.rib.onPrefixChange((c) => seen.push({ v4: [...c.v4], v6: [...c.v6] }));
  return seen;
}

t.test('a lost connection keeps the routes as stale: best paths, exported, counted, shown', async (t) => {
  const w = world();
  await w.h.settle();
  t.same([...w.obs.routes.keys()].sort(), [...V4, ...V6].sort(), 'the observer has them all');
  const seen = changes(w);
  w.ch.down('connection closed', { graceful: true });
  await w.h.settle();
  const ex = w.rib.explain(V4[0]!)!;
  t.equal(ex.best, 'a', 'still the best path (RFC 4724 §4.2: no difference in forwarding)');
  t.equal(ex.candidates[0]!.stale, true, 'explain says stale');
  t.same(
    [...w.rib.routes('ipv4-unicast')].map((r) => [r.prefix, r.stale]),
    V4.map((p) => [p, true]),
    'show routes says stale',
  );
  t.same(w.nbr().prefixesStale, { 'ipv4-unicast': 2, 'ipv6-unicast': 2 }, 'counted per family');
  t.same(w.rib.stats().stale, { 'ipv4-unicast': 2, 'ipv6-unicast': 2 }, 'and in the RIB stats');
  t.same(w.nbr().prefixesIn, { 'ipv4-unicast': 2, 'ipv6-unicast': 2 }, 'still in the Adj-RIB-In');
  const gr = w.nbr().gracefulRestart!;
  t.equal(gr.state, 'restarting');
  t.same(gr.families, ['ipv4-unicast', 'ipv6-unicast']);
  t.equal(gr.until, w.timers.now() + 120_000, 'until its advertised restart time');
  t.same(seen, [], 'no best path changed: the FIB is not touched');
  t.equal(w.obs.routes.size, 4, 'nothing withdrawn from the other neighbors');
});

t.test('a NOTIFICATION, or no graceful restart negotiated, withdraws at once', async (t) => {
  for (const [name, how] of [
    ['a NOTIFICATION (not graceful)', 'notification'],
    ['the neighbor sent no capability', 'no-cap'],
    ['not configured on our side', 'not-ours'],
    ['a restart time of 0', 'zero'],
  ] as const) {
    const w = grWorld();
    const n =
      how === 'not-ours' ? neighbor('a', 'transit', 65001, '127.0.0.2') : grNeighbor('a', 65001, '127.0.0.2');
    const ch = w.h.add(n);
    const cap = how === 'no-cap' ? undefined : grCap(how === 'zero' ? { restartTime: 0 } : {});
    w.up(ch, grInfo(n, 2, cap));
    ch.updates([announce(attrs46([65001]), V4, V6)]);
    ch.down(how === 'notification' ? 'received NOTIFICATION: Cease' : 'connection closed', {
      graceful: how !== 'notification',
    });
    await w.h.settle();
    t.equal(w.rib.explain(V4[0]!), undefined, `${name}: withdrawn`);
    t.equal(
      w.rib.stats().neighbors.find((x) => x.name === 'a')!.gracefulRestart,
      null,
      `${name}: no restart`,
    );
    t.equal(w.obs.routes.size, 0, `${name}: withdrawn from the others`);
  }
});

t.test('only the families of the capability are kept', async (t) => {
  const w = grWorld();
  const n = grNeighbor('a', 65001, '127.0.0.2');
  const ch = w.h.add(n);
  w.up(ch, grInfo(n, 2, grCap({ families: ['ipv4-unicast'] })));
  ch.updates([announce(attrs46([65001]), V4, V6)]);
  ch.down('connection closed', { graceful: true });
  t.ok(w.rib.explain(V4[0]!), 'IPv4 kept');
  t.equal(w.rib.explain(V6[0]!), undefined, 'IPv6 withdrawn: not in the capability');
});

t.test('the restart timer: not back within the restart time, everything goes', async (t) => {
  const w = world();
  w.ch.down('connection closed', { graceful: true });
  w.timers.advance(119_999);
  t.ok(w.has(V4[0]!), 'kept until the last millisecond');
  w.timers.advance(1);
  await w.h.settle();
  t.notOk(w.has(V4[0]!) || w.has(V6[0]!), 'withdrawn when the restart time ran out');
  t.same(w.rib.stats().stale, { 'ipv4-unicast': 0, 'ipv6-unicast': 0 });
  t.equal(w.nbr().gracefulRestart, null);
  t.equal(w.obs.routes.size, 0, 'and from the other neighbors');
  t.equal(w.timers.armed, 0, 'no timer left');
});

t.test('back with the F bits: announced again is fresh, the rest goes at each End-of-RIB', async (t) => {
  const w = world();
  w.ch.down('connection closed', { graceful: true });
  w.timers.advance(30_000);
  w.up(w.ch, grInfo(w.n, 2, grCap()));
  t.equal(w.nbr().gracefulRestart!.state, 'refreshing', 'back: waiting for End-of-RIB');
  t.equal(w.nbr().gracefulRestart!.until, w.timers.now() + 360_000, 'at most stale-time');
  t.same(w.nbr().prefixesStale, { 'ipv4-unicast': 2, 'ipv6-unicast': 2 }, 'nothing refreshed yet');
  w.ch.updates([announce(attrs46([65001, 64500]), [V4[0]!], [V6[0]!])]);
  t.same(w.nbr().prefixesStale, { 'ipv4-unicast': 1, 'ipv6-unicast': 1 }, 'the re-announced ones are fresh');
  t.same(w.rib.explain(V4[0]!)!.candidates[0]!.attrs.asPath, [{ type: 2, asns: [65001, 64500] }], 'replaced');
  t.equal(w.rib.explain(V4[0]!)!.candidates[0]!.stale, false);
  t.equal(w.rib.explain(V4[1]!)!.candidates[0]!.stale, true);
  w.ch.updates([{ withdrawn4: [], nlri4: [], withdrawn6: [], nlri6: [], endOfRib: 'ipv4-unicast' }]);
  await w.h.settle();
  t.notOk(w.has(V4[1]!), 'IPv4 End-of-RIB: the IPv4 route not announced again is gone');
  t.ok(w.has(V4[0]!), 'the refreshed one stays');
  t.ok(w.has(V6[1]!), 'IPv6 waits for its own End-of-RIB');
  t.same(w.nbr().gracefulRestart!.families, ['ipv6-unicast']);
  w.ch.updates([{ withdrawn4: [], nlri4: [], withdrawn6: [], nlri6: [], endOfRib: 'ipv6-unicast' }]);
  await w.h.settle();
  t.notOk(w.has(V6[1]!), 'IPv6 End-of-RIB: gone too');
  t.equal(w.nbr().gracefulRestart, null, 'the restart is over');
  t.same(w.rib.stats().stale, { 'ipv4-unicast': 0, 'ipv6-unicast': 0 });
  t.same([...w.obs.routes.keys()].sort(), [V4[0]!, V6[0]!].sort(), 'the others got exactly the difference');
  t.equal(w.timers.armed, 0, 'no timer left');
});

t.test('back without what keeps a family: its stale routes go at once', async (t) => {
  const cases: Array<[string, GracefulRestartCapability | undefined, Family[] | undefined, Family[]]> = [
    ['the F bit clear for IPv6', grCap({ forwarding: ['ipv4-unicast'] }), undefined, ['ipv6-unicast']],
    ['IPv6 missing from the capability', grCap({ families: ['ipv4-unicast'] }), undefined, ['ipv6-unicast']],
    ['IPv6 not negotiated', grCap(), ['ipv4-unicast'], ['ipv6-unicast']],
    ['no capability at all', undefined, undefined, ['ipv4-unicast', 'ipv6-unicast']],
  ];
  for (const [name, cap, families, gone] of cases) {
    const w = world();
    w.ch.down('connection closed', { graceful: true });
    w.up(w.ch, grInfo(w.n, 2, cap, families));
    await w.h.settle();
    t.equal(w.has(V6[0]!), !gone.includes('ipv6-unicast'), `${name}: IPv6`);
    t.equal(w.has(V4[0]!), !gone.includes('ipv4-unicast'), `${name}: IPv4`);
    const gr = w.nbr().gracefulRestart;
    t.same(
      gr?.families ?? [],
      gone.includes('ipv4-unicast') ? [] : ['ipv4-unicast'],
      `${name}: still waiting`,
    );
  }
});

t.test('the stale timer: no End-of-RIB within stale-time, the routes not refreshed go', async (t) => {
  const w = world(30);
  w.ch.down('connection closed', { graceful: true });
  w.up(w.ch, grInfo(w.n, 2, grCap()));
  w.ch.updates([announce(attrs46([65001]), [V4[0]!])]);
  w.timers.advance(29_999);
  t.ok(w.has(V4[1]!), 'kept while the stale timer runs');
  w.timers.advance(1);
  await w.h.settle();
  t.notOk(w.has(V4[1]!) || w.has(V6[0]!) || w.has(V6[1]!), 'the stale ones went');
  t.ok(w.has(V4[0]!), 'the refreshed one stays');
  t.equal(w.nbr().gracefulRestart, null);
});

t.test('consecutive restarts: what was still stale from the last one is deleted', async (t) => {
  const w = world();
  w.ch.down('connection closed', { graceful: true });
  w.up(w.ch, grInfo(w.n, 2, grCap()));
  w.ch.updates([announce(attrs46([65001]), [V4[0]!], [V6[0]!])]);
  // Lost again before its End-of-RIB (RFC 4724 §4.2).
  w.ch.down('connection closed', { graceful: true });
  await w.h.settle();
  t.notOk(w.has(V4[1]!) || w.has(V6[1]!), 'the routes still stale are deleted');
  t.ok(w.has(V4[0]!) && w.has(V6[0]!), 'the refreshed ones are kept');
  t.same(w.nbr().prefixesStale, { 'ipv4-unicast': 1, 'ipv6-unicast': 1 }, 'and stale now');
  t.equal(w.nbr().gracefulRestart!.state, 'restarting', 'the restart timer runs again');
});

t.test('a stale route withdrawn; the neighbor removed while restarting', async (t) => {
  const w = world();
  w.ch.down('connection closed', { graceful: true });
  w.up(w.ch, grInfo(w.n, 2, grCap()));
  w.ch.updates([withdraw([V4[1]!])]);
  t.notOk(w.has(V4[1]!), 'a stale route can be withdrawn');
  t.equal(w.nbr().prefixesStale!['ipv4-unicast'], 1, 'and is no longer counted');
  w.ch.down('connection closed', { graceful: true });
  w.rib.removeNeighbor('a');
  await w.h.settle();
  t.equal(w.rib.explain(V4[0]!), undefined, 'removed: its stale routes go');
  t.same(w.rib.stats().stale, { 'ipv4-unicast': 0, 'ipv6-unicast': 0 });
  t.equal(w.obs.routes.size, 0);
  t.equal(w.timers.armed, 0, 'no timer left');
});

t.test('a stale path competes as before and keeps winning on its merits', async (t) => {
  const w = world();
  const bCfg = grNeighbor('b', 65002, '127.0.0.3');
  const b = w.h.add(bCfg);
  w.up(b, grInfo(bCfg, 3, grCap()));
  b.updates([announce(attrs46([65002, 64500, 64501]), [V4[0]!])]);
  w.ch.down('connection closed', { graceful: true });
  t.equal(w.rib.explain(V4[0]!)!.best, 'a', 'the stale path with the shorter AS path stays best');
  w.timers.advance(120_000);
  t.equal(w.rib.explain(V4[0]!)!.best, 'b', 'the other takes over once it goes');
});

t.test('stopped by the operator while restarting: the stale routes go at once', async (t) => {
  const w = world();
  w.ch.down('connection closed', { graceful: true });
  t.ok(w.has(V4[0]!), 'kept');
  w.ch.flush?.('administrative shutdown');
  await w.h.settle();
  t.notOk(w.has(V4[0]!) || w.has(V6[0]!), 'withdrawn');
  t.equal(w.nbr().gracefulRestart, null);
  t.equal(w.timers.armed, 0, 'no timer left');
  t.equal(w.obs.routes.size, 0, 'and from the other neighbors');
});
