/**
 * Commands for the lab: run one and wait (inside a namespace or not), start a daemon detached in
 * a namespace (it outlives `npm run lab`; its PID and start time go to the state file), and tell
 * whether a recorded PID is still that process (a PID can be reused; its start time cannot).
 */
import { execFile, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs argv (in namespace `ns` when given) and resolves with its exit code and output. */
export function run(
  argv: string[],
  opts: { ns?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  const full = opts.ns ? ['ip', 'netns', 'exec', opts.ns, ...argv] : argv;
  return new Promise((resolve) => {
    execFile(
      full[0]!,
      full.slice(1),
      {
        timeout: opts.timeoutMs ?? 30_000,
        killSignal: 'SIGKILL',
        maxBuffer: 16 << 20,
        ...(opts.env ? { env: opts.env } : {}),
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/** run(), but a non-zero exit is an error naming the command and what it said. */
export async function must(argv: string[], opts: Parameters<typeof run>[1] = {}): Promise<string> {
  const r = await run(argv, opts);
  if (r.code !== 0)
    throw new Error(
      `${opts.ns ? `(in ${opts.ns}) ` : ''}${argv.join(' ')} exited ${r.code}: ${(r.stderr || r.stdout).trim()}`,
    );
  return r.stdout;
}

export interface Daemon {
  name: string;
  ns: string;
  pid: number;
  /** /proc/PID/stat's start time (clock ticks since boot): the PID is still this process. */
  start: number;
  argv: string[];
  log: string;
}

/**
 * Starts argv in `ns`, detached (its own session and process group, which its children join:
 * the terminal's Ctrl-C and our exit leave it running), output appended to `log`. `ip netns exec` execs the command in place, so the PID is
 * the daemon's own. `onExit` hears of an early death while this process still runs.
 */
export function startDaemon(
  name: string,
  ns: string,
  argv: string[],
  log: string,
  onExit?: (code: number | null) => void,
): Daemon {
  const fd = openSync(log, 'a');
  try {
    const child = spawn('ip', ['netns', 'exec', ns, ...argv], {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    if (child.pid === undefined) throw new Error(`could not start ${name}: ${argv[0]} did not run`);
    child.on('exit', (code, signal) => onExit?.(code ?? (signal ? -1 : null)));
    child.on('error', () => onExit?.(-1));
    child.unref();
    return { name, ns, pid: child.pid, start: startTime(child.pid) ?? 0, argv, log };
  } finally {
    closeSync(fd);
  }
}

/** The start time of a live, non-zombie PID; undefined when there is no such process. */
export function startTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces and parentheses): state is field 3.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (rest[0] === 'Z' || rest[0] === 'X') return undefined;
    return Number(rest[19]);
  } catch {
    return undefined;
  }
}

/** The process group of a live PID (a daemon's children stay in the group the daemon leads). */
export function processGroup(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  } catch {
    return undefined;
  }
}

/** Whether the recorded daemon is still running (same PID, same start time). */
export function alive(d: Pick<Daemon, 'pid' | 'start'>): boolean {
  const s = startTime(d.pid);
  return s !== undefined && (d.start === 0 || s === d.start);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Polls `read` until `ok` holds or `timeoutMs` passes: the last value, whether it held, and how
 * long it took (the lab and the lab tests wait on everything this way, never a fixed sleep).
 */
export async function until<T>(
  read: () => Promise<T>,
  ok: (v: T) => boolean,
  timeoutMs: number,
  everyMs = 200,
): Promise<{ ok: boolean; value: T; ms: number }> {
  const t0 = Date.now();
  for (;;) {
    const value = await read();
    if (ok(value)) return { ok: true, value, ms: Date.now() - t0 };
    if (Date.now() - t0 > timeoutMs) return { ok: false, value, ms: Date.now() - t0 };
    await sleep(everyMs);
  }
}
