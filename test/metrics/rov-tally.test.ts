/**
 * The per-neighbor RPKI counts the exporter reads (Rib.rovTally, kept as paths come and go)
 * against the RIB's own walk over every path (Rib.rovCounts), through what changes them: import
 * with each state, a VRP change that turns a route Invalid (refused) and back, a path replaced
 * with another state, `invalid: keep`, internal routes with and without a carried state, a
 * withdrawal and a session going down.
 */
import t, { type Test } from 'tap';
import type { Rib } from '../../src/rib/rib.js';
import type { RovPolicy } from '../../src/rib/rov.js';
import { AffectedSet } from '../../src/rpki/affected.js';
import { vrp } from '../../src/rpki/text.js';
import { VrpTable } from '../../src/rpki/vrp-table.js';
import { announce, attrs, harness, LOCAL_AS, neighbor, withdraw } from '../rib/helpers.js';

const V1 = vrp('203.0.113.0/24', 24, 64500)!;
const V2 = vrp('198.51.100.0/22', 24, 64501)!;
const V6 = vrp('2001:db8::/32', 48, 64500)!;

function same(t: Test, rib: Rib, what: string): void {
  t.same(Object.fromEntries(rib.rovTally()), Object.fromEntries(rib.rovCounts()), what);
}

for (const invalid of ['reject', 'keep'] as const) {
  t.test(`rovTally = rovCounts (invalid: ${invalid})`, async (t) => {
    const table = new VrpTable();
    for (const v of [V1, V2, V6]) table.add(v);
    const rov: RovPolicy = { validator: table, invalid };
    const h = harness({ rov });
    const cust = h.up(neighbor('cust', 'customer', 65002, '127.0.0.2'), 2);
    const peer = h.up(neighbor('peer', 'peer', 65003, '127.0.0.3'), 3);
    const ibgp = h.up(neighbor('ibgp', 'internal', LOCAL_AS, '127.0.0.4'), 4);
    same(t, h.rib, 'empty');

    cust.ch.updates([
      announce(
        attrs([65002, 64500]),
        ['203.0.113.0/24', '198.51.100.0/23', '192.0.2.0/24'],
        ['2001:db8::/48'],
      ),
    ]);
    peer.ch.updates([announce(attrs([65003, 64501]), ['198.51.100.0/24', '203.0.113.0/24'])]);
    // Internal: one carrying a state (2:0 valid), one with none.
    ibgp.ch.updates([
      announce(attrs([64500], { largeCommunities: [LOCAL_AS, 2, 0] }), ['203.0.113.0/25']),
      announce(attrs([64502]), ['192.0.2.128/25']),
    ]);
    await h.settle();
    const c = h.rib.rovTally().get('cust')!;
    t.same(
      c,
      invalid === 'reject'
        ? { valid: 2, invalid: 1, notFound: 1, unverified: 0, refused: 1 }
        : { valid: 2, invalid: 1, notFound: 1, unverified: 0, refused: 0 },
      'cust: by state',
    );
    t.equal(h.rib.rovTally().get('ibgp')!.unverified, 1, 'an internal route with no state: unverified');
    same(t, h.rib, 'after import');

    // The same prefix again with another origin: the path is replaced, its state changes.
    cust.ch.updates([announce(attrs([65002, 64999]), ['203.0.113.0/24'])]);
    await h.settle();
    same(t, h.rib, 'a path replaced by one with another state');

    // 64501's VRP withdrawn: its routes turn NotFound (the refused /23 comes back).
    table.remove(V2);
    const a = new AffectedSet();
    a.add(V2.prefix);
    await h.rib.revalidate(a);
    await h.settle();
    same(t, h.rib, 'after a VRP change');
    table.add(V2);
    await h.rib.revalidate(a);
    await h.settle();
    same(t, h.rib, 'after the VRP came back');

    peer.ch.updates([withdraw(['198.51.100.0/24'])]);
    await h.settle();
    same(t, h.rib, 'after a withdrawal');
    cust.ch.down('test');
    await h.settle();
    same(t, h.rib, 'after a session went down');
    t.same(h.rib.rovTally().get('cust'), { valid: 0, invalid: 0, notFound: 0, unverified: 0, refused: 0 });
  });
}
