/**
 * Issue 4, done-means 1: with gredge's data plane on cpe and on edge, ping and an iperf3 TCP
 * transfer from cust to net and back, IPv4 and IPv6 inside, over an IPv4 and an IPv6 underlay
 * (RFC 2784/2890 GRE with key; RFC 7676 for the IPv6 underlay). Needs root and the native addon.
 */
import t from 'tap';
import { startGrePath } from './gre-path.js';
import { labMode } from './gredged.js';
import { ADDR, Lab, labMissing } from './topology.js';
import { iperfTcp } from './traffic.js';
import { cannotRun } from '../must-run.js';

const missing = labMissing('network namespaces, veths and TUN devices', { iperf3: 'Debian package iperf3' });

if (missing) {
  cannotRun(t, missing);
} else {
  for (const underlay of ['v4', 'v6'] as const) {
    t.test(`cust ⇄ net through gredge, ${underlay} underlay`, async (t) => {
      const lab = await Lab.create({ tag: `p${underlay}` });
      t.teardown(() => lab.destroy());
      const path = await startGrePath(lab, { underlay, mode: labMode() });
      t.teardown(() => path.stop());

      for (const fam of ['v4', 'v6'] as const) {
        const there = await lab.ping('cust', ADDR.net[fam], { count: 5, interval: 0.05 });
        t.equal(there.rx, 5, `ping cust → net, IP${fam} inside`);
        const back = await lab.ping('net', ADDR.cust[fam], { count: 5, interval: 0.05 });
        t.equal(back.rx, 5, `ping net → cust, IP${fam} inside`);
        // A full-size packet: exactly the inner MTU must pass without fragmentation.
        const mtu = underlay === 'v4' ? 1472 : 1452;
        const size = mtu - (fam === 'v4' ? 28 : 48);
        const big = await lab.exec(
          'cust',
          [
            'ping',
            '-n',
            '-q',
            '-c',
            '2',
            '-i',
            '0.1',
            '-M',
            'do',
            '-s',
            String(size),
            '-W',
            '2',
            ADDR.net[fam],
          ],
          {
            allowFail: true,
          },
        );
        t.equal(big.code, 0, `a ${mtu}-byte IP${fam} packet fits the tunnel`);
      }

      for (const fam of ['v4', 'v6'] as const) {
        for (const reverse of [false, true]) {
          const dir = reverse ? 'net → cust' : 'cust → net';
          const r = await iperfTcp(lab, { family: fam, seconds: 2, reverse });
          t.ok(
            r.bitsPerSecond > 10e6,
            `iperf3 TCP ${dir}, IP${fam} inside: ${(r.bitsPerSecond / 1e9).toFixed(2)} Gbit/s, ${r.retransmits} retransmits`,
          );
        }
      }
      t.ok(path.edge.running && path.cpe?.running, 'both data planes still up');
    });
  }
}
