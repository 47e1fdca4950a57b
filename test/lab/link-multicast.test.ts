/**
 * Issue 8: multicast of link-local scope or narrower that reaches the data plane through its
 * TUN — IPv6 ffXY:: with scope Y 0, 1 or 2 (RFC 4291 §2.7), IPv4 224.0.0.0/24 (RFC 5771 §4),
 * in practice the host's own MLD reports, router solicitations and IGMP — is counted as
 * `linkLocalMulticast`, not as the drop `noRoute`, draws no ICMP error, and is never
 * tunnelled, even with default routes into a tunnel; realm-local and wider scopes, and the rest
 * of 224.0.0.0/4, still follow the routes. Packets are queued on the edge's TUN from an
 * AF_PACKET socket (so any destination can be tried), and the edge's kernel sends its own
 * reports when a socket joins groups on the TUN.
 */
import t from 'tap';
import { cannotRun } from '../must-run.js';
import { type Forged, ipv4, ipv6, sendForged, udp } from './forge.js';
import { startGrePath } from './gre-path.js';
import { settledDelta, stillCounters, sumOf } from './gredged.js';
import { Lab, labMissing } from './topology.js';

const missing = labMissing('network namespaces and TUN devices', {
  python3: 'the AF_PACKET sender is a python3 standard-library script',
});

const TUN = 'gredge0';
const SRC = { v4: '192.0.2.129', v6: 'fe80::1' };
const onTun = (packet: Uint8Array): Forged => ({ family: 'dev', dev: TUN, packet });
const to4 = (dst: string) => onTun(ipv4(SRC.v4, dst, 17, udp(5000, 5001), 1));
const to6 = (dst: string) => onTun(ipv6(SRC.v6, dst, 17, udp(5000, 5001), 1));

/** Kept on the link: scopes 0-2 with and without flags, and the Local Network Control Block. */
const LINK = [
  'ff02::16', // MLDv2 reports
  'ff02::2', // router solicitations
  'ff02::1:3',
  'ff12::1234', // transient group, link scope
  'ff32::8000:1', // prefix-based (RFC 3306) flags, link scope
  'ff01::1', // interface-local
  'ff00::1', // reserved scope 0: "must be silently dropped"
  '224.0.0.22', // IGMPv3 reports
  '224.0.0.251',
  '224.0.0.255',
];
/** Routed like any packet: realm-local and wider scopes, multicast beyond 224.0.0.0/24. */
const ROUTED = ['ff03::1', 'ff05::1:3', 'ff0e::101', '224.0.1.1', '239.255.255.250'];

const JOIN = `
const dgram = require('node:dgram');
const s6 = dgram.createSocket({ type: 'udp6', reuseAddr: true });
const s4 = dgram.createSocket({ type: 'udp4', reuseAddr: true });
s6.bind(5353, () => {
  s6.addMembership('ff02::fb', '::%${TUN}');
  s4.bind(5353, () => {
    s4.addMembership('224.0.0.251', process.argv[1]);
    s4.setMulticastInterface(process.argv[1]);
    s6.setMulticastInterface('::%${TUN}');
    s6.send(Buffer.alloc(12), 5353, 'ff02::fb%${TUN}', () =>
      s4.send(Buffer.alloc(12), 5353, '224.0.0.251', () =>
        setTimeout(() => { s6.close(); s4.close(); }, 300)));
  });
});`;

if (missing) {
  cannotRun(t, missing);
} else {
  t.test('link-scope multicast into the TUN: its own counter, no ICMP, never tunnelled', async (t) => {
    const lab = await Lab.create({ tag: 'llmc' });
    t.teardown(() => lab.destroy());
    // A quiet TUN, so that what is counted is what the test sent: without IPv6 forwarding the
    // kernel joins no all-routers groups (nothing to report: ff02::1 and ff01::1 never are, RFC
    // 3810 §6), and with accept_ra off it sends no router solicitations. The edge only
    // encapsulates here; it forwards nothing.
    await lab.sysctl('edge', {
      'net.ipv6.conf.all.forwarding': '0',
      'net.ipv6.conf.default.forwarding': '0',
      'net.ipv6.conf.default.accept_ra': '0',
      'net.ipv6.conf.default.router_solicitations': '0',
    });
    const path = await startGrePath(lab, { underlay: 'v4', edgeOnly: true });
    t.teardown(() => path.stop());
    const edge = path.edge;
    // Default routes into the customer's tunnel: a packet that reached the LPM would be tunnelled.
    await edge.request('add-routes', [
      { prefix: '0.0.0.0/0', tunnel: 'cust-a' },
      { prefix: '::/0', tunnel: 'cust-a' },
    ]);

    let before = await stillCounters(edge);
    const pkts = [...LINK, ...ROUTED].map((a) => (a.includes(':') ? to6(a) : to4(a)));
    await sendForged(lab, 'edge', pkts);
    const sent = await settledDelta(edge, before, (d) => (d['global.tunReads'] ?? 0) >= pkts.length);
    const d = sent.d;
    t.comment(`counters moved: ${JSON.stringify(d)}`);
    t.equal(d['global.tunReads'], pkts.length, `the data plane read the ${pkts.length} packets`);
    t.equal(
      d['global.linkLocalMulticast'],
      LINK.length,
      `the ${LINK.length} link-scope ones counted as such`,
    );
    t.equal(sumOf(d, /drops\./), 0, 'none counted as a drop, noRoute in particular');
    t.notOk(d['global.ptbSent'] || d['global.tunWrites'], 'no ICMP error written back into the TUN');
    t.equal(
      d['tunnels.cust-a.txPackets'],
      ROUTED.length,
      `only the ${ROUTED.length} wider-scope ones followed the default routes into the tunnel`,
    );

    // Without the default routes a routed one is a miss again (the counter is not a catch-all).
    await edge.request('remove-routes', ['0.0.0.0/0', '::/0']);
    before = sent.after;
    await sendForged(lab, 'edge', [to6('ff05::1:3'), to4('224.0.1.1'), to6('ff02::1')]);
    const miss = await settledDelta(edge, before, (d) => (d['global.tunReads'] ?? 0) >= 3);
    t.same(
      {
        noRoute: miss.d['global.drops.noRoute'],
        linkLocalMulticast: miss.d['global.linkLocalMulticast'],
        tunnelled: miss.d['tunnels.cust-a.txPackets'],
      },
      { noRoute: 2, linkLocalMulticast: 1, tunnelled: undefined },
      'without routes: the two wider-scope packets are noRoute, the link-scope one is not',
    );

    // The kernel's own: a socket joining mDNS groups on the TUN makes the edge's kernel send MLD
    // and IGMP reports (to ff02::16, 224.0.0.22) and, on close, leave reports; the socket also
    // sends one datagram to each group. Every TUN read of this phase is link-scope multicast.
    before = miss.after;
    const join = await lab.exec('edge', [process.execPath, '-e', JOIN, SRC.v4], { allowFail: true });
    t.equal(join.code, 0, `joined and sent on the TUN ${join.stderr}`);
    const own = await settledDelta(edge, before, (d) => (d['global.linkLocalMulticast'] ?? 0) >= 4, {
      quietMs: 1200, // past the reports' retransmission (robustness 2, within 1 s: RFC 3810 §9.1)
    });
    t.comment(`the kernel's own traffic on the TUN: ${JSON.stringify(own.d)}`);
    t.ok(
      (own.d['global.linkLocalMulticast'] ?? 0) >= 4,
      'reports and datagrams counted as linkLocalMulticast (at least a report and a datagram per family)',
    );
    t.equal(
      own.d['global.linkLocalMulticast'],
      own.d['global.tunReads'],
      'every TUN read of the phase was link-scope multicast',
    );
    t.equal(sumOf(own.d, /drops\./), 0, 'none of it counted as a drop (noRoute)');
    t.notOk(own.d['tunnels.cust-a.txPackets'], 'none of it tunnelled');
    t.ok(edge.running, 'data plane still up');
  });
}
