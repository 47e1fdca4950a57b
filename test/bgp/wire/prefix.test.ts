import t from 'tap';
import {
  formatIpv4,
  formatIpv6,
  formatPrefix4,
  formatPrefix6,
  parseIpv4,
  parseIpv6,
  parsePrefix4,
  parsePrefix6,
  prefix4,
  prefix4Addr,
  prefix4Len,
  prefix6,
  prefix6Bytes,
  prefix6Len,
} from '../../../src/bgp/wire/index.js';

t.test('IPv4 prefixes', async (t) => {
  const p = parsePrefix4('192.0.2.0/24')!;
  t.equal(p, 0xc0000200 * 64 + 24);
  t.equal(prefix4Addr(p), 0xc0000200);
  t.equal(prefix4Len(p), 24);
  t.equal(formatPrefix4(p), '192.0.2.0/24');
  t.equal(prefix4(0xc0000201, 24), p, 'host bits cleared');
  t.equal(formatPrefix4(parsePrefix4('0.0.0.0/0')!), '0.0.0.0/0');
  t.equal(formatPrefix4(parsePrefix4('255.255.255.255/32')!), '255.255.255.255/32');
  for (const bad of [
    '192.0.2.1/24',
    '192.0.2.0/33',
    '192.0.2/24',
    '192.0.2.0',
    '256.0.0.0/8',
    '01.0.0.0/8',
    'x/8',
  ]) {
    t.equal(parsePrefix4(bad), undefined, bad);
  }
  t.equal(parseIpv4('127.0.0.1'), 0x7f000001);
  t.equal(formatIpv4(0xffffffff), '255.255.255.255');
});

t.test('IPv6 addresses follow RFC 5952', async (t) => {
  const cases: [string, string][] = [
    ['2001:db8::1', '2001:db8::1'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['::', '::'],
    ['::1', '::1'],
    ['2001:db8:0:1:0:0:0:1', '2001:db8:0:1::1'],
    ['2001:db8::1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:0:1:0:0:0', '2001:db8:0:0:1::'],
    ['fe80::1:2', 'fe80::1:2'],
    ['::ffff:192.0.2.1', '::ffff:c000:201'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2:3:4:5:6'],
  ];
  for (const [input, want] of cases) t.equal(formatIpv6(parseIpv6(input)!), want, input);
  for (const bad of ['2001:db8:::1', '1:2:3:4:5:6:7:8:9', '2001:db8::g', '1::2::3', ':', '12345::']) {
    t.equal(parseIpv6(bad), undefined, bad);
  }
});

t.test('IPv6 prefixes', async (t) => {
  const p = parsePrefix6('2001:db8:100::/40')!;
  t.equal(prefix6Len(p), 40);
  t.equal(p.length, 1 + 5);
  t.equal(formatPrefix6(p), '2001:db8:100::/40');
  t.same([...prefix6Bytes(p)], [0x20, 0x01, 0x0d, 0xb8, 0x01, ...new Array(11).fill(0)]);
  t.equal(prefix6(parseIpv6('2001:db8:1ff::')!, 39), parsePrefix6('2001:db8::/39'), 'host bits cleared');
  t.equal(parsePrefix6('2001:db8::1/64'), undefined, 'host bits rejected');
  t.equal(formatPrefix6(parsePrefix6('::/0')!), '::/0');
  t.equal(parsePrefix6('2001:db8::/129'), undefined);
});
