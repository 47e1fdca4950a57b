/**
 * gre.cc through the addon's debug binding: GRE encap/decap vectors (RFC 2784/2890), checksum,
 * flags, keepalive build/reflection, MSS clamping with checksum correctness, Packet Too Big.
 */
import t from 'tap';
import { loadNative } from '../../src/dataplane/native.js';
import { csum, fillTransportCsum, ipv4, ipv6, mssOf, tcpSyn, transportCsumOk } from './packets.js';

const dbg = loadNative().debug;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

t.test('GRE build/parse vectors', async (t) => {
  const payload = ipv4(17, [192, 0, 2, 1], [203, 0, 113, 9], new Uint8Array(8));
  const k = dbg.greBuild(0x0800, payload, { key: 42 });
  t.equal(hex(k.subarray(0, 8)), '200008000000002a', 'K bit, IPv4 proto, key 42');
  t.same(dbg.greParse(k), { status: 'ok', proto: 0x0800, headerLength: 8, checksum: false, key: 42 });
  const ks = dbg.greBuild(0x86dd, payload, { key: 7, seq: 0xfffffffe });
  t.equal(hex(ks.subarray(0, 12)), '300086dd00000007fffffffe', 'K and S bits, key then sequence');
  t.match(dbg.greParse(ks), { status: 'ok', key: 7, seq: 0xfffffffe, headerLength: 12 });
  const c = dbg.greBuild(0x0800, payload, { key: 1, checksum: true });
  t.equal(hex(c.subarray(0, 2)), 'a000', 'C and K bits');
  t.equal(csum(c), 0xffff, 'checksum covers header and payload (RFC 2784 §2.2)');
  t.match(dbg.greParse(c), { status: 'ok', checksum: true, key: 1, headerLength: 12 });
  const bad = Buffer.from(c);
  bad[bad.length - 1]! ^= 0x55;
  t.equal(dbg.greParse(bad).status, 'bad-checksum');
});

t.test('GRE rejects bad version, reserved flags and short headers', async (t) => {
  t.equal(
    dbg.greParse(Uint8Array.from([0x20, 0x01, 0x08, 0x00, 0, 0, 0, 1])).status,
    'bad-flags',
    'version 1',
  );
  t.equal(dbg.greParse(Uint8Array.from([0x40, 0x00, 0x08, 0x00])).status, 'bad-flags', 'routing bit');
  t.equal(dbg.greParse(Uint8Array.from([0x08, 0x00, 0x08, 0x00])).status, 'bad-flags', 'strict source route');
  t.equal(dbg.greParse(Uint8Array.from([0x00, 0x10, 0x08, 0x00])).status, 'bad-flags', 'recursion control');
  t.equal(dbg.greParse(Uint8Array.from([0x20, 0x00, 0x08])).status, 'short');
  t.equal(
    dbg.greParse(Uint8Array.from([0x20, 0x00, 0x08, 0x00, 0, 0])).status,
    'short',
    'key announced, missing',
  );
  t.equal(dbg.greParse(Uint8Array.from([0xb0, 0x00, 0x08, 0x00, 0, 0, 0, 0, 0, 0, 0, 0])).status, 'short');
  t.equal(dbg.greParse(new Uint8Array(0)).status, 'short');
});

t.test('keepalive: built request is reflected only between the tunnel endpoints', async (t) => {
  const local = 0xc6336401; // 198.51.100.1
  const remote = 0xc6336402;
  const ka = dbg.keepalive(local, remote, 42);
  t.match(dbg.greParse(ka), { status: 'ok', proto: 0x0800, key: 42 });
  const inner = ka.subarray(8);
  t.equal(csum(inner.subarray(0, 20)), 0xffff, 'inner IPv4 header checksum');
  t.equal(inner[9], 47, 'inner protocol GRE');
  // The far end sees an inner packet from it (remote of ours = its local) back to us.
  t.equal(dbg.keepaliveReflect(inner, remote, local), 20, 'far end reflects: payload at offset 20');
  t.match(
    dbg.greParse(inner.subarray(20)),
    { status: 'ok', proto: 0, key: 42 },
    'reflected payload is proto 0',
  );
  t.equal(dbg.keepaliveReflect(inner, local, remote), 0, 'not addressed from our local: not reflected');
  t.equal(dbg.keepaliveReflect(inner, remote, 0x01020304), 0, 'toward a third party: never reflected');
});

t.test('MSS clamp rewrites SYNs and keeps the TCP checksum right', async (t) => {
  for (const pad of [0, 1, 2, 3]) {
    const tcp = tcpSyn(1460, pad);
    const p = ipv4(6, [192, 0, 2, 2], [203, 0, 113, 1], tcp);
    fillTransportCsum(p, 20, 6, 16);
    t.ok(dbg.mssClamp(p, 1432), `clamped (MSS at pad ${pad})`);
    t.equal(mssOf(p.subarray(20)), 1432);
    t.ok(transportCsumOk(p, 20, 6), `IPv4 TCP checksum still valid (pad ${pad})`);
    t.notOk(dbg.mssClamp(p, 1440), 'never raised');
  }
  const src = new Uint8Array(16).fill(0x20);
  const dst = new Uint8Array(16).fill(0x30);
  const p6 = ipv6(6, src, dst, tcpSyn(1440, 1));
  fillTransportCsum(p6, 40, 6, 16);
  t.ok(dbg.mssClamp(p6, 1392));
  t.equal(mssOf(p6.subarray(40)), 1392);
  t.ok(transportCsumOk(p6, 40, 6), 'IPv6 TCP checksum still valid');
  const ack = tcpSyn(1460);
  ack[13] = 0x10;
  const pa = ipv4(6, [192, 0, 2, 2], [203, 0, 113, 1], ack);
  t.notOk(dbg.mssClamp(pa, 1000), 'non-SYN untouched');
  const trunc = ipv4(6, [192, 0, 2, 2], [203, 0, 113, 1], tcpSyn(1460)).subarray(0, 30);
  t.notOk(dbg.mssClamp(trunc, 1000), 'truncated packet untouched');
});

t.test('Packet Too Big / Fragmentation Needed construction', async (t) => {
  const big = ipv4(17, [192, 0, 2, 2], [203, 0, 113, 1], new Uint8Array(1600));
  const r = dbg.buildPtb(big, 1472, Uint8Array.from([192, 0, 2, 129]))!;
  t.ok(r);
  t.equal(r.length, 576, 'IPv4: quotes up to 576 bytes in all (RFC 1812 §4.3.2.3)');
  t.equal(csum(r.subarray(0, 20)), 0xffff, 'IP header checksum');
  t.same([...r.subarray(16, 20)], [192, 0, 2, 2], 'sent back to the source');
  t.same([r[20], r[21]], [3, 4], 'type 3 code 4');
  t.equal((r[26]! << 8) | r[27]!, 1472, 'next-hop MTU');
  t.equal(csum(r.subarray(20)), 0xffff, 'ICMP checksum');
  const s6 = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 2]);
  const d6 = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 9]);
  const big6 = ipv6(17, s6, d6, new Uint8Array(1500));
  const r6 = dbg.buildPtb(
    big6,
    1452,
    Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 1]),
  )!;
  t.equal(r6.length, 1280, 'IPv6: fits the minimum MTU (RFC 4443 §2.4)');
  t.equal(r6[40], 2, 'ICMPv6 type 2');
  t.equal(r6.readUInt32BE(44), 1452, 'MTU field');
  t.ok(transportCsumOk(r6, 40, 58), 'ICMPv6 checksum with pseudo-header');
  t.same([...r6.subarray(24, 40)], [...s6], 'to the original source');
  // Never answer an ICMP error with an ICMP error (RFC 1812 §4.3.2.7).
  const icmpErr = Uint8Array.from([3, 1, 0, 0, 0, 0, 0, 0, ...new Array(1500).fill(0)]);
  t.equal(
    dbg.buildPtb(ipv4(1, [192, 0, 2, 2], [203, 0, 113, 1], icmpErr), 1472, Uint8Array.from([1, 2, 3, 4])),
    null,
  );
  t.equal(dbg.buildPtb(Uint8Array.from([0x45, 0, 0]), 1472, Uint8Array.from([1, 2, 3, 4])), null, 'garbage');
});
