/**
 * What makes crossCheck fast on 10,000 tunnels and neighbors must not change what it says:
 * - each quick reading (config/checks.ts) gives the schema's own value wherever it decides, and
 *   decides for the ordinary values (else the speed is gone, silently);
 * - quickRule gives parsePrefixRule's rule wherever it decides;
 * - the fast address helpers of net/ip.ts give the answers of the ones they stand in for;
 * - StringTable (net/overlap.ts) keeps first or last numbers as asked;
 * - a large config with every kind of clash reports each one, at its place, in config order.
 */
import t from 'tap';
import { parseIpv6 as wireIpv6 } from '../../src/bgp/wire/prefix.js';
import { crossCheck, QUICK_FIELDS, quickField, quickRuleOf } from '../../src/config/checks.js';
import { neighborShape, tunnelShape } from '../../src/config/schema.js';
import {
  type Cidr,
  canonicalIp,
  canonicalIpFast,
  contains,
  containsFast,
  formatIp,
  formatIpFast,
  overlaps,
  overlapsFast,
  parseCidr,
  parseCidrFast,
  parseIp,
  parseIpFast,
  plainIpv6,
} from '../../src/net/ip.js';
import { StringTable } from '../../src/net/overlap.js';
import { parsePrefixRule } from '../../src/policy/prefix-set.js';
import { prng as rng } from '../prng.js';

const ADDRESSES = [
  '192.0.2.1',
  '0.0.0.0',
  '255.255.255.255',
  '01.2.3.4',
  '1.2.3',
  '256.0.0.1',
  '2001:db8::1',
  '2001:DB8::1',
  '2001:db8:0:0::1',
  '2001:0db8:0000:0000:0000:0000:0000:0001',
  '::',
  '::1',
  '1::',
  '1:2:3:4:5:6:7:8',
  '1:2:3:4:5:6:7::',
  '1:2:3:4:5:6:7:8::',
  '1::2::3',
  ':::',
  ':1::',
  '2001:db8::00001',
  '::ffff:192.0.2.1',
  '::ffff:c000:201',
  '::192.0.2.1',
  '::ffff:1.2.03.4',
  'fe80::1%eth0',
  'g::1',
  '',
];

const VALUES: Record<string, unknown[]> = {
  name: ['a', 'c7', 't9999', 'A.b-c_1', 'x'.repeat(63), 'x'.repeat(64), 'bad name', '', 42, null, true],
  remote: [...ADDRESSES, 5, null, {}],
  address: [...ADDRESSES, 5, null, {}],
  local: [...ADDRESSES, undefined, 5],
  key: [0, 1, 4294967295, 4294967296, -1, 1.5, '1', Number.NaN, null],
  'remote-as': [1, 65000, 4294967295, 0, 4294967296, 1.5, '65000', null],
  role: ['customer', 'peer', 'transit', 'internal', 'Customer', '', 3, null],
  tunnel: ['t1', 'bad name', 7, undefined, null],
  'role-strict': [true, false, undefined, 'true', null],
  prefixes: [
    ['203.0.113.0/24', '2001:db8::/32 le 48'],
    ['203.0.113.0/24 ge 25 le 26'],
    [],
    ['  203.0.113.0/24  le 25 '],
    ['203.0.113.1/24'],
    ['junk'],
    [5],
    'x',
    undefined,
    null,
  ],
  inner: [
    undefined,
    {},
    { local: '192.0.2.1/30' },
    { local: '192.0.2.0/31', local6: '2001:DB8:FF::/127' },
    { local6: '2001:db8:ff:0:0::1/64' },
    { local6: '::ffff:192.0.2.0/127' },
    { local: '192.0.2.1/29' },
    { local: '192.0.2.1/030' },
    { local: '2001:db8::/127' },
    { local6: '192.0.2.1/30' },
    { local: 5 },
    { other: 1 },
    null,
    'x',
  ],
};

/** Values the quick readings must decide themselves: the forms a generated config is made of. */
const ORDINARY: Record<string, unknown[]> = {
  name: ['c7'],
  remote: ['198.51.100.2', '2001:db8::2'],
  address: ['127.1.0.1', '2001:db8:1::4e1b'],
  local: ['198.51.100.1'],
  key: [8],
  'remote-as': [4200000001],
  role: ['customer'],
  tunnel: ['t7'],
  'role-strict': [true],
  prefixes: [['2001:db8:8000::/48 le 64', '198.18.0.0/24']],
  inner: [{ local6: '2001:db8:1::e/127' }, { local: '192.0.2.129/30' }, undefined],
};

t.test('each quick reading gives the schema value wherever it decides', async (t) => {
  const shapes = { tunnel: tunnelShape, neighbor: neighborShape } as const;
  let decided = 0;
  for (const [which, keys] of Object.entries(QUICK_FIELDS) as Array<
    [keyof typeof QUICK_FIELDS, readonly string[]]
  >) {
    const shape = shapes[which] as unknown as Record<
      string,
      { safeParse(v: unknown): { success: boolean; data?: unknown } }
    >;
    for (const key of keys) {
      for (const v of [...(VALUES[key] ?? []), ...(ORDINARY[key] ?? [])]) {
        const q = quickField(shape, key, v);
        if (q === 'ask') continue;
        decided++;
        const z = shape[key]!.safeParse(v);
        t.same(q.value, z.success ? z.data : undefined, `${which}.${key} ${JSON.stringify(v)}`);
      }
      for (const v of ORDINARY[key] ?? [])
        t.not(quickField(shape, key, v), 'ask', `${which}.${key} ${JSON.stringify(v)} is read quickly`);
    }
  }
  t.ok(decided > 80, `${decided} values decided`);
});

t.test('quickRule gives parsePrefixRule rule wherever it decides', async (t) => {
  const r = rng(7);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  const addrs = [
    '10.0.0.0',
    '203.0.113.128',
    '0.0.0.0',
    '01.0.0.0',
    '2001:db8::',
    '2001:DB8:1::',
    '::',
    '::ffff:1.2.3.4',
    'x',
  ];
  const lens = ['0', '8', '08', '24', '25', '32', '33', '48', '64', '128', '129', '', '1000'];
  const seps = [' ', ' ', ' ', '  ', '\t'];
  let quick = 0;
  let bad = 0;
  for (let n = 0; n < 30000; n++) {
    let text = `${pick(addrs)}/${pick(lens)}`;
    const m = r();
    if (m < 0.3) text += `${pick(seps)}le${pick(seps)}${pick(lens)}`;
    else if (m < 0.5) text += `${pick(seps)}ge${pick(seps)}${pick(lens)}`;
    else if (m < 0.7) text += `${pick(seps)}ge ${pick(lens)}${pick(seps)}le ${pick(lens)}`;
    else if (m < 0.75) text += ` le ${pick(lens)} ge ${pick(lens)}`;
    if (r() < 0.05) text = ` ${text}`;
    const got = quickRuleOf(text);
    if (got === 'ask') continue;
    quick++;
    const want = parsePrefixRule(text);
    if (JSON.stringify({ ...(want as object) }) !== JSON.stringify({ ...got }) || typeof want === 'string')
      bad++;
  }
  t.equal(bad, 0, `${quick} rules decided quickly, each as parsePrefixRule reads it`);
  t.ok(quick > 1500, 'the plain forms are decided quickly');
  t.equal(quickRuleOf('2001:db8:8000::/48 le 64') === 'ask', false);
  t.equal(quickRuleOf('198.18.0.0/24') === 'ask', false);
});

t.test('the fast address helpers answer as the ones they stand in for', async (t) => {
  const r = rng(11);
  const parts = [
    '0',
    '1',
    'f',
    'F',
    'ff',
    '0ff',
    'ffff',
    '10000',
    '',
    ':',
    '::',
    '.',
    '1.2.3.4',
    '%',
    'g',
    'db8',
  ];
  const inputs: string[] = [...ADDRESSES];
  for (let n = 0; n < 20000; n++) {
    let s = '';
    for (let m = Math.floor(r() * 12); m > 0; m--)
      s += parts[Math.floor(r() * parts.length)]! + (r() < 0.7 ? ':' : '');
    inputs.push(s);
  }
  for (let n = 0; n < 20000; n++) {
    const groups = Array.from({ length: 8 }, () => {
      const v = r() < 0.5 ? 0 : Math.floor(r() * 65536);
      const h = v.toString(16);
      return r() < 0.2 ? h.toUpperCase().padStart(4, '0') : h;
    });
    const a = Math.floor(r() * 8);
    const b = a + 1 + Math.floor(r() * (8 - a));
    inputs.push(
      r() < 0.3 ? groups.join(':') : `${groups.slice(0, a).join(':')}::${groups.slice(b).join(':')}`,
    );
  }
  const ipText = (ip: ReturnType<typeof parseIp>) => (ip ? `${ip.family}:${ip.bytes.join('.')}` : 'none');
  let wrong = 0;
  let plain = 0;
  for (const s of inputs) {
    if (ipText(parseIp(s)) !== ipText(parseIpFast(s))) wrong++;
    if (canonicalIp(s) !== (canonicalIpFast(s) ?? s)) wrong++;
    const c = `${s}/${s.length % 2 ? '64' : '127'}`;
    const [x, y] = [parseCidr(c), parseCidrFast(c)];
    if (`${ipText(x)}/${x?.length}` !== `${ipText(y)}/${y?.length}`) wrong++;
    const p = plainIpv6(s);
    if (p) {
      plain++;
      if (wireIpv6(s)?.join('.') !== p.join('.')) wrong++;
    }
  }
  t.equal(wrong, 0, `${inputs.length} texts`);
  t.ok(plain > 15000, `${plain} plain IPv6 texts among them`);
  let fmt = 0;
  for (let n = 0; n < 20000; n++) {
    const b = new Uint8Array(r() < 0.1 ? 4 : 16).map(() => (r() < 0.6 ? 0 : Math.floor(r() * 256)));
    if (r() < 0.1) b.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255].slice(0, b.length));
    if (formatIp(b) !== formatIpFast(b)) fmt++;
  }
  t.equal(fmt, 0, 'formatIpFast: formatIp text for random bytes');
  let rel = 0;
  const prefix = (): Cidr => {
    const v6 = r() < 0.5;
    const bytes = new Uint8Array(v6 ? 16 : 4).map((_, i) =>
      i < 2 ? 32 : r() < 0.7 ? 0 : Math.floor(r() * 256),
    );
    return { family: v6 ? 6 : 4, bytes, length: Math.floor(r() * (v6 ? 129 : 33)) };
  };
  for (let n = 0; n < 20000; n++) {
    const [a, b] = [prefix(), prefix()];
    if (contains(a, b) !== containsFast(a, b) || overlaps(a, b) !== overlapsFast(a, b)) rel++;
    const ip = { family: b.family, bytes: b.bytes };
    if (contains(a, ip) !== containsFast(a, ip)) rel++;
  }
  t.equal(rel, 0, 'containsFast and overlapsFast: the answers of contains and overlaps');
});

t.test('StringTable: last number with set/put, first with claim, past its first size', async (t) => {
  const s = new StringTable(2);
  for (let i = 0; i < 1000; i++) t.equal(s.claim(`k${i % 300}`, i), i < 300 ? -1 : i % 300);
  t.equal(s.size, 300);
  t.equal(s.put('k5', 7), 5);
  t.equal(s.get('k5'), 7);
  t.equal(s.get('nope'), -1);
  s.set('', 1);
  t.equal(s.get(''), 1);
});

/** A generated config of n customers (tunnel + neighbor each), with the problems asked for. */
function generated(n: number) {
  const tunnels = Array.from({ length: n }, (_, i) => ({
    name: `t${i}`,
    remote: `198.51.${100 + (i >> 8)}.${i & 255}`,
    key: i + 1,
    inner: { local6: `2001:db8:1::${(i * 2).toString(16)}/127` },
  }));
  const neighbors = Array.from({ length: n }, (_, i) => ({
    name: `c${i}`,
    address: `2001:db8:1::${(i * 2 + 1).toString(16)}`,
    'remote-as': 4200000000 + i,
    role: 'customer',
    tunnel: `t${i}`,
    prefixes: [`2001:db8:${(0x8000 + i).toString(16)}::/48 le 64`],
  }));
  return {
    'router-id': '192.0.2.1',
    'local-as': 65000,
    underlay: { local: '192.0.2.1' },
    tunnels,
    neighbors,
  };
}

t.test('a large config: every clash found, at its place, in config order', async (t) => {
  const cfg = generated(3000);
  t.same(
    crossCheck(cfg, (p) => p.join('.')),
    [],
    'valid as generated',
  );
  cfg.tunnels[2000]!.name = 't5'; // a name twice
  cfg.tunnels[2100]!.remote = cfg.tunnels[10]!.remote; // remote and key twice
  cfg.tunnels[2100]!.key = cfg.tunnels[10]!.key;
  cfg.tunnels[2200]!.inner = { local6: '2001:db8:1::15/64' }; // contains t0's /127
  cfg.tunnels[2300]!.inner = { local6: '2001:DB8:1::14/127' }; // t10's, written otherwise
  cfg.neighbors[2400]!.address = '2001:DB8:1:0::15'; // c10's address, written otherwise
  cfg.neighbors[2500]!.prefixes = ['2001:db8:8007::/48 le 64']; // c7's, another AS
  cfg.neighbors[2600]!.tunnel = 'nope';
  const issues = crossCheck(cfg, (p) => p.join('.'));
  t.same(issues, [
    { path: ['tunnels', 2000, 'name'], message: 'duplicates the name of tunnels.5' },
    {
      path: ['tunnels', 2100, 'key'],
      message: 'remote 198.51.100.10 key 11 is already tunnels.10: one tunnel per remote and GRE key',
    },
    {
      path: ['tunnels', 2200, 'inner', 'local6'],
      message: 'inner subnet 2001:db8:1::/64 overlaps 2001:db8:1::/127 of tunnels.0.inner.local6',
    },
    {
      path: ['tunnels', 2300, 'inner', 'local6'],
      message: 'the same inner subnet (2001:db8:1::14/127) as tunnels.10.inner.local6',
    },
    // t5 now names two tunnels: a session in 't5' is in the last one (tunnels[2000]).
    {
      path: ['neighbors', 5, 'address'],
      message: "2001:db8:1::b is not inside the inner subnet 2001:db8:1::fa0/127 of tunnel 't5'",
    },
    { path: ['neighbors', 2000, 'tunnel'], message: "no tunnel named 't2000' in tunnels" },
    // (c2200's address is inside t2200's new /64: no problem there)
    {
      path: ['neighbors', 2300, 'address'],
      message: "2001:db8:1::11f9 is not inside the inner subnet 2001:db8:1::14/127 of tunnel 't2300'",
    },
    {
      path: ['neighbors', 2400, 'address'],
      message: "2001:db8:1::15 is not inside the inner subnet 2001:db8:1::12c0/127 of tunnel 't2400'",
    },
    { path: ['neighbors', 2600, 'tunnel'], message: "no tunnel named 'nope' in tunnels" },
    { path: ['neighbors', 2400, 'address'], message: 'duplicates the address of neighbors.10' },
    {
      path: ['neighbors', 2500, 'prefixes', 0],
      message:
        "'2001:db8:8007::/48 le 64' overlaps '2001:db8:8007::/48 le 64' of another customer, neighbors.7.prefixes.0 (AS 4200000007)",
    },
  ]);
});
