/**
 * offload.cc through the debug binding: TSO segmentation of TUN super-packets, GRO coalescing
 * of received segments, partial-checksum completion. Checksums are checked with the JS
 * reference in packets.ts, independently of the native code.
 */
import t from 'tap';
import { loadNative } from '../../src/dataplane/native.js';
import { csum, ipv4, ipv6, rng, transportCsumOk } from './packets.js';

const dbg = loadNative().debug;
const ACK = 0x10;
const PSH = 0x08;
const FIN = 0x01;
const CWR = 0x80;
const SRC6 = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 1, ...new Array(9).fill(0), 2]);
const DST6 = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 2, ...new Array(9).fill(0), 9]);

interface Seg {
  seq: number;
  flags: number;
  payload: Uint8Array;
  options?: number[];
  ack?: number;
  window?: number;
  sport?: number;
}

/** A TCP segment with a valid checksum inside IPv4 or IPv6. */
function tcpPacket(v: 4 | 6, s: Seg): Uint8Array {
  const opts = s.options ?? [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]; // NOP NOP timestamps
  const hl = 20 + opts.length;
  const tcp = new Uint8Array(hl + s.payload.length);
  const dv = new DataView(tcp.buffer);
  dv.setUint16(0, s.sport ?? 40000);
  dv.setUint16(2, 5201);
  dv.setUint32(4, s.seq >>> 0);
  dv.setUint32(8, s.ack ?? 0x01020304);
  tcp[12] = (hl / 4) << 4;
  tcp[13] = s.flags;
  dv.setUint16(14, s.window ?? 502);
  tcp.set(opts, 20);
  tcp.set(s.payload, hl);
  const p = v === 4 ? ipv4(6, [192, 0, 2, 2], [203, 0, 113, 9], tcp) : ipv6(6, SRC6, DST6, tcp);
  const off = v === 4 ? 20 : 40;
  const pseudo =
    v === 4 ? csum(p.subarray(12, 20)) + 6 + tcp.length : csum(p.subarray(8, 40)) + 6 + tcp.length;
  const c = ~csum(tcp, pseudo) & 0xffff;
  p[off + 16] = c >> 8;
  p[off + 17] = c & 0xff;
  return p;
}

function bytes(n: number, r: () => number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (r() * 256) | 0;
  return b;
}

const ipOff = (p: Uint8Array) => (p[0]! >> 4 === 4 ? (p[0]! & 0xf) * 4 : 40);
const tcpOf = (p: Uint8Array) => p.subarray(ipOff(p));
const payloadOf = (p: Uint8Array) => {
  const tcp = tcpOf(p);
  return tcp.subarray((tcp[12]! >> 4) * 4);
};
const seqOf = (p: Uint8Array) => new DataView(p.buffer, p.byteOffset).getUint32(ipOff(p) + 4);
const ipLenOk = (p: Uint8Array) =>
  p[0]! >> 4 === 4 ? ((p[2]! << 8) | p[3]!) === p.length : ((p[4]! << 8) | p[5]!) + 40 === p.length;

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

for (const v of [4, 6] as const) {
  t.test(`IPv${v}: a 64 KiB super-packet segmented and re-coalesced is byte-identical`, async (t) => {
    const seed = 0x5eed + v;
    t.comment(`seed ${seed}`);
    const gso = 1448;
    const payload = bytes(44 * gso - 100, rng(seed));
    const seq0 = 0xfffff000; // wraps during the run
    const sup = tcpPacket(v, { seq: seq0, flags: ACK | PSH | FIN | CWR, payload });
    const segs = dbg.tsoSegment(sup, { gsoType: v === 4 ? 1 : 4, gsoSize: gso });
    if (!segs) throw new Error('not segmented');
    t.equal(segs.length, 44, '44 segments');
    let idOk = true;
    let csumOk = true;
    let lenOk = true;
    for (let i = 0; i < segs.length; i++) {
      const s = segs[i]!;
      const last = i === segs.length - 1;
      lenOk &&= ipLenOk(s) && payloadOf(s).length === (last ? payload.length - 43 * gso : gso);
      csumOk &&= transportCsumOk(s, ipOff(s), 6) && (v === 6 || csum(s.subarray(0, 20)) === 0xffff);
      if (v === 4) idOk &&= ((s[4]! << 8) | s[5]!) === i;
      t.equal(seqOf(s), (seq0 + i * gso) >>> 0, `seq of segment ${i}`);
      const fl = tcpOf(s)[13]!;
      t.equal(fl & (PSH | FIN), last ? PSH | FIN : 0, `PSH/FIN only on the last (segment ${i})`);
      t.equal(fl & CWR, i === 0 ? CWR : 0, `CWR only on the first (segment ${i})`);
    }
    t.ok(lenOk, 'IP lengths and payload sizes');
    t.ok(csumOk, 'every segment has complete IP and TCP checksums');
    if (v === 4) t.ok(idOk, 'IPv4 ids count up');
    t.equal(Buffer.compare(concat(segs.map(payloadOf)), payload), 0, 'payload bytes preserved');

    // Re-coalesce (CWR and FIN keep those segments apart, as GRO must).
    const body = segs.map((s) => {
      const c = Uint8Array.from(s);
      const tcp = tcpOf(c);
      tcp[13] = ACK | (tcp[13]! & PSH);
      tcp[16] = 0;
      tcp[17] = 0;
      const pseudo =
        v === 4 ? csum(c.subarray(12, 20)) + 6 + tcp.length : csum(c.subarray(8, 40)) + 6 + tcp.length;
      const x = ~csum(tcp, pseudo) & 0xffff;
      tcp[16] = x >> 8;
      tcp[17] = x & 0xff;
      return c;
    });
    const out = dbg.groCoalesce(body);
    t.equal(out.length, 1, 'one TUN write');
    const { packet, hdr } = out[0]!;
    const iphl = v === 4 ? 20 : 40;
    t.same(hdr, {
      flags: 1,
      gsoType: v === 4 ? 1 : 4,
      hdrLen: iphl + 32,
      gsoSize: gso,
      csumStart: iphl,
      csumOffset: 16,
    });
    t.ok(ipLenOk(packet), 'IP length of the super-packet');
    if (v === 4) t.equal(csum(packet.subarray(0, 20)), 0xffff, 'IPv4 header checksum');
    t.equal(Buffer.compare(payloadOf(packet), payload), 0, 'coalesced payload identical');
    t.equal(seqOf(packet), seq0, 'first sequence number');
    t.equal(tcpOf(packet)[13], ACK | PSH, 'PSH of the last segment kept');
    t.ok(dbg.csumComplete(packet, hdr.csumStart, hdr.csumOffset), 'partial checksum completes');
    t.ok(transportCsumOk(packet, iphl, 6), 'pseudo-header sum in the field is what the kernel expects');
  });
}

t.test('segmentation rejects what it cannot cut', async (t) => {
  const p4 = tcpPacket(4, { seq: 1, flags: ACK, payload: new Uint8Array(3000) });
  const p6 = tcpPacket(6, { seq: 1, flags: ACK, payload: new Uint8Array(3000) });
  t.equal(dbg.tsoSegment(p4, { gsoType: 4, gsoSize: 1000 }), null, 'TCPv6 type on IPv4');
  t.equal(dbg.tsoSegment(p6, { gsoType: 1, gsoSize: 1000 }), null, 'TCPv4 type on IPv6');
  t.equal(dbg.tsoSegment(p4, { gsoType: 1, gsoSize: 0 }), null, 'gso size 0');
  t.equal(dbg.tsoSegment(p4, { gsoType: 3, gsoSize: 1000 }), null, 'UDP (UFO) type');
  const udp = ipv4(17, [192, 0, 2, 2], [203, 0, 113, 9], new Uint8Array(3000));
  t.equal(dbg.tsoSegment(udp, { gsoType: 1, gsoSize: 1000 }), null, 'not TCP');
  t.equal(dbg.tsoSegment(p4.subarray(0, 30), { gsoType: 1, gsoSize: 1000 }), null, 'truncated');
  const ecn = dbg.tsoSegment(p4, { gsoType: 0x81, gsoSize: 1000 });
  t.equal(ecn?.length, 3, 'TCPv4|ECN segments');
  const one = dbg.tsoSegment(p4, { gsoType: 1, gsoSize: 5000 });
  t.equal(one?.length, 1, 'payload within gso size: one segment');
  t.ok(transportCsumOk(one![0]!, 20, 6));
  // IPv4 with options: segmentable; GRO leaves such packets alone.
  const opt = tcpPacket(4, { seq: 1, flags: ACK, payload: new Uint8Array(2000) });
  const withOpt = new Uint8Array(opt.length + 4);
  withOpt.set(opt.subarray(0, 20));
  withOpt[0] = 0x46;
  withOpt.set([1, 1, 1, 0], 20); // NOP NOP NOP EOL
  withOpt.set(opt.subarray(20), 24);
  withOpt[2] = withOpt.length >> 8;
  withOpt[3] = withOpt.length & 0xff;
  withOpt[10] = 0;
  withOpt[11] = 0;
  const hc = ~csum(withOpt.subarray(0, 24)) & 0xffff;
  withOpt[10] = hc >> 8;
  withOpt[11] = hc & 0xff;
  const so = dbg.tsoSegment(withOpt, { gsoType: 1, gsoSize: 1000 })!;
  t.equal(so.length, 2);
  t.ok(
    so.every((s) => csum(s.subarray(0, 24)) === 0xffff && transportCsumOk(s, 24, 6)),
    'options kept',
  );
  const g = dbg.groCoalesce(so);
  t.equal(g.length, 2, 'IPv4 options: not coalesced');
  t.ok(
    g.every((x) => x.hdr.gsoType === 0 && x.hdr.flags === 0),
    'written with a zero vnet header',
  );
});

t.test('GRO merges only exact continuations', async (t) => {
  const P = (n: number, fill: number) => new Uint8Array(n).fill(fill);
  const mk = (seq: number, flags = ACK, extra: Partial<Seg> = {}) =>
    tcpPacket(4, { seq, flags, payload: P(1000, seq & 0xff), ...extra });
  const gaps = dbg.groCoalesce([mk(0), mk(2000), mk(3000)]);
  t.same(
    gaps.map((x) => x.hdr.gsoType),
    [0, 1],
    'a gap starts a new packet; the next in-order one joins it',
  );
  const bad = mk(1000);
  bad[bad.length - 1]! ^= 1;
  const b = dbg.groCoalesce([mk(0), bad, mk(2000)]);
  t.equal(b.length, 3, 'a segment with a bad checksum is never merged (and cuts the run)');
  t.equal(Buffer.compare(b[1]!.packet, bad), 0, 'written as it came');
  t.equal(dbg.groCoalesce([mk(0), mk(1000, ACK | PSH), mk(2000)]).length, 2, 'PSH closes a run');
  t.equal(dbg.groCoalesce([mk(0), mk(1000, ACK | FIN)]).length, 2, 'FIN is not merged');
  t.equal(dbg.groCoalesce([mk(0), mk(1000, ACK, { ack: 9 })]).length, 2, 'different ack');
  t.equal(
    dbg.groCoalesce([mk(0), mk(1000, ACK, { options: [1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 2] })]).length,
    2,
    'different options (timestamp)',
  );
  const short = tcpPacket(4, { seq: 1000, flags: ACK, payload: P(500, 1) });
  t.equal(dbg.groCoalesce([mk(0), short, mk(1500)]).length, 2, 'a shorter segment ends the run');
  const longer = tcpPacket(4, { seq: 1000, flags: ACK, payload: P(1200, 1) });
  t.equal(dbg.groCoalesce([mk(0), longer]).length, 2, 'a longer segment cannot join');
  const w = dbg.groCoalesce([mk(0), mk(1000, ACK, { window: 900 })]);
  t.equal(w.length, 1);
  t.equal(new DataView(w[0]!.packet.buffer, w[0]!.packet.byteOffset).getUint16(34), 900, 'newest window');
  // Two interleaved flows each coalesce; order of first appearance is kept.
  const f2 = (seq: number) => tcpPacket(4, { seq, flags: ACK, payload: P(1000, 7), sport: 40001 });
  const inter = dbg.groCoalesce([mk(0), f2(50), mk(1000), f2(1050), mk(2000)]);
  t.equal(inter.length, 2, 'two flows, two writes');
  t.equal(payloadOf(inter[0]!.packet).length, 3000);
  t.equal(payloadOf(inter[1]!.packet).length, 2000);
  // A non-mergeable packet of the flow in between: later segments never jump over it.
  const syn = tcpPacket(4, { seq: 1000, flags: 0x12, payload: new Uint8Array(0) });
  const ord = dbg.groCoalesce([mk(0), syn, mk(1000)]);
  t.equal(ord.length, 3, 'no merge across a later packet of the same flow');
  const udp = ipv4(17, [192, 0, 2, 2], [203, 0, 113, 9], new Uint8Array(100));
  const mixed = dbg.groCoalesce([udp, mk(0), udp, mk(1000)]);
  t.same(
    mixed.map((x) => x.packet.length),
    [120, 20 + 32 + 2000, 120],
    'UDP passes through, TCP merges around it',
  );
  const ack0 = dbg.groCoalesce([mk(0, ACK, { payload: new Uint8Array(0) }), mk(0)]);
  t.equal(ack0.length, 2, 'pure ACKs are not merged');
  const big = Array.from({ length: 70 }, (_, i) => mk(i * 1000));
  const capped = dbg.groCoalesce(big);
  t.ok(
    capped.every((x) => x.packet.length <= 65535 && ipLenOk(x.packet)),
    'super-packets stay within 64 KiB',
  );
  t.equal(capped.length, 2, '70 segments of 1000 bytes: two writes');
});

t.test('partial checksum completion (NEEDS_CSUM)', async (t) => {
  const udp = ipv4(17, [192, 0, 2, 2], [203, 0, 113, 9], new Uint8Array(40).fill(3));
  udp.set([0x12, 0x34, 0x00, 0x35, 0, 40], 20);
  const pseudo = csum(udp.subarray(12, 20)) + 17 + 40;
  const folded = pseudo % 0xffff || 0xffff;
  udp[26] = folded >> 8;
  udp[27] = folded & 0xff;
  t.ok(dbg.csumComplete(udp, 20, 6));
  t.ok(transportCsumOk(udp, 20, 17), 'UDP checksum completed');
  t.notOk(dbg.csumComplete(udp, 20, 47), 'offset past the end');
  t.notOk(dbg.csumComplete(udp, 200, 6), 'start past the end');
});

t.test('random round trips (TSO then GRO)', async (t) => {
  const seed = Number(process.env.GREDGE_SEED ?? Date.now() % 1e9);
  t.comment(`seed ${seed} (GREDGE_SEED=${seed} replays it)`);
  const r = rng(seed);
  let failures = 0;
  for (let i = 0; i < 150; i++) {
    const v = r() < 0.5 ? 4 : 6;
    const gso = 200 + ((r() * 1300) | 0);
    const n = 1 + ((r() * Math.min(60000, gso * 44)) | 0);
    const payload = bytes(n, r);
    const seq = (r() * 2 ** 32) >>> 0;
    const sup = tcpPacket(v, { seq, flags: ACK, payload, options: r() < 0.5 ? [] : undefined });
    const segs = dbg.tsoSegment(sup, { gsoType: v === 4 ? 1 : 4, gsoSize: gso });
    if (!segs) {
      failures++;
      continue;
    }
    const out = dbg.groCoalesce(segs);
    const ok =
      segs.length === Math.ceil(n / gso) &&
      segs.every((s) => transportCsumOk(s, ipOff(s), 6)) &&
      out.length === 1 &&
      Buffer.compare(payloadOf(out[0]!.packet), payload) === 0 &&
      (segs.length === 1 ? out[0]!.hdr.gsoType === 0 : out[0]!.hdr.gsoSize === gso);
    if (!ok) {
      failures++;
      t.comment(`case ${i}: v${v} gso ${gso} payload ${n} failed`);
    }
  }
  t.equal(failures, 0, '150 random cases');
});
