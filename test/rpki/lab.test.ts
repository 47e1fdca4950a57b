/**
 * RPKI origin validation end to end (issue 12, done-means 1–3), on loopback with real daemons:
 * a real gredged (`node dist/src/main.js`) reading two Debian `stayrtr` caches, BIRD 2 reading
 * the first of them, and scripted BGP speakers (test/fakes/fake-peer.ts) sending the same
 * customer routes to both.
 *  1. Interop: gredged syncs, then picks up an added and a removed VRP (stayrtr's refresh is an
 *     hour: only Serial Notify + Serial Query explain it); before and after, BIRD's roa_check()
 *     on the same routes gives the same Valid / Invalid / NotFound verdicts as gredged.
 *  2. A customer route that turns Invalid is withdrawn from the transit and the internal
 *     neighbor with no session reset, and comes back when the VRP goes; internal neighbors get
 *     the state as LOCAL-AS:2:STATE.
 *  3. The preferred cache dies: the second takes over with the same data; when every cache is
 *     gone the data expires and the verdicts are NotFound (the refused route comes back).
 * Every wait polls against a deadline; processes are ended by PID in teardown.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { decodeUpdate, formatPrefix4, MessageType, type UpdateMessage } from '../../src/bgp/wire/index.js';
import { FakePeer } from '../fakes/fake-peer.js';
import { birdUp } from '../../bench/bgp-propagation/daemons.js';
import { Daemon, haveCommand } from '../interop/harness/proc.js';
import { cannotRun } from '../must-run.js';
import { freePort } from '../ports.js';

const root = join(import.meta.dirname, '../../..');
const MAIN = join(root, 'dist/src/main.js');
const CTL = join(root, 'dist/src/control/cli/gredgectl.js');

const DAEMON = '127.0.75.1';
const CUST = '127.0.75.2';
const UP = '127.0.75.3';
const IBGP = '127.0.75.4';
const BIRD = '127.0.75.5';
const BFEED = '127.0.75.6';
const RTR = '127.0.75.9';
const LOCAL_AS = 65000;

type Verdict = 'valid' | 'invalid' | 'not-found';
interface RouteSpec {
  prefix: string;
  /** AS_SEQUENCE, then an optional AS_SET at the end. */
  path: number[];
  set?: number[];
}

/** What the customer (AS 65002) announces to both gredged and BIRD. */
const ROUTES: RouteSpec[] = [
  { prefix: '203.0.113.0/24', path: [65002, 64500] },
  { prefix: '203.0.113.0/25', path: [65002, 64500] }, // past maxLength
  { prefix: '203.0.113.128/25', path: [65002], set: [64500, 64501] }, // covered, AS_SET: NONE
  { prefix: '198.51.100.0/24', path: [65002] }, // another AS's space
  { prefix: '198.51.101.0/24', path: [65002, 64501] },
  { prefix: '192.0.2.0/24', path: [65002] }, // no VRP
  { prefix: '192.0.2.0/25', path: [65002], set: [64500, 64501] },
];
const V_A = { prefix: '203.0.113.0/24', maxLength: 24, asn: 'AS64500' };
const V_B = { prefix: '198.51.100.0/22', maxLength: 24, asn: 'AS64501' };
const V_C = { prefix: '192.0.2.0/24', maxLength: 24, asn: 'AS64999' };

function writeVrps(file: string, roas: (typeof V_A)[]): void {
  writeFileSync(
    `${file}.tmp`,
    JSON.stringify({ metadata: {}, roas: roas.map((r) => ({ ...r, ta: 'lab' })) }),
  );
  renameSync(`${file}.tmp`, file); // stayrtr never reads a half-written file
}

/** A raw UPDATE (header included): ORIGIN IGP, 4-octet AS_PATH, NEXT_HOP, one IPv4 prefix. */
function update(r: RouteSpec, nextHop: string): Uint8Array {
  const seg = (type: number, asns: number[]) => [
    type,
    asns.length,
    ...asns.flatMap((a) => [(a >>> 24) & 255, (a >>> 16) & 255, (a >>> 8) & 255, a & 255]),
  ];
  const path = [...seg(2, r.path), ...(r.set ? seg(1, r.set) : [])];
  const attrs = [0x40, 1, 1, 0, 0x40, 2, path.length, ...path, 0x40, 3, 4, ...nextHop.split('.').map(Number)];
  const [addr, len] = r.prefix.split('/') as [string, string];
  const bytes = addr
    .split('.')
    .map(Number)
    .slice(0, Math.ceil(Number(len) / 8));
  const body = [0, 0, attrs.length >> 8, attrs.length & 255, ...attrs, Number(len), ...bytes];
  const total = 19 + body.length;
  return Uint8Array.from([...new Array(16).fill(255), total >> 8, total & 255, 2, ...body]);
}

const why = ['stayrtr', 'bird', 'birdc'].find((c) => !haveCommand(c));
if (why) {
  cannotRun(t, `missing ${why} (apt-get install stayrtr bird2)`);
} else {
  const dir = mkdtempSync(join(tmpdir(), 'gredge-rpki-lab-'));
  const sock = join(dir, 'ctl.sock');
  const vrpFile = join(dir, 'vrps.json');
  const children = new Set<ChildProcess>();
  const daemons: Daemon[] = [];
  const fakes: FakePeer[] = [];
  const intervals: NodeJS.Timeout[] = [];
  t.teardown(async () => {
    for (const i of intervals) clearInterval(i);
    for (const f of fakes) f.destroy();
    for (const c of children)
      if (c.exitCode === null && c.signalCode === null && c.pid) process.kill(c.pid, 'SIGKILL');
    for (const d of daemons) d.kill();
    await Promise.all(daemons.map((d) => d.exited));
    rmSync(dir, { recursive: true, force: true });
  });

  const stayrtr = (port: number, timers: { refresh: number; expire: number }): Promise<Daemon> => {
    const d = new Daemon(`stayrtr:${port}`, [
      'stayrtr',
      '-bind',
      `${RTR}:${port}`,
      '-cache',
      vrpFile,
      '-checktime=false',
      '-refresh',
      '1',
      '-metrics.addr',
      '',
      '-rtr.refresh',
      String(timers.refresh),
      '-rtr.retry',
      '1',
      '-rtr.expire',
      String(timers.expire),
      '-disable.aspa',
      '-disable.bgpsec',
    ]);
    daemons.push(d);
    return d.waitFor(/StayRTR Server started/, 15_000).then(() => d);
  };

  // biome-ignore lint/suspicious/noExplicitAny: answers are checked field by field
  const json = (args: string[]): Promise<any> =>
    new Promise((resolve, reject) =>
      execFile(
        process.execPath,
        [CTL, '--socket', sock, ...args, '--json'],
        { env: { ...process.env, NODE_OPTIONS: '', GREDGE_SOCKET: '' }, timeout: 30_000 },
        (err, stdout, stderr) =>
          err
            ? reject(new Error(`gredgectl ${args.join(' ')}: ${stderr}`))
            : resolve(JSON.parse(String(stdout))),
      ),
    );
  const birdc = (ctl: string, cmd: string): Promise<string> =>
    new Promise((resolve, reject) =>
      execFile('birdc', ['-s', ctl, cmd], { timeout: 10_000 }, (err, out) =>
        err ? reject(err) : resolve(out),
      ),
    );

  const waitFor = async (cond: () => boolean | Promise<boolean>, ms: number, what: string) => {
    const end = Date.now() + ms;
    while (!(await cond())) {
      if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const speaker = async (to: string, port: number, local: string, asn: number): Promise<FakePeer> => {
    const fp = await FakePeer.connect(to, port, local);
    fakes.push(fp);
    await fp.establish({ asn, bgpId: local, holdTime: 9 }, 15_000);
    intervals.push(setInterval(() => fp.isClosed || fp.sendKeepalive(), 1000));
    return fp;
  };

  /** What a speaker was told, per prefix: its last UPDATE (undefined when withdrawn). */
  const heard = (fp: FakePeer, ebgp: boolean): Map<string, UpdateMessage['attrs'] | undefined> => {
    const out = new Map<string, UpdateMessage['attrs'] | undefined>();
    for (const m of fp.received) {
      if (m.type !== MessageType.UPDATE) continue;
      const r = decodeUpdate(m.body, {
        as4: true,
        extendedMessage: true,
        ebgp,
        localAs: 1,
        peerAs: LOCAL_AS,
      });
      if (!r.ok) continue;
      for (const p of r.value.withdrawn4) out.set(formatPrefix4(p), undefined);
      for (const p of r.value.nlri4) out.set(formatPrefix4(p), r.value.attrs);
    }
    return out;
  };
  const has = (fp: FakePeer, prefix: string, ebgp = true) => heard(fp, ebgp).get(prefix) !== undefined;

  /** gredged's verdict per prefix from the customer: accepted rows carry it, refused ones say why. */
  const gredgeVerdicts = async (): Promise<Record<string, Verdict>> => {
    const out: Record<string, Verdict> = {};
    for (const r of (await json(['show', 'routes', '--neighbor', 'cust'])).routes) out[r.prefix] = r.rpki;
    for (const r of (await json(['show', 'routes', '--refused', '--neighbor', 'cust'])).routes)
      out[r.prefix] = r.refused === 'rpki-invalid' ? 'invalid' : r.refused;
    return out;
  };

  /** BIRD's verdict per prefix: roa_check() on the routes it holds, against its ROA table now. */
  const birdVerdicts = async (ctl: string): Promise<Record<string, Verdict>> => {
    const out: Record<string, Verdict> = {};
    for (const [state, v] of [
      ['ROA_VALID', 'valid'],
      ['ROA_INVALID', 'invalid'],
      ['ROA_UNKNOWN', 'not-found'],
    ] as const) {
      const text = await birdc(ctl, `show route protocol feed where roa_check(r4) = ${state}`);
      for (const m of text.matchAll(/^(\d+\.\d+\.\d+\.\d+\/\d+)\s/gm)) out[m[1]!] = v;
    }
    return out;
  };

  t.test('rpki lab', async (t) => {
    writeVrps(vrpFile, [V_A, V_B]);
    const portA = await freePort(RTR);
    const portB = await freePort(RTR);
    let rtrA = await stayrtr(portA, { refresh: 3600, expire: 7200 });
    const rtrB = await stayrtr(portB, { refresh: 3600, expire: 7200 });

    // BIRD: the same cache (A), the same routes from a speaker of its own.
    const bgpBird = await freePort(BIRD);
    const birdCtl = join(dir, 'bird.ctl');
    writeFileSync(
      join(dir, 'bird.conf'),
      `router id ${BIRD};
roa4 table r4;
roa6 table r6;
ipv4 table nh4;
protocol device {}
protocol static nhs { ipv4 { table nh4; }; route 127.0.0.0/8 via "lo"; }
protocol rpki rtr { roa4 { table r4; }; roa6 { table r6; }; remote ${RTR} port ${portA}; retry keep 1; }
protocol bgp feed {
  local ${BIRD} port ${bgpBird} as 65010; neighbor ${BFEED} as 65002; multihop; strict bind yes; passive yes;
  graceful restart off; ipv4 { import all; export none; igp table nh4; };
}
`,
    );
    const bird = new Daemon('bird', [
      'bird',
      '-f',
      '-c',
      join(dir, 'bird.conf'),
      '-s',
      birdCtl,
      '-P',
      join(dir, 'bird.pid'),
    ]);
    daemons.push(bird);
    await birdUp(birdCtl);

    const port = await freePort(DAEMON);
    writeFileSync(
      join(dir, 'gredge.yaml'),
      [
        `router-id: ${DAEMON}`,
        `local-as: ${LOCAL_AS}`,
        `listen: { address: ${DAEMON}, port: ${port} }`,
        'fib: false',
        'metrics: false',
        `control: { socket: ${JSON.stringify(sock)} }`,
        'bogons: []', // the lab announces documentation prefixes
        'rpki:',
        `  servers: [{ address: ${RTR}, port: ${portA}, preference: 1 }, { address: ${RTR}, port: ${portB}, preference: 2 }]`,
        'neighbors:',
        `  - { name: cust, address: ${CUST}, remote-as: 65002, role: customer, passive: true, hold-time: 9, prefixes: ["203.0.113.0/24 le 25", "198.51.100.0/22 le 24", "192.0.2.0/24 le 25"] }`,
        `  - { name: up, address: ${UP}, remote-as: 65001, role: transit, passive: true, hold-time: 9 }`,
        `  - { name: ibgp, address: ${IBGP}, remote-as: ${LOCAL_AS}, role: internal, passive: true, hold-time: 9 }`,
        '',
      ].join('\n'),
    );
    const child = spawn(process.execPath, [MAIN, '--config', join(dir, 'gredge.yaml')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let log = '';
    child.stdout!.on('data', (d) => {
      log += d;
    });
    child.stderr!.on('data', (d) => {
      log += d;
    });
    child.on('exit', () => children.delete(child));
    await waitFor(() => log.includes('gredged started'), 30_000, 'gredged started').catch((err) => {
      throw new Error(`${(err as Error).message}; gredged said:\n${log.slice(-3000)}`);
    });
    await waitFor(async () => (await json(['status'])).rpki?.vrps === 2, 20_000, 'gredged synced 2 VRPs');
    await waitFor(
      async () => (await birdc(birdCtl, 'show route table r4 count')).includes('2 of 2'),
      20_000,
      'BIRD synced',
    );

    const up = await speaker(DAEMON, port, UP, 65001);
    const ibgp = await speaker(DAEMON, port, IBGP, LOCAL_AS);
    const cust = await speaker(DAEMON, port, CUST, 65002);
    const feed = await speaker(BIRD, bgpBird, BFEED, 65002);
    for (const r of ROUTES) {
      cust.send(update(r, CUST));
      feed.send(update(r, BFEED));
    }
    const all = ROUTES.map((r) => r.prefix).sort();
    const complete = async (v: Record<string, Verdict>) => Object.keys(v).sort().join() === all.join();
    await waitFor(async () => complete(await gredgeVerdicts()), 20_000, 'gredged holds every route');
    await waitFor(async () => complete(await birdVerdicts(birdCtl)), 20_000, 'BIRD holds every route');

    const expected1: Record<string, Verdict> = {
      '203.0.113.0/24': 'valid',
      '203.0.113.0/25': 'invalid',
      '203.0.113.128/25': 'invalid',
      '198.51.100.0/24': 'invalid',
      '198.51.101.0/24': 'valid',
      '192.0.2.0/24': 'not-found',
      '192.0.2.0/25': 'not-found',
    };
    t.same(await gredgeVerdicts(), expected1, 'gredged: verdicts after the first sync');
    t.same(await birdVerdicts(birdCtl), await gredgeVerdicts(), 'BIRD 2 reaches the same verdicts');
    await waitFor(() => has(up, '192.0.2.0/24') && has(up, '203.0.113.0/24'), 10_000, 'exported to up');
    t.notOk(has(up, '198.51.100.0/24'), 'an Invalid route is not exported');
    const refused = await json(['show', 'routes', '--refused', '--neighbor', 'cust']);
    t.same(
      refused.routes.find((r: { prefix: string }) => r.prefix === '198.51.100.0/24')?.vrps,
      ['198.51.100.0/22-24 AS64501'],
      'refused rows name the covering VRPs',
    );
    const ib = heard(ibgp, false);
    const rovTag = (p: string) =>
      (ib.get(p)?.largeCommunities ?? []).filter(
        (_, i, l) => i % 3 === 0 && l[i] === LOCAL_AS && l[i + 1] === 2,
      ).length
        ? ib.get(p)!.largeCommunities![
            ib
              .get(p)!
              .largeCommunities!.findIndex((x, i, l) => i % 3 === 0 && x === LOCAL_AS && l[i + 1] === 2) + 2
          ]
        : undefined;
    await waitFor(() => heard(ibgp, false).has('192.0.2.0/24'), 10_000, 'exported to ibgp');
    t.equal(rovTag('203.0.113.0/24'), 0, 'internal neighbor: LOCAL-AS:2:0 (valid)');
    t.equal(rovTag('192.0.2.0/24'), 1, 'internal neighbor: LOCAL-AS:2:1 (not-found)');
    t.equal(heard(up, true).get('203.0.113.0/24')?.largeCommunities, undefined, 'no state toward eBGP');
    const n1 = await json(['show', 'neighbor', 'cust']);
    t.same(n1.rpki, { valid: 2, invalid: 3, notFound: 2, unverified: 0, refused: 3 }, 'per-neighbor counts');
    const s1 = (await json(['status'])).rpki;
    t.match(s1, { connection: 'established', data: 'current', cache: `${RTR} port ${portA}`, vrps: 2 });
    t.type(s1.sessionId, 'number');
    const serial1 = s1.serial as number;
    const sessions = async () => [
      (await json(['show', 'neighbor', 'cust'])).establishedCount,
      (await json(['show', 'neighbor', 'up'])).establishedCount,
      (await json(['show', 'neighbor', 'ibgp'])).establishedCount,
    ];
    const sessions1 = await sessions();

    await t.test('a VRP added and one removed: Serial Notify, re-validation, BIRD agrees', async (t) => {
      const mark = up.received.length;
      writeVrps(vrpFile, [V_A, V_C]); // 192.0.2.0/24 now AS64999's; 198.51.100.0/22 gone
      await waitFor(async () => (await json(['status'])).rpki.serial > serial1, 20_000, 'a new serial');
      const expected2: Record<string, Verdict> = {
        ...expected1,
        '198.51.100.0/24': 'not-found',
        '198.51.101.0/24': 'not-found',
        '192.0.2.0/24': 'invalid',
        '192.0.2.0/25': 'invalid',
      };
      await waitFor(
        async () => JSON.stringify(await gredgeVerdicts()) !== JSON.stringify(expected1),
        10_000,
        're-validation',
      );
      t.same(await gredgeVerdicts(), expected2, 'gredged: verdicts after the change');
      await waitFor(
        async () =>
          (await birdc(birdCtl, 'show route table r4 count')).includes('2 of 2') &&
          (await birdc(birdCtl, 'show route table r4')).includes('AS64999'),
        20_000,
        'BIRD took the change',
      );
      t.same(await birdVerdicts(birdCtl), expected2, 'BIRD 2 reaches the same verdicts');
      // Done-means 2: the customer route turned Invalid leaves the others, no session reset.
      await waitFor(() => !has(up, '192.0.2.0/24') && !has(ibgp, '192.0.2.0/24', false), 10_000, 'withdrawn');
      await waitFor(() => has(up, '198.51.100.0/24'), 10_000, 'the no longer Invalid route announced');
      t.same(await sessions(), sessions1, 'no session reset');
      t.equal(up.ofType(MessageType.NOTIFICATION).length + cust.ofType(MessageType.NOTIFICATION).length, 0);
      t.ok(up.received.length > mark);
      // And back when the VRP goes.
      writeVrps(vrpFile, [V_A, V_B]);
      await waitFor(() => has(up, '192.0.2.0/24') && has(ibgp, '192.0.2.0/24', false), 20_000, 'back');
      await waitFor(() => !has(up, '198.51.100.0/24'), 10_000, 'Invalid again: withdrawn');
      t.same(await gredgeVerdicts(), expected1, 'verdicts as at first');
      t.same(await sessions(), sessions1, 'still no session reset');
    });

    await t.test('failover to the second cache, then expiry to NotFound', async (t) => {
      rtrA.kill();
      await rtrA.exited;
      await waitFor(
        async () => {
          const s = (await json(['status'])).rpki;
          return s.cache === `${RTR} port ${portB}` && s.connection === 'established';
        },
        20_000,
        'the second cache in use',
      );
      t.same(await gredgeVerdicts(), expected1, 'same verdicts from the second cache');
      t.notOk(has(up, '198.51.100.0/24'), 'the Invalid route stays out');
      // The preferred cache back with short timers (expire 3 s): gredged moves back to it.
      rtrA = await stayrtr(portA, { refresh: 1, expire: 3 });
      await waitFor(
        async () => {
          const s = (await json(['status'])).rpki;
          return s.cache === `${RTR} port ${portA}` && s.expire === 3 && s.data === 'current';
        },
        20_000,
        'back on the preferred cache',
      );
      // Every cache gone: within `expire` the data is dropped and nothing is Invalid any more.
      rtrA.kill();
      rtrB.kill();
      await Promise.all([rtrA.exited, rtrB.exited]);
      await waitFor(async () => (await json(['status'])).rpki.data === 'expired', 15_000, 'expiry');
      const v = await gredgeVerdicts();
      t.same(
        Object.values(v).filter((x) => x !== 'not-found'),
        [],
        'after expire every verdict is NotFound',
      );
      await waitFor(
        () => has(up, '198.51.100.0/24') && has(up, '203.0.113.0/25'),
        10_000,
        'refused routes back',
      );
      t.same((await json(['show', 'neighbor', 'cust'])).rpki, {
        valid: 0,
        invalid: 0,
        notFound: 7,
        unverified: 0,
        refused: 0,
      });
      t.same(await sessions(), sessions1, 'no session reset');
      t.match(log, /rpki state/, 'state changes logged');
    });

    child.kill('SIGTERM');
    await waitFor(() => !children.has(child), 20_000, 'gredged stopped');
  });
}
