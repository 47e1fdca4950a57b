/**
 * Issue 4, done-means 2: what gredge puts on the underlay is GRE (RFC 2784) with the configured
 * key (RFC 2890 §2.1) around the right inner packets, as tshark dissects it; and the MSS of TCP
 * SYNs crossing the tunnel is clamped to fit its MTU (inner MTU − 40, both directions).
 */
import t from 'tap';
import { Capture } from './capture.js';
import { INNER, innerMtu, KEY } from './configs.js';
import { startGrePath } from './gre-path.js';
import { labMode } from './gredged.js';
import { ADDR, IF, Lab, labMissing } from './topology.js';
import { iperfTcp } from './traffic.js';
import { cannotRun } from '../must-run.js';

const missing = labMissing('network namespaces, veths and TUN devices', {
  tshark: 'Debian package tshark',
  iperf3: 'Debian package iperf3',
});

const FIELDS = [
  'ip.src',
  'ip.dst',
  'ipv6.src',
  'ipv6.dst',
  'gre.key',
  'gre.proto',
  'icmp.type',
  'icmpv6.type',
  'tcp.flags.syn',
  'tcp.flags.ack',
  'tcp.options.mss_val',
] as const;

// TCP SYNs over IPv4, or over IPv6 without extension headers (TCP flags at byte 40 + 13).
const SYN_FILTER = '(tcp[tcpflags] & tcp-syn != 0) or (ip6 and ip6[6] == 6 and (ip6[53] & 2) != 0)';

if (missing) {
  cannotRun(t, missing);
} else {
  for (const underlay of ['v4', 'v6'] as const) {
    t.test(`underlay capture dissects as keyed GRE, SYN MSS clamped (${underlay} underlay)`, async (t) => {
      const lab = await Lab.create({ tag: `c${underlay}` });
      t.teardown(() => lab.destroy());
      const path = await startGrePath(lab, { underlay, mode: labMode() });
      t.teardown(() => path.stop());
      const mss4 = innerMtu(underlay) - 40;
      const mss6 = innerMtu(underlay) - 60;

      const outerFilter = underlay === 'v4' ? 'ip proto 47' : 'ip6 proto 47';
      const under = await Capture.start(lab, 'edge', IF.edgeUnder, outerFilter);
      const atNet = await Capture.start(lab, 'net', IF.net, SYN_FILTER);
      const atCust = await Capture.start(lab, 'cust', IF.cust, SYN_FILTER);
      t.teardown(() => Promise.all([under.stop(), atNet.stop(), atCust.stop()]));
      // The underlay capture sees the tunnel before the pings it counts: probes go to the edge's
      // inner address, through the tunnel, and are none of the echoes counted below.
      t.ok(
        await under.waitLive(() => lab.ping('cust', INNER.edge.v4, { count: 1, timeoutS: 1 })),
        'the underlay capture sees the tunnel',
      );

      await lab.ping('cust', ADDR.net.v4, { count: 3, interval: 0.05 });
      await lab.ping('cust', ADDR.net.v6, { count: 3, interval: 0.05 });
      // Short flows: a capture of a bulk transfer would be large and slow to dissect.
      await iperfTcp(lab, { family: 'v4', seconds: 5, bytes: 65536 });
      await iperfTcp(lab, { family: 'v6', seconds: 5, bytes: 65536 });
      await Promise.all([under.stop(), atNet.stop(), atCust.stop()]);

      const rows = await under.fields([...FIELDS]);
      t.ok(rows.length > 0, `${rows.length} frames captured on the underlay`);
      const outerSrc = underlay === 'v4' ? 'ip.src' : 'ipv6.src';
      const outerDst = underlay === 'v4' ? 'ip.dst' : 'ipv6.dst';
      const notGre = rows.filter((r) => r['gre.key']!.length === 0);
      t.equal(notGre.length, 0, 'every GRE frame on the underlay carries a key');
      const wrongKey = rows.filter((r) => r['gre.key']!.some((k) => Number(k) !== KEY));
      t.equal(wrongKey.length, 0, `every key is the configured ${KEY}`);
      const ends = new Set<string>([ADDR.cpeUnder[underlay], ADDR.edgeUnder[underlay]]);
      t.ok(
        rows.every((r) => ends.has(r[outerSrc]![0]!) && ends.has(r[outerDst]![0]!)),
        'outer addresses are the two underlay ends',
      );

      // Inner packets: the outer header is the first occurrence of its family, the inner IP the
      // next one (or the only one of the other family).
      const inner = rows.map((r) => {
        const v4 = underlay === 'v4' ? r['ip.src']!.slice(1) : r['ip.src']!;
        const v4d = underlay === 'v4' ? r['ip.dst']!.slice(1) : r['ip.dst']!;
        const v6 = underlay === 'v6' ? r['ipv6.src']!.slice(1) : r['ipv6.src']!;
        const v6d = underlay === 'v6' ? r['ipv6.dst']!.slice(1) : r['ipv6.dst']!;
        return { src: v4[0] ?? v6[0], dst: v4d[0] ?? v6d[0], proto: r['gre.proto']![0], row: r };
      });
      const echo4 = inner.filter(
        (p) => p.src === ADDR.cust.v4 && p.dst === ADDR.net.v4 && p.row['icmp.type']!.includes('8'),
      );
      const reply4 = inner.filter(
        (p) => p.src === ADDR.net.v4 && p.dst === ADDR.cust.v4 && p.row['icmp.type']!.includes('0'),
      );
      const echo6 = inner.filter(
        (p) => p.src === ADDR.cust.v6 && p.dst === ADDR.net.v6 && p.row['icmpv6.type']!.includes('128'),
      );
      const reply6 = inner.filter(
        (p) => p.src === ADDR.net.v6 && p.dst === ADDR.cust.v6 && p.row['icmpv6.type']!.includes('129'),
      );
      t.same(
        [echo4.length, reply4.length],
        [3, 3],
        'the 3 ICMP echoes and their replies inside, IPv4 (proto 0x0800)',
      );
      t.same(
        [echo6.length, reply6.length],
        [3, 3],
        'the 3 ICMPv6 echoes and their replies inside, IPv6 (proto 0x86dd)',
      );
      t.ok(
        echo4.every((p) => Number(p.proto) === 0x0800) && echo6.every((p) => Number(p.proto) === 0x86dd),
        'GRE protocol type matches the inner packet',
      );

      // SYNs: on the far side of the tunnel, the MSS fits the tunnel.
      const syns = async (cap: Capture, ack: boolean) =>
        (
          await cap.fields(
            ['ip.src', 'ipv6.src', 'tcp.options.mss_val'],
            `tcp.flags.syn == 1 && tcp.flags.ack == ${ack ? 1 : 0}`,
          )
        ).map((r) => ({ v6: r['ipv6.src']!.length > 0, mss: Number(r['tcp.options.mss_val']![0]) }));
      const synAtNet = await syns(atNet, false);
      const synAckAtCust = await syns(atCust, true);
      t.ok(synAtNet.length >= 4, `SYNs from cust reached net (${synAtNet.length})`);
      t.ok(synAckAtCust.length >= 4, `SYN-ACKs from net reached cust (${synAckAtCust.length})`);
      for (const s of synAtNet) t.ok(s.mss <= (s.v6 ? mss6 : mss4), `SYN at net: MSS ${s.mss} clamped`);
      for (const s of synAckAtCust)
        t.ok(s.mss <= (s.v6 ? mss6 : mss4), `SYN-ACK at cust: MSS ${s.mss} clamped`);
      const synUnder = rows.filter(
        (r) => r['tcp.flags.syn']!.includes('1') && r['tcp.options.mss_val']!.length,
      );
      t.ok(synUnder.length > 0, 'SYNs seen inside GRE on the underlay');
      t.comment(
        `MSS on the underlay: ${synUnder.map((r) => r['tcp.options.mss_val']![0]).join(' ')} (tunnel MTU ${innerMtu(underlay)})`,
      );
    });
  }
}
