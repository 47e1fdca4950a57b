/**
 * Compact prefix keys and address text. Prefix4 = address * 64 + length (a number), Prefix6 =
 * latin1 string (char 0 = length, then ceil(length / 8) bytes), both with host bits zero so equal
 * prefixes are equal keys. Address text follows RFC 4291 §2.2 (parse) and RFC 5952 (format).
 */
import type { Prefix4, Prefix6 } from './types.js';

/** MASK4[len] = network mask of a /len as an unsigned 32-bit number. */
export const MASK4: readonly number[] = Array.from({ length: 33 }, (_, len) =>
  len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0,
);

export function prefix4(addr: number, len: number): Prefix4 {
  return ((addr & MASK4[len]!) >>> 0) * 64 + len;
}

export function prefix4Addr(p: Prefix4): number {
  return Math.floor(p / 64);
}

export function prefix4Len(p: Prefix4): number {
  return p % 64;
}

export function parseIpv4(s: string): number | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
    const v = Number(part);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

export function formatIpv4(n: number): string {
  return `${(n >>> 24) & 0xff}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
}

function splitPrefix(s: string, max: number): [string, number] | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const lenText = s.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(lenText)) return undefined;
  const len = Number(lenText);
  if (len > max) return undefined;
  return [s.slice(0, slash), len];
}

/** "192.0.2.0/24"; host bits must be zero (a key must be canonical). */
export function parsePrefix4(s: string): Prefix4 | undefined {
  const sp = splitPrefix(s, 32);
  if (sp === undefined) return undefined;
  const addr = parseIpv4(sp[0]);
  if (addr === undefined || (addr & ~MASK4[sp[1]]!) !== 0) return undefined;
  return addr * 64 + sp[1];
}

export function formatPrefix4(p: Prefix4): string {
  return `${formatIpv4(prefix4Addr(p))}/${prefix4Len(p)}`;
}

export function prefix6(bytes: Uint8Array, len: number): Prefix6 {
  const n = (len + 7) >> 3;
  let s = String.fromCharCode(len);
  for (let i = 0; i < n; i++) {
    let b = bytes[i] ?? 0;
    if (i === n - 1 && (len & 7) !== 0) b &= (0xff << (8 - (len & 7))) & 0xff;
    s += String.fromCharCode(b);
  }
  return s;
}

export function prefix6Len(p: Prefix6): number {
  return p.charCodeAt(0);
}

export function prefix6Bytes(p: Prefix6): Uint8Array {
  const out = new Uint8Array(16);
  const n = Math.min(p.length - 1, 16);
  for (let i = 0; i < n; i++) out[i] = p.charCodeAt(i + 1);
  return out;
}

export function parseIpv6(s: string): Uint8Array | undefined {
  if (s.length < 2 || s.length > 45) return undefined;
  const out = new Uint8Array(16);
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (text: string): number[] | undefined => {
    if (text === '') return [];
    const groups = text.split(':');
    const words: number[] = [];
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if (i === groups.length - 1 && g.includes('.')) {
        const v4 = parseIpv4(g);
        if (v4 === undefined) return undefined;
        words.push(v4 >>> 16, v4 & 0xffff);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
        words.push(Number.parseInt(g, 16));
      }
    }
    return words;
  };
  const head = parseGroups(halves[0]!);
  const tail = halves.length === 2 ? parseGroups(halves[1]!) : [];
  if (head === undefined || tail === undefined) return undefined;
  if (halves.length === 1 ? head.length !== 8 : head.length + tail.length > 7) return undefined;
  const words = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  for (let i = 0; i < 8; i++) {
    out[i * 2] = words[i]! >>> 8;
    out[i * 2 + 1] = words[i]! & 0xff;
  }
  return out;
}

/** RFC 5952: lower case, no leading zeros, the first longest run of ≥2 zero groups as "::". */
export function formatIpv6(b: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push(((b[i * 2] ?? 0) << 8) | (b[i * 2 + 1] ?? 0));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]): string => ws.map((w) => w.toString(16)).join(':');
  if (bestStart < 0) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLen))}`;
}

export function parsePrefix6(s: string): Prefix6 | undefined {
  const sp = splitPrefix(s, 128);
  if (sp === undefined) return undefined;
  const addr = parseIpv6(sp[0]);
  if (addr === undefined) return undefined;
  const p = prefix6(addr, sp[1]);
  // Reject host bits: compare the masked key with the full address.
  const masked = prefix6Bytes(p);
  for (let i = 0; i < 16; i++) if (masked[i] !== addr[i]) return undefined;
  return p;
}

export function formatPrefix6(p: Prefix6): string {
  return `${formatIpv6(prefix6Bytes(p))}/${prefix6Len(p)}`;
}
