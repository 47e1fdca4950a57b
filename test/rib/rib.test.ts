// Adj-RIB-In / Loc-RIB behaviour: withdrawals, implicit withdraw, neighbor down, import checks,
// End-of-RIB noted, best-change batches, and interning refcounts back to zero.
import t from 'tap';
import type { BestChange } from '../../src/rib/rib.js';
import { announce, attrs, harness, LOCAL_AS, neighbor, sessionInfo, withdraw } from './helpers.js';

t.test('withdraw removes the route; the next best takes over', async (t) => {
  const h = harness();
  const a = h.up(neighbor('t1', 'transit', 65001, '127.0.0.2'), 1);
  const b = h.up(neighbor('t2', 'transit', 65002, '127.0.0.3'), 2);
  a.ch.updates([announce(attrs([65001]), ['192.0.2.0/24', '198.51.100.0/24'])]);
  b.ch.updates([announce(attrs([65002, 64500]), ['192.0.2.0/24'])]);
  t.equal(h.rib.explain('192.0.2.0/24')!.best, 't1');
  a.ch.updates([withdraw(['192.0.2.0/24'])]);
  t.equal(h.rib.explain('192.0.2.0/24')!.best, 't2');
  t.equal(h.rib.explain('192.0.2.0/24')!.candidates.length, 1);
  b.ch.updates([withdraw(['192.0.2.0/24', '203.0.113.0/24'])]);
  t.equal(h.rib.explain('192.0.2.0/24'), undefined);
  t.equal(h.rib.stats().locRib['ipv4-unicast'], 1);
});

t.test('re-announcement replaces the previous path of the same neighbor', async (t) => {
  const h = harness();
  const a = h.up(neighbor('t1', 'transit', 65001, '127.0.0.2'), 1);
  a.ch.updates([announce(attrs([65001, 64500, 64501]), ['192.0.2.0/24'])]);
  a.ch.updates([announce(attrs([65001], { med: 5 }), ['192.0.2.0/24'])]);
  const x = h.rib.explain('192.0.2.0/24')!;
  t.equal(x.candidates.length, 1);
  t.same(x.candidates[0]!.attrs.asPath, [{ type: 2, asns: [65001] }]);
  t.equal(x.candidates[0]!.attrs.med, 5);
  t.equal(h.rib.stats().attributeSets, 1, 'the replaced attribute set was freed');
});

t.test('IPv6 routes: announce, implicit withdraw, withdraw', async (t) => {
  const h = harness();
  const a = h.up(neighbor('t1', 'transit', 65001, '127.0.0.2'), 1);
  const nh6 = { global: new Uint8Array([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]) };
  a.ch.updates([announce(attrs([65001], { nextHop6: nh6 }), [], ['2001:db8:1::/48', '2001:db8:2::/48'])]);
  t.equal(h.rib.explain('2001:db8:1::/48')!.best, 't1');
  t.equal(h.rib.stats().locRib['ipv6-unicast'], 2);
  a.ch.updates([withdraw([], ['2001:db8:1::/48'])]);
  t.equal(h.rib.explain('2001:db8:1::/48'), undefined);
  t.same(
    [...h.rib.routes('ipv6-unicast')].map((r) => r.prefix),
    ['2001:db8:2::/48'],
  );
});

t.test('neighbor down withdraws its routes and the next best takes over', async (t) => {
  const h = harness();
  const a = h.up(neighbor('t1', 'transit', 65001, '127.0.0.2'), 1);
  const b = h.up(neighbor('t2', 'transit', 65002, '127.0.0.3'), 2);
  const batches: BestChange[][] = [];
  h.rib.onBestChange((c) => batches.push(c));
  a.ch.updates([announce(attrs([65001]), ['192.0.2.0/24', '198.51.100.0/24'])]);
  b.ch.updates([announce(attrs([65002, 64500]), ['192.0.2.0/24'])]);
  await h.settle();
  t.equal(batches.length, 1, 'one batch for one flush');
  t.equal(batches[0]!.length, 2);
  a.ch.down('hold timer expired');
  t.equal(h.rib.explain('192.0.2.0/24')!.best, 't2');
  t.equal(h.rib.explain('198.51.100.0/24'), undefined);
  await h.settle();
  const last = batches.at(-1)!;
  const byPrefix = new Map(last.map((c) => [c.prefix, c]));
  t.equal(last.length, 2);
  const moved = [...byPrefix.values()].find((c) => c.full !== undefined)!;
  t.equal(moved.full!.neighbor, 't2');
  t.equal(moved.resale!.neighbor, 't2');
  t.ok(
    [...byPrefix.values()].some((c) => c.full === undefined && c.resale === undefined),
    'a deletion',
  );
  t.same(h.rib.stats().neighbors.find((n) => n.name === 't1')!.prefixesIn, {
    'ipv4-unicast': 0,
    'ipv6-unicast': 0,
  });
  // Updates after down are ignored, not applied.
  a.ch.updates([announce(attrs([65001]), ['203.0.113.0/24'])]);
  t.equal(h.rib.explain('203.0.113.0/24'), undefined);
});

t.test('removeNeighbor withdraws and makes the channel inert', async (t) => {
  const h = harness();
  const a = h.up(neighbor('t1', 'transit', 65001, '127.0.0.2'), 1);
  a.ch.updates([announce(attrs([65001]), ['192.0.2.0/24'])]);
  h.rib.removeNeighbor('t1');
  t.equal(h.rib.explain('192.0.2.0/24'), undefined);
  t.equal(h.rib.stats().neighbors.length, 0);
  a.ch.up(
    sessionInfo(neighbor('t1', 'transit', 65001, '127.0.0.2'), 1, '127.0.0.1', {
      families: ['ipv4-unicast'],
    }),
    { send: () => true, onDrain: () => {} },
  );
  a.ch.updates([announce(attrs([65001]), ['192.0.2.0/24'])]);
  t.equal(h.rib.explain('192.0.2.0/24'), undefined);
  h.add(neighbor('t1', 'transit', 65001, '127.0.0.2'));
  t.equal(h.rib.stats().neighbors.length, 1, 'the name can be reused');
});

t.test('import checks: AS_PATH loop and first AS refuse the route, and are counted', async (t) => {
  const h = harness();
  const a = h.up(neighbor('t1', 'transit', 65001, '127.0.0.2'), 1);
  const i = h.up(neighbor('i1', 'internal', LOCAL_AS, '127.0.0.4'), 4);
  a.ch.updates([announce(attrs([65001]), ['192.0.2.0/24'])]);
  a.ch.updates([announce(attrs([65001, LOCAL_AS, 64500]), ['192.0.2.0/24'])]);
  t.same(h.rib.explain('192.0.2.0/24')!.candidates, [], 'the looped re-announcement withdrew the old path');
  a.ch.updates([announce(attrs([64999, 64500]), ['198.51.100.0/24'])]);
  a.ch.updates([announce(attrs([]), ['198.51.100.0/24'])]);
  t.same(h.rib.explain('198.51.100.0/24')!.candidates, []);
  i.ch.updates([announce(attrs([]), ['203.0.113.0/24'])]);
  t.equal(h.rib.explain('203.0.113.0/24')!.best, 'i1', 'an empty AS_PATH is fine from iBGP');
  i.ch.updates([announce(attrs([65001, LOCAL_AS]), ['203.0.113.0/25'])]);
  const s = h.rib.stats().neighbors;
  t.equal(s.find((n) => n.name === 't1')!.refused['as-loop'], 1);
  t.equal(s.find((n) => n.name === 't1')!.refused['first-as'], 2);
  t.equal(s.find((n) => n.name === 'i1')!.refused['as-loop'], 1);
  t.same(
    h.rib.explain('198.51.100.0/24')!.refused.map((r) => [r.neighbor, r.reason]),
    [['t1', 'first-as']],
    'the refused route is visible, with its reason; the later one replaced the earlier',
  );
  // Live: t1's looped path, the empty path (t1's refused one and i1's accepted one are equal),
  // i1's looped path.
  t.equal(h.rib.stats().attributeSets, 3, 'accepted and refused sets are interned');
  a.ch.updates([withdraw(['198.51.100.0/24', '192.0.2.0/24'])]);
  i.ch.updates([withdraw(['203.0.113.0/25'])]);
  t.equal(h.rib.explain('198.51.100.0/24'), undefined, 'a withdrawal forgets a refused route');
  t.equal(h.rib.stats().attributeSets, 1, 'and releases its attributes');
});

t.test('End-of-RIB received is noted per family', async (t) => {
  const h = harness();
  const a = h.up(neighbor('t1', 'transit', 65001, '127.0.0.2'), 1);
  a.ch.updates([{ withdrawn4: [], nlri4: [], withdrawn6: [], nlri6: [], endOfRib: 'ipv6-unicast' }]);
  t.same(h.rib.stats().neighbors[0]!.eorReceived, ['ipv6-unicast']);
});

t.test('interning refcounts return to zero when everything is withdrawn', async (t) => {
  const h = harness();
  const a = h.up(neighbor('t1', 'transit', 65001, '127.0.0.2'), 1);
  const b = h.up(neighbor('t2', 'transit', 65002, '127.0.0.3'), 2);
  const c = h.up(neighbor('c1', 'customer', 65010, '127.0.0.5'), 5);
  const pfx = Array.from({ length: 300 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
  for (let i = 0; i < pfx.length; i += 10) {
    a.ch.updates([announce(attrs([65001, 64500 + (i % 7)]), pfx.slice(i, i + 10))]);
    b.ch.updates([announce(attrs([65002, 64500 + (i % 5)], { med: i }), pfx.slice(i, i + 10))]);
  }
  await h.settle();
  t.equal(c.sink.routes.size, 300);
  t.ok(h.rib.stats().attributeSets > 10);
  a.ch.down('gone');
  b.ch.updates([withdraw(pfx)]);
  await h.settle();
  t.equal(c.sink.routes.size, 0, 'the customer got every withdrawal');
  t.equal(h.rib.stats().attributeSets, 0);
  t.equal(
    h.rib.attrs.refs.reduce((s, x) => s + x, 0),
    0,
  );
  t.equal(h.rib.t4.index.size, 0, 'every prefix entry was freed');
  t.equal(h.rib.t4.paths, 0);
});

t.test('a late subscriber gets a snapshot of every best path, in batches, then changes', async (t) => {
  const h = harness();
  const tr = h.up(neighbor('t1', 'transit', 65001, '127.0.0.2'), 1);
  const nr = h.up(neighbor('nr', 'peer', 65002, '127.0.0.3', { noResale: true }), 2);
  const v4 = Array.from({ length: 20_000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
  for (let i = 0; i < v4.length; i += 500) tr.ch.updates([announce(attrs([65001]), v4.slice(i, i + 500))]);
  tr.ch.updates([announce(attrs([65001]), [], ['2001:db8:1::/48', '2001:db8:2::/48'])]);
  nr.ch.updates([announce(attrs([65002]), ['198.51.100.0/24'], ['2001:db8:3::/48'])]);
  await h.settle();
  const batches: BestChange[][] = [];
  h.rib.onBestChange((b) => batches.push(b), { snapshot: true });
  await h.settle();
  const seen = new Map<string | number, BestChange>();
  for (const b of batches) for (const c of b) seen.set(c.prefix, c);
  t.ok(batches.length >= 3, `handed over in ${batches.length} batches, not one`);
  t.ok(Math.max(...batches.map((b) => b.length)) <= 8192, 'none larger than a fan-out step');
  t.equal(seen.size, 20_004, 'every prefix with a best path, once or more');
  const v6 = [...seen.values()].filter((c) => c.family === 'ipv6-unicast');
  t.equal(v6.length, 3);
  const onlyFull = [...seen.values()].filter((c) => c.full !== undefined && c.resale === undefined);
  t.equal(onlyFull.length, 2, 'the no-resale peer’s routes are in full only');
  t.ok(onlyFull.every((c) => c.full!.neighbor === 'nr'));

  batches.length = 0;
  tr.ch.updates([withdraw(['10.0.0.0/24'])]);
  await h.settle();
  t.equal(batches.length, 1, 'then changes, one batch per flush');
  t.equal(batches[0]!.length, 1);
  t.equal(batches[0]![0]!.full, undefined);
});
