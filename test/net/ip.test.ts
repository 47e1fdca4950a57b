/**
 * The edge address module (src/net/ip.ts): strict parsing, and RFC 5952 text out — §4.1 no
 * leading zeros, §4.2.1 the longest run of zero fields as `::`, §4.2.2 never one lone zero
 * field, §4.2.3 the first of equal runs, §4.3 lower case; §5 IPv4-mapped as ::ffff:a.b.c.d.
 * formatIp of src/dataplane/addr.ts is the same function (it used to shorten the first run).
 */
import t from 'tap';
import { formatIp as dataplaneFormatIp, parseIp as dataplaneParseIp } from '../../src/dataplane/addr.js';
import { canonicalIp, formatIp, parseCidr, parseIp, unmapIpv4 } from '../../src/net/ip.js';

const bytes = (s: string) => parseIp(s)!.bytes;

t.test('RFC 5952 §4', async (t) => {
  const cases: Array<[string, string, string]> = [
    ['2001:db8:0:0:1:0:0:0', '2001:db8:0:0:1::', 'the longest run, not the first (§4.2.1)'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1', 'the longest run, though a shorter one comes first'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1', 'the first of two equal runs (§4.2.3)'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1', 'one zero field is not shortened (§4.2.2)'],
    ['2001:db8::1:1:1:1:1', '2001:db8:0:1:1:1:1:1', 'nor when written shortened'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1', 'no leading zeros (§4.1)'],
    ['2001:DB8::AbCd', '2001:db8::abcd', 'lower case (§4.3)'],
    ['0:0:0:0:0:0:0:0', '::', 'all zero'],
    ['0:0:0:0:0:0:0:1', '::1', 'leading run'],
    ['1:0:0:0:0:0:0:0', '1::', 'trailing run'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3', 'longest run in the middle'],
    ['::ffff:192.0.2.1', '::ffff:192.0.2.1', 'IPv4-mapped in mixed notation (§5)'],
    ['::ffff:c000:201', '::ffff:192.0.2.1', 'IPv4-mapped written in hex'],
    ['192.0.2.1', '192.0.2.1', 'IPv4'],
  ];
  for (const [input, want, why] of cases) {
    t.equal(formatIp(bytes(input)), want, `${input}: ${why}`);
    t.equal(dataplaneFormatIp(dataplaneParseIp(input)!), want, `${input} through dataplane/addr`);
    t.equal(canonicalIp(input), want);
  }
});

t.test('strict parsing at the edge', async (t) => {
  for (const bad of [
    '010.0.2.1', // leading zero: octal to inet_aton
    '10.1', // inet_aton's short forms
    '0x7f.0.0.1',
    '256.1.1.1',
    '1.2.3.4.5',
    'fe80::1%eth0', // zones have no place in a config
    '::ffff:1.2.3', // the embedded IPv4 follows the same rules
    '::ffff:010.1.1.1',
    '1:2:3:4:5:6:7:8:9',
    '12345::',
    '',
    'localhost',
  ])
    t.equal(parseIp(bad), undefined, `'${bad}' is refused`);
  t.same(parseIp('192.0.2.1'), { family: 4, bytes: Uint8Array.of(192, 0, 2, 1) });
  t.equal(parseIp('2001:db8::1')?.family, 6);
  t.same(parseCidr('192.0.2.129/30'), { family: 4, bytes: Uint8Array.of(192, 0, 2, 129), length: 30 });
  t.equal(parseCidr('192.0.2.0/33'), undefined);
  t.equal(parseCidr('192.0.2.0/024'), undefined, 'no leading zeros in a length either');
  t.equal(parseCidr('2001:db8::/129'), undefined);
});

t.test('unmapIpv4: what a dual-stack socket reports for an IPv4 peer', async (t) => {
  t.equal(unmapIpv4('::ffff:192.0.2.1'), '192.0.2.1');
  t.equal(unmapIpv4('::FFFF:192.0.2.1'), '192.0.2.1');
  t.equal(unmapIpv4('::ffff:c000:201'), '192.0.2.1');
  t.equal(unmapIpv4('2001:db8::1'), '2001:db8::1');
  t.equal(unmapIpv4('192.0.2.1'), '192.0.2.1');
  t.equal(unmapIpv4('not an address'), 'not an address');
  t.equal(
    unmapIpv4('2001:DB8:0:0:0:0:0:1'),
    '2001:db8::1',
    'other addresses in RFC 5952 text, as the config stores them',
  );
  t.equal(unmapIpv4('::ffff:127.0.0.61'), '127.0.0.61');
});
