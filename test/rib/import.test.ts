/**
 * The import policy inside the RIB, with the default bogon list: what each role may give us,
 * refused routes kept as ineligible with their reason (explain, counters, one log line per
 * reason), source tags on stored routes and what they do to export (a no-resale route learned
 * at another edge never reaches a reselling customer), and RFC 9234 OTC on both sides.
 */
import t from 'tap';
import { Rib } from '../../src/rib/rib.js';
import {
  announce,
  attrs,
  DecodingSink,
  LOCAL_AS,
  neighbor,
  recordingLog,
  sessionInfo,
  withdraw,
} from './helpers.js';

function world(own: string[] = ['193.0.0.0/16', '2a0e:1000::/29']) {
  const { log, warns } = recordingLog();
  const rib = new Rib({ localAs: LOCAL_AS, routerId: 1, log, ownPrefixes: own });
  const up = (n: ReturnType<typeof neighbor>, id: number) => {
    const ch = rib.addNeighbor(n);
    const info = sessionInfo(n, id);
    const sink = new DecodingSink({ ebgp: info.ebgp, peerAs: LOCAL_AS, localAs: n.remoteAs });
    ch.up(info, sink);
    return { ch, sink };
  };
  return { rib, warns, up };
}

t.test('a customer gives only its own prefixes', async (t) => {
  const w = world();
  const c = w.up(
    neighbor('cust', 'customer', 65010, '127.0.0.10', { prefixes: ['185.1.0.0/22 le 24', '2a0f:1::/32'] }),
    10,
  );
  c.ch.updates([
    announce(
      attrs([65010]),
      [
        '0.0.0.0/0',
        '10.0.0.0/8',
        '185.1.0.0/22',
        '185.1.2.0/24',
        '185.1.2.0/25',
        '8.8.8.0/24',
        '193.0.1.0/24',
      ],
      ['::/0', '2a0f:1::/32', '2a0f:1:1::/48', 'fd00::/8'],
    ),
  ]);
  const best = (p: string) => w.rib.explain(p)?.best;
  const why = (p: string) => w.rib.explain(p)?.refused.map((r) => r.reason);
  t.equal(best('185.1.0.0/22'), 'cust');
  t.equal(best('185.1.2.0/24'), 'cust', 'le 24');
  t.equal(best('2a0f:1::/32'), 'cust');
  t.same(why('0.0.0.0/0'), ['default-route']);
  t.same(why('::/0'), ['default-route']);
  t.same(why('10.0.0.0/8'), ['bogon']);
  t.same(why('185.1.2.0/25'), ['bogon'], 'longer than /24: refused before the prefix list');
  t.same(why('fd00::/8'), ['bogon']);
  t.same(why('8.8.8.0/24'), ['not-own-prefix']);
  t.same(why('2a0f:1:1::/48'), ['not-own-prefix'], 'an exact entry does not take more specifics');
  t.same(why('193.0.1.0/24'), ['own-prefix'], 'inside the provider’s space');
  t.same(w.rib.explain('8.8.8.0/24')!.candidates, [], 'refused routes are never candidates');
  const s = w.rib.stats();
  const n = s.neighbors[0]!;
  t.same(n.prefixesIn, { 'ipv4-unicast': 2, 'ipv6-unicast': 1 });
  t.same(n.prefixesRefused, { 'ipv4-unicast': 5, 'ipv6-unicast': 3 });
  t.match(n.refused, { 'default-route': 2, bogon: 3, 'not-own-prefix': 2, 'own-prefix': 1, 'first-as': 0 });
  t.same(
    w.warns.map((x) => x.reason),
    ['default-route', 'bogon', 'not-own-prefix', 'own-prefix'],
    'one log line per reason',
  );
  t.same(s.locRib, { 'ipv4-unicast': 2, 'ipv6-unicast': 1 });

  // The customer fixes its announcement: the refused route is replaced, then withdrawn.
  c.ch.updates([announce(attrs([65010]), ['185.1.1.0/24'])]);
  c.ch.updates([withdraw(['8.8.8.0/24'])]);
  t.equal(w.rib.explain('8.8.8.0/24'), undefined, 'a withdrawal forgets the refused route');
  c.ch.updates([announce(attrs([65010]), ['8.8.8.0/24'])]);
  t.equal(w.warns.length, 4, 'the same reason again is not logged again');
  c.ch.down('test');
  t.same(w.rib.stats().neighbors[0]!.prefixesRefused, { 'ipv4-unicast': 0, 'ipv6-unicast': 0 });
  t.equal(w.rib.stats().attributeSets, 0, 'nothing held once the session is down');
  t.equal(w.rib.stats().neighbors[0]!.refused['not-own-prefix'], 3, 'counters stay');
});

t.test('peers and transits: bogons and our space refused, a transit may send a default', async (t) => {
  const w = world();
  const tr = w.up(neighbor('tr', 'transit', 65020, '127.0.0.20'), 20);
  const pe = w.up(neighbor('pe', 'peer', 65030, '127.0.0.30'), 30);
  tr.ch.updates([announce(attrs([65020]), ['0.0.0.0/0', '8.8.8.0/24', '193.0.0.0/16', '127.0.0.0/8'])]);
  pe.ch.updates([announce(attrs([65030]), ['0.0.0.0/0', '9.9.9.0/24'])]);
  t.equal(w.rib.explain('0.0.0.0/0')!.best, 'tr');
  t.same(
    w.rib.explain('0.0.0.0/0')!.refused.map((r) => [r.neighbor, r.reason]),
    [['pe', 'default-route']],
  );
  t.equal(w.rib.explain('8.8.8.0/24')!.best, 'tr');
  t.equal(w.rib.explain('9.9.9.0/24')!.best, 'pe');
  t.same(
    w.rib.explain('193.0.0.0/16')!.refused.map((r) => r.reason),
    ['own-prefix'],
  );
  t.same(
    w.rib.explain('127.0.0.0/8')!.refused.map((r) => r.reason),
    ['bogon'],
  );
});

t.test('RFC 9234 OTC: leaks refused on ingress, OTC set and respected on egress', async (t) => {
  const w = world();
  const c = w.up(neighbor('cust', 'customer', 65010, '127.0.0.10', { prefixes: ['185.1.0.0/22 le 24'] }), 10);
  const pe = w.up(neighbor('pe', 'peer', 65030, '127.0.0.30'), 30);
  const tr = w.up(neighbor('tr', 'transit', 65020, '127.0.0.20'), 20);
  const ib = w.up(neighbor('core', 'internal', LOCAL_AS, '127.0.0.40'), 40);
  c.ch.updates([announce(attrs([65010], { otc: 65010 }), ['185.1.0.0/24'])]);
  pe.ch.updates([announce(attrs([65030], { otc: 64999 }), ['9.9.9.0/24'])]);
  pe.ch.updates([announce(attrs([65030], { otc: 65030 }), ['9.9.8.0/24'])]);
  pe.ch.updates([announce(attrs([65030]), ['9.9.7.0/24'])]);
  tr.ch.updates([announce(attrs([65020]), ['8.8.8.0/24'])]);
  c.ch.updates([announce(attrs([65010]), ['185.1.1.0/24'])]);
  ib.ch.updates([announce(attrs([], { otc: 64777 }), ['185.2.0.0/24'])]);
  await w.rib.idle();
  t.same(
    w.rib.explain('185.1.0.0/24')!.refused.map((r) => r.reason),
    ['otc-leak'],
    'OTC from a customer',
  );
  t.same(
    w.rib.explain('9.9.9.0/24')!.refused.map((r) => r.reason),
    ['otc-leak'],
    'OTC ≠ the peer AS',
  );
  t.equal(w.rib.explain('9.9.8.0/24')!.best, 'pe', 'OTC = the peer AS is fine');
  t.equal(
    w.rib.explain('9.9.7.0/24')!.candidates[0]!.attrs.otc,
    65030,
    'OTC added on a peer route (ingress 3)',
  );
  t.equal(w.rib.explain('8.8.8.0/24')!.candidates[0]!.attrs.otc, 65020, 'and on a provider route');
  t.equal(w.rib.explain('185.1.1.0/24')!.candidates[0]!.attrs.otc, undefined, 'not on a customer route');
  // Egress: the customer route goes everywhere, with OTC = our AS toward customers and peers.
  t.equal(pe.sink.routes.get('185.1.1.0/24')?.otc, LOCAL_AS);
  t.equal(tr.sink.routes.get('185.1.1.0/24')?.otc, undefined, 'no OTC added toward a provider');
  t.equal(ib.sink.routes.get('185.1.1.0/24')?.otc, undefined, 'nor toward iBGP');
  t.equal(c.sink.routes.get('9.9.7.0/24')?.otc, 65030, 'an OTC already there travels on');
  // An internal route carrying OTC goes to customers, never to peers or providers.
  t.ok(c.sink.routes.has('185.2.0.0/24'));
  t.notOk(pe.sink.routes.has('185.2.0.0/24'), 'RFC 9234 egress: not to a peer');
  t.notOk(tr.sink.routes.has('185.2.0.0/24'), 'nor to a provider');
});

t.test('source tags: set on eBGP, trusted from iBGP, and what they do to export', async (t) => {
  const w = world();
  const nr = w.up(neighbor('bigpeer', 'peer', 65030, '127.0.0.30', { noResale: true }), 30);
  const tr = w.up(neighbor('tr', 'transit', 65020, '127.0.0.20'), 20);
  const ib = w.up(neighbor('core', 'internal', LOCAL_AS, '127.0.0.40'), 40);
  const reseller = w.up(neighbor('resell', 'customer', 65010, '127.0.0.10', { prefixes: [] }), 10);
  const endUser = w.up(
    neighbor('enduser', 'customer', 65011, '127.0.0.11', { resale: false, prefixes: [] }),
    11,
  );
  // A forged tag from outside is scrubbed: the big peer cannot pass as a customer.
  nr.ch.updates([
    announce(attrs([65030], { largeCommunities: [LOCAL_AS, 1, 1, 65030, 5, 5] }), ['9.9.9.0/24']),
  ]);
  // Tagged no-resale by another edge of ours, learned over iBGP.
  ib.ch.updates([announce(attrs([65031], { largeCommunities: [LOCAL_AS, 1, 3] }), ['9.9.10.0/24'])]);
  // The provider's own, untagged.
  ib.ch.updates([announce(attrs([]), ['185.9.0.0/24'])]);
  // The transit also has 9.9.10.0/24, with a longer path.
  tr.ch.updates([announce(attrs([65020, 64500, 65031]), ['9.9.10.0/24'])]);
  await w.rib.idle();
  const x = w.rib.explain('9.9.9.0/24')!;
  t.same(x.candidates[0]!.attrs.largeCommunities, [65030, 5, 5, LOCAL_AS, 1, 3], 'scrubbed and tagged 3');
  t.equal(x.candidates[0]!.class, 'no-resale peer');
  t.equal(x.resaleBest, undefined, 'not in the resale table');
  t.same(
    ib.sink.routes.get('9.9.9.0/24')?.largeCommunities,
    [65030, 5, 5, LOCAL_AS, 1, 3],
    'tag sent to iBGP',
  );
  t.same(endUser.sink.routes.get('9.9.9.0/24')?.largeCommunities, [65030, 5, 5], 'stripped toward eBGP');
  t.notOk(reseller.sink.routes.has('9.9.9.0/24'), 'never to a reselling customer');
  t.notOk(tr.sink.routes.has('9.9.9.0/24'), 'nor to the transit');

  const y = w.rib.explain('9.9.10.0/24')!;
  t.equal(y.best, 'core', 'the iBGP route is best in full (shorter path)');
  t.equal(y.resaleBest, 'tr', 'the reseller gets the transit route instead');
  t.equal(
    reseller.sink.routes.get('9.9.10.0/24')?.asPath[0]?.asns.join(' '),
    `${LOCAL_AS} 65020 64500 65031`,
  );
  t.equal(endUser.sink.routes.get('9.9.10.0/24')?.asPath[0]?.asns.join(' '), `${LOCAL_AS} 65031`);
  t.notOk(nr.sink.routes.has('9.9.10.0/24'), 'a class-3 route learned over iBGP goes to no peer');

  t.ok(reseller.sink.routes.has('185.9.0.0/24'), 'untagged internal routes go to every role');
  t.ok(tr.sink.routes.has('185.9.0.0/24'));
  t.ok(nr.sink.routes.has('185.9.0.0/24'));
  t.equal(w.rib.explain('185.9.0.0/24')!.candidates[0]!.class, 'own');

  // The no-resale route goes: the reseller keeps the transit's, nothing leaks meanwhile.
  ib.ch.updates([withdraw(['9.9.10.0/24'])]);
  await w.rib.idle();
  t.equal(w.rib.explain('9.9.10.0/24')!.best, 'tr');
  t.ok(reseller.sink.routes.has('9.9.10.0/24'));
});

t.test('max-prefix counts what the neighbor sent, refused routes included', async (t) => {
  const w = world();
  const closes: unknown[][] = [];
  const n = neighbor('tr', 'transit', 65020, '127.0.0.20', {
    maxPrefix: { limit: 3, action: 'warn', restartAfter: 60 },
  });
  const ch = w.rib.addNeighbor(n);
  const sink = new DecodingSink({ peerAs: LOCAL_AS, localAs: 65020 });
  Object.assign(sink, { close: (...args: unknown[]) => closes.push(args) });
  ch.up(sessionInfo(n, 20), sink);
  ch.updates([announce(attrs([65020]), ['8.8.8.0/24', '8.8.9.0/24', '10.0.0.0/8'])]);
  t.equal(w.warns.filter((x) => x.limit !== undefined).length, 0, 'at the limit (a bogon counts): quiet');
  ch.updates([announce(attrs([65020]), ['8.8.10.0/24'])]);
  ch.updates([announce(attrs([65020]), ['8.8.11.0/24'])]);
  t.same(
    w.warns.filter((x) => x.limit !== undefined).map((x) => [x.prefixes, x.limit, x.action]),
    [[4, 3, 'warn']],
    'warned once when crossing',
  );
  t.same(closes, [], 'warn does not close the session');
  ch.updates([withdraw(['8.8.10.0/24', '8.8.11.0/24'])]);
  ch.updates([announce(attrs([65020]), ['8.8.12.0/24'])]);
  const s = w.rib.stats().neighbors[0]!;
  t.equal(s.maxPrefixExceeded, 2, 'a second crossing after falling back');

  const r = neighbor('tr2', 'transit', 65021, '127.0.0.21', {
    maxPrefix: { limit: 1, action: 'restart', restartAfter: 30 },
  });
  const ch2 = w.rib.addNeighbor(r);
  const sink2 = new DecodingSink({ peerAs: LOCAL_AS, localAs: 65021 });
  Object.assign(sink2, { close: (...args: unknown[]) => closes.push(args) });
  ch2.up(sessionInfo(r, 21), sink2);
  ch2.updates([announce(attrs([65021]), ['9.9.9.0/24', '9.9.8.0/24'])]);
  t.equal(closes.length, 1, 'restart asks the session to close');
  t.same([closes[0]![0], closes[0]![3]], [1, 30], 'Cease subcode 1, held down for restart-after');
});
