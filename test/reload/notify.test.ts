/**
 * sd_notify around reloads (issue 10 with issue 11's notifier): the compiled gredged under a real
 * AF_UNIX datagram receiver says RELOADING=1 with MONOTONIC_USEC= before a reload and READY=1
 * after it, for a reload that applies (gredgectl, SIGHUP), one that is refused (a broken file)
 * and the rollback of an unconfirmed `--confirm-within`; `reload --check` applies nothing and
 * says nothing.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { cannotRun } from '../must-run.js';
import { type Datagram, listenerMissing, startListener } from '../ops/notify-listener.js';

const root = join(import.meta.dirname, '../../..');
const MAIN = join(root, 'dist/src/main.js');
const CTL = join(root, 'dist/src/control/cli/gredgectl.js');
const missing = listenerMissing();

const yaml = (sock: string, level: string) =>
  `router-id: 127.0.0.1\nlocal-as: 65000\nfib: false\nmetrics: false\nlog: { level: ${level} }\ncontrol: { socket: ${JSON.stringify(sock)} }\n`;

function ctl(sock: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CTL, '--socket', sock, ...args],
      { env: { ...process.env, GREDGE_SOCKET: '' }, timeout: 60_000 },
      (err, stdout, stderr) =>
        resolve({
          code: err ? (typeof err.code === 'number' ? err.code : 99) : 0,
          stdout: String(stdout),
          stderr: String(stderr),
        }),
    );
  });
}

if (missing) {
  t.test('sd_notify around reloads', async (t) => cannotRun(t, missing));
} else {
  t.test('sd_notify around reloads', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'gredge-reload-notify-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const sock = join(dir, 'ctl.sock');
    const file = join(dir, 'gredge.yaml');
    writeFileSync(file, yaml(sock, 'info'));
    const l = await startListener(t, `@gredge-reload-notify-${process.pid}`);
    const child = spawn(process.execPath, [MAIN, '--config', file], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NOTIFY_SOCKET: l.address },
    });
    t.teardown(() => {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined)
        process.kill(child.pid, 'SIGKILL');
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    await l.next((d) => d.data.startsWith('READY=1'), 30_000, 'READY=1 at start-up');

    const data = (from: number) => l.received.slice(from).map((d) => d.data);
    const isReloading = (d: Datagram) => d.data.startsWith('RELOADING=1');
    /** The RELOADING=1 … READY=1 pair from index `from` on (waits for the READY=1). */
    const pair = async (from: number, what: string) => {
      const rel = await l.next(isReloading, 30_000, `RELOADING=1 (${what})`, from);
      const at = l.received.indexOf(rel);
      const ready = await l.next((d) => d.data === 'READY=1', 30_000, `READY=1 (${what})`, at + 1);
      t.match(rel.data, /^RELOADING=1\nMONOTONIC_USEC=\d+$/, `${what}: RELOADING=1 with MONOTONIC_USEC`);
      const usec = Number(/MONOTONIC_USEC=(\d+)/.exec(rel.data)?.[1]);
      t.ok(
        usec <= rel.monoUs && rel.monoUs - usec < 5_000_000,
        `${what}: MONOTONIC_USEC is the sending time`,
      );
      t.equal(rel.pid, child.pid, `${what}: from the main PID`);
      return l.received.indexOf(ready) + 1;
    };

    let mark = l.received.length;
    writeFileSync(file, yaml(sock, 'debug'));
    let r = await ctl(sock, ['reload']);
    t.equal(r.code, 0, `gredgectl reload applies: ${r.stderr}`);
    mark = await pair(mark, 'gredgectl reload');

    writeFileSync(file, 'router-id: 127.0.0.1\nlocal-as: [65000\n');
    r = await ctl(sock, ['reload']);
    t.equal(r.code, 1, 'a broken file is refused');
    mark = await pair(mark, 'a refused reload');

    // --check says nothing: the next datagrams are the SIGHUP reload's pair.
    writeFileSync(file, yaml(sock, 'info'));
    r = await ctl(sock, ['reload', '--check']);
    t.equal(r.code, 0, r.stderr);
    const beforeHup = mark;
    child.kill('SIGHUP');
    mark = await pair(mark, 'SIGHUP');
    t.equal(
      data(beforeHup).filter((d) => d.startsWith('RELOADING=1')).length,
      1,
      '--check sent no RELOADING=1',
    );

    writeFileSync(file, yaml(sock, 'warn'));
    r = await ctl(sock, ['reload', '--confirm-within', '1']);
    t.equal(r.code, 0, r.stderr);
    mark = await pair(mark, 'reload --confirm-within 1');
    mark = await pair(mark, 'the rollback');
    const end = Date.now() + 30_000;
    while (!out.includes('reload: rolled back') && Date.now() < end)
      await new Promise((r) => setTimeout(r, 50));
    t.match(out, /reload: rolled back/, 'the log says it rolled back');

    child.kill('SIGTERM');
    await l.next((d) => d.data === 'STOPPING=1', 30_000, 'STOPPING=1', mark);
  });
}
