/**
 * Issue 10, hot reload in the lab (done-means 1 and 2): a real gredged at the edge, customers
 * whose BGP sessions (BIRD 2) run inside GRE tunnels with gredge's own data plane on the CPE
 * side (this kernel has no GRE), and a no-resale peer on BIRD 2. Topology: reload/lab/plan.ts.
 *
 *  1. Refusals: a broken file of each kind (YAML syntax, wrong type, out of range, unknown key
 *     with its "did you mean", a neighbor naming a missing tunnel) is refused with its message
 *     and file:line:column, counted each time; the old config keeps running (same sessions,
 *     tunnels forwarding). `reload --confirm-within 3` that removes cust-d's tunnel and neighbor
 *     takes effect (its session goes, its pings fail), then, unconfirmed, rolls back: the tunnel
 *     forwards and the session is back.
 *  2. One reload adds cust-e (tunnel and neighbor), makes cust-c `resale: false`, removes cust-d,
 *     during a ping flood from cust-a's CPE over its untouched tunnel to the peer and with the
 *     untouched session to the peer's BIRD: zero pings lost, no state change on the untouched
 *     sessions as BIRD sees them, cust-c receives the peer's routes (and reaches the peer), cust-e
 *     comes up, cust-d's CPE loses its session and nothing of cust-d stays (kernel routes of
 *     protocol 250 in tables 201/202 and main, TUN addresses, `show tunnels`, the LPM).
 */
import { writeFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import { fibRules, tableRoutes } from '../lab/no-resale/kernel.js';
import { has, until } from '../lab/no-resale/topo.js';
import { labMissing } from '../lab/topology.js';
import { cannotRun } from '../must-run.js';
import { breakLine, edgeYaml } from './lab/configs.js';
import { CUST_A, CUST_C, CUST_D, CUST_E, type Cust, PEER } from './lab/plan.js';
import { initialShape, pingSummary, ReloadLab } from './lab/topo.js';

const missing = labMissing('network namespaces, TUN devices and BIRD 2', {
  bird: 'bird2',
  birdc: 'bird2',
  ping: 'iputils-ping',
});

/** The flood: this many echo requests, one every 10 ms (about 8 s, far longer than a reload). */
const FLOOD = Number(process.env.GREDGE_RELOAD_FLOOD ?? 800);
/** Echo requests of the LPM probe. */
const PROBES = 3;

/**
 * BIRD's session to the edge is up since the same moment: up both times, and "since" unchanged
 * but for the few ms BIRD's monotonic-to-wall-time conversion adds (a new session would be
 * since the reload, seconds later than the baseline).
 */
function sameSince(
  t: Test,
  before: { line: string; state: string; sinceMs: number },
  after: { line: string; state: string; sinceMs: number },
  who: string,
): void {
  t.equal(after.state, 'up', `${who}: ${after.line}`);
  const since = (x: { line: string }) => x.line.split(/\s+/)[4];
  t.ok(
    Math.abs(after.sinceMs - before.sinceMs) < 500,
    `${who}: up since the same time (${since(before)} then, ${since(after)} now)`,
  );
}

/** Everything of `c` gredged could leave in the kernel: its prefixes and inner subnets. */
const traces = (c: Cust) => [c.prefix4, c.prefix6, c.inner.net4, c.inner.net6];

if (missing) {
  cannotRun(t, missing);
} else {
  t.test('reload lab', async (t) => {
    const t0 = Date.now();
    const r = await ReloadLab.create();
    t.teardown(() => r.destroy());
    t.comment(`lab up in ${Date.now() - t0} ms: ${JSON.stringify(r.timing)}`);
    t.teardown(() => {
      if (t.passing()) return;
      const tail = r.edge.logs
        .slice(-80)
        .map((l) => JSON.stringify(l))
        .join('\n');
      t.comment(
        `--- edge gredged log (tail) ---\n${tail}\n--- stderr ---\n${r.edge.proc?.stderr.slice(-2000)}`,
      );
    });
    const file = r.edge.config;
    const initial = edgeYaml(initialShape(r.socket));

    /** Routes 201 and 202 hold of gredged's (protocol 250), both families. */
    const fib = async () => {
      const out: string[] = [];
      for (const table of [201, 202])
        for (const fam of ['-4', '-6'] as const)
          for (const x of await tableRoutes(r.lab, 'edge', fam, table)) out.push(`${table} ${x}`);
      return out;
    };
    /** Which of `c`'s prefixes and subnets are in the tables (table and route). */
    const fibOf = async (c: Cust) => {
      const mine = new Set(traces(c));
      return (await fib()).filter((x) => mine.has(x.split(' ')[1]!));
    };
    const neighbors = async () =>
      Object.fromEntries(
        ((await r.query('show neighbors')).neighbors as { name: string; state: string }[]).map((n) => [
          n.name,
          n.state,
        ]),
      );
    const sessions = async (name: string) =>
      (await r.query('show neighbor', { neighbor: name })).establishedCount as number;
    const tunnels = async () =>
      ((await r.query('show tunnels')).tunnels as { name: string }[]).map((x) => x.name);
    const custRoutes = (c: Cust | 'peer') => r.bird[c === 'peer' ? 'peer' : c.name].routes('edge');
    const birdState = (c: Cust) => r.bird[c.name].state('edge');
    /** What cust-d's CPE received through its tunnel (its own gredged's counter). */
    const dRx = async () =>
      (await r.query('show tunnel', { tunnel: 'to-edge' }, r.cpeSocket[CUST_D.name])).rxPackets as number;
    /** PROBES pings from the edge to cust-d's host through a route of its own into the TUN:
     * whatever happens to them is the data plane's LPM's doing (no kernel table is involved). */
    const probeD = async () => {
      await r.lab.ip('edge', 'route', 'add', `${CUST_D.host4}/32`, 'dev', 'gredge0');
      try {
        return await r.ping('edge', PEER.edge, CUST_D.host4, PROBES);
      } finally {
        await r.lab.ip('edge', 'route', 'del', `${CUST_D.host4}/32`, 'dev', 'gredge0');
      }
    };

    // Baseline: every customer holds every other's routes and the untouched ones the peer's.
    const ready = await until(
      async () => [await custRoutes(CUST_A), await custRoutes(CUST_C), await custRoutes(CUST_D)] as const,
      ([a, c, d]) =>
        has(a, PEER.prefix4) &&
        has(a, CUST_D.prefix4) &&
        has(c, CUST_A.prefix4) &&
        has(c, CUST_D.prefix6) &&
        has(d, CUST_C.prefix4),
      20_000,
    );
    t.ok(ready.ok, 'routes exchanged between the customers and from the peer');
    t.ok(
      await r.waitPing(CUST_A.role, CUST_A.host4, PEER.host4),
      'cust-a reaches the peer through its tunnel',
    );
    t.ok(await r.waitPing(CUST_D.role, CUST_D.host4, CUST_A.host4), "cust-d reaches cust-a's host");

    await t.test('1. broken files are refused; --confirm-within rolls back', async (t) => {
      const peerSessions = await sessions('peer');
      const aSessions = await sessions(CUST_A.name);
      const dSessions = await sessions(CUST_D.name);
      const birdBefore = {
        peer: r.birdStateChanges('peer').length,
        a: r.birdStateChanges(CUST_A.name).length,
      };
      const peerLine = await r.birdProtocol('peer');

      /** The initial file with one line edited, and the position the refusal must name. */
      const pos = (find: string, col: number, edit: (l: string) => string, lineOffset = 0) => {
        const b = breakLine(initial, find, edit);
        return { text: b.text, at: `${file}:${b.line + lineOffset}:${col}` };
      };
      const broken = [
        {
          kind: 'YAML syntax',
          // An unclosed flow mapping: the parser notices at the start of the next line.
          ...pos('log: { level: info }', 1, (l) => l.replace(' }', ''), 1),
          want: /YAML syntax: Flow map in block collection must be sufficiently indented and end with a \}/,
        },
        {
          kind: 'wrong type',
          ...pos('remote-as: 64496', 16, (l) => l.replace('64496', 'many')),
          want: /neighbors\[3\]\.remote-as: must be an integer between 1 and 4294967295, got 'many'/,
        },
        {
          kind: 'out of range',
          ...pos('hold-time: 9', 16, (l) => l.replace('9', '2')),
          want: /neighbors\[0\]\.hold-time: must be 0 or at least 3/,
        },
        {
          kind: 'unknown key',
          ...pos('resale: true', 5, (l) => l.replace('resale', 'resal')),
          want: /neighbors\[1\]\.resal: unknown key 'resal' \(did you mean 'resale'\?\)/,
        },
        {
          kind: 'cross-check',
          ...pos('tunnel: cust-d', 13, (l) => l.replace('cust-d', 'cust-x')),
          want: /neighbors\[2\]\.tunnel: no tunnel named 'cust-x' in tunnels/,
        },
      ];
      let failed = (await r.query('status')).reload.failed as number;
      t.equal(failed, 0, 'no failed reload yet');
      for (const b of broken) {
        writeFileSync(file, b.text);
        const res = await r.ctl(['reload']);
        t.equal(res.code, 1, `${b.kind}: gredgectl exits 1`);
        const line = res.stderr.split('\n').find((l) => l.startsWith(`${b.at}: `));
        t.ok(line, `${b.kind}: refused at ${b.at}: ${res.stderr.trim().split('\n').slice(-1)[0]}`);
        t.match(line ?? res.stderr, b.want, `${b.kind}: its message`);
        const s = (await r.query('status')).reload;
        t.equal(s.failed, ++failed, `${b.kind}: counted (failed ${s.failed})`);
        t.match(s.lastError, b.want, `${b.kind}: status keeps the last error`);
        // The old config keeps running: sessions up, tunnels there and forwarding.
        const ns = await neighbors();
        t.same(
          ns,
          { 'cust-a': 'Established', 'cust-c': 'Established', 'cust-d': 'Established', peer: 'Established' },
          `${b.kind}: every session still Established`,
        );
        t.same(await tunnels(), ['cust-a', 'cust-c', 'cust-d'], `${b.kind}: the tunnels stay`);
        // In on the TUN, out on the TUN (the edge sends no ICMP redirects: topo.ts).
        const p = await r.ping(CUST_D.role, CUST_D.host4, CUST_A.host4, 2);
        t.equal(p.rx, 2, `${b.kind}: cust-d → cust-a through both tunnels: ${p.rx}/${p.tx}`, { out: p.out });
      }
      t.equal(await sessions('peer'), peerSessions, 'peer: the same session throughout');
      t.equal(await sessions(CUST_A.name), aSessions, 'cust-a: the same session throughout');
      t.equal(await sessions(CUST_D.name), dSessions, 'cust-d: the same session throughout');
      t.equal(r.birdStateChanges('peer').length, birdBefore.peer, "no state change in the peer's BIRD");
      t.equal(r.birdStateChanges(CUST_A.name).length, birdBefore.a, "no state change in cust-a's BIRD");
      sameSince(t, peerLine, await r.birdProtocol('peer'), "the peer's BIRD");

      // --confirm-within 3 without cust-d: applied, seen, then rolled back.
      writeFileSync(file, edgeYaml({ ...initialShape(r.socket), customers: [CUST_A, CUST_C] }));
      const res = await r.ctl(['reload', '--confirm-within', '3']);
      const applied = Date.now();
      t.equal(res.code, 0, `reload --confirm-within 3: ${res.stderr}`);
      t.match(res.stdout, /- tunnel cust-d/, 'the diff removes the tunnel');
      t.match(res.stdout, /- neighbor cust-d/, 'and the neighbor');
      t.match(res.stdout, /rollback at/);
      // Seen at once and side by side: the window is 3 s from the moment gredged applied it.
      const stamp = async <T>(p: Promise<T>) => ({ value: await p, at: Date.now() });
      const [during, tunnelsDuring, down, lost] = await Promise.all([
        stamp(r.query('status')),
        stamp(tunnels()),
        stamp(
          until(
            () => birdState(CUST_D),
            (s) => s !== 'Established',
            2000,
            50,
          ),
        ),
        stamp(r.ping(CUST_D.role, CUST_D.host4, CUST_A.host4, 1)),
      ]);
      t.ok(
        during.value.reload.rollbackPendingUntil,
        `status: rollback pending until ${during.value.reload.rollbackPendingUntil}`,
      );
      t.same(tunnelsDuring.value, ['cust-a', 'cust-c'], 'cust-d is gone from show tunnels');
      t.ok(
        down.value.ok,
        `cust-d's BIRD loses its session (${down.value.value}) ${down.value.ms} ms after the reload`,
      );
      t.equal(lost.value.rx, 0, "cust-d's ping to cust-a gets no answer: the tunnel is gone");

      const rolled = await until(
        async () => (await r.query('status')).reload,
        (s) => s.rollbacks === 1,
        10_000,
      );
      t.ok(rolled.ok, `rolled back after ${Date.now() - applied} ms`);
      t.equal(rolled.value.rollbackPendingUntil, null, 'nothing pending any more');
      t.equal(r.edge.find((l) => l.msg === 'reload: rolled back').length, 1, 'the log says it rolled back');
      // Each observation above was complete before gredged began to roll back.
      const rolling = r.edge.find((l) => /^reload: not confirmed in time/.test(l.msg ?? ''))[0];
      const rollingAt = Date.parse(String(rolling?.time));
      const last = Math.max(during.at, tunnelsDuring.at, down.at, lost.at);
      t.ok(last < rollingAt, `all seen ${rollingAt - last} ms before the rollback began`);
      t.same(await tunnels(), ['cust-a', 'cust-c', 'cust-d'], 'cust-d is back in show tunnels');
      const back = await until(
        () => birdState(CUST_D),
        (s) => s === 'Established',
        20_000,
      );
      t.ok(back.ok, `cust-d's session is back (${back.ms} ms after the rollback)`);
      t.ok(await r.waitPing(CUST_D.role, CUST_D.host4, CUST_A.host4), "cust-d reaches cust-a's host again");
      const aHas = await until(
        () => custRoutes(CUST_A),
        (rs) => has(rs, CUST_D.prefix4) && has(rs, CUST_D.prefix6),
        10_000,
      );
      t.ok(aHas.ok, "cust-a holds cust-d's routes again");
      const k = await until(
        () => fibOf(CUST_D),
        (x) => x.length === 8,
        10_000,
      );
      t.equal(k.value.length, 8, `cust-d's routes are in 201 and 202 again: ${k.value.join(', ')}`);
      t.equal(await sessions('peer'), peerSessions, 'peer: the same session throughout');
      t.equal(await sessions(CUST_A.name), aSessions, 'cust-a: the same session throughout');
      t.equal(r.birdStateChanges('peer').length, birdBefore.peer, "no state change in the peer's BIRD");
      t.equal(r.birdStateChanges(CUST_A.name).length, birdBefore.a, "no state change in cust-a's BIRD");
      writeFileSync(file, initial);
      const same = await r.ctl(['reload']);
      t.match(same.stdout, /no change/, 'the running config is the initial one again');
    });

    await t.test('2. add, change, remove during a ping flood', async (t) => {
      // Before: cust-c resells, so it has no route to the peer and no way there.
      const cBefore = await custRoutes(CUST_C);
      t.notOk(has(cBefore, PEER.prefix4) || has(cBefore, PEER.prefix6), 'cust-c has none of the peer routes');
      const cPing = await r.ping(CUST_C.role, CUST_C.host4, PEER.host4, 1);
      t.equal(cPing.rx, 0, 'cust-c cannot reach the peer');
      t.equal((await fibOf(CUST_D)).length, 8, "cust-d's routes are in 201 and 202");
      t.not(await birdState(CUST_E), 'Established', "cust-e's BIRD waits: the edge knows no cust-e");
      const peerSessions = await sessions('peer');
      const aSessions = await sessions(CUST_A.name);
      const birdBefore = { peer: r.birdStateChanges('peer'), a: r.birdStateChanges(CUST_A.name) };
      const lines = { peer: await r.birdProtocol('peer'), a: await r.birdProtocol(CUST_A.name) };
      // The probe of the LPM below, first where cust-d is: its CPE receives what the edge sends.
      const rx0 = await dRx();
      await probeD();
      const moved = await until(dRx, (n) => n >= rx0 + PROBES, 5000);
      const probeBefore = moved.value - rx0;
      t.ok(moved.ok, `the probe reaches cust-d's CPE while cust-d is configured (+${probeBefore})`);

      writeFileSync(
        file,
        edgeYaml({
          customers: [CUST_A, CUST_C, CUST_E],
          noResale: [CUST_A.name, CUST_C.name],
          socket: r.socket,
        }),
      );
      const flood = r.lab.spawn(CUST_A.role, 'ping-flood', [
        'ping',
        '-n',
        '-i',
        '0.01',
        '-c',
        String(FLOOD),
        '-W',
        '2',
        '-I',
        CUST_A.host4,
        PEER.host4,
      ]);
      const replies = () => (flood.stdout.match(/bytes from/g) ?? []).length;
      const flowing = await until(
        async () => replies(),
        (n) => n >= 50 || !flood.running,
        10_000,
        20,
      );
      t.ok(flowing.ok && flood.running, `the flood flows (${flowing.value} replies) before the reload`);
      const t1 = Date.now();
      const res = await r.ctl(['reload']);
      const reloadMs = Date.now() - t1;
      t.equal(res.code, 0, `gredgectl reload: ${res.stderr}`);
      for (const want of [/\+ tunnel cust-e/, /\+ neighbor cust-e/, /- tunnel cust-d/, /- neighbor cust-d/])
        t.match(res.stdout, want, `the diff: ${want.source}`);
      t.match(res.stdout, /~ neighbor cust-c: resale \(in place\)/, 'cust-c changes in place');
      t.ok(
        r.edge.find((l) => l.msg === 'reload: applied').length >= 1,
        'the edge logged the reload as applied',
      );
      const applying = r.edge.logs.findLastIndex((l) => l.msg === 'reload: applying');
      const t00 = Date.parse(String(r.edge.logs[applying]?.time));
      t.comment(
        `the reload, as the edge logged it:\n${r.edge.logs
          .slice(applying)
          .map((l) => `+${Date.parse(String(l.time)) - t00} ms ${l.neighbor ?? l.module ?? ''} ${l.msg}`)
          .join('\n')}`,
      );
      const during = replies();
      t.ok(
        flood.running && during > flowing.value,
        `the flood overlaps the reload: running after it, ${during - flowing.value} more replies during its ${reloadMs} ms`,
      );
      await flood.exited;
      const sum = pingSummary(flood.stdout);
      t.equal(sum.tx, FLOOD, `ping sent ${sum.tx}`);
      t.equal(
        sum.rx,
        sum.tx,
        `zero lost: ${sum.rx}/${sum.tx} (${flood.stdout.trim().split('\n').slice(-2).join(' | ')})`,
      );

      // The untouched sessions, as BIRD sees them.
      t.same(r.birdStateChanges('peer'), birdBefore.peer, "no state change in the peer's BIRD log");
      t.same(r.birdStateChanges(CUST_A.name), birdBefore.a, "no state change in cust-a's BIRD log");
      sameSince(t, lines.peer, await r.birdProtocol('peer'), "the peer's BIRD");
      sameSince(t, lines.a, await r.birdProtocol(CUST_A.name), "cust-a's BIRD");
      t.equal(await sessions('peer'), peerSessions, 'gredged: the same peer session');
      t.equal(await sessions(CUST_A.name), aSessions, 'gredged: the same cust-a session');

      // The changed customer gets what it now may have, and can go there.
      const cAfter = await until(
        () => custRoutes(CUST_C),
        (rs) => has(rs, PEER.prefix4) && has(rs, PEER.prefix6),
        10_000,
      );
      t.ok(cAfter.ok, `cust-c receives the peer's routes (${cAfter.ms} ms)`);
      t.ok(
        (await fibRules(r.lab)).includes(`-4 1000 iif gredge0 from ${CUST_C.prefix4} lookup 201`),
        "cust-c's sources look up the full table",
      );
      t.ok(await r.waitPing(CUST_C.role, CUST_C.host4, PEER.host4), 'cust-c reaches the peer');

      // The added tunnel's session comes up; its routes go round.
      const eUp = await until(
        () => birdState(CUST_E),
        (s) => s === 'Established',
        15_000,
      );
      t.ok(eUp.ok, `cust-e's BIRD is Established (${eUp.ms} ms)`);
      t.ok(r.edge.established(CUST_E.name), 'the edge says so too');
      const aE = await until(
        () => custRoutes(CUST_A),
        (rs) => has(rs, CUST_E.prefix4) && has(rs, CUST_E.prefix6),
        10_000,
      );
      t.ok(aE.ok, "cust-a receives cust-e's routes");
      t.ok(await r.waitPing(CUST_E.role, CUST_E.host4, CUST_A.host4), "cust-e reaches cust-a's host");

      // The removed one: its CPE lost its session, and nothing of it stays.
      const dState = await birdState(CUST_D);
      t.not(dState, 'Established', `cust-d's BIRD: ${dState}`);
      t.match(
        await r.bird[CUST_D.name].lastError('edge'),
        /de-configured/i,
        "cust-d's BIRD was told: peer de-configured",
      );
      const gone = await until(
        () => fibOf(CUST_D),
        (x) => x.length === 0,
        10_000,
      );
      t.same(gone.value, [], 'no route of cust-d in 201 or 202');
      for (const fam of ['-4', '-6'] as const) {
        const main = await r.lab.ip('edge', fam, 'route', 'show', 'table', 'main');
        for (const p of traces(CUST_D))
          if (p.includes(':') === (fam === '-6'))
            t.notMatch(main, p.split('/')[0]!, `main has no route to ${p}`);
      }
      const addrs = await r.lab.ip('edge', 'addr', 'show', 'dev', 'gredge0');
      t.notMatch(addrs, `${CUST_D.inner.edge}/`, 'the TUN has no cust-d inner address');
      t.notMatch(addrs, CUST_D.inner.edge6, 'the TUN has no cust-d inner IPv6 address');
      t.same(await tunnels(), ['cust-a', 'cust-c', 'cust-e'], 'show tunnels: cust-d is gone');
      t.notOk('cust-d' in (await neighbors()), 'show neighbors: cust-d is gone');
      const lpm = (await r.query('status')).fib.tunnelRoutes;
      t.equal(lpm, 6, 'the FIB holds 6 tunnel routes: the prefixes of cust-a, cust-c and cust-e');
      // The LPM, from outside: a packet for cust-d's host pushed into the edge's TUN goes nowhere.
      const dRx1 = await dRx();
      const after = await probeD();
      t.equal(after.rx, 0, "the edge's pings to cust-d's host get no answer");
      // ping waited a second past its last request: anything encapsulated would have arrived.
      t.equal(
        await dRx(),
        dRx1,
        `nothing reaches cust-d's CPE any more (the same probe before: +${probeBefore})`,
      );
      const aGone = await until(
        () => custRoutes(CUST_A),
        (rs) => !has(rs, CUST_D.prefix4) && !has(rs, CUST_D.prefix6),
        10_000,
      );
      t.ok(aGone.ok, "cust-d's routes are withdrawn from cust-a");
    });
  });
}
