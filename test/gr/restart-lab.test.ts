/**
 * Graceful restart with BIRD 2 as the helper of gredged (issue 11, done-means 3; lab: lab.ts):
 * gredged is killed with SIGKILL during two ping floods and started again.
 *
 *  - While it is gone, the peer's BIRD keeps our routes as stale (birdc: graceful restart
 *    active, our routes still in its table), and traffic the edge's kernel forwards with the
 *    routes gredged left there (peer host → transit host) keeps flowing: not one ping lost
 *    across the kill, the restart and the reconciliation after it.
 *  - Traffic through the tunnel (customer host → peer host: both data planes and the edge's
 *    kernel) stops with gredged and flows again within 2 s of the new start (from the moment
 *    the new gredged is ready, `gredged started`, the READY=1 of systemd: how long node takes
 *    to load before that depends on the box, and is printed).
 *  - Meanwhile the transit stops announcing one prefix. The restarted gredged (Restart State
 *    and Forwarding State bits in its OPENs) keeps the kernel routes it found, defers its export
 *    until End-of-RIB from its neighbors, then reconciles: the kernel tables hold exactly the
 *    new best paths (the dropped prefix gone, none left stale), the RIB has no stale route, and
 *    the BIRDs' graceful restart ends with our End-of-RIB: the peer's (it saw the connection
 *    close) and the customer's (it took our new connection for a restart, RFC 4724 §4.2), the
 *    dropped prefix gone from the customer's BIRD too.
 */
import t from 'tap';
import { labMissing } from '../lab/topology.js';
import { has, until } from '../lab/no-resale/topo.js';
import { cannotRun } from '../must-run.js';
import { CUST, expectedFib, GrLab, PEER, startFloods, TRANSIT } from './lab.js';

const missing = labMissing('network namespaces, TUN devices and BIRD 2', {
  bird: 'bird2',
  birdc: 'bird2',
  ping: 'iputils-ping',
});

const PEER_ROUTES = [{ prefix: PEER.prefix4 }, { prefix: PEER.prefix6 }];
const TRANSIT_ROUTES = [{ prefix: TRANSIT.prefix4 }, { prefix: TRANSIT.extra4 }, { prefix: TRANSIT.prefix6 }];
/** The floods: an echo request every 10 ms for 25 s, far longer than the restart. */
const FLOOD = 2500;

if (missing) {
  cannotRun(t, missing);
} else {
  t.test('BIRD 2 as the helper of a gredged killed and started again', async (t) => {
    const r = await GrLab.create('grr', { peer: PEER_ROUTES, transit: TRANSIT_ROUTES });
    t.teardown(() => r.destroy());
    r.logsOnFailure(t, ['peer', 'cust'], 3000);

    const peerHas = (p: string) => async () => has(await r.bird.peer.routes('edge'), p);
    const custHas = (p: string) => async () => has(await r.bird.cust.routes('edge'), p);
    const fib = await until(
      () => r.fib(),
      (x) => x.join('\n') === expectedFib(true).join('\n'),
      20_000,
    );
    t.same(fib.value, expectedFib(true), 'the edge programmed every route in 201 and 202');
    const ready = await until(
      async () => [
        await peerHas(CUST.prefix4)(),
        await custHas(TRANSIT.extra4)(),
        await custHas(PEER.prefix4)(),
      ],
      (x) => x.every(Boolean),
      20_000,
    );
    t.ok(ready.ok, "the peer's BIRD holds the customer's route from us, the customer's BIRD all of them");

    // --- the floods
    const { kernelFlood, tunnelFlood, flowing } = await startFloods(
      r,
      { role: 'peer', src: PEER.host4, dst: TRANSIT.host4 },
      FLOOD,
    );
    t.ok(flowing.ok, `both floods flow (${flowing.value.join(' and ')} replies)`);

    // --- kill -9
    const killedAt = Date.now();
    await r.edge.kill9();
    t.comment(`gredged killed at ${new Date(killedAt).toISOString()}`);
    const stale = await until(
      () => r.bird.peer.info('edge'),
      (s) => /graceful restart/i.test(s) && !/BGP state:\s+Established/.test(s),
      10_000,
      100,
    );
    t.match(
      stale.value,
      /Neighbor graceful restart active/,
      "the peer's BIRD: the neighbor's graceful restart is active",
    );
    t.ok(await peerHas(CUST.prefix4)(), "the peer's BIRD still has our route (kept as stale)");
    t.ok(await peerHas(CUST.prefix6)(), 'both families');
    t.same(await r.fib(), expectedFib(true), "the edge's kernel keeps gredged's routes");
    t.ok(r.bird.cust.proc?.running, "the customer's BIRD runs on");
    // The transit drops a prefix while nobody at the edge listens.
    await r.bird.transit.setRoutes('edge', [{ prefix: TRANSIT.prefix4 }, { prefix: TRANSIT.prefix6 }]);
    const k0 = kernelFlood.replies().length;
    const u0 = tunnelFlood.replies().length;
    // 100 more kernel-forwarded replies (1 s of pinging; a deadline, not a fixed wait, as ping
    // runs late on a loaded box), and meanwhile next to nothing through the tunnel.
    const going = await until(
      async () => kernelFlood.replies().length - k0,
      (n) => n >= 100,
      15_000,
      50,
    );
    t.ok(
      going.ok,
      `kernel-forwarded traffic flows with gredged gone (${going.value} more replies in ${going.ms} ms)`,
    );
    t.ok(
      tunnelFlood.replies().length <= u0 + 2,
      `traffic through the tunnel stops with the data plane (${tunnelFlood.replies().length - u0} replies meanwhile)`,
    );

    // --- start again
    const spawnedAt = Date.now();
    await r.edge.start(60_000);
    // This run's log lines, read when asked (they keep coming).
    const run = () => r.edge.logs.slice(r.edge.runStart);
    const at = (msg: string, pred: (l: ReturnType<typeof run>[0]) => boolean = () => true) =>
      Date.parse(String(run().find((l) => l.msg === msg && pred(l))?.time));
    const readyAt = at('gredged started');
    const kept = run().filter(
      (l) => l.msg?.startsWith('fib started; routes of the earlier instance kept') === true,
    );
    t.equal(kept.length, 1, 'the new gredged kept the routes it found (a restart)');
    const back = await until(
      async () => tunnelFlood.replies().filter(([x]) => x > spawnedAt),
      (x) => x.length > 0,
      15_000,
      20,
    );
    const firstBack = back.value[0]?.[0] ?? Number.NaN;
    const custUp = at('session established', (l) => l.neighbor === 'cust');
    t.comment(
      `new start: node loaded ${Date.parse(String(run()[0]?.time)) - spawnedAt} ms after the spawn, ready after ${readyAt - spawnedAt} ms; ` +
        `customer session +${custUp - readyAt} ms, first reply through the tunnel +${firstBack - readyAt} ms after ready`,
    );
    t.comment(
      `the new start, as the edge logged it:\n${run()
        .filter((l) => Date.parse(String(l.time)) <= firstBack + 500)
        .map((l) => `+${Date.parse(String(l.time)) - readyAt} ms ${l.neighbor ?? l.module ?? ''} ${l.msg}`)
        .join('\n')}`,
    );
    t.ok(
      firstBack - readyAt < 2000,
      `traffic through the tunnel flows again ${firstBack - readyAt} ms after the new start (ready)`,
    );

    // --- End-of-RIB, reconciliation
    const done = await until(
      async () => run().find((l) => l.msg?.startsWith('graceful restart: done') === true),
      Boolean,
      60_000,
      100,
    );
    t.ok(
      done.ok,
      `the restart is done ${Date.parse(String(done.value?.time)) - readyAt} ms after ready: End-of-RIB from every neighbor`,
    );
    const status = await r.query('status');
    t.equal(status.restart, null, 'no restart pending');
    t.same(status.staleRoutes, { 'ipv4-unicast': 0, 'ipv6-unicast': 0 }, 'no stale route in the RIB');
    const reconciled = await until(
      () => r.fib(),
      (x) => x.join('\n') === expectedFib(false).join('\n'),
      20_000,
    );
    t.same(
      reconciled.value,
      expectedFib(false),
      "the kernel's tables: the new best paths, nothing stale left",
    );
    const gone = await until(custHas(TRANSIT.extra4), (x) => !x, 20_000);
    t.ok(gone.ok, "the dropped prefix is gone from the customer's BIRD too (at our End-of-RIB)");
    t.ok(await custHas(TRANSIT.prefix4)(), 'the rest is there');
    for (const who of ['peer', 'cust'] as const) {
      const over = await until(
        () => r.bird[who].info('edge'),
        (s) => /BGP state:\s+Established/.test(s) && !/graceful restart active/i.test(s),
        20_000,
      );
      t.ok(over.ok, `the ${who} BIRD: Established, its graceful restart over`);
    }
    t.match(
      r.bird.cust.log(),
      /Neighbor graceful restart detected|Graceful restart/,
      "the customer's BIRD took our new connection for a restart (RFC 4724 §4.2)",
    );
    t.ok(await peerHas(CUST.prefix4)(), "the peer's BIRD has our route, refreshed");

    await Promise.all([kernelFlood.exited, tunnelFlood.exited]);
    const k = kernelFlood.summary();
    t.equal(k.tx, FLOOD);
    t.equal(
      k.rx,
      k.tx,
      `kernel-forwarded traffic: not one ping lost across kill, restart and reconciliation (${k.line})`,
    );
    const u = tunnelFlood.summary();
    t.comment(`tunnel flood: ${u.line}; longest gap ${tunnelFlood.longestGap().ms} ms`);
  });
}
