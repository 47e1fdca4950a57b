/**
 * The transit's churn: a slice of the base table (bench/bgp-propagation/feed.ts's prefixes
 * 0..F-1) withdrawn, then announced again, alternating. Each step's UPDATEs are encoded before
 * the measurement, packed up to the 4,096-byte message limit (RFC 4271 §4): withdrawals in the
 * Withdrawn Routes field, announcements under one attribute set (ORIGIN IGP, AS_PATH of the
 * transit and one private AS, NEXT_HOP on the namespace's veth subnet).
 */
import { prefixAt } from '../bgp-propagation/feed.js';

const MAX_MSG = 4096;

function nlri(i: number, out: Buffer, o: number): number {
  const [addr, len] = prefixAt(i);
  out[o++] = len;
  // /22 and /24 only: three address bytes.
  out[o++] = addr >>> 24;
  out[o++] = (addr >>> 16) & 0xff;
  out[o++] = (addr >>> 8) & 0xff;
  return o;
}

function header(out: Buffer, start: number, end: number): void {
  out.fill(0xff, start, start + 16);
  out.writeUInt16BE(end - start, start + 16);
  out[start + 18] = 2;
}

/** UPDATEs withdrawing prefixes [from, to). */
export function encodeWithdraw(from: number, to: number): Buffer {
  const parts: Buffer[] = [];
  let i = from;
  while (i < to) {
    const out = Buffer.alloc(MAX_MSG);
    let o = 21;
    while (i < to && o + 4 <= MAX_MSG - 2) o = nlri(i++, out, o);
    out.writeUInt16BE(o - 21, 19);
    out.writeUInt16BE(0, o); // no path attributes
    o += 2;
    header(out, 0, o);
    parts.push(out.subarray(0, o));
  }
  return Buffer.concat(parts);
}

/** UPDATEs announcing prefixes [from, to) under one attribute set. */
export function encodeAnnounce(from: number, to: number, transitAs: number, nextHop: string): Buffer {
  const attrs = Buffer.alloc(4 + 3 + 10 + 3 + 4 + 4);
  let a = 0;
  attrs.set([0x40, 1, 1, 0], a); // ORIGIN IGP
  a += 4;
  attrs.set([0x40, 2, 10, 2, 2], a); // AS_PATH: one AS_SEQUENCE of two 4-octet ASNs
  a += 5;
  attrs.writeUInt32BE(transitAs, a);
  attrs.writeUInt32BE(4_200_000_999, a + 4);
  a += 8;
  attrs.set([0x40, 3, 4, ...nextHop.split('.').map(Number)], a); // NEXT_HOP
  a += 7;
  const attrBytes = attrs.subarray(0, a);
  const parts: Buffer[] = [];
  let i = from;
  while (i < to) {
    const out = Buffer.alloc(MAX_MSG);
    out.writeUInt16BE(0, 19);
    out.writeUInt16BE(attrBytes.length, 21);
    attrBytes.copy(out, 23);
    let o = 23 + attrBytes.length;
    while (i < to && o + 4 <= MAX_MSG) o = nlri(i++, out, o);
    header(out, 0, o);
    parts.push(out.subarray(0, o));
  }
  return Buffer.concat(parts);
}

/**
 * The flap schedule: `rate` prefix changes per second in `ticksPerSecond` equal steps; second
 * s withdraws prefixes [0, rate) when s is even and announces them again when odd, so every
 * change is a real one and the table returns to the base after an even number of seconds.
 * Returns the per-tick payloads of one withdraw second and one announce second.
 */
export function flapSteps(
  rate: number,
  ticksPerSecond: number,
  transitAs: number,
  nextHop: string,
): { withdraw: Buffer[]; announce: Buffer[] } {
  const withdraw: Buffer[] = [];
  const announce: Buffer[] = [];
  for (let k = 0; k < ticksPerSecond; k++) {
    const from = Math.floor((rate * k) / ticksPerSecond);
    const to = Math.floor((rate * (k + 1)) / ticksPerSecond);
    withdraw.push(encodeWithdraw(from, to));
    announce.push(encodeAnnounce(from, to, transitAs, nextHop));
  }
  return { withdraw, announce };
}

/** Prefixes in the Withdrawn Routes and NLRI fields of one UPDATE body (IPv4, RFC 4271 §4.3). */
export function countPrefixes(
  buf: Buffer,
  off: number,
  len: number,
): { announced: number; withdrawn: number } {
  const walk = (p: number, end: number) => {
    let n = 0;
    while (p < end) {
      p += 1 + ((buf[p]! + 7) >>> 3);
      n++;
    }
    return n;
  };
  const wlen = buf.readUInt16BE(off);
  const withdrawn = walk(off + 2, off + 2 + wlen);
  const alenAt = off + 2 + wlen;
  const alen = buf.readUInt16BE(alenAt);
  const announced = walk(alenAt + 2 + alen, off + len);
  return { announced, withdrawn };
}
