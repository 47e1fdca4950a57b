/**
 * Address and prefix parsing at the data plane's edge: strings from config or BGP become the
 * fixed-size byte arrays the native addon takes (numbers and bytes only cross into C++).
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface ParsedPrefix {
  family: 4 | 6;
  len: number;
  bytes: Uint8Array; // 4 or 16 bytes, host bits zero
}

/** 4 or 16 bytes in network order, or null when `s` is not an IPv4/IPv6 literal. */
export function parseIp(s: string): Uint8Array | null {
  if (isIPv4(s)) return Uint8Array.from(s.split('.').map(Number));
  if (!isIPv6(s) || s.includes('%')) return null;
  const out = new Uint8Array(16);
  let text = s;
  const tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    const v4 = parseIp(text.slice(lastColon + 1))!;
    tail.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    text = `${text.slice(0, lastColon + 1)}x`;
  }
  const halves = text.split('::');
  const words = (part: string | undefined): number[] =>
    part === undefined || part === ''
      ? []
      : part.split(':').flatMap((w) => (w === 'x' ? tail : [parseInt(w, 16)]));
  const head = words(halves[0]);
  const rest = halves.length > 1 ? words(halves[1]) : [];
  const all =
    halves.length > 1 ? [...head, ...new Array(8 - head.length - rest.length).fill(0), ...rest] : head;
  all.forEach((w, i) => {
    out[i * 2] = w >> 8;
    out[i * 2 + 1] = w & 0xff;
  });
  return out;
}

export function familyOf(s: string): 4 | 6 | 0 {
  return isIPv4(s) ? 4 : isIPv6(s) ? 6 : 0;
}

/** Parses `addr/len`. With `strict`, host bits must be zero (a route); otherwise they are kept
 * in `bytes` (an interface address such as 192.0.2.129/30). Returns an error message on failure. */
export function parsePrefix(s: string, strict = true): ParsedPrefix | string {
  const slash = s.indexOf('/');
  if (slash < 0) return `'${s}' is not a prefix (address/length)`;
  const bytes = parseIp(s.slice(0, slash));
  const lenText = s.slice(slash + 1);
  if (!bytes) return `'${s}': bad address`;
  const family = bytes.length === 4 ? 4 : 6;
  const max = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > max) return `'${s}': prefix length must be 0..${max}`;
  const len = Number(lenText);
  if (strict && !hostBitsZero(bytes, len))
    return `'${s}': host bits set (did you mean ${formatPrefix(maskBytes(bytes, len), len)}?)`;
  return { family, len, bytes };
}

export function maskBytes(b: Uint8Array, len: number): Uint8Array {
  const out = Uint8Array.from(b);
  for (let i = 0; i < out.length; i++) {
    const bits = len - i * 8;
    if (bits >= 8) continue;
    out[i] = bits <= 0 ? 0 : out[i]! & (0xff00 >> bits);
  }
  return out;
}

function hostBitsZero(b: Uint8Array, len: number): boolean {
  const m = maskBytes(b, len);
  return m.every((v, i) => v === b[i]);
}

export function formatIp(b: Uint8Array): string {
  if (b.length === 4) return b.join('.');
  const w: string[] = [];
  for (let i = 0; i < 16; i += 2) w.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  return w.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

export function formatPrefix(b: Uint8Array, len: number): string {
  return `${formatIp(b)}/${len}`;
}

/** Big-endian uint32 of an IPv4 address. */
export function ipv4ToU32(b: Uint8Array): number {
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}
