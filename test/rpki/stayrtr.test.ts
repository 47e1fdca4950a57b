/**
 * Interop with Debian's stayrtr (a real RTR cache fed from a JSON VRP file, offline): a full
 * sync; an added and a removed VRP picked up through Serial Notify + Serial Query (stayrtr's
 * refresh interval is an hour, so nothing else can explain the update); failover to a second
 * stayrtr when the first is killed; expiry to NotFound when both are gone (stayrtr sends
 * expire = 2 s in End of Data). Loopback only, free ports, processes ended by PID in teardown.
 */
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { RtrClient, type RtrUpdate } from '../../src/rpki/rtr.js';
import { parsePrefix, vrp, vrpJson } from '../../src/rpki/text.js';
import type { Vrp } from '../../src/rpki/types.js';
import { Daemon, haveCommand } from '../interop/harness/proc.js';
import { cannotRun } from '../must-run.js';
import { freePort } from '../ports.js';
import { until } from './fake-cache.js';

const A = vrp('192.0.2.0/24', 24, 64500)!;
const B = vrp('2001:db8::/32', 48, 64501)!;
const C = vrp('198.51.100.0/22', 24, 64502)!;
const D = vrp('203.0.113.0/24', 24, 0)!;
const P = (s: string) => parsePrefix(s)!;

function writeVrps(file: string, vrps: Vrp[]): void {
  const body = JSON.stringify({
    metadata: { buildtime: new Date().toISOString() },
    roas: vrps.map((v) => ({ ...vrpJson(v), ta: 'test' })),
  });
  // stayrtr must never read a half-written file: write aside, then rename.
  writeFileSync(`${file}.tmp`, body);
  renameSync(`${file}.tmp`, file);
}

async function stayrtr(
  t: Test,
  file: string,
  timers: { refresh: number; expire: number },
): Promise<{ d: Daemon; port: number }> {
  const port = await freePort('127.0.0.1');
  const d = new Daemon(`stayrtr:${port}`, [
    'stayrtr',
    '-bind',
    `127.0.0.1:${port}`,
    '-cache',
    file,
    '-checktime=false',
    '-refresh',
    '1',
    '-metrics.addr',
    '', // no metrics listener
    '-rtr.refresh',
    String(timers.refresh),
    '-rtr.retry',
    '1',
    '-rtr.expire',
    String(timers.expire),
    '-disable.aspa',
    '-disable.bgpsec',
  ]);
  t.teardown(() => d.kill());
  await d.waitFor(/StayRTR Server started/, 15_000);
  return { d, port };
}

const why = haveCommand('stayrtr') ? undefined : 'missing stayrtr (apt-get install stayrtr)';
if (why) {
  cannotRun(t, why);
} else {
  const dir = mkdtempSync(join(tmpdir(), 'gredge-rtr-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));

  t.test('sync, then an added and a removed VRP through Serial Notify', async (t) => {
    const file = join(dir, 'notify.json');
    writeVrps(file, [A, B, C]);
    const s = await stayrtr(t, file, { refresh: 3600, expire: 7200 });
    const c = new RtrClient({ servers: [{ address: '127.0.0.1', port: s.port, preference: 1 }], retry: 0.2 });
    t.teardown(() => c.stop());
    const updates: RtrUpdate[] = [];
    c.on('update', (u) => updates.push(u));
    c.start();
    await until('first sync from stayrtr', () => c.table.size === 3, 15_000);
    const st = c.state();
    t.match(st, {
      connection: 'established',
      data: 'current',
      version: 1,
      vrps: 3,
      refresh: 3600,
      expire: 7200,
    });
    t.equal(c.validate(P('192.0.2.0/24'), 64500), 'valid');
    t.equal(c.validate(P('198.51.101.0/24'), 64502), 'valid');
    t.equal(c.validate(P('198.51.101.0/25'), 64502), 'invalid');
    t.equal(c.validate(P('2001:db8:1::/48'), 64501), 'valid');
    t.equal(c.validate(P('203.0.113.0/24'), 64500), 'not-found');

    const serial = st.serial!;
    writeVrps(file, [B, C, D]);
    await until('the change through Serial Notify', () => c.table.has(D) && !c.table.has(A), 15_000);
    const u = updates[updates.length - 1]!;
    t.match(u, { full: false, announced: 1, withdrawn: 1, vrps: 3 }, 'an incremental update');
    t.ok(c.state().serial! > serial, 'a newer serial');
    t.equal(c.state().sessionId, st.sessionId, 'same session');
    t.equal(c.validate(P('192.0.2.0/24'), 64500), 'not-found');
    t.equal(c.validate(P('203.0.113.0/24'), 64500), 'invalid', 'the AS 0 VRP');
    t.ok(u.affected.covers(P('192.0.2.0/24')) && u.affected.covers(P('203.0.113.0/25')));
    t.notOk(u.affected.covers(P('198.51.100.0/24')));
  });

  t.test('failover to a second stayrtr, then expiry when both are gone', async (t) => {
    const file = join(dir, 'failover.json');
    writeVrps(file, [A, B]);
    const first = await stayrtr(t, file, { refresh: 1, expire: 2 });
    const second = await stayrtr(t, file, { refresh: 1, expire: 2 });
    const c = new RtrClient({
      servers: [
        { address: '127.0.0.1', port: second.port, preference: 20 },
        { address: '127.0.0.1', port: first.port, preference: 10 },
      ],
      retry: 0.2,
      connectTimeout: 2,
    });
    t.teardown(() => c.stop());
    c.start();
    await until(
      'synced from the preferred stayrtr',
      () => c.table.size === 2 && c.state().cache?.port === first.port,
      15_000,
    );
    t.equal(c.state().expire, 2, "stayrtr's expire from End of Data");
    await first.d.kill();
    await until(
      'synced from the second stayrtr',
      () => c.state().cache?.port === second.port && c.state().connection === 'established',
      15_000,
    );
    t.equal(c.validate(P('192.0.2.0/24'), 64999), 'invalid', 'data kept through the failover');
    await second.d.kill();
    const killed = Date.now();
    await until('data expired', () => c.state().data === 'expired', 15_000);
    t.ok(Date.now() - killed < 4000, 'within about expire (2 s) of the last update');
    t.equal(c.validate(P('192.0.2.0/24'), 64999), 'not-found', 'NotFound, not a stale Invalid');
    t.equal(c.validate(P('192.0.2.0/24'), 64500), 'not-found', 'NotFound, not a stale Valid');
  });
}
