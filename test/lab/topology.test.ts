/**
 * The lab itself: namespaces come up, the kernel-routing baseline carries ping and TCP from cust to
 * net and back (IPv4 and IPv6), offloads can be switched, and destroy() leaves nothing behind.
 * Needs root (namespaces, veths).
 */
import t from 'tap';
import { iperfTcp } from './traffic.js';
import { haveCommand, nsExec } from './netns.js';
import { ADDR, isRoot, Lab } from './topology.js';
import { cannotRun } from '../must-run.js';

if (!isRoot()) {
  cannotRun(t, 'the lab needs root to create network namespaces and veth pairs');
} else {
  t.test('kernel-routing baseline through cust — cpe — edge — net', async (t) => {
    const lab = await Lab.create({ tag: 'topo' });
    t.teardown(() => lab.destroy());
    await lab.kernelRouting();
    for (const fam of ['v4', 'v6'] as const) {
      // IPv6 neighbour discovery on four fresh links can outlast one ping's 1 s wait on a busy
      // machine: let the path settle, then count.
      t.ok(await lab.waitReachable('cust', ADDR.net[fam]), `cust reaches net ${fam}`);
      const there = await lab.ping('cust', ADDR.net[fam], { count: 3, interval: 0.05 });
      t.equal(there.rx, 3, `ping cust → net ${fam}: ${there.out.trim().split('\n').pop()}`);
      const back = await lab.ping('net', ADDR.cust[fam], { count: 3, interval: 0.05 });
      t.equal(back.rx, 3, `ping net → cust ${fam}`);
    }
    await lab.setOffloads(false);
    const off = await lab.exec('cpe', ['ethtool', '-k', 'u0']);
    t.match(off.stdout, /tcp-segmentation-offload: off/, 'TSO off on the underlay veth');
    await lab.setOffloads(true);
    if (haveCommand('iperf3')) {
      const r = await iperfTcp(lab, { family: 'v4', seconds: 1 });
      t.ok(
        r.bitsPerSecond > 1e6,
        `iperf3 TCP cust → net moves data (${(r.bitsPerSecond / 1e9).toFixed(2)} Gbit/s)`,
      );
    }
    await lab.kernelRouting(false);
    const gone = await lab.ping('cust', ADDR.net.v4, { count: 1, timeoutS: 1 });
    t.equal(gone.rx, 0, 'without the baseline routes nothing passes');
  });

  t.test('destroy removes every namespace the lab made', async (t) => {
    const lab = await Lab.create({ tag: 'gone' });
    const names = Object.values(lab.ns);
    const sleeper = lab.spawn('edge', 'sleep', ['sleep', '600']);
    await lab.destroy();
    t.equal(await sleeper.exited, -1, 'the process the lab started was ended');
    const list = (await nsExec(null, ['ip', 'netns', 'list'])).stdout;
    for (const n of names) t.notOk(list.includes(n), `${n} deleted`);
  });
}
