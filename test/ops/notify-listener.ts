/**
 * A real sd_notify receiver for the tests: an AF_UNIX datagram socket bound to a path or an
 * abstract name (`@name`), as systemd's notify socket is, in a python3 standard-library process
 * (an implementation that is not ours). Each datagram comes back with the sender's PID (from
 * SCM_CREDENTIALS, what systemd's NotifyAccess=main checks) and its arrival on CLOCK_MONOTONIC.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import type { Test } from 'tap';

const RECEIVER = `
import json, socket, struct, sys, time
addr = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind('\\0' + addr[1:] if addr.startswith('@') else addr)
print(json.dumps({"bound": addr}), flush=True)
while True:
    data, anc, _, _ = s.recvmsg(65536, socket.CMSG_SPACE(12))
    now = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    pid = None
    for level, kind, payload in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("iii", payload[:12])[0]
    print(json.dumps({"data": data.decode(), "pid": pid, "monoUs": now}), flush=True)
`;

export interface Datagram {
  data: string;
  /** The sender's PID as the kernel reports it. */
  pid: number;
  /** Arrival time, CLOCK_MONOTONIC microseconds. */
  monoUs: number;
}

export interface NotifyListener {
  readonly address: string;
  readonly received: Datagram[];
  /** Resolves with the first datagram (from index `from` on) that `match` accepts. */
  next(match: (d: Datagram) => boolean, ms: number, what: string, from?: number): Promise<Datagram>;
}

/** Why the listener cannot run here, or undefined. */
export function listenerMissing(): string | undefined {
  const r = spawnSync('python3', ['-c', 'import socket; socket.SCM_CREDENTIALS'], { stdio: 'ignore' });
  return r.status === 0 ? undefined : 'python3 is not installed (the sd_notify receiver is a python3 script)';
}

/** Binds `address`; the receiver is killed (by PID) in t's teardown. */
export async function startListener(t: Test, address: string): Promise<NotifyListener> {
  const child: ChildProcess = spawn('python3', ['-c', RECEIVER, address], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  });
  const received: Datagram[] = [];
  let bound = false;
  let err = '';
  let buf = '';
  const waiters = new Set<() => void>();
  child.stderr?.on('data', (d) => {
    err += d;
  });
  child.stdout?.on('data', (d) => {
    buf += d;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = JSON.parse(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      if (line.bound) bound = true;
      else received.push(line as Datagram);
    }
    for (const w of waiters) w();
  });
  child.on('exit', () => {
    for (const w of waiters) w();
  });
  const until = (cond: () => boolean, ms: number, what: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = () => {
        if (cond()) {
          done();
          resolve();
        } else if (child.exitCode !== null) {
          done();
          reject(new Error(`the sd_notify receiver exited waiting for ${what}: ${err}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(
            `timed out after ${ms} ms waiting for ${what}; received ${JSON.stringify(received.map((d) => d.data))}`,
          ),
        );
      }, ms);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  await until(() => bound, 20_000, `the receiver to bind ${address}`);
  return {
    address,
    received,
    async next(match, ms, what, from = 0) {
      let found: Datagram | undefined;
      await until(
        () => {
          found = received.slice(from).find(match);
          return found !== undefined;
        },
        ms,
        what,
      );
      return found as Datagram;
    },
  };
}
