/**
 * The control socket and gredgectl against a real gredged (`node dist/src/main.js`) with real
 * BGP sessions (test/fakes/fake-peer.ts): every command, human and --json, checked against what
 * the sessions did; the socket's mode and group as configured; malformed, oversized and unknown
 * requests answered with errors while the daemon keeps running; 1,000 requests at once while a
 * session with hold time 3 must not miss a keepalive (judged from the arrival times the fake peer
 * records); a live socket refused, a stale one replaced, the file removed on stop.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { encodeRouteRefresh, MessageType } from '../../src/bgp/wire/index.js';
import { ControlClient } from '../../src/control/client.js';
import type { Response } from '../../src/control/protocol.js';
import { groupId } from '../../src/control/server.js';
import { asPath4, announce24, nextHop, ORIGIN_IGP, rawUpdate } from '../bgp/session/helpers.js';
import { FakePeer } from '../fakes/fake-peer.js';
import { skipUnless } from '../must-run.js';
import { freePort } from '../ports.js';

const root = join(import.meta.dirname, '../../..');
const MAIN = join(root, 'dist/src/main.js');
const CTL = join(root, 'dist/src/control/cli/gredgectl.js');
const LOAD = join(root, 'dist/test/control/load-child.js');

const DAEMON = '127.0.71.1';
const UP = '127.0.71.2';
const CUST = '127.0.71.3';
/** Routes the transit sends: 20.A.B.0/24, all accepted. */
const ROUTES = 5000;
const GROUP = 'nogroup';
const isRoot = process.getuid?.() === 0;

const dir = mkdtempSync(join(tmpdir(), 'gredge-ctl-'));
const sock = join(dir, 'ctl.sock');
const children = new Set<ChildProcess>();
const intervals: NodeJS.Timeout[] = [];
const fakes: FakePeer[] = [];
t.teardown(() => {
  for (const i of intervals) clearInterval(i);
  for (const f of fakes) f.destroy();
  for (const c of children)
    if (c.exitCode === null && c.signalCode === null && c.pid) process.kill(c.pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

interface Gredged {
  child: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
}

function startGredged(config: string): Gredged {
  const child = spawn(process.execPath, [MAIN, '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      children.delete(child);
      resolve(code);
    }),
  );
  return { child, out: () => out, exited };
}

interface CtlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** gredgectl in a process of its own (never a sync spawn: the fake peers must keep their timers). */
function ctl(args: string[], env: Record<string, string> = {}): Promise<CtlResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CTL, ...args],
      // Without tap's process-info hook (NODE_OPTIONS): it triples the start of each of the ~70 runs.
      { env: { ...process.env, NODE_OPTIONS: '', GREDGE_SOCKET: '', ...env }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 99) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/** gredgectl --socket SOCK ARGS --json, parsed; fails the test unless it exits 0. */
// biome-ignore lint/suspicious/noExplicitAny: answers are checked field by field
async function ctlJson(t: Test, args: string[]): Promise<any> {
  const r = await ctl(['--socket', sock, ...args, '--json']);
  t.equal(r.code, 0, `gredgectl ${args.join(' ')} --json exits 0 ${r.stderr}`);
  return JSON.parse(r.stdout);
}

async function waitFor(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A fake neighbor connected from `local`, Established, sending a KEEPALIVE every second. */
async function neighbor(port: number, local: string, asn: number, caps = {}): Promise<FakePeer> {
  const fp = await FakePeer.connect(DAEMON, port, local);
  fakes.push(fp);
  await fp.establish({ asn, bgpId: local, holdTime: 3, capabilities: caps }, 10_000);
  const i = setInterval(() => {
    if (!fp.isClosed) fp.sendKeepalive();
  }, 1000);
  intervals.push(i);
  return fp;
}

/** The transit's table: ROUTES /24s in 20.0.0.0/8, 900 to an UPDATE. */
function transitTable(): Uint8Array[] {
  const msgs: Uint8Array[] = [];
  let batch: [number, number, number][] = [];
  for (let i = 0; i < ROUTES; i++) {
    batch.push([20, i >> 8, i & 255]);
    if (batch.length === 900 || i === ROUTES - 1) {
      msgs.push(announce24(65001, batch));
      batch = [];
    }
  }
  return msgs;
}

/** Three routes with our own AS in the path: refused (as-loop). */
const LOOPED = rawUpdate(
  [],
  [...ORIGIN_IGP, ...asPath4([65001, 65000]), ...nextHop(127, 71, 0, 2)],
  [24, 20, 200, 0, 24, 20, 200, 1, 24, 20, 200, 2],
);

t.test('gredged control socket and gredgectl', async (t) => {
  const port = await freePort(DAEMON);
  const config = join(dir, 'gredge.yaml');
  writeFileSync(
    config,
    [
      `router-id: ${DAEMON}`,
      'local-as: 65000',
      `listen: { address: ${DAEMON}, port: ${port} }`,
      'fib: false',
      'metrics: false',
      `control: { socket: ${JSON.stringify(sock)}, mode: 0640${isRoot ? `, group: ${GROUP}` : ''} }`,
      'neighbors:',
      `  - { name: up, address: ${UP}, remote-as: 65001, role: transit, passive: true, hold-time: 3 }`,
      `  - { name: cust, address: ${CUST}, remote-as: 65002, role: customer, passive: true, hold-time: 3, prefixes: ["21.0.0.0/16 le 24"] }`,
      '',
    ].join('\n'),
  );
  const g = startGredged(config);
  await waitFor(() => g.out().includes('gredged started'), 30_000, 'gredged started');

  await t.test('the socket file: mode and group as configured', async (t) => {
    const st = statSync(sock);
    t.ok(st.isSocket());
    t.equal((st.mode & 0o777).toString(8), '640');
    const why = isRoot ? false : 'not root: cannot give the socket to another group';
    await t.test('group', { skip: skipUnless(t, why) }, async (t) => {
      t.equal(st.gid, groupId(GROUP), `group ${GROUP}`);
    });
  });

  const up = await neighbor(port, UP, 65001);
  for (const m of transitTable()) up.send(m);
  up.send(LOOPED);
  const cust = await neighbor(port, CUST, 65002, { routeRefresh: false, enhancedRouteRefresh: false });
  // 21.0.1.0/24 is the customer's own; 22.0.0.0/24 is not (not-own-prefix).
  cust.send(announce24(65002, [[21, 0, 1]]));
  cust.send(announce24(65002, [[22, 0, 0]]));
  const client = await ControlClient.connect(sock);
  t.teardown(() => client.close());
  const detail = async (name: string) =>
    // biome-ignore lint/suspicious/noExplicitAny: checked field by field
    ((await client.request('show neighbor', { neighbor: name })) as { result: any }).result;
  await waitFor(
    async () => {
      const [u, c] = [await detail('up'), await detail('cust')];
      return (
        u.prefixes.accepted === ROUTES &&
        u.prefixes.refused === 3 &&
        u.prefixes.advertised === 1 &&
        c.prefixes.received === 2 &&
        c.prefixes.advertised === ROUTES
      );
    },
    30_000,
    'the routes in the RIB',
  );

  await t.test('status', async (t) => {
    const h = await ctl(['--socket', sock, 'status']);
    t.equal(h.code, 0, h.stderr);
    t.match(h.stdout, /neighbors\s+2 configured, 2 established, 0 disabled/);
    t.match(h.stdout, new RegExp(`routes\\s+ipv4 ${ROUTES + 1}, ipv6 0`));
    t.match(h.stdout, /tunnels\s+none \(no data plane\)/);
    const j = await ctlJson(t, ['status']);
    t.equal(j.pid, g.child.pid);
    t.equal(j.localAs, 65000);
    t.equal(j.routerId, DAEMON);
    t.same(j.neighbors, { configured: 2, established: 2, disabled: 0 });
    t.equal(j.routes['ipv4-unicast'], ROUTES + 1);
    t.equal(j.fib, null);
    t.equal(j.logLevel, 'info');
    const env = await ctl(['status'], { GREDGE_SOCKET: sock });
    t.equal(env.code, 0, 'the socket from GREDGE_SOCKET');
  });

  await t.test('show neighbors', async (t) => {
    const h = await ctl(['--socket', sock, 'show', 'neighbors']);
    t.equal(h.code, 0);
    t.match(
      h.stdout,
      /^NAME\s+ADDRESS\s+AS\s+ROLE\s+STATE\s+UPTIME\s+RECEIVED\s+ACCEPTED\s+REFUSED\s+ADVERTISED$/m,
    );
    t.match(
      h.stdout,
      new RegExp(
        `^up\\s+${UP}\\s+65001\\s+transit\\s+Established\\s+\\S+\\s+${ROUTES + 3}\\s+${ROUTES}\\s+3\\s+1$`,
        'm',
      ),
    );
    t.match(
      h.stdout,
      new RegExp(
        `^cust\\s+${CUST}\\s+65002\\s+customer\\s+Established\\s+\\S+\\s+2\\s+1\\s+1\\s+${ROUTES}$`,
        'm',
      ),
    );
    const j = await ctlJson(t, ['show', 'neighbors']);
    t.same(
      j.neighbors.map((n: { name: string; prefixes: unknown }) => [n.name, n.prefixes]),
      [
        ['up', { received: ROUTES + 3, accepted: ROUTES, refused: 3, advertised: 1 }],
        ['cust', { received: 2, accepted: 1, refused: 1, advertised: ROUTES }],
      ],
    );
  });

  await t.test('show neighbor, by name and by address', async (t) => {
    const j = await ctlJson(t, ['show', 'neighbor', 'up']);
    t.equal(j.state, 'Established');
    t.equal(j.enabled, true);
    t.same(j.holdTime, { configured: 3, negotiated: 3 });
    t.equal(j.session.peerAs, 65001);
    t.equal(j.session.peerRouterId, UP);
    t.equal(j.session.capabilities.routeRefresh, true);
    t.same(j.session.families, ['ipv4-unicast', 'ipv6-unicast']);
    t.same(j.refusedByReason, { 'as-loop': 3 });
    t.equal(j.establishedCount, 1);
    t.ok(j.uptimeSeconds >= 0);
    t.same(j.lastNotification, { sent: null, received: null });
    const byAddr = await ctlJson(t, ['show', 'neighbor', UP]);
    t.equal(byAddr.name, 'up');
    const c = await ctlJson(t, ['show', 'neighbor', 'cust']);
    t.same(c.refusedByReason, { 'not-own-prefix': 1 });
    t.equal(c.session.capabilities.routeRefresh, false);
    const h = await ctl(['--socket', sock, 'show', 'neighbor', 'up']);
    t.equal(h.code, 0);
    t.match(h.stdout, /^state\s+Established$/m);
    t.match(h.stdout, /^capabilities\s+route-refresh, extended-message, as4$/m);
    t.match(h.stdout, /^refused by reason\s+as-loop 3$/m);
    t.match(
      h.stdout,
      new RegExp(
        `^prefixes ipv4\\s+received ${ROUTES + 3}, accepted ${ROUTES}, refused 3, advertised 1$`,
        'm',
      ),
    );
    const none = await ctl(['--socket', sock, 'show', 'neighbor', 'nobody']);
    t.equal(none.code, 1, 'the daemon answers with an error: exit 1');
    t.match(none.stderr, /no neighbor named or at 'nobody'/);
    const noneJson = await ctl(['--socket', sock, 'show', 'neighbor', '192.0.2.99', '--json']);
    t.equal(noneJson.code, 1);
    t.equal(JSON.parse(noneJson.stdout).error.code, 'not-found');
  });

  await t.test('show routes', async (t) => {
    const all = await ctlJson(t, ['show', 'routes']);
    t.equal(all.view, 'best');
    t.equal(all.routes.length, 1000, 'the default limit');
    t.equal(all.total, ROUTES + 1);
    t.equal(all.more, ROUTES + 1 - 1000);
    t.ok(all.routes.every((r: { best: boolean }) => r.best));
    const h = await ctl(['--socket', sock, 'show', 'routes', '--limit', '3']);
    t.equal(h.code, 0);
    t.match(h.stdout, /^\s+PREFIX\s+NEXT HOP\s+NEIGHBOR\s+LOCPRF\s+MED\s+AS PATH$/m);
    t.match(
      h.stdout,
      new RegExp(`^3 of ${ROUTES + 1} best paths in table full shown, ${ROUTES - 2} more`, 'm'),
    );
    const addr = await ctlJson(t, ['show', 'routes', '20.1.2.3']);
    t.equal(addr.match, '20.1.2.0/24', 'an address: its longest match');
    t.equal(addr.routes.length, 1);
    t.match(addr.routes[0], {
      prefix: '20.1.2.0/24',
      neighbor: 'up',
      best: true,
      asPath: '65001',
      class: 'transit',
    });
    const ha = await ctl(['--socket', sock, 'show', 'routes', '20.1.2.3']);
    t.match(ha.stdout, /^longest match for 20\.1\.2\.3: 20\.1\.2\.0\/24$/m);
    t.match(ha.stdout, /^\*\s+20\.1\.2\.0\/24\s+/m);
    const miss = await ctlJson(t, ['show', 'routes', '8.8.8.8']);
    t.equal(miss.total, 0);
    t.notOk(miss.match);
    const exact = await ctlJson(t, ['show', 'routes', '21.0.1.0/24', '--table', 'resale']);
    t.match(exact.routes, [{ prefix: '21.0.1.0/24', neighbor: 'cust', best: true, bestResale: true }]);
    const refused = await ctlJson(t, ['show', 'routes', '--refused']);
    t.equal(refused.view, 'refused');
    t.same(
      refused.routes
        .map(
          (r: { prefix: string; neighbor: string; refused: string }) =>
            `${r.neighbor} ${r.prefix} ${r.refused}`,
        )
        .sort(),
      [
        'cust 22.0.0.0/24 not-own-prefix',
        'up 20.200.0.0/24 as-loop',
        'up 20.200.1.0/24 as-loop',
        'up 20.200.2.0/24 as-loop',
      ],
    );
    const hr = await ctl(['--socket', sock, 'show', 'routes', '--refused', '--neighbor', 'cust']);
    t.equal(hr.code, 0);
    t.match(hr.stdout, /^!\s+22\.0\.0\.0\/24\s+127\.0\.0\.2\s+cust\s+100\s+-\s+65002\s+not-own-prefix$/m);
    t.match(hr.stdout, /^1 refused routes$/m);
    const onePrefixRefused = await ctlJson(t, ['show', 'routes', '20.200.1.0/24']);
    t.match(onePrefixRefused.routes, [{ neighbor: 'up', refused: 'as-loop', best: false }]);
    const adj = await ctlJson(t, ['show', 'routes', '--neighbor', 'up', '--limit', '10']);
    t.equal(adj.view, 'adj-rib-in');
    t.equal(adj.total, ROUTES);
    t.equal(adj.routes.length, 10);
    const resale = await ctlJson(t, ['show', 'routes', '--table', 'resale', '--limit', '1']);
    t.equal(resale.total, ROUTES + 1, 'no no-resale peer here: resale holds everything');
    const unknownNbr = await ctl(['--socket', sock, 'show', 'routes', '--neighbor', 'nobody']);
    t.equal(unknownNbr.code, 1);
  });

  await t.test('show tunnels and show tunnel (a BGP-only box)', async (t) => {
    const h = await ctl(['--socket', sock, 'show', 'tunnels']);
    t.equal(h.code, 0);
    t.match(h.stdout, /no tunnels configured/);
    t.same(await ctlJson(t, ['show', 'tunnels']), { tunnels: [] });
    const one = await ctl(['--socket', sock, 'show', 'tunnel', 'cust-a']);
    t.equal(one.code, 1);
    t.match(one.stderr, /no tunnel named 'cust-a'/);
  });

  await t.test('log level', async (t) => {
    const h = await ctl(['--socket', sock, 'log', 'level', 'debug']);
    t.equal(h.code, 0, h.stderr);
    t.match(h.stdout, 'log level debug (was info)');
    t.equal((await ctlJson(t, ['status'])).logLevel, 'debug');
    // A ROUTE-REFRESH for an AFI nobody negotiated is ignored with a debug line (RFC 2918 §4).
    up.send(encodeRouteRefresh({ afi: 25, subtype: 0, safi: 1 }));
    await waitFor(() => /"level":20,[^\n]*ignored ROUTE-REFRESH/.test(g.out()), 10_000, 'the debug line');
    t.same(await ctlJson(t, ['log', 'level', 'info']), { level: 'info', previous: 'debug' });
    const bad = await ctl(['--socket', sock, 'log', 'level', 'loud']);
    t.equal(bad.code, 2);
  });

  await t.test(
    'reload over the socket: the unchanged file is a no-op, bad flags are usage errors',
    async (t) => {
      const check = await ctl(['--socket', sock, 'reload', '--check']);
      t.equal(check.code, 0, check.stderr);
      t.match(check.stdout, /no change/i, '--check on the file gredged runs: nothing to apply');
      const r = await ctl(['--socket', sock, 'reload']);
      t.equal(r.code, 0, r.stderr);
      t.match(r.stdout, /no change/i);
      const confirm = await ctl(['--socket', sock, 'reload', '--confirm']);
      t.equal(confirm.code, 1, '--confirm with no rollback pending is an error');
      const raw = await client.request('reload', {});
      t.match(raw, { ok: true }, 'the daemon answers the raw request');
      t.equal((await ctl(['--socket', sock, 'reload', '--bogus'])).code, 2);
      const st = await ctlJson(t, ['status']);
      t.match(st, { reload: { failed: 0 } }, 'no failed reload counted');
    },
  );

  await t.test('neighbor reset --soft', async (t) => {
    const refreshes = up.ofType(MessageType.ROUTE_REFRESH).length;
    const updates = up.ofType(MessageType.UPDATE).length;
    const h = await ctl(['--socket', sock, 'neighbor', 'reset', '--soft', 'up']);
    t.equal(h.code, 0, h.stderr);
    t.match(
      h.stdout,
      /neighbor up: soft reset: route refresh sent and our routes re-sent for ipv4-unicast, ipv6-unicast \(state Established\)/,
    );
    await up.until(
      () => up.ofType(MessageType.ROUTE_REFRESH).length >= refreshes + 2,
      10_000,
      'two ROUTE-REFRESH',
    );
    await up.until(() => up.ofType(MessageType.UPDATE).length > updates, 10_000, 'our routes again');
    t.equal(up.ofType(MessageType.NOTIFICATION).length, 0, 'no reset');
    const unsupported = await ctl(['--socket', sock, 'neighbor', 'reset', '--soft', 'cust']);
    t.equal(unsupported.code, 1);
    t.match(unsupported.stderr, /does not support route refresh \(RFC 2918\): soft reset is unsupported/);
    t.equal(cust.isClosed, false, 'cust untouched');
  });

  let custNow = cust;
  await t.test('neighbor disable, enable, reset', async (t) => {
    const d = await ctl(['--socket', sock, 'neighbor', 'disable', CUST]);
    t.equal(d.code, 0, d.stderr);
    t.match(d.stdout, 'neighbor cust: disabled (state Idle)');
    const n = await custNow.expectNotification(10_000);
    t.match(n, { code: 6, subcode: 2 }, 'Cease 6/2 administrative shutdown');
    await custNow.closed;
    const j = await ctlJson(t, ['show', 'neighbor', 'cust']);
    t.equal(j.state, 'Idle');
    t.equal(j.enabled, false);
    t.match(j.lastNotification.sent, { code: 6, subcode: 2 });
    t.equal((await ctlJson(t, ['status'])).neighbors.disabled, 1);
    t.match((await ctl(['--socket', sock, 'show', 'neighbors'])).stdout, /^cust .*Idle \(disabled\)/m);
    const again = await ctlJson(t, ['neighbor', 'disable', 'cust']);
    t.equal(again.action, 'unchanged');
    const resetDisabled = await ctl(['--socket', sock, 'neighbor', 'reset', 'cust']);
    t.equal(resetDisabled.code, 1, 'a disabled neighbor is not reset');

    const e = await ctl(['--socket', sock, 'neighbor', 'enable', 'cust']);
    t.equal(e.code, 0, e.stderr);
    t.match(e.stdout, 'neighbor cust: enabled (state Active)');
    custNow = await neighbor(port, CUST, 65002, { routeRefresh: false, enhancedRouteRefresh: false });
    t.equal((await ctlJson(t, ['show', 'neighbor', 'cust'])).state, 'Established');

    const r = await ctl(['--socket', sock, 'neighbor', 'reset', 'cust']);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, 'neighbor cust: reset (state Active)');
    t.match(
      await custNow.expectNotification(10_000),
      { code: 6, subcode: 4 },
      'Cease 6/4 administrative reset',
    );
    custNow = await neighbor(port, CUST, 65002, { routeRefresh: false, enhancedRouteRefresh: false });
    const after = await ctlJson(t, ['show', 'neighbor', 'cust']);
    t.equal(after.state, 'Established', 'back after the reset');
    t.equal(after.establishedCount, 3);
    t.match(after.lastNotification.sent, { code: 6, subcode: 4, text: /administrative reset/ });
    // The customer's routes again, for what follows.
    custNow.send(announce24(65002, [[21, 0, 1]]));
    custNow.send(announce24(65002, [[22, 0, 0]]));
    await waitFor(
      async () => (await detail('cust')).prefixes.received === 2,
      10_000,
      "the customer's routes",
    );
    t.equal(up.isClosed, false, 'up untouched');
  });

  await t.test('usage errors and connection errors', async (t) => {
    const cases: [string[], number, RegExp][] = [
      [[], 2, /usage: gredgectl/],
      [['--help'], 0, /exit codes: 0 ok, 1 the daemon answered with an error, 2 usage error/],
      [['show', 'routes', '--help'], 0, /usage: gredgectl show routes \[PREFIX\|ADDRESS\]/],
      [['neighbor', 'reset', '-h'], 0, /--soft/],
      [['show'], 2, /unknown command 'show'/],
      [['frobnicate'], 2, /unknown command 'frobnicate'/],
      [['show', 'neighbor'], 2, /missing argument/],
      [['show', 'neighbor', 'a', 'b'], 2, /unexpected argument 'b'/],
      [['show', 'routes', '192.0.2.1/8'], 2, /host bits set/],
      [['show', 'routes', '--table', 'main'], 2, /table must be one of full, resale/],
      [['show', 'routes', '--limit', 'ten'], 2, /--limit must be a positive integer/],
      [['show', 'routes', '--colour'], 2, /Unknown option '--colour'/],
      [['--socket'], 2, /--socket needs a PATH/],
    ];
    for (const [args, code, re] of cases) {
      const r = await ctl(['--socket', sock, ...args].filter((_, i) => args[0] !== '--socket' || i > 1));
      t.equal(r.code, code, `gredgectl ${args.join(' ')}`);
      t.match(code === 0 ? r.stdout : r.stderr, re);
    }
    const gone = await ctl(['--socket', join(dir, 'nothing.sock'), 'status']);
    t.equal(gone.code, 4, 'cannot connect: exit 4');
    t.match(gone.stderr, /cannot connect to .*nothing\.sock: no such socket/);
  });

  await t.test(
    'malformed, oversized and unknown requests get errors; the daemon keeps running',
    async (t) => {
      const c = await ControlClient.connect(sock);
      t.teardown(() => c.close());
      t.match(await c.send('this is not json\n', null), {
        v: 1,
        id: null,
        ok: false,
        error: { code: 'bad-json' },
      });
      t.match(await c.send('{"v":1,"id":5,"cmd":"status"\n', null), { error: { code: 'bad-json' } });
      t.match(await c.send(`${Buffer.from([0, 0xff, 0xfe, 0x80]).toString('latin1')}\n`, null), {
        error: { code: 'bad-json' },
      });
      t.match(await c.send('{"v":1,"id":6,"cmd":"show everything"}\n', 6), {
        id: 6,
        ok: false,
        error: { code: 'unknown-command', message: "unknown command 'show everything'" },
      });
      t.match(await c.send('{"v":7,"id":7,"cmd":"status"}\n', 7), { error: { code: 'unsupported-version' } });
      t.match(await c.send('{"v":1,"id":8,"cmd":"show routes","args":{"limit":-1}}\n', 8), {
        error: { code: 'bad-args', message: /limit must be an integer/ },
      });
      t.match(await c.send('{"v":1,"id":9,"cmd":"show neighbor","args":{"neighbor":"up","x":1}}\n', 9), {
        error: { code: 'bad-args', message: /unknown argument 'x'/ },
      });
      const near = `${'a'.repeat(60 * 1024)}\n`;
      t.match(
        await c.send(near, null),
        { error: { code: 'bad-json' } },
        'a long line under the limit: just bad',
      );
      // The same connection still works, CRLF and pipelined requests included.
      const three = await Promise.all([
        c.send('{"v":1,"id":"a","cmd":"status"}\r\n{"v":1,"id":"b","cmd":"show neighbors"}\n', 'a'),
        c.send('', 'b'),
        c.request('show neighbor', { neighbor: 'up' }),
      ]);
      t.ok(
        three.every((r) => r.ok),
        'answers after the errors',
      );

      const big = await ControlClient.connect(sock);
      t.teardown(() => big.close());
      const answer = big.send('x'.repeat(70 * 1024), null);
      t.match(await answer, { ok: false, error: { code: 'too-long', message: /longer than 65536 bytes/ } });
      await big.closed;
      t.pass('the connection of an oversized line is closed');

      const big2 = await ControlClient.connect(sock);
      t.teardown(() => big2.close());
      t.match(
        await big2.send(`{"v":1,"id":1,"cmd":"status","args":{"pad":"${'y'.repeat(66 * 1024)}"}}\n`, null),
        { error: { code: 'too-long' } },
        'one oversized request in a single line',
      );
      await big2.closed;

      const half = await ControlClient.connect(sock);
      half.close(); // half a request, then gone
      t.equal(g.child.exitCode, null, 'gredged is still running');
      const ok: Response = await client.request('status');
      t.equal(ok.ok, true, 'and answers');
      t.equal(up.isClosed, false, 'the BGP session is still up');
    },
  );

  await t.test('1,000 concurrent requests; the hold time 3 session misses no keepalive', async (t) => {
    const keepalives = () => up.ofType(MessageType.KEEPALIVE).map((m) => m.at);
    // A keepalive before the load, so that the window starts with one.
    const before = keepalives().length;
    await up.until(() => keepalives().length > before, 5000, 'a keepalive before the load');
    const t0 = performance.now();
    const load = spawn(process.execPath, [LOAD, sock, '100', '10'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(load);
    let out = '';
    let err = '';
    load.stdout.on('data', (d) => {
      out += d;
    });
    load.stderr.on('data', (d) => {
      err += d;
    });
    const code = await new Promise<number | null>((resolve) => load.on('exit', (c) => resolve(c)));
    children.delete(load);
    const t1 = performance.now();
    t.equal(code, 0, `the load ran: ${err}`);
    const res = JSON.parse(out) as {
      requests: number;
      tally: Record<string, { ok: number; failed: string[]; shapes: string[] }>;
    };
    t.equal(res.requests, 1000);
    t.comment(`1,000 requests over 100 connections answered in ${Math.round(t1 - t0)} ms`);
    const shapes: Record<string, string[]> = {
      'show routes {"limit":200}': [`200/${ROUTES + 1}`],
      'show routes {}': [`1000/${ROUTES + 1}`],
      'show routes {"prefix":"20.1.2.3"}': ['1/1 20.1.2.0/24'],
      'show routes {"limit":50,"neighbor":"up"}': [`50/${ROUTES}`],
      'show routes {"refused":true}': ['4/4'],
      'show routes {"limit":200,"table":"resale"}': [`200/${ROUTES + 1}`],
    };
    let answered = 0;
    for (const [key, v] of Object.entries(res.tally)) {
      t.same(v.failed, [], `${key}: no errors`);
      answered += v.ok;
      if (shapes[key]) t.same(v.shapes, shapes[key], `${key}: every answer complete`);
    }
    t.equal(answered, 1000, 'every request answered ok');
    // One more keepalive after the load closes the window.
    const n = keepalives().length;
    await up.until(() => keepalives().length > n, 5000, 'a keepalive after the load');
    const seen = up.received.map((m) => m.at).filter((at) => at >= t0 - 2000);
    let gap = 0;
    for (let i = 1; i < seen.length; i++) gap = Math.max(gap, seen[i]! - seen[i - 1]!);
    const during = keepalives().filter((at) => at >= t0 && at <= t1).length;
    t.comment(
      `largest gap between messages from gredged: ${Math.round(gap)} ms; ${during} keepalives during the load`,
    );
    t.ok(gap < 2000, `no keepalive missed (interval 1 s, largest gap ${Math.round(gap)} ms)`);
    t.equal(up.ofType(MessageType.NOTIFICATION).length, 0, 'no NOTIFICATION');
    t.equal(up.isClosed, false, 'the session is up');
    const j = await ctlJson(t, ['show', 'neighbor', 'up']);
    t.equal(j.state, 'Established');
    t.equal(j.establishedCount, 1, 'never reset');
  });

  await t.test('a second gredged on the same socket refuses to start', async (t) => {
    const second = startGredged(config);
    t.equal(await second.exited, 1);
    t.match(second.out(), `another gredged is running on ${sock}`);
    t.equal(g.child.exitCode, null, 'the first one runs on');
    t.equal((await ctl(['--socket', sock, 'status'])).code, 0, 'and still answers');
    t.equal(up.isClosed, false);
  });

  await t.test('stop: SIGTERM, exit 0, the socket file removed', async (t) => {
    client.close();
    g.child.kill('SIGTERM');
    t.equal(await g.exited, 0);
    t.notOk(existsSync(sock), 'socket removed');
    t.equal((await ctl(['--socket', sock, 'status'])).code, 4);
  });
});

t.test('a stale socket is replaced; anything else at the path is left alone', async (t) => {
  const path = join(dir, 'stale.sock');
  const config = join(dir, 'stale.yaml');
  writeFileSync(
    config,
    `router-id: 127.0.71.9\nlocal-as: 65000\nfib: false\nmetrics: false\ncontrol: { socket: ${JSON.stringify(path)} }\n`,
  );
  const first = startGredged(config);
  await waitFor(() => first.out().includes('gredged started'), 30_000, 'gredged started');
  first.child.kill('SIGKILL');
  await first.exited;
  t.ok(statSync(path).isSocket(), 'a killed gredged leaves its socket behind');
  t.equal((await ctl(['--socket', path, 'status'])).code, 4, 'nobody answers on it');
  const second = startGredged(config);
  await waitFor(
    () => second.out().includes('gredged started'),
    30_000,
    'gredged started over the stale socket',
  );
  t.match(second.out(), 'replacing a stale socket');
  const s = await ctl(['--socket', path, 'status', '--json']);
  t.equal(s.code, 0);
  t.equal(JSON.parse(s.stdout).pid, second.child.pid);
  second.child.kill('SIGTERM');
  t.equal(await second.exited, 0);
  t.notOk(existsSync(path));

  writeFileSync(path, 'not a socket');
  const third = startGredged(config);
  t.equal(await third.exited, 1);
  t.match(third.out(), 'exists and is not a socket; not replacing it');
  t.equal(statSync(path).isFile(), true, 'the file is untouched');
});

t.test('control: false starts no socket', async (t) => {
  const config = join(dir, 'off.yaml');
  writeFileSync(
    config,
    'router-id: 127.0.71.9\nlocal-as: 65000\nfib: false\ncontrol: false\nmetrics: false\n',
  );
  const g = startGredged(config);
  await waitFor(() => g.out().includes('gredged started'), 30_000, 'gredged started');
  t.notMatch(g.out(), 'control socket listening');
  g.child.kill('SIGTERM');
  t.equal(await g.exited, 0);
});
