/**
 * RFC 6811 §2 validation on the VRP table: covering ignores maxLength, matching needs length ≤
 * maxLength and the origin, AS 0 matches nothing; IPv6; covering() for explain; add/remove;
 * the affected-prefix set; and a seeded random comparison with a brute-force oracle.
 */
import t from 'tap';
import { AffectedSet } from '../../src/rpki/affected.js';
import { parsePrefix, vrp, vrpText } from '../../src/rpki/text.js';
import type { Vrp } from '../../src/rpki/types.js';
import { VrpTable } from '../../src/rpki/vrp-table.js';

const V = (p: string, max: number, asn: number): Vrp => vrp(p, max, asn)!;
const P = (p: string) => parsePrefix(p)!;

t.test('RFC 6811 states, IPv4', async (t) => {
  const tbl = new VrpTable();
  t.ok(tbl.add(V('192.0.2.0/24', 24, 64500)));
  t.notOk(tbl.add(V('192.0.2.0/24', 24, 64500)), 'a duplicate is refused');
  tbl.add(V('198.51.100.0/22', 24, 64501));
  tbl.add(V('203.0.113.0/24', 24, 0)); // AS 0: "must not be routed"
  tbl.add(V('10.0.0.0/8', 8, 64502));
  t.equal(tbl.size, 4);

  t.equal(tbl.validate(P('192.0.2.0/24'), 64500), 'valid', 'exact prefix, right origin');
  t.equal(tbl.validate(P('192.0.2.0/24'), 64999), 'invalid', 'wrong origin');
  t.equal(tbl.validate(P('192.0.2.0/25'), 64500), 'invalid', 'longer than maxLength: covered, not matched');
  t.equal(tbl.validate(P('192.0.0.0/16'), 64500), 'not-found', 'a less specific is not covered');
  t.equal(tbl.validate(P('198.51.100.0/22'), 64501), 'valid', 'maxLength edge: /22 of a /22-24');
  t.equal(tbl.validate(P('198.51.103.0/24'), 64501), 'valid', 'maxLength edge: /24 of a /22-24');
  t.equal(tbl.validate(P('198.51.103.128/25'), 64501), 'invalid', 'one bit past maxLength');
  t.equal(tbl.validate(P('203.0.113.0/24'), 0), 'invalid', 'AS 0 VRP never matches, even origin 0');
  t.equal(tbl.validate(P('203.0.113.0/24'), 64500), 'invalid', 'AS 0 VRP makes the space Invalid');
  t.equal(tbl.validate(P('10.1.0.0/16'), 64502), 'invalid', '/16 under a /8-8');
  t.equal(tbl.validate(P('10.0.0.0/8'), 0), 'invalid', 'origin NONE (0) matches nothing');
  t.equal(tbl.validate(P('0.0.0.0/0'), 64500), 'not-found');

  // A second VRP for the same space with another AS: either origin is Valid.
  tbl.add(V('192.0.2.0/24', 25, 64510));
  t.equal(tbl.validate(P('192.0.2.0/25'), 64510), 'valid');
  t.equal(tbl.validate(P('192.0.2.0/25'), 64500), 'invalid');
  // A covering less specific VRP does not undo a match by a more specific one, nor vice versa.
  tbl.add(V('192.0.0.0/16', 24, 64520));
  t.equal(tbl.validate(P('192.0.2.0/24'), 64520), 'valid', 'matched by the /16-24');
  t.equal(tbl.validate(P('192.0.2.0/24'), 64500), 'valid', 'matched by the /24');
  t.equal(
    tbl.covering(P('192.0.2.0/25')).map(vrpText).sort().join(', '),
    '192.0.0.0/16-24 AS64520, 192.0.2.0/24-24 AS64500, 192.0.2.0/24-25 AS64510',
    'covering() lists every covering VRP',
  );
  t.same(tbl.covering(P('192.0.3.0/24')).map(vrpText), ['192.0.0.0/16-24 AS64520']);

  t.ok(tbl.remove(V('192.0.0.0/16', 24, 64520)));
  t.notOk(tbl.remove(V('192.0.0.0/16', 24, 64520)), 'removing twice');
  t.notOk(tbl.remove(V('192.0.2.0/24', 26, 64500)), 'another maxLength is another VRP');
  t.equal(tbl.validate(P('192.0.3.0/24'), 64520), 'not-found');
  t.equal(tbl.validate(P('192.0.2.0/24'), 4200000000), 'invalid');
  tbl.add(V('100.64.0.0/10', 24, 4200000000));
  t.equal(tbl.validate(P('100.64.1.0/24'), 4200000000), 'valid', '4-octet AS above 2^31');
  t.same([...tbl.entries()].map(vrpText).sort(), [
    '10.0.0.0/8-8 AS64502',
    '100.64.0.0/10-24 AS4200000000',
    '192.0.2.0/24-24 AS64500',
    '192.0.2.0/24-25 AS64510',
    '198.51.100.0/22-24 AS64501',
    '203.0.113.0/24-24 AS0',
  ]);
});

t.test('RFC 6811 states, IPv6', async (t) => {
  const tbl = new VrpTable();
  tbl.add(V('2001:db8::/32', 48, 64500));
  tbl.add(V('2001:db8:1::/48', 48, 64501));
  tbl.add(V('2001:db8:ff00::/40', 40, 0));
  tbl.add(V('::/0', 0, 64999));
  t.equal(tbl.size6, 4);
  t.equal(tbl.validate(P('2001:db8:2::/48'), 64500), 'valid');
  t.equal(tbl.validate(P('2001:db8:2::/49'), 64500), 'invalid', 'past maxLength 48');
  t.equal(tbl.validate(P('2001:db8:1::/48'), 64501), 'valid');
  t.equal(tbl.validate(P('2001:db8:1::/48'), 64500), 'valid', 'also matched by the /32-48');
  t.equal(tbl.validate(P('2001:db8:1::/48'), 64502), 'invalid');
  t.equal(
    tbl.validate(P('2001:db8:ff00::/40'), 64500),
    'valid',
    'an AS 0 VRP does not undo a match by another',
  );
  t.equal(tbl.validate(P('2001:db8:ff00::/44'), 64777), 'invalid', 'AS 0 /40 covers');
  t.equal(tbl.validate(P('2001:db9::/32'), 64500), 'invalid', 'covered only by ::/0-0');
  t.equal(tbl.validate(P('::/0'), 64999), 'valid');
  t.equal(tbl.validate(P('2001:db8:1:2:3:4:5:6/128'), 64500), 'invalid');
  tbl.remove(V('::/0', 0, 64999));
  t.equal(tbl.validate(P('2001:db9::/32'), 64500), 'not-found');
  t.equal(tbl.validate(P('2001:db8::/31'), 64500), 'not-found');
  t.same(tbl.covering(P('2001:db8:1::/64')).map(vrpText).sort(), [
    '2001:db8:1::/48-48 AS64501',
    '2001:db8::/32-48 AS64500',
  ]);
  t.equal(new VrpTable().validate(P('192.0.2.0/24'), 1), 'not-found', 'an empty table: NotFound');
});

t.test('affected set: routes covered by a changed VRP, whatever their length', async (t) => {
  const a = new AffectedSet();
  t.ok(a.empty);
  a.add(P('192.0.2.0/24'));
  a.add(P('2001:db8::/32'));
  t.ok(a.covers(P('192.0.2.0/24')));
  t.ok(a.covers(P('192.0.2.128/25')), 'longer than any maxLength: may turn Invalid');
  t.notOk(a.covers(P('192.0.0.0/16')), 'a less specific is never covered');
  t.notOk(a.covers(P('192.0.3.0/24')));
  t.ok(a.covers(P('2001:db8:5::/48')));
  t.notOk(a.covers(P('2001:db9::/48')));
  t.same(a.filter([P('192.0.2.0/26'), P('198.51.100.0/24')]), [P('192.0.2.0/26')]);
  t.equal([...a.prefixes()].length, 2);
  a.all = true;
  t.ok(a.covers(P('198.51.100.0/24')), 'all: everything');
});

/** Brute-force RFC 6811 over a list: the oracle. */
function oracle(vrps: Vrp[], route: number, origin: number): string {
  const addr = Math.floor(route / 64);
  const len = route % 64;
  let covered = false;
  for (const v of vrps) {
    const p = v.prefix as number;
    const vl = p % 64;
    if (vl > len) continue;
    const mask = vl === 0 ? 0 : (0xffffffff << (32 - vl)) >>> 0;
    if ((addr & mask) >>> 0 !== Math.floor(p / 64)) continue;
    covered = true;
    if (v.asn !== 0 && v.asn === origin && len <= v.maxLength) return 'valid';
  }
  return covered ? 'invalid' : 'not-found';
}

t.test('random tables against a brute-force oracle (seeded)', async (t) => {
  const seed = Number(process.env.RPKI_SEED ?? Date.now() % 100000);
  t.comment(`seed ${seed} (RPKI_SEED=${seed} to repeat)`);
  let s = seed >>> 0;
  const rand = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = s;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  const mask = (l: number) => (l === 0 ? 0 : (0xffffffff << (32 - l)) >>> 0);
  // A small address space (192.0.0.0/20) so routes and VRPs collide often.
  const pfx = (len: number) => ((0xc0000000 + Math.floor(rand() * 4096) * 256) & mask(len)) >>> 0;
  const tbl = new VrpTable();
  let live: Vrp[] = [];
  for (let round = 0; round < 40; round++) {
    for (let i = 0; i < 50; i++) {
      const len = 16 + Math.floor(rand() * 9);
      const v = {
        prefix: pfx(len) * 64 + len,
        maxLength: len + Math.floor(rand() * (33 - len)),
        asn: Math.floor(rand() * 4),
      };
      const known = live.some((x) => x.prefix === v.prefix && x.maxLength === v.maxLength && x.asn === v.asn);
      if (tbl.add(v) === known) {
        t.fail(`round ${round}: add(${vrpText(v)}) answered ${known}`);
        return;
      }
      if (!known) live.push(v);
    }
    for (let i = 0; i < 20 && live.length > 0; i++) {
      const k = Math.floor(rand() * live.length);
      if (!tbl.remove(live[k]!)) {
        t.fail(`round ${round}: remove(${vrpText(live[k]!)}) found nothing`);
        return;
      }
      live = live.filter((_, j) => j !== k);
    }
    if (tbl.size !== live.length) {
      t.fail(`round ${round}: size ${tbl.size}, expected ${live.length}`);
      return;
    }
    let bad = 0;
    for (let i = 0; i < 300; i++) {
      const len = 14 + Math.floor(rand() * 19);
      const route = pfx(len) * 64 + len;
      const origin = Math.floor(rand() * 4);
      if (tbl.validate(route, origin) !== oracle(live, route, origin)) bad++;
    }
    if (bad > 0) {
      t.fail(`round ${round}: ${bad} verdicts differ from the oracle`);
      return;
    }
  }
  t.pass('40 rounds of adds, removes and 300 verdicts each agree with the oracle');
});
