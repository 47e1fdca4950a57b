/** UPDATE: byte-exact vectors, attribute round-trips, RFC 7606 outcomes, unknown attributes, EoR. */
import t, { type Test as TapTest } from 'tap';
import {
  type CodecContext,
  decodeUpdate,
  encodeAttributes,
  encodeEndOfRib,
  HEADER_LENGTH,
  packUpdates4,
  packUpdates6,
  packWithdrawals4,
  packWithdrawals6,
  type PathAttributes,
  parseIpv6,
  parsePrefix4,
  parsePrefix6,
  type UpdateMessage,
} from '../../../src/bgp/wire/index.js';
import { attr, cat, EBGP2, EBGP4, hex, IBGP4, MANDATORY4, NLRI, u16, u32, updateBody } from './helpers.js';

const M = 'ff'.repeat(16);

function decodeOk(body: Uint8Array, ctx: CodecContext): UpdateMessage {
  const r = decodeUpdate(body, ctx);
  if (!r.ok) throw new Error(`unexpected error ${r.error.message}`);
  return r.value;
}

const decodeMsg = (m: Uint8Array, ctx: CodecContext): UpdateMessage =>
  decodeOk(m.subarray(HEADER_LENGTH), ctx);

t.test('byte-exact UPDATE from RFC 4271 §4.3, RFC 1997, RFC 8092', async (t) => {
  const attrs: PathAttributes = {
    origin: 0,
    asPath: [{ type: 2, asns: [65001, 65002] }],
    nextHop: 0xc0000201,
    med: 100,
    atomicAggregate: false,
    communities: [((65001 << 16) | 100) >>> 0],
    largeCommunities: [65001, 1, 2],
  };
  const bytes = encodeAttributes(attrs, EBGP4);
  const want =
    '400101 00' +
    '40020a 0202 0000fde9 0000fdea' +
    '400304 c0000201' +
    '800404 00000064' +
    'c00804 fde90064' +
    'c0200c 0000fde9 00000001 00000002';
  t.equal(hex(bytes), want.replace(/ /g, ''));
  const [msg, ...rest] = packUpdates4(bytes, [parsePrefix4('198.51.100.0/24')!], 0, 1, 4096);
  t.equal(rest.length, 0);
  t.equal(hex(msg!), `${M}00500200000035${want.replace(/ /g, '')}18c63364`);
  const back = decodeMsg(msg!, EBGP4);
  t.same(back, {
    withdrawn4: [],
    nlri4: [parsePrefix4('198.51.100.0/24')],
    withdrawn6: [],
    nlri6: [],
    attrs,
  });
});

t.test('every attribute round-trips (iBGP, 4-octet)', async (t) => {
  const attrs: PathAttributes = {
    origin: 2,
    asPath: [
      { type: 2, asns: [65001, 4200000000] },
      { type: 1, asns: [65010, 65011] },
      { type: 3, asns: [65100] },
      { type: 4, asns: [65101, 65102] },
    ],
    nextHop: 0x7f000002,
    med: 0,
    localPref: 200,
    atomicAggregate: true,
    aggregator: { asn: 4200000001, address: 0xc0000202 },
    communities: [0xffffff01, 0xffffff02, ((65000 << 16) | 1) >>> 0],
    largeCommunities: [65000, 1, 3, 4200000000, 7, 8],
    otc: 65001,
    unknown: [
      { flags: 0xe0, code: 40, value: Uint8Array.of(1, 2, 3) },
      { flags: 0xe0, code: 9, value: new Uint8Array(300).fill(7) },
    ],
  };
  const bytes = encodeAttributes(attrs, IBGP4);
  const msgs = packUpdates4(bytes, [parsePrefix4('203.0.113.0/24')!], 0, 1, 4096);
  const back = decodeMsg(msgs[0]!, IBGP4);
  t.same(back.attrs, { ...attrs, unknown: [attrs.unknown![1], attrs.unknown![0]] }, 'unknown sorted by code');
  t.equal(back.discarded, undefined);
  // unknown attribute 9 is long enough to need the Extended Length bit.
  t.ok(hex(bytes).includes('f009012c07070707'), 'extended length used for a 300-byte attribute');
  // 255 ASNs in one segment; 300 split into two (RFC 4271 §5.1.2 segment length is one octet).
  const long: PathAttributes = {
    origin: 0,
    asPath: [{ type: 2, asns: Array.from({ length: 300 }, (_, i) => 65000 + i) }],
    nextHop: 1,
    atomicAggregate: false,
  };
  const lb = encodeAttributes(long, EBGP4);
  const lback = decodeMsg(packUpdates4(lb, [parsePrefix4('203.0.113.0/24')!], 0, 1, 4096)[0]!, EBGP4);
  t.same(lback.attrs?.asPath, long.asPath, 'long segment split on the wire and joined back');
  t.notOk(
    hex(encodeAttributes({ ...attrs, asPath: [] }, EBGP4)).includes('400504'),
    'no LOCAL_PREF toward eBGP',
  );
});

t.test('unknown attributes: transitive kept with Partial, non-transitive dropped', async (t) => {
  const body = updateBody(
    [],
    cat(MANDATORY4, attr(0xc0, 99, [9, 9]), attr(0x80, 98, [1]), attr(0xe0, 97, [5])),
    NLRI,
  );
  const m = decodeOk(body, EBGP4);
  t.same(m.attrs?.unknown, [
    { flags: 0xe0, code: 99, value: Uint8Array.of(9, 9) },
    { flags: 0xe0, code: 97, value: Uint8Array.of(5) },
  ]);
  const again = encodeAttributes(m.attrs!, EBGP4);
  t.ok(
    hex(again).endsWith('e06101 05e06302 0909'.replace(/ /g, '')),
    'sent on with the Partial bit, by code',
  );
});

interface Case7606 {
  name: string;
  attrs: Uint8Array;
  ctx?: CodecContext;
  action: 'treat-as-withdraw' | 'attribute-discard';
  reason: RegExp;
  check?: (t: TapTest, m: UpdateMessage) => void;
}

const ORIGIN = attr(0x40, 1, [0]);
const PATH = attr(0x40, 2, [2, 1, ...u32(65001)]);
const NH = attr(0x40, 3, [192, 0, 2, 1]);
const PATH2 = attr(0x40, 2, [2, 1, ...u16(65001)]);
const base = (...extra: Uint8Array[]): Uint8Array => cat(ORIGIN, PATH, NH, ...extra);

const cases7606: Case7606[] = [
  {
    name: 'ORIGIN length 2',
    attrs: cat(attr(0x40, 1, [0, 0]), PATH, NH),
    action: 'treat-as-withdraw',
    reason: /ORIGIN: length 2 \(3\/6\)/,
  },
  {
    name: 'ORIGIN value 3',
    attrs: cat(attr(0x40, 1, [3]), PATH, NH),
    action: 'treat-as-withdraw',
    reason: /ORIGIN: undefined value 3/,
  },
  {
    name: 'ORIGIN flagged optional',
    attrs: cat(attr(0xc0, 1, [0]), PATH, NH),
    action: 'treat-as-withdraw',
    reason: /ORIGIN: flags 0xc0 \(3\/4\)/,
  },
  {
    name: 'AS_PATH zero-length segment',
    attrs: cat(ORIGIN, attr(0x40, 2, [2, 0]), NH),
    action: 'treat-as-withdraw',
    reason: /AS_PATH: zero-length segment \(3\/11\)/,
  },
  {
    name: 'AS_PATH unknown segment type',
    attrs: cat(ORIGIN, attr(0x40, 2, [5, 1, 0, 0, 0, 1]), NH),
    action: 'treat-as-withdraw',
    reason: /unknown segment type 5/,
  },
  {
    name: 'AS_PATH segment overrun',
    attrs: cat(ORIGIN, attr(0x40, 2, [2, 2, 0, 0, 0, 1]), NH),
    action: 'treat-as-withdraw',
    reason: /segment overrun/,
  },
  {
    name: 'AS_PATH one octet left',
    attrs: cat(ORIGIN, attr(0x40, 2, [2, 1, 0, 0, 0, 1, 2]), NH),
    action: 'treat-as-withdraw',
    reason: /underrun/,
  },
  {
    name: 'AS_PATH with AS 0 (RFC 7607)',
    attrs: cat(ORIGIN, attr(0x40, 2, [2, 2, ...u32(65001), ...u32(0)]), NH),
    action: 'treat-as-withdraw',
    reason: /AS_PATH: AS 0/,
  },
  {
    name: 'AGGREGATOR with AS 0 (RFC 7607)',
    attrs: base(attr(0xc0, 7, [...u32(0), 192, 0, 2, 1])),
    action: 'attribute-discard',
    reason: /AGGREGATOR: AS 0/,
    check: (t, m) => t.equal(m.attrs?.aggregator, undefined),
  },
  {
    name: 'NEXT_HOP length 5',
    attrs: cat(ORIGIN, PATH, attr(0x40, 3, [1, 2, 3, 4, 5])),
    action: 'treat-as-withdraw',
    reason: /NEXT_HOP: length 5 \(3\/8\)/,
  },
  {
    name: 'NEXT_HOP 0.0.0.0',
    attrs: cat(ORIGIN, PATH, attr(0x40, 3, [0, 0, 0, 0])),
    action: 'treat-as-withdraw',
    reason: /NEXT_HOP: invalid address 0.0.0.0/,
  },
  {
    name: 'AS_PATH confederation segment from eBGP (RFC 5065 §5)',
    attrs: cat(ORIGIN, attr(0x40, 2, [2, 1, ...u32(65001), 3, 1, ...u32(64512)]), NH),
    action: 'treat-as-withdraw',
    reason: /AS_PATH: confederation segment from an external peer/,
  },
  {
    name: 'NEXT_HOP multicast',
    attrs: cat(ORIGIN, PATH, attr(0x40, 3, [224, 0, 0, 1])),
    action: 'treat-as-withdraw',
    reason: /invalid address 224.0.0.1/,
  },
  {
    name: 'MED length 3',
    attrs: base(attr(0x80, 4, [0, 0, 1])),
    action: 'treat-as-withdraw',
    reason: /MULTI_EXIT_DISC: length 3/,
  },
  {
    name: 'LOCAL_PREF length 3 (iBGP)',
    attrs: base(attr(0x40, 5, [0, 0, 1])),
    ctx: IBGP4,
    action: 'treat-as-withdraw',
    reason: /LOCAL_PREF: length 3/,
  },
  {
    name: 'COMMUNITIES length 3',
    attrs: base(attr(0xc0, 8, [0, 0, 1])),
    action: 'treat-as-withdraw',
    reason: /COMMUNITIES: length 3/,
  },
  {
    name: 'COMMUNITIES length 0',
    attrs: base(attr(0xc0, 8, [])),
    action: 'treat-as-withdraw',
    reason: /COMMUNITIES: length 0/,
  },
  {
    name: 'LARGE_COMMUNITY length 8',
    attrs: base(attr(0xc0, 32, [0, 0, 0, 1, 0, 0, 0, 2])),
    action: 'treat-as-withdraw',
    reason: /LARGE_COMMUNITY: length 8/,
  },
  {
    name: 'OTC length 2',
    attrs: base(attr(0xc0, 35, [0, 1])),
    action: 'treat-as-withdraw',
    reason: /OTC: length 2/,
  },
  {
    name: 'COMMUNITIES flagged well-known',
    attrs: base(attr(0x40, 8, [0, 0, 0, 1])),
    action: 'treat-as-withdraw',
    reason: /COMMUNITIES: flags 0x40 \(3\/4\)/,
  },
  {
    name: 'missing ORIGIN',
    attrs: cat(PATH, NH),
    action: 'treat-as-withdraw',
    reason: /missing well-known attribute ORIGIN \(3\/3\)/,
  },
  {
    name: 'missing AS_PATH',
    attrs: cat(ORIGIN, NH),
    action: 'treat-as-withdraw',
    reason: /missing well-known attribute AS_PATH/,
  },
  {
    name: 'missing NEXT_HOP',
    attrs: cat(ORIGIN, PATH),
    action: 'treat-as-withdraw',
    reason: /missing well-known attribute NEXT_HOP/,
  },
  {
    name: 'attribute overruns the attribute field',
    attrs: cat(ORIGIN, PATH, NH, Uint8Array.of(0x80, 4, 9, 0, 0)),
    action: 'treat-as-withdraw',
    reason: /overruns the path attributes/,
  },
  {
    name: 'two octets left in the attribute field',
    attrs: cat(ORIGIN, PATH, NH, Uint8Array.of(0x80, 4)),
    action: 'treat-as-withdraw',
    reason: /header underrun/,
  },
  {
    name: 'LOCAL_PREF from eBGP',
    attrs: base(attr(0x40, 5, [0, 0, 0, 100])),
    action: 'attribute-discard',
    reason: /LOCAL_PREF from an external peer/,
    check: (t, m) => t.equal(m.attrs?.localPref, undefined),
  },
  {
    name: 'ATOMIC_AGGREGATE length 1',
    attrs: base(attr(0x40, 6, [1])),
    action: 'attribute-discard',
    reason: /ATOMIC_AGGREGATE: length 1/,
  },
  // RFC 7606 §3 c: an Optional/Transitive conflict is treat-as-withdraw, also for attributes
  // whose length/value errors are attribute discard (§7.6, §7.7 say nothing about flags).
  {
    name: 'ATOMIC_AGGREGATE flagged optional',
    attrs: base(attr(0xc0, 6, [])),
    action: 'treat-as-withdraw',
    reason: /ATOMIC_AGGREGATE: flags 0xc0 \(3\/4\)/,
  },
  {
    name: 'AGGREGATOR flagged well-known',
    attrs: base(attr(0x40, 7, [...u32(65001), 192, 0, 2, 1])),
    action: 'treat-as-withdraw',
    reason: /AGGREGATOR: flags 0x40 \(3\/4\)/,
  },
  {
    name: 'AGGREGATOR flagged optional non-transitive, Partial and low bits ignored',
    attrs: base(attr(0xaf, 7, [...u32(65001), 192, 0, 2, 1])),
    action: 'treat-as-withdraw',
    reason: /AGGREGATOR: flags 0xaf \(3\/4\)/,
  },
  {
    name: 'MED flagged transitive',
    attrs: base(attr(0xc0, 4, [0, 0, 0, 1])),
    action: 'treat-as-withdraw',
    reason: /MULTI_EXIT_DISC: flags 0xc0/,
  },
  {
    name: 'NEXT_HOP flagged non-transitive',
    attrs: cat(ORIGIN, PATH, attr(0x00, 3, [192, 0, 2, 1])),
    action: 'treat-as-withdraw',
    reason: /NEXT_HOP: flags 0x0 \(3\/4\)/,
  },
  {
    name: 'LARGE_COMMUNITY flagged non-transitive',
    attrs: base(attr(0x80, 32, [...u32(65001), ...u32(1), ...u32(2)])),
    action: 'treat-as-withdraw',
    reason: /LARGE_COMMUNITY: flags 0x80/,
  },
  {
    name: 'OTC flagged well-known',
    attrs: base(attr(0x40, 35, u32(65001))),
    action: 'treat-as-withdraw',
    reason: /OTC: flags 0x40/,
  },
  {
    name: 'LOCAL_PREF flagged optional (iBGP)',
    attrs: base(attr(0xc0, 5, [0, 0, 0, 100])),
    ctx: IBGP4,
    action: 'treat-as-withdraw',
    reason: /LOCAL_PREF: flags 0xc0/,
  },
  // Discarded for who sent them (RFC 7606 §7.5, RFC 6793 §6), so their flags do not matter.
  {
    name: 'LOCAL_PREF flagged optional from eBGP',
    attrs: base(attr(0xc0, 5, [0, 0, 0, 100])),
    action: 'attribute-discard',
    reason: /LOCAL_PREF: flags 0xc0/,
    check: (t, m) => t.equal(m.attrs?.localPref, undefined),
  },
  {
    name: 'AS4_PATH flagged well-known from a 4-octet speaker',
    attrs: base(attr(0x40, 17, [2, 1, ...u32(65001)])),
    action: 'attribute-discard',
    reason: /AS4_PATH: flags 0x40/,
  },
  {
    name: 'AS4_AGGREGATOR flagged non-transitive from a 2-octet speaker',
    attrs: cat(ORIGIN, PATH2, NH, attr(0x80, 18, [...u32(65001), 192, 0, 2, 1])),
    ctx: EBGP2,
    action: 'treat-as-withdraw',
    reason: /AS4_AGGREGATOR: flags 0x80 \(3\/4\)/,
  },
  {
    name: 'AS4_PATH of length 0 from a 2-octet speaker (RFC 6793 §6)',
    attrs: cat(ORIGIN, PATH2, NH, attr(0xc0, 17, [])),
    ctx: EBGP2,
    action: 'attribute-discard',
    reason: /AS4_PATH: length 0/,
    check: (t, m) => t.same(m.attrs?.asPath, [{ type: 2, asns: [65001] }]),
  },
  {
    name: 'AS4_PATH with a confederation segment: only that segment dropped (RFC 6793 §6)',
    attrs: cat(
      ORIGIN,
      attr(0x40, 2, [2, 3, ...u16(65001), ...u16(23456), ...u16(23456)]),
      NH,
      attr(0xc0, 17, [3, 1, ...u32(64512), 2, 2, ...u32(4200000001), ...u32(4200000002)]),
    ),
    ctx: EBGP2,
    action: 'attribute-discard',
    reason: /confederation segments dropped/,
    check: (t, m) => t.same(m.attrs?.asPath, [{ type: 2, asns: [65001, 4200000001, 4200000002] }]),
  },
  {
    name: 'AGGREGATOR length 6 from a 4-octet speaker',
    attrs: base(attr(0xc0, 7, [0, 1, 1, 2, 3, 4])),
    action: 'attribute-discard',
    reason: /AGGREGATOR: length 6/,
    check: (t, m) => t.equal(m.attrs?.aggregator, undefined),
  },
  {
    name: 'duplicate MED: first kept',
    attrs: base(attr(0x80, 4, [0, 0, 0, 1]), attr(0x80, 4, [0, 0, 0, 2])),
    action: 'attribute-discard',
    reason: /duplicate MULTI_EXIT_DISC/,
    check: (t, m) => t.equal(m.attrs?.med, 1),
  },
  {
    name: 'duplicate unknown attribute',
    attrs: base(attr(0xc0, 99, [1]), attr(0xc0, 99, [2])),
    action: 'attribute-discard',
    reason: /duplicate attribute 99/,
  },
  {
    name: 'duplicate unknown attribute flagged well-known: discarded unexamined (§3 g)',
    attrs: base(attr(0xc0, 99, [1]), attr(0x40, 99, [2])),
    action: 'attribute-discard',
    reason: /duplicate attribute 99/,
    check: (t, m) => t.same(m.attrs?.unknown, [{ flags: 0xe0, code: 99, value: Uint8Array.of(1) }]),
  },
  {
    name: 'AS4_PATH from a 4-octet speaker',
    attrs: base(attr(0xc0, 17, [2, 1, ...u32(1)])),
    action: 'attribute-discard',
    reason: /AS4_PATH from a 4-octet AS speaker/,
  },
  {
    name: 'MP_REACH_NLRI of another family',
    attrs: base(attr(0x80, 14, [0, 25, 65, 0, 0])),
    action: 'attribute-discard',
    reason: /AFI 25 SAFI 65/,
  },
];

for (const c of cases7606) {
  t.test(`RFC 7606: ${c.name} → ${c.action}`, async (t) => {
    const m = decodeOk(updateBody([24, 192, 0, 2], c.attrs, NLRI), c.ctx ?? EBGP4);
    if (c.action === 'treat-as-withdraw') {
      t.match(m.treatAsWithdraw, c.reason);
      t.same(m.nlri4, []);
      t.same(
        m.withdrawn4,
        [parsePrefix4('192.0.2.0/24'), parsePrefix4('198.51.100.0/24')],
        'NLRI moved to withdrawn',
      );
      t.equal(m.attrs, undefined);
    } else {
      t.equal(m.treatAsWithdraw, undefined);
      t.match(m.discarded?.join('; '), c.reason);
      t.same(m.nlri4, [parsePrefix4('198.51.100.0/24')], 'route kept');
      t.ok(m.attrs);
    }
    c.check?.(t, m);
  });
}

t.test('RFC 7606: withdraw beats discard; IPv6 NLRI also withdrawn', async (t) => {
  const mp = attr(0x90, 14, [0, 2, 1, 16, ...parseIpv6('2001:db8::1')!, 0, 32, 0x20, 0x01, 0x0d, 0xb8]);
  const m = decodeOk(updateBody([], cat(mp, ORIGIN, attr(0x40, 6, [1]), attr(0xc0, 8, [1])), []), EBGP4);
  t.match(m.treatAsWithdraw, /COMMUNITIES/);
  t.same(m.withdrawn6, [parsePrefix6('2001:db8::/32')]);
  t.same(m.nlri6, []);
  t.match(m.discarded, [/ATOMIC_AGGREGATE/]);
});

t.test('only MP NLRI: NEXT_HOP not required (RFC 4760 §3); withdrawals need no attributes', async (t) => {
  const mp = attr(0x90, 14, [
    0,
    2,
    1,
    32,
    ...parseIpv6('2001:db8::1')!,
    ...parseIpv6('fe80::1')!,
    0,
    48,
    0x20,
    0x01,
    0x0d,
    0xb8,
    0,
    1,
  ]);
  const m = decodeOk(updateBody([], cat(mp, ORIGIN, PATH), []), EBGP4);
  t.equal(m.treatAsWithdraw, undefined);
  t.same(m.nlri6, [parsePrefix6('2001:db8:1::/48')]);
  t.same(m.attrs?.nextHop6, { global: parseIpv6('2001:db8::1'), linkLocal: parseIpv6('fe80::1') });
  const w = decodeOk(updateBody([24, 192, 0, 2], new Uint8Array(0), []), EBGP4);
  t.same(w, { withdrawn4: [parsePrefix4('192.0.2.0/24')], nlri4: [], withdrawn6: [], nlri6: [] });
  const nlriNoAttrs = decodeOk(updateBody([], new Uint8Array(0), NLRI), EBGP4);
  t.match(nlriNoAttrs.treatAsWithdraw, /missing well-known attribute ORIGIN/);
  const v4mp = attr(0x80, 14, [0, 1, 1, 4, 127, 0, 0, 2, 0, 24, 203, 0, 113]);
  const unreach4 = attr(0x80, 15, [0, 1, 1, 24, 192, 0, 2]);
  const m4 = decodeOk(updateBody([], cat(v4mp, unreach4, ORIGIN, PATH), []), EBGP4);
  t.same(m4.nlri4, [parsePrefix4('203.0.113.0/24')], 'IPv4 in MP_REACH');
  t.same(m4.withdrawn4, [parsePrefix4('192.0.2.0/24')], 'IPv4 in MP_UNREACH');
  t.equal(m4.attrs?.nextHop, 0x7f000002);
});

t.test('RFC 7606 §5.2: no reachable NLRI, attribute discard only: no reset', async (t) => {
  const m = decodeOk(updateBody([24, 192, 0, 2], base(attr(0x40, 6, [1]), attr(0xc0, 7, [1, 2])), []), EBGP4);
  t.same(m.withdrawn4, [parsePrefix4('192.0.2.0/24')]);
  t.equal(m.treatAsWithdraw, undefined);
  t.match(m.discarded, [/ATOMIC_AGGREGATE: length 1/, /AGGREGATOR: length 2/]);
  // MP_REACH_NLRI and MP_UNREACH_NLRI once each are fine (RFC 7606 §3 g counts each on its own).
  const both = decodeOk(
    updateBody(
      [],
      cat(
        attr(0x80, 15, [0, 2, 1, 32, 0x20, 1, 0xd, 0xb8]),
        attr(0x80, 14, [0, 1, 1, 4, 127, 0, 0, 2, 0, 8, 10]),
        ORIGIN,
        PATH,
      ),
      [],
    ),
    EBGP4,
  );
  t.same(both.withdrawn6, [parsePrefix6('2001:db8::/32')]);
  t.same(both.nlri4, [parsePrefix4('10.0.0.0/8')]);
});

t.test('host bits in received prefixes are cleared', async (t) => {
  const m = decodeOk(updateBody([], MANDATORY4, [20, 198, 51, 0xff]), EBGP4);
  t.same(m.nlri4, [parsePrefix4('198.51.240.0/20')]);
});

t.test('End-of-RIB (RFC 4724 §2)', async (t) => {
  t.equal(hex(encodeEndOfRib('ipv4-unicast')), `${M}00170200000000`);
  t.equal(hex(encodeEndOfRib('ipv6-unicast')), `${M}001d0200000006800f03000201`);
  t.equal(decodeMsg(encodeEndOfRib('ipv4-unicast'), EBGP4).endOfRib, 'ipv4-unicast');
  t.equal(decodeMsg(encodeEndOfRib('ipv6-unicast'), EBGP4).endOfRib, 'ipv6-unicast');
  const notEor = decodeOk(updateBody([], attr(0x80, 15, [0, 2, 1, 32, 0x20, 1, 0xd, 0xb8]), []), EBGP4);
  t.equal(notEor.endOfRib, undefined);
  t.same(notEor.withdrawn6, [parsePrefix6('2001:db8::/32')]);
});

t.test('IPv6 packing and withdrawals round-trip', async (t) => {
  const prefixes = Array.from(
    { length: 5000 },
    (_, i) => parsePrefix6(`2001:db8:${(i >> 8).toString(16)}:${(i & 255).toString(16)}00::/56`)!,
  );
  const attrs: PathAttributes = {
    origin: 0,
    asPath: [{ type: 2, asns: [65001] }],
    atomicAggregate: false,
    med: 5,
  };
  const nh = { global: parseIpv6('2001:db8::2')!, linkLocal: parseIpv6('fe80::2')! };
  const msgs = packUpdates6(encodeAttributes(attrs, EBGP4), nh, prefixes, 0, prefixes.length, 4096);
  const got: string[] = [];
  for (const m of msgs) {
    t.ok(m.length <= 4096);
    const d = decodeMsg(m, EBGP4);
    t.same(d.attrs, { ...attrs, nextHop6: nh });
    got.push(...d.nlri6);
  }
  t.same(got, prefixes);
  const wd = packWithdrawals6(prefixes, 0, prefixes.length, 4096);
  const back: string[] = [];
  for (const m of wd) back.push(...decodeMsg(m, EBGP4).withdrawn6);
  t.same(back, prefixes);
  t.ok(msgs.length > 1 && wd.length > 1, 'split over several messages');
});

t.test('packers: attributes too large for any prefix give no message', async (t) => {
  t.same(packUpdates4(new Uint8Array(4070), [parsePrefix4('192.0.2.0/24')!], 0, 1, 4096), []);
  t.equal(packUpdates4(new Uint8Array(4068), [parsePrefix4('192.0.2.0/24')!], 0, 1, 4096).length, 1);
  t.same(packUpdates4(new Uint8Array(10), [], 0, 0, 4096), []);
  t.same(packWithdrawals4([], 0, 0, 4096), []);
  t.same(u16(0x1234), [0x12, 0x34]);
});
