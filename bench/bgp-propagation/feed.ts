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

export function buildFeed(n: number, feederAs: number, nextHop: string, seed = 1): Feed {
  const rand = rng(seed);
  const nh = nextHop.split('.').map(Number);
  const out = Buffer.allocUnsafe(n * 5 + Math.ceil(n / 8) * 90 + 64);
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
    out[o++] = 2 + 4 * hops;
    out[o++] = 2;
    out[o++] = hops;
    out.writeUInt32BE(feederAs, o);
    o += 4;
    for (let h = 1; h < hops; h++) {
      // Private 4-octet ASNs (RFC 6996) stand in for the Internet's.
      out.writeUInt32BE(4200000000 + Math.floor(rand() * 90000000), o);
      o += 4;
    }
    out[o++] = 0x40; // NEXT_HOP
    out[o++] = 3;
    out[o++] = 4;
    for (const b of nh) out[o++] = b;
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
