/**
 * The encapsulation side of issue 4's drop reasons, in the full lab: a packet too big for the
 * tunnel with DF (IPv4) or any IPv6 packet gets an ICMP Fragmentation Needed (RFC 1191) / ICMPv6
 * Packet Too Big (RFC 4443 §3.2) back and is counted as tooBig, and the sender then keeps to the
 * tunnel MTU; traffic the kernel routes to the TUN for a prefix that is in no tunnel is counted
 * as noRoute — exactly, since the host's own link-scope multicast has its own counter.
 */
import t from 'tap';
import { innerMtu } from './configs.js';
import { startGrePath } from './gre-path.js';
import { settledDelta, stillCounters } from './gredged.js';
import { ADDR, Lab, labMissing } from './topology.js';
import { cannotRun } from '../must-run.js';

const missing = labMissing('network namespaces, veths and TUN devices');

const dropsOf = (d: Record<string, number>) =>
  Object.fromEntries(Object.entries(d).filter(([k]) => k.includes('drops.')));

if (missing) {
  cannotRun(t, missing);
} else {
  t.test('too big and no route on encapsulation', async (t) => {
    const lab = await Lab.create({ tag: 'encap' });
    t.teardown(() => lab.destroy());
    const path = await startGrePath(lab, { underlay: 'v4' });
    t.teardown(() => path.stop());
    const edge = path.edge;
    const mtu = innerMtu('v4');
    // Counters are read once they stand still (gredged.ts), so every count below is exact.
    let before = await stillCounters(edge);

    for (const fam of ['v4', 'v6'] as const) {
      // One 1500-byte packet from net toward cust, DF set: it fits every veth but not the tunnel.
      const size = 1500 - (fam === 'v4' ? 28 : 48);
      const big = ['ping', '-n', '-c', '1', '-W', '1', '-M', 'do', '-s', String(size), ADDR.cust[fam]];
      const r = await lab.exec('net', big, { allowFail: true });
      const first = await settledDelta(edge, before, (d) => (d['global.ptbSent'] ?? 0) >= 1);
      t.same(
        dropsOf(first.d),
        { 'global.drops.tooBig': 1, 'tunnels.cust-a.drops.tooBig': 1 },
        `IP${fam}: counted as tooBig on the tunnel, nothing else dropped (${JSON.stringify(first.d)})`,
      );
      t.equal(first.d['tunnels.cust-a.ptbSent'], 1, `IP${fam}: a Packet Too Big went back to the sender`);
      t.match(
        r.stdout + r.stderr,
        new RegExp(`mtu ?= ?${mtu}`, 'i'),
        `IP${fam}: the sender learned the tunnel MTU ${mtu} from it`,
      );
      // Having learned it, the sender refuses the same packet itself: none reaches the tunnel.
      const again = await lab.exec('net', big, { allowFail: true });
      t.not(again.code, 0, `IP${fam}: the sender refuses a second packet over the tunnel MTU`);
      const fits = await lab.exec(
        'net',
        [
          'ping',
          '-n',
          '-c',
          '2',
          '-i',
          '0.2',
          '-W',
          '1',
          '-M',
          'do',
          '-s',
          String(mtu - (fam === 'v4' ? 28 : 48)),
          ADDR.cust[fam],
        ],
        { allowFail: true },
      );
      t.equal(fits.code, 0, `IP${fam}: a packet of exactly the tunnel MTU passes`);
      const rest = await settledDelta(edge, first.after, (d) => (d['tunnels.cust-a.txPackets'] ?? 0) >= 2);
      t.same(dropsOf(rest.d), {}, `IP${fam}: no drop for the refused packet nor for the fitting ones`);
      t.equal(rest.d['tunnels.cust-a.txPackets'], 2, `IP${fam}: the 2 fitting packets entered the tunnel`);
      before = rest.after;
    }

    // The kernel sends a prefix to the TUN that no tunnel holds.
    await lab.ip('edge', 'route', 'add', '192.0.2.64/27', 'dev', 'gredge0');
    await lab.ip('edge', '-6', 'route', 'add', '2001:db8:3::/64', 'dev', 'gredge0');
    before = await stillCounters(edge);
    const a = await lab.ping('net', '192.0.2.65', { count: 3, interval: 0.1, timeoutS: 2 });
    const b = await lab.ping('net', '2001:db8:3::1', { count: 3, interval: 0.1, timeoutS: 2 });
    // Without replies ping goes on sending until its deadline (-w 2): count what it sent.
    const sent = a.tx + b.tx;
    const { d } = await settledDelta(edge, before, (d) => (d['global.drops.noRoute'] ?? 0) >= sent);
    t.ok(a.tx >= 3 && b.tx >= 3, `echo requests sent: IPv4 ${a.tx}, IPv6 ${b.tx}`);
    t.equal(a.rx + b.rx, 0, 'nothing answers behind a prefix no tunnel holds');
    // Exactly these: the host's own link-scope multicast toward the TUN (MLD reports, router
    // solicitations) has a counter of its own, linkLocalMulticast (issue 8).
    t.same(
      dropsOf(d),
      { 'global.drops.noRoute': sent },
      `each of the ${sent} echo requests counted as noRoute, nothing else (${JSON.stringify(d)})`,
    );
    t.ok(edge.running, 'data plane still up');
  });
}
