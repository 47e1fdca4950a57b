/**
 * Address and prefix checks for the config edge. Returns an error message or undefined, so the
 * reader can attach it to the offending field. Not used per packet or per prefix at run time.
 */
import { isIPv4, isIPv6 } from 'node:net';

export function checkIp(s: string): string | undefined {
  return isIPv4(s) || isIPv6(s) ? undefined : `'${s}' is not an IPv4 or IPv6 address`;
}

export function checkIpv4(s: string): string | undefined {
  return isIPv4(s) ? undefined : `'${s}' is not an IPv4 address`;
}

export function checkIpv6(s: string): string | undefined {
  return isIPv6(s) ? undefined : `'${s}' is not an IPv6 address`;
}

export interface Cidr {
  family: 4 | 6;
  address: string;
  length: number;
}

export function parseCidr(s: string): Cidr | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const address = s.slice(0, slash);
  const lenText = s.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText)) return undefined;
  const length = Number(lenText);
  if (isIPv4(address) && length <= 32) return { family: 4, address, length };
  if (isIPv6(address) && length <= 128) return { family: 6, address, length };
  return undefined;
}

/** Address bytes (4 or 16) of a valid literal. */
export function addressBytes(address: string): Uint8Array {
  if (isIPv4(address)) return Uint8Array.from(address.split('.').map(Number));
  const out = new Uint8Array(16);
  let text = address;
  const v4 = text.match(/(\d+\.\d+\.\d+\.\d+)$/);
  if (v4) {
    const b = addressBytes(v4[1]!);
    const hex = `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
    text = text.slice(0, text.length - v4[1]!.length) + hex;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t];
  groups.forEach((g, i) => {
    const v = Number.parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  return out;
}

/** A prefix: host bits must be zero (a route or an allowed-source list entry). */
export function checkPrefix(s: string, family?: 4 | 6): string | undefined {
  const c = parseCidr(s);
  if (!c || (family && c.family !== family)) {
    const what = family === 4 ? 'an IPv4' : family === 6 ? 'an IPv6' : 'a';
    return `'${s}' is not ${what} prefix (address/length)`;
  }
  const bytes = addressBytes(c.address);
  for (let bit = c.length; bit < bytes.length * 8; bit++) {
    if (bytes[bit >> 3]! & (0x80 >> (bit & 7))) {
      return `'${s}' has host bits set beyond /${c.length}`;
    }
  }
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
