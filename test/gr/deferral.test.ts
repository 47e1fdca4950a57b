/**
 * The RIB as the Restarting Speaker of RFC 4724 §4.1, on hand-driven timers: after beginRestart
 * best paths are selected as routes arrive but nothing is exported (no UPDATE, no End-of-RIB)
 * until every neighbor with graceful restart has sent End-of-RIB for each of its families; a
 * neighbor without the capability or with the Restart State bit is not waited for; the
 * selection-deferral timer bounds the wait; then every Established neighbor gets its initial
 * export and End-of-RIB, and the restart-complete callbacks run once.
 */
import t from 'tap';
import type { Family, UpdateMessage } from '../../src/bgp/wire/types.js';
import { announce, neighbor, turns } from '../rib/helpers.js';
import { attrs46, grCap, grInfo, grNeighbor, grWorld } from './helpers.js';

const eor = (f: Family): UpdateMessage => ({
  withdrawn4: [],
  nlri4: [],
  withdrawn6: [],
  nlri6: [],
  endOfRib: f,
});

function world() {
  const w = grWorld();
  const cfgA = grNeighbor('a', 65001, '127.0.0.2');
  const cfgB = grNeighbor('b', 65002, '127.0.0.3');
  const cfgC = neighbor('c', 'transit', 65003, '127.0.0.4');
  const a = w.h.add(cfgA);
  const b = w.h.add(cfgB);
  const c = w.h.add(cfgC);
  let completed = 0;
  w.rib.onRestartComplete(() => completed++);
  return { ...w, cfgA, cfgB, cfgC, a, b, c, completed: () => completed };
}

t.test('nothing is exported until every graceful-restart neighbor sent End-of-RIB', async (t) => {
  const w = world();
  // The observer came up before: its initial export is deferred too.
  w.rib.beginRestart({ deferralMs: 240_000 });
  t.ok(w.rib.restarting, 'restarting');
  const sa = w.up(w.a, grInfo(w.cfgA, 2, grCap()));
  const sb = w.up(w.b, grInfo(w.cfgB, 3, grCap()));
  const sc = w.up(w.c, grInfo(w.cfgC, 4, undefined));
  w.a.updates([announce(attrs46([65001]), ['192.0.2.0/24'], ['2001:db8:1::/48'])]);
  w.b.updates([announce(attrs46([65002]), ['198.51.100.0/24'])]);
  w.c.updates([announce(attrs46([65003]), ['203.0.113.0/24'])]);
  await w.h.settle();
  t.equal(w.rib.explain('192.0.2.0/24')!.best, 'a', 'best paths are selected meanwhile');
  for (const [who, s] of [
    ['a', sa],
    ['b', sb],
    ['c', sc],
  ] as const)
    t.equal(s.messages.length, 0, `${who} was sent nothing (not even End-of-RIB)`);
  t.same(w.rib.stats().restart?.waitingFor, ['a', 'b'], 'waiting for a and b (c has no graceful restart)');
  w.a.updates([eor('ipv4-unicast'), eor('ipv6-unicast')]);
  t.same(w.rib.stats().restart?.waitingFor, ['b']);
  w.b.updates([eor('ipv4-unicast')]);
  t.ok(w.rib.restarting, 'b still owes its IPv6 End-of-RIB');
  await w.h.settle();
  t.equal(sc.messages.length, 0, 'still nothing exported');
  w.b.updates([eor('ipv6-unicast')]);
  t.notOk(w.rib.restarting, 'done');
  t.equal(w.completed(), 1, 'the restart-complete callback ran');
  t.equal(w.rib.stats().restart, null);
  await w.h.settle();
  t.same(
    [...w.obs.routes.keys()].sort(),
    ['192.0.2.0/24', '198.51.100.0/24', '2001:db8:1::/48', '203.0.113.0/24'],
    'then the customer gets it all',
  );
  t.same(w.obs.eor.sort(), ['ipv4-unicast', 'ipv6-unicast'], 'with End-of-RIB once per family');
  for (const [who, s] of [
    ['a', sa],
    ['b', sb],
    ['c', sc],
  ] as const)
    t.same(
      s.eor.sort(),
      ['ipv4-unicast', 'ipv6-unicast'],
      `${who} gets its End-of-RIB (no transit route for it)`,
    );
  w.a.updates([announce(attrs46([65001]), ['192.0.2.128/25'])]);
  await w.h.settle();
  t.ok(w.obs.routes.has('192.0.2.128/25'), 'from here on, changes go out as usual');
  t.equal(w.completed(), 1, 'once');
});

t.test('a neighbor with the Restart State bit, or that never comes back, is not waited for', async (t) => {
  const w = world();
  w.rib.beginRestart({ deferralMs: 240_000 });
  w.up(w.a, grInfo(w.cfgA, 2, grCap({ restarting: true })));
  t.same(w.rib.stats().restart?.waitingFor, ['b'], 'a restarts too: it waits for us, not we for it');
  w.timers.advance(239_999);
  t.ok(w.rib.restarting, 'b never comes: waiting until the selection deferral timer');
  w.timers.advance(1);
  t.notOk(w.rib.restarting, 'the timer ends it');
  t.equal(w.completed(), 1);
  await w.h.settle();
  t.same(w.obs.eor.sort(), ['ipv4-unicast', 'ipv6-unicast'], 'the export goes out');
});

t.test('no graceful-restart neighbor: done at once', async (t) => {
  const w = grWorld();
  let done = 0;
  w.rib.onRestartComplete(() => done++);
  w.rib.beginRestart({ deferralMs: 240_000 });
  await turns(2);
  t.notOk(w.rib.restarting);
  t.equal(done, 1);
  t.equal(w.timers.armed, 0, 'no timer left');
});

t.test('route refresh and reloads during the deferral do not export early', async (t) => {
  const w = world();
  await w.h.settle(); // the observer's own initial End-of-RIB, from before the restart
  w.rib.beginRestart({ deferralMs: 240_000 });
  const sc = w.up(w.c, grInfo(w.cfgC, 4, undefined));
  w.up(w.a, grInfo(w.cfgA, 2, grCap()));
  w.a.updates([announce(attrs46([65001]), ['192.0.2.0/24'])]);
  w.c.routeRefresh('ipv4-unicast');
  w.rib.reconfigure({ global: { ownPrefixes: [], bogons: [] } });
  const before = w.obs.messages.length;
  await w.h.settle();
  t.equal(sc.messages.length, 0, 'nothing sent');
  t.equal(w.obs.messages.length, before, 'nothing sent to the customer either');
  w.rib.removeNeighbor('b');
  w.a.updates([eor('ipv4-unicast'), eor('ipv6-unicast')]);
  t.notOk(w.rib.restarting, 'b left the config: not waited for');
  await w.h.settle();
  t.ok(w.obs.routes.has('192.0.2.0/24'), 'then the export goes out');
});
