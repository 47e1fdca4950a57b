/**
 * The feeder's removal workload: every prefix of the announcement feed (same order, from the
 * propagation bench's `prefixAt`), withdrawn in packed UPDATEs (RFC 4271 §4.3: withdrawn
 * routes only, no attributes) of at most 4096 bytes, about 1,000 prefixes each.
 */
import { prefixAt } from '../bgp-propagation/feed.js';

const MAX = 4096;
const HEAD = 19 + 2 + 2; // header, withdrawn length, attribute length (0)

export function buildWithdrawals(n: number): Buffer {
  const out = Buffer.alloc(n * 4 + Math.ceil(n / 1000 + 1) * HEAD);
  let o = 0;
  let i = 0;
  while (i < n) {
    const start = o;
    o += 21;
    while (i < n) {
      const [addr, len] = prefixAt(i);
      const bytes = (len + 7) >> 3;
      if (o + 1 + bytes + 2 - start > MAX) break;
      out[o++] = len;
      for (let k = 0; k < bytes; k++) out[o++] = (addr >>> (24 - 8 * k)) & 0xff;
      i++;
    }
    out.writeUInt16BE(o - start - 21, start + 19);
    out.writeUInt16BE(0, o);
    o += 2;
    out.fill(0xff, start, start + 16);
    out.writeUInt16BE(o - start, start + 16);
    out[start + 18] = 2;
  }
  return Buffer.from(out.subarray(0, o));
}
