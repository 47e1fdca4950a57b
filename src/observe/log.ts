/**
 * Structured logs (pino, JSON lines on stdout: journald keeps them). Modules take a `Logger` and
 * make children with their own bindings (`{ neighbor: 'upstream' }`, `{ tunnel: 'cust-a' }`);
 * nothing logs per prefix or per packet. Children follow the root's level until they set their
 * own, so `gredgectl log level` changes every module's output at once.
 *
 * When stdout is a terminal (someone running gredged by hand) the lines are rendered by
 * pino-pretty instead; under systemd, in a pipe or in a file, they stay JSON.
 */
import { createRequire } from 'node:module';
import { pino } from 'pino';

export type Logger = pino.Logger;

export function createLogger(level = 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    { level, base: { name: 'gredged' }, timestamp: pino.stdTimeFunctions.isoTime },
    destination ?? (process.stdout.isTTY ? prettyStdout() : undefined) ?? stdoutJson(),
  );
}

/** Longest a flush waits for the line being written (a stuck journald must not stall exit). */
const FLUSH_WAIT_MS = 2000;

/**
 * fd 1 written from libuv's thread pool (sync: false): a slow reader of stdout never blocks the
 * event loop. SonicBoom's own flush() returns at once in this mode (minLength 0) even while a
 * write is in flight, and the flushSync that pino runs at exit then writes the lines queued
 * behind it first: the last lines before `process.exit` came out swapped or were lost. So
 * flush(cb) here waits until every byte handed to the stream was written (its documented
 * 'write' and 'drain' events), at most FLUSH_WAIT_MS.
 */
function stdoutJson(): pino.DestinationStream {
  const dest = pino.destination({ dest: 1, sync: false });
  let pending = 0;
  const write = dest.write.bind(dest);
  dest.write = (data: string) => {
    pending += Buffer.byteLength(data);
    return write(data);
  };
  dest.on('write', (n: number) => {
    pending = Math.max(0, pending - n);
  });
  dest.flush = (cb?: (err?: Error) => void) => {
    if (pending === 0) return void cb?.();
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      dest.off('drain', onDrain);
      dest.off('error', finish);
      cb?.(err);
    };
    const onDrain = () => {
      if (pending === 0) finish();
    };
    const timer = setTimeout(() => finish(new Error('log flush timed out')), FLUSH_WAIT_MS);
    dest.on('drain', onDrain);
    dest.once('error', finish);
  };
  return dest;
}

/**
 * pino-pretty on fd 1, synchronous (a person reading a terminal, so no line is lost on exit);
 * undefined when it cannot be loaded, and the caller falls back to JSON.
 */
function prettyStdout(): pino.DestinationStream | undefined {
  try {
    const require = createRequire(import.meta.url);
    const pretty = require('pino-pretty') as (opts: object) => pino.DestinationStream;
    return pretty({ destination: 1, sync: true, colorize: true, translateTime: 'SYS:standard' });
  } catch {
    return undefined;
  }
}

/** A logger that drops everything: for tests and benchmarks that do not read logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
