/**
 * Direct transmit (native/src/nexthop.h): gredge sends its GRE frames through an AF_PACKET socket
 * on the underlay device, with the outer IP and Ethernet headers built from the kernel's route and
 * neighbour tables. What an operator relies on:
 *   - the frames on the wire are what the kernel would have sent (MACs, TTL/hop limit, DF, a good
 *     IPv4 header checksum, an IPv6 flow label), for both underlays;
 *   - the kernel's route and neighbour tables stay the authority: a changed, wrong or deleted
 *     neighbour entry and a changed route are followed within a fraction of a second (gredge
 *     listens for their notifications); a deleted entry is resolved again by the packets that
 *     then take the kernel's path; a static one is left alone;
 *   - `dataplane.direct-tx: false` sends everything through the kernel's IP path instead.
 */
import t, { type Test } from 'tap';
import { Capture } from './capture.js';
import { KEY } from './configs.js';
import { startGrePath } from './gre-path.js';
import { flatten, type Gredge } from './gredged.js';
import { sleep } from './netns.js';
import { ADDR, IF, type Lab, Lab as LabClass, labMissing, type Role } from './topology.js';
import { cannotRun } from '../must-run.js';

/** How soon a change in the kernel's neighbour table must be followed: notifications are read
 * every 50 ms and acted on at most every 100 ms, so ~150 ms; the deadline leaves room for a
 * loaded 2-core CI machine and for the gaps between probes, and stays under the periodic round
 * (1 s), which would otherwise be what catches up. */
const REACT_MS = 900;
/** How long a probe waits for its reply (a round trip in the lab takes well under 1 ms). */
const PROBE_WAIT_MS = 250;
/** Routes: rounds for route changes are paced to one per second, plus a periodic round. */
const ROUTE_REACT_MS = 3000;
/** A path withdrawn because its neighbour entry went is set up again by the next periodic
 * round (1 s) once the kernel has resolved the next hop again. */
const PERIODIC_MS = 3000;

const missing = labMissing('network namespaces, veths and TUN devices', { tshark: 'Debian package tshark' });

async function directTx(g: Gredge): Promise<number> {
  return flatten(await g.counters())['global.directTx'] ?? 0;
}

async function mac(lab: Lab, role: Role, dev: string): Promise<string> {
  const j = JSON.parse(await lab.ip(role, '-j', 'link', 'show', dev)) as Array<{ address: string }>;
  return j[0]!.address;
}

/** Pings cust → dst; returns the replies and how many frames `g` sent directly meanwhile. */
async function pingCounted(
  lab: Lab,
  g: Gredge,
  dst: string,
  opts: { count: number; interval: number; timeoutS?: number },
): Promise<{ rx: number; direct: number }> {
  const before = await directTx(g);
  const r = await lab.ping('cust', dst, opts);
  return { rx: r.rx, direct: (await directTx(g)) - before };
}

/** One echo request cust → dst with a short wait: whether it was answered, and whether `g` sent
 * it directly. */
async function probe(lab: Lab, g: Gredge, dst: string): Promise<{ ok: boolean; direct: boolean }> {
  const before = await directTx(g);
  const r = await lab.exec('cust', ['ping', '-n', '-q', '-c', '1', '-W', String(PROBE_WAIT_MS / 1000), dst], {
    allowFail: true,
  });
  return { ok: r.code === 0, direct: (await directTx(g)) > before };
}

/**
 * Probes until `cond` holds for one, or `ms` passes; returns by when, at the latest, the probe
 * that showed it had crossed the data plane (gredge had followed the change by then): its end,
 * less the reply wait if it was lost, so that a probe's own wait is not counted against gredge.
 * -1: not within `ms`.
 */
async function followed(
  lab: Lab,
  g: Gredge,
  dst: string,
  cond: (p: { ok: boolean; direct: boolean }) => boolean,
  ms: number,
): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    const p = await probe(lab, g, dst);
    const by = Date.now() - t0 - (p.ok ? 0 : PROBE_WAIT_MS);
    if (cond(p)) return by <= ms ? Math.max(by, 0) : -1;
    await sleep(20);
  }
  return -1;
}

/** Pings cust → net until both gredge ends have sent frames directly (or the time is up). */
async function waitDirect(lab: Lab, ends: Gredge[], dst: string, ms = 6000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    await lab.ping('cust', dst, { count: 1, timeoutS: 1 });
    const all = await Promise.all(ends.map(directTx));
    if (all.every((n) => n > 0)) return true;
    await sleep(200);
  }
  return false;
}

/** A v4-underlay lab path in the runner (for counters), torn down with `t`, sending directly. */
async function directV4Path(t: Test, tag: string): Promise<{ lab: Lab; cpe: Gredge; dst: string }> {
  const lab = await LabClass.create({ tag });
  t.teardown(() => lab.destroy());
  const path = await startGrePath(lab, { underlay: 'v4', mode: 'runner' });
  t.teardown(() => path.stop());
  const cpe = path.cpe!;
  const dst = ADDR.net.v4;
  t.ok(await waitDirect(lab, [cpe], dst), 'cpe sends directly');
  return { lab, cpe, dst };
}

if (missing) {
  cannotRun(t, missing);
} else {
  for (const underlay of ['v4', 'v6'] as const) {
    t.test(`direct frames carry the kernel's link and IP fields (${underlay} underlay)`, async (t) => {
      const lab = await LabClass.create({ tag: `d${underlay}` });
      t.teardown(() => lab.destroy());
      const path = await startGrePath(lab, { underlay, mode: 'runner' });
      t.teardown(() => path.stop());
      const cpe = path.cpe!;
      const dst = ADDR.net[underlay];
      t.ok(
        await waitDirect(lab, [cpe, path.edge], dst),
        'both ends send directly once their next hop is known',
      );

      const cap = await Capture.start(
        lab,
        'edge',
        IF.edgeUnder,
        underlay === 'v4' ? 'ip proto 47' : 'ip6 proto 47',
      );
      t.teardown(() => cap.stop());
      const src = underlay === 'v4' ? `ip.src == ${ADDR.cpeUnder.v4}` : `ipv6.src == ${ADDR.cpeUnder.v6}`;
      t.ok(
        await cap.waitLive(() => lab.ping('cust', dst, { count: 1, timeoutS: 1 }), src),
        'the capture sees the tunnel',
      );
      const ping = await pingCounted(lab, cpe, dst, { count: 5, interval: 0.05 });
      await cap.stop();
      t.equal(ping.rx, 5, 'pings cross the tunnel');
      t.equal(ping.direct, 5, 'cpe sent each echo request directly');

      const cpeMac = await mac(lab, 'cpe', IF.cpeUnder);
      const edgeMac = await mac(lab, 'edge', IF.edgeUnder);
      const rows = await cap.fields(
        [
          'eth.src',
          'eth.dst',
          'ip.ttl',
          'ip.flags.df',
          'ip.checksum.status',
          'ipv6.hlim',
          'ipv6.flow',
          'gre.key',
        ],
        src,
        ['ip.check_checksum:TRUE'],
      );
      t.ok(rows.length >= 5, `captured cpe's GRE frames (${rows.length})`);
      const bad = rows.filter((r) => {
        if (r['eth.src']![0] !== cpeMac || r['eth.dst']![0] !== edgeMac) return true;
        if (Number(r['gre.key']![0]) !== KEY) return true;
        if (underlay === 'v4') {
          // The outer header is the first IPv4 header of the frame.
          return (
            r['ip.ttl']![0] !== '64' || r['ip.flags.df']![0] !== '1' || r['ip.checksum.status']![0] !== '1'
          );
        }
        return r['ipv6.hlim']![0] !== '64' || Number(r['ipv6.flow']![0]) === 0;
      });
      t.same(
        bad,
        [],
        'MACs from the kernel tables, TTL 64, DF, good checksum / hop limit 64 and a flow label',
      );
    });
  }

  t.test('the kernel neighbour table stays the authority', async (t) => {
    const { lab, cpe, dst } = await directV4Path(t, 'dnb');
    const edgeMac = await mac(lab, 'edge', IF.edgeUnder);
    const neigh = (...args: string[]) => lab.ip('cpe', 'neigh', ...args);

    // A wrong link address in the kernel's table: gredge follows it, so frames go nowhere.
    await neigh(
      'replace',
      ADDR.edgeUnder.v4,
      'lladdr',
      '02:00:00:00:00:01',
      'dev',
      IF.cpeUnder,
      'nud',
      'permanent',
    );
    const wrong = await followed(lab, cpe, dst, (p) => !p.ok, REACT_MS);
    t.ok(wrong >= 0, `a wrong neighbour entry is followed within ${REACT_MS} ms (${wrong} ms)`);
    const lost = await lab.ping('cust', dst, { count: 5, interval: 0.1, timeoutS: 3 });
    t.equal(lost.rx, 0, 'and nothing gets through while it stands');
    t.match(
      await neigh('show', ADDR.edgeUnder.v4, 'dev', IF.cpeUnder),
      /lladdr 02:00:00:00:00:01 PERMANENT/,
      'a static entry is left as the operator set it',
    );

    // Corrected: traffic flows again, directly.
    await neigh('replace', ADDR.edgeUnder.v4, 'lladdr', edgeMac, 'dev', IF.cpeUnder, 'nud', 'reachable');
    const fixed = await followed(lab, cpe, dst, (p) => p.ok && p.direct, REACT_MS);
    t.ok(fixed >= 0, `the corrected entry is followed within ${REACT_MS} ms (${fixed} ms)`);
    const back = await pingCounted(lab, cpe, dst, { count: 5, interval: 0.1 });
    t.equal(back.rx, 5, 'traffic flows with the corrected entry');
    t.equal(back.direct, 5, 'and every frame leaves directly');

    // Deleted: gredge withdraws the path, so the next packets take the kernel's path, which
    // resolves the next hop as for any packet; the next periodic round sends directly again.
    // Meanwhile nothing may resolve the entry again behind gredge's back: the edge answers no
    // ARP, and asks none (its entry for the CPE is made static), since a request from the edge
    // also teaches the CPE's kernel the edge's MAC. Otherwise anything the CPE sends through its
    // kernel (a GRE keepalive, a probe) can bring the entry back, with the same MAC, before
    // gredge's next look, and gredge rightly keeps its path (how this once failed in CI). With
    // the entry unresolvable, the old path, were it kept, would still deliver (the MAC is
    // right), so `!direct` is what shows that gredge followed the deletion.
    const arpIgnore = `net.ipv4.conf.${IF.edgeUnder}.arp_ignore`;
    const cpeMac = await mac(lab, 'cpe', IF.cpeUnder);
    const edgeNeigh = (nud: string) =>
      lab.ip('edge', 'neigh', 'replace', ADDR.cpeUnder.v4, 'lladdr', cpeMac, 'dev', IF.edgeUnder, 'nud', nud);
    await edgeNeigh('permanent');
    await lab.sysctl('edge', { [arpIgnore]: '8' });
    await neigh('del', ADDR.edgeUnder.v4, 'dev', IF.cpeUnder);
    const gone = await followed(lab, cpe, dst, (p) => !p.direct, REACT_MS);
    t.ok(gone >= 0, `a deleted entry is followed within ${REACT_MS} ms: the path is withdrawn (${gone} ms)`);
    const blocked = await pingCounted(lab, cpe, dst, { count: 3, interval: 0.1, timeoutS: 2 });
    t.same(blocked, { rx: 0, direct: 0 }, 'nothing leaves directly while the next hop cannot be resolved');
    await lab.sysctl('edge', { [arpIgnore]: '0' });
    await edgeNeigh('reachable');
    const resolved = await followed(lab, cpe, dst, (p) => p.ok, PERIODIC_MS);
    t.ok(resolved >= 0, `the kernel's path resolves the next hop again and delivers (${resolved} ms)`);
    const via = await lab.ping('cust', dst, { count: 5, interval: 0.1 });
    t.equal(via.rx, 5, 'traffic flows once the next hop answers');
    const shown = await neigh('show', ADDR.edgeUnder.v4, 'dev', IF.cpeUnder);
    t.match(
      shown,
      new RegExp(`lladdr ${edgeMac}`),
      `the kernel resolved the next hop again: ${shown.trim()}`,
    );
    const again = await followed(lab, cpe, dst, (p) => p.ok && p.direct, PERIODIC_MS);
    t.ok(again >= 0, `frames leave directly again within ${PERIODIC_MS} ms (${again} ms)`);
    const after = await pingCounted(lab, cpe, dst, { count: 5, interval: 0.1 });
    t.equal(after.rx, 5, 'traffic flows after the entry came back');
    t.equal(after.direct, 5, 'every frame directly again');
  });

  t.test('a route change is followed', async (t) => {
    const { lab, cpe, dst } = await directV4Path(t, 'drt');
    // A host route to the far end through a gateway that does not exist: the kernel cannot
    // resolve it, so neither path delivers, and gredge must not keep sending to the old MAC.
    const gw = '198.51.100.9';
    await lab.ip('cpe', 'route', 'replace', `${ADDR.edgeUnder.v4}/32`, 'via', gw, 'dev', IF.cpeUnder);
    const moved = await followed(lab, cpe, dst, (p) => !p.ok && !p.direct, ROUTE_REACT_MS);
    t.ok(moved >= 0, `the new route is followed within ${ROUTE_REACT_MS} ms (${moved} ms)`);
    const lost = await pingCounted(lab, cpe, dst, { count: 3, interval: 0.1, timeoutS: 2 });
    t.equal(lost.rx, 0, 'nothing is delivered through the unresolvable gateway');
    t.equal(lost.direct, 0, 'and nothing is sent directly to the old next hop');
    await lab.ip('cpe', 'route', 'del', `${ADDR.edgeUnder.v4}/32`);
    const restored = await followed(lab, cpe, dst, (p) => p.ok && p.direct, ROUTE_REACT_MS);
    t.ok(restored >= 0, `the removal is followed within ${ROUTE_REACT_MS} ms (${restored} ms)`);
    const back = await pingCounted(lab, cpe, dst, { count: 5, interval: 0.1 });
    t.equal(back.rx, 5, 'traffic flows again once the route is removed');
    t.equal(back.direct, 5, 'every frame directly');
  });

  t.test('direct-tx: false sends through the kernel', async (t) => {
    const lab = await LabClass.create({ tag: 'doff' });
    t.teardown(() => lab.destroy());
    const path = await startGrePath(lab, { underlay: 'v4', mode: 'runner', directTx: false });
    t.teardown(() => path.stop());
    const r = await lab.ping('cust', ADDR.net.v4, { count: 10, interval: 0.05 });
    t.equal(r.rx, 10, 'pings cross the tunnel');
    // Not a wait for something to happen but the span in which it must not: past a periodic
    // round (1 s), which is where a path for a tunnel carrying traffic would be set up.
    await sleep(1500);
    const more = await lab.ping('cust', ADDR.net.v4, { count: 5, interval: 0.05 });
    t.equal(more.rx, 5, 'and still do after a periodic round');
    t.equal(await directTx(path.cpe!), 0, 'cpe sent nothing directly');
    t.equal(await directTx(path.edge), 0, 'edge sent nothing directly');
  });
}
