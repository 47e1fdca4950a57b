/**
 * The customer's side of a circuit (src/provision/snippet.ts): the exact text for an IPv4 and
 * an IPv6 underlay, BIRD's prefix-set syntax for each kind of rule, and interface names that
 * fit IFNAMSIZ.
 */
import t from 'tap';
import { birdName, birdPrefix, customerSnippet, interfaceName } from '../../src/provision/snippet.js';
import type { CustomerCircuit } from '../../src/provision/types.js';

const circuit: CustomerCircuit = {
  name: 'cust-a',
  asn: 64501,
  localAs: 65000,
  remote: '198.51.100.2',
  local: '198.51.100.1',
  key: 1000,
  mtu: 1472,
  inner: {
    v4: { subnet: '192.0.2.0/30', provider: '192.0.2.1', customer: '192.0.2.2', length: 30 },
    v6: { subnet: '2001:db8:ff::/127', provider: '2001:db8:ff::', customer: '2001:db8:ff::1', length: 127 },
  },
  prefixes: ['203.0.113.0/24 le 26', '2001:db8:c1::/48'],
  resale: true,
  role: 'customer',
  interface: 'gre-cust-a',
};

t.test('IPv4 underlay: iproute2 and BIRD 2, exactly', async (t) => {
  const s = customerSnippet(circuit);
  t.same(s.iproute2, [
    'ip tunnel add gre-cust-a mode gre key 1000 local 198.51.100.2 remote 198.51.100.1 ttl 64',
    'ip link set gre-cust-a mtu 1472',
    'ip address add 192.0.2.2/30 dev gre-cust-a',
    'ip -6 address add 2001:db8:ff::1/127 dev gre-cust-a',
    'ip link set gre-cust-a up',
  ]);
  t.equal(
    s.bird,
    `protocol bgp gredge_cust_a {
  description "gredge AS65000, circuit cust-a";
  local 192.0.2.2 as 64501;
  neighbor 192.0.2.1 as 65000;
  local role customer;
  ipv4 {
    import all;
    export where net ~ [ 203.0.113.0/24{24,26} ];
  };
  ipv6 {
    import all;
    export where net ~ [ 2001:db8:c1::/48 ];
    next hop address 2001:db8:ff::1;
  };
}`,
  );
  t.ok(s.text.includes(s.iproute2.join('\n')), 'the text has the commands, one per line, in order');
  t.ok(s.text.includes(s.bird), 'and the BIRD block');
  // Every line is a command to paste or a comment: nothing to fill in.
  for (const line of s.text.split('\n'))
    t.match(line, /^(|#.*|ip .*|protocol bgp .*|\s+.*|})$/, `a line to paste: ${line}`);
  t.notMatch(s.text, /[<>]|TODO|XXX/, 'no placeholders');
});

t.test('IPv6 underlay, IPv4 only inside, no IPv4 prefixes', async (t) => {
  const s = customerSnippet({
    ...circuit,
    remote: '2001:db8:100::2',
    local: '2001:db8:100::1',
    mtu: 1452,
    inner: { v4: circuit.inner.v4 },
    prefixes: [],
  });
  t.equal(
    s.iproute2[0],
    'ip -6 tunnel add gre-cust-a mode ip6gre key 1000 local 2001:db8:100::2 remote 2001:db8:100::1 hoplimit 64 encaplimit none',
  );
  t.equal(s.iproute2[1], 'ip link set gre-cust-a mtu 1452');
  t.notOk(
    s.iproute2.some((l) => l.includes('-6 address')),
    'no inner IPv6 address',
  );
  t.match(s.bird, /export none;/);
  t.notMatch(s.bird, /ipv6/, 'no IPv6 channel');
});

t.test('prefix rules in BIRD syntax; names', async (t) => {
  t.equal(birdPrefix('203.0.113.0/24'), '203.0.113.0/24');
  t.equal(birdPrefix('203.0.113.0/24 le 28'), '203.0.113.0/24{24,28}');
  t.equal(birdPrefix('203.0.113.0/24 ge 26'), '203.0.113.0/24{26,32}');
  t.equal(birdPrefix('2001:db8::/32 ge 40 le 48'), '2001:db8::/32{40,48}');
  t.equal(interfaceName('a-very-long-customer-name'), 'gre-a-very-long');
  t.equal(interfaceName('a-very-long-customer-name').length, 15);
  t.equal(birdName('cust.a-1'), 'gredge_cust_a_1');
});
