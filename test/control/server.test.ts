/**
 * The control server in-process, with a stub ControlTarget: answers and errors of every kind,
 * a target that throws, half-open clients (`printf … | nc -U`), the line limit, many clients at
 * once, route answers capped with the count of the rest, the socket file on start and stop.
 */
import { mkdtempSync, rmSync, statSync, existsSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { ControlClient } from '../../src/control/client.js';
import { ControlError, type RoutesArgs } from '../../src/control/protocol.js';
import { cursorOf } from '../../src/control/rows.js';
import { ControlServer } from '../../src/control/server.js';
import type { ControlTarget, RouteRow } from '../../src/control/target.js';
import { GredgeError } from '../../src/errors.js';
import { silentLogger } from '../../src/observe/log.js';

const dir = mkdtempSync(join(tmpdir(), 'gredge-ctlsrv-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const ROWS = 10_000;
const row = (i: number): RouteRow => ({
  family: 'ipv4-unicast',
  prefix: `10.${i >> 8}.${i & 255}.0/24`,
  neighbor: 'n1',
  best: true,
  asPath: '65001',
  origin: 'igp',
});

function stub(): ControlTarget & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    status: () => {
      calls.push('status');
      return { pid: process.pid } as never;
    },
    neighbors: () => [],
    neighbor: (ref) => {
      if (ref === 'boom') throw new TypeError('a bug in a module');
      throw new ControlError('not-found', `no neighbor named or at '${ref}'`);
    },
    routes: (q: RoutesArgs) => {
      function* rows() {
        for (let i = 0; i < ROWS; i++) yield i;
      }
      return cursorOf({ table: q.table, view: 'best' }, rows(), row);
    },
    tunnels: () => [],
    tunnel: (name) => {
      throw new ControlError('not-found', `no tunnel named '${name}'`);
    },
    setNeighborEnabled: async (ref, on) => {
      if (ref === 'late') throw new Error('rejected later');
      return { neighbor: ref, action: on ? 'enabled' : 'disabled', state: 'Idle' };
    },
    resetNeighbor: async () => {
      throw new ControlError('unsupported', 'no route refresh');
    },
    setLogLevel: (level) => ({ level, previous: 'info' }),
  };
}

async function server(t: Test, name: string, extra: { maxLine?: number } = {}) {
  const path = join(dir, name);
  const target = stub();
  const s = new ControlServer({ path, mode: 0o600, target, log: silentLogger(), ...extra });
  await s.start();
  t.teardown(() => s.stop());
  return { path, s, target };
}

/** Writes `text`, shuts the write side, returns every line the server sent until it closed. */
function halfOpen(path: string, text: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const c = net.connect({ path });
    let buf = '';
    c.setEncoding('utf8');
    c.on('data', (d) => {
      buf += d;
    });
    c.on('error', reject);
    c.on('close', () => resolve(buf.split('\n').filter(Boolean)));
    c.on('connect', () => c.end(text));
  });
}

t.test('answers, errors, and a target that throws', async (t) => {
  const { path, target } = await server(t, 'a.sock');
  t.equal((statSync(path).mode & 0o777).toString(8), '600');
  const c = await ControlClient.connect(path);
  t.teardown(() => c.close());
  t.match(await c.request('status'), { v: 1, id: 1, ok: true, result: { pid: process.pid } });
  t.match(await c.request('show neighbor', { neighbor: 'x' }), { ok: false, error: { code: 'not-found' } });
  t.match(await c.request('show neighbor', { neighbor: 'boom' }), {
    ok: false,
    error: { code: 'internal', message: /a bug in a module/ },
  });
  t.match(await c.request('neighbor disable', { neighbor: 'late' }), {
    ok: false,
    error: { code: 'internal', message: /rejected later/ },
  });
  t.match(await c.request('neighbor enable', { neighbor: 'n1' }), {
    ok: true,
    result: { action: 'enabled' },
  });
  t.match(await c.request('neighbor reset', { neighbor: 'n1', soft: true }), {
    ok: false,
    error: { code: 'unsupported' },
  });
  t.match(await c.request('reload', {}), { ok: false, error: { code: 'not-available' } });
  t.match(await c.request('log level', { level: 'warn' }), { ok: true, result: { level: 'warn' } });
  t.match(await c.request('status'), { ok: true }, 'still serving after all that');
  t.equal(target.calls.length, 2);
});

t.test('route answers: capped, with the count of the rest', async (t) => {
  const { path } = await server(t, 'r.sock');
  const c = await ControlClient.connect(path);
  t.teardown(() => c.close());
  const r = await c.request('show routes', { limit: 100 });
  t.match(r, {
    ok: true,
    result: { view: 'best', table: 'full', total: ROWS, more: ROWS - 100, limit: 100 },
  });
  t.equal((r as { result: { routes: unknown[] } }).result.routes.length, 100);
  const all = await c.request('show routes', { limit: ROWS });
  t.match(all, { ok: true, result: { total: ROWS, more: 0 } });
});

t.test('half-open clients get their answers, a last line without newline included', async (t) => {
  const { path } = await server(t, 'h.sock');
  const lines = await halfOpen(
    path,
    '{"v":1,"id":1,"cmd":"show routes","args":{"limit":5}}\n{"v":1,"id":2,"cmd":"status"}',
  );
  t.equal(lines.length, 2);
  const byId = Object.fromEntries(lines.map((l) => JSON.parse(l)).map((r) => [r.id, r]));
  t.match(byId[1], { ok: true, result: { total: ROWS } });
  t.match(byId[2], { ok: true });
});

t.test('the line limit', async (t) => {
  const { path } = await server(t, 'l.sock', { maxLine: 100 });
  const lines = await halfOpen(
    path,
    `{"v":1,"id":1,"cmd":"status"}\n${'z'.repeat(200)}\n{"v":1,"id":2,"cmd":"status"}\n`,
  );
  t.equal(lines.length, 2, 'the request before, then the error; nothing after');
  t.match(JSON.parse(lines[0]!), { id: 1, ok: true });
  t.match(JSON.parse(lines[1]!), {
    id: null,
    ok: false,
    error: { code: 'too-long', message: /longer than 100 bytes/ },
  });
});

t.test('many clients at once', async (t) => {
  const { path, s } = await server(t, 'm.sock');
  const clients = await Promise.all(Array.from({ length: 300 }, () => ControlClient.connect(path)));
  t.teardown(() => {
    for (const c of clients) c.close();
  });
  const answers = await Promise.all(
    clients.flatMap((c) => [c.request('status'), c.request('show routes', { limit: 10 })]),
  );
  t.ok(
    answers.every((a) => a.ok),
    '600 answers, all ok',
  );
  t.equal(s.connections, 300, 'every client served on a connection of its own');
});

t.test('start and stop: live refused, stale replaced, the file removed, bad group', async (t) => {
  const path = join(dir, 's.sock');
  const a = new ControlServer({ path, mode: 0o660, target: stub(), log: silentLogger() });
  await a.start();
  const b = new ControlServer({ path, mode: 0o660, target: stub(), log: silentLogger() });
  await t.rejects(b.start(), {
    code: 'ERR_CONTROL_IN_USE',
    message: `another gredged is running on ${path}`,
  });
  t.ok(existsSync(path), 'the live socket is left alone');
  await a.stop();
  t.notOk(existsSync(path), 'removed on stop');

  const g = new ControlServer({
    path: join(dir, 'g.sock'),
    mode: 0o660,
    group: 'no-such-group-here',
    target: stub(),
    log: silentLogger(),
  });
  const err = await g.start().then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof GredgeError && err.code === 'ERR_CONTROL_GROUP', 'an unknown group stops the start');
  t.notOk(existsSync(join(dir, 'g.sock')));

  const nested = join(dir, 'run', 'gredge', 'n.sock');
  const n = new ControlServer({ path: nested, mode: 0o660, target: stub(), log: silentLogger() });
  await n.start();
  t.equal((statSync(join(dir, 'run', 'gredge')).mode & 0o777).toString(8), '755', 'its directory made 0755');
  await n.stop();
});
