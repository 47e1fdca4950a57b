/**
 * Issue 9, the no-resale rule end to end in the lab: a no-resale peer (BIRD), a transit (GoBGP),
 * an internal iBGP neighbor (GoBGP) and two customers whose BGP sessions run inside their GRE
 * tunnels (BIRD on each CPE, gredge's data plane between CPE and edge): `cust-r` resells
 * (`resale: true`, the default), `cust-n` does not (`resale: false`). Topology and address plan:
 * no-resale/plan.ts; what is announced, hence what the FIB must hold: no-resale/model.ts.
 *
 *  1. A prefix only the no-resale peer announces: the internal neighbor and cust-n get it and
 *     reach it through the peer; cust-r gets neither the route nor a way through the peer.
 *  2. The transit announces it too: cust-r gets the transit's route and goes through the transit,
 *     the peer's route stays best in the full table (201), the transit's is in the resale one (202).
 *  3. Every refused import kind is refused, logged with its reason and reaches nobody; an iBGP
 *     route tagged 65000:1:3 never reaches cust-r; max-prefix (restart) sends Cease 6/1 and holds
 *     the session down for restart-after.
 *  4. RFC 9234 role-strict: a wrong role and a missing role get NOTIFICATION 2/11.
 *  5. The FIB after a load, a withdrawal storm, a restart (SIGTERM) and a kill -9: both tables
 *     exactly the model's best paths, rules exactly once, nothing stale, customers reachable.
 */
import t, { type Test as Tap } from 'tap';
import type { Route } from '../interop/harness/route.js';
import { cannotRun } from '../must-run.js';
import { Capture } from './no-resale/capture.js';
import {
  duplicates,
  expectedRules,
  fibRules,
  fibTables,
  listDiff,
  showDiff,
  tableRoutes,
} from './no-resale/kernel.js';
import { allowedSources } from './no-resale/gredged.js';
import {
  AS,
  AUX,
  CUST_N,
  CUST_R,
  CUSTOMERS,
  FULL,
  INTERNAL,
  load4,
  load6,
  MP_ROUTES,
  PEER,
  REFUSED,
  RESALE,
  RS_GOOD_ROUTE,
  SENTINEL,
  TRANSIT,
  TUN,
} from './no-resale/plan.js';
import { auxV6, customerRoutes, has, NoResaleLab, peerRoutes, until } from './no-resale/topo.js';
import type { BirdRoute } from './no-resale/bird.js';
import { labMissing } from './topology.js';

const missing = labMissing('network namespaces, TUN devices and BGP daemons', {
  bird: 'bird2',
  birdc: 'bird2',
  gobgpd: 'gobgpd',
  gobgp: 'gobgpd',
  tshark: 'tshark',
  ping: 'iputils-ping',
});

/** Test 5's load: this many IPv4 and as many IPv6 prefixes from the feeder (a transit). */
const LOAD = Number(process.env.GREDGE_NR_LOAD ?? 10_000);
/** The first PEER_SLICE IPv6 ones are announced by the no-resale peer too, with a shorter path. */
const PEER_SLICE = 1000;

/** cust-r's refused announcements and the reason gredged must give each (test 3). */
const REFUSALS: { route: BirdRoute; reason: string }[] = [
  { route: { prefix: REFUSED.default4 }, reason: 'default-route' },
  { route: { prefix: REFUSED.default6 }, reason: 'default-route' },
  { route: { prefix: REFUSED.bogon }, reason: 'bogon' },
  { route: { prefix: REFUSED.ownPrefix }, reason: 'own-prefix' },
  { route: { prefix: REFUSED.notOwn }, reason: 'not-own-prefix' },
  // cust-r is an rs client on its BIRD: this path is sent as is, without cust-r's AS in front.
  { route: { prefix: REFUSED.firstAs, asPath: [AS.foreign], raw: true }, reason: 'first-as' },
  // BIRD 2.0.12 sets OTC from a filter when the session has no `local role`.
  { route: { prefix: REFUSED.otc, otc: AS.foreign }, reason: 'otc-leak' },
  { route: { prefix: REFUSED.asLoop, asPath: [AS.edge] }, reason: 'as-loop' },
];

/** An own (untagged) route the internal neighbor sends after the tagged one: a barrier. */
const INT_BARRIER = '192.0.2.160/27';

if (missing) {
  cannotRun(t, missing);
} else {
  t.test('no-resale lab', async (t) => {
    const t0 = Date.now();
    const nr = await NoResaleLab.create();
    t.teardown(() => nr.destroy());
    t.comment(`lab up in ${Date.now() - t0} ms: ${JSON.stringify(nr.timing)}`);
    t.teardown(() => {
      if (t.passing()) return;
      const tail = nr.edge.logs
        .slice(-60)
        .map((l) => JSON.stringify(l))
        .join('\n');
      t.comment(
        `--- edge gredged log (tail) ---\n${tail}\n--- stderr ---\n${nr.edge.proc?.stderr.slice(-2000)}`,
      );
    });
    const m = nr.model;

    /** Routes the neighbors learned from gredged, by name. */
    const ribs: Record<string, () => Promise<Route[]>> = {
      peer: () => nr.bird.peer.routes('edge'),
      transit: () => nr.transit.learned(),
      int: () => nr.int.learned(),
      'cust-n': () => nr.custRoutes(CUST_N),
      'cust-r': () => nr.custRoutes(CUST_R),
    };
    const find = (rs: Route[], p: string) => rs.find((r) => r.prefix === p);
    const holding = (who: string, prefixes: string[], timeoutMs = 15_000) =>
      until(ribs[who]!, (rs) => prefixes.every((p) => has(rs, p)), timeoutMs);
    /** Echo requests from `src` in a capture. */
    const echoes = async (cap: Capture, src: string) =>
      (
        await cap.rows(
          ['frame.number'],
          src.includes(':')
            ? `icmpv6.type == 128 && ipv6.src == ${src}`
            : `icmp.type == 8 && ip.src == ${src}`,
        )
      ).length;
    /** The edge's route for a packet from `src` to `dst` coming in on the TUN (`ip route get`). */
    const routeGet = async (src: string, dst: string) => {
      const fam = dst.includes(':') ? '-6' : '-4';
      const argv = ['ip', fam, '-j', 'route', 'get', dst, 'from', src, 'iif', TUN];
      const r = await nr.lab.exec('edge', argv, { allowFail: true });
      if (r.code !== 0)
        return /unreachable/i.test(r.stderr) ? `unreachable (${r.stderr.trim()})` : r.stderr.trim();
      const j = (JSON.parse(r.stdout) as { gateway?: string; dev?: string; table?: string }[])[0];
      return j?.gateway ? `via ${j.gateway} dev ${j.dev}` : `dev ${j?.dev}`;
    };
    /** A capture of ICMP on the far end of an edge link, proven live with pings from the edge. */
    const icmpCapture = async (tt: Tap, role: string, dev: string, edgeAddr: string, farAddr: string) => {
      const cap = await Capture.start(nr.lab, role, dev, 'icmp or icmp6');
      const live = await cap.waitLive(
        () => nr.ping('edge', edgeAddr, farAddr, 1),
        `icmp.type == 8 && ip.src == ${edgeAddr}`,
      );
      tt.ok(live, `the capture on ${role}/${dev} sees the edge's pings`);
      return cap;
    };

    await t.test('1. a prefix only the no-resale peer announces', async (t) => {
      const P = [PEER.prefix4, PEER.prefix6];
      const int = await holding('int', P);
      t.ok(int.ok, 'the internal neighbor receives the peer prefixes');
      for (const p of P) {
        const r = find(int.value, p);
        t.same(r?.largeCommunities, [`${AS.edge}:1:3`], `int: ${p} tagged ${AS.edge}:1:3 (no-resale peer)`);
        t.equal(r?.nextHop, p.includes(':') ? PEER.addr6 : PEER.addr, `int: ${p} via the peer's next hop`);
      }
      const custN = await holding('cust-n', P);
      t.ok(custN.ok, 'cust-n (resale: false) receives them');
      for (const p of P) {
        const r = find(custN.value, p);
        t.same(r?.asPath, [AS.edge, AS.peer], `cust-n: ${p} with path ${AS.edge} ${AS.peer}`);
        t.same(r?.largeCommunities, [], `cust-n: ${p} without our tags`);
      }
      // The transit's route was announced after the peer's (topo.ts): once cust-r holds it,
      // gredged has long decided about the peer's routes for cust-r too.
      const custR = await ribs['cust-r']!();
      t.ok(
        has(custR, TRANSIT.prefix4) && has(custR, CUST_N.prefix4),
        'cust-r holds the transit and cust-n routes',
      );
      for (const p of P) t.notOk(has(custR, p), `cust-r (resale: true) never receives ${p}`);
      const transit = await ribs.transit!();
      for (const p of P) t.notOk(has(transit, p), `the transit does not receive the peer's ${p}`);

      // The edge's policy routing for a packet from cust-n out of the TUN: the full table.
      for (const [dst, want] of [
        [PEER.host4, `via ${PEER.addr}`],
        [PEER.host6, `via ${PEER.addr6}`],
      ] as const) {
        const src = dst.includes(':') ? CUST_N.host6 : CUST_N.host4;
        const got = await until(
          () => routeGet(src, dst),
          (r) => r.startsWith(want),
          10_000,
        );
        t.match(got.value, want, `edge: ${dst} from cust-n (${src}) in through the TUN: ${got.value}`);
      }

      const cap = await icmpCapture(t, 'peer', 'p0', PEER.edge, PEER.addr);
      const sources: [string, string, string, string][] = [
        ['int', INTERNAL.host4, PEER.host4, 'the internal network'],
        ['int', INTERNAL.host6, PEER.host6, 'the internal network'],
        ['cpe-n', CUST_N.host4, PEER.host4, 'cust-n'],
        ['cpe-n', CUST_N.host6, PEER.host6, 'cust-n'],
      ];
      for (const [role, src, dst, who] of sources) {
        const reached = await nr.waitPing(role, src, dst, 10_000);
        const p = await nr.ping(role, src, dst, 3);
        t.ok(reached && p.rx === 3, `${who} (${src}) pings ${dst}: ${p.rx}/3 answered`);
      }
      // cust-r, against the worst `main` there is: a default route to the no-resale peer itself.
      // A packet from the TUN must never take it (README "Forwarding": rule 1002 ignores main's
      // default route); it finds nothing and gets an ICMP unreachable.
      await nr.lab.ip('edge', 'route', 'add', 'default', 'via', PEER.addr);
      await nr.lab.ip('edge', '-6', 'route', 'add', 'default', 'via', PEER.addr6);
      try {
        for (const dst of [PEER.host4, PEER.host6]) {
          const src = dst.includes(':') ? CUST_R.host6 : CUST_R.host4;
          const got = await routeGet(src, dst);
          t.match(got, /^unreachable/, `edge: ${dst} from cust-r (${src}) in through the TUN: ${got}`);
          const p = await nr.ping('cpe-r', src, dst, 3);
          t.equal(p.rx, 0, `cust-r (${src}) → ${dst}: no answer`);
          const icmp = /From \S+ icmp_seq=\d+ Destination .*/.exec(p.out)?.[0];
          t.match(
            icmp ?? p.out,
            /From \S+ icmp_seq=\d+ Destination (Net )?[Uu]nreachable/,
            `an ICMP unreachable comes back (${icmp})`,
          );
        }
      } finally {
        await nr.lab.ip('edge', 'route', 'del', 'default', 'via', PEER.addr);
        await nr.lab.ip('edge', '-6', 'route', 'del', 'default', 'via', PEER.addr6);
      }
      await cap.stop({ displayFilter: `icmp.type == 8 && ip.src == ${CUST_N.host4}`, count: 3 });
      for (const [src, who] of [
        [INTERNAL.host4, 'int'],
        [INTERNAL.host6, 'int'],
        [CUST_N.host4, 'cust-n'],
        [CUST_N.host6, 'cust-n'],
      ] as const) {
        const n = await echoes(cap, src);
        t.ok(n >= 3, `${who}'s echo requests from ${src} cross the edge–peer link (${n})`);
      }
      for (const src of [CUST_R.host4, CUST_R.host6])
        t.equal(await echoes(cap, src), 0, `no packet from cust-r (${src}) crosses the edge–peer link`);
    });

    await t.test('2. the transit announces the same prefix', async (t) => {
      await nr.transit.add({ prefix: PEER.prefix4, nextHop: TRANSIT.addr, asPath: [AS.transitUp] });
      await nr.transit.add({ prefix: PEER.prefix6, nextHop: TRANSIT.addr6, asPath: [AS.transitUp] });
      m.announce(PEER.prefix4, { from: 'transit', len: 2, via: TRANSIT.addr, noResale: false });
      m.announce(PEER.prefix6, { from: 'transit', len: 2, via: TRANSIT.addr6, noResale: false });
      const P = [PEER.prefix4, PEER.prefix6];
      const custR = await holding('cust-r', P);
      t.ok(custR.ok, "cust-r receives the transit's route to the peer's prefixes");
      for (const p of P)
        t.same(
          find(custR.value, p)?.asPath,
          [AS.edge, AS.transit, AS.transitUp],
          `cust-r: ${p} via the transit`,
        );
      // The full best path is still the peer's (shorter path): iBGP and cust-n keep it.
      const int = await ribs.int!();
      for (const p of P)
        t.equal(
          find(int, p)?.nextHop,
          p.includes(':') ? PEER.addr6 : PEER.addr,
          `int: ${p} still the peer's`,
        );
      const custN = await ribs['cust-n']!();
      for (const p of P) t.same(find(custN, p)?.asPath, [AS.edge, AS.peer], `cust-n: ${p} still the peer's`);

      for (const [p, peerGw, transitGw] of [
        [PEER.prefix4, PEER.addr, TRANSIT.addr],
        [PEER.prefix6, PEER.addr6, TRANSIT.addr6],
      ] as const) {
        const fam = p.includes(':') ? '-6' : '-4';
        const want = [`${p} via ${peerGw}`, `${p} via ${transitGw}`];
        const k = await until(
          async () => [
            (await tableRoutes(nr.lab, 'edge', fam, FULL)).filter((r) => r.startsWith(`${p} `)),
            (await tableRoutes(nr.lab, 'edge', fam, RESALE)).filter((r) => r.startsWith(`${p} `)),
          ],
          ([full, resale]) => full!.join() === want[0] && resale!.join() === want[1],
          10_000,
        );
        t.same(k.value, [[want[0]], [want[1]]], `table ${FULL}: ${want[0]}; table ${RESALE}: ${want[1]}`);
      }

      for (const [c, dst, want] of [
        [CUST_N, PEER.host4, `via ${PEER.addr}`],
        [CUST_N, PEER.host6, `via ${PEER.addr6}`],
        [CUST_R, PEER.host4, `via ${TRANSIT.addr}`],
        [CUST_R, PEER.host6, `via ${TRANSIT.addr6}`],
      ] as const) {
        const src = dst.includes(':') ? c.host6 : c.host4;
        const got = await routeGet(src, dst);
        t.match(got, want, `edge: ${dst} from ${c.name} (${src}) in through the TUN: ${got}`);
      }

      const capT = await icmpCapture(t, 'transit', 't0', TRANSIT.edge, TRANSIT.addr);
      const capP = await icmpCapture(t, 'peer', 'p0', PEER.edge, PEER.addr);
      for (const [role, src, dst, who] of [
        ['cpe-r', CUST_R.host4, PEER.host4, 'cust-r'],
        ['cpe-r', CUST_R.host6, PEER.host6, 'cust-r'],
        ['cpe-n', CUST_N.host4, PEER.host4, 'cust-n'],
        ['cpe-n', CUST_N.host6, PEER.host6, 'cust-n'],
      ] as const) {
        const reached = await nr.waitPing(role, src, dst, 10_000);
        const p = await nr.ping(role, src, dst, 3);
        t.ok(reached && p.rx === 3, `${who} (${src}) pings ${dst}: ${p.rx}/3 answered`);
      }
      await capT.stop({ displayFilter: `icmp.type == 8 && ip.src == ${CUST_R.host4}`, count: 3 });
      await capP.stop({ displayFilter: `icmp.type == 8 && ip.src == ${CUST_N.host4}`, count: 3 });
      for (const src of [CUST_R.host4, CUST_R.host6]) {
        const n = await echoes(capT, src);
        t.ok(n >= 3, `cust-r's echo requests (${src}) leave through the transit (${n})`);
        t.equal(await echoes(capP, src), 0, `none of them crosses the edge–peer link`);
      }
      for (const src of [CUST_N.host4, CUST_N.host6]) {
        const n = await echoes(capP, src);
        t.ok(n >= 3, `cust-n's echo requests (${src}) still leave through the peer (${n})`);
        t.equal(await echoes(capT, src), 0, 'none of them crosses the edge–transit link');
      }
    });

    await t.test('3. refused imports, the no-resale tag over iBGP, max-prefix', async (t) => {
      // max-prefix runs beside the rest: its hold-down is 10 s.
      const maxPrefix = maxPrefixFlow(nr);

      // The internal neighbor: a route learned from the no-resale peer at another edge, then
      // an own route (a barrier: once cust-r has it, gredged has decided about the tagged one).
      const tag = [`${AS.edge}:1:3`];
      await nr.int.add({ prefix: INTERNAL.tagged4, nextHop: INTERNAL.addr, largeCommunities: tag });
      await nr.int.add({ prefix: INTERNAL.tagged6, nextHop: INTERNAL.addr6, largeCommunities: tag });
      await nr.int.add({ prefix: INT_BARRIER, nextHop: INTERNAL.addr });
      m.announce(INTERNAL.tagged4, { from: 'int', len: 0, via: INTERNAL.addr, noResale: true });
      m.announce(INTERNAL.tagged6, { from: 'int', len: 0, via: INTERNAL.addr6, noResale: true });
      m.announce(INT_BARRIER, { from: 'int', len: 0, via: INTERNAL.addr, noResale: false });

      const since = nr.edge.logs.length;
      const good = customerRoutes(CUST_R);
      await nr.bird['cust-r'].setRoutes('edge', [...good, ...REFUSALS.map((r) => r.route)]);
      const refusal = (reason: string) =>
        nr.edge.logs
          .slice(since)
          .find(
            (l) => l.neighbor === 'cust-r' && l.reason === reason && /refused on import/.test(l.msg ?? ''),
          );
      const reasons = [...new Set(REFUSALS.map((r) => r.reason))];
      await until(
        async () => reasons.every((r) => refusal(r)),
        (x) => x,
        10_000,
        100,
      );
      for (const { route, reason } of REFUSALS) {
        const l = refusal(reason);
        const same = REFUSALS.filter((r) => r.reason === reason).map((r) => r.route.prefix);
        t.ok(
          l && same.includes(String(l.prefix)),
          `gredged logs cust-r's ${route.prefix} refused as ${reason}${l ? ` (logged: ${l.prefix})` : ''}`,
        );
      }
      // A good route sent after the refused ones: once everyone holds it, gredged is past them.
      await nr.bird['cust-r'].setRoutes('edge', [
        ...good,
        { prefix: SENTINEL },
        ...REFUSALS.map((r) => r.route),
      ]);
      m.announce(SENTINEL, { from: 'cust-r', len: 1, via: 'tunnel', noResale: false });
      const bad = REFUSALS.map((r) => r.route.prefix);
      for (const who of ['peer', 'transit', 'int', 'cust-n']) {
        const h = await holding(who, [SENTINEL]);
        t.ok(h.ok, `${who} receives cust-r's ${SENTINEL} (sent after the refused routes)`);
        const leaked = bad.filter((p) => has(h.value, p));
        t.same(leaked, [], `${who} holds none of cust-r's refused routes`);
      }

      const custN = await holding('cust-n', [INTERNAL.tagged4, INTERNAL.tagged6, INT_BARRIER]);
      t.ok(custN.ok, `cust-n (resale: false) receives the iBGP routes tagged ${tag[0]}`);
      const custR = await holding('cust-r', [INT_BARRIER]);
      t.ok(
        custR.ok,
        `cust-r receives the internal neighbor's own ${INT_BARRIER} (sent after the tagged ones)`,
      );
      for (const p of [INTERNAL.tagged4, INTERNAL.tagged6])
        t.notOk(has(custR.value, p), `cust-r never gets ${p}`);
      for (const who of ['peer', 'transit']) {
        const rs = await ribs[who]!();
        t.notOk(
          has(rs, INTERNAL.tagged4) || has(rs, INTERNAL.tagged6),
          `${who} does not get the tagged routes either`,
        );
      }

      const mp = await maxPrefix;
      t.ok(mp.cease, `gredged sends Cease 6/1 to the max-prefix neighbor (3 prefixes, limit 2)`);
      t.match(mp.birdInfo, /Last error:\s+Received: Maximum number of prefixes reached/, "BIRD's last error");
      const early = mp.polls.filter((p) => p.at < mp.tCease + 9_500 && p.state === 'Established');
      t.same(early, [], `BIRD's session stays down during the hold-down (${mp.polls.length} polls)`);
      t.ok(mp.upOk, `BIRD is Established again after the hold-down (state ${mp.lastState})`);
      const held = mp.tUp - mp.tCease;
      t.ok(held >= 9_950 && held <= 16_000, `held down ${held} ms (restart-after 10 s)`);
      const int = await holding('int', MP_ROUTES.slice(0, 2) as unknown as string[]);
      t.ok(int.ok && !has(int.value, MP_ROUTES[2]), 'back up with 2 prefixes, it stays up: int holds them');
    });

    await t.test('4. RFC 9234 role-strict: a wrong or missing role gets 2/11', async (t) => {
      const cap = await Capture.start(
        nr.lab,
        'aux',
        'a0',
        `tcp port 179 and (host ${AUX.rsMismatch} or host ${AUX.rsMissing})`,
      );
      // Each attempt of theirs ends with gredged's NOTIFICATION; start one now, under the capture.
      await nr.bird.rsMismatch.birdc(['restart', 'p_edge']);
      await nr.bird.rsMissing.birdc(['restart', 'p_edge']);
      const notif = (dst: string) =>
        cap.rows(
          ['bgp.notify.major_error', 'bgp.notify.minor_error_open'],
          `bgp.type == 3 && ip.src == ${AUX.edge} && ip.dst == ${dst}`,
          true,
        );
      const seen = await until(
        async () => [await notif(AUX.rsMismatch), await notif(AUX.rsMissing)],
        ([a, b]) => a!.length > 0 && b!.length > 0,
        15_000,
        250,
      );
      await cap.stop();
      for (const [i, who] of [
        [0, 'rs-mismatch (BIRD: local role peer, gredged: customer)'],
        [1, 'rs-missing (no BGP Role capability)'],
      ] as const) {
        const row = seen.value[i]![0];
        t.same(
          row && [row['bgp.notify.major_error'], row['bgp.notify.minor_error_open']],
          [['2'], ['11']],
          `on the wire: gredged → ${who}: NOTIFICATION 2/11`,
        );
      }
      // BIRD's view (it has read the NOTIFICATION the capture saw a moment ago, or is about to).
      const birdErr = (b: (typeof nr.bird)['rsMissing']) =>
        until(
          () => b.lastError(),
          (e) => /Role mismatch/.test(e),
          5_000,
          100,
        );
      t.match(
        (await birdErr(nr.bird.rsMissing)).value,
        /^Received: Role mismatch/,
        'BIRD rs-missing: Received: Role mismatch',
      );
      // BIRD with a role checks too: its own error or gredged's, whichever it read first.
      t.match((await birdErr(nr.bird.rsMismatch)).value, /Role mismatch/, 'BIRD rs-mismatch: Role mismatch');
      for (const n of ['rs-mismatch', 'rs-missing']) {
        t.ok(
          nr.edge.find((l) => l.neighbor === n && l.code === 2 && l.subcode === 11).length > 0,
          `gredged logs the 2/11 it sent to ${n}`,
        );
        t.equal(
          nr.edge.find((l) => l.neighbor === n && l.to === 'Established').length,
          0,
          `${n} never Established`,
        );
      }
      t.ok(nr.edge.established('rs-good'), 'the control, the right role under role-strict, is Established');
      t.ok((await holding('int', [RS_GOOD_ROUTE])).ok, 'and its route is accepted (int holds it)');
    });

    await t.test('5. the FIB after a load, a withdrawal storm, SIGTERM and kill -9', async (t) => {
      const rulesWant = expectedRules(allowedSources(CUST_N));
      /** Waits until the kernel holds exactly the model (and the rules); asserts it. */
      const fibIsModel = async (what: string, timeoutMs = 30_000) => {
        const want = m.expectedTables();
        const r = await until(
          async () => ({ tables: await fibTables(nr.lab), rules: await fibRules(nr.lab) }),
          (v) =>
            [FULL, RESALE].every((tb) => v.tables[tb]!.join('\n') === want[tb]!.join('\n')) &&
            v.rules.join('\n') === rulesWant.join('\n'),
          timeoutMs,
          500,
        );
        for (const tb of [FULL, RESALE]) {
          const got = r.value.tables[tb]!;
          t.equal(
            showDiff(listDiff(got, want[tb]!)),
            'none',
            `${what}: table ${tb} is the model (${got.length} routes of ${want[tb]!.length}, ${r.ms} ms)`,
          );
          t.same(duplicates(got), [], `${what}: no prefix twice in table ${tb}`);
        }
        t.equal(
          showDiff(listDiff(r.value.rules, rulesWant)),
          'none',
          `${what}: rules of protocol 250 exactly once`,
        );
        return r.ok;
      };
      /** After the traffic checks: the tables have not moved away from the model since. */
      const stillModel = async (what: string) => {
        const want = m.expectedTables();
        const got = await fibTables(nr.lab);
        for (const tb of [FULL, RESALE])
          t.equal(showDiff(listDiff(got[tb]!, want[tb]!)), 'none', `${what}: table ${tb} still the model`);
        t.equal(showDiff(listDiff(await fibRules(nr.lab), rulesWant)), 'none', `${what}: rules unchanged`);
      };
      /** The tunnel LPMs: traffic into each customer, from the provider and from the other customer. */
      const customersReachable = async (what: string) => {
        for (const c of CUSTOMERS) {
          for (const dst of [c.host4, c.host6]) {
            const src = dst.includes(':') ? INTERNAL.host6 : INTERNAL.host4;
            t.ok(await nr.waitPing('int', src, dst, 15_000), `${what}: int reaches ${c.name} at ${dst}`);
          }
        }
        t.ok(
          await nr.waitPing('cpe-r', CUST_R.host4, CUST_N.host4, 15_000),
          `${what}: cust-r reaches cust-n (resale table, into cust-n's tunnel)`,
        );
      };

      const feeder = (idx: number[]) => {
        for (const p of m.prefixesOf('feeder')) m.withdraw(p, 'feeder');
        const v4 = idx.map(load4);
        const v6 = idx.map(load6);
        for (const p of v4) m.announce(p, { from: 'feeder', len: 2, via: AUX.feeder, noResale: false });
        for (const p of v6)
          m.announce(p, { from: 'feeder', len: 2, via: auxV6(AUX.feeder), noResale: false });
        return nr.feeder!.set(v4, v6);
      };
      const all = Array.from({ length: LOAD }, (_, i) => i);
      // The peer announces the first IPv6 ones too, with a shorter path: best in the full table,
      // left out of the resale one. (BIRD ignores static routes in 127/8: no IPv4 slice.)
      const slice: BirdRoute[] = [];
      for (let i = 0; i < PEER_SLICE; i++) {
        slice.push({ prefix: load6(i) });
        m.announce(load6(i), { from: 'peer', len: 1, via: PEER.addr6, noResale: true });
      }
      let t1 = Date.now();
      await nr.bird.peer.setRoutes('edge', [...peerRoutes(), ...slice]);
      await feeder(all);
      await fibIsModel(`load (${2 * LOAD} prefixes from the feeder, ${PEER_SLICE} from the peer)`);
      t.comment(`load programmed in ${Date.now() - t1} ms`);
      await customersReachable('after the load');
      await stillModel('after the load');

      t1 = Date.now();
      await feeder(all.filter((i) => i % 2 === 0));
      await fibIsModel(`half of the feeder's prefixes withdrawn`);
      t.comment(`withdrawal storm programmed in ${Date.now() - t1} ms`);

      // SIGTERM: gredged removes what it owns.
      t.equal(await nr.edge.stop(), 0, 'gredged exits 0 on SIGTERM');
      const left = await fibTables(nr.lab);
      t.same([left[FULL], left[RESALE]], [[], []], 'no route of protocol 250 left after SIGTERM');
      t.same(await fibRules(nr.lab), [], 'no rule of protocol 250 left after SIGTERM');
      t1 = Date.now();
      await nr.edge.start();
      await nr.waitUp(['cust-r', 'cust-n', 'peer', 'transit', 'int', 'feeder'], 30_000);
      await fibIsModel('restarted after SIGTERM');
      t.comment(`restart after SIGTERM: FIB complete in ${Date.now() - t1} ms`);
      await customersReachable('restarted after SIGTERM');
      await stillModel('restarted after SIGTERM');

      // kill -9: what it left behind must be reconciled, never doubled. While it is down the
      // feeder withdraws more, so some of what is left is stale.
      await nr.edge.kill9();
      const stale = await fibTables(nr.lab);
      const staleRules = await fibRules(nr.lab);
      t.ok(
        stale[FULL]!.length > 0,
        `kill -9 leaves routes behind (${stale[FULL]!.length} in ${FULL}: the test is real)`,
      );
      t.same(staleRules, rulesWant, 'and its rules');
      await feeder(all.filter((i) => i % 4 === 0));
      t1 = Date.now();
      await nr.edge.start();
      await nr.waitUp(['cust-r', 'cust-n', 'peer', 'transit', 'int', 'feeder'], 30_000);
      await fibIsModel('restarted after kill -9');
      t.comment(`restart after kill -9: FIB complete in ${Date.now() - t1} ms`);
      await customersReachable('restarted after kill -9');
      await stillModel('restarted after kill -9');
    });
  });
}

/** Test 3's max-prefix half: 3 prefixes against a limit of 2, observed from both sides. */
async function maxPrefixFlow(nr: NoResaleLab) {
  const since = nr.edge.logs.length;
  await nr.bird.mp.setRoutes(
    'edge',
    MP_ROUTES.map((prefix) => ({ prefix })),
  );
  const cease = await until(
    async () => nr.edge.logs.slice(since).find((l) => l.neighbor === 'mp' && l.code === 6 && l.subcode === 1),
    Boolean,
    10_000,
    50,
  );
  const tCease = cease.value ? Date.parse(String(cease.value.time)) : Number.NaN;
  const info = await until(
    () => nr.bird.mp.info(),
    (s) => /Last error:\s+Received: Maximum number of prefixes reached/.test(s),
    5_000,
    100,
  );
  // Back to 2 prefixes, so that the session stays up after the hold-down.
  await nr.bird.mp.setRoutes(
    'edge',
    MP_ROUTES.slice(0, 2).map((prefix) => ({ prefix })),
  );
  const polls: { at: number; state: string }[] = [];
  const up = await until(
    async () => {
      const state = await nr.bird.mp.state();
      polls.push({ at: Date.now(), state });
      return state;
    },
    (s) => s === 'Established',
    25_000,
    250,
  );
  // BIRD may report Established a moment before gredged's own log line of it reaches us.
  const logged = await until(
    async () =>
      nr.edge.logs
        .slice(since)
        .find((l) => l.neighbor === 'mp' && l.to === 'Established' && Date.parse(String(l.time)) > tCease),
    Boolean,
    5_000,
    50,
  );
  const est = logged.value;
  return {
    cease: cease.ok,
    tCease,
    birdInfo: info.value,
    polls,
    upOk: up.ok,
    lastState: up.value,
    tUp: est ? Date.parse(String(est.time)) : Number.NaN,
  };
}
