/**
 * AS_PATH and AS4_PATH segments (RFC 4271 §4.3 / §5.1.2, RFC 5065 confederation segment types,
 * RFC 6793 §4.2.3 merging of AS4_PATH into a 2-octet AS_PATH), with the malformation rules of
 * RFC 7606 §7.2 (overrun, one-octet underrun, zero-length segment, unknown segment type) and
 * RFC 7607 (AS 0).
 */
import type { ByteWriter } from '../reader.js';
import { type AsPathSegment, AsPathSegmentType } from '../types.js';

export const AS_TRANS = 23456;

/** Segments of buf[off, off+len) with `asSize`-octet ASNs, or a reason string when malformed. */
export function decodeAsPath(
  buf: Uint8Array,
  off: number,
  len: number,
  asSize: 2 | 4,
): AsPathSegment[] | string {
  const end = off + len;
  const segs: AsPathSegment[] = [];
  let p = off;
  while (p < end) {
    if (p + 2 > end) return 'segment header underrun';
    const type = buf[p]!;
    const count = buf[p + 1]!;
    if (type < 1 || type > 4) return `unknown segment type ${type}`;
    if (count === 0) return 'zero-length segment';
    p += 2;
    if (p + count * asSize > end) return 'segment overrun';
    const asns = new Array<number>(count);
    if (asSize === 4) {
      for (let i = 0; i < count; i++, p += 4) {
        asns[i] = ((buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!) >>> 0;
      }
    } else {
      for (let i = 0; i < count; i++, p += 2) asns[i] = (buf[p]! << 8) | buf[p + 1]!;
    }
    // RFC 7607 §2: AS 0 makes the attribute malformed.
    if (asns.includes(0)) return 'AS 0 (RFC 7607)';
    // Adjacent sequences are one path: join them, as writeAsPath splits at 255 again.
    const last = segs[segs.length - 1];
    if (type === AsPathSegmentType.AS_SEQUENCE && last !== undefined && last.type === type) {
      for (const a of asns) last.asns.push(a);
    } else {
      segs.push({ type, asns });
    }
  }
  return segs;
}

export function encodedAsPathLength(segs: AsPathSegment[], asSize: 2 | 4): number {
  let n = 0;
  for (const s of segs) n += Math.ceil(s.asns.length / 255) * 2 + s.asns.length * asSize;
  return n;
}

/** Writes segment bytes; long segments are split at 255 ASNs. With 2-octet ASNs, wide ones become AS_TRANS (RFC 6793 §4.2.2). */
export function writeAsPath(w: ByteWriter, segs: AsPathSegment[], asSize: 2 | 4): void {
  for (const s of segs) {
    for (let i = 0; i < s.asns.length; i += 255) {
      const chunk = Math.min(255, s.asns.length - i);
      w.u8(s.type);
      w.u8(chunk);
      for (let j = i; j < i + chunk; j++) {
        const asn = s.asns[j]!;
        if (asSize === 4) w.u32(asn);
        else w.u16(asn > 0xffff ? AS_TRANS : asn);
      }
    }
  }
}

export function hasWideAsn(segs: AsPathSegment[]): boolean {
  for (const s of segs) for (const a of s.asns) if (a > 0xffff) return true;
  return false;
}

export function hasConfed(segs: AsPathSegment[]): boolean {
  for (const s of segs)
    if (s.type === AsPathSegmentType.AS_CONFED_SEQUENCE || s.type === AsPathSegmentType.AS_CONFED_SET)
      return true;
  return false;
}

/** Path length as RFC 4271 §9.1.2.2 and RFC 6793 §4.2.3 count it: a set is one, confed zero. */
export function asPathCount(segs: AsPathSegment[]): number {
  let n = 0;
  for (const s of segs) {
    if (s.type === AsPathSegmentType.AS_SEQUENCE) n += s.asns.length;
    else if (s.type === AsPathSegmentType.AS_SET) n += 1;
  }
  return n;
}

/** Adjacent AS_SEQUENCE segments joined, so equal paths have one representation. */
function pushSegment(out: AsPathSegment[], type: number, asns: number[]): void {
  const last = out[out.length - 1];
  if (last !== undefined && type === AsPathSegmentType.AS_SEQUENCE && last.type === type) {
    for (const a of asns) last.asns.push(a);
  } else {
    out.push({ type, asns: asns.slice() });
  }
}

/**
 * RFC 6793 §4.2.3: if AS_PATH is shorter than AS4_PATH, ignore AS4_PATH; otherwise keep the
 * leading (count(AS_PATH) - count(AS4_PATH)) ASes of AS_PATH and append AS4_PATH.
 */
export function mergeAs4Path(asPath: AsPathSegment[], as4Path: AsPathSegment[]): AsPathSegment[] {
  let need = asPathCount(asPath) - asPathCount(as4Path);
  if (need < 0) return asPath;
  const out: AsPathSegment[] = [];
  for (const s of asPath) {
    if (need <= 0) break;
    if (s.type === AsPathSegmentType.AS_SEQUENCE) {
      const take = Math.min(need, s.asns.length);
      pushSegment(out, s.type, s.asns.slice(0, take));
      need -= take;
    } else {
      pushSegment(out, s.type, s.asns);
      if (s.type === AsPathSegmentType.AS_SET) need -= 1;
    }
  }
  for (const s of as4Path) pushSegment(out, s.type, s.asns);
  return out;
}
