/**
 * Issue 11, crash safety: gredged killed with SIGKILL while it holds kernel routes programmed
 * from BGP, its ip rules and a TUN with addresses, with `dataplane.persistent` false and true.
 * A new gredged on the same config adopts or removes what the first left: no duplicate route,
 * rule or address, the persistent TUN reused (same ifindex, not a second one), traffic flows
 * again. On a changed config (a tunnel removed, BIRD's prefixes withdrawn while no gredged ran)
 * nothing stale stays once the RIB has converged. A start with `fib: false` removes the routes
 * and rules left behind. The configs have no graceful restart: the start removes what the
 * earlier instance left before the new RIB is written (the FIB's start reconcile).
 */
import t, { type Test as Tap } from 'tap';
import { missing } from '../interop/harness/proc.js';
import { labMissing } from '../lab/topology.js';
import { cannotRun } from '../must-run.js';
import { BIRD_PREFIXES, type EdgeLab as Edge, EdgeLab, type EdgeOptions, logLines, TUN } from './edge-lab.js';

const why = labMissing('network namespaces and TUN devices') ?? missing(['bird', 'birdc', 'ip', 'ping']);

/** Everything the edge must hold for `o`, compared exactly (duplicates would show). */
async function holds(t: Tap, e: Edge, o: EdgeOptions, what: string): Promise<void> {
  const want = e.expectedRoutes(o);
  t.same(await e.routesBecome(want), want, `${what}: routes of protocol 250, each once`);
  t.same(await e.rules(), e.expectedRules(o), `${what}: rules, each once`);
  const tuns = await e.tuns();
  t.same(
    tuns.map((x) => x.name),
    [TUN],
    `${what}: one TUN`,
  );
  t.same(await e.addresses(), e.expectedAddresses(o), `${what}: addresses on the TUN, each once`);
  t.same(await e.mainRoutes(), e.expectedMain(o), `${what}: routes through the TUN in main, each once`);
  const reach = await e.traffic();
  t.same(reach, Object.fromEntries(Object.keys(reach).map((k) => [k, true])), `${what}: traffic flows`);
}

async function kill(t: Tap, e: Edge, persistent: boolean): Promise<number | undefined> {
  const before = (await e.tuns()).find((x) => x.name === TUN)?.ifindex;
  const { code } = await e.signalEdge('SIGKILL');
  t.equal(code, -1, 'gredged killed by SIGKILL');
  t.ok((await e.routes()).length > 0, 'it left routes of protocol 250');
  t.ok((await e.rules()).length > 0, 'and its rules');
  const tun = (await e.tuns()).find((x) => x.name === TUN);
  if (persistent) t.equal(tun?.ifindex, before, 'and its persistent TUN');
  else t.notOk(tun, 'the kernel removed the TUN with the process');
  return tun?.ifindex;
}

if (why) {
  cannotRun(t, why);
} else {
  for (const persistent of [false, true]) {
    t.test(`kill -9 and start again, dataplane.persistent ${persistent}`, async (t) => {
      const e = await EdgeLab.create(t, persistent ? 'crp' : 'crn');
      const base: EdgeOptions = { persistent };
      await e.startEdge(base);
      await e.bird.waitEstablished('edge', 30_000);
      await holds(t, e, base, 'first start');

      // 1. The same config.
      const ifindex = await kill(t, e, persistent);
      await e.startEdge(base);
      await e.bird.waitEstablished('edge', 30_000);
      await holds(t, e, base, 'same config');
      if (persistent) {
        t.equal((await e.tuns())[0]?.ifindex, ifindex, 'the persistent TUN is reused');
        t.equal(logLines(e.edge!, /adopted the TUN/).length, 1, 'gredged says it adopted the TUN');
      }

      // 2. A changed config: cust-b removed; BIRD withdraws two prefixes while no gredged runs.
      await kill(t, e, persistent);
      await e.announce([...BIRD_PREFIXES.keep]);
      const changed: EdgeOptions = { persistent, custB: false };
      await e.startEdge(changed);
      await e.bird.waitEstablished('edge', 30_000);
      await holds(t, e, changed, 'changed config');
      if (persistent) {
        const adopted = logLines(e.edge!, /adopted the TUN/)[0];
        t.match(
          adopted,
          { removedAddresses: ['192.0.2.133/30', '2001:db8:ff::3/127'] },
          "cust-b's addresses on the kept TUN are removed",
        );
      }

      // 3. The FIB off in the new config: what the killed one left goes all the same.
      await kill(t, e, persistent);
      const noFib: EdgeOptions = { persistent, custB: false, fib: false };
      await e.startEdge(noFib);
      t.same(await e.routes(), [], 'fib off: no route of protocol 250 is left');
      t.same(await e.rules(), [], 'fib off: no rule of protocol 250 is left');
      const removed = Number(logLines(e.edge!, /^fib off: removed/)[0]?.removed);
      t.ok(
        removed >= e.expectedRules(changed).length,
        `fib off: gredged says it removed ${removed} routes and rules`,
      );

      // 4. A clean stop of a non-persistent config leaves no TUN, even one a persistent
      // config had made.
      t.equal((await e.signalEdge('SIGKILL')).code, -1, 'the fib-off gredged killed too');
      await e.startEdge({ custB: false });
      await e.bird.waitEstablished('edge', 30_000);
      await e.routesBecome(e.expectedRoutes({ custB: false }));
      const { code } = await e.signalEdge('SIGTERM');
      t.equal(code, 0, 'SIGTERM: exit 0');
      t.same(await e.tuns(), [], 'SIGTERM: no TUN, persistent before or not');
      t.same(await e.routes(), [], 'SIGTERM: no route of protocol 250');
      t.same(await e.rules(), [], 'SIGTERM: no rule');
    });
  }
}
