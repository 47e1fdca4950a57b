/**
 * The stored form of an interned attribute set: a flat record of uint32 words (no JS objects),
 * so that ~100k sets of a full table cost the GC nothing to keep: every decoded set kept as
 * objects survived two scavenges and was marked on every major GC. Records are hashed and
 * compared word by word; two sets are equal exactly when they would be sent alike (an empty
 * COMMUNITIES list is no attribute, MED 0 differs from no MED, LOCAL_PREF override included).
 *
 * Layout: head (presence bits, ORIGIN in bits 8–15), then the present scalars in a fixed order
 * (NEXT_HOP, MED, LOCAL_PREF, AGGREGATOR asn+address, OTC, IPv6 next hop 4 or 8 words), then
 * AS_PATH (segment count; per segment type, length, ASNs), COMMUNITIES (count, values),
 * LARGE_COMMUNITIES (count, values), unknown attributes (count; per attribute flags<<8|code,
 * byte length, bytes packed big-endian four to a word).
 */
import type { NextHop6, PathAttributes, UnknownAttribute } from '../bgp/wire/types.js';

const HAS_NH = 1;
const HAS_MED = 2;
const HAS_LP = 4;
const HAS_AGG = 8;
const HAS_OTC = 16;
const ATOMIC = 32;
const HAS_NH6 = 64;
const HAS_LL = 128;

/** Growable scratch for serializing one set before it is looked up. */
export class WordBuf {
  w = new Uint32Array(256);
  n = 0;

  push(v: number): void {
    if (this.n === this.w.length) this.#grow();
    this.w[this.n++] = v;
  }

  #grow(): void {
    const b = new Uint32Array(this.w.length * 2);
    b.set(this.w);
    this.w = b;
  }
}

function pushBytes(out: WordBuf, b: Uint8Array): void {
  let i = 0;
  for (; i + 4 <= b.length; i += 4)
    out.push(((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0);
  if (i < b.length) {
    let v = 0;
    for (let k = 0; k < 4; k++) v = (v << 8) | (i + k < b.length ? b[i + k]! : 0);
    out.push(v >>> 0);
  }
}

function pushList(out: WordBuf, xs: readonly number[] | undefined): void {
  const n = xs === undefined ? 0 : xs.length;
  out.push(n);
  for (let i = 0; i < n; i++) out.push(xs![i]!);
}

/**
 * What import adds to a set without building a new object per UPDATE: our source tag (any
 * LOCAL-AS:1:* the route came with is dropped, LOCAL-AS:1:tag appended) and an OTC when the
 * route has none (policy/import.ts `rewrite` describes the same result as an object).
 */
export interface ImportOverlay {
  localAs: number;
  tag: number;
  otc: number | undefined;
  /** RPKI state appended as LOCAL-AS:2:rov (policy/import.ts Rov); -1: none. */
  rov: number;
}

/** Large communities without LOCAL-AS:1:* and LOCAL-AS:2:* triples, then LOCAL-AS:1:tag and
 * LOCAL-AS:2:rov (when validated). */
function pushTagged(out: WordBuf, xs: readonly number[] | undefined, o: ImportOverlay): void {
  const at = out.n;
  out.push(0);
  let n = 0;
  if (xs !== undefined) {
    for (let i = 0; i + 2 < xs.length; i += 3) {
      if (xs[i] === o.localAs && (xs[i + 1] === 1 || xs[i + 1] === 2)) continue;
      out.push(xs[i]!);
      out.push(xs[i + 1]!);
      out.push(xs[i + 2]!);
      n += 3;
    }
  }
  out.push(o.localAs);
  out.push(1);
  out.push(o.tag);
  n += 3;
  if (o.rov >= 0) {
    out.push(o.localAs);
    out.push(2);
    out.push(o.rov);
    n += 3;
  }
  out.w[at] = n;
}

/**
 * Serializes `a` with LOCAL_PREF `lp` (undefined: as carried) and, when given, the import
 * overlay into `out` (reset first).
 */
export function serialize(
  a: PathAttributes,
  lp: number | undefined,
  out: WordBuf,
  overlay?: ImportOverlay,
): void {
  out.n = 0;
  const otc = a.otc ?? overlay?.otc;
  const l = lp ?? a.localPref;
  const nh6 = a.nextHop6;
  let head = (a.origin & 0xff) << 8;
  if (a.nextHop !== undefined) head |= HAS_NH;
  if (a.med !== undefined) head |= HAS_MED;
  if (l !== undefined) head |= HAS_LP;
  if (a.aggregator !== undefined) head |= HAS_AGG;
  if (otc !== undefined) head |= HAS_OTC;
  if (a.atomicAggregate) head |= ATOMIC;
  if (nh6 !== undefined) head |= nh6.linkLocal !== undefined ? HAS_NH6 | HAS_LL : HAS_NH6;
  out.push(head);
  if (a.nextHop !== undefined) out.push(a.nextHop);
  if (a.med !== undefined) out.push(a.med);
  if (l !== undefined) out.push(l);
  if (a.aggregator !== undefined) {
    out.push(a.aggregator.asn);
    out.push(a.aggregator.address);
  }
  if (otc !== undefined) out.push(otc);
  if (nh6 !== undefined) {
    pushBytes(out, nh6.global);
    if (nh6.linkLocal !== undefined) pushBytes(out, nh6.linkLocal);
  }
  const path = a.asPath;
  out.push(path.length);
  for (let i = 0; i < path.length; i++) {
    out.push(path[i]!.type);
    pushList(out, path[i]!.asns);
  }
  pushList(out, a.communities);
  if (overlay === undefined) pushList(out, a.largeCommunities);
  else pushTagged(out, a.largeCommunities, overlay);
  const u = a.unknown;
  const nu = u === undefined ? 0 : u.length;
  out.push(nu);
  for (let i = 0; i < nu; i++) {
    const x = u![i]!;
    out.push(((x.flags & 0xff) << 8) | (x.code & 0xff));
    out.push(x.value.length);
    pushBytes(out, x.value);
  }
}

/** Murmur3-style mix over words[off, off+n). */
export function hashWords(words: Uint32Array, off: number, n: number): number {
  let h = 0x9747b28c ^ n;
  for (let i = off; i < off + n; i++) {
    let k = Math.imul(words[i]!, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h;
}

export function equalWords(x: Uint32Array, xo: number, y: Uint32Array, yo: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (x[xo + i] !== y[yo + i]) return false;
  return true;
}

function bytesAt(w: Uint32Array, p: number, len: number): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = (w[p + (i >>> 2)]! >>> (24 - 8 * (i & 3))) & 0xff;
  return b;
}

function listAt(w: Uint32Array, p: number, n: number): number[] {
  const xs = new Array<number>(n);
  for (let i = 0; i < n; i++) xs[i] = w[p + i]!;
  return xs;
}

/** The set stored at words[off...], as a fresh object with every field in one fixed order. */
export function deserialize(w: Uint32Array, off: number): PathAttributes {
  let p = off;
  const head = w[p++]!;
  const nextHop = (head & HAS_NH) !== 0 ? w[p++] : undefined;
  const med = (head & HAS_MED) !== 0 ? w[p++] : undefined;
  const localPref = (head & HAS_LP) !== 0 ? w[p++] : undefined;
  let aggregator: PathAttributes['aggregator'];
  if ((head & HAS_AGG) !== 0) {
    aggregator = { asn: w[p]!, address: w[p + 1]! };
    p += 2;
  }
  const otc = (head & HAS_OTC) !== 0 ? w[p++] : undefined;
  let nextHop6: NextHop6 | undefined;
  if ((head & HAS_NH6) !== 0) {
    nextHop6 = { global: bytesAt(w, p, 16) };
    p += 4;
    if ((head & HAS_LL) !== 0) {
      nextHop6.linkLocal = bytesAt(w, p, 16);
      p += 4;
    }
  }
  const nseg = w[p++]!;
  const asPath = new Array<{ type: number; asns: number[] }>(nseg);
  for (let i = 0; i < nseg; i++) {
    const type = w[p]!;
    const n = w[p + 1]!;
    asPath[i] = { type, asns: listAt(w, p + 2, n) };
    p += 2 + n;
  }
  const nc = w[p++]!;
  const communities = nc > 0 ? listAt(w, p, nc) : undefined;
  p += nc;
  const nl = w[p++]!;
  const largeCommunities = nl > 0 ? listAt(w, p, nl) : undefined;
  p += nl;
  const nu = w[p++]!;
  let unknown: UnknownAttribute[] | undefined;
  if (nu > 0) {
    unknown = [];
    for (let i = 0; i < nu; i++) {
      const fc = w[p]!;
      const len = w[p + 1]!;
      unknown.push({ flags: fc >>> 8, code: fc & 0xff, value: bytesAt(w, p + 2, len) });
      p += 2 + ((len + 3) >>> 2);
    }
  }
  return {
    origin: (head >>> 8) & 0xff,
    asPath,
    nextHop,
    nextHop6,
    med,
    localPref,
    atomicAggregate: (head & ATOMIC) !== 0,
    aggregator,
    communities,
    largeCommunities,
    otc,
    unknown,
  };
}
