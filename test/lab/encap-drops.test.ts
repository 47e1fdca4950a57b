/**
 * The encapsulation side of issue 4's drop reasons, in the full lab: a packet too big for the
 * tunnel with DF (IPv4) or any IPv6 packet gets an ICMP Fragmentation Needed (RFC 1191) / ICMPv6
 * Packet Too Big (RFC 4443 §3.2) back and is counted as tooBig; traffic the kernel routes to the
 * TUN for a prefix that is in no tunnel is counted as noRoute.
 */
import t from 'tap';
import { innerMtu } from './configs.js';
import { startGrePath } from './gre-path.js';
import { diff, flatten, type Gredge } from './gredged.js';
import { sleep } from './netns.js';
import { ADDR, Lab, labMissing } from './topology.js';
import { cannotRun } from '../must-run.js';

const missing = labMissing('network namespaces, veths and TUN devices');

async function snap(g: Gredge) {
  return flatten(await g.counters());
}

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

    for (const fam of ['v4', 'v6'] as const) {
      const before = await snap(edge);
      // A 1500-byte packet from net toward cust, DF set: it fits every veth but not the tunnel.
      const size = 1500 - (fam === 'v4' ? 28 : 48);
      const r = await lab.exec(
        'net',
        ['ping', '-n', '-c', '3', '-i', '0.2', '-W', '1', '-M', 'do', '-s', String(size), ADDR.cust[fam]],
        { allowFail: true },
      );
      await sleep(300);
      const d = diff(before, await snap(edge));
      t.ok(
        (d['tunnels.cust-a.drops.tooBig'] ?? 0) >= 1,
        `IP${fam}: counted as tooBig on the tunnel (${JSON.stringify(d)})`,
      );
      t.ok((d['global.ptbSent'] ?? 0) >= 1, `IP${fam}: a Packet Too Big went back to the sender`);
      t.match(
        r.stdout + r.stderr,
        new RegExp(`mtu ?= ?${mtu}`, 'i'),
        `IP${fam}: the sender learned the tunnel MTU ${mtu}`,
      );
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
    }

    // The kernel sends a prefix to the TUN that no tunnel holds.
    await lab.ip('edge', 'route', 'add', '192.0.2.64/27', 'dev', 'gredge0');
    await lab.ip('edge', '-6', 'route', 'add', '2001:db8:3::/64', 'dev', 'gredge0');
    const before = await snap(edge);
    const a = await lab.ping('net', '192.0.2.65', { count: 3, interval: 0.1, timeoutS: 2 });
    const b = await lab.ping('net', '2001:db8:3::1', { count: 3, interval: 0.1, timeoutS: 2 });
    await sleep(300);
    const d = diff(before, await snap(edge));
    t.equal(a.rx + b.rx, 0, 'nothing answers behind a prefix no tunnel holds');
    // At least: the host's own IPv6 multicast (MLD, router solicitations) toward the TUN misses
    // the tunnel tables too and is counted under the same reason.
    t.ok(
      (d['global.drops.noRoute'] ?? 0) >= 6,
      `the 6 echo requests counted as noRoute (${JSON.stringify(d)})`,
    );
    t.ok(edge.running, 'data plane still up');
  });
}
