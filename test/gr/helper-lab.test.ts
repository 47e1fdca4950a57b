/**
 * gredged as the helper of a restarting BIRD 2 (issue 11, done-means 3, second half; lab:
 * lab.ts). The peer's BIRD (`graceful restart on`) announces two pairs of prefixes; pings from
 * the transit's host (the edge's kernel only) and from the customer's host (through the tunnel)
 * go to the peer's host all along.
 *
 *  1. BIRD is killed (SIGKILL: the connection closes, no NOTIFICATION). gredged keeps its routes
 *     as stale: `show routes` and `show neighbor` say so, `status` counts them, the kernel keeps
 *     them, the customer still has them, and both floods go on. BIRD comes back with `-R`
 *     (Restart State, Forwarding State bits) announcing only the first pair: after its End-of-RIB
 *     gredged drops the second pair (RIB, kernel, the customer's BIRD), nothing stale remains,
 *     and not one ping was lost.
 *  2. The same with `birdc graceful restart` (BIRD shuts down for a restart, no NOTIFICATION),
 *     BIRD announcing both pairs again: what was stale is refreshed, nothing dropped or left.
 */
import t, { type Test } from 'tap';
import type { BirdRoute } from '../lab/no-resale/bird.js';
import { has, until } from '../lab/no-resale/topo.js';
import { labMissing } from '../lab/topology.js';
import { cannotRun } from '../must-run.js';
import { CUST, GrLab, PEER, startFloods, TRANSIT, TUN } from './lab.js';

const missing = labMissing('network namespaces, TUN devices and BIRD 2', {
  bird: 'bird2',
  birdc: 'bird2',
  ping: 'iputils-ping',
});

const FIRST: BirdRoute[] = [{ prefix: PEER.prefix4 }, { prefix: PEER.prefix6 }];
const SECOND: BirdRoute[] = [{ prefix: PEER.extra4 }, { prefix: PEER.extra6 }];
/** An echo request every 10 ms for 30 s: longer than each round. */
const FLOOD = 3000;

/** The peer's routes in the edge's tables 201 and 202 (`TABLE PREFIX via GW`). */
async function peerFib(r: GrLab): Promise<string[]> {
  return (await r.fib()).filter((x) => x.endsWith(` via ${PEER.addr}`) || x.endsWith(` via ${PEER.addr6}`));
}

function want(prefixes: string[]): string[] {
  return [201, 202]
    .flatMap((table) => prefixes.map((p) => `${table} ${p} via ${p.includes(':') ? PEER.addr6 : PEER.addr}`))
    .sort();
}

/** `gredgectl show routes --neighbor peer`, as rows. */
async function peerRoutes(r: GrLab): Promise<Array<{ prefix: string; stale?: boolean }>> {
  const c = await r.query('show routes', { neighbor: 'peer' });
  return c.routes as Array<{ prefix: string; stale?: boolean }>;
}

async function round(
  t: Test,
  r: GrLab,
  how: 'kill -9' | 'birdc graceful restart',
  routesAfter: BirdRoute[],
): Promise<void> {
  const all = r.bird.peer.opts.sessions[0]!.routes.map((x) => x.prefix);
  const after = routesAfter.map((x) => x.prefix);
  const dropped = all.filter((p) => !after.includes(p));
  const since = r.edge.logs.length;
  const { kernelFlood, tunnelFlood, flowing } = await startFloods(
    r,
    { role: 'transit', src: TRANSIT.host4, dst: PEER.host4 },
    FLOOD,
  );
  t.ok(flowing.ok, `both floods flow (${flowing.value.join(' and ')} replies)`);

  if (how === 'kill -9') await r.bird.peer.kill9();
  else {
    const out = await r.bird.peer.birdc(['graceful', 'restart']);
    t.match(out, /graceful restart/i, `birdc graceful restart: ${out.trim()}`);
    await r.bird.peer.proc?.exited;
  }
  const kept = await until(
    async () =>
      r.edge.logs.slice(since).find((l) => l.neighbor === 'peer' && /routes kept as stale/.test(l.msg ?? '')),
    Boolean,
    10_000,
    50,
  );
  t.ok(kept.ok, `${how}: gredged keeps the peer's routes as stale (${kept.value?.msg})`);
  const status = await r.query('status');
  const n4 = all.filter((p) => !p.includes(':')).length;
  t.same(status.staleRoutes, { 'ipv4-unicast': n4, 'ipv6-unicast': all.length - n4 }, 'status counts them');
  const nbr = await r.query('show neighbor', { neighbor: 'peer' });
  t.equal(nbr.gracefulRestart?.state, 'restarting', 'show neighbor: restarting, routes kept');
  t.same(nbr.gracefulRestart?.families, ['ipv4-unicast', 'ipv6-unicast']);
  const rows = await peerRoutes(r);
  t.same(
    rows.map((x) => [x.prefix, x.stale]).sort(),
    all.map((p) => [p, true]).sort(),
    'show routes: every route of the peer, stale',
  );
  t.same(await peerFib(r), want(all), 'the kernel keeps forwarding with them');
  const custNow = await r.bird.cust.routes('edge');
  t.ok(
    all.every((p) => has(custNow, p)),
    'the customer still has them',
  );
  const k0 = kernelFlood.replies().length;
  const u0 = tunnelFlood.replies().length;
  // 100 more replies each (1 s of pinging; ping itself runs late on a loaded box, so a deadline,
  // not a fixed wait): the floods go on. That none was lost is checked at the end.
  const going = await until(
    async () => [kernelFlood.replies().length - k0, tunnelFlood.replies().length - u0],
    ([k, u]) => k! >= 100 && u! >= 100,
    15_000,
    50,
  );
  t.ok(
    going.ok,
    `both floods go on while BIRD is gone (${going.value.join(' and ')} more replies in ${going.ms} ms)`,
  );

  // Back, in graceful restart recovery, announcing what it announces now.
  r.bird.peer.opts.sessions[0]!.routes = routesAfter;
  r.bird.peer.recovery = true;
  await r.bird.peer.start();
  const eor = await until(
    async () =>
      r.edge.logs
        .slice(since)
        .filter(
          (l) => l.neighbor === 'peer' && /End-of-RIB; routes not refreshed withdrawn/.test(l.msg ?? ''),
        ),
    (x) => x.length === 2,
    60_000,
    100,
  );
  t.ok(
    eor.ok,
    `BIRD is back; at its End-of-RIB per family gredged drops what was not refreshed (${eor.ms} ms)`,
  );
  const est = r.edge.logs.slice(since).find((l) => l.neighbor === 'peer' && l.msg === 'session established');
  t.ok(est, 'the session came back');
  const fib = await until(
    () => peerFib(r),
    (x) => x.join('\n') === want(after).join('\n'),
    20_000,
  );
  t.same(
    fib.value,
    want(after),
    `the kernel: ${dropped.length ? `${dropped.join(', ')} gone, ` : ''}the rest there`,
  );
  const st = await r.query('status');
  t.same(st.staleRoutes, { 'ipv4-unicast': 0, 'ipv6-unicast': 0 }, 'nothing stale in the RIB');
  t.equal(
    (await r.query('show neighbor', { neighbor: 'peer' })).gracefulRestart,
    null,
    'the restart is over',
  );
  t.same(
    (await peerRoutes(r)).map((x) => [x.prefix, x.stale ?? false]).sort(),
    after.map((p) => [p, false]).sort(),
    'show routes: what BIRD announces now, fresh',
  );
  const cust = await until(
    () => r.bird.cust.routes('edge'),
    (rs) => after.every((p) => has(rs, p)) && dropped.every((p) => !has(rs, p)),
    20_000,
  );
  t.ok(cust.ok, "the customer's BIRD has the same");
  await Promise.all([kernelFlood.exited, tunnelFlood.exited]);
  for (const [name, f] of [
    ['kernel', kernelFlood],
    ['tunnel', tunnelFlood],
  ] as const) {
    const s = f.summary();
    t.equal(s.rx, s.tx, `${name} flood: not one ping lost (${s.line}; longest gap ${f.longestGap().ms} ms)`);
  }
}

if (missing) {
  cannotRun(t, missing);
} else {
  t.test('gredged as the helper of a restarting BIRD 2', async (t) => {
    const r = await GrLab.create('grh', {
      peer: [...FIRST, ...SECOND],
      transit: [{ prefix: TRANSIT.prefix4 }, { prefix: TRANSIT.prefix6 }],
    });
    t.teardown(() => r.destroy());
    r.logsOnFailure(t, ['peer'], 4000);
    const ready = await until(
      () => peerFib(r),
      (x) => x.join('\n') === want([PEER.prefix4, PEER.prefix6, PEER.extra4, PEER.extra6]).join('\n'),
      20_000,
    );
    t.ok(ready.ok, "the peer's routes are in the edge's tables");
    t.ok(
      (await r.fib()).includes(`201 ${CUST.prefix4} dev ${TUN}`),
      "and the customer's (the floods' way back)",
    );
    await t.test('1. BIRD killed, back with one pair of prefixes less', (t) => round(t, r, 'kill -9', FIRST));
    await t.test('2. birdc graceful restart, back with the other pair too', (t) =>
      round(t, r, 'birdc graceful restart', [...FIRST, ...SECOND]),
    );
  });
}
