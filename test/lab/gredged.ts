/**
 * Starting gredge's data plane in a lab namespace from a YAML config, and talking to it: the
 * lab's runner (dp-runner.ts, JSON lines on stdin/stdout). Requests get a reply or a timeout,
 * never a hang; the process is tracked by the lab and ended by PID.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { type LabProcess, type SettleOptions, settle } from './netns.js';
import type { Lab, Role } from './topology.js';

const RUNNER = fileURLToPath(new URL('./dp-runner.js', import.meta.url));
const DAEMON = fileURLToPath(new URL('../../src/main.js', import.meta.url));

/**
 * How the lab runs gredge: `daemon` is the real gredged (`node dist/src/main.js --config FILE`);
 * `runner` is dp-runner.ts, needed where a test reads counters or changes tunnels while traffic
 * flows (gredged has no control socket for those yet).
 */
export type GredgeMode = 'daemon' | 'runner';

export class Gredge {
  readonly proc: LabProcess;
  readonly role: Role;
  readonly mode: GredgeMode;
  #buf = '';
  #nextId = 1;
  readonly #waiters = new Map<number, (v: { ok: boolean; result?: unknown; error?: string }) => void>();
  readonly events: unknown[] = [];
  #ready: Promise<void>;

  private constructor(lab: Lab, role: Role, config: string, mode: GredgeMode, env?: NodeJS.ProcessEnv) {
    this.role = role;
    this.mode = mode;
    const script = mode === 'daemon' ? DAEMON : RUNNER;
    this.proc = lab.spawn(role, `gredge-${role}`, [process.execPath, script, '--config', config], {
      env: env ? { ...process.env, ...env } : process.env,
    });
    let readyResolve!: () => void;
    let readyReject!: (e: Error) => void;
    this.#ready = new Promise((res, rej) => {
      readyResolve = res;
      readyReject = rej;
    });
    this.proc.child.stdout?.on('data', (d: string) => {
      this.#buf += d;
      let nl = this.#buf.indexOf('\n');
      while (nl >= 0) {
        const line = this.#buf.slice(0, nl);
        this.#buf = this.#buf.slice(nl + 1);
        nl = this.#buf.indexOf('\n');
        let msg: {
          id?: number;
          event?: string;
          ok?: boolean;
          result?: unknown;
          error?: string;
          msg?: string;
        };
        try {
          msg = JSON.parse(line);
        } catch {
          continue;
        }
        // gredged logs JSON lines (pino): it is ready once it says it started.
        if (msg.event === 'ready' || (mode === 'daemon' && msg.msg === 'gredged started')) readyResolve();
        else if (msg.event === 'failed') readyReject(new Error(`gredge on ${role} failed: ${msg.error}`));
        else if (msg.event) this.events.push(msg);
        else if (msg.id !== undefined) {
          this.#waiters.get(msg.id)?.(msg as { ok: boolean });
          this.#waiters.delete(msg.id);
        }
      }
    });
    void this.proc.exited.then((code) => {
      readyReject(
        new Error(`gredge on ${role} exited (${code}) before ready: ${this.proc.stderr.slice(-2000)}`),
      );
      for (const w of this.#waiters.values()) w({ ok: false, error: `gredge exited (${code})` });
      this.#waiters.clear();
    });
  }

  static async start(
    lab: Lab,
    role: Role,
    config: string,
    mode: GredgeMode = 'runner',
    timeoutMs = 15_000,
    env?: NodeJS.ProcessEnv,
  ): Promise<Gredge> {
    const g = new Gredge(lab, role, config, mode, env);
    // Under ThreadSanitizer (scripts/tsan.sh) every allocation and lock is intercepted: node
    // takes several times as long to load the addon and open the data plane.
    timeoutMs *= Math.max(1, Number(process.env.GREDGE_SLOW_FACTOR) || 1);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      g.#ready,
      new Promise((_r, rej) => {
        timer = setTimeout(() => rej(new Error(`gredge on ${role} not ready in ${timeoutMs} ms`)), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
    return g;
  }

  async request<T = unknown>(op: string, args?: unknown, timeoutMs = 10_000): Promise<T> {
    if (!this.proc.running) throw new Error(`gredge on ${this.role} is not running`);
    if (this.mode === 'daemon') throw new Error(`gredged has no lab request channel (${op}); use the runner`);
    const id = this.#nextId++;
    const reply = new Promise<{ ok: boolean; result?: unknown; error?: string }>((resolve) => {
      this.#waiters.set(id, resolve);
      setTimeout(() => {
        if (this.#waiters.delete(id)) resolve({ ok: false, error: `no reply to ${op} in ${timeoutMs} ms` });
      }, timeoutMs);
    });
    this.proc.child.stdin?.write(`${JSON.stringify({ id, op, args })}\n`);
    const r = await reply;
    if (!r.ok) throw new Error(`gredge ${op}: ${r.error}`);
    return r.result as T;
  }

  counters(): Promise<Counters> {
    return this.request<Counters>('counters');
  }

  get running(): boolean {
    return this.proc.running;
  }

  async stop(): Promise<number | null> {
    return this.proc.stop(5000);
  }

  /** CPU seconds (user + system) the process has used, from /proc/PID/stat. */
  async cpuSeconds(): Promise<number> {
    return cpuSecondsOf(this.proc.pid!);
  }
}

/** Global counters: packets/bytes and drops by reason; the exact keys come from src/dataplane. */
export type Counters = Record<string, unknown>;

/**
 * Flattens whatever counter object the data plane returns into `path → number`
 * (e.g. `drops.spoofed`, `rxPackets`), so that tests can diff two snapshots.
 */
export function flatten(obj: unknown, prefix = '', out: Record<string, number> = {}): Record<string, number> {
  if (typeof obj === 'number' || typeof obj === 'bigint') out[prefix] = Number(obj);
  else if (obj && typeof obj === 'object') {
    for (const [k, v] of Object.entries(obj)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  }
  return out;
}

export function diff(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const d: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    const dv = v - (before[k] ?? 0);
    if (dv !== 0) d[k] = dv;
  }
  return d;
}

/** Flattened counters of `g`. */
export async function snapshot(g: Gredge): Promise<Record<string, number>> {
  return flatten(await g.counters());
}

/**
 * A baseline: `g`'s counters once they have stopped moving (netns.ts settle), so that traffic
 * still being counted — a test's earlier packets, the kernel's first MLD reports on a fresh TUN
 * — does not land in the next delta. Throws when they never stand still (something keeps
 * sending), naming what moved.
 */
export async function stillCounters(g: Gredge, opts: SettleOptions = {}): Promise<Record<string, number>> {
  const first = await snapshot(g);
  const r = await settle(() => snapshot(g), opts);
  if (!r.settled)
    throw new Error(
      `counters of gredge on ${g.role} never stood still for ${opts.quietMs ?? 250} ms in ${r.ms} ms: ${JSON.stringify(diff(first, r.counters))}`,
    );
  return r.counters;
}

/**
 * The change of `g`'s counters since `before`, read once `until(delta)` holds (the packets the
 * test sent are all counted) and the counters have stopped moving; after `timeoutMs` the last
 * delta, for the caller's exact asserts to report. `after` is the settled read: the next baseline.
 */
export async function settledDelta(
  g: Gredge,
  before: Record<string, number>,
  until?: (d: Record<string, number>) => boolean,
  opts: Omit<SettleOptions, 'until'> = {},
): Promise<{ d: Record<string, number>; after: Record<string, number>; settled: boolean }> {
  const r = await settle(() => snapshot(g), { ...opts, until: until && ((c) => until(diff(before, c))) });
  return { d: diff(before, r.counters), after: r.counters, settled: r.settled };
}

/** The sum of the keys of `d` that match `re`. */
export function sumOf(d: Record<string, number>, re: RegExp): number {
  let s = 0;
  for (const [k, v] of Object.entries(d)) if (re.test(k)) s += v;
  return s;
}

export async function cpuSecondsOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(f[11]);
  const stime = Number(f[12]);
  return (utime + stime) / CLK_TCK;
}

// sysconf(_SC_CLK_TCK) is 100 on every Linux we run on.
const CLK_TCK = 100;

/**
 * The mode for tests that need no requests: the real gredged by default;
 * GREDGE_LAB_MODE=runner runs them on the JS-API runner instead (dp-runner.ts).
 */
export function labMode(): GredgeMode {
  return process.env.GREDGE_LAB_MODE === 'runner' ? 'runner' : 'daemon';
}
