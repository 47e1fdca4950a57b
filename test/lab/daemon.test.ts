/**
 * gredged itself (`node dist/src/main.js --config FILE`) as a tunnel-only CPE, the shape of issue
 * 4's config with no neighbors: it must stay up, create its TUN with the tunnel's inner addresses
 * and static routes, carry traffic, and remove the TUN on SIGTERM.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { INNER } from './configs.js';
import { startGrePath } from './gre-path.js';
import { sleep, waitFor } from './netns.js';
import { ADDR, Lab, labMissing } from './topology.js';
import { cannotRun } from '../must-run.js';

const missing = labMissing('network namespaces and TUN devices');
const CTL = fileURLToPath(new URL('../../src/control/cli/gredgectl.js', import.meta.url));

/** gredgectl ARGS --json against `socket`: the parsed answer, or the exit code and stderr. */
function ctlJson(socket: string, args: string[]): Promise<{ code: number; json?: unknown; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CTL, '--socket', socket, ...args, '--json'],
      { timeout: 30_000 },
      (err, out, e) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 99) : 0;
        resolve({ code, stderr: String(e), ...(code === 0 ? { json: JSON.parse(String(out)) } : {}) });
      },
    );
  });
}

if (missing) {
  cannotRun(t, missing);
} else {
  t.test('gredged with only tunnels runs the data plane', async (t) => {
    const lab = await Lab.create({ tag: 'daemon' });
    t.teardown(() => lab.destroy());
    let path: Awaited<ReturnType<typeof startGrePath>>;
    try {
      path = await startGrePath(lab, {
        underlay: 'v4',
        mode: 'daemon',
        settleMs: 5000,
        control: join(lab.dir, 'edge.sock'),
      });
    } catch (e) {
      t.fail(`gredged carries cust ⇄ net: ${(e as Error).message.split('\n')[0]}`);
      return;
    }
    t.teardown(() => path.stop());
    // Staying up is the absence of an exit over a span, so this is a window rather than a wait
    // for a condition: 2 s, past the data plane's first housekeeping rounds (1 s). An exit in it
    // fails at once, with the exit code and the end of stderr.
    const ends = [path.edge, path.cpe!];
    const exit = await Promise.race([
      sleep(2000).then(() => undefined),
      ...ends.map((g) => g.proc.exited.then((code) => ({ role: g.role, code, stderr: g.proc.stderr }))),
    ]);
    t.notOk(
      exit,
      exit
        ? `gredged on ${exit.role} exited (${exit.code}): ${exit.stderr.slice(-1000)}`
        : 'both gredged processes stay up',
    );
    const addr = await lab.ip('edge', 'addr', 'show', 'gredge0');
    t.match(addr, INNER.edge.v4, 'the TUN holds the tunnel inner address');
    const routes = await lab.ip('edge', 'route');
    t.match(
      routes,
      new RegExp(`${ADDR.custNet.v4.replace(/\./g, '\\.')} .*dev gredge0`),
      'static route into the TUN',
    );
    const p = await lab.ping('cust', ADDR.net.v4, { count: 3, interval: 0.05 });
    t.equal(p.rx, 3, 'ping cust → net through two gredged');
    // The edge's tunnel as gredgectl shows it: its traffic counted, nothing dropped.
    const sock = join(lab.dir, 'edge.sock');
    const list = await ctlJson(sock, ['show', 'tunnels']);
    t.equal(list.code, 0, `gredgectl show tunnels ${list.stderr}`);
    t.match(list.json, { tunnels: [{ name: 'cust-a', key: 42, state: 'unknown' }] });
    const one = await ctlJson(sock, ['show', 'tunnel', 'cust-a']);
    t.equal(one.code, 0, `gredgectl show tunnel cust-a ${one.stderr}`);
    const tun = one.json as {
      rxPackets: number;
      txPackets: number;
      counters: Record<string, number>;
      dropsByReason: object;
    };
    t.ok(
      tun.rxPackets >= 3 && tun.txPackets >= 3,
      `the pings counted (rx ${tun.rxPackets}, tx ${tun.txPackets})`,
    );
    t.equal(tun.counters.rxPackets, tun.rxPackets);
    t.type(tun.dropsByReason, 'object');
    t.match((await ctlJson(sock, ['status'])).json, { tunnels: { configured: 1 } });
    t.equal(await path.edge.stop(), 0, 'gredged exits 0 on SIGTERM');
    // The kernel removes a non-persistent TUN when its last file descriptor closes.
    const gone = await waitFor(
      async () => (await lab.exec('edge', ['ip', 'link', 'show', 'gredge0'], { allowFail: true })).code !== 0,
      3000,
    );
    t.ok(gone, 'the TUN is removed on exit (not persistent)');
  });
}
