/**
 * RPKI-to-Router PDUs: RFC 8210 §5 (version 1) and RFC 6810 §5 (version 0), pure functions on
 * bytes. Every PDU has an 8-byte header (version, type, a 16-bit field that is the session id,
 * the error code, Router Key flags or zero, and a 32-bit length covering the whole PDU). Decoding
 * returns a value or the Error Report code the router must send (§12), never throws; framing
 * (`PduFramer`) bounds a PDU's length before any byte of its body is buffered.
 */
import { ByteReader, ByteWriter } from '../bgp/wire/reader.js';
import { MASK4 } from '../bgp/wire/prefix.js';
import { prefix6 } from '../bgp/wire/prefix.js';
import type { Vrp } from './types.js';

export const PduType = {
  SERIAL_NOTIFY: 0,
  SERIAL_QUERY: 1,
  RESET_QUERY: 2,
  CACHE_RESPONSE: 3,
  IPV4_PREFIX: 4,
  IPV6_PREFIX: 6,
  END_OF_DATA: 7,
  CACHE_RESET: 8,
  ROUTER_KEY: 9, // version 1 only (RFC 8210 §5.10)
  ERROR_REPORT: 10,
} as const;

/** RFC 8210 §12 (RFC 6810 §10 has 0–7). All but 2 are fatal: the sender closes the session. */
export const RtrErrorCode = {
  CORRUPT_DATA: 0,
  INTERNAL_ERROR: 1,
  NO_DATA_AVAILABLE: 2,
  INVALID_REQUEST: 3,
  UNSUPPORTED_PROTOCOL_VERSION: 4,
  UNSUPPORTED_PDU_TYPE: 5,
  WITHDRAWAL_OF_UNKNOWN_RECORD: 6,
  DUPLICATE_ANNOUNCEMENT: 7,
  UNEXPECTED_PROTOCOL_VERSION: 8,
} as const;

const ERROR_NAMES = [
  'corrupt data',
  'internal error',
  'no data available',
  'invalid request',
  'unsupported protocol version',
  'unsupported PDU type',
  'withdrawal of unknown record',
  'duplicate announcement',
  'unexpected protocol version',
];

export function rtrErrorName(code: number): string {
  return ERROR_NAMES[code] ?? `error code ${code}`;
}

const TYPE_NAMES: Record<number, string> = {
  0: 'Serial Notify',
  1: 'Serial Query',
  2: 'Reset Query',
  3: 'Cache Response',
  4: 'IPv4 Prefix',
  6: 'IPv6 Prefix',
  7: 'End of Data',
  8: 'Cache Reset',
  9: 'Router Key',
  10: 'Error Report',
};

export function pduTypeName(type: number): string {
  return TYPE_NAMES[type] ?? `PDU type ${type}`;
}

export const HEADER_LENGTH = 8;
/** Versions this codec speaks. */
export const MAX_VERSION = 1;
/**
 * Largest PDU accepted. The longest legitimate one is an Error Report carrying a PDU and a text,
 * or a Router Key with its SubjectPublicKeyInfo (~91 bytes for P-256); 64 KiB is generous and
 * keeps a hostile length from making us buffer megabytes.
 */
export const DEFAULT_MAX_PDU_LENGTH = 65536;

export type Pdu =
  | { type: 0; version: number; sessionId: number; serial: number }
  | { type: 1; version: number; sessionId: number; serial: number }
  | { type: 2; version: number }
  | { type: 3; version: number; sessionId: number }
  | { type: 4 | 6; version: number; announce: boolean; vrp: Vrp }
  | {
      type: 7;
      version: number;
      sessionId: number;
      serial: number;
      /** Version 1 only (RFC 8210 §6), seconds. */
      timers?: { refresh: number; retry: number; expire: number };
    }
  | { type: 8; version: number }
  | { type: 9; version: number; announce: boolean; ski: Uint8Array; asn: number; spki: Uint8Array }
  | { type: 10; version: number; code: number; pdu: Uint8Array; text: string };

/** Why a PDU was refused: the Error Report code to send and a text for it and for logs. */
export interface RtrError {
  code: number;
  message: string;
}

export type RtrResult<T> = { ok: true; value: T } | { ok: false; error: RtrError };

function ok<T>(value: T): RtrResult<T> {
  return { ok: true, value };
}

function fail<T>(code: number, message: string): RtrResult<T> {
  return { ok: false, error: { code, message } };
}

/** Exact lengths of the fixed-size PDUs, per version. */
function fixedLength(version: number, type: number): number | undefined {
  switch (type) {
    case PduType.SERIAL_NOTIFY:
    case PduType.SERIAL_QUERY:
      return 12;
    case PduType.RESET_QUERY:
    case PduType.CACHE_RESPONSE:
    case PduType.CACHE_RESET:
      return 8;
    case PduType.IPV4_PREFIX:
      return 20;
    case PduType.IPV6_PREFIX:
      return 32;
    case PduType.END_OF_DATA:
      return version === 0 ? 12 : 24;
    default:
      return undefined;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: false });
const utf8e = new TextEncoder();

/**
 * Decodes one whole PDU (as cut by `PduFramer`). Checks the version is one we speak, the type is
 * defined in that version, the length is right for the type, and Prefix PDUs are sane (length ≤
 * maxLength ≤ the family's bits, host bits zero). Version agreement with the session is the
 * session's business.
 */
export function decodePdu(b: Uint8Array): RtrResult<Pdu> {
  if (b.length < HEADER_LENGTH) return fail(RtrErrorCode.CORRUPT_DATA, `PDU of ${b.length} bytes`);
  const r = new ByteReader(b);
  const version = r.u8();
  const type = r.u8();
  const field = r.u16();
  const length = r.u32();
  if (version > MAX_VERSION) {
    return fail(RtrErrorCode.UNSUPPORTED_PROTOCOL_VERSION, `protocol version ${version}`);
  }
  if (length !== b.length) return fail(RtrErrorCode.CORRUPT_DATA, `length field ${length}, PDU ${b.length}`);
  if (!(type in TYPE_NAMES) || (type === PduType.ROUTER_KEY && version === 0)) {
    return fail(RtrErrorCode.UNSUPPORTED_PDU_TYPE, `${pduTypeName(type)} in version ${version}`);
  }
  const fixed = fixedLength(version, type);
  if (fixed !== undefined && length !== fixed) {
    return fail(RtrErrorCode.CORRUPT_DATA, `${pduTypeName(type)} of length ${length}, must be ${fixed}`);
  }
  switch (type) {
    case PduType.SERIAL_NOTIFY:
    case PduType.SERIAL_QUERY:
      return ok({ type, version, sessionId: field, serial: r.u32() });
    case PduType.RESET_QUERY:
    case PduType.CACHE_RESET:
      return ok({ type, version });
    case PduType.CACHE_RESPONSE:
      return ok({ type, version, sessionId: field });
    case PduType.IPV4_PREFIX:
    case PduType.IPV6_PREFIX:
      return decodePrefix(r, version, type);
    case PduType.END_OF_DATA: {
      const serial = r.u32();
      if (version === 0) return ok({ type, version, sessionId: field, serial });
      const timers = { refresh: r.u32(), retry: r.u32(), expire: r.u32() };
      return ok({ type, version, sessionId: field, serial, timers });
    }
    case PduType.ROUTER_KEY: {
      // §5.10: flags in the first octet of the field, then SKI (20), AS (4), SPKI (rest).
      if (length < HEADER_LENGTH + 24 + 1) {
        return fail(RtrErrorCode.CORRUPT_DATA, `Router Key of length ${length}`);
      }
      const ski = r.bytes(20);
      const asn = r.u32();
      const spki = r.bytes(r.left);
      return ok({ type, version, announce: ((field >>> 8) & 1) === 1, ski, asn, spki });
    }
    default: {
      // ERROR_REPORT, §5.11.
      const pduLen = r.u32();
      if (r.failed || pduLen > r.left) return fail(RtrErrorCode.CORRUPT_DATA, 'Error Report: bad PDU length');
      const pdu = r.bytes(pduLen);
      const textLen = r.u32();
      if (r.failed || textLen !== r.left)
        return fail(RtrErrorCode.CORRUPT_DATA, 'Error Report: bad text length');
      const text = utf8.decode(r.view(textLen));
      return ok({ type: PduType.ERROR_REPORT, version, code: field, pdu, text });
    }
  }
}

function decodePrefix(r: ByteReader, version: number, type: 4 | 6): RtrResult<Pdu> {
  const flags = r.u8();
  const len = r.u8();
  const maxLength = r.u8();
  r.skip(1);
  const bits = type === PduType.IPV4_PREFIX ? 32 : 128;
  const name = pduTypeName(type);
  if (len > bits || maxLength > bits || maxLength < len) {
    return fail(RtrErrorCode.CORRUPT_DATA, `${name}: length ${len}, max length ${maxLength}`);
  }
  let prefix: number | string;
  if (type === PduType.IPV4_PREFIX) {
    const addr = r.u32();
    if ((addr & ~MASK4[len]!) !== 0) return fail(RtrErrorCode.CORRUPT_DATA, `${name}: host bits set`);
    prefix = addr * 64 + len;
  } else {
    const a = r.view(16);
    prefix = prefix6(a, len);
    for (let i = len >> 3; i < 16; i++) {
      const keep = i === len >> 3 ? (0xff << (8 - (len & 7))) & 0xff : 0;
      if ((a[i]! & ~keep & 0xff) !== 0) return fail(RtrErrorCode.CORRUPT_DATA, `${name}: host bits set`);
    }
  }
  const asn = r.u32();
  return ok({ type, version, announce: (flags & 1) === 1, vrp: { prefix, maxLength, asn } });
}

/** Encodes any PDU: the router's queries and Error Reports, and everything a test cache sends. */
export function encodePdu(p: Pdu): Uint8Array {
  const w = new ByteWriter(32);
  let field = 0;
  if (p.type === 0 || p.type === 1 || p.type === 3 || p.type === 7) field = p.sessionId;
  else if (p.type === 10) field = p.code;
  else if (p.type === 9) field = p.announce ? 0x100 : 0;
  w.u8(p.version);
  w.u8(p.type);
  w.u16(field);
  w.u32(0); // length, patched below
  switch (p.type) {
    case 0:
    case 1:
      w.u32(p.serial);
      break;
    case 4:
    case 6: {
      const v = p.vrp;
      const v4 = typeof v.prefix === 'number';
      const len = v4 ? (v.prefix as number) % 64 : (v.prefix as string).charCodeAt(0);
      w.u8(p.announce ? 1 : 0);
      w.u8(len);
      w.u8(v.maxLength);
      w.u8(0);
      if (v4) {
        w.u32(Math.floor((v.prefix as number) / 64));
      } else {
        const s = v.prefix as string;
        for (let i = 0; i < 16; i++) w.u8(i + 1 < s.length ? s.charCodeAt(i + 1) : 0);
      }
      w.u32(v.asn);
      break;
    }
    case 7:
      w.u32(p.serial);
      if (p.version >= 1) {
        const t = p.timers ?? { refresh: 3600, retry: 600, expire: 7200 };
        w.u32(t.refresh);
        w.u32(t.retry);
        w.u32(t.expire);
      }
      break;
    case 9:
      w.bytes(p.ski);
      w.u32(p.asn);
      w.bytes(p.spki);
      break;
    case 10: {
      const text = utf8e.encode(p.text);
      w.u32(p.pdu.length);
      w.bytes(p.pdu);
      w.u32(text.length);
      w.bytes(text);
      break;
    }
    default:
      break;
  }
  const out = w.finish();
  new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(4, out.length);
  return out;
}

/**
 * The Error Report a router sends (§5.11): the erroneous PDU (at most `maxPdu` bytes of it, so
 * an answer never grows with the attacker's input) and a text.
 */
export function errorReport(
  version: number,
  code: number,
  pdu: Uint8Array,
  text: string,
  maxPdu = 1024,
): Uint8Array {
  return encodePdu({ type: 10, version, code, pdu: pdu.subarray(0, maxPdu), text });
}

/**
 * Cuts a TCP byte stream into PDUs. A length field below the header size or above the maximum
 * is an error before any of the body is buffered (the stream cannot be re-synchronised after
 * it, so the session must close). Holds at most one PDU's worth of bytes beyond what was pushed.
 */
export class PduFramer {
  readonly maxLength: number;
  #buf: Uint8Array = new Uint8Array(0);
  #start = 0;
  #end = 0;

  constructor(maxLength = DEFAULT_MAX_PDU_LENGTH) {
    this.maxLength = maxLength;
  }

  push(chunk: Uint8Array): void {
    if (this.#start === this.#end) {
      // Nothing pending: read straight from the chunk (no copy for the common case).
      this.#buf = chunk;
      this.#start = 0;
      this.#end = chunk.length;
      return;
    }
    const pending = this.#end - this.#start;
    const merged = new Uint8Array(pending + chunk.length);
    merged.set(this.#buf.subarray(this.#start, this.#end));
    merged.set(chunk, pending);
    this.#buf = merged;
    this.#start = 0;
    this.#end = merged.length;
  }

  /**
   * The next whole PDU (a view, valid until the next `push`), undefined when more bytes are
   * needed, or an error carrying the header for a length out of bounds.
   */
  next(): Uint8Array | { error: RtrError; header: Uint8Array } | undefined {
    const avail = this.#end - this.#start;
    if (avail < HEADER_LENGTH) return undefined;
    const b = this.#buf;
    const s = this.#start;
    const length = ((b[s + 4]! << 24) | (b[s + 5]! << 16) | (b[s + 6]! << 8) | b[s + 7]!) >>> 0;
    if (length < HEADER_LENGTH || length > this.maxLength) {
      const header = b.slice(s, s + HEADER_LENGTH);
      this.#start = this.#end; // the stream is lost
      return { error: { code: RtrErrorCode.CORRUPT_DATA, message: `PDU length ${length}` }, header };
    }
    if (avail < length) {
      if (this.#buf.length - s > 4 * this.maxLength) {
        // Do not pin a large chunk for a small tail.
        this.#buf = b.slice(s, this.#end);
        this.#start = 0;
        this.#end = this.#buf.length;
      }
      return undefined;
    }
    this.#start = s + length;
    return b.subarray(s, s + length);
  }

  /** Bytes received and not yet returned as a PDU. */
  get pending(): number {
    return this.#end - this.#start;
  }
}
