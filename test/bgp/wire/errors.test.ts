/**
 * Every NOTIFICATION a decoder can produce, one row each: input → code, subcode, data, action.
 * Constructors the session uses (bad peer AS, unsupported capability, role mismatch, hold timer,
 * FSM, Cease) are checked at the end.
 */
import t from 'tap';
import {
  BgpMessageError,
  badPeerAs,
  ceaseError,
  decodeNotification,
  decodeOpen,
  decodeRouteRefresh,
  decodeUpdate,
  fsmError,
  holdTimerExpired,
  parseHeader,
  type Result,
  roleMismatch,
  unsupportedCapability,
} from '../../../src/bgp/wire/index.js';
import { attr, cat, EBGP4, hex, MANDATORY4, NLRI, u16, u32, unhex, updateBody } from './helpers.js';

const M = 'ff'.repeat(16);
const header = (len: number, type: number): Uint8Array =>
  unhex(`${M}${len.toString(16).padStart(4, '0')}${type.toString(16).padStart(2, '0')}`);
const open = (fields: string, params = '00'): Uint8Array => unhex(fields + params);
const OK_OPEN = '04fde900b47f000001';
const mpReach6 = (nhLen: number, nlri: number[] = []): Uint8Array =>
  attr(0x90, 14, [0, 2, 1, nhLen, ...new Array<number>(nhLen).fill(0x20), 0, ...nlri]);

interface Row {
  name: string;
  run: () => Result<unknown>;
  code: number;
  subcode: number;
  data?: string; // hex; omitted = empty
}

const rows: Row[] = [
  {
    name: 'header: marker not all ones',
    run: () => parseHeader(unhex(`${'ff'.repeat(15)}00001304`), 0, 4096),
    code: 1,
    subcode: 1,
  },
  {
    name: 'header: length < 19',
    run: () => parseHeader(header(18, 4), 0, 4096),
    code: 1,
    subcode: 2,
    data: '0012',
  },
  {
    name: 'header: length > 4096',
    run: () => parseHeader(header(4097, 2), 0, 4096),
    code: 1,
    subcode: 2,
    data: '1001',
  },
  {
    name: 'header: OPEN shorter than 29',
    run: () => parseHeader(header(28, 1), 0, 4096),
    code: 1,
    subcode: 2,
    data: '001c',
  },
  {
    name: 'header: UPDATE shorter than 23',
    run: () => parseHeader(header(22, 2), 0, 4096),
    code: 1,
    subcode: 2,
    data: '0016',
  },
  {
    name: 'header: NOTIFICATION shorter than 21',
    run: () => parseHeader(header(20, 3), 0, 4096),
    code: 1,
    subcode: 2,
    data: '0014',
  },
  {
    name: 'header: KEEPALIVE longer than 19',
    run: () => parseHeader(header(20, 4), 0, 4096),
    code: 1,
    subcode: 2,
    data: '0014',
  },
  {
    name: 'header: ROUTE-REFRESH shorter than 23',
    run: () => parseHeader(header(22, 5), 0, 4096),
    code: 1,
    subcode: 2,
    data: '0016',
  },
  {
    name: 'header: truncated buffer',
    run: () => parseHeader(unhex('ffff'), 0, 4096),
    code: 1,
    subcode: 2,
    data: '0002',
  },
  {
    name: 'header: unknown type',
    run: () => parseHeader(header(19, 6), 0, 4096),
    code: 1,
    subcode: 3,
    data: '06',
  },
  {
    name: 'OPEN: body shorter than 10',
    run: () => decodeOpen(unhex('04fde900b4')),
    code: 1,
    subcode: 2,
    data: '0018',
  },
  {
    name: 'OPEN: version 3',
    run: () => decodeOpen(open('03fde900b47f000001')),
    code: 2,
    subcode: 1,
    data: '0004',
  },
  { name: 'OPEN: My AS 0', run: () => decodeOpen(open('04000000b47f000001')), code: 2, subcode: 2 },
  {
    name: 'OPEN: 4-octet AS capability 0',
    run: () => decodeOpen(open(OK_OPEN, '080206410400000000')),
    code: 2,
    subcode: 2,
  },
  { name: 'OPEN: BGP identifier 0', run: () => decodeOpen(open('04fde900b400000000')), code: 2, subcode: 3 },
  {
    name: 'OPEN: authentication parameter',
    run: () => decodeOpen(open(OK_OPEN, '03010100')),
    code: 2,
    subcode: 4,
  },
  { name: 'OPEN: hold time 1', run: () => decodeOpen(open('04fde900017f000001')), code: 2, subcode: 6 },
  { name: 'OPEN: hold time 2', run: () => decodeOpen(open('04fde900027f000001')), code: 2, subcode: 6 },
  {
    name: 'OPEN: parameters length mismatch',
    run: () => decodeOpen(open(OK_OPEN, '05020100')),
    code: 2,
    subcode: 0,
  },
  { name: 'OPEN: parameter overruns', run: () => decodeOpen(open(OK_OPEN, '0202ff')), code: 2, subcode: 0 },
  {
    name: 'OPEN: malformed multiprotocol capability',
    run: () => decodeOpen(open(OK_OPEN, '050203010200')),
    code: 2,
    subcode: 0,
  },
  {
    name: 'OPEN: capability overruns parameter',
    run: () => decodeOpen(open(OK_OPEN, '0402024104')),
    code: 2,
    subcode: 0,
  },
  {
    name: 'OPEN: conflicting roles (RFC 9234)',
    run: () => decodeOpen(open(OK_OPEN, '080206090103090104')),
    code: 2,
    subcode: 11,
  },
  {
    name: 'NOTIFICATION: body shorter than 2',
    run: () => decodeNotification(unhex('06')),
    code: 1,
    subcode: 2,
    data: '0014',
  },
  {
    name: 'ROUTE-REFRESH: request of length 5',
    run: () => decodeRouteRefresh(unhex('0001000100')),
    code: 1,
    subcode: 2,
    data: '0018',
  },
  {
    name: 'ROUTE-REFRESH: BoRR of length 5 (RFC 7313 §5)',
    run: () => decodeRouteRefresh(unhex('0001010100')),
    code: 7,
    subcode: 1,
    data: `${M}0018050001010100`,
  },
  {
    name: 'UPDATE: body shorter than 4',
    run: () => decodeUpdate(unhex('000000'), EBGP4),
    code: 1,
    subcode: 2,
    data: '0016',
  },
  {
    name: 'UPDATE: withdrawn length overruns',
    run: () => decodeUpdate(unhex('00050000'), EBGP4),
    code: 3,
    subcode: 1,
  },
  {
    name: 'UPDATE: attribute length overruns',
    run: () => decodeUpdate(unhex('00000005'), EBGP4),
    code: 3,
    subcode: 1,
  },
  {
    name: 'UPDATE: withdrawn prefix /33',
    run: () => decodeUpdate(updateBody([33, 1, 2, 3, 4, 5], new Uint8Array(0), []), EBGP4),
    code: 3,
    subcode: 10,
  },
  {
    name: 'UPDATE: withdrawn prefix truncated',
    run: () => decodeUpdate(updateBody([24, 1, 2], new Uint8Array(0), []), EBGP4),
    code: 3,
    subcode: 10,
  },
  {
    name: 'UPDATE: NLRI prefix /40',
    run: () => decodeUpdate(updateBody([], MANDATORY4, [40, 1, 2, 3, 4, 5]), EBGP4),
    code: 3,
    subcode: 10,
  },
  {
    name: 'UPDATE: NLRI truncated',
    run: () => decodeUpdate(updateBody([], MANDATORY4, [24, 198, 51]), EBGP4),
    code: 3,
    subcode: 10,
  },
  {
    name: 'UPDATE: unrecognized well-known attribute',
    run: () => decodeUpdate(updateBody([], cat(MANDATORY4, attr(0x40, 99, [1, 2])), NLRI), EBGP4),
    code: 3,
    subcode: 2,
    data: '40630201 02',
  },
  {
    name: 'UPDATE: duplicate MP_REACH_NLRI',
    run: () => decodeUpdate(updateBody([], cat(mpReach6(16), mpReach6(16), MANDATORY4), []), EBGP4),
    code: 3,
    subcode: 1,
  },
  {
    name: 'UPDATE: duplicate MP_UNREACH_NLRI',
    run: () =>
      decodeUpdate(updateBody([], cat(attr(0x80, 15, [0, 2, 1]), attr(0x80, 15, [0, 2, 1])), []), EBGP4),
    code: 3,
    subcode: 1,
  },
  // RFC 7606 §3 g: MP_REACH_NLRI or MP_UNREACH_NLRI more than once is 3/1, whatever else is
  // wrong — before, the first error found won (e.g. 3/9 for a malformed first MP_REACH).
  {
    name: 'UPDATE: MP_REACH_NLRI twice, both malformed (§3 g over §7.11)',
    run: () =>
      decodeUpdate(updateBody([], cat(attr(0x80, 14, [0, 2, 1]), attr(0x80, 14, [0, 2, 1])), []), EBGP4),
    code: 3,
    subcode: 1,
  },
  {
    name: 'UPDATE: MP_REACH_NLRI twice, the first with a flags conflict',
    run: () =>
      decodeUpdate(updateBody([], cat(attr(0xc0, 14, [0, 2, 1, 0, 0]), mpReach6(16), MANDATORY4), []), EBGP4),
    code: 3,
    subcode: 1,
  },
  {
    name: 'UPDATE: MP_UNREACH_NLRI twice, the first with an invalid prefix',
    run: () =>
      decodeUpdate(
        updateBody([], cat(attr(0x80, 15, [0, 2, 1, 200, 1]), attr(0x80, 15, [0, 2, 1])), []),
        EBGP4,
      ),
    code: 3,
    subcode: 1,
  },
  {
    name: 'UPDATE: MP_REACH_NLRI twice and an invalid NLRI field',
    run: () =>
      decodeUpdate(updateBody([], cat(mpReach6(16), MANDATORY4, mpReach6(16)), [40, 1, 2, 3, 4, 5]), EBGP4),
    code: 3,
    subcode: 1,
  },
  {
    name: 'UPDATE: MP_UNREACH_NLRI twice and an invalid withdrawn prefix',
    run: () =>
      decodeUpdate(
        updateBody([33, 1, 2, 3, 4, 5], cat(attr(0x80, 15, [0, 1, 1]), attr(0x80, 15, [0, 1, 1])), []),
        EBGP4,
      ),
    code: 3,
    subcode: 1,
  },
  {
    name: 'UPDATE: MP_REACH_NLRI twice after an unrecognized well-known attribute',
    run: () => decodeUpdate(updateBody([], cat(attr(0x40, 99, [1]), mpReach6(16), mpReach6(16)), []), EBGP4),
    code: 3,
    subcode: 1,
  },
  {
    name: 'UPDATE: MP_UNREACH_NLRI twice, no NLRI and an invalid ORIGIN (§5.2)',
    run: () =>
      decodeUpdate(
        updateBody([], cat(attr(0x40, 1, [3]), attr(0x80, 15, [0, 2, 1]), attr(0x80, 15, [0, 2, 1])), []),
        EBGP4,
      ),
    code: 3,
    subcode: 1,
  },
  {
    name: 'UPDATE: MP_REACH_NLRI twice, the second overrunning the attributes',
    run: () =>
      decodeUpdate(
        updateBody([], cat(mpReach6(16), MANDATORY4, Uint8Array.of(0x80, 14, 50, 0, 2)), []),
        EBGP4,
      ),
    code: 3,
    subcode: 1,
  },
  {
    name: 'UPDATE: MP_REACH_NLRI and MP_UNREACH_NLRI twice each, extended lengths',
    run: () =>
      decodeUpdate(
        updateBody(
          [],
          cat(attr(0x90, 15, [0, 2, 1]), mpReach6(16), attr(0x90, 15, [0, 2, 1]), mpReach6(16)),
          [],
        ),
        EBGP4,
      ),
    code: 3,
    subcode: 1,
  },
  // RFC 7606 §3 j: treat-as-withdraw needs MP_REACH/MP_UNREACH parsed; one that overruns the
  // attribute field (§4) cannot be, so that is a session reset.
  {
    name: 'UPDATE: MP_REACH_NLRI overruns the path attributes',
    run: () =>
      decodeUpdate(updateBody([], cat(MANDATORY4, Uint8Array.of(0x80, 14, 9, 0, 2, 1)), NLRI), EBGP4),
    code: 3,
    subcode: 9,
  },
  {
    name: 'UPDATE: MP_UNREACH_NLRI header cut by the attribute field',
    run: () => decodeUpdate(updateBody([], cat(MANDATORY4, Uint8Array.of(0x90, 15, 0)), NLRI), EBGP4),
    code: 3,
    subcode: 9,
  },
  // RFC 7606 §5.2: path attributes but no reachable NLRI — an error other than attribute discard
  // is a session reset, with the RFC 4271 §6.3 subcode and data of that error.
  {
    name: 'UPDATE: no NLRI, ORIGIN value 3 (§5.2)',
    run: () => decodeUpdate(updateBody([], cat(attr(0x40, 1, [3]), attr(0x40, 2, [])), []), EBGP4),
    code: 3,
    subcode: 6,
    data: '40010103',
  },
  {
    name: 'UPDATE: only withdrawals, AGGREGATOR flags conflict (§5.2)',
    run: () =>
      decodeUpdate(
        updateBody([24, 192, 0, 2], cat(MANDATORY4, attr(0x80, 7, [0, 0, 0, 1, 1, 2, 3, 4])), []),
        EBGP4,
      ),
    code: 3,
    subcode: 4,
    data: '800708 00000001 01020304',
  },
  {
    name: 'UPDATE: MP_REACH_NLRI without prefixes, COMMUNITIES length 3 (§5.2)',
    run: () =>
      decodeUpdate(updateBody([], cat(mpReach6(16), attr(0xc0, 8, [0, 0, 1]), MANDATORY4), []), EBGP4),
    code: 3,
    subcode: 9,
    data: 'c00803 000001',
  },
  {
    name: 'UPDATE: MP_UNREACH_NLRI and an attribute overrunning the field (§5.2)',
    run: () =>
      decodeUpdate(
        updateBody(
          [],
          cat(attr(0x80, 15, [0, 2, 1, 32, 0x20, 1, 0xd, 0xb8]), Uint8Array.of(0x80, 4, 9, 0)),
          [],
        ),
        EBGP4,
      ),
    code: 3,
    subcode: 5,
  },
  {
    name: 'UPDATE: MP_REACH_NLRI with transitive flag',
    run: () => decodeUpdate(updateBody([], attr(0xc0, 14, [0, 2, 1, 0, 0]), []), EBGP4),
    code: 3,
    subcode: 4,
    data: 'c00e05 0002010000',
  },
  {
    name: 'UPDATE: MP_REACH_NLRI IPv6 next hop length 4',
    run: () =>
      decodeUpdate(updateBody([], cat(attr(0x80, 14, [0, 2, 1, 4, 1, 2, 3, 4, 0]), MANDATORY4), []), EBGP4),
    code: 3,
    subcode: 9,
    data: '800e09 00020104 01020304 00',
  },
  {
    name: 'UPDATE: MP_REACH_NLRI IPv4 next hop length 16',
    run: () =>
      decodeUpdate(
        updateBody([], attr(0x80, 14, [0, 1, 1, 16, ...new Array<number>(16).fill(1), 0]), []),
        EBGP4,
      ),
    code: 3,
    subcode: 9,
    data: `800e15 00010110 ${'01'.repeat(16)} 00`,
  },
  {
    name: 'UPDATE: MP_REACH_NLRI next hop overruns',
    run: () => decodeUpdate(updateBody([], attr(0x80, 14, [0, 2, 1, 16, 0]), []), EBGP4),
    code: 3,
    subcode: 9,
    data: '800e05 0002011000',
  },
  {
    name: 'UPDATE: MP_REACH_NLRI shorter than 5',
    run: () => decodeUpdate(updateBody([], attr(0x80, 14, [0, 2, 1, 0]), []), EBGP4),
    code: 3,
    subcode: 9,
    data: '800e04 00020100',
  },
  {
    name: 'UPDATE: MP_REACH_NLRI prefix /129',
    run: () => decodeUpdate(updateBody([], cat(mpReach6(16, [129, 1]), MANDATORY4), []), EBGP4),
    code: 3,
    subcode: 10,
  },
  {
    name: 'UPDATE: MP_UNREACH_NLRI shorter than 3',
    run: () => decodeUpdate(updateBody([], attr(0x80, 15, [0, 2]), []), EBGP4),
    code: 3,
    subcode: 9,
    data: '800f02 0002',
  },
  {
    name: 'UPDATE: MP_UNREACH_NLRI truncated prefix',
    run: () => decodeUpdate(updateBody([], attr(0x80, 15, [0, 2, 1, 64, 0x20, 1]), []), EBGP4),
    code: 3,
    subcode: 10,
  },
  {
    name: 'UPDATE: MP_UNREACH_NLRI IPv4 prefix /33',
    run: () => decodeUpdate(updateBody([], attr(0x80, 15, [0, 1, 1, 33, 1, 2, 3, 4, 5]), []), EBGP4),
    code: 3,
    subcode: 10,
  },
];

for (const row of rows) {
  t.test(row.name, async (t) => {
    const r = row.run();
    t.equal(r.ok, false, 'is an error');
    if (r.ok) return;
    t.ok(r.error instanceof BgpMessageError);
    t.equal(r.error.code, row.code, 'code');
    t.equal(r.error.subcode, row.subcode, 'subcode');
    t.equal(hex(r.error.data), (row.data ?? '').replace(/ /g, ''), 'data');
    t.equal(r.error.action, 'session-reset', 'action');
  });
}

t.test('constructors for checks the session makes', async (t) => {
  const cases: [BgpMessageError, number, number, string, string][] = [
    [badPeerAs(65009), 2, 2, '', 'open message error: bad peer AS: AS 65009'],
    [
      unsupportedCapability(Uint8Array.of(65, 4, 0, 0, 0xfd, 0xe9)),
      2,
      7,
      '41040000fde9',
      'open message error: unsupported capability',
    ],
    [roleMismatch('peer says customer'), 2, 11, '', 'open message error: role mismatch: peer says customer'],
    [holdTimerExpired(), 4, 0, '', 'hold timer expired'],
    [fsmError(1, 2), 5, 1, '02', 'finite state machine error: unexpected message in OpenSent state'],
    [fsmError(2, 3), 5, 2, '03', 'finite state machine error: unexpected message in OpenConfirm state'],
    [fsmError(3, 1), 5, 3, '01', 'finite state machine error: unexpected message in Established state'],
    [fsmError(0), 5, 0, '', 'finite state machine error'],
    [
      ceaseError(1, Uint8Array.of(0, 1, 1, ...u32(1000))),
      6,
      1,
      '000101000003e8',
      'cease: maximum number of prefixes reached',
    ],
    [ceaseError(7), 6, 7, '', 'cease: connection collision resolution'],
  ];
  for (const [e, code, subcode, data, message] of cases) {
    t.equal(e.code, code);
    t.equal(e.subcode, subcode);
    t.equal(hex(e.data), data);
    t.equal(e.action, 'session-reset');
    t.equal(e.message, message);
  }
  t.same(u16(1), [0, 1]);
});
