/**
 * VRPs for bench/bgp-propagation's `--rpki SHARE`: a JSON file (stayrtr's format) with one VRP
 * matching each of SHARE of the feed's /24s (prefix, maxLength 24, the origin AS the feed gives
 * it), so those routes are Valid and the rest NotFound (no VRP for the feed's /22s: one would
 * cover the /24s inside it, of other origins, and make them Invalid): every route is
 * validated, none is refused, and the monitor still receives all N. Read from the feed's own
 * bytes, so it always matches what is sent.
 */
import { renameSync, writeFileSync } from 'node:fs';

export interface FeedLike {
  bytes: Buffer;
}

/** One row per matched prefix: `{prefix, maxLength, asn}`. */
export function feedVrps(
  feed: FeedLike,
  share: number,
): Array<{ prefix: string; maxLength: number; asn: string; ta: string }> {
  const out: Array<{ prefix: string; maxLength: number; asn: string; ta: string }> = [];
  const b = feed.bytes;
  const every = share >= 1 ? 1 : share <= 0 ? 0 : Math.round(1 / share);
  let o = 0;
  let i = 0;
  while (o + 19 <= b.length) {
    const len = b.readUInt16BE(o + 16);
    const end = o + len;
    let p = o + 19;
    const wl = b.readUInt16BE(p);
    p += 2 + wl;
    const al = b.readUInt16BE(p);
    p += 2;
    const attrEnd = p + al;
    let origin = 0;
    while (p < attrEnd) {
      const flags = b[p]!;
      const code = b[p + 1]!;
      const ext = (flags & 0x10) !== 0;
      const alen = ext ? b.readUInt16BE(p + 2) : b[p + 2]!;
      const v = p + (ext ? 4 : 3);
      if (code === 2) {
        // One AS_SEQUENCE of 4-octet ASNs (feed.ts): the last one is the origin.
        const n = b[v + 1]!;
        origin = b.readUInt32BE(v + 2 + 4 * (n - 1));
      }
      p = v + alen;
    }
    while (p < end) {
      const plen = b[p]!;
      const bytes = Math.ceil(plen / 8);
      const a = [0, 0, 0, 0];
      for (let k = 0; k < bytes; k++) a[k] = b[p + 1 + k]!;
      if (every > 0 && plen === 24 && i % every === 0)
        out.push({ prefix: `${a.join('.')}/${plen}`, maxLength: plen, asn: `AS${origin}`, ta: 'bench' });
      i++;
      p += 1 + bytes;
    }
    o = end;
  }
  return out;
}

export function writeVrpFile(file: string, roas: ReturnType<typeof feedVrps>): void {
  writeFileSync(`${file}.tmp`, JSON.stringify({ metadata: { buildtime: new Date().toISOString() }, roas }));
  renameSync(`${file}.tmp`, file);
}
