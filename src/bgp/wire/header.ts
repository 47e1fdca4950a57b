/**
 * The 19-byte message header (RFC 4271 §4.1) and its checks (§6.1): marker all ones, length
 * within [19, maxLength] and within the per-type bounds, known type. Also KEEPALIVE (§4.4).
 */
import {
  badMessageLength,
  badMessageType,
  connectionNotSynchronized,
  fail,
  ok,
  type Result,
} from './errors.js';
import { HEADER_LENGTH, MessageType } from './types.js';

/** Per type: minimum and (if fixed) maximum total length. */
const MIN_LENGTH: Record<number, number> = {
  [MessageType.OPEN]: 29,
  [MessageType.UPDATE]: 23,
  [MessageType.NOTIFICATION]: 21,
  [MessageType.KEEPALIVE]: 19,
  [MessageType.ROUTE_REFRESH]: 23,
};

/**
 * Checks the header at `offset`; the caller has at least 19 bytes there. `maxLength` is 4096, or
 * 65535 once RFC 8654 extended messages are negotiated (OPEN and KEEPALIVE stay ≤ 4096, §4).
 */
export function parseHeader(
  buf: Uint8Array,
  offset: number,
  maxLength: number,
): Result<{ type: number; length: number }> {
  if (offset < 0 || offset + HEADER_LENGTH > buf.length) return fail(badMessageLength(buf.length - offset));
  for (let i = 0; i < 16; i++) if (buf[offset + i] !== 0xff) return fail(connectionNotSynchronized());
  const length = (buf[offset + 16]! << 8) | buf[offset + 17]!;
  const type = buf[offset + 18]!;
  if (length < HEADER_LENGTH || length > maxLength) return fail(badMessageLength(length));
  const min = MIN_LENGTH[type];
  if (min === undefined) return fail(badMessageType(type));
  let max = maxLength;
  if (type === MessageType.KEEPALIVE) max = HEADER_LENGTH;
  else if (type === MessageType.OPEN && max > 4096) max = 4096;
  if (length < min || length > max) return fail(badMessageLength(length));
  return ok({ type, length });
}

export function writeHeader(buf: Uint8Array, offset: number, length: number, type: number): void {
  buf.fill(0xff, offset, offset + 16);
  buf[offset + 16] = (length >>> 8) & 0xff;
  buf[offset + 17] = length & 0xff;
  buf[offset + 18] = type;
}

export function encodeKeepalive(): Uint8Array {
  const b = new Uint8Array(HEADER_LENGTH);
  writeHeader(b, 0, HEADER_LENGTH, MessageType.KEEPALIVE);
  return b;
}

/** Wraps a body in a header: for encoders whose body is built first. */
export function withHeader(type: number, body: Uint8Array): Uint8Array {
  const b = new Uint8Array(HEADER_LENGTH + body.length);
  writeHeader(b, 0, b.length, type);
  b.set(body, HEADER_LENGTH);
  return b;
}
