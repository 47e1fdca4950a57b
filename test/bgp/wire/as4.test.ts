/** RFC 6793: AS4_PATH / AS4_AGGREGATOR produced toward a 2-octet speaker and merged from one. */
import t from 'tap';
import {
  AS_TRANS,
  decodeUpdate,
  encodeAttributes,
  HEADER_LENGTH,
  packUpdates4,
  type PathAttributes,
  parsePrefix4,
} from '../../../src/bgp/wire/index.js';
import { attr, cat, EBGP2, EBGP4, hex, NEXT_HOP, NLRI, ORIGIN_IGP, u16, u32, updateBody } from './helpers.js';

const P = [parsePrefix4('198.51.100.0/24')!];

function roundTrip(attrs: PathAttributes, ctx = EBGP2): PathAttributes | undefined {
  const m = packUpdates4(encodeAttributes(attrs, ctx), P, 0, 1, 4096)[0]!;
  const r = decodeUpdate(m.subarray(HEADER_LENGTH), ctx);
  return r.ok ? r.value.attrs : undefined;
}

t.test('encode toward a 2-octet speaker: AS_TRANS plus AS4_PATH and AS4_AGGREGATOR', async (t) => {
  const attrs: PathAttributes = {
    origin: 0,
    asPath: [{ type: 2, asns: [65000, 4200000001, 65002] }],
    nextHop: 0xc0000201,
    atomicAggregate: false,
    aggregator: { asn: 4200000009, address: 0xc0000209 },
  };
  const b = hex(encodeAttributes(attrs, EBGP2));
  t.ok(
    b.includes(
      `40020802 03${hex(Uint8Array.from([...u16(65000), ...u16(AS_TRANS), ...u16(65002)]))}`.replace(
        / /g,
        '',
      ),
    ),
    'AS_TRANS in AS_PATH',
  );
  t.ok(
    b.includes(`c0110e0203${hex(Uint8Array.from([...u32(65000), ...u32(4200000001), ...u32(65002)]))}`),
    'AS4_PATH',
  );
  t.ok(b.includes(`c00706${hex(Uint8Array.from(u16(AS_TRANS)))}c0000209`), 'AGGREGATOR with AS_TRANS');
  t.ok(b.includes(`c01208${hex(Uint8Array.from(u32(4200000009)))}c0000209`), 'AS4_AGGREGATOR');
  t.same(roundTrip(attrs), attrs, 'merged back to the 4-octet values');
  const narrow: PathAttributes = {
    origin: 0,
    asPath: [{ type: 2, asns: [65000, 65001] }],
    nextHop: 1,
    atomicAggregate: false,
  };
  const nb = hex(encodeAttributes(narrow, EBGP2));
  t.notOk(nb.includes('c011'), 'no AS4_PATH when every ASN fits in 2 octets');
  t.same(roundTrip(narrow), narrow);
  t.notOk(hex(encodeAttributes(attrs, EBGP4)).includes('c011'), 'no AS4_PATH toward a 4-octet speaker');
});

t.test('decode from a 2-octet speaker (RFC 6793 §4.2.3)', async (t) => {
  const path2 = (asns: number[]): Uint8Array => attr(0x40, 2, [2, asns.length, ...asns.flatMap(u16)]);
  const as4path = (asns: number[]): Uint8Array => attr(0xc0, 17, [2, asns.length, ...asns.flatMap(u32)]);
  const decode = (a: Uint8Array): PathAttributes | undefined => {
    const r = decodeUpdate(updateBody([], cat(ORIGIN_IGP, a, NEXT_HOP), NLRI), EBGP2);
    return r.ok ? r.value.attrs : undefined;
  };
  // AS_PATH has 4 ASes, AS4_PATH 2: keep the leading 2 of AS_PATH.
  t.same(decode(cat(path2([65010, 65011, AS_TRANS, AS_TRANS]), as4path([4200000001, 4200000002])))?.asPath, [
    { type: 2, asns: [65010, 65011, 4200000001, 4200000002] },
  ]);
  // AS4_PATH longer than AS_PATH: ignored.
  t.same(decode(cat(path2([65010]), as4path([4200000001, 4200000002])))?.asPath, [
    { type: 2, asns: [65010] },
  ]);
  // An AS_SET counts as one.
  const withSet = cat(
    attr(0x40, 2, [2, 1, ...u16(65010), 1, 2, ...u16(AS_TRANS), ...u16(65012)]),
    attr(0xc0, 17, [1, 2, ...u32(4200000001), ...u32(65012)]),
  );
  t.same(decode(withSet)?.asPath, [
    { type: 2, asns: [65010] },
    { type: 1, asns: [4200000001, 65012] },
  ]);
  // AGGREGATOR with AS_TRANS takes AS4_AGGREGATOR.
  const agg = attr(0xc0, 7, [...u16(AS_TRANS), 192, 0, 2, 9]);
  const agg4 = attr(0xc0, 18, [...u32(4200000009), 192, 0, 2, 9]);
  const a1 = decode(cat(path2([65010, AS_TRANS]), agg, as4path([4200000001]), agg4));
  t.same(a1?.aggregator, { asn: 4200000009, address: 0xc0000209 });
  t.same(a1?.asPath, [{ type: 2, asns: [65010, 4200000001] }]);
  // AGGREGATOR with a real 2-octet AS: AS4_AGGREGATOR and AS4_PATH are ignored.
  const aggReal = attr(0xc0, 7, [...u16(65020), 192, 0, 2, 9]);
  const a2 = decode(cat(path2([65010, AS_TRANS]), aggReal, as4path([4200000001]), agg4));
  t.same(a2?.aggregator, { asn: 65020, address: 0xc0000209 });
  t.same(a2?.asPath, [{ type: 2, asns: [65010, AS_TRANS] }]);
  // Malformed AS4_PATH: discarded, AS_PATH kept as received.
  const r = decodeUpdate(
    updateBody([], cat(ORIGIN_IGP, path2([65010, AS_TRANS]), attr(0xc0, 17, [2, 3, 0, 0]), NEXT_HOP), NLRI),
    EBGP2,
  );
  t.ok(r.ok);
  if (r.ok) {
    t.match(r.value.discarded, [/AS4_PATH: segment overrun \(3\/9\)/]);
    t.same(r.value.attrs?.asPath, [{ type: 2, asns: [65010, AS_TRANS] }]);
  }
  // AS4_PATH with a confederation segment is discarded (RFC 6793 §6).
  const rc = decodeUpdate(
    updateBody([], cat(ORIGIN_IGP, path2([65010]), attr(0xc0, 17, [3, 1, ...u32(1)]), NEXT_HOP), NLRI),
    EBGP2,
  );
  t.ok(rc.ok && rc.value.discarded?.[0]?.includes('confederation'));
  // AS4_AGGREGATOR of wrong length: discarded.
  const ra = decodeUpdate(
    updateBody([], cat(ORIGIN_IGP, path2([65010]), attr(0xc0, 18, [1, 2, 3]), NEXT_HOP), NLRI),
    EBGP2,
  );
  t.ok(ra.ok && ra.value.discarded?.[0]?.includes('AS4_AGGREGATOR: length 3'));
});
