/**
 * The route readers on captured daemon output (BIRD 2.0.12 `show route all`, GoBGP 3.10
 * `global rib -j`), so that a change in either format shows up here and not as a confusing
 * interop failure: several paths per prefix, IPv6 next hop with a link-local part, AS sets,
 * missing MED.
 */
import t from 'tap';
import { parseBirdRoutes } from './harness/bird.js';
import { parseGobgpRib } from './harness/gobgp.js';

const BIRD = `BIRD 2.0.12 ready.
Table master4:
203.0.113.0/24       unreachable [gredged 23:18:14.776 from 192.0.2.1] * (100) [AS65021i]
\tType: BGP univ
\tBGP.origin: IGP
\tBGP.as_path: 65000 65020 65021
\tBGP.next_hop: 192.0.2.1
\tBGP.med: 10
\tBGP.local_pref: 100
\tBGP.community: (65020,1) (65020,2)
\tBGP.large_community: (65020, 1, 2) (65000, 1, 3)
                     unreachable [other 23:18:15.001 from 192.0.2.9] (100) [AS65030i]
\tType: BGP univ
\tBGP.origin: IGP
\tBGP.as_path: 65030 {65031 65032}
\tBGP.next_hop: 192.0.2.9
\tBGP.local_pref: 100

Table master6:
2001:db8:20::/48     unreachable [gredged 23:18:14.843 from 192.0.2.1] * (100) [AS65022i]
\tType: BGP univ
\tBGP.origin: IGP
\tBGP.as_path: 65000 65020 65022
\tBGP.next_hop: 2001:db8::1 fe80::1
\tBGP.local_pref: 100
`;

const GOBGP = `{"198.51.100.0/24":[{"nlri":{"prefix":"198.51.100.0/24"},"age":1,"best":true,"attrs":[{"type":1,"value":0},{"type":2,"as_paths":[{"segment_type":2,"num":2,"asns":[65000,65010]}]},{"type":3,"nexthop":"192.0.2.1"},{"type":8,"communities":[4260495367]},{"type":32,"value":[{"ASN":65010,"LocalData1":1,"LocalData2":2}]}],"stale":false,"source-id":"192.0.2.1","neighbor-ip":"192.0.2.1"}],"2001:db8:10::/48":[{"nlri":{"prefix":"2001:db8:10::/48"},"age":1,"best":true,"attrs":[{"type":1,"value":0},{"type":2,"as_paths":[{"segment_type":2,"num":1,"asns":[65010]}]},{"type":4,"metric":43},{"type":5,"value":200},{"type":14,"nexthop":"2001:db8::2","afi":2,"safi":1,"value":[{"prefix":"2001:db8:10::/48"}]}],"stale":false}]}`;

t.test('BIRD show route all', async (t) => {
  const r = parseBirdRoutes(BIRD);
  t.equal(r.length, 3, 'three paths');
  t.same(r[0], {
    prefix: '203.0.113.0/24',
    from: '192.0.2.1',
    asPath: [65000, 65020, 65021],
    nextHop: '192.0.2.1',
    med: 10,
    localPref: 100,
    communities: ['65020:1', '65020:2'],
    largeCommunities: ['65020:1:2', '65000:1:3'],
  });
  t.match(r[1], {
    prefix: '203.0.113.0/24',
    from: '192.0.2.9',
    asPath: [65030, 65031, 65032],
    med: undefined,
  });
  t.match(r[2], { prefix: '2001:db8:20::/48', nextHop: '2001:db8::1', communities: [] });
});

t.test('GoBGP global rib -j', async (t) => {
  const r = parseGobgpRib(GOBGP);
  t.equal(r.length, 2);
  t.same(r[0], {
    prefix: '198.51.100.0/24',
    from: '192.0.2.1',
    asPath: [65000, 65010],
    nextHop: '192.0.2.1',
    communities: ['65010:7'],
    largeCommunities: ['65010:1:2'],
  });
  t.match(r[1], { prefix: '2001:db8:10::/48', from: '', nextHop: '2001:db8::2', med: 43, localPref: 200 });
  t.equal(r[0]!.localPref, undefined, 'no LOCAL_PREF attribute, none shown');
  t.same(parseGobgpRib('{}\n'), [], 'empty table');
  t.same(parseGobgpRib(''), [], 'no output');
});
