/**
 * Route-origin validation in the RIB (RFC 6811 §2, rib/rov.ts) with a real VRP table: states on
 * import from eBGP (LOCAL-AS:2:STATE toward internal neighbors, stripped toward eBGP, forged
 * ones scrubbed), Invalid refused as `rpki-invalid` with its covering VRPs, re-validation of the
 * affected prefixes only after a VRP change (withdrawn from the others, then back), AS_SET
 * origins, `invalid: keep`, internal routes' carried state trusted, rpki switched off, and the
 * per-neighbor counts.
 */
import t from 'tap';
import { AffectedSet } from '../../src/rpki/affected.js';
import { vrp } from '../../src/rpki/text.js';
import { VrpTable } from '../../src/rpki/vrp-table.js';
import type { RovPolicy } from '../../src/rib/rov.js';
import { announce, attrs, harness, LOCAL_AS, neighbor, p4, p6 } from '../rib/helpers.js';

const V1 = vrp('203.0.113.0/24', 24, 64500)!;
const V2 = vrp('198.51.100.0/22', 24, 64501)!;
const V6 = vrp('2001:db8::/32', 48, 64500)!;

function setup(invalid: 'reject' | 'keep' = 'reject') {
  const table = new VrpTable();
  for (const v of [V1, V2, V6]) table.add(v);
  const rov: RovPolicy = { validator: table, invalid };
  const h = harness({ rov });
  const cust = h.up(neighbor('cust', 'customer', 65002, '127.0.0.2'), 2);
  const peer = h.up(neighbor('peer', 'peer', 65003, '127.0.0.3'), 3);
  const ibgp = h.up(neighbor('ibgp', 'internal', LOCAL_AS, '127.0.0.4'), 4);
  return { table, rov, h, cust, peer, ibgp };
}

const ours = (large: readonly number[] | undefined, fn: number) => {
  const out: number[] = [];
  for (let i = 0; large && i + 2 < large.length; i += 3)
    if (large[i] === LOCAL_AS && large[i + 1] === fn) out.push(large[i + 2]!);
  return out;
};

t.test('states on import, Invalid refused with its VRPs', async (t) => {
  const { h, cust, peer, ibgp } = setup();
  cust.ch.updates([
    // One UPDATE, three states: Valid (64500 may originate 203.0.113.0/24), Invalid (the /22
    // belongs to 64501), NotFound (no VRP covers 192.0.2.0/24).
    announce(attrs([65002, 64500], { largeCommunities: [LOCAL_AS, 2, 0, 64500, 7, 7] }), [
      '203.0.113.0/24',
      '198.51.100.0/23',
      '192.0.2.0/24',
    ]),
  ]);
  await h.settle();
  t.same([...peer.sink.routes.keys()].sort(), ['192.0.2.0/24', '203.0.113.0/24'], 'Invalid not exported');
  t.same(ours(ibgp.sink.routes.get('203.0.113.0/24')?.largeCommunities, 2), [0], 'internal: 2:0 valid');
  t.same(ours(ibgp.sink.routes.get('192.0.2.0/24')?.largeCommunities, 2), [1], 'internal: 2:1 not-found');
  t.same(ours(ibgp.sink.routes.get('192.0.2.0/24')?.largeCommunities, 1), [1], 'source tag kept');
  t.same(peer.sink.routes.get('203.0.113.0/24')?.largeCommunities, [64500, 7, 7], 'stripped toward eBGP');
  const refused = [...h.rib.refusedRoutes('ipv4-unicast')];
  t.same(
    refused.map((r) => [r.prefix, r.reason, r.vrps]),
    [['198.51.100.0/23', 'rpki-invalid', ['198.51.100.0/22-24 AS64501']]],
  );
  const ex = h.rib.explain('198.51.100.0/23')!;
  t.same(ex.refused[0]?.vrps, ['198.51.100.0/22-24 AS64501'], 'explain shows the covering VRPs');
  t.equal(h.rib.explain('203.0.113.0/24')!.candidates[0]!.rpki, 'valid');
  t.same(h.rib.rovCounts().get('cust'), { valid: 1, invalid: 1, notFound: 1, unverified: 0, refused: 1 });
  t.equal(h.rib.stats().neighbors.find((n) => n.name === 'cust')!.refused['rpki-invalid'], 1);
});

t.test('a VRP change re-validates the covered prefixes only', async (t) => {
  const { table, h, cust, peer } = setup();
  cust.ch.updates([announce(attrs([65002, 64500]), ['203.0.113.0/24', '192.0.2.0/24'])]);
  await h.settle();
  t.ok(peer.sink.routes.has('203.0.113.0/24'));
  const sent = peer.sink.decoded.length;
  // 64500's VRP withdrawn, another AS's announced: the route turns Invalid.
  table.remove(V1);
  const other = vrp('203.0.113.0/24', 24, 64999)!;
  table.add(other);
  const a = new AffectedSet();
  a.add(V1.prefix);
  const c = await h.rib.revalidate(a);
  t.same(c, { changed: 0, refused: 1, restored: 0 });
  await h.settle();
  t.notOk(peer.sink.routes.has('203.0.113.0/24'), 'withdrawn from the peer');
  t.ok(peer.sink.routes.has('192.0.2.0/24'), 'the other route stays');
  t.equal(peer.sink.decoded.length, sent + 1, 'one UPDATE: the withdrawal');
  // And back.
  table.remove(other);
  table.add(V1);
  t.same(await h.rib.revalidate(a), { changed: 0, refused: 0, restored: 1 });
  await h.settle();
  t.ok(peer.sink.routes.has('203.0.113.0/24'), 'announced again');
  t.same(h.rib.rovCounts().get('cust'), { valid: 1, invalid: 0, notFound: 1, unverified: 0, refused: 0 });
  // A change elsewhere touches nothing.
  const far = new AffectedSet();
  far.add(p4('10.0.0.0/8'));
  t.same(await h.rib.revalidate(far), { changed: 0, refused: 0, restored: 0 });
});

t.test('RFC 6811: an AS_SET origin is NONE; maxLength; IPv6', async (t) => {
  const { h, cust, peer } = setup();
  const set = attrs([], {
    asPath: [
      { type: 2, asns: [65002] },
      { type: 1, asns: [64500, 64501] },
    ],
  });
  cust.ch.updates([
    announce(set, ['203.0.113.0/24', '192.0.2.0/24']),
    announce(attrs([65002, 64501]), ['198.51.100.0/24', '198.51.100.0/25']),
    announce(attrs([65002, 64500]), [], ['2001:db8:1::/48', '2001:db8:1::/49']),
  ]);
  await h.settle();
  const refused = [...h.rib.refusedRoutes('ipv4-unicast'), ...h.rib.refusedRoutes('ipv6-unicast')]
    .map((r) => r.prefix)
    .sort();
  t.same(
    refused,
    ['198.51.100.0/25', '2001:db8:1::/49', '203.0.113.0/24'],
    'covered AS_SET, beyond maxLength',
  );
  t.same(
    [...peer.sink.routes.keys()].sort(),
    ['192.0.2.0/24', '198.51.100.0/24', '2001:db8:1::/48'],
    'NotFound AS_SET and Valid ones exported',
  );
  t.ok(p6('2001:db8:1::/48'));
});

t.test('invalid: keep measures only; policy change re-evaluates; rpki off', async (t) => {
  const { h, cust, peer, ibgp, rov } = setup('keep');
  cust.ch.updates([announce(attrs([65002, 64999]), ['203.0.113.0/24'])]);
  await h.settle();
  t.ok(peer.sink.routes.has('203.0.113.0/24'), 'Invalid kept and exported');
  t.same(ours(ibgp.sink.routes.get('203.0.113.0/24')?.largeCommunities, 2), [2], 'marked 2:2 invalid');
  t.same(h.rib.rovCounts().get('cust'), { valid: 0, invalid: 1, notFound: 0, unverified: 0, refused: 0 });
  t.same(await h.rib.setRov({ ...rov, invalid: 'reject' }), { changed: 0, refused: 1, restored: 0 });
  await h.settle();
  t.notOk(peer.sink.routes.has('203.0.113.0/24'), 'keep → reject: withdrawn');
  t.same(await h.rib.setRov(undefined), { changed: 0, refused: 0, restored: 1 });
  await h.settle();
  t.ok(peer.sink.routes.has('203.0.113.0/24'), 'rpki off: back');
  t.same(ours(ibgp.sink.routes.get('203.0.113.0/24')?.largeCommunities, 2), [], 'no state without rpki');
  t.same(h.rib.rovCounts().get('cust'), { valid: 0, invalid: 0, notFound: 0, unverified: 1, refused: 0 });
});

t.test('internal routes: the carried state is trusted, never refused', async (t) => {
  const { h, ibgp, cust } = setup();
  ibgp.ch.updates([
    announce(attrs([64999], { localPref: 100, largeCommunities: [LOCAL_AS, 1, 4, LOCAL_AS, 2, 2] }), [
      '203.0.113.0/24',
    ]),
  ]);
  await h.settle();
  t.ok(cust.sink.routes.has('203.0.113.0/24'), 'kept (measured as invalid by the edge that learned it)');
  t.same(h.rib.rovCounts().get('ibgp'), { valid: 0, invalid: 1, notFound: 0, unverified: 0, refused: 0 });
  t.same(cust.sink.routes.get('203.0.113.0/24')?.largeCommunities, undefined, 'stripped toward eBGP');
});

t.test('rpki off: forged LOCAL-AS:2:* scrubbed on eBGP ingress all the same', async (t) => {
  const h = harness();
  const cust = h.up(neighbor('cust', 'customer', 65002, '127.0.0.2'), 2);
  const ibgp = h.up(neighbor('ibgp', 'internal', LOCAL_AS, '127.0.0.4'), 4);
  cust.ch.updates([announce(attrs([65002], { largeCommunities: [LOCAL_AS, 2, 0] }), ['192.0.2.0/24'])]);
  await h.settle();
  t.same(ibgp.sink.routes.get('192.0.2.0/24')?.largeCommunities, [LOCAL_AS, 1, 1]);
});
