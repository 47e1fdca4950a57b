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
  const take = Math.min(1, Math.max(0, share));
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
      // SHARE of the /24s, spread evenly: the i-th is taken when the running total crosses an integer.
      if (plen === 24) {
        if (Math.floor((i + 1) * take) > Math.floor(i * take))
          out.push({ prefix: `${a.join('.')}/${plen}`, maxLength: plen, asn: `AS${origin}`, ta: 'bench' });
        i++;
      }
      p += 1 + bytes;
    }
    o = end;
  }
  return out;
}

/**
 * `n` more IPv4 VRPs that cover none of the feed's prefixes (the feed walks /8s upwards from
 * 11; these walk /24s from 128.0.0.0 upwards, skipping the same kind of special /8s), so that the
 * cache holds as many VRPs as a real one without changing any verdict: each 32-/24 block is one
 * /22 with maxLength 24 and 28 /24s; origins AS 64512–65511.
 */
export function fillerVrps(n: number): ReturnType<typeof feedVrps> {
  const skip = new Set([169, 172, 192, 198, 203]);
  const out: ReturnType<typeof feedVrps> = [];
  let first = 128;
  let slot = 0;
  for (let k = 0; k < n; k++) {
    while (skip.has(first)) first++;
    if (first >= 224) throw new Error('too many filler VRPs');
    const wide = slot % 32 === 0;
    out.push({
      prefix: `${first}.${slot >> 8}.${slot & 255}.0/${wide ? 22 : 24}`,
      maxLength: 24,
      asn: `AS${64512 + (k % 1000)}`,
      ta: 'bench',
    });
    slot += wide ? 4 : 1;
    if (slot >= 65536) {
      slot = 0;
      first++;
    }
  }
  return out;
}

export function writeVrpFile(file: string, roas: ReturnType<typeof feedVrps>): void {
  writeFileSync(`${file}.tmp`, JSON.stringify({ metadata: { buildtime: new Date().toISOString() }, roas }));
  renameSync(`${file}.tmp`, file);
}
