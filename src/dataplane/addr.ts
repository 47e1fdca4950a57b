/**
 * Address and prefix parsing at the data plane's edge: strings from config or BGP become the
 * fixed-size byte arrays the native addon takes (numbers and bytes only cross into C++). The
 * text itself is parsed and printed by src/net/ip.ts, the one address module of the edges.
 */
import {
  formatCidr,
  formatIp,
  hostBitsZero,
  ipFamily,
  maskBytes,
  parseIp as parseEdgeIp,
} from '../net/ip.js';

export { formatIp, maskBytes };

export interface ParsedPrefix {
  family: 4 | 6;
  len: number;
  bytes: Uint8Array; // 4 or 16 bytes, host bits zero
}

/** 4 or 16 bytes in network order, or null when `s` is not an IPv4/IPv6 literal. */
export function parseIp(s: string): Uint8Array | null {
  return parseEdgeIp(s)?.bytes ?? null;
}

export function familyOf(s: string): 4 | 6 | 0 {
  return ipFamily(s);
}

/** Parses `addr/len`. With `strict`, host bits must be zero (a route); otherwise they are kept
 * in `bytes` (an interface address such as 192.0.2.129/30). Returns an error message on failure. */
export function parsePrefix(s: string, strict = true): ParsedPrefix | string {
  const slash = s.indexOf('/');
  if (slash < 0) return `'${s}' is not a prefix (address/length)`;
  const ip = parseEdgeIp(s.slice(0, slash));
  const lenText = s.slice(slash + 1);
  if (!ip) return `'${s}': bad address`;
  const max = ip.family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > max) return `'${s}': prefix length must be 0..${max}`;
  const len = Number(lenText);
  if (strict && !hostBitsZero(ip.bytes, len))
    return `'${s}': host bits set (did you mean ${formatPrefix(maskBytes(ip.bytes, len), len)}?)`;
  return { family: ip.family, len, bytes: ip.bytes };
}

export function formatPrefix(b: Uint8Array, len: number): string {
  return formatCidr(b, len);
}

/** Big-endian uint32 of an IPv4 address. */
export function ipv4ToU32(b: Uint8Array): number {
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}
