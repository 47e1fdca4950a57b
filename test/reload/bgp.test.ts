/**
 * Hot reload against a real gredged (`node dist/src/main.js`) with real BGP sessions
 * (test/fakes/fake-peer.ts), driven through SIGHUP and `gredgectl reload`: a reload that
 * changes nothing and one that adds a neighbor leave the other sessions alone (no NOTIFICATION,
 * same session, no route withdrawn); a customer's `prefixes` changed re-evaluates its stored
 * routes (the refused one accepted and exported, the now-refused one withdrawn from the others)
 * without a reset; a change of AS resets that neighbor only; an invalid file is refused whole
 * with file:line:column and counted; --check changes nothing; --confirm-within rolls back
 * unless --confirm follows. Every wait polls against a deadline.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { decodeUpdate, formatPrefix4, MessageType } from '../../src/bgp/wire/index.js';
import { announce24 } from '../bgp/session/helpers.js';
import { FakePeer } from '../fakes/fake-peer.js';
import { freePort } from '../ports.js';

const root = join(import.meta.dirname, '../../..');
const MAIN = join(root, 'dist/src/main.js');
const CTL = join(root, 'dist/src/control/cli/gredgectl.js');

const DAEMON = '127.0.72.1';
const UP = '127.0.72.2';
const CUST = '127.0.72.3';
const CUST2 = '127.0.72.4';

const dir = mkdtempSync(join(tmpdir(), 'gredge-reload-'));
const sock = join(dir, 'ctl.sock');
const file = join(dir, 'gredge.yaml');
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

interface Opts {
  port: number;
  custPrefixes?: string;
  cust2?: number | false; // its AS, or absent
  broken?: boolean;
}

function writeConfig(o: Opts): void {
  const lines = [
    `router-id: ${DAEMON}`,
    'local-as: 65000',
    `listen: { address: ${DAEMON}, port: ${o.port} }`,
    'fib: false',
    'metrics: false',
    `control: { socket: ${JSON.stringify(sock)} }`,
    'neighbors:',
    `  - { name: up, address: ${UP}, remote-as: 65001, role: transit, passive: true, hold-time: 3 }`,
    `  - { name: cust, address: ${CUST}, remote-as: 65002, role: customer, passive: true, hold-time: 3, prefixes: [${o.custPrefixes ?? '"21.0.0.0/16 le 24"'}] }`,
  ];
  if (o.cust2 !== undefined && o.cust2 !== false)
    lines.push(
      `  - { name: cust2, address: ${CUST2}, remote-as: ${o.cust2}, role: customer, passive: true, hold-time: 3, prefixes: ["23.0.0.0/16 le 24"] }`,
    );
  // Two problems: a value of the wrong type and an unknown key (each with its position).
  if (o.broken)
    lines.push('  - { name: bad, address: 192.0.2.9, remote-as: many, role: transit, colour: red }');
  writeFileSync(file, `${lines.join('\n')}\n`);
}

interface CtlResult {
  code: number;
  stdout: string;
  stderr: string;
}

function ctl(args: string[]): Promise<CtlResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CTL, '--socket', sock, ...args],
      { env: { ...process.env, NODE_OPTIONS: '', GREDGE_SOCKET: '' }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 99) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

// biome-ignore lint/suspicious/noExplicitAny: answers are checked field by field
async function json(args: string[]): Promise<any> {
  const r = await ctl([...args, '--json']);
  if (r.code !== 0) throw new Error(`gredgectl ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

async function waitFor(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function neighbor(port: number, local: string, asn: number): Promise<FakePeer> {
  const fp = await FakePeer.connect(DAEMON, port, local);
  fakes.push(fp);
  await fp.establish({ asn, bgpId: local, holdTime: 3 }, 10_000);
  intervals.push(
    setInterval(() => {
      if (!fp.isClosed) fp.sendKeepalive();
    }, 1000),
  );
  return fp;
}

/** What a fake peer was told, in order: `+P` announced, `-P` withdrawn (IPv4). */
function heard(fp: FakePeer, from = 0): string[] {
  const out: string[] = [];
  for (const m of fp.received.slice(from)) {
    if (m.type !== MessageType.UPDATE) continue;
    const r = decodeUpdate(m.body, {
      as4: true,
      extendedMessage: true,
      ebgp: true,
      localAs: 65001,
      peerAs: 65000,
    });
    if (!r.ok) continue;
    for (const p of r.value.withdrawn4) out.push(`-${formatPrefix4(p)}`);
    for (const p of r.value.nlri4) out.push(`+${formatPrefix4(p)}`);
  }
  return out;
}

/** Whether `prefix` is announced to `fp` now (its last word on it). */
function has(fp: FakePeer, prefix: string): boolean {
  const h = heard(fp);
  for (let i = h.length - 1; i >= 0; i--) {
    if (h[i] === `+${prefix}`) return true;
    if (h[i] === `-${prefix}`) return false;
  }
  return false;
}

const notifications = (fp: FakePeer) => fp.ofType(MessageType.NOTIFICATION).length;

t.test('reload', async (t) => {
  const port = await freePort(DAEMON);
  writeConfig({ port });
  const child = spawn(process.execPath, [MAIN, '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let log = '';
  child.stdout!.on('data', (d) => {
    log += d;
  });
  child.stderr!.on('data', (d) => {
    log += d;
  });
  child.on('exit', () => children.delete(child));
  await waitFor(() => log.includes('gredged started'), 30_000, 'gredged started');

  const up = await neighbor(port, UP, 65001);
  up.send(announce24(65001, [[20, 0, 0]]));
  const cust = await neighbor(port, CUST, 65002);
  cust.send(announce24(65002, [[21, 0, 1]])); // its own
  cust.send(announce24(65002, [[22, 0, 0]])); // not its own: refused, kept as refused
  await waitFor(() => has(up, '21.0.1.0/24') && has(cust, '20.0.0.0/24'), 20_000, 'routes exchanged');
  const since = async (name: string) => (await json(['show', 'neighbor', name])).establishedCount as number;
  const upSessions = await since('up');
  const custSessions = await since('cust');

  /** No NOTIFICATION, no new session, nothing withdrawn from `up` since `mark`. */
  const untouched = async (t: Test, mark: number, what: string) => {
    t.equal(notifications(up) + notifications(cust), 0, `${what}: no NOTIFICATION`);
    t.notOk(up.isClosed || cust.isClosed, `${what}: sessions open`);
    t.equal(await since('up'), upSessions, `${what}: up: same session`);
    t.equal(await since('cust'), custSessions, `${what}: cust: same session`);
    t.same(
      heard(up, mark).filter((x) => x.startsWith('-')),
      [],
      `${what}: nothing withdrawn from up`,
    );
  };

  await t.test('no change, by SIGHUP and by gredgectl', async (t) => {
    const mark = up.received.length;
    child.kill('SIGHUP');
    await waitFor(async () => (await json(['status'])).reload.ok === 1, 10_000, 'the SIGHUP reload');
    const r = await ctl(['reload']);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /no change/);
    await untouched(t, mark, 'no change');
  });

  let cust2: FakePeer | undefined;
  await t.test('a neighbor added', async (t) => {
    const mark = up.received.length;
    writeConfig({ port, cust2: 65003 });
    const r = await ctl(['reload']);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /\+ neighbor cust2/);
    cust2 = await neighbor(port, CUST2, 65003);
    cust2.send(announce24(65003, [[23, 0, 5]]));
    await waitFor(() => has(cust2!, '20.0.0.0/24') && has(up, '23.0.5.0/24'), 20_000, 'cust2 routes');
    await untouched(t, mark, 'neighbor added');
  });

  await t.test("a customer's prefixes changed: re-evaluated in place", async (t) => {
    const mark = up.received.length;
    writeConfig({ port, cust2: 65003, custPrefixes: '"22.0.0.0/16 le 24"' });
    const r = await ctl(['reload']);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /~ neighbor cust: prefixes \(in place\)/);
    await waitFor(
      () =>
        has(up, '22.0.0.0/24') &&
        !has(up, '21.0.1.0/24') &&
        has(cust2!, '22.0.0.0/24') &&
        !has(cust2!, '21.0.1.0/24'),
      20_000,
      'the refused route accepted and exported, the now-refused one withdrawn',
    );
    const refused = await json(['show', 'routes', '--refused', '--neighbor', 'cust']);
    t.same(
      refused.routes.map((x: { prefix: string; refused: string }) => [x.prefix, x.refused]),
      [['21.0.1.0/24', 'not-own-prefix']],
    );
    t.same(heard(up, mark).sort(), ['+22.0.0.0/24', '-21.0.1.0/24'], 'up told exactly the difference');
    t.equal(notifications(cust), 0, 'no reset');
    t.equal(await since('cust'), custSessions, 'same session');
    t.equal(await since('up'), upSessions, 'up: same session');
  });

  await t.test('an AS change resets that neighbor only', async (t) => {
    writeConfig({ port, cust2: 65004, custPrefixes: '"22.0.0.0/16 le 24"' });
    const r = await ctl(['reload']);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /~ neighbor cust2: remote-as \(session reset\)/);
    await waitFor(() => notifications(cust2!) > 0, 10_000, 'cust2 NOTIFICATION');
    const n = await cust2!.expectNotification(1000);
    t.same([n.code, n.subcode], [6, 6], 'Cease, other configuration change');
    await waitFor(() => !has(up, '23.0.5.0/24'), 10_000, "cust2's route withdrawn");
    t.equal(notifications(up) + notifications(cust), 0, 'the others: no NOTIFICATION');
    t.equal(await since('up'), upSessions);
    t.equal(await since('cust'), custSessions);
    cust2 = await neighbor(port, CUST2, 65004);
    await waitFor(
      async () => (await json(['show', 'neighbor', 'cust2'])).state === 'Established',
      10_000,
      'cust2 again',
    );
  });

  await t.test('an invalid config is refused whole', async (t) => {
    const before = await json(['status']);
    writeConfig({ port, cust2: false, broken: true });
    const r = await ctl(['reload']);
    t.equal(r.code, 1, 'exit 1');
    t.match(r.stderr, new RegExp(`${file.replace(/[.]/g, '\\.')}:\\d+:\\d+: `), 'file:line:column');
    t.ok(r.stderr.split('\n').filter((l) => /:\d+:\d+: /.test(l)).length >= 2, 'every problem');
    const after = await json(['status']);
    t.equal(after.reload.failed, before.reload.failed + 1, 'failure counted');
    t.equal(after.reload.failed, 1);
    t.match(after.reload.lastError, /:\d+:\d+: /);
    t.same(after.neighbors, before.neighbors, 'running config unchanged');
    t.notOk(cust2!.isClosed, 'cust2 (absent from the broken file) still up');
    t.match(log, /config refused/);
  });

  await t.test('a change that needs a restart is refused, naming it', async (t) => {
    writeConfig({ port, cust2: 65004, custPrefixes: '"22.0.0.0/16 le 24"' });
    const text = (await import('node:fs')).readFileSync(file, 'utf8');
    writeFileSync(file, text.replace('local-as: 65000', 'local-as: 65010'));
    const r = await ctl(['reload']);
    t.equal(r.code, 1);
    t.match(r.stderr, /needs a restart: local-as/);
    t.equal((await json(['status'])).reload.failed, 2);
  });

  await t.test('--check prints the diff and changes nothing', async (t) => {
    writeConfig({ port, custPrefixes: '"22.0.0.0/16 le 24"' }); // without cust2
    const r = await ctl(['reload', '--check']);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /- neighbor cust2/);
    const s = await json(['status']);
    t.equal(s.neighbors.configured, 3, 'cust2 still configured');
    t.equal(notifications(cust2!), 0);
  });

  await t.test('--confirm-within rolls back unless confirmed', async (t) => {
    // The file still lacks cust2: applied, then rolled back (15 s: time for the checks below,
    // each a gredgectl process that takes a second to start on a busy runner).
    const r = await ctl(['reload', '--confirm-within', '15']);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /- neighbor cust2/);
    t.match(r.stdout, /rollback at/);
    t.ok((await json(['status'])).reload.rollbackPendingUntil, 'status: rollback pending');
    await waitFor(() => notifications(cust2!) > 0, 10_000, 'cust2 removed');
    const n = await cust2!.expectNotification(1000);
    t.same([n.code, n.subcode], [6, 3], 'Cease, peer de-configured');
    const other = await ctl(['reload']);
    t.equal(other.code, 1, 'another reload is refused while a rollback is pending');
    await waitFor(async () => (await json(['status'])).reload.rollbacks === 1, 25_000, 'the rollback');
    t.equal((await json(['status'])).neighbors.configured, 3, 'cust2 back');
    t.match(log, /rolled back/);
    cust2 = await neighbor(port, CUST2, 65004);

    // Confirmed: stays.
    const c = await ctl(['reload', '--confirm-within', '30']);
    t.equal(c.code, 0, c.stderr);
    const ok = await ctl(['reload', '--confirm']);
    t.equal(ok.code, 0, ok.stderr);
    t.match(ok.stdout, /confirmed/);
    const s = await json(['status']);
    t.equal(s.reload.rollbackPendingUntil, null);
    t.equal(s.reload.rollbacks, 1);
    t.equal(s.neighbors.configured, 2, 'the confirmed config stays');
    const again = await ctl(['reload', '--confirm']);
    t.equal(again.code, 1, 'nothing left to confirm');
    t.equal(notifications(up) + notifications(cust), 0, 'up and cust never reset');
    t.equal(await since('up'), upSessions);
    t.equal(await since('cust'), custSessions);
  });

  child.kill('SIGTERM');
  await waitFor(() => !children.has(child), 20_000, 'gredged stopped');
});
