/**
 * Allocation for `customer add` (src/provision/allocate.ts): the lowest free GRE key of the range
 * per remote, the lowest free /30 and /127 of a pool past networks of any length, exhaustion, and
 * a random check against a brute-force model (the seed is printed; GREDGE_SEED replays it).
 */
import t from 'tap';
import { type Cidr, formatCidr, parseCidr } from '../../src/net/ip.js';
import { allocateKey, allocateSubnet, freeSubnets, innerPair } from '../../src/provision/allocate.js';

const cidr = (s: string): Cidr => {
  const c = parseCidr(s);
  if (!c) throw new Error(s);
  return c;
};
const text = (c: Cidr | undefined) => (c ? formatCidr(c.bytes, c.length) : undefined);

t.test('keys: the lowest free key of the range, per remote', async (t) => {
  const range = { low: 100, high: 102 };
  const tunnels = [
    { remote: '198.51.100.2', key: 100 },
    { remote: '198.51.100.2', key: 102 },
    { remote: '198.51.100.3', key: 100 },
    { remote: '198.51.100.2', key: 7 }, // outside the range: irrelevant
  ];
  t.equal(allocateKey(range, '198.51.100.2', tunnels), 101, 'the gap');
  t.equal(allocateKey(range, '198.51.100.3', tunnels), 101);
  t.equal(allocateKey(range, '198.51.100.4', tunnels), 100, 'a new remote starts at the bottom');
  t.equal(
    allocateKey(range, '198.51.100.2', [...tunnels, { remote: '198.51.100.2', key: 101 }]),
    undefined,
    'exhausted for that remote',
  );
  t.equal(allocateKey({ low: 5, high: 5 }, '2001:db8::1', []), 5, 'a range of one key');
  // After a removal the key is free again: allocation looks at what is configured now.
  t.equal(allocateKey(range, '198.51.100.2', tunnels.slice(1)), 100, 'a removed customer’s key is reused');
});

t.test('subnets: the lowest free /30 past used networks of any length', async (t) => {
  const pool = cidr('192.0.2.0/28');
  t.equal(text(allocateSubnet(pool, 30, [])), '192.0.2.0/30', 'empty pool: the first');
  t.equal(text(allocateSubnet(pool, 30, [cidr('192.0.2.0/30')])), '192.0.2.4/30');
  t.equal(
    text(allocateSubnet(pool, 30, [cidr('192.0.2.4/30'), cidr('192.0.2.0/30')])),
    '192.0.2.8/30',
    'unsorted input',
  );
  t.equal(text(allocateSubnet(pool, 30, [cidr('192.0.2.4/30')])), '192.0.2.0/30', 'a gap first');
  t.equal(text(allocateSubnet(pool, 30, [cidr('192.0.2.2/31')])), '192.0.2.4/30', 'a /31 takes its /30');
  t.equal(text(allocateSubnet(pool, 30, [cidr('192.0.2.0/29')])), '192.0.2.8/30', 'a /29 takes two');
  t.equal(text(allocateSubnet(pool, 30, [cidr('192.0.2.0/24')])), undefined, 'a covering network takes all');
  t.equal(
    text(allocateSubnet(pool, 30, [cidr('198.51.100.0/30'), cidr('2001:db8::/127')])),
    '192.0.2.0/30',
    'networks outside the pool and of the other family do not count',
  );
  const full = ['192.0.2.0/30', '192.0.2.4/30', '192.0.2.8/30', '192.0.2.12/30'].map(cidr);
  t.equal(allocateSubnet(pool, 30, full), undefined, 'exhausted');
  t.equal(text(allocateSubnet(pool, 30, full.slice(0, 2).concat(full.slice(3)))), '192.0.2.8/30', 'reuse');
  t.equal(text(allocateSubnet(cidr('192.0.2.16/30'), 30, [])), '192.0.2.16/30', 'a pool of one');
  t.equal(freeSubnets(pool, 30, []), 4n);
  t.equal(freeSubnets(pool, 30, [cidr('192.0.2.2/31'), cidr('192.0.2.0/29'), cidr('192.0.2.12/30')]), 1n);
  t.equal(freeSubnets(pool, 30, [cidr('10.0.0.0/8')]), 4n);
});

t.test('subnets: IPv6 /127 and the two ends of each kind', async (t) => {
  const pool = cidr('2001:db8:ff::/48');
  t.equal(text(allocateSubnet(pool, 127, [])), '2001:db8:ff::/127');
  t.equal(text(allocateSubnet(pool, 127, [cidr('2001:db8:ff::/127')])), '2001:db8:ff::2/127');
  t.equal(text(allocateSubnet(pool, 127, [cidr('2001:db8:ff::/64')])), '2001:db8:ff:1::/127', 'past a /64');
  t.equal(freeSubnets(pool, 127, [cidr('2001:db8:ff::/64')]), (1n << 79n) - (1n << 63n), 'big pools count');
  t.same(innerPair(cidr('192.0.2.8/30')), {
    subnet: '192.0.2.8/30',
    provider: '192.0.2.9',
    customer: '192.0.2.10',
    length: 30,
  });
  t.same(innerPair(cidr('2001:db8:ff::2/127')), {
    subnet: '2001:db8:ff::2/127',
    provider: '2001:db8:ff::2',
    customer: '2001:db8:ff::3',
    length: 127,
  });
});

t.test('random used sets against a brute-force model', async (t) => {
  const seed = Number(process.env.GREDGE_SEED ?? Date.now() % 1_000_000);
  t.comment(`seed ${seed} (GREDGE_SEED=${seed} replays it)`);
  let x = seed || 1;
  const rnd = (n: number) => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x % n;
  };
  const pool = cidr('192.0.2.0/26'); // 16 /30s
  for (let round = 0; round < 300; round++) {
    const used: Cidr[] = [];
    for (let i = rnd(12); i > 0; i--) {
      const len = 27 + rnd(6); // /27 .. /32
      const addr = rnd(64) & ~((1 << (32 - len)) - 1);
      used.push(cidr(`192.0.2.${addr}/${len}`));
    }
    const taken = new Set<number>();
    for (const u of used) {
      const start = u.bytes[3]!;
      const size = 1 << (32 - u.length);
      for (let a = start; a < start + size; a++) taken.add(a >> 2);
    }
    let want: string | undefined;
    for (let unit = 0; unit < 16; unit++)
      if (!taken.has(unit)) {
        want = `192.0.2.${unit * 4}/30`;
        break;
      }
    const got = text(allocateSubnet(pool, 30, used));
    if (got !== want) {
      t.equal(got, want, `round ${round}: used ${used.map(text).join(' ')}`);
      return;
    }
    t.equal(freeSubnets(pool, 30, used), BigInt(16 - taken.size), `round ${round}: free count`);
  }
  t.pass('300 rounds agree with the model');
});
