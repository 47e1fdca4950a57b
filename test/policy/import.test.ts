/**
 * Import policy as pure functions: the per-UPDATE checks (AS loop, first AS, RFC 9234 §5 OTC
 * ingress), the per-prefix checks by role (default route, bogons, own space, customer prefix
 * lists), tagging (scrub, add, trust over iBGP, fail-safe reading of odd tags) and OTC added on
 * routes from providers and peers. Expectations are written out, not computed.
 */
import t from 'tap';
import { parsePrefix4, parsePrefix6 } from '../../src/bgp/wire/prefix.js';
import { AsPathSegmentType, type PathAttributes } from '../../src/bgp/wire/types.js';
import type { NeighborConfig, Role } from '../../src/config/types.js';
import { DEFAULT_BOGONS } from '../../src/policy/bogons.js';
import {
  classOfTags,
  type GlobalPolicy,
  ImportPolicy,
  RouteClass,
  withoutTags,
} from '../../src/policy/import.js';
import { PrefixSet } from '../../src/policy/prefix-set.js';
import { neighbor } from '../rib/helpers.js';

const AS = 65000;
const global: GlobalPolicy = {
  localAs: AS,
  ownPrefixes: PrefixSet.of(['193.0.0.0/16 le 32', '2a0e:1000::/29 le 128']),
  bogons: PrefixSet.of(DEFAULT_BOGONS.map((b) => b.rule)),
};

function policy(role: Role, extra: Partial<NeighborConfig> = {}): ImportPolicy {
  return new ImportPolicy(
    neighbor(`n-${role}`, role, role === 'internal' ? AS : 65010, '127.0.0.9', extra),
    global,
  );
}

const path = (...asns: number[]): PathAttributes => ({
  origin: 0,
  asPath: [{ type: AsPathSegmentType.AS_SEQUENCE, asns }],
  atomicAggregate: false,
  nextHop: 0x7f000009,
});
const p4 = (s: string) => parsePrefix4(s)!;
const p6 = (s: string) => parsePrefix6(s)!;

t.test('per-UPDATE checks', async (t) => {
  const cust = policy('customer');
  t.equal(cust.checkAttributes(path(65010, 64500), 65010), undefined, 'a clean customer path');
  t.equal(cust.checkAttributes(path(65010, AS, 64500), 65010), 'as-loop', 'our AS in the path');
  t.equal(cust.checkAttributes(path(64500, 65010), 65010), 'first-as', 'first AS is not the neighbor');
  t.equal(
    cust.checkAttributes(
      { ...path(65010), asPath: [{ type: AsPathSegmentType.AS_SET, asns: [65010] }] },
      65010,
    ),
    'first-as',
    'a path that starts with an AS_SET',
  );
  t.equal(cust.checkAttributes({ ...path(), asPath: [] }, 65010), 'first-as', 'an empty eBGP path');
  // RFC 9234 §5 ingress 1: OTC from a customer is a leak, whatever its value.
  t.equal(cust.checkAttributes({ ...path(65010), otc: 65010 }, 65010), 'otc-leak');
  // Ingress 2: from a peer, OTC must equal the peer's AS.
  const peer = policy('peer');
  t.equal(peer.checkAttributes({ ...path(65010), otc: 65010 }, 65010), undefined, 'peer, OTC = its AS');
  t.equal(peer.checkAttributes({ ...path(65010), otc: 64999 }, 65010), 'otc-leak', 'peer, OTC ≠ its AS');
  t.equal(
    policy('transit').checkAttributes({ ...path(65010), otc: 64999 }, 65010),
    undefined,
    'provider: any OTC',
  );
  const ibgp = policy('internal');
  t.equal(
    ibgp.checkAttributes({ ...path(), asPath: [] }, AS),
    undefined,
    'an internal route may have an empty path',
  );
  t.equal(ibgp.checkAttributes({ ...path(64500), otc: 1 }, AS), undefined, 'no OTC check over iBGP');
  t.equal(ibgp.checkAttributes(path(64500, AS), AS), 'as-loop', 'loops are refused from iBGP too');
});

t.test('per-prefix checks by role', async (t) => {
  const cust = policy('customer', {
    prefixes: ['203.0.113.0/24', '198.51.100.0/24 le 26', '2001:db8:1::/48'],
  });
  const rows: [ImportPolicy, string, string | undefined][] = [
    [cust, '0.0.0.0/0', 'default-route'],
    [cust, '::/0', 'default-route'],
    [cust, '10.0.0.0/8', 'bogon'],
    [cust, '203.0.113.0/24', 'bogon'], // documentation space: a bogon under the default list
    [cust, '193.0.4.0/24', 'own-prefix'],
    [cust, '2a0e:1000:1::/48', 'own-prefix'],
    [cust, '8.8.8.0/24', 'not-own-prefix'],
    [cust, '2a00:1450::/32', 'not-own-prefix'],
    [policy('peer'), '0.0.0.0/0', 'default-route'],
    [policy('peer'), '8.8.8.0/24', undefined],
    [policy('peer'), '8.8.8.0/25', 'bogon'], // longer than /24
    [policy('transit'), '0.0.0.0/0', undefined], // a default from our provider is usual
    [policy('transit'), '193.0.0.0/16', 'own-prefix'],
    [policy('transit'), '2a00:1450::/32', undefined],
    [policy('transit'), '2a00:1450::/49', 'bogon'],
    [policy('internal'), '10.0.0.0/8', undefined], // the provider's network is trusted
    [policy('internal'), '193.0.4.0/24', undefined],
  ];
  for (const [pol, s, want] of rows) {
    const got = s.includes(':') ? pol.checkPrefix6(p6(s)) : pol.checkPrefix4(p4(s));
    t.equal(got, want, `${pol.role}: ${s} → ${want ?? 'accepted'}`);
  }
  const open: GlobalPolicy = { ...global, bogons: PrefixSet.of(['0.0.0.0/0 ge 25']) };
  const lab = new ImportPolicy(
    neighbor('c', 'customer', 65010, '127.0.0.9', { prefixes: ['203.0.113.0/24', '2001:db8:1::/48 le 64'] }),
    open,
  );
  t.equal(
    lab.checkPrefix4(p4('203.0.113.0/24')),
    undefined,
    'a replaced bogon list lets documentation space in',
  );
  t.equal(lab.checkPrefix6(p6('2001:db8:1:2::/64')), undefined, 'within le 64');
  t.equal(lab.checkPrefix6(p6('2001:db8:2::/48')), 'not-own-prefix');
  const none = policy('customer');
  t.equal(
    none.checkPrefix4(p4('8.8.8.0/24')),
    'not-own-prefix',
    'a customer without prefixes imports nothing',
  );
});

t.test('tags: scrubbed and set over eBGP, trusted over iBGP', async (t) => {
  const came = { ...path(65010), largeCommunities: [AS, 1, 3, 65010, 7, 7, AS, 2, 9] };
  const cust = policy('customer');
  const stored = cust.rewrite(came, 65010);
  // LOCAL-AS:2:* carries RPKI states (docs/rpki.md): ours too, so scrubbed like the tags.
  t.same(stored.largeCommunities, [65010, 7, 7, AS, 1, 1], 'LOCAL-AS:1:* and 2:* gone, ours added last');
  t.same(
    cust.rewrite(came, 65010, 0).largeCommunities,
    [65010, 7, 7, AS, 1, 1, AS, 2, 0],
    'a validated route: LOCAL-AS:2:STATE after the tag',
  );
  t.equal(stored.otc, undefined, 'no OTC added on a customer route');
  t.equal(cust.classOf(stored), RouteClass.CUSTOMER);
  t.not(stored, came, 'a new object');
  t.same(came.largeCommunities, [AS, 1, 3, 65010, 7, 7, AS, 2, 9], 'the input is not mutated');

  const nr = policy('peer', { noResale: true });
  const fromPeer = nr.rewrite(path(65010), 65010);
  t.same(fromPeer.largeCommunities, [AS, 1, 3]);
  t.equal(fromPeer.otc, 65010, 'RFC 9234 ingress 3: OTC = the peer AS');
  t.equal(nr.classOf(fromPeer), RouteClass.NO_RESALE_PEER);
  const tr = policy('transit').rewrite({ ...path(65010), otc: 64777 }, 65010);
  t.equal(tr.otc, 64777, 'an OTC already there is kept');
  t.same(tr.largeCommunities, [AS, 1, 4]);
  t.same(policy('peer').rewrite(path(65010), 65010).largeCommunities, [AS, 1, 2]);

  const ibgp = policy('internal');
  const tagged = { ...path(64500), largeCommunities: [AS, 1, 3] };
  t.equal(ibgp.rewrite(tagged, AS), tagged, 'internal routes are stored as they came');
  t.equal(ibgp.classOf(tagged), RouteClass.NO_RESALE_PEER, 'a no-resale tag from another edge holds');
  t.equal(ibgp.classOf(path(64500)), RouteClass.OWN, 'untagged internal: the provider’s own');
  t.equal(
    ibgp.classOf({ ...path(64500), largeCommunities: [64999, 1, 3] }),
    RouteClass.OWN,
    'another AS’s tag is not ours',
  );
});

t.test('odd tags are read the restrictive way', async (t) => {
  t.equal(classOfTags([AS, 1, 1, AS, 1, 2], AS), RouteClass.NO_RESALE_PEER, 'two different tags');
  t.equal(classOfTags([AS, 1, 2, AS, 1, 2], AS), RouteClass.PEER, 'the same tag twice');
  t.equal(classOfTags([AS, 1, 9], AS), RouteClass.NO_RESALE_PEER, 'a class we do not know');
  t.equal(classOfTags([AS, 1, 0], AS), RouteClass.NO_RESALE_PEER, 'class 0 is never sent');
  t.equal(classOfTags([AS, 2, 3], AS), RouteClass.OWN, 'another function number');
  t.equal(classOfTags(undefined, AS), RouteClass.OWN);
  t.equal(withoutTags([AS, 1, 4], AS), undefined, 'nothing left');
  const keep = [1, 2, 3];
  t.equal(withoutTags(keep, AS), keep, 'untouched when there is no tag');
});
