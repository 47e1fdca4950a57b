/**
 * VRPs and route prefixes as text, for logs, explain output, tests and the JSON VRP files that
 * caches such as stayrtr read (`{"prefix": "192.0.2.0/24", "maxLength": 24, "asn": "AS64500"}`).
 */
import { formatPrefix4, formatPrefix6, parsePrefix4, parsePrefix6 } from '../bgp/wire/prefix.js';
import type { Prefix4, Prefix6 } from '../bgp/wire/types.js';
import type { Vrp } from './types.js';

export function formatPrefix(p: Prefix4 | Prefix6): string {
  return typeof p === 'number' ? formatPrefix4(p) : formatPrefix6(p);
}

/** "192.0.2.0/24" or "2001:db8::/32" to a key; undefined when malformed or host bits are set. */
export function parsePrefix(s: string): Prefix4 | Prefix6 | undefined {
  return s.includes(':') ? parsePrefix6(s) : parsePrefix4(s);
}

export function prefixLength(p: Prefix4 | Prefix6): number {
  return typeof p === 'number' ? p % 64 : p.charCodeAt(0);
}

/** `192.0.2.0/24-24 AS64500` (the usual notation: prefix, max length, origin). */
export function vrpText(v: Vrp): string {
  return `${formatPrefix(v.prefix)}-${v.maxLength} AS${v.asn}`;
}

/** A VRP from text parts; undefined unless length ≤ maxLength ≤ the family's bits. */
export function vrp(prefix: string, maxLength: number, asn: number | string): Vrp | undefined {
  const p = parsePrefix(prefix);
  if (p === undefined) return undefined;
  const bits = typeof p === 'number' ? 32 : 128;
  if (!Number.isInteger(maxLength) || maxLength < prefixLength(p) || maxLength > bits) return undefined;
  const a = typeof asn === 'string' ? Number(asn.replace(/^AS/i, '')) : asn;
  if (!Number.isInteger(a) || a < 0 || a > 0xffffffff) return undefined;
  return { prefix: p, maxLength, asn: a };
}

/** The JSON row stayrtr and rpki-client use. */
export function vrpJson(v: Vrp): { prefix: string; maxLength: number; asn: string } {
  return { prefix: formatPrefix(v.prefix), maxLength: v.maxLength, asn: `AS${v.asn}` };
}
