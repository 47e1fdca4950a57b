/**
 * The prefixes of one sessions run, numbered so that a customer can keep one bit per prefix
 * (150 KB for a 1.2M-route table): the transit's IPv4 feed (bgp-propagation/feed.ts prefixAt),
 * its IPv6 feed (prefix6At), then the customers' /24s in 176.0.0.0/8 (customer i: 8 slots from
 * i × 8). Inverse of the generators, checked against them at construction.
 */
import { prefix6At, prefixAt } from '../bgp-propagation/feed.js';
import type { Universe } from './count.js';

export const CUSTOMER_BASE = (176 << 24) >>> 0;
export const SLOTS_PER_CUSTOMER = 8;

export function sessionsUniverse(p4: number, p6: number, customers: number): Universe {
  // Rank of each /8 in the IPv4 feed's walk (prefixAt skips bogon and lab /8s): 65,536 per /8.
  const rank8 = new Int16Array(256).fill(-1);
  for (let k = 0; k * 65536 < p4; k++) rank8[prefixAt(k * 65536)[0] >>> 24] = k;
  const customerSlots = customers * SLOTS_PER_CUSTOMER;
  const u: Universe = {
    size: p4 + p6 + customerSlots,
    index(buf, p, plen, width) {
      if (width === 4) {
        const a =
          ((buf[p] ?? 0) << 24) | ((plen > 8 ? buf[p + 1]! : 0) << 16) | ((plen > 16 ? buf[p + 2]! : 0) << 8);
        const first = a >>> 24;
        const slot = (a >>> 8) & 0xffff;
        if (first === 176) return plen === 24 && slot < customerSlots ? p4 + p6 + slot : -1;
        const r = rank8[first]!;
        if (r < 0) return -1;
        const i = r * 65536 + slot;
        return i < p4 && plen === (slot % 4 === 0 ? 22 : 24) ? i : -1;
      }
      if (plen < 32) return -1;
      const i = ((buf.readUInt16BE(p) - 0x2a00) << 16) | buf.readUInt16BE(p + 2);
      return i >= 0 && i < p6 && plen === prefix6At(i)[1] ? p4 + i : -1;
    },
  };
  // The inverse must hold for the generators as they are: a few spot checks, cheap.
  for (const i of [0, 1, 3, 4, 65535, 65536, p4 - 1]) {
    if (i < 0 || i >= p4) continue;
    const [a, len] = prefixAt(i);
    const b = Buffer.from([a >>> 24, (a >>> 16) & 0xff, (a >>> 8) & 0xff]);
    if (u.index(b, 0, len, 4) !== i) throw new Error(`sessions universe: IPv4 prefix ${i} does not map back`);
  }
  for (const i of [0, 1, 7, 65536, p6 - 1]) {
    if (i < 0 || i >= p6) continue;
    const [a, len] = prefix6At(i);
    if (u.index(a, 0, len, 16) !== p4 + i)
      throw new Error(`sessions universe: IPv6 prefix ${i} does not map back`);
  }
  return u;
}
