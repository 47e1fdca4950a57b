/**
 * Issue 11, sd_notify on the real protocol: src/observe/sdnotify.ts through the native addon's
 * sdNotify, received by a real AF_UNIX datagram socket (python3), bound to a filesystem path and
 * to an abstract name. The exact datagrams, the watchdog's cadence (and that a blocked event
 * loop stops it), MONOTONIC_USEC against the receiver's CLOCK_MONOTONIC, no-ops without
 * NOTIFY_SOCKET, and a clear error from an addon built before sdNotify existed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { loadNative } from '../../src/dataplane/native.js';
import { SdNotify, sendOf, statusLine, statusOf } from '../../src/observe/sdnotify.js';
import { cannotRun } from '../must-run.js';
import { type Datagram, listenerMissing, startListener } from './notify-listener.js';

const missing = listenerMissing();

const KINDS = ['a filesystem path', 'an abstract name'] as const;

/** A fresh receiver address of that kind for one test (a path's directory goes in teardown). */
function addressFor(t: Test, kind: (typeof KINDS)[number]): string {
  if (kind === 'an abstract name')
    return `@gredge-test-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const dir = mkdtempSync(join(tmpdir(), 'gredge-notify-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'notify.sock');
}

const isWatchdog = (d: Datagram) => d.data === 'WATCHDOG=1';

if (missing) {
  t.test('sd_notify against a real datagram socket', async (t) => cannotRun(t, missing));
} else {
  for (const kind of KINDS) {
    t.test(`the messages, on ${kind}`, async (t) => {
      const l = await startListener(t, addressFor(t, kind));
      const n = new SdNotify({ env: { NOTIFY_SOCKET: l.address } });
      t.teardown(() => n.close());
      t.ok(n.enabled);
      t.equal(n.watchdogMs, undefined, 'no WATCHDOG_USEC: no watchdog');
      n.ready('2 neighbors, 1 established; 3 tunnels');
      n.status('2 neighbors, 2 established; 3 tunnels');
      n.status('2 neighbors, 2 established; 3 tunnels'); // unchanged: not sent again
      n.status('line one\nline two');
      n.reloading();
      n.ready();
      n.stopping();
      n.ready('after stop'); // dropped: a start-up that ends after SIGTERM says nothing more
      n.status('after stop');
      await l.next((d) => d.data === 'STOPPING=1', 10_000, 'STOPPING=1');
      const data = l.received.map((d) => d.data);
      t.equal(data.length, 6, JSON.stringify(data));
      t.equal(data[0], 'READY=1\nSTATUS=2 neighbors, 1 established; 3 tunnels');
      t.equal(data[1], 'STATUS=2 neighbors, 2 established; 3 tunnels');
      t.equal(data[2], 'STATUS=line one line two', 'a newline would start another assignment');
      t.match(data[3], /^RELOADING=1\nMONOTONIC_USEC=\d+$/);
      t.equal(data[4], 'READY=1');
      t.equal(data[5], 'STOPPING=1');
      for (const d of l.received) t.equal(d.pid, process.pid, 'sent by this process (NotifyAccess=main)');
    });

    t.test(`MONOTONIC_USEC is CLOCK_MONOTONIC, on ${kind}`, async (t) => {
      const l = await startListener(t, addressFor(t, kind));
      const n = new SdNotify({ env: { NOTIFY_SOCKET: l.address } });
      n.reloading();
      const d = await l.next((d) => d.data.startsWith('RELOADING=1'), 10_000, 'RELOADING=1');
      const sent = Number(/MONOTONIC_USEC=(\d+)/.exec(d.data)?.[1]);
      // Sent before it arrived, and not long before: the receiver read the same clock.
      t.ok(sent <= d.monoUs, `${sent} <= arrival ${d.monoUs}`);
      t.ok(d.monoUs - sent < 5_000_000, `arrived ${d.monoUs - sent} µs after MONOTONIC_USEC`);
    });

    t.test(`watchdog pings at half of WATCHDOG_USEC, from the event loop, on ${kind}`, async (t) => {
      const l = await startListener(t, addressFor(t, kind));
      const n = new SdNotify({ env: { NOTIFY_SOCKET: l.address, WATCHDOG_USEC: '200000' } });
      t.teardown(() => n.close());
      t.equal(n.watchdogMs, 100);
      n.startWatchdog();
      // Ten pings are due within a second; the deadline is generous for a loaded machine.
      await l.next(() => l.received.filter(isWatchdog).length >= 10, 20_000, '10 WATCHDOG=1');
      const at = l.received.filter(isWatchdog).map((d) => d.monoUs);
      const gaps = at.slice(1).map((v, i) => (v - (at[i] as number)) / 1000);
      // Not faster than the interval (a timer never fires early; 50 ms allows for jitter in
      // delivery), and a ping per interval: not a burst, not one every few seconds.
      t.ok(Math.min(...gaps) >= 50, `gaps between pings (ms): ${gaps.map(Math.round).join(' ')}`);
      t.ok(median(gaps) >= 80 && median(gaps) <= 1000, `median gap ${median(gaps)} ms`);

      // The pings come from the event loop: blocked for 700 ms, it sends none meanwhile.
      const before = l.received.length;
      const end = Date.now() + 700;
      while (Date.now() < end) {
        // a loop that does not return to the event loop
      }
      const after = await l.next(isWatchdog, 20_000, 'a ping after the block', before);
      const last = l.received.slice(0, before).filter(isWatchdog).at(-1) as Datagram;
      t.ok(after.monoUs - last.monoUs >= 650_000, `no ping for ${(after.monoUs - last.monoUs) / 1000} ms`);
      n.close();
    });
  }

  t.test('WATCHDOG_PID of another process: no pings', async (t) => {
    const env = { NOTIFY_SOCKET: addressFor(t, 'an abstract name'), WATCHDOG_USEC: '200000' };
    t.equal(new SdNotify({ env: { ...env, WATCHDOG_PID: String(process.pid + 1) } }).watchdogMs, undefined);
    t.equal(new SdNotify({ env: { ...env, WATCHDOG_PID: String(process.pid) } }).watchdogMs, 100);
    t.equal(new SdNotify({ env: { ...env, WATCHDOG_USEC: '0' } }).watchdogMs, undefined);
  });

  t.test('a receiver that has gone: logged once, never thrown', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'gredge-notify-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const logged: string[] = [];
    const log = { error: (_o: unknown, msg: string) => logged.push(msg), warn: () => {} };
    const n = new SdNotify({
      env: { NOTIFY_SOCKET: join(dir, 'nobody.sock') },
      log: log as unknown as import('../../src/observe/log.js').Logger,
    });
    n.ready();
    n.status('a');
    n.status('b');
    t.equal(logged.length, 1, logged.join('\n'));
    t.match(logged[0], /sd_notify to '.*nobody\.sock': sendto: No such file or directory/);
  });
}

t.test('without NOTIFY_SOCKET every call is a no-op', async (t) => {
  const sent: string[] = [];
  const n = new SdNotify({ env: { WATCHDOG_USEC: '1000' }, send: (_a, m) => sent.push(m) });
  t.notOk(n.enabled);
  t.equal(n.watchdogMs, undefined);
  n.ready('x');
  n.reloading();
  n.status('y');
  n.startWatchdog();
  n.stopping();
  t.same(sent, []);
});

t.test(
  'a NOTIFY_SOCKET that is neither a path nor an @name is ignored (vsock: of newer systemd)',
  async (t) => {
    const sent: string[] = [];
    const n = new SdNotify({ env: { NOTIFY_SOCKET: 'vsock:2:1234' }, send: (_a, m) => sent.push(m) });
    t.notOk(n.enabled);
    n.ready();
    t.same(sent, []);
  },
);

t.test('an addon built before sdNotify: a clear error, not a crash', async (t) => {
  t.throws(() => sendOf({}), {
    code: 'ERR_NATIVE_LOAD',
    message: /built before sd_notify support.*node-gyp rebuild/,
  });
  t.type(sendOf(loadNative()), 'function', 'this build has it');
});

t.test('the native sdNotify validates what it is given', async (t) => {
  const send = sendOf(loadNative());
  t.throws(() => send('relative/path', 'READY=1'), {
    code: 'ERR_SD_NOTIFY',
    message: /not an absolute path or @name/,
  });
  t.throws(() => send(`/${'x'.repeat(120)}`, 'READY=1'), { code: 'ERR_SD_NOTIFY' });
  t.throws(() => (send as unknown as (a: number) => void)(1), { code: 'ERR_SD_NOTIFY_ARG' });
});

t.test('the status line', async (t) => {
  t.equal(
    statusLine({ neighbors: 3, established: 2, disabled: 0, tunnels: 10 }),
    '3 neighbors, 2 established; 10 tunnels',
  );
  t.equal(
    statusLine({ neighbors: 1, established: 0, disabled: 1, tunnels: 1 }),
    '1 neighbor, 0 established, 1 disabled; 1 tunnel',
  );
  const peers = new Map([
    ['a', { state: 'Established', enabled: true }],
    ['b', { state: 'Active', enabled: true }],
    ['c', { state: 'Idle', enabled: false }],
  ]);
  t.equal(statusOf({ peers, config: { tunnels: [] } }), '3 neighbors, 1 established, 1 disabled; 0 tunnels');
});

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}
