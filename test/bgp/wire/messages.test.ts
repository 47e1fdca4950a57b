import t from 'tap';
import {
  type Capabilities,
  ceaseNotification,
  decodeNotification,
  decodeOpen,
  decodeRouteRefresh,
  describeNotification,
  emptyCapabilities,
  encodeKeepalive,
  encodeNotification,
  encodeOpen,
  encodeRouteRefresh,
  HEADER_LENGTH,
  type OpenMessage,
  parseHeader,
  shutdownCommunication,
} from '../../../src/bgp/wire/index.js';
import { hex, unhex } from './helpers.js';

const body = (m: Uint8Array): Uint8Array => m.subarray(HEADER_LENGTH);
const MARKER = 'ff'.repeat(16);

t.test('KEEPALIVE is exactly the RFC 4271 §4.4 header', async (t) => {
  t.equal(hex(encodeKeepalive()), `${MARKER}001304`);
  const h = parseHeader(encodeKeepalive(), 0, 4096);
  t.same(h, { ok: true, value: { type: 4, length: 19 } });
});

t.test('OPEN: byte-exact vector and round-trip of every capability', async (t) => {
  const caps: Capabilities = {
    multiprotocol: [
      { afi: 1, safi: 1 },
      { afi: 2, safi: 1 },
    ],
    routeRefresh: true,
    extendedMessage: true,
    role: 3,
    gracefulRestart: {
      restarting: true,
      notification: true,
      restartTime: 120,
      families: [{ afi: 1, safi: 1, forwarding: true }],
    },
    as4: 4200000001,
    enhancedRouteRefresh: true,
    unknown: [{ code: 73, value: Uint8Array.of(1, 0x61, 0) }],
  };
  const m: OpenMessage = {
    version: 4,
    myAs: 4200000001,
    holdTime: 90,
    bgpId: 0x7f000001,
    capabilities: caps,
  };
  const bytes = encodeOpen(m);
  // Hand-written from RFC 4271 §4.2, RFC 5492 §4 and the capability RFCs.
  const want =
    `${MARKER}0047` +
    '01' +
    '04' +
    '5ba0' + // AS_TRANS
    '005a' +
    '7f000001' +
    '2a' + // optional parameters length 42
    '02' +
    '28' + // capabilities, 40 bytes
    '0104 00010001' +
    '0104 00020001' +
    '0200' +
    '0600' +
    '0901 03' +
    '4006 c078 00010180' + // GR: R + N bits, 120 s, IPv4 unicast with F bit
    '4104 fa56ea01' +
    '4600' +
    '4903 016100';
  t.equal(hex(bytes), want.replace(/ /g, ''));
  const back = decodeOpen(body(bytes));
  t.ok(back.ok);
  if (back.ok) t.same(back.value, { ...m, myAs: 23456 });
  const h = parseHeader(bytes, 0, 4096);
  t.same(h.ok && h.value, { type: 1, length: bytes.length });
});

t.test('OPEN without capabilities and with RFC 9072 extended parameters', async (t) => {
  const plain = encodeOpen({
    version: 4,
    myAs: 65001,
    holdTime: 0,
    bgpId: 1,
    capabilities: emptyCapabilities(),
  });
  t.equal(hex(plain), `${MARKER}001d01 04 fde9 0000 00000001 00`.replace(/ /g, ''));
  const many = emptyCapabilities();
  for (let i = 0; i < 100; i++) many.unknown.push({ code: 200, value: Uint8Array.of(i) });
  const big = encodeOpen({ version: 4, myAs: 65001, holdTime: 180, bgpId: 1, capabilities: many });
  t.equal(big[28], 255, 'non-extended length 255');
  t.equal(big[29], 255, 'non-extended type 255');
  const back = decodeOpen(body(big));
  t.ok(back.ok);
  if (back.ok) t.equal(back.value.capabilities.unknown.length, 100);
});

t.test('NOTIFICATION: vectors, names, shutdown communication', async (t) => {
  t.equal(
    hex(encodeNotification({ code: 4, subcode: 0, data: new Uint8Array(0) })),
    `${MARKER}00150304 00`.replace(/ /g, ''),
  );
  const cease = ceaseNotification(2, 'maintenance');
  t.equal(
    hex(encodeNotification(cease)),
    `${MARKER}002103 0602 0b${Buffer.from('maintenance').toString('hex')}`.replace(/ /g, ''),
  );
  t.equal(describeNotification(cease), 'cease: administrative shutdown: "maintenance"');
  t.equal(describeNotification({ code: 4, subcode: 0, data: new Uint8Array(0) }), 'hold timer expired');
  t.equal(
    describeNotification({ code: 2, subcode: 2, data: new Uint8Array(0) }),
    'open message error: bad peer AS',
  );
  t.equal(
    describeNotification({ code: 5, subcode: 3, data: Uint8Array.of(1) }),
    'finite state machine error: unexpected message in Established state',
  );
  t.equal(
    describeNotification({ code: 6, subcode: 4, data: new Uint8Array(0) }),
    'cease: administrative reset',
  );
  t.equal(
    describeNotification({ code: 6, subcode: 2, data: Uint8Array.of(9, 0x61) }),
    'cease: administrative shutdown (malformed shutdown communication 0961)',
  );
  t.equal(describeNotification({ code: 9, subcode: 9, data: new Uint8Array(0) }), 'notification 9/9');
  t.equal(
    describeNotification({ code: 3, subcode: 42, data: new Uint8Array(0) }),
    'update message error: subcode 42',
  );
  const back = decodeNotification(body(encodeNotification(cease)));
  t.ok(back.ok);
  if (back.ok) {
    t.same(back.value, cease);
    t.equal(shutdownCommunication(back.value), 'maintenance');
  }
  // RFC 9003: at most 255 bytes, cut on a character boundary (é is 2 bytes in UTF-8).
  const long = ceaseNotification(2, `${'a'.repeat(254)}é`);
  t.equal(long.data[0], 254);
  t.equal(shutdownCommunication(long), 'a'.repeat(254));
  t.same(ceaseNotification(3, 'ignored').data, new Uint8Array(0), 'only subcodes 2 and 4 carry text');
  t.same(ceaseNotification(2).data, new Uint8Array(0));
});

t.test('ROUTE-REFRESH and enhanced subtypes', async (t) => {
  for (const subtype of [0, 1, 2]) {
    const m = { afi: 2, subtype, safi: 1 };
    const bytes = encodeRouteRefresh(m);
    t.equal(hex(bytes), `${MARKER}00170500020${subtype}01`);
    t.same(decodeRouteRefresh(body(bytes)), { ok: true, value: m });
  }
  t.same(
    decodeRouteRefresh(unhex('00010701')),
    { ok: true, value: { afi: 1, subtype: 7, safi: 1 } },
    'unknown subtype is the session’s to ignore',
  );
});

t.test('parseHeader accepts extended lengths only when negotiated', async (t) => {
  const big = new Uint8Array(5000).fill(0xff);
  big[16] = 5000 >> 8;
  big[17] = 5000 & 255;
  big[18] = 2;
  t.equal(parseHeader(big, 0, 4096).ok, false);
  t.equal(parseHeader(big, 0, 65535).ok, true);
  big[18] = 1;
  t.equal(parseHeader(big, 0, 65535).ok, false, 'OPEN stays ≤ 4096 (RFC 8654 §4)');
});
