/**
 * gredged as an operator runs it: --check prints the normalized config, a bad config exits 2
 * with file:line:column messages, a good one starts, listens and stops cleanly on SIGTERM.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { freePort } from '../ports.js';

const root = join(import.meta.dirname, '../../..');
const main = join(root, 'dist/src/main.js');

t.test('--check prints the normalized example config', async (t) => {
  const r = spawnSync(process.execPath, [
    main,
    '--config',
    join(root, 'config/gredge.example.yaml'),
    '--check',
  ]);
  t.equal(r.status, 0, r.stderr.toString());
  t.match(r.stdout.toString(), /local-as: 65000/);
  t.match(r.stdout.toString(), /name: cust-a[\s\S]*hold-time: 90/);
});

t.test('a bad config exits 2 naming file, line, column and field', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gredge-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'bad.yaml');
  writeFileSync(
    file,
    'router-id: 127.0.0.1\nlocal-as: 65000\nneighbors:\n  - name: x\n    address: 127.0.0.9\n    remote-as: nope\n    role: peer\n',
  );
  const r = spawnSync(process.execPath, [main, '--config', file]);
  t.equal(r.status, 2);
  t.match(r.stderr.toString(), `${file}:6:16: neighbors[0].remote-as: must be an integer`);
});

t.test('missing --config and unknown flags exit 2 with usage', async (t) => {
  for (const args of [[], ['--confgi', 'x']]) {
    const r = spawnSync(process.execPath, [main, ...args]);
    t.equal(r.status, 2);
    t.match(r.stderr.toString(), /usage: gredged --config FILE/);
  }
});

t.test('starts, listens, stops on SIGTERM with exit 0', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gredge-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'ok.yaml');
  const port = await freePort('127.0.10.1');
  writeFileSync(
    file,
    `router-id: 127.0.0.1\nlocal-as: 65000\nlisten: { address: 127.0.10.1, port: ${port} }\nneighbors:\n  - { name: p, address: 127.0.10.2, remote-as: 65001, role: peer, passive: true }\nfib: false\ncontrol: false\nmetrics: false\n`,
  );
  const child = spawn(process.execPath, [main, '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  // Deadlines, not expected durations: a node start on a loaded 2-core machine can take seconds.
  await waitFor(() => out.includes('gredged started'), 30_000, 'gredged started');
  await new Promise<void>((resolve, reject) => {
    const s = createConnection({ host: '127.0.10.1', port }, () => {
      s.destroy();
      resolve();
    });
    s.on('error', reject);
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  // A daemon that hangs on SIGTERM fails here with a message instead of at tap's file timeout.
  t.equal(await withDeadline(exited, 30_000, 'gredged to exit after SIGTERM'), 0);
  t.match(out, /gredged stopped/);
});

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
