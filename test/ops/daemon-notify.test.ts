/**
 * Issue 11: the compiled gredged as systemd runs it (Type=notify, WatchdogSec=): with
 * NOTIFY_SOCKET and WATCHDOG_USEC set it sends READY=1 with a STATUS= line once started,
 * WATCHDOG=1 at half the watchdog period, and STOPPING=1 on SIGTERM before it exits 0; every
 * datagram from the daemon's own PID (NotifyAccess=main). The receiver is a real AF_UNIX
 * datagram socket, on a path and on an abstract name.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'node:net';
import t, { type Test } from 'tap';
import { cannotRun } from '../must-run.js';
import { freePort } from '../ports.js';
import { listenerMissing, startListener } from './notify-listener.js';

const root = join(import.meta.dirname, '../../..');
const main = join(root, 'dist/src/main.js');
const missing = listenerMissing();

interface Gredged {
  pid: number;
  out: () => string;
  exited: Promise<number | null>;
  kill: (signal: NodeJS.Signals) => void;
}

/** The compiled gredged on `yaml`; killed by PID in t's teardown if still running. */
function startGredged(t: Test, yaml: string, env: NodeJS.ProcessEnv): Gredged {
  const dir = mkdtempSync(join(tmpdir(), 'gredge-notify-daemon-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'gredge.yaml');
  writeFileSync(file, yaml);
  const child = spawn(process.execPath, [main, '--config', file], { stdio: ['ignore', 'pipe', 'pipe'], env });
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
  return {
    pid: child.pid as number,
    out: () => out,
    exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
    kill: (signal) => child.kill(signal),
  };
}

const NO_NEIGHBORS = 'router-id: 127.0.0.1\nlocal-as: 65000\nfib: false\ncontrol: false\nmetrics: false\n';

if (missing) {
  t.test('gredged under a notify socket', async (t) => cannotRun(t, missing));
} else {
  for (const kind of ['path', 'abstract'] as const) {
    t.test(`gredged: READY=1, STATUS, WATCHDOG=1, STOPPING=1 (${kind} socket)`, async (t) => {
      const dir = mkdtempSync(join(tmpdir(), 'gredge-notify-sock-'));
      t.teardown(() => rmSync(dir, { recursive: true, force: true }));
      const address = kind === 'path' ? join(dir, 'notify.sock') : `@gredge-daemon-${process.pid}-${kind}`;
      const l = await startListener(t, address);
      const g = startGredged(t, NO_NEIGHBORS, {
        ...process.env,
        NOTIFY_SOCKET: address,
        WATCHDOG_USEC: '1000000',
      });

      // Deadlines, not expected durations: a node start on a loaded 2-core machine takes seconds.
      const ready = await l.next((d) => d.data.startsWith('READY=1'), 30_000, 'READY=1');
      t.equal(ready.data, 'READY=1\nSTATUS=0 neighbors, 0 established; 0 tunnels');
      t.equal(ready.pid, g.pid, 'from the main PID');
      const readyAt = l.received.indexOf(ready);
      // Half of WATCHDOG_USEC: a ping every 500 ms; three after READY=1 within a generous deadline.
      const pings = () => l.received.slice(readyAt).filter((d) => d.data === 'WATCHDOG=1');
      await l.next(() => pings().length >= 3, 30_000, 'three WATCHDOG=1 after READY=1');
      for (const p of pings()) t.equal(p.pid, g.pid, 'WATCHDOG=1 from the main PID');
      const at = pings().map((d) => d.monoUs);
      for (let i = 1; i < at.length; i++)
        t.ok(
          (at[i] as number) - (at[i - 1] as number) >= 250_000,
          'pings are not faster than WATCHDOG_USEC/2',
        );

      const before = l.received.length;
      g.kill('SIGTERM');
      const stopping = await l.next((d) => d.data === 'STOPPING=1', 30_000, 'STOPPING=1', before);
      t.equal(stopping.pid, g.pid);
      t.equal(await withDeadline(g.exited, 30_000, 'gredged to exit after SIGTERM'), 0, g.out());
      const after = l.received.slice(before).map((d) => d.data);
      t.notOk(
        after.some((d) => d.startsWith('READY=1') || d.startsWith('STATUS=')),
        'nothing but pings after STOPPING=1',
      );
      t.match(g.out(), /gredged started[\s\S]*gredged stopped/);
    });
  }

  t.test('READY=1 means the BGP listener is bound', async (t) => {
    const l = await startListener(t, `@gredge-daemon-${process.pid}-listener`);
    const port = await freePort('127.0.11.1');
    const g = startGredged(
      t,
      `router-id: 127.0.0.1\nlocal-as: 65000\nlisten: { address: 127.0.11.1, port: ${port} }\nneighbors:\n  - { name: p, address: 127.0.11.2, remote-as: 65001, role: peer, passive: true }\nfib: false\ncontrol: false\nmetrics: false\n`,
      { ...process.env, NOTIFY_SOCKET: l.address },
    );
    const ready = await l.next((d) => d.data.startsWith('READY=1'), 30_000, 'READY=1');
    t.equal(ready.data, 'READY=1\nSTATUS=1 neighbor, 0 established; 0 tunnels');
    // At once, no retry: the port answers the moment systemd would call the service started.
    await new Promise<void>((resolve, reject) => {
      const s = createConnection({ host: '127.0.11.1', port }, () => {
        s.destroy();
        resolve();
      });
      s.on('error', reject);
    });
    g.kill('SIGTERM');
    t.equal(await withDeadline(g.exited, 30_000, 'gredged to exit after SIGTERM'), 0, g.out());
    await l.next((d) => d.data === 'STOPPING=1', 30_000, 'STOPPING=1');
  });
}

t.test('without NOTIFY_SOCKET gredged sends nothing and says nothing about it', async (t) => {
  const env = { ...process.env };
  delete env.NOTIFY_SOCKET;
  delete env.WATCHDOG_USEC;
  const g = startGredged(t, NO_NEIGHBORS, env);
  await waitFor(() => g.out().includes('gredged started'), 30_000, 'gredged started');
  g.kill('SIGTERM');
  t.equal(await withDeadline(g.exited, 30_000, 'gredged to exit after SIGTERM'), 0, g.out());
  t.notMatch(g.out(), /sd_notify/);
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
