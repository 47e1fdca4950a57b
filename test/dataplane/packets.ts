/**
 * Test helpers: build IPv4/IPv6/TCP packets and check Internet checksums in JS, independently of
 * the native code under test.
 */
export function csum(b: Uint8Array, init = 0): number {
  let s = init;
  for (let i = 0; i + 1 < b.length; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  if (b.length % 2) s += b[b.length - 1]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s; // folded sum (0xffff over a correct packet including its checksum)
}

export function ipv4(
  proto: number,
  src: number[],
  dst: number[],
  payload: Uint8Array,
  df = true,
): Uint8Array {
  const p = new Uint8Array(20 + payload.length);
  p[0] = 0x45;
  p[2] = p.length >> 8;
  p[3] = p.length & 0xff;
  p[6] = df ? 0x40 : 0;
  p[8] = 64;
  p[9] = proto;
  p.set(src, 12);
  p.set(dst, 16);
  const c = ~csum(p.subarray(0, 20)) & 0xffff;
  p[10] = c >> 8;
  p[11] = c & 0xff;
  p.set(payload, 20);
  return p;
}

export function ipv6(next: number, src: Uint8Array, dst: Uint8Array, payload: Uint8Array): Uint8Array {
  const p = new Uint8Array(40 + payload.length);
  p[0] = 0x60;
  p[4] = payload.length >> 8;
  p[5] = payload.length & 0xff;
  p[6] = next;
  p[7] = 64;
  p.set(src, 8);
  p.set(dst, 24);
  p.set(payload, 40);
  return p;
}

/** A TCP SYN whose options start with `pad` NOPs (to put the MSS at an odd offset) then MSS. */
export function tcpSyn(mss: number, pad = 0): Uint8Array {
  const optLen = Math.ceil((pad + 4) / 4) * 4;
  const t = new Uint8Array(20 + optLen);
  t[0] = 0x30;
  t[1] = 0x39; // port 12345
  t[3] = 179;
  t[12] = ((20 + optLen) / 4) << 4;
  t[13] = 0x02; // SYN
  t[14] = 0xff;
  t[15] = 0xff;
  for (let i = 0; i < pad; i++) t[20 + i] = 1;
  t.set([2, 4, mss >> 8, mss & 0xff], 20 + pad);
  for (let i = 20 + pad + 4; i < t.length; i++) t[i] = 0; // EOL
  return t;
}

function pseudoSum(ip: Uint8Array, proto: number, len: number): number {
  if (ip[0]! >> 4 === 4) return csum(ip.subarray(12, 20)) + proto + len;
  return csum(ip.subarray(8, 40)) + proto + len;
}

/** Fills the TCP (or ICMPv6) checksum of the transport at `off` with the IP pseudo-header. */
export function fillTransportCsum(ip: Uint8Array, off: number, proto: number, field: number): void {
  const seg = ip.subarray(off);
  seg[field] = 0;
  seg[field + 1] = 0;
  const c = ~csum(seg, pseudoSum(ip, proto, seg.length)) & 0xffff;
  seg[field] = c >> 8;
  seg[field + 1] = c & 0xff;
}

export function transportCsumOk(ip: Uint8Array, off: number, proto: number): boolean {
  const seg = ip.subarray(off);
  return csum(seg, pseudoSum(ip, proto, seg.length)) === 0xffff;
}

export function mssOf(tcp: Uint8Array): number | undefined {
  const doff = (tcp[12]! >> 4) * 4;
  for (let i = 20; i < doff; ) {
    if (tcp[i] === 0) return undefined;
    if (tcp[i] === 1) {
      i++;
      continue;
    }
    if (tcp[i] === 2) return (tcp[i + 2]! << 8) | tcp[i + 3]!;
    i += tcp[i + 1]!;
  }
  return undefined;
}

/** mulberry32: a small seeded PRNG so random tests can print and replay their seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A UDP header (checksum 0) with `n` zero bytes of payload. */
export function udp(sport: number, dport: number, n = 64): Uint8Array {
  const u = new Uint8Array(8 + n);
  u[0] = sport >> 8;
  u[1] = sport & 0xff;
  u[2] = dport >> 8;
  u[3] = dport & 0xff;
  u[4] = (8 + n) >> 8;
  u[5] = (8 + n) & 0xff;
  return u;
}
