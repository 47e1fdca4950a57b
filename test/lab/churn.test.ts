/**
 * Issue 4, done-means 4: tunnels and routes of other customers are added and removed on both data
 * planes while a ping flood runs over the lab's tunnel; not one packet of the flood is lost by
 * either data plane (table readers never block and an untouched tunnel is never disturbed): no
 * drop of any reason, and every echo request and reply counted into the tunnel at one end is
 * counted out of it at the other.
 */
import t from 'tap';
import { startGrePath } from './gre-path.js';
import { type Gredge, settledDelta, stillCounters } from './gredged.js';
import { ADDR, Lab, labMissing } from './topology.js';
import { cannotRun } from '../must-run.js';

const missing = labMissing('network namespaces, veths and TUN devices');

const FLOOD = Number(process.env.GREDGE_FLOOD ?? 20_000);

const dropsOf = (d: Record<string, number>) =>
  Object.fromEntries(Object.entries(d).filter(([k]) => k.includes('drops.')));

/** A tunnel that is not the flooded one: its own remote and key, routes of its own. */
function otherTunnel(i: number) {
  return {
    name: `churn-${i}`,
    remote: `198.51.100.${10 + (i % 200)}`,
    key: 10_000 + i,
    mtu: 1472,
    inner: {},
    allowedSources: ['192.0.2.192/28', '2001:db8:100::/48'],
    routes: [],
    mssClamp: true,
    sequence: false,
    checksum: false,
  };
}

function otherRoutes(i: number, tunnel: string) {
  return [
    { prefix: `192.0.2.${192 + (i % 4) * 4}/30`, tunnel },
    { prefix: `2001:db8:100:${(i % 65535).toString(16)}::/64`, tunnel },
  ];
}

/** Add and remove other tunnels (and routes into them) until `stop()` is true. */
async function churn(g: Gredge, stop: () => boolean): Promise<{ cycles: number; errors: string[] }> {
  let cycles = 0;
  const errors: string[] = [];
  for (let i = 0; !stop(); i++) {
    const spec = otherTunnel(i);
    try {
      await g.request('add-tunnel', spec);
      await g.request('add-routes', otherRoutes(i, spec.name));
      await g.request(
        'remove-routes',
        otherRoutes(i, spec.name).map((r) => r.prefix),
      );
      await g.request('remove-tunnel', spec.name);
      cycles++;
    } catch (e) {
      errors.push((e as Error).message);
      if (errors.length > 5) break;
    }
  }
  return { cycles, errors };
}

if (missing) {
  cannotRun(t, missing);
} else {
  for (const fam of ['v4', 'v6'] as const) {
    t.test(`ping flood (IP${fam}) loses nothing while other tunnels come and go`, async (t) => {
      const lab = await Lab.create({ tag: `churn${fam}` });
      t.teardown(() => lab.destroy());
      const path = await startGrePath(lab, { underlay: 'v4' });
      t.teardown(() => path.stop());
      const cpe = path.cpe!;
      const [edge0, cpe0] = await Promise.all([stillCounters(path.edge), stillCounters(cpe)]);

      let done = false;
      const flood = lab.ping('cust', ADDR.net[fam], { flood: true, count: FLOOD, timeoutS: 120 });
      void flood.finally(() => {
        done = true;
      });
      const [r, edgeChurn, cpeChurn] = await Promise.all([
        flood,
        churn(path.edge, () => done),
        churn(cpe, () => done),
      ]);
      t.equal(edgeChurn.errors.length, 0, `edge tunnel changes succeed ${edgeChurn.errors.join('; ')}`);
      t.equal(cpeChurn.errors.length, 0, `cpe tunnel changes succeed ${cpeChurn.errors.join('; ')}`);
      t.ok(edgeChurn.cycles >= 10, `edge added and removed ${edgeChurn.cycles} tunnels during the flood`);
      t.ok(cpeChurn.cycles >= 10, `cpe added and removed ${cpeChurn.cycles} tunnels during the flood`);
      t.equal(r.tx, FLOOD, `the flood sent ${FLOOD} echo requests`);
      t.comment(`ping: ${r.out.trim().split('\n').slice(-2).join(' ')}`);
      // Loss is judged on the data planes' own counters, not on ping's count, which would also
      // charge them with whatever the hosts' kernels lose on a loaded machine.
      const [e, c] = await Promise.all([
        settledDelta(path.edge, edge0),
        settledDelta(cpe, cpe0, (d) => (d['tunnels.to-edge.txPackets'] ?? 0) >= r.tx),
      ]);
      t.same(dropsOf(e.d), {}, `edge dropped nothing (${JSON.stringify(dropsOf(e.d))})`);
      t.same(dropsOf(c.d), {}, `cpe dropped nothing (${JSON.stringify(dropsOf(c.d))})`);
      const requests = c.d['tunnels.to-edge.txPackets'];
      const replies = e.d['tunnels.cust-a.txPackets'];
      t.equal(requests, r.tx, 'cpe tunnelled every echo request');
      t.equal(e.d['tunnels.cust-a.rxPackets'], requests, 'edge received and delivered every one');
      t.equal(replies, e.d['tunnels.cust-a.rxPackets'], 'edge tunnelled a reply to each');
      t.equal(c.d['tunnels.to-edge.rxPackets'], replies, 'cpe received and delivered every reply');
      t.ok(path.edge.running && cpe.running, 'both data planes still up');
    });
  }
}
