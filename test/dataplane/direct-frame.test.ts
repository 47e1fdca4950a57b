/**
 * The frame direct transmit puts on the underlay (gre.cc push_outer, inner_flow_label), checked
 * byte by byte in JS: Ethernet header from the resolved path; IPv4 as the kernel's raw socket
 * path sends it (version/IHL, total length, ID 0, DF, TTL, protocol 47, a header checksum that
 * verifies); IPv6 with payload length, next header 47, hop limit and a flow label taken from the
 * inner flow (RFC 6438): the same for every packet of a flow, spread over flows, never 0.
 */
import t from 'tap';
import { loadNative } from '../../src/dataplane/native.js';
import { csum, ipv4, ipv6, rng, udp } from './packets.js';

const dbg = loadNative().debug;
const eth = Uint8Array.from([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00]);
const eth6 = Uint8Array.from([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x86, 0xdd]);
const v6 = (last: number) => Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), last]);

t.test('IPv4 underlay frame', async (t) => {
  const inner = ipv4(17, [192, 0, 2, 2], [203, 0, 113, 9], udp(1000, 9));
  const gre = Uint8Array.from([0x20, 0x00, 0x08, 0x00, 0, 0, 0, 42, ...inner]);
  const path = {
    family: 4 as const,
    src: Uint8Array.from([198, 51, 100, 2]),
    dst: Uint8Array.from([198, 51, 100, 1]),
    hopLimit: 63,
    eth,
  };
  const f = dbg.pushOuter(path, gre, inner);
  t.equal(f.length, 14 + 20 + gre.length, 'Ethernet + IPv4 + GRE');
  t.same([...f.subarray(0, 14)], [...eth], 'Ethernet header from the path');
  const ip = f.subarray(14, 34);
  t.equal(ip[0], 0x45, 'version 4, IHL 5');
  t.equal((ip[2]! << 8) | ip[3]!, 20 + gre.length, 'total length');
  t.equal((ip[4]! << 8) | ip[5]!, 0, 'ID 0 (atomic datagram)');
  t.equal((ip[6]! << 8) | ip[7]!, 0x4000, 'DF, no fragment offset');
  t.equal(ip[8], 63, 'TTL from the path');
  t.equal(ip[9], 47, 'protocol GRE');
  t.equal(csum(ip), 0xffff, 'header checksum verifies');
  t.same([...ip.subarray(12, 16)], [198, 51, 100, 2], 'source');
  t.same([...ip.subarray(16, 20)], [198, 51, 100, 1], 'destination');
  t.same([...f.subarray(34)], [...gre], 'the GRE packet follows untouched');
});

t.test('IPv6 underlay frame and flow label', async (t) => {
  const inner = ipv4(6, [192, 0, 2, 2], [203, 0, 113, 9], udp(1000, 179));
  const gre = Uint8Array.from([0x20, 0x00, 0x08, 0x00, 0, 0, 0, 42, ...inner]);
  const path = { family: 6 as const, src: v6(2), dst: v6(1), hopLimit: 64, eth: eth6 };
  const f = dbg.pushOuter(path, gre, inner);
  t.equal(f.length, 14 + 40 + gre.length, 'Ethernet + IPv6 + GRE');
  const ip = f.subarray(14, 54);
  const label = ((ip[1]! & 0x0f) << 16) | (ip[2]! << 8) | ip[3]!;
  t.equal(ip[0]! >> 4, 6, 'version 6');
  t.equal(ip[0]! & 0x0f, 0, 'traffic class 0');
  t.equal(label, dbg.innerFlowLabel(inner), 'flow label from the inner packet');
  t.not(label, 0, 'a label is set');
  t.equal((ip[4]! << 8) | ip[5]!, gre.length, 'payload length');
  t.equal(ip[6], 47, 'next header GRE');
  t.equal(ip[7], 64, 'hop limit from the path');
  t.same([...ip.subarray(8, 24)], [...v6(2)], 'source');
  t.same([...ip.subarray(24, 40)], [...v6(1)], 'destination');
});

t.test('inner flow labels: stable per flow, spread over flows', async (t) => {
  const seed = Number(process.env.GREDGE_SEED ?? Date.now() % 1e9);
  t.comment(`seed ${seed}`);
  const r = rng(seed);
  const labels = new Set<number>();
  let stable = true;
  let inRange = true;
  for (let i = 0; i < 500; i++) {
    const sport = Math.floor(r() * 65536);
    const a = ipv4(17, [192, 0, 2, 2], [203, 0, 113, 9], udp(sport, 9, 8));
    const b = ipv4(17, [192, 0, 2, 2], [203, 0, 113, 9], udp(sport, 9, 200)); // same flow, other size
    const la = dbg.innerFlowLabel(a);
    stable &&= la === dbg.innerFlowLabel(b);
    inRange &&= la > 0 && la < 1 << 20;
    labels.add(la);
  }
  t.ok(stable, 'every packet of a flow gets the same label');
  t.ok(inRange, 'labels are 20-bit and non-zero');
  t.ok(labels.size > 450, `flows spread over labels (${labels.size} of 500 distinct)`);
  const six = ipv6(17, v6(2), v6(9), udp(1, 2));
  t.ok(dbg.innerFlowLabel(six) > 0, 'IPv6 inner packets get a label');
  // A non-first fragment has no ports: it must hash like its flow's addresses, not like garbage.
  const frag = ipv4(17, [192, 0, 2, 2], [203, 0, 113, 9], udp(7, 9));
  frag[6] = 0x00;
  frag[7] = 0x10; // offset 128 bytes
  const frag2 = ipv4(17, [192, 0, 2, 2], [203, 0, 113, 9], udp(8, 10));
  frag2[6] = 0x00;
  frag2[7] = 0x10;
  t.equal(
    dbg.innerFlowLabel(frag),
    dbg.innerFlowLabel(frag2),
    'non-first fragments ignore the bytes at the port offset',
  );
  t.equal(dbg.innerFlowLabel(Uint8Array.from([0x45, 0, 0])), 0, 'a truncated packet gets no label');
  t.equal(dbg.innerFlowLabel(new Uint8Array(0)), 0, 'an empty one neither');
});
