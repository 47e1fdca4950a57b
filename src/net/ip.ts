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

// ---- the same answers, faster (config checks of 10,000 tunnels and neighbors) ----

/**
 * parseIp's answer for every input. The plain IPv6 forms (hex groups of 1-4 digits, at most one
 * `::`, nothing else) are read by hand; anything else (a dotted IPv4 tail, a zone, a long group,
 * a malformed string) goes to parseIp itself. ipaddr.js's parse of one IPv6 address cost more
 * than all the rest of checking a tunnel entry.
 */
export function parseIpFast(s: string): Ip | undefined {
  if (typeof s !== 'string') return undefined;
  const v4 = parseIpv4(s);
  if (v4) return { family: 4, bytes: v4 };
  const v6 = plainIpv6(s);
  return v6 ? { family: 6, bytes: v6 } : parseIp(s);
}

/** parseCidr's answer for every input, through parseIpFast. */
export function parseCidrFast(s: string): Cidr | undefined {
  if (typeof s !== 'string') return undefined;
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIpFast(s.slice(0, slash));
  const lenText = s.slice(slash + 1);
  if (!ip || !LENGTH_RE.test(lenText)) return undefined;
  const length = Number(lenText);
  if (length > bitsOf(ip.family)) return undefined;
  return { family: ip.family, bytes: ip.bytes, length };
}

/** Eight groups, for parsing and formatting (one at a time: nothing here is re-entered). */
const scratch = new Uint16Array(8);

/**
 * The plain IPv6 forms only: `x:x:x:x:x:x:x:x` (1 to 4 hex digits each, either case), or with
 * one `::` standing for one or more zero groups; undefined for anything else, valid or not (a
 * dotted IPv4 tail, a zone, ...).
 */
export function plainIpv6(s: string): Uint8Array | undefined {
  const g = scratch;
  if (!plainIpv6Groups(s, g)) return undefined;
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[i * 2] = g[i]! >> 8;
    out[i * 2 + 1] = g[i]! & 0xff;
  }
  return out;
}

/** plainIpv6 into `out` (8 groups): false when `s` is not of that form (out is then garbage). */
function plainIpv6Groups(s: string, out: Uint16Array): boolean {
  const n = s.length;
  if (n < 2) return false;
  let count = 0; // groups written
  let gap = -1; // the group index where `::` stands
  let value = 0;
  let digits = 0;
  let i = 0;
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return false; // a lone leading ':'
    gap = 0;
    i = 2;
    if (n === 2) {
      out.fill(0);
      return true;
    }
  }
  for (; i <= n; i++) {
    const c = i < n ? s.charCodeAt(i) : 58;
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if (c >= 97 && c <= 102) d = c - 87;
    else if (c >= 65 && c <= 70) d = c - 55;
    else if (c === 58) {
      if (digits === 0 || count === 8) return false; // an empty group (':::', 'x:'), or a ninth
      out[count++] = value;
      value = 0;
      digits = 0;
      if (i + 1 < n && s.charCodeAt(i + 1) === 58) {
        if (gap >= 0) return false; // a second '::'
        gap = count;
        i++;
        if (i + 1 === n) break; // '::' at the end
      } else if (i + 1 === n) return false; // a single trailing ':'
      continue;
    } else return false;
    if (++digits > 4) return false;
    value = value * 16 + d;
  }
  if (gap < 0) return count === 8;
  if (count > 7) return false;
  // Move the groups after `::` to the end; zeros between.
  const tail = count - gap;
  out.copyWithin(8 - tail, gap, count);
  out.fill(0, gap, 8 - tail);
  return true;
}

/**
 * canonicalIp's text for an address, undefined when `s` is not one (parseIp's undefined):
 * without bytes or ipaddr.js objects for IPv4 (its text is already canonical: parseIpv4 takes
 * no leading zeros) and the plain IPv6 forms.
 */
export function canonicalIpFast(s: string): string | undefined {
  if (typeof s !== 'string') return undefined;
  if (isIpv4Text(s)) return s;
  if (plainIpv6Groups(s, scratch)) return formatGroups(scratch);
  const ip = parseIp(s);
  return ip ? formatIpFast(ip.bytes) : undefined;
}

/** parseIpv4(s) !== undefined, without the bytes. */
function isIpv4Text(s: string): boolean {
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46;
    if (c >= 48 && c <= 57) {
      if (digits > 0 && value === 0) return false;
      value = value * 10 + (c - 48);
      if (value > 255) return false;
      digits++;
    } else if (c === 46) {
      if (digits === 0 || part > 3) return false;
      part++;
      value = 0;
      digits = 0;
    } else return false;
  }
  return part === 4;
}

/** formatIp's text for every 4 or 16 bytes, without building ipaddr.js objects. */
export function formatIpFast(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (b.length !== 16) return formatIp(b);
  const g = scratch;
  for (let i = 0; i < 8; i++) g[i] = (b[i * 2]! << 8) | b[i * 2 + 1]!;
  return formatGroups(g);
}

/** RFC 5952 text of eight groups, IPv4-mapped ones in the §5 form (as formatIp). */
function formatGroups(g: Uint16Array): string {
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff)
    return `::ffff:${g[6]! >> 8}.${g[6]! & 0xff}.${g[7]! >> 8}.${g[7]! & 0xff}`;
  // §4.2: the longest run of two or more zero groups becomes `::`, the first of equal runs.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === best) {
      out += '::';
      i += bestLen - 1;
    } else out += i === 0 || i === best + bestLen ? g[i]!.toString(16) : `:${g[i]!.toString(16)}`;
  }
  return out;
}

/** contains(outer, inner)'s answer, comparing the bits in place (no masked copies). */
export function containsFast(outer: Cidr, inner: Ip & { length?: number }): boolean {
  if (outer.family !== inner.family) return false;
  if ((inner.length ?? bitsOf(inner.family)) < outer.length) return false;
  const full = outer.length >> 3;
  for (let i = 0; i < full; i++) if (outer.bytes[i] !== inner.bytes[i]) return false;
  const bits = outer.length & 7;
  if (bits === 0) return true;
  const mask = (0xff00 >> bits) & 0xff;
  return (outer.bytes[full]! & mask) === (inner.bytes[full]! & mask);
}

/** overlaps(a, b)'s answer, through containsFast. */
export function overlapsFast(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && (containsFast(a, b) || containsFast(b, a));
}
