/**
 * Issue 11, logs: JSON lines with the fields tools grep (`level`, `time`, `name`, `msg`, and the
 * child's bindings such as `neighbor`) when stdout is not a terminal (journald, a pipe, a file);
 * pino-pretty's rendering when it is one (a pseudo-terminal made by python3's os.openpty); a
 * level changed at runtime reaches child loggers made before the change; the lines logged just
 * before `process.exit` after a flush all come out, in order.
 */
import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import t, { type Test } from 'tap';
import { createLogger } from '../../src/observe/log.js';
import { cannotRun } from '../must-run.js';
import { listenerMissing } from './notify-listener.js';

const logModule = new URL('../../src/observe/log.js', import.meta.url).href;
// Logs as gredged does: the root, a neighbor's child, then exits.
const SCRIPT = `
import(${JSON.stringify(logModule)}).then(({ createLogger }) => {
  const log = createLogger('info');
  log.info({ routerId: '192.0.2.1' }, 'gredged started');
  log.child({ module: 'bgp', neighbor: 'cust-a' }).warn({ from: 'Active', to: 'Idle' }, 'state Active → Idle');
  log.flush(() => process.exit(0));
});`;

/** Runs the script with stdout on a pipe, or on a pseudo-terminal (python3 relays it). */
function run(t: Test, tty: boolean): Promise<string> {
  const args = tty
    ? ['python3', '-c', PTY, process.execPath, '--input-type=module', '-e', SCRIPT]
    : [process.execPath, '--input-type=module', '-e', SCRIPT];
  const child = spawn(args[0] as string, args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  const pids: number[] = [];
  t.teardown(() => {
    for (const pid of [child.pid, ...pids]) {
      try {
        if (pid !== undefined) process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    err += d;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`timed out after 30000 ms; so far: ${out} ${err}`)),
      30_000,
    );
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (tty) {
        // The first line is the PID of the process on the terminal, for the teardown.
        const nl = out.indexOf('\n');
        pids.push(Number(out.slice(0, nl)));
        out = out.slice(nl + 1);
      }
      if (code === 0) resolve(out);
      else reject(new Error(`exit ${code}: ${out} ${err}`));
    });
  });
}

const PTY = `
import os, subprocess, sys
master, slave = os.openpty()
p = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
os.close(slave)
print(p.pid, flush=True)
while True:
    try:
        data = os.read(master, 65536)
    except OSError:
        break
    if not data:
        break
    sys.stdout.buffer.write(data)
    sys.stdout.flush()
sys.exit(p.wait())
`;

t.test('JSON lines when stdout is not a terminal', async (t) => {
  const lines = (await run(t, false)).trim().split('\n');
  t.equal(lines.length, 2, lines.join('\n'));
  const [root, child] = lines.map((l) => JSON.parse(l));
  t.match(root, { level: 30, name: 'gredged', msg: 'gredged started', routerId: '192.0.2.1' });
  t.match(root.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'time: ISO 8601');
  t.match(child, {
    level: 40,
    module: 'bgp',
    neighbor: 'cust-a',
    msg: 'state Active → Idle',
    from: 'Active',
  });
});

t.test(
  'the last lines before exit are all there, in order (flush waits for the write in flight)',
  async (t) => {
    // SonicBoom's flush returned at once with a write in flight, and the lines came out swapped
    // in about one exit in four here: twelve exits, four at a time.
    for (let round = 0; round < 3; round++) {
      const outs = await Promise.all([0, 1, 2, 3].map(() => run(t, false)));
      for (const out of outs) {
        const msgs = out
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l).msg);
        t.same(msgs, ['gredged started', 'state Active → Idle']);
      }
    }
  },
);

const noPython = listenerMissing();
t.test('pino-pretty when stdout is a terminal', async (t) => {
  if (noPython) return cannotRun(t, noPython);
  const out = (await run(t, true)).replace(/\x1b\[[0-9;]*m/g, '');
  t.notMatch(out, /^\{/m, 'no JSON line');
  t.match(out, /INFO.*gredged started/);
  t.match(out, /WARN.*state Active → Idle/);
  t.match(out, /neighbor: "cust-a"/);
});

t.test('a level set at runtime reaches children made before it', async (t) => {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).trim().split('\n')) lines.push(JSON.parse(l));
      cb();
    },
  });
  const log = createLogger('info', sink);
  const neighbor = log.child({ module: 'bgp', neighbor: 'n1' });
  const tunnel = log.child({ module: 'dataplane' }).child({ tunnel: 't1' });
  neighbor.debug('not yet');
  log.level = 'debug'; // what `gredgectl log level debug` does
  neighbor.debug('now');
  tunnel.debug('now too');
  log.level = 'warn';
  neighbor.info('quiet again');
  await new Promise((r) => setImmediate(r));
  t.same(
    lines.map((l) => [l.level, l.neighbor ?? l.tunnel, l.msg]),
    [
      [20, 'n1', 'now'],
      [20, 't1', 'now too'],
    ],
  );
});
