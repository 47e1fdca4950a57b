/**
 * Daemons started by the interop tests and the propagation bench: spawned (optionally inside a
 * network namespace) with their output kept, waited on by pattern, frozen, thawed and ended by
 * PID only. A process-exit hook SIGKILLs whatever is still running so a crashed test leaves
 * nothing behind.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

const live = new Set<Daemon>();
let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const d of live) d.killNow();
  });
}

export interface SpawnOptions {
  /** Run inside this network namespace (`ip netns exec` execs in place, so the PID is the daemon's). */
  netns?: string | undefined;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

export class Daemon {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<number | null>;
  #out = '';
  #waiters = new Set<() => void>();
  #exitCode: number | null | undefined;

  constructor(name: string, argv: string[], opts: SpawnOptions = {}) {
    this.name = name;
    const full = opts.netns ? ['ip', 'netns', 'exec', opts.netns, ...argv] : argv;
    this.child = spawn(full[0]!, full.slice(1), {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: opts.cwd,
      env: opts.env ?? process.env,
    });
    if (this.child.pid === undefined) throw new Error(`${name}: could not spawn ${full[0]}`);
    this.pid = this.child.pid;
    live.add(this);
    hookExit();
    const take = (d: Buffer) => {
      // Keep the tail only: a chatty daemon must not grow the test's memory without bound.
      this.#out = (this.#out + d.toString('utf8')).slice(-4_000_000);
      for (const w of this.#waiters) w();
    };
    this.child.stdout!.on('data', take);
    this.child.stderr!.on('data', take);
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.#exitCode = code ?? (signal ? -1 : null);
        live.delete(this);
        for (const w of this.#waiters) w();
        resolve(this.#exitCode);
      });
    });
  }

  /** stdout and stderr interleaved, as text. */
  get output(): string {
    return this.#out;
  }

  get running(): boolean {
    return this.#exitCode === undefined;
  }

  /** Resolves with the first match of `re` in the output (from `from` on), rejects on timeout/exit. */
  waitFor(re: RegExp, timeoutMs = 15_000, from = 0): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const m = this.#out.slice(from).match(re);
        if (m) return done(() => resolve(m));
        if (!this.running)
          return done(() =>
            reject(
              new Error(
                `${this.name} exited (${this.#exitCode}) before ${re}; tail:\n${this.#out.slice(-3000)}`,
              ),
            ),
          );
      };
      const timer = setTimeout(
        () =>
          done(() =>
            reject(
              new Error(`${this.name}: no ${re} within ${timeoutMs} ms; tail:\n${this.#out.slice(-3000)}`),
            ),
          ),
        timeoutMs,
      );
      const done = (f: () => void) => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        f();
      };
      this.#waiters.add(check);
      check();
    });
  }

  signal(sig: NodeJS.Signals): void {
    if (this.running) process.kill(this.pid, sig);
  }

  /** SIGTERM, then SIGKILL after `graceMs`; always CONTs first so a frozen daemon can die. */
  async stop(graceMs = 5000): Promise<number | null> {
    if (!this.running) return this.exited;
    try {
      process.kill(this.pid, 'SIGCONT');
      process.kill(this.pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
    const timer = setTimeout(() => this.killNow(), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  async kill(): Promise<void> {
    this.killNow();
    await this.exited;
  }

  killNow(): void {
    if (!this.running) return;
    try {
      process.kill(this.pid, 'SIGCONT');
      process.kill(this.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

export function haveCommand(cmd: string): boolean {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    if (dir && existsSync(`${dir}/${cmd}`)) return true;
  }
  return false;
}

export const isRoot = (): boolean => process.getuid?.() === 0;

/** Why interop cannot run here, or undefined when it can. */
export function missing(cmds: string[]): string | undefined {
  if (!isRoot()) return 'needs root (network namespaces, port 179)';
  const lacking = cmds.filter((c) => !haveCommand(c));
  if (lacking.length > 0) return `missing ${lacking.join(', ')} (apt-get install bird2 gobgpd iproute2)`;
  return undefined;
}

export function run(argv: string[], timeoutMs = 10_000): string {
  return execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: timeoutMs, stdio: 'pipe' });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Poll `f` until it returns a non-undefined value; the last error/value goes into the message. */
export async function until<T>(
  what: string,
  f: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15_000,
  everyMs = 200,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`,
      );
    }
    await sleep(everyMs);
  }
}
