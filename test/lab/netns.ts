/**
 * Running commands inside network namespaces the lab created, and remembering every process it
 * started so that cleanup ends exactly those (by PID, never by name). Used by topology.ts, the
 * lab tests and bench/dataplane.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface ExecOptions {
  timeoutMs?: number;
  /** Resolve with a non-zero code instead of rejecting. */
  allowFail?: boolean;
  input?: string;
}

/** Run `argv` in namespace `ns` (or the caller's namespace when ns is null). */
export function nsExec(ns: string | null, argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const full = ns === null ? argv : ['ip', 'netns', 'exec', ns, ...argv];
  return new Promise((resolve, reject) => {
    const child = execFile(
      full[0]!,
      full.slice(1),
      { timeout: opts.timeoutMs ?? 30_000, maxBuffer: 64 * 1024 * 1024, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        const res = { stdout: String(stdout), stderr: String(stderr), code };
        if (code !== 0 && !opts.allowFail) {
          reject(
            new Error(
              `${full.join(' ')} exited ${code}${err?.killed ? ' (killed: timeout)' : ''}: ${stderr}`,
            ),
          );
        } else {
          resolve(res);
        }
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Synchronous variant for the process 'exit' hook, where nothing asynchronous runs. */
export function nsExecSync(ns: string | null, argv: string[]): number {
  const full = ns === null ? argv : ['ip', 'netns', 'exec', ns, ...argv];
  const r = spawnSync(full[0]!, full.slice(1), { stdio: 'ignore', timeout: 10_000 });
  return r.status ?? 1;
}

/** A long-running process the lab started; its output is kept for diagnostics. */
export class LabProcess {
  readonly child: ChildProcess;
  readonly name: string;
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  #exitCode: number | null | undefined;

  /** Signals go to the process group this process leads (tools that fork workers, e.g. trafgen). */
  readonly group: boolean;

  constructor(name: string, child: ChildProcess, group = false) {
    this.name = name;
    this.child = child;
    this.group = group;
    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    // Keep only the tail: a daemon that logs a lot must not grow the test's memory.
    child.stdout?.on('data', (d: string) => {
      this.stdout = (this.stdout + d).slice(-1_000_000);
    });
    child.stderr?.on('data', (d: string) => {
      this.stderr = (this.stderr + d).slice(-200_000);
    });
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.#exitCode = code ?? (signal ? -1 : null);
        resolve(this.#exitCode);
      });
      child.on('error', () => {
        this.#exitCode = -1;
        resolve(-1);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.#exitCode === undefined;
  }

  #target(): number {
    return this.group ? -this.child.pid! : this.child.pid!;
  }

  /** `signal` (SIGTERM), then SIGKILL after `graceMs`; only this PID (or the group it leads). */
  async stop(graceMs = 3000, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (!this.running || this.child.pid === undefined) return this.exited;
    try {
      process.kill(this.#target(), signal);
    } catch {
      return this.exited;
    }
    const timer = setTimeout(() => {
      if (this.running && this.child.pid !== undefined) {
        try {
          process.kill(this.#target(), 'SIGKILL');
        } catch {}
      }
    }, graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  killSync(): void {
    if (this.running && this.child.pid !== undefined) {
      try {
        process.kill(this.#target(), 'SIGKILL');
      } catch {}
    }
  }
}

/**
 * Start `argv` inside `ns`. `ip netns exec` execs the command in place, so the PID we hold is the
 * command's own PID and killing it ends exactly what we started.
 */
export function nsSpawn(
  ns: string | null,
  name: string,
  argv: string[],
  opts: { env?: NodeJS.ProcessEnv; group?: boolean } = {},
): LabProcess {
  const full = ns === null ? argv : ['ip', 'netns', 'exec', ns, ...argv];
  const child = spawn(full[0]!, full.slice(1), {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: opts.env ?? process.env,
    // A new process group that we lead: its forked workers end with it.
    detached: opts.group ?? false,
  });
  return new LabProcess(name, child, opts.group ?? false);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Poll `fn` until it returns a truthy value or `timeoutMs` passes; returns the last value. */
export async function waitFor<T>(fn: () => Promise<T> | T, timeoutMs: number, stepMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  let v = await fn();
  while (!v && Date.now() < end) {
    await sleep(stepMs);
    v = await fn();
  }
  return v;
}

export interface SettleOptions {
  /** Also wait until this holds (e.g. the packets the test sent have all been counted). */
  until?: (c: Record<string, number>) => boolean;
  /** Keys that move on their own (keepalives every 200 ms) and are left out of the comparison. */
  ignore?: RegExp;
  /** Two reads this far apart must agree (default 250 ms). */
  quietMs?: number;
  /** Give up after this long and return the last read (default 15 s); the caller's exact asserts
   * then fail with the numbers. */
  timeoutMs?: number;
}

/**
 * Reads flattened counters until they have stopped moving: `until` holds and two reads `quietMs`
 * apart are equal. Workers count asynchronously and the kernel sends traffic of its own into a
 * fresh TUN (MLD reports at random times in the first second), so a baseline taken at once, or
 * a delta read after a fixed sleep, can catch either half-way. Returns the last read and whether
 * it settled (false: the deadline passed).
 */
export async function settle(
  read: () => Promise<Record<string, number>>,
  opts: SettleOptions = {},
): Promise<{ counters: Record<string, number>; settled: boolean; ms: number }> {
  const quiet = opts.quietMs ?? 250;
  const t0 = Date.now();
  const end = t0 + (opts.timeoutMs ?? 15_000);
  const same = (a: Record<string, number>, b: Record<string, number>) => {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) if (!opts.ignore?.test(k) && (a[k] ?? 0) !== (b[k] ?? 0)) return false;
    return true;
  };
  let prev = await read();
  for (;;) {
    await sleep(quiet);
    const cur = await read();
    if ((!opts.until || opts.until(cur)) && same(prev, cur))
      return { counters: cur, settled: true, ms: Date.now() - t0 };
    if (Date.now() >= end) return { counters: cur, settled: false, ms: Date.now() - t0 };
    prev = cur;
  }
}

/** Whether a command is on PATH (for skip messages naming the missing Debian package). */
export function haveCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}
