/**
 * The feeder's workload, encoded once before any connection: N distinct IPv4 prefixes (/24s
 * with every fourth slot a /22, from public-looking space), about 10 per attribute set, one
 * packed UPDATE per set (RFC 4271 §4.3): ORIGIN, 4-octet AS_PATH of 2–6 hops starting with the
 * feeder's AS, NEXT_HOP, and for some sets MED and COMMUNITIES. Seeded, so runs compare.
 */
export interface Feed {
  n: number;
  /** All UPDATEs back to back, followed by the IPv4 End-of-RIB (RFC 4724 §2). */
  bytes: Buffer;
  updates: number;
  seed: number;
}

/** /8s skipped: bogons, documentation, loopback, multicast and the lab's own ranges. */
const SKIP8 = new Set([0, 10, 100, 127, 169, 172, 192, 198, 203]);

/** The i-th prefix as [address as uint32, length]. */
export function prefixAt(i: number): [number, number] {
  let slot = i;
  let first = 11;
  // 65,536 /24 slots per /8; walk /8s from 11 upwards skipping SKIP8.
  for (;;) {
    if (!SKIP8.has(first)) {
      if (slot < 65536) break;
      slot -= 65536;
    }
    first++;
    if (first >= 224) throw new Error('too many prefixes for the feeder');
  }
  const addr = ((first << 24) | (slot << 8)) >>> 0;
  return [addr, slot % 4 === 0 ? 22 : 24];
}

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

/**
 * `prepend` extra copies of the feeder's AS lengthen every path by that much: feeders that send
 * the same prefixes with fewer prepends win the best-path choice on AS_PATH length (bench:memory).
 */
export function buildFeed(n: number, feederAs: number, nextHop: string, seed = 1, prepend = 0): Feed {
  const rand = rng(seed);
  const nh = nextHop.split('.').map(Number);
  const out = Buffer.allocUnsafe(n * 5 + Math.ceil(n / 8) * (90 + 4 * prepend) + 64);
  let o = 0;
  let updates = 0;
  let i = 0;
  while (i < n) {
    const count = Math.min(n - i, 8 + Math.floor(rand() * 5)); // 8..12, about 10
    const start = o;
    o += 19 + 2; // header, withdrawn length (0)
    out.writeUInt16BE(0, start + 19);
    const attrLenAt = o;
    o += 2;
    const attrsStart = o;
    out[o++] = 0x40; // ORIGIN
    out[o++] = 1;
    out[o++] = 1;
    out[o++] = 0;
    const hops = 2 + Math.floor(rand() * 5); // 2..6
    out[o++] = 0x40; // AS_PATH, one AS_SEQUENCE of 4-octet ASNs
    out[o++] = 2;
    out[o++] = 2 + 4 * (hops + prepend);
    out[o++] = 2;
    out[o++] = hops + prepend;
    for (let k = 0; k <= prepend; k++, o += 4) out.writeUInt32BE(feederAs, o);
    for (let h = 1; h < hops; h++) {
      // Private 4-octet ASNs (RFC 6996) stand in for the Internet's.
      out.writeUInt32BE(4200000000 + Math.floor(rand() * 90000000), o);
      o += 4;
    }
    out[o++] = 0x40; // NEXT_HOP
    out[o++] = 3;
    out[o++] = 4;
    for (const b of nh) out[o++] = b;
    o = writeFlavour(out, o, rand, feederAs);
    out.writeUInt16BE(o - attrsStart, attrLenAt);
    for (let k = 0; k < count; k++, i++) {
      const [addr, len] = prefixAt(i);
      out[o++] = len;
      out[o++] = addr >>> 24;
      out[o++] = (addr >>> 16) & 0xff;
      out[o++] = (addr >>> 8) & 0xff;
    }
    out.fill(0xff, start, start + 16);
    out.writeUInt16BE(o - start, start + 16);
    out[start + 18] = 2;
    updates++;
  }
  // End-of-RIB for IPv4 unicast: an UPDATE with nothing in it.
  out.fill(0xff, o, o + 16);
  out.writeUInt16BE(23, o + 16);
  out[o + 18] = 2;
  out.writeUInt32BE(0, o + 19);
  o += 23;
  return { n, bytes: Buffer.from(out.subarray(0, o)), updates, seed };
}

/**
 * The i-th IPv6 prefix as 16 bytes and a length: 2a00::/14-ish space (not a bogon), a distinct
 * 32-bit head per index, lengths mixed /32–/48 like a real table (mostly /48s).
 */
export function prefix6At(i: number): [Buffer, number] {
  const len = LEN6[i % 8]!;
  const a = Buffer.alloc(16);
  a.writeUInt16BE(0x2a00 + (i >>> 16), 0);
  a.writeUInt16BE(i & 0xffff, 2);
  // A subnet below the /32 head; zero beyond the prefix length.
  if (len > 32) a.writeUInt16BE((0x1234 >>> (48 - len)) << (48 - len), 4);
  return [a, len];
}

const LEN6 = [32, 48, 48, 44, 48, 48, 40, 48];

/**
 * N distinct IPv6 prefixes (prefix6At) in MP_REACH_NLRI (RFC 4760 §3) UPDATEs, about 10 per
 * attribute set like buildFeed, with a global next hop, then the IPv6 unicast End-of-RIB (an
 * UPDATE whose only attribute is an empty MP_UNREACH_NLRI, RFC 4724 §2). Same seed and prepend:
 * the same AS paths as buildFeed's first sets.
 */
export function buildFeed6(n: number, feederAs: number, nextHop6: Buffer, seed = 1, prepend = 0): Feed {
  const rand = rng(seed);
  const out = Buffer.allocUnsafe(n * 9 + Math.ceil(n / 8) * (110 + 4 * prepend) + 64);
  let o = 0;
  let updates = 0;
  let i = 0;
  while (i < n) {
    const count = Math.min(n - i, 8 + Math.floor(rand() * 5));
    const start = o;
    out.writeUInt16BE(0, start + 19); // withdrawn length
    o += 23;
    const attrsStart = o;
    out[o++] = 0x40; // ORIGIN
    out[o++] = 1;
    out[o++] = 1;
    out[o++] = 0;
    const hops = 2 + Math.floor(rand() * 5);
    out[o++] = 0x40; // AS_PATH
    out[o++] = 2;
    out[o++] = 2 + 4 * (hops + prepend);
    out[o++] = 2;
    out[o++] = hops + prepend;
    for (let k = 0; k <= prepend; k++, o += 4) out.writeUInt32BE(feederAs, o);
    for (let h = 1; h < hops; h++, o += 4) out.writeUInt32BE(4200000000 + Math.floor(rand() * 90000000), o);
    o = writeFlavour(out, o, rand, feederAs);
    out[o++] = 0x90; // MP_REACH_NLRI: optional, extended length
    out[o++] = 14;
    const mpLenAt = o;
    o += 2;
    const mpStart = o;
    out.writeUInt16BE(2, o); // AFI IPv6
    out[o + 2] = 1; // SAFI unicast
    out[o + 3] = 16;
    nextHop6.copy(out, o + 4);
    out[o + 20] = 0; // reserved
    o += 21;
    for (let k = 0; k < count; k++, i++) {
      const [addr, len] = prefix6At(i);
      out[o++] = len;
      o += addr.copy(out, o, 0, (len + 7) >>> 3);
    }
    out.writeUInt16BE(o - mpStart, mpLenAt);
    out.writeUInt16BE(o - attrsStart, start + 21);
    out.fill(0xff, start, start + 16);
    out.writeUInt16BE(o - start, start + 16);
    out[start + 18] = 2;
    updates++;
  }
  // End-of-RIB for IPv6 unicast: MP_UNREACH_NLRI with AFI 2 / SAFI 1 and nothing withdrawn.
  const eor = Buffer.from([0, 0, 0, 6, 0x80, 15, 3, 0, 2, 1]);
  out.fill(0xff, o, o + 16);
  out.writeUInt16BE(19 + eor.length, o + 16);
  out[o + 18] = 2;
  o += 19 + eor.copy(out, o + 19);
  return { n, bytes: Buffer.from(out.subarray(0, o)), updates, seed };
}

/**
 * The attributes that vary between UPDATEs of a feed, in the same random order for both
 * families: a MED on 30 % of them, two communities on half. Returns the new offset.
 */
function writeFlavour(out: Buffer, at: number, rand: () => number, feederAs: number): number {
  let o = at;
  const flavour = rand();
  if (flavour < 0.3) {
    out[o++] = 0x80; // MED
    out[o++] = 4;
    out[o++] = 4;
    out.writeUInt32BE(Math.floor(rand() * 1000), o);
    o += 4;
  }
  if (flavour > 0.5) {
    out[o++] = 0xc0; // COMMUNITIES
    out[o++] = 8;
    out[o++] = 8;
    out.writeUInt32BE((((feederAs & 0xffff) << 16) | Math.floor(rand() * 1000)) >>> 0, o);
    out.writeUInt32BE((((feederAs & 0xffff) << 16) | 65000) >>> 0, o + 4);
    o += 8;
  }
  return o;
}
