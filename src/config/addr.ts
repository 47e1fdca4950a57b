/**
 * Address and prefix checks for the config edge, on the one address parser of the edges
 * (src/net/ip.ts). Each returns an error message or undefined, so the schema can attach it to
 * the offending field. Not used per packet or per prefix at run time.
 */
import { type Cidr, hostBitsZero, isIpv4, isIpv6, parseCidr } from '../net/ip.js';

export function checkIp(s: string): string | undefined {
  return isIpv4(s) || isIpv6(s) ? undefined : `'${s}' is not an IPv4 or IPv6 address`;
}

export function checkIpv4(s: string): string | undefined {
  return isIpv4(s) ? undefined : `'${s}' is not an IPv4 address`;
}

export function checkIpv6(s: string): string | undefined {
  return isIpv6(s) ? undefined : `'${s}' is not an IPv6 address`;
}

export type { Cidr };
export { parseCidr };

/** A prefix: host bits must be zero (a route or an allowed-source list entry). */
export function checkPrefix(s: string, family?: 4 | 6): string | undefined {
  const c = parseCidr(s);
  if (!c || (family && c.family !== family)) {
    const what = family === 4 ? 'an IPv4' : family === 6 ? 'an IPv6' : 'a';
    return `'${s}' is not ${what} prefix (address/length)`;
  }
  if (!hostBitsZero(c.bytes, c.length)) return `'${s}' has host bits set beyond /${c.length}`;
  return undefined;
}

/** An interface address with its prefix length (host bits allowed), e.g. 192.0.2.129/30. */
export function checkInterfaceAddress(
  s: string,
  family: 4 | 6,
  lengths: readonly number[],
): string | undefined {
  const c = parseCidr(s);
  if (!c || c.family !== family) return `'${s}' is not an IPv${family} address with a prefix length`;
  if (!lengths.includes(c.length)) return `'${s}' must be a /${lengths.join(' or /')}`;
  return undefined;
}
