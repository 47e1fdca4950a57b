/**
 * OPEN (RFC 4271 §4.2, checks of §6.2) with optional parameters: capabilities (RFC 5492) and the
 * extended optional parameters length of RFC 9072 (decoded; sent only when needed).
 * Checks that need the session (expected peer AS, our own identifier, roles) are not here.
 */
import { decodeCapabilities, emptyCapabilities, encodeCapabilities } from './capability.js';
import {
  badBgpIdentifier,
  badMessageLength,
  badPeerAs,
  fail,
  ok,
  openUnspecific,
  type Result,
  unacceptableHoldTime,
  unsupportedOptionalParameter,
  unsupportedVersion,
} from './errors.js';
import { withHeader } from './header.js';
import { ByteReader, ByteWriter } from './reader.js';
import { HEADER_LENGTH, MessageType, type OpenMessage } from './types.js';

const PARAM_CAPABILITIES = 2;
const AS_TRANS = 23456;

export function encodeOpen(m: OpenMessage): Uint8Array {
  const caps = encodeCapabilities(m.capabilities);
  const w = new ByteWriter(32 + caps.length);
  w.u8(m.version);
  w.u16(m.myAs > 0xffff ? AS_TRANS : m.myAs);
  w.u16(m.holdTime);
  w.u32(m.bgpId);
  if (caps.length === 0) {
    w.u8(0);
  } else if (caps.length + 2 <= 255) {
    w.u8(caps.length + 2);
    w.u8(PARAM_CAPABILITIES);
    w.u8(caps.length);
    w.bytes(caps);
  } else {
    // RFC 9072: non-extended length 255, type 255, then 2-octet lengths.
    w.u8(255);
    w.u8(255);
    w.u16(caps.length + 3);
    w.u8(PARAM_CAPABILITIES);
    w.u16(caps.length);
    w.bytes(caps);
  }
  return withHeader(MessageType.OPEN, w.finish());
}

export function decodeOpen(body: Uint8Array): Result<OpenMessage> {
  if (body.length < 10) return fail(badMessageLength(body.length + HEADER_LENGTH));
  const r = new ByteReader(body);
  const version = r.u8();
  const myAs = r.u16();
  const holdTime = r.u16();
  const bgpId = r.u32();
  let paramsLen = r.u8();
  if (version !== 4) return fail(unsupportedVersion(version));
  // RFC 7607: AS 0 is never a valid peer AS.
  if (myAs === 0) return fail(badPeerAs(0));
  if (holdTime === 1 || holdTime === 2) return fail(unacceptableHoldTime(holdTime));
  // RFC 6286 §2.2: any non-zero 4-octet value is a valid identifier.
  if (bgpId === 0) return fail(badBgpIdentifier(0));
  let extended = false;
  if (paramsLen === 255 && r.left >= 3 && body[r.pos] === 255) {
    extended = true;
    r.skip(1);
    paramsLen = r.u16();
  }
  if (paramsLen !== r.left)
    return fail(openUnspecific(`optional parameters length ${paramsLen}, ${r.left} bytes left`));
  const capabilities = emptyCapabilities();
  while (r.left > 0) {
    const type = r.u8();
    const len = extended ? r.u16() : r.u8();
    if (r.failed || !r.has(len)) return fail(openUnspecific('optional parameter overruns the message'));
    if (type !== PARAM_CAPABILITIES) return fail(unsupportedOptionalParameter(type));
    const res = decodeCapabilities(new ByteReader(body, r.pos, r.pos + len), capabilities);
    if (!res.ok) return res;
    r.skip(len);
  }
  if (capabilities.as4 === 0) return fail(badPeerAs(0));
  return ok({ version, myAs, holdTime, bgpId, capabilities });
}
