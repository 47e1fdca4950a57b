/**
 * RTR codec (RFC 8210 §5, RFC 6810 §5): every PDU round-trips in the versions it exists in, the
 * bytes of a few are checked against the RFC layout, every malformed case decodes to the Error
 * Report code the router must send, and the framer cuts a stream split anywhere.
 */
import t from 'tap';
import { decodePdu, encodePdu, errorReport, type Pdu, PduFramer, RtrErrorCode } from '../../src/rpki/pdu.js';
import { vrp } from '../../src/rpki/text.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const V4 = vrp('192.0.2.0/24', 24, 64500)!;
const V6 = vrp('2001:db8::/32', 48, 4200000000)!;

t.test('round trips', async (t) => {
  const pdus: Pdu[] = [];
  for (const version of [0, 1]) {
    pdus.push(
      { type: 0, version, sessionId: 0xbeef, serial: 0xfffffffe },
      { type: 1, version, sessionId: 7, serial: 42 },
      { type: 2, version },
      { type: 3, version, sessionId: 7 },
      { type: 4, version, announce: true, vrp: V4 },
      { type: 4, version, announce: false, vrp: V4 },
      { type: 6, version, announce: true, vrp: V6 },
      { type: 6, version, announce: false, vrp: vrp('::/0', 0, 0)! },
      { type: 8, version },
      { type: 10, version, code: 6, pdu: encodePdu({ type: 2, version }), text: 'hello ✓' },
      { type: 10, version, code: 2, pdu: new Uint8Array(0), text: '' },
    );
  }
  pdus.push({ type: 7, version: 0, sessionId: 7, serial: 42 });
  pdus.push({ type: 7, version: 1, sessionId: 7, serial: 42, timers: { refresh: 1, retry: 2, expire: 600 } });
  pdus.push({
    type: 9,
    version: 1,
    announce: true,
    ski: new Uint8Array(20).fill(0xab),
    asn: 64500,
    spki: new Uint8Array(91).fill(0x30),
  });
  for (const p of pdus) {
    const r = decodePdu(encodePdu(p));
    t.ok(r.ok, `type ${p.type} v${p.version} decodes`);
    if (r.ok) t.same(r.value, p, `type ${p.type} v${p.version} round-trips`);
  }
});

t.test('bytes as in RFC 8210 §5', async (t) => {
  t.equal(hex(encodePdu({ type: 2, version: 1 })), '0102000000000008', 'Reset Query');
  t.equal(hex(encodePdu({ type: 1, version: 1, sessionId: 0x1234, serial: 5 })), '010112340000000c00000005');
  t.equal(
    hex(encodePdu({ type: 4, version: 1, announce: true, vrp: V4 })),
    '0104000000000014' + '01181800' + 'c0000200' + '0000fbf4',
    'IPv4 Prefix: flags, length, max length, zero, prefix, AS',
  );
  t.equal(
    hex(
      encodePdu({
        type: 7,
        version: 1,
        sessionId: 1,
        serial: 2,
        timers: { refresh: 3, retry: 4, expire: 5 },
      }),
    ),
    '0107000100000018' + '00000002' + '00000003' + '00000004' + '00000005',
  );
  t.equal(
    hex(errorReport(1, 5, Uint8Array.from([1, 99, 0, 0, 0, 0, 0, 8]), 'x')),
    '010a000500000019' + '00000008' + '0163000000000008' + '00000001' + '78',
    'Error Report: encapsulated PDU and text with their lengths',
  );
});

t.test('malformed PDUs decode to the right Error Report code', async (t) => {
  const set = (b: Uint8Array, i: number, v: number) => {
    const c = b.slice();
    c[i] = v;
    return c;
  };
  const withLength = (b: Uint8Array) => {
    new DataView(b.buffer, b.byteOffset).setUint32(4, b.length);
    return b;
  };
  const cases: [string, Uint8Array, number][] = [
    ['version 2', set(encodePdu({ type: 2, version: 1 }), 0, 2), RtrErrorCode.UNSUPPORTED_PROTOCOL_VERSION],
    ['unknown type 5', set(encodePdu({ type: 2, version: 1 }), 1, 5), RtrErrorCode.UNSUPPORTED_PDU_TYPE],
    [
      'unknown type 11 (ASPA is version 2)',
      set(encodePdu({ type: 2, version: 1 }), 1, 11),
      RtrErrorCode.UNSUPPORTED_PDU_TYPE,
    ],
    [
      'Router Key in version 0',
      encodePdu({
        type: 9,
        version: 0,
        announce: true,
        ski: new Uint8Array(20),
        asn: 1,
        spki: new Uint8Array(4),
      }),
      RtrErrorCode.UNSUPPORTED_PDU_TYPE,
    ],
    [
      'IPv4 Prefix one byte long',
      withLength(Uint8Array.from([...encodePdu({ type: 4, version: 1, announce: true, vrp: V4 }), 0])),
      RtrErrorCode.CORRUPT_DATA,
    ],
    [
      'End of Data v1 with v0 length',
      set(encodePdu({ type: 7, version: 0, sessionId: 1, serial: 1 }), 0, 1),
      RtrErrorCode.CORRUPT_DATA,
    ],
    ['length field disagrees', set(encodePdu({ type: 2, version: 1 }), 7, 9), RtrErrorCode.CORRUPT_DATA],
    [
      'IPv4 length 33',
      set(encodePdu({ type: 4, version: 1, announce: true, vrp: V4 }), 9, 33),
      RtrErrorCode.CORRUPT_DATA,
    ],
    [
      'maxLength < length',
      set(encodePdu({ type: 4, version: 1, announce: true, vrp: V4 }), 10, 23),
      RtrErrorCode.CORRUPT_DATA,
    ],
    [
      'IPv4 maxLength 33',
      set(encodePdu({ type: 4, version: 1, announce: true, vrp: V4 }), 10, 33),
      RtrErrorCode.CORRUPT_DATA,
    ],
    [
      'IPv4 host bits',
      set(encodePdu({ type: 4, version: 1, announce: true, vrp: V4 }), 15, 1),
      RtrErrorCode.CORRUPT_DATA,
    ],
    [
      'IPv6 host bits',
      set(encodePdu({ type: 6, version: 1, announce: true, vrp: V6 }), 20, 1),
      RtrErrorCode.CORRUPT_DATA,
    ],
    [
      'IPv6 maxLength 129',
      set(encodePdu({ type: 6, version: 1, announce: true, vrp: V6 }), 10, 129),
      RtrErrorCode.CORRUPT_DATA,
    ],
    [
      'Router Key without SPKI',
      encodePdu({
        type: 9,
        version: 1,
        announce: true,
        ski: new Uint8Array(20),
        asn: 1,
        spki: new Uint8Array(0),
      }),
      RtrErrorCode.CORRUPT_DATA,
    ],
    [
      'Error Report with an encapsulated length past the end',
      set(errorReport(1, 1, new Uint8Array(8), 'x'), 11, 200),
      RtrErrorCode.CORRUPT_DATA,
    ],
    [
      'Error Report with a short text',
      set(errorReport(1, 1, new Uint8Array(8), 'xy'), 23, 1),
      RtrErrorCode.CORRUPT_DATA,
    ],
  ];
  for (const [name, bytes, code] of cases) {
    const r = decodePdu(bytes);
    t.equal(r.ok ? 'decoded' : r.error.code, code, name);
  }
});

t.test('framer: any split, and lengths out of bounds', async (t) => {
  const stream = Buffer.concat([
    encodePdu({ type: 3, version: 1, sessionId: 9 }),
    encodePdu({ type: 4, version: 1, announce: true, vrp: V4 }),
    encodePdu({ type: 6, version: 1, announce: true, vrp: V6 }),
    encodePdu({ type: 7, version: 1, sessionId: 9, serial: 1 }),
  ]);
  for (let cut = 1; cut < stream.length; cut += 3) {
    const f = new PduFramer();
    const types: number[] = [];
    for (const part of [stream.subarray(0, cut), stream.subarray(cut)]) {
      f.push(part);
      for (let b = f.next(); b !== undefined; b = f.next()) if (b instanceof Uint8Array) types.push(b[1]!);
    }
    if (types.join() !== '3,4,6,7') t.fail(`cut at ${cut}: ${types}`);
  }
  t.pass('every cut yields the same four PDUs');
  const f = new PduFramer(1024);
  f.push(Uint8Array.from([1, 4, 0, 0, 0, 0, 4, 1]));
  const big = f.next();
  t.ok(
    big !== undefined && !(big instanceof Uint8Array) && big.error.code === 0,
    'length over the maximum: corrupt data',
  );
  const g = new PduFramer();
  g.push(Uint8Array.from([1, 2, 0, 0, 0, 0, 0, 4]));
  const small = g.next();
  t.ok(
    small !== undefined && !(small instanceof Uint8Array) && small.error.code === 0,
    'length under 8: corrupt data',
  );
});
