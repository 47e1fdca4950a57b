/**
 * A planned graceful restart (issue 11): `gredgectl graceful-restart` with BIRD 2 as the helper
 * (lab: lab.ts, with `dataplane.persistent: false` so that only the command can keep the TUN).
 *
 *  - gredgectl says which neighbors keep our routes, and gredged exits 75 (the systemd unit
 *    starts it again at once on that code).
 *  - No neighbor gets a NOTIFICATION: the peer's BIRD takes the closed connection for a restart
 *    (graceful restart active) and keeps our routes; its log has no Cease from us.
 *  - The edge's kernel keeps gredge's routes and rules, and the TUN is still there (made
 *    persistent on the way out) with its addresses: traffic the kernel forwards with those
 *    routes (peer host → transit host) loses not one ping across the stop, the start and the
 *    reconciliation.
 *  - The new gredged finds them, restarts gracefully (keeps, defers, reconciles), and clears
 *    the TUN's persist flag again as its config says; tunnel traffic flows again.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { labMissing } from '../lab/topology.js';
import { has, until } from '../lab/no-resale/topo.js';
import { cannotRun } from '../must-run.js';
import { CUST, expectedFib, GrLab, PEER, startFloods, TRANSIT, TUN } from './lab.js';

const CTL = fileURLToPath(new URL('../../src/control/cli/gredgectl.js', import.meta.url));

const missing = labMissing('network namespaces, TUN devices and BIRD 2', {
  bird: 'bird2',
  birdc: 'bird2',
  ping: 'iputils-ping',
});

const PEER_ROUTES = [{ prefix: PEER.prefix4 }, { prefix: PEER.prefix6 }];
const TRANSIT_ROUTES = [{ prefix: TRANSIT.prefix4 }, { prefix: TRANSIT.prefix6 }];
/** An echo request every 10 ms for 25 s: far longer than the restart. */
const FLOOD = 2500;

if (missing) {
  cannotRun(t, missing);
} else {
  t.test('gredgectl graceful-restart: routes, rules and TUN stay, no NOTIFICATION, exit 75', async (t) => {
    const r = await GrLab.create(
      'grp',
      { peer: PEER_ROUTES, transit: TRANSIT_ROUTES },
      { persistent: false },
    );
    t.teardown(() => r.destroy());
    r.logsOnFailure(t, ['peer', 'cust'], 3000);
    const peerHas = (p: string) => async () => has(await r.bird.peer.routes('edge'), p);
    const tunLink = async () =>
      (await r.lab.exec('edge', ['ip', '-d', 'link', 'show', 'dev', TUN], { allowFail: true })).stdout;

    const fib = await until(
      () => r.fib(),
      (x) => x.join('\n') === expectedFib(false).join('\n'),
      20_000,
    );
    t.same(fib.value, expectedFib(false), 'the edge programmed every route in 201 and 202');
    t.ok((await until(peerHas(CUST.prefix4), Boolean, 20_000)).ok, "the peer's BIRD has our route");
    t.match(await tunLink(), /persist off/, 'the TUN is not persistent, as configured');

    const { kernelFlood, tunnelFlood, flowing } = await startFloods(
      r,
      { role: 'peer', src: PEER.host4, dst: TRANSIT.host4 },
      FLOOD,
    );
    t.ok(flowing.ok, `both floods flow (${flowing.value.join(' and ')} replies)`);

    // --- the planned restart, as an operator runs it
    const ctl = spawnSync(process.execPath, [CTL, '--socket', r.socket, 'graceful-restart'], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    t.equal(ctl.status, 0, `gredgectl graceful-restart exits 0: ${ctl.stderr}`);
    t.match(ctl.stdout, /gredged exits 75/, 'it says how gredged goes');
    for (const n of ['cust', 'peer', 'transit'])
      t.match(
        ctl.stdout,
        new RegExp(`^${n}\\s+Established\\s+yes, up to 120 s$`, 'm'),
        `${n} keeps our routes`,
      );
    const code = await Promise.race([
      r.edge.proc!.exited,
      new Promise<string>((res) => setTimeout(() => res('still running after 15 s'), 15_000)),
    ]);
    t.equal(code, 75, 'gredged exited 75');
    const run0 = r.edge.logs.slice(r.edge.runStart);
    t.ok(
      run0.some(
        (l) => l.msg?.startsWith('graceful restart: kernel routes, rules and TUN left in place') === true,
      ),
      'gredged logged what it left',
    );

    const stale = await until(
      () => r.bird.peer.info('edge'),
      (s) => /graceful restart/i.test(s) && !/BGP state:\s+Established/.test(s),
      10_000,
      100,
    );
    t.match(stale.value, /Neighbor graceful restart active/, "the peer's BIRD: graceful restart active");
    t.ok(await peerHas(CUST.prefix4)(), "the peer's BIRD keeps our route (stale)");
    t.ok(await peerHas(CUST.prefix6)(), 'both families');
    t.notMatch(
      r.bird.peer.log(),
      /Received: (Administrative shutdown|Cease)/,
      "the peer's BIRD got no NOTIFICATION from us",
    );
    t.same(await r.fib(), expectedFib(false), "the edge's kernel keeps gredge's routes");
    t.match(await tunLink(), /persist on/, 'the TUN is still there, made persistent on the way out');
    const k0 = kernelFlood.replies().length;
    const moved = await until(
      async () => kernelFlood.replies().length,
      (n) => n >= k0 + 100,
      5_000,
      50,
    );
    t.ok(moved.ok, `kernel-forwarded traffic flows with gredged gone (${moved.value - k0} more replies)`);

    // --- what systemd does on exit 75: start it again
    const spawnedAt = Date.now();
    await r.edge.start(60_000);
    const run = () => r.edge.logs.slice(r.edge.runStart);
    t.equal(
      run().filter((l) => l.msg?.startsWith('fib started; routes of the earlier instance kept') === true)
        .length,
      1,
      'the new gredged kept the routes it found (a restart)',
    );
    const back = await until(
      async () => tunnelFlood.replies().filter(([x]) => x > spawnedAt).length,
      (n) => n > 0,
      15_000,
      20,
    );
    t.ok(back.ok, 'traffic through the tunnel flows again');
    const done = await until(
      async () => run().find((l) => l.msg?.startsWith('graceful restart: done') === true),
      Boolean,
      60_000,
      100,
    );
    t.ok(done.ok, 'the restart is done: End-of-RIB from every neighbor');
    const status = await r.query('status');
    t.same(status.staleRoutes, { 'ipv4-unicast': 0, 'ipv6-unicast': 0 }, 'no stale route in the RIB');
    t.same(
      (
        await until(
          () => r.fib(),
          (x) => x.join('\n') === expectedFib(false).join('\n'),
          20_000,
        )
      ).value,
      expectedFib(false),
      "the kernel's tables: the best paths, nothing stale",
    );
    t.match(await tunLink(), /persist off/, 'the new gredged set the persist flag back as its config says');
    const over = await until(
      () => r.bird.peer.info('edge'),
      (s) => /BGP state:\s+Established/.test(s) && !/graceful restart active/i.test(s),
      20_000,
    );
    t.ok(over.ok, "the peer's BIRD: Established, its graceful restart over");

    await Promise.all([kernelFlood.exited, tunnelFlood.exited]);
    const k = kernelFlood.summary();
    t.equal(k.tx, FLOOD);
    t.equal(k.rx, k.tx, `kernel-forwarded traffic: not one ping lost (${k.line})`);
    t.comment(`tunnel flood: ${tunnelFlood.summary().line}; longest gap ${tunnelFlood.longestGap().ms} ms`);
  });
}
