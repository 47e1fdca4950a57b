/**
 * Prefix rules (PREFIX, le, ge) against compact prefix keys of both families: exact matches,
 * ranges, the bit boundary inside a byte, keys shorter than the rule, and every message of a
 * malformed rule.
 */
import t from 'tap';
import { parsePrefix4, parsePrefix6 } from '../../src/bgp/wire/prefix.js';
import { DEFAULT_BOGONS } from '../../src/policy/bogons.js';
import { PrefixSet, parsePrefixRule } from '../../src/policy/prefix-set.js';

const p4 = (s: string) => {
  const p = parsePrefix4(s);
  if (p === undefined) throw new Error(s);
  return p;
};
const p6 = (s: string) => {
  const p = parsePrefix6(s);
  if (p === undefined) throw new Error(s);
  return p;
};

t.test('IPv4 rules', async (t) => {
  const set = PrefixSet.of([
    '203.0.113.0/24',
    '198.51.100.0/24 le 26',
    '192.0.2.128/25 ge 27 le 28',
    '10.0.0.0/8 ge 16',
  ]);
  const cases: [string, boolean][] = [
    ['203.0.113.0/24', true],
    ['203.0.113.0/25', false], // exact only
    ['203.0.112.0/23', false],
    ['198.51.100.0/24', true],
    ['198.51.100.64/26', true],
    ['198.51.100.64/27', false],
    ['198.51.101.0/24', false],
    ['192.0.2.128/27', true],
    ['192.0.2.240/28', true],
    ['192.0.2.128/26', false],
    ['192.0.2.0/27', false], // outside the /25
    ['10.1.0.0/16', true],
    ['10.255.255.255/32', true],
    ['10.0.0.0/8', false],
    ['11.0.0.0/16', false],
  ];
  for (const [s, want] of cases)
    t.equal(set.has4(p4(s)), want, `${s} ${want ? 'matches' : 'does not match'}`);
  t.equal(set.match4(p4('198.51.100.64/26'))?.text, '198.51.100.0/24 le 26', 'names the rule that matched');
});

t.test('IPv6 rules', async (t) => {
  const set = PrefixSet.of([
    '2001:db8:1::/48 ge 56 le 64',
    '2001:db8:ab00::/40 le 48',
    'fc00::/7 le 128',
    '2001:db8::/32',
  ]);
  const cases: [string, boolean][] = [
    ['2001:db8:1::/56', true],
    ['2001:db8:1:ff00::/64', true],
    ['2001:db8:1::/48', false],
    ['2001:db8:1::/72', false],
    ['2001:db8:2::/56', false],
    ['2001:db8:ab00::/40', true],
    ['2001:db8:abff::/48', true],
    ['2001:db8:ac00::/40', false],
    ['fd00::/8', true], // the 7th bit boundary
    ['fe00::/8', false],
    ['fc00::/7', true],
    ['2001:db8::/32', true],
    ['2001:db8::/33', false],
    ['2001::/16', false], // a key shorter than the rule
  ];
  for (const [s, want] of cases)
    t.equal(set.has6(p6(s)), want, `${s} ${want ? 'matches' : 'does not match'}`);
  t.notOk(set.has4(p4('192.0.2.0/24')), 'an IPv6 set matches no IPv4 prefix');
});

t.test('malformed rules say what is wrong', async (t) => {
  const bad: [string, RegExp][] = [
    ['203.0.113.0', /is not PREFIX\/LEN/],
    ['203.0.113.0/24 le', /is not PREFIX\/LEN/],
    ['203.0.113.0/24 le 26 ge 25', /is not PREFIX\/LEN/],
    ['203.0.113.1/24', /host bits set beyond \/24/],
    ['300.0.113.0/24', /not an IPv4 or IPv6 address/],
    ['203.0.113.0/33', /longer than 32/],
    ['203.0.113.0/24 le 23', /le 23 is shorter than the prefix length 24/],
    ['203.0.113.0/24 ge 20', /ge 20 is shorter than the prefix length 24/],
    ['203.0.113.0/24 ge 28 le 26', /le 26 is shorter than ge 28/],
    ['2001:db8::/32 le 129', /le 129 is longer than 128/],
    ['2001:db8::/32 ge 130', /ge 130 is longer than 128/],
    ['2001:db8::1/64', /host bits set/],
  ];
  for (const [text, re] of bad) {
    const r = parsePrefixRule(text);
    t.type(r, 'string', `'${text}' is refused`);
    t.match(r, re);
  }
  t.same(parsePrefixRule('  192.0.2.0/24   le   32 '), {
    text: '192.0.2.0/24 le 32',
    family: 4,
    len: 24,
    ge: 24,
    le: 32,
    net4: 0xc0000200,
    net6: new Uint8Array(16),
  });
});

t.test('the default bogon list', async (t) => {
  const set = PrefixSet.of(DEFAULT_BOGONS.map((b) => b.rule));
  for (const s of [
    '10.1.2.0/24',
    '192.168.0.0/16',
    '127.0.0.0/8',
    '192.0.2.0/24',
    '224.0.0.0/4',
    '255.255.255.255/32',
    '240.0.0.0/5',
    '226.0.0.0/7',
    '100.64.0.0/10',
    '8.8.8.0/25',
  ])
    t.ok(set.has4(p4(s)), `${s} is a bogon`);
  for (const s of ['8.8.8.0/24', '1.0.0.0/8', '0.0.0.0/0', '193.0.0.0/21'])
    t.notOk(set.has4(p4(s)), `${s} is not a bogon`);
  for (const s of [
    '2001:db8::/32',
    'fe80::/10',
    'fd12:3456::/32',
    'ff02::/16',
    '::/128',
    '2a00:1450::/49',
    '2002::/16',
  ])
    t.ok(set.has6(p6(s)), `${s} is a bogon`);
  for (const s of ['2a00:1450::/32', '2001:4860::/32', '::/0', '2600::/12'])
    t.notOk(set.has6(p6(s)), `${s} is not a bogon`);
});

t.test('a few rules scanned, many looked up by octet: the same first match as a scan of all', async (t) => {
  let seed = 7;
  const rand = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const rule4 = () => {
    const len = [0, 4, 7, 8, 12, 16, 22, 24][rand(8)]!;
    const addr = len === 0 ? 0 : ((rand(0x10000) << 16) | rand(0x10000)) & (len === 32 ? -1 : ~(-1 >>> len));
    const a = addr >>> 0;
    const text = `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}/${len}`;
    return rand(2) ? `${text} le ${Math.min(32, len + rand(10))}` : text;
  };
  for (const n of [0, 1, 3, 8, 9, 20]) {
    const texts = Array.from({ length: n }, rule4);
    const set = PrefixSet.of(texts);
    const rules = texts.map((x) => parsePrefixRule(x) as Exclude<ReturnType<typeof parsePrefixRule>, string>);
    let checked = 0;
    let matched = 0;
    for (let k = 0; k < 3000; k++) {
      // Half the prefixes inside a rule, so that matches are common.
      const r = rules.length && rand(2) ? rules[rand(rules.length)]! : undefined;
      const len = r ? Math.min(32, r.len + rand(10)) : rand(33);
      const base = r ? r.net4 : ((rand(0x10000) << 16) | rand(0x10000)) >>> 0;
      const noise = ((rand(0x10000) << 16) | rand(0x10000)) >>> (r ? r.len : 0);
      const addr = (len === 0 ? 0 : (base | (r && r.len < 32 ? noise : 0)) & ~(-1 >>> len)) >>> 0;
      const text = `${addr >>> 24}.${(addr >>> 16) & 255}.${(addr >>> 8) & 255}.${addr & 255}/${len}`;
      const want = rules.findIndex(
        (x) => len >= x.ge && len <= x.le && (x.len === 0 || (addr & ~(-1 >>> x.len)) >>> 0 === x.net4),
      );
      const m = set.match4(p4(text));
      const got = m === undefined ? -1 : set.rules.indexOf(m);
      if (got !== want) t.fail(`${n} rules, ${text}: rule ${got} instead of ${want}`);
      checked++;
      if (want >= 0) matched++;
    }
    t.ok(matched > 100 || n === 0, `${n} rules: ${checked} prefixes, ${matched} matched, as a scan says`);
  }
});
