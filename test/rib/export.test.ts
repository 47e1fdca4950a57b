// Adj-RIB-Out through the real codec: packed UPDATEs decode back to the routes, eBGP/iBGP
// transforms, the role matrix, well-known communities, no-resale per customer, back-pressure,
// End-of-RIB after the initial export, route refresh and coalescing.
import t from 'tap';
import { parseIpv4, parseIpv6 } from '../../src/bgp/wire/index.js';
import {
  announce,
  asPathOf,
  attrs,
  formatIpv4,
  formatIpv6,
  harness,
  LOCAL_AS,
  neighbor,
  turns,
  until,
  withdraw,
} from './helpers.js';

const NH = parseIpv4('192.0.2.1')!;

t.test('packed UPDATEs decode back to the same prefixes, grouped by attribute set', async (t) => {
  const h = harness();
  const feed = h.up(neighbor('t1', 'transit', 65001, '127.0.0.2'), 1);
  const cust = h.up(neighbor('c1', 'customer', 65010, '127.0.0.5'), 5);
  const all: string[] = [];
  for (let s = 0; s < 30; s++) {
    const pfx = Array.from({ length: 10 }, (_, i) => `10.${s}.${i}.0/24`);
    all.push(...pfx);
    feed.ch.updates([announce(attrs([65001, 64500 + s]), pfx)]);
  }
  await h.settle();
  t.same([...cust.sink.routes.keys()].sort(), all.sort());
  const updates = cust.sink.decoded.filter((u) => u.endOfRib === undefined);
  t.equal(updates.length, 30, 'one UPDATE per attribute set');
  t.same(cust.sink.eor, ['ipv4-unicast', 'ipv6-unicast']);
  t.ok(cust.sink.decoded.at(-1)!.endOfRib !== undefined);
});

t.test(
  'eBGP export: prepend, next-hop self, no LOCAL_PREF, no MED, transitive attributes kept',
  async (t) => {
    const h = harness();
    const feed = h.up(neighbor('i1', 'internal', LOCAL_AS, '127.0.0.2'), 1);
    const cust = h.up(neighbor('c1', 'customer', 65010, '127.0.0.5'), 5, { localAddress: '127.0.0.1' });
    const unknown = [{ flags: 0xe0, code: 99, value: new Uint8Array([1, 2, 3]) }];
    feed.ch.updates([
      announce(
        attrs([65001, 64500], {
          localPref: 300,
          med: 42,
          communities: [65001 * 65536 + 7],
          largeCommunities: [64500, 7, 8, LOCAL_AS, 1, 1],
          unknown,
        }),
        ['198.51.100.0/24'],
      ),
    ]);
    await h.settle();
    const a = cust.sink.routes.get('198.51.100.0/24')!;
    t.ok(a, 'exported');
    t.same(asPathOf(a), [LOCAL_AS, 65001, 64500]);
    t.equal(formatIpv4(a.nextHop!), '127.0.0.1');
    t.equal(a.localPref, undefined);
    t.equal(a.med, undefined);
    t.same(a.communities, [65001 * 65536 + 7]);
    t.same(a.largeCommunities, [64500, 7, 8], 'our source tag stays inside the AS');
    t.equal(a.otc, LOCAL_AS, 'OTC = our AS toward a customer (RFC 9234 §5)');
    t.equal(a.unknown?.[0]?.code, 99);
    t.same([...a.unknown![0]!.value], [1, 2, 3]);
  },
);

t.test('IPv6 next-hop self: v6 session address, configured next-hop6, IPv4-mapped', async (t) => {
  const h = harness();
  const feed = h.up(neighbor('t1', 'transit', 65001, '127.0.0.2'), 1);
  const c6 = h.up(neighbor('c6', 'customer', 65011, '2001:db8::11'), 11, { localAddress: '2001:db8::1' });
  const ccfg = h.up(neighbor('cc', 'customer', 65012, '127.0.0.12', { nextHop6: '2001:db8::99' }), 12);
  const cmap = h.up(neighbor('cm', 'customer', 65013, '127.0.0.13'), 13, { localAddress: '127.0.0.1' });
  const nh6 = { global: parseIpv6('2001:db8::2')!, linkLocal: parseIpv6('fe80::2')! };
  feed.ch.updates([
    announce(attrs([65001], { nextHop: undefined, nextHop6: nh6, med: 3 }), [], ['2001:db8:5::/48']),
  ]);
  await h.settle();
  t.equal(formatIpv6(c6.sink.routes.get('2001:db8:5::/48')!.nextHop6!.global), '2001:db8::1');
  t.equal(formatIpv6(ccfg.sink.routes.get('2001:db8:5::/48')!.nextHop6!.global), '2001:db8::99');
  t.same([...cmap.sink.routes.get('2001:db8:5::/48')!.nextHop6!.global], [...parseIpv6('::ffff:127.0.0.1')!]);
  t.equal(c6.sink.routes.get('2001:db8:5::/48')!.med, undefined);
});

t.test('iBGP export: AS_PATH and next hop unchanged, LOCAL_PREF and MED kept', async (t) => {
  const h = harness();
  const feed = h.up(neighbor('c1', 'customer', 65010, '127.0.0.5'), 5);
  const ibgp = h.up(neighbor('i1', 'internal', LOCAL_AS, '127.0.0.2'), 1);
  const ibgpSelf = h.up(neighbor('i2', 'internal', LOCAL_AS, '127.0.0.3', { nextHopSelf: true }), 2, {
    localAddress: '127.0.0.1',
  });
  feed.ch.updates([announce(attrs([65010], { med: 9 }), ['203.0.113.0/24'])]);
  await h.settle();
  const a = ibgp.sink.routes.get('203.0.113.0/24')!;
  t.same(asPathOf(a), [65010]);
  t.equal(a.nextHop, NH);
  t.equal(a.localPref, 100);
  t.equal(a.med, 9);
  t.equal(formatIpv4(ibgpSelf.sink.routes.get('203.0.113.0/24')!.nextHop!), '127.0.0.1');
});

t.test('role matrix and split horizon', async (t) => {
  const h = harness();
  const cust = h.up(neighbor('cust', 'customer', 65010, '127.0.0.10'), 10);
  const peer = h.up(neighbor('peer', 'peer', 65020, '127.0.0.20'), 20);
  const tran = h.up(neighbor('tran', 'transit', 65030, '127.0.0.30'), 30);
  const in1 = h.up(neighbor('in1', 'internal', LOCAL_AS, '127.0.0.40'), 40);
  const in2 = h.up(neighbor('in2', 'internal', LOCAL_AS, '127.0.0.41'), 41);
  cust.ch.updates([announce(attrs([65010]), ['10.1.0.0/16'])]);
  peer.ch.updates([announce(attrs([65020]), ['10.2.0.0/16'])]);
  tran.ch.updates([announce(attrs([65030]), ['10.3.0.0/16'])]);
  in1.ch.updates([announce(attrs([64500], { localPref: 100 }), ['10.4.0.0/16'])]);
  await h.settle();
  const got = (s: { sink: { routes: Map<string, unknown> } }) => [...s.sink.routes.keys()].sort();
  t.same(got(cust), ['10.2.0.0/16', '10.3.0.0/16', '10.4.0.0/16'], 'customer gets all but its own');
  t.same(got(peer), ['10.1.0.0/16', '10.4.0.0/16'], 'peer gets customer and internal routes');
  t.same(got(tran), ['10.1.0.0/16', '10.4.0.0/16'], 'transit gets customer and internal routes');
  t.same(got(in1), ['10.1.0.0/16', '10.2.0.0/16', '10.3.0.0/16'], 'internal gets eBGP routes, not its own');
  t.same(got(in2), ['10.1.0.0/16', '10.2.0.0/16', '10.3.0.0/16'], 'iBGP split horizon');
});

t.test('NO_EXPORT stays inside the AS, NO_ADVERTISE goes nowhere', async (t) => {
  const h = harness();
  const cust = h.up(neighbor('cust', 'customer', 65010, '127.0.0.10'), 10);
  const peer = h.up(neighbor('peer', 'peer', 65020, '127.0.0.20'), 20);
  const in1 = h.up(neighbor('in1', 'internal', LOCAL_AS, '127.0.0.40'), 40);
  cust.ch.updates([announce(attrs([65010], { communities: [0xffffff01] }), ['10.1.0.0/16'])]);
  cust.ch.updates([announce(attrs([65010], { communities: [0xffffff03] }), ['10.5.0.0/16'])]);
  cust.ch.updates([announce(attrs([65010], { communities: [0xffffff02] }), ['10.2.0.0/16'])]);
  await h.settle();
  t.same([...peer.sink.routes.keys()], []);
  t.same([...in1.sink.routes.keys()].sort(), ['10.1.0.0/16', '10.5.0.0/16']);
  // The community changes on the same path: the peer now gets it, in1 keeps it.
  cust.ch.updates([announce(attrs([65010]), ['10.1.0.0/16'])]);
  await h.settle();
  t.same([...peer.sink.routes.keys()], ['10.1.0.0/16']);
});

t.test('no-resale: reselling customers get the best eligible path', async (t) => {
  const h = harness();
  const nr = h.up(neighbor('nrpeer', 'peer', 65020, '127.0.0.20', { noResale: true }), 20);
  const tran = h.up(neighbor('tran', 'transit', 65030, '127.0.0.30'), 30);
  const resell = h.up(neighbor('resell', 'customer', 65010, '127.0.0.10'), 10);
  const noresell = h.up(neighbor('noresell', 'customer', 65011, '127.0.0.11', { resale: false }), 11);
  const in1 = h.up(neighbor('in1', 'internal', LOCAL_AS, '127.0.0.40'), 40);
  nr.ch.updates([announce(attrs([65020]), ['10.9.0.0/16', '10.8.0.0/16'])]);
  tran.ch.updates([announce(attrs([65030, 64500, 64501]), ['10.9.0.0/16'])]);
  await h.settle();
  t.same(asPathOf(resell.sink.routes.get('10.9.0.0/16')!), [LOCAL_AS, 65030, 64500, 64501], 'via transit');
  t.notOk(resell.sink.routes.has('10.8.0.0/16'), 'no eligible path: nothing');
  t.same(asPathOf(noresell.sink.routes.get('10.9.0.0/16')!), [LOCAL_AS, 65020], 'via the no-resale peer');
  t.ok(noresell.sink.routes.has('10.8.0.0/16'));
  t.same(asPathOf(in1.sink.routes.get('10.9.0.0/16')!), [65020]);
  const x = h.rib.explain('10.9.0.0/16')!;
  t.equal(x.best, 'nrpeer');
  t.equal(x.resaleBest, 'tran');
  t.equal(x.resaleReason, 'only path');
  t.ok(x.candidates.find((c) => c.neighbor === 'nrpeer')!.noResale);
  tran.ch.updates([withdraw(['10.9.0.0/16'])]);
  await h.settle();
  t.notOk(resell.sink.routes.has('10.9.0.0/16'), 'withdrawn from the reselling customer');
  t.ok(noresell.sink.routes.has('10.9.0.0/16'));
  t.same(
    [...h.rib.routes('ipv4-unicast', { table: 'resale' })].map((r) => r.prefix),
    [],
    'resale table empty',
  );
});

t.test('back-pressure: a sink that returns false gets nothing more until drain', async (t) => {
  const h = harness();
  const feed = h.up(neighbor('t1', 'transit', 65001, '127.0.0.2'), 1);
  const c = h.rib.addNeighbor(neighbor('c1', 'customer', 65010, '127.0.0.5'));
  for (let s = 0; s < 200; s++) {
    feed.ch.updates([announce(attrs([65001, 64500 + s]), [`10.${s}.0.0/16`, `10.${s}.1.0/24`])]);
  }
  const { DecodingSink, sessionInfo } = await import('./helpers.js');
  const sink = new DecodingSink();
  sink.budget = 1;
  const rib = new (await import('../../src/rib/rib.js')).Rib({
    localAs: LOCAL_AS,
    routerId: 1,
    log: (await import('../../src/observe/log.js')).silentLogger(),
    chunk: 16,
    bogons: [],
  });
  // Same scenario on a RIB with small chunks so that one send is a fraction of the table.
  const f2 = rib.addNeighbor(neighbor('t1', 'transit', 65001, '127.0.0.2'));
  f2.up(sessionInfo(neighbor('t1', 'transit', 65001, '127.0.0.2'), 1), {
    send: () => true,
    onDrain: () => {},
  });
  for (let s = 0; s < 200; s++) {
    f2.updates([announce(attrs([65001, 64500 + s]), [`10.${s}.0.0/16`, `10.${s}.1.0/24`])]);
  }
  const c2 = rib.addNeighbor(neighbor('c1', 'customer', 65010, '127.0.0.5'));
  c2.up(sessionInfo(neighbor('c1', 'customer', 65010, '127.0.0.5'), 5), sink);
  t.ok(await until(() => sink.waitingForDrain), 'the sink pushed back');
  await turns(50);
  t.equal(sink.sendCalls, 1, 'one send, then it waited');
  t.ok(sink.routes.size > 0 && sink.routes.size < 400);
  t.same(sink.eor, [], 'no End-of-RIB before the table is out');
  sink.release(2);
  t.ok(await until(() => sink.waitingForDrain));
  await turns(50);
  t.equal(sink.sendCalls, 3, 'two more sends after the drain');
  sink.release();
  await rib.idle();
  t.equal(sink.routes.size, 400);
  t.same(sink.eor, ['ipv4-unicast', 'ipv6-unicast']);
  t.ok(c, 'first harness unused beyond set-up');
});

t.test('End-of-RIB follows the initial export; route refresh re-sends the family', async (t) => {
  const h = harness();
  const feed = h.up(neighbor('t1', 'transit', 65001, '127.0.0.2'), 1);
  feed.ch.updates([announce(attrs([65001]), ['10.1.0.0/16', '10.2.0.0/16'])]);
  await h.settle();
  const c = h.up(neighbor('c1', 'customer', 65010, '127.0.0.5'), 5);
  await h.settle();
  const kinds = c.sink.decoded.map((u) =>
    u.endOfRib !== undefined ? `eor:${u.endOfRib}` : `n${u.nlri4.length}`,
  );
  t.same(kinds, ['n2', 'eor:ipv4-unicast', 'eor:ipv6-unicast']);
  t.same(h.rib.stats().neighbors.find((n) => n.name === 'c1')!.eorSent, ['ipv4-unicast', 'ipv6-unicast']);
  t.same(c.sink.refreshedFamilies, []);
  c.ch.routeRefresh('ipv4-unicast');
  await h.settle();
  t.same(c.sink.refreshedFamilies, ['ipv4-unicast'], 'the session is told when the refresh is out');
  t.equal(c.sink.decoded.length, 4);
  t.equal(c.sink.decoded[3]!.nlri4.length, 2);
  t.equal(h.rib.stats().neighbors.find((n) => n.name === 'c1')!.prefixesOut['ipv4-unicast'], 2);
});

t.test('changes within one tick coalesce per prefix', async (t) => {
  const h = harness();
  const feed = h.up(neighbor('t1', 'transit', 65001, '127.0.0.2'), 1);
  const c = h.up(neighbor('c1', 'customer', 65010, '127.0.0.5'), 5);
  await h.settle();
  const before = c.sink.decoded.length;
  feed.ch.updates([announce(attrs([65001, 1]), ['10.1.0.0/16']), withdraw(['10.1.0.0/16'])]);
  feed.ch.updates([
    announce(attrs([65001, 2]), ['10.2.0.0/16']),
    announce(attrs([65001, 3]), ['10.2.0.0/16']),
  ]);
  await h.settle();
  const sent = c.sink.decoded.slice(before);
  t.equal(sent.length, 1, 'one UPDATE: nothing for 10.1/16, the last state of 10.2/16');
  t.same(asPathOf(c.sink.routes.get('10.2.0.0/16')!), [LOCAL_AS, 65001, 3]);
});

t.test('attributes too long for one message are not sent and are counted', async (t) => {
  const h = harness();
  const feed = h.up(neighbor('t1', 'transit', 65001, '127.0.0.2'), 1);
  const c = h.up(neighbor('c1', 'customer', 65010, '127.0.0.5'), 5);
  const communities = Array.from({ length: 1100 }, (_, i) => 65001 * 65536 + i);
  feed.ch.updates([announce(attrs([65001], { communities }), ['10.1.0.0/16'])]);
  feed.ch.updates([announce(attrs([65001]), ['10.2.0.0/16'])]);
  await h.settle();
  t.same([...c.sink.routes.keys()], ['10.2.0.0/16']);
  t.equal(h.rib.stats().neighbors.find((n) => n.name === 'c1')!.encodeErrors, 1);
});

t.test(
  'a session that goes down while blocked: the old sink drain is ignored, the new one gets it all',
  async (t) => {
    const { DecodingSink, sessionInfo } = await import('./helpers.js');
    const h = harness();
    const feed = h.up(neighbor('t1', 'transit', 65001, '127.0.0.2'), 1);
    for (let s = 0; s < 50; s++) feed.ch.updates([announce(attrs([65001, 64500 + s]), [`10.${s}.0.0/16`])]);
    const cfg = neighbor('c1', 'customer', 65010, '127.0.0.5');
    const ch = h.add(cfg);
    const old = new DecodingSink();
    old.budget = 1;
    ch.up(sessionInfo(cfg, 5), old);
    t.ok(await until(() => old.waitingForDrain));
    ch.down('hold timer expired');
    const fresh = new DecodingSink();
    ch.up(sessionInfo(cfg, 5), fresh);
    old.release();
    await h.settle();
    t.equal(old.sendCalls, 1, 'nothing more went to the old session');
    t.equal(fresh.routes.size, 50);
    t.same(fresh.eor, ['ipv4-unicast', 'ipv6-unicast']);
  },
);

t.test('large changes are delivered in time slices without losing anything', async (t) => {
  const { Rib } = await import('../../src/rib/rib.js');
  const { silentLogger } = await import('../../src/observe/log.js');
  const { DecodingSink, sessionInfo } = await import('./helpers.js');
  const rib = new Rib({
    localAs: LOCAL_AS,
    routerId: 1,
    log: silentLogger(),
    sliceMs: 1,
    chunk: 64,
    bogons: [],
  });
  const fcfg = neighbor('t1', 'transit', 65001, '127.0.0.2');
  const ccfg = neighbor('c1', 'customer', 65010, '127.0.0.5');
  const f = rib.addNeighbor(fcfg);
  const c = rib.addNeighbor(ccfg);
  f.up(sessionInfo(fcfg, 1), { send: () => true, onDrain: () => {} });
  const sink = new DecodingSink();
  c.up(sessionInfo(ccfg, 5), sink);
  let turns = 0;
  const timer = setInterval(() => turns++, 0);
  t.teardown(() => clearInterval(timer));
  const batch = [];
  for (let i = 0; i < 3000; i++) {
    const nlri = Array.from({ length: 10 }, (_, j) => `1${Math.floor(i / 256)}.${i % 256}.${j}.0/24`);
    batch.push(announce(attrs([65001, 64500 + (i % 9)]), nlri));
  }
  f.updates(batch);
  await rib.idle();
  t.equal(sink.routes.size, 30000);
  t.ok(turns > 0, `timers ran during the export (${turns} turns)`);
  f.down('gone');
  await rib.idle();
  t.equal(sink.routes.size, 0);
  t.equal(rib.stats().attributeSets, 0);
});

t.test('shared encodings: neighbors of one profile share, different next hops do not', async (t) => {
  const h = harness();
  const feed = h.up(neighbor('t1', 'transit', 65001, '127.0.0.2'), 1);
  const a = h.up(neighbor('ca', 'customer', 65010, '127.0.0.5'), 5, { localAddress: '127.0.0.1' });
  const b = h.up(neighbor('cb', 'customer', 65011, '127.0.0.6'), 6, { localAddress: '127.0.0.1' });
  const c = h.up(neighbor('cc', 'customer', 65012, '127.0.0.7'), 7, { localAddress: '127.0.0.100' });
  const i = h.up(neighbor('in', 'internal', LOCAL_AS, '127.0.0.8'), 8, { localAddress: '127.0.0.1' });
  feed.ch.updates([announce(attrs([65001], { med: 1 }), ['10.1.0.0/16'])]);
  await h.settle();
  t.equal(formatIpv4(a.sink.routes.get('10.1.0.0/16')!.nextHop!), '127.0.0.1');
  t.equal(formatIpv4(b.sink.routes.get('10.1.0.0/16')!.nextHop!), '127.0.0.1');
  t.equal(formatIpv4(c.sink.routes.get('10.1.0.0/16')!.nextHop!), '127.0.0.100');
  t.equal(i.sink.routes.get('10.1.0.0/16')!.nextHop, NH, 'iBGP: next hop unchanged');
  t.equal(i.sink.routes.get('10.1.0.0/16')!.localPref, 100);
  t.equal(a.sink.routes.get('10.1.0.0/16')!.localPref, undefined);
  const last = (x: { sink: { messages: Uint8Array[] } }) => x.sink.messages.find((m) => m.length > 23)!;
  t.same([...last(a)], [...last(b)], 'same profile: same bytes');
});
