/**
 * Cross-checks beyond the golden fixture (cross-checks.yaml): when two customers' prefix rules
 * overlap, and that entries which are each invalid in some other way still get checked.
 */
import t from 'tap';
import { rulesOverlap } from '../../src/policy/prefix-set.js';
import { parseConfig } from '../../src/config/load.js';
import { parsePrefixRule, type PrefixRule } from '../../src/policy/prefix-set.js';

const rule = (s: string) => parsePrefixRule(s) as PrefixRule;

t.test('rulesOverlap: a prefix both rules match', async (t) => {
  const cases: Array<[string, string, boolean]> = [
    ['203.0.113.0/24', '203.0.113.0/24', true],
    ['203.0.113.0/24', '203.0.113.0/25', false], // exact /24 against exact /25
    ['203.0.113.0/24 le 25', '203.0.113.0/25', true],
    ['203.0.113.0/24 le 25', '203.0.113.128/25 ge 26', false], // lengths do not meet
    ['203.0.113.0/24 ge 26', '203.0.113.0/25 le 26', true],
    ['203.0.113.0/25 le 32', '203.0.113.128/25 le 32', false], // side by side
    ['198.51.100.0/24', '203.0.113.0/24', false],
    ['0.0.0.0/0 le 32', '203.0.113.7/32', true],
    ['2001:db8::/32 le 48', '2001:db8:1::/48', true],
    ['2001:db8::/32 le 47', '2001:db8:1::/48', false],
    ['2001:db8::/32 le 64', '203.0.113.0/24', false], // families never
  ];
  for (const [a, b, want] of cases) {
    t.equal(rulesOverlap(rule(a), rule(b)), want, `${a} / ${b}`);
    t.equal(rulesOverlap(rule(b), rule(a)), want, `${b} / ${a}`);
  }
});

const head = 'router-id: 192.0.2.1\nlocal-as: 65000\n';
const cust = (name: string, as: number, addr: string, prefixes: string) =>
  `  - { name: ${name}, address: ${addr}, remote-as: ${as}, role: customer, prefixes: ${prefixes} }\n`;

t.test('one customer on two sessions may repeat its prefixes; another AS may not', async (t) => {
  const ok = `${head}neighbors:\n${cust('a1', 64501, '192.0.2.10', '[203.0.113.0/24]')}${cust('a2', 64501, '2001:db8::10', '[203.0.113.0/24]')}`;
  t.equal(parseConfig(ok, 'x.yaml').neighbors.length, 2);
  const bad = `${ok}${cust('b', 64502, '192.0.2.11', '[198.51.100.0/24, 203.0.113.0/24 le 25]')}`;
  t.throws(() => parseConfig(bad, 'x.yaml'), {
    message:
      "x.yaml:6:99: neighbors[2].prefixes[1]: '203.0.113.0/24 le 25' overlaps '203.0.113.0/24' of another customer, neighbors[0].prefixes[0] at x.yaml:4:83 (AS 64501)",
  });
});

t.test('addresses compare by value, not by text', async (t) => {
  const yaml = `${head}neighbors:\n  - { name: a, address: "2001:db8::1", remote-as: 64501, role: peer }\n  - { name: b, address: "2001:DB8:0:0::1", remote-as: 64502, role: peer }\n`;
  t.throws(() => parseConfig(yaml, 'x.yaml'), {
    message: /neighbors\[1\]\.address: duplicates the address of neighbors\[0\]/,
  });
});

t.test('an entry invalid elsewhere is still checked against the others', async (t) => {
  const yaml = `${head}neighbors:\n  - { name: a, address: 192.0.2.1, remote-as: 64501, role: peer }\n  - { name: a, address: 192.0.2.1, remote-as: 0, role: peer, hold-time: 1 }\n`;
  const err = t.throws(() => parseConfig(yaml, 'x.yaml')) as Error;
  t.match(err.message, /neighbors\[1\]\.name: duplicates the name of neighbors\[0\]/);
  t.match(err.message, /neighbors\[1\]\.address: duplicates the address/);
  t.match(err.message, /neighbors\[1\]\.remote-as: must be between 1 and 4294967295, got 0/);
  t.match(err.message, /neighbors\[1\]\.hold-time: must be 0 or at least 3/);
});

t.test('an IPv6 session in a tunnel needs the tunnel inner.local6', async (t) => {
  const yaml = `${head}underlay: { local: 198.51.100.1 }\ntunnels:\n  - { name: t, remote: 198.51.100.2, key: 1, inner: { local: 192.0.2.129/30, local6: "2001:db8:ff::/127" } }\nneighbors:\n  - { name: a, address: "2001:db8:ff::1", remote-as: 64501, role: customer, tunnel: t }\n  - { name: b, address: 192.0.2.130, remote-as: 64501, role: customer, tunnel: t }\n`;
  t.same(
    parseConfig(yaml, 'x.yaml').neighbors.map((n) => n.tunnel),
    ['t', 't'],
  );
  t.throws(() => parseConfig(yaml.replace('"2001:db8:ff::1"', '"2001:db8:fe::1"'), 'x.yaml'), {
    message: /2001:db8:fe::1 is not inside the inner subnet 2001:db8:ff::\/127 of tunnel 't'/,
  });
});

t.test('a repeated key is reported with every other problem', async (t) => {
  t.throws(() => parseConfig('router-id: 192.0.2.1\nlocal-as: 0\nrouter-id: 192.0.2.2\n', 'x.yaml'), {
    message:
      "x.yaml:2:11: local-as: must be between 1 and 4294967295, got 0\nx.yaml:3:1: router-id: duplicate key 'router-id'",
  });
});
