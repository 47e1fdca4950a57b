/**
 * Packing routes into whole UPDATE messages (RFC 4271 §4.3), each ≤ maxLength (4096, or 65535
 * with RFC 8654). One exact-size buffer per message, written once: this is the export hot path.
 * IPv6 goes in MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760), placed first (RFC 7606 §5.1).
 * End-of-RIB per RFC 4724 §2. If the attributes alone leave no room for one prefix, the packers
 * return no message: the caller must treat such a route as unannounceable.
 */
import { writeHeader } from './header.js';
import { prefix4WireSize, writePrefix4, writePrefix6 } from './nlri.js';
import { allocate } from './slab.js';
import {
  AFI_IPV6,
  type Family,
  MessageType,
  type NextHop6,
  type Prefix4,
  type Prefix6,
  SAFI_UNICAST,
} from './types.js';

const UPDATE_FIXED = 23; // header + withdrawn length + total attribute length

function startUpdate(total: number, wlen: number, alen: number): Uint8Array {
  const b = allocate(total);
  writeHeader(b, 0, total, MessageType.UPDATE);
  b[19] = wlen >>> 8;
  b[20] = wlen & 0xff;
  const a = 21 + wlen;
  b[a] = alen >>> 8;
  b[a + 1] = alen & 0xff;
  return b;
}

export function packUpdates4(
  attrBytes: Uint8Array,
  nlri: Prefix4[],
  start: number,
  end: number,
  maxLength: number,
): Uint8Array[] {
  const out: Uint8Array[] = [];
  const fixed = UPDATE_FIXED + attrBytes.length;
  const room = maxLength - fixed;
  if (room < 5 || attrBytes.length > 0xffff) return out;
  let i = start;
  while (i < end) {
    let size = 0;
    let j = i;
    while (j < end) {
      const s = prefix4WireSize(nlri[j]!);
      if (size + s > room) break;
      size += s;
      j++;
    }
    const b = startUpdate(fixed + size, 0, attrBytes.length);
    b.set(attrBytes, UPDATE_FIXED);
    let pos = fixed;
    for (let k = i; k < j; k++) pos = writePrefix4(b, pos, nlri[k]!);
    out.push(b);
    i = j;
  }
  return out;
}

function writeMpHeader(b: Uint8Array, pos: number, code: number, vlen: number): number {
  if (vlen > 255) {
    b[pos] = 0x90;
    b[pos + 1] = code;
    b[pos + 2] = vlen >>> 8;
    b[pos + 3] = vlen & 0xff;
    return pos + 4;
  }
  b[pos] = 0x80;
  b[pos + 1] = code;
  b[pos + 2] = vlen;
  return pos + 3;
}

export function packUpdates6(
  attrBytes: Uint8Array,
  nextHop: NextHop6,
  nlri: Prefix6[],
  start: number,
  end: number,
  maxLength: number,
): Uint8Array[] {
  const out: Uint8Array[] = [];
  const nhLen = nextHop.linkLocal !== undefined ? 32 : 16;
  const mpFixed = 5 + nhLen; // afi, safi, next hop length, next hop, reserved
  const room = maxLength - UPDATE_FIXED - 4 - mpFixed - attrBytes.length;
  if (room < 17) return out;
  let i = start;
  while (i < end) {
    let size = 0;
    let j = i;
    while (j < end) {
      const s = nlri[j]!.length;
      if (size + s > room) break;
      size += s;
      j++;
    }
    const vlen = mpFixed + size;
    const mpLen = (vlen > 255 ? 4 : 3) + vlen;
    const alen = mpLen + attrBytes.length;
    const b = startUpdate(UPDATE_FIXED + alen, 0, alen);
    let pos = writeMpHeader(b, UPDATE_FIXED, 14, vlen);
    b[pos++] = 0;
    b[pos++] = AFI_IPV6;
    b[pos++] = SAFI_UNICAST;
    b[pos++] = nhLen;
    b.set(nextHop.global.subarray(0, 16), pos);
    pos += 16;
    if (nextHop.linkLocal !== undefined) {
      b.set(nextHop.linkLocal.subarray(0, 16), pos);
      pos += 16;
    }
    b[pos++] = 0; // reserved
    for (let k = i; k < j; k++) pos = writePrefix6(b, pos, nlri[k]!);
    b.set(attrBytes, pos);
    out.push(b);
    i = j;
  }
  return out;
}

export function packWithdrawals4(
  prefixes: Prefix4[],
  start: number,
  end: number,
  maxLength: number,
): Uint8Array[] {
  const out: Uint8Array[] = [];
  const room = maxLength - UPDATE_FIXED;
  let i = start;
  while (i < end) {
    let size = 0;
    let j = i;
    while (j < end) {
      const s = prefix4WireSize(prefixes[j]!);
      if (size + s > room) break;
      size += s;
      j++;
    }
    const b = startUpdate(UPDATE_FIXED + size, size, 0);
    let pos = 21;
    for (let k = i; k < j; k++) pos = writePrefix4(b, pos, prefixes[k]!);
    out.push(b);
    i = j;
  }
  return out;
}

export function packWithdrawals6(
  prefixes: Prefix6[],
  start: number,
  end: number,
  maxLength: number,
): Uint8Array[] {
  const out: Uint8Array[] = [];
  const room = maxLength - UPDATE_FIXED - 4 - 3;
  let i = start;
  while (i < end) {
    let size = 0;
    let j = i;
    while (j < end) {
      const s = prefixes[j]!.length;
      if (size + s > room) break;
      size += s;
      j++;
    }
    const vlen = 3 + size;
    const alen = (vlen > 255 ? 4 : 3) + vlen;
    const b = startUpdate(UPDATE_FIXED + alen, 0, alen);
    let pos = writeMpHeader(b, UPDATE_FIXED, 15, vlen);
    b[pos++] = 0;
    b[pos++] = AFI_IPV6;
    b[pos++] = SAFI_UNICAST;
    for (let k = i; k < j; k++) pos = writePrefix6(b, pos, prefixes[k]!);
    out.push(b);
    i = j;
  }
  return out;
}

export function encodeEndOfRib(family: Family): Uint8Array {
  if (family === 'ipv4-unicast') return startUpdate(UPDATE_FIXED, 0, 0);
  const b = startUpdate(UPDATE_FIXED + 6, 0, 6);
  b.set([0x80, 15, 3, 0, AFI_IPV6, SAFI_UNICAST], UPDATE_FIXED);
  return b;
}
