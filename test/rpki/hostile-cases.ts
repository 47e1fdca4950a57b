/**
 * What a hostile or broken RTR cache may send, each with the Error Report code a router must
 * answer it with (RFC 8210 §5.11, §12; docs/rpki.md): used by the client's test
 * (test/rpki/client.test.ts) and against a running gredged (test/rpki/hostile-daemon.test.ts).
 * Each case is the answer to a Serial Query of session SESSION after a first sync of [A, B].
 */
import { encodePdu, type Pdu, PduType, RtrErrorCode } from '../../src/rpki/pdu.js';
import { vrp } from '../../src/rpki/text.js';
import type { Vrp } from '../../src/rpki/types.js';
import { type CacheConn, type FakeCache, fullResponse } from './fake-cache.js';

export const A = vrp('192.0.2.0/24', 24, 64500)!;
export const B = vrp('2001:db8::/32', 48, 64501)!;
export const C = vrp('198.51.100.0/24', 24, 64502)!;
export const SESSION = 4242;

export interface HostileCase {
  name: string;
  code: number;
  /** The bytes of the answer, in version 1. */
  bytes(): (Pdu | Uint8Array)[];
  /** The router's VRP limit the case needs (the flood), when not the default. */
  maxVrps?: number;
}

/** A cache that answers Reset Queries with `vrps` (serial 1) and Serial Queries via `onSerial`. */
export function serve(
  k: FakeCache,
  vrps: Vrp[],
  onSerial?: (p: Pdu & { type: 1 }, c: CacheConn) => void,
): void {
  k.onPdu = (p, c) => {
    if (p.type === PduType.RESET_QUERY) c.send(...fullResponse(p.version, SESSION, 1, vrps));
    else if (p.type === PduType.SERIAL_QUERY) onSerial?.(p, c);
  };
}

/** The codes of the Error Reports the router sent this cache, in order. */
export const errorsSent = (k: FakeCache): number[] =>
  k.received.filter((p): p is Pdu & { type: 10 } => p.type === PduType.ERROR_REPORT).map((p) => p.code);

/** A flood: this many VRPs against a limit of FLOOD_LIMIT. */
export const FLOOD_LIMIT = 10;

export function hostileCases(): HostileCase[] {
  const v = (x: Vrp, announce = true): Pdu => ({
    type: typeof x.prefix === 'number' ? 4 : 6,
    version: 1,
    announce,
    vrp: x,
  });
  const resp: Pdu = { type: 3, version: 1, sessionId: SESSION };
  const eod = (serial = 2): Pdu => ({ type: 7, version: 1, sessionId: SESSION, serial });
  const raw = (...b: number[]) => Uint8Array.from(b);
  const E = RtrErrorCode;
  return [
    {
      name: 'unknown PDU type',
      code: E.UNSUPPORTED_PDU_TYPE,
      bytes: () => [resp, raw(1, 5, 0, 0, 0, 0, 0, 8)],
    },
    {
      name: 'a Reset Query sent by the cache',
      code: E.UNSUPPORTED_PDU_TYPE,
      bytes: () => [resp, { type: 2, version: 1 }],
    },
    {
      name: 'a length field under 8',
      code: E.CORRUPT_DATA,
      bytes: () => [resp, raw(1, 4, 0, 0, 0, 0, 0, 7)],
    },
    {
      name: 'a length field over the maximum',
      code: E.CORRUPT_DATA,
      bytes: () => [resp, raw(1, 4, 0, 0, 0x7f, 0, 0, 0)],
    },
    {
      name: 'an IPv4 Prefix of the wrong length',
      code: E.CORRUPT_DATA,
      bytes: () => {
        const b = Uint8Array.from([...encodePdu(v(C)), 0, 0, 0, 0]);
        b[7] = 24;
        return [resp, b];
      },
    },
    {
      name: 'maxLength below length',
      code: E.CORRUPT_DATA,
      bytes: () => {
        const b = encodePdu(v(C));
        b[10] = 8;
        return [resp, b, eod()];
      },
    },
    {
      name: 'withdrawal of a VRP never announced',
      code: E.WITHDRAWAL_OF_UNKNOWN_RECORD,
      bytes: () => [resp, v(C, false), eod()],
    },
    {
      name: 'a second withdrawal of one VRP',
      code: E.WITHDRAWAL_OF_UNKNOWN_RECORD,
      bytes: () => [resp, v(A, false), v(A, false), eod()],
    },
    {
      name: 'announcement of a VRP we hold',
      code: E.DUPLICATE_ANNOUNCEMENT,
      bytes: () => [resp, v(A), eod()],
    },
    {
      name: 'the same announcement twice',
      code: E.DUPLICATE_ANNOUNCEMENT,
      bytes: () => [resp, v(C), v(C), eod()],
    },
    {
      name: 'a version 0 PDU in a version 1 session',
      code: E.UNEXPECTED_PROTOCOL_VERSION,
      bytes: () => [resp, { type: 4, version: 0, announce: true, vrp: C }],
    },
    {
      name: 'a version 2 PDU in a version 1 session',
      code: E.UNEXPECTED_PROTOCOL_VERSION,
      bytes: () => {
        const b = encodePdu(v(C));
        b[0] = 2;
        return [resp, b];
      },
    },
    { name: 'a Prefix PDU outside a response', code: E.CORRUPT_DATA, bytes: () => [v(C)] },
    {
      name: 'End of Data for another session',
      code: E.CORRUPT_DATA,
      bytes: () => [resp, v(C), { type: 7, version: 1, sessionId: SESSION + 1, serial: 2 }],
    },
    {
      name: 'a Cache Response for another session',
      code: E.CORRUPT_DATA,
      bytes: () => [{ type: 3, version: 1, sessionId: SESSION + 1 }],
    },
    {
      name: 'a flood past maxVrps',
      code: E.INTERNAL_ERROR,
      bytes: () => [
        resp,
        ...Array.from({ length: 2 * FLOOD_LIMIT }, (_, i) => v(vrp(`10.0.${i}.0/24`, 24, 1)!)),
        eod(),
      ],
      maxVrps: FLOOD_LIMIT,
    },
  ];
}
