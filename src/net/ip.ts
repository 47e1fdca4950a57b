/**
 * Address text at the edges: config files, control requests, socket addresses. Every such
 * string is parsed here, through one library (ipaddr.js), and every address gredge prints for a
 * person is formatted here as RFC 5952 text (§4: lower case, no leading zeros, the longest run
 * of two or more zero fields as `::`, the first of equal runs; §5: IPv4-mapped as ::ffff:a.b.c.d).
 *
 * Strict on purpose: IPv4 only as four decimal parts without leading zeros (no inet_aton forms
 * such as `10.1` or `0x7f.1`), IPv6 without a zone (`%eth0`). The per-prefix hot path (UPDATE
 * decoding, RIB keys, the import policy) keeps its own fast parser in src/bgp/wire/prefix.ts.
 */
import ipaddr from 'ipaddr.js';

export type IpFamily = 4 | 6;

export interface Ip {
  family: IpFamily;
  /** 4 or 16 bytes, network order. */
  bytes: Uint8Array;
}

export interface Cidr extends Ip {
  /** Prefix length; `bytes` keep the host bits as written (an interface address). */
  length: number;
}

const LENGTH_RE = /^(0|[1-9][0-9]{0,2})$/;

/**
 * Four decimal parts 0-255 without leading zeros (what ipaddr.js calls four-part decimal), as
 * bytes; undefined for anything else. By hand: ipaddr.js's check and parse were a fifth of the
 * time a 10,000-customer config took to load.
 */
export function parseIpv4(s: string): Uint8Array | undefined {
  const out = new Uint8Array(4);
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46; // the end closes the last part like a '.'
    if (c >= 48 && c <= 57) {
      if (digits > 0 && value === 0) return undefined; // a leading zero
      value = value * 10 + (c - 48);
      if (value > 255) return undefined;
      digits++;
    } else if (c === 46) {
      if (digits === 0 || part > 3) return undefined;
      out[part++] = value;
      value = 0;
      digits = 0;
    } else return undefined;
  }
  return part === 4 ? out : undefined;
}

/** An IPv4 or IPv6 literal, or undefined. */
export function parseIp(s: string): Ip | undefined {
  if (typeof s !== 'string') return undefined;
  const v4 = parseIpv4(s);
  if (v4) return { family: 4, bytes: v4 };
  if (!s.includes(':') || s.includes('%') || !ipaddr.IPv6.isValid(s)) return undefined;
  // ipaddr.js takes the embedded IPv4 of `::ffff:a.b.c.d` in its own inet_aton forms: re-check it.
  const dotted = s.lastIndexOf(':');
  if (s.includes('.', dotted) && !parseIpv4(s.slice(dotted + 1))) return undefined;
  return { family: 6, bytes: Uint8Array.from(ipaddr.IPv6.parse(s).toByteArray()) };
}

export function ipFamily(s: string): IpFamily | 0 {
  return parseIp(s)?.family ?? 0;
}

export function isIpv4(s: string): boolean {
  return parseIp(s)?.family === 4;
}

export function isIpv6(s: string): boolean {
  return parseIp(s)?.family === 6;
}

/** `address/length`, host bits kept as written; undefined when either part is not valid. */
export function parseCidr(s: string): Cidr | undefined {
  if (typeof s !== 'string') return undefined;
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(s.slice(0, slash));
  const lenText = s.slice(slash + 1);
  if (!ip || !LENGTH_RE.test(lenText)) return undefined;
  const length = Number(lenText);
  if (length > bitsOf(ip.family)) return undefined;
  return { ...ip, length };
}

export function bitsOf(family: IpFamily): 32 | 128 {
  return family === 4 ? 32 : 128;
}

/** The network of `bytes`/`len`: host bits cleared (a copy). */
export function maskBytes(b: Uint8Array, len: number): Uint8Array {
  const out = Uint8Array.from(b);
  for (let i = 0; i < out.length; i++) {
    const bits = len - i * 8;
    if (bits >= 8) continue;
    out[i] = bits <= 0 ? 0 : out[i]! & (0xff00 >> bits);
  }
  return out;
}

export function hostBitsZero(b: Uint8Array, len: number): boolean {
  const m = maskBytes(b, len);
  return m.every((v, i) => v === b[i]);
}

/** Do two prefixes share an address (one contains the other)? Different families never do. */
export function overlaps(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  return contains(a, b) || contains(b, a);
}

/** Is `inner` (an address or a prefix) inside `outer`? */
export function contains(outer: Cidr, inner: Ip & { length?: number }): boolean {
  if (outer.family !== inner.family) return false;
  if ((inner.length ?? bitsOf(inner.family)) < outer.length) return false;
  const a = maskBytes(outer.bytes, outer.length);
  const b = maskBytes(inner.bytes, outer.length);
  return a.every((v, i) => v === b[i]);
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** RFC 5952 text of 4 or 16 address bytes (IPv4-mapped IPv6 in the §5 mixed notation). */
export function formatIp(b: Uint8Array): string {
  if (b.length === 4) return ipaddr.fromByteArray([...b]).toString();
  const ip = ipaddr.fromByteArray([...b]) as ipaddr.IPv6;
  if (ip.isIPv4MappedAddress()) return `::ffff:${ip.toIPv4Address().toString()}`;
  return ip.toRFC5952String();
}

export function formatCidr(b: Uint8Array, len: number): string {
  return `${formatIp(b)}/${len}`;
}

/** The canonical (RFC 5952) text of an address literal; the input unchanged when it is not one. */
export function canonicalIp(s: string): string {
  const ip = parseIp(s);
  return ip ? formatIp(ip.bytes) : s;
}

/**
 * A socket's peer or local address as the config writes it (the one place that does this): a
 * dual-stack socket reports an IPv4 peer as `::ffff:a.b.c.d`, which is the IPv4 address
 * `a.b.c.d`; any other address in its RFC 5952 text (what the config schema stores), so that the
 * two compare equal as strings. Not an address: unchanged.
 */
export function unmapIpv4(s: string): string {
  const ip = parseIp(s);
  if (!ip) return s;
  if (ip.family === 6) {
    const v6 = ipaddr.fromByteArray([...ip.bytes]) as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().toString();
  }
  return formatIp(ip.bytes);
}
