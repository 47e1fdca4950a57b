/**
 * NLRI prefix lists (RFC 4271 §4.3 "length, prefix" pairs; RFC 4760 §5 for IPv6). These loops run
 * once per prefix of a full table, so they do plain byte math after an explicit bounds check and
 * allocate nothing per IPv4 prefix beyond the pushed number. Host bits beyond the length are
 * cleared so that keys stay canonical.
 */
import { MASK4 } from './prefix.js';
import type { Prefix4, Prefix6 } from './types.js';

/** Appends the prefixes in buf[pos, end) to `out`; false on a syntax error (RFC 7606 §5.3). */
export function readPrefixes4(buf: Uint8Array, pos: number, end: number, out: Prefix4[]): boolean {
  while (pos < end) {
    const len = buf[pos]!;
    if (len > 32) return false;
    const n = (len + 7) >> 3;
    pos++;
    if (pos + n > end) return false;
    let a = 0;
    switch (n) {
      case 4:
        a = (buf[pos]! << 24) | (buf[pos + 1]! << 16) | (buf[pos + 2]! << 8) | buf[pos + 3]!;
        break;
      case 3:
        a = (buf[pos]! << 24) | (buf[pos + 1]! << 16) | (buf[pos + 2]! << 8);
        break;
      case 2:
        a = (buf[pos]! << 24) | (buf[pos + 1]! << 16);
        break;
      case 1:
        a = buf[pos]! << 24;
        break;
    }
    out.push(((a & MASK4[len]!) >>> 0) * 64 + len);
    pos += n;
  }
  return true;
}

const LAST_BYTE_MASK = [0xff, 0x80, 0xc0, 0xe0, 0xf0, 0xf8, 0xfc, 0xfe];

/** As readPrefixes4 for IPv6: the wire form "length, bytes" is already the Prefix6 key. */
export function readPrefixes6(buf: Uint8Array, pos: number, end: number, out: Prefix6[]): boolean {
  while (pos < end) {
    const len = buf[pos]!;
    if (len > 128) return false;
    const n = (len + 7) >> 3;
    if (pos + 1 + n > end) return false;
    let s = String.fromCharCode(len);
    for (let i = 1; i <= n; i++) {
      let b = buf[pos + i]!;
      if (i === n) b &= LAST_BYTE_MASK[len & 7]!;
      s += String.fromCharCode(b);
    }
    out.push(s);
    pos += 1 + n;
  }
  return true;
}

export function prefix4WireSize(p: Prefix4): number {
  return 1 + (((p % 64) + 7) >> 3);
}

/** Writes one prefix at pos; returns the position after it. */
export function writePrefix4(buf: Uint8Array, pos: number, p: Prefix4): number {
  const len = p % 64;
  const a = (p - len) / 64;
  buf[pos++] = len;
  if (len > 0) buf[pos++] = a >>> 24;
  if (len > 8) buf[pos++] = (a >>> 16) & 0xff;
  if (len > 16) buf[pos++] = (a >>> 8) & 0xff;
  if (len > 24) buf[pos++] = a & 0xff;
  return pos;
}

export function writePrefix6(buf: Uint8Array, pos: number, p: Prefix6): number {
  for (let i = 0; i < p.length; i++) buf[pos++] = p.charCodeAt(i) & 0xff;
  return pos;
}
