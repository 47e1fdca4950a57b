/**
 * Throw-away network namespaces for the data plane tests and a client for ns-child.js.
 * Every namespace and process created here is removed by the caller's t.teardown (by name for
 * namespaces we created, by PID for processes we started).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { diff, flatten } from '../lab/gredged.js';
import { settle } from '../lab/netns.js';

export const CHILD = fileURLToPath(new URL('./ns-child.js', import.meta.url));

export function rootSkip(): string | false {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, TUN, raw sockets)';
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch {
    return 'needs iproute2 (ip)';
  }
  return false;
}

export function sh(argv: string[], allowFail = false): string {
  try {
    return execFileSync(argv[0]!, argv.slice(1), {
      encoding: 'utf8',
      timeout: 60_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (e) {
    if (allowFail) return String((e as { stdout?: string }).stdout ?? '');
    throw e;
  }
}

export function nsx(ns: string, argv: string[], allowFail = false): string {
  return sh(['ip', 'netns', 'exec', ns, ...argv], allowFail);
}

/** Two namespaces joined by a veth pair: a = 198.51.100.1 / 2001:db8:100::1, b = .2 / ::2. */
export function makePair(tag: string): { a: string; b: string; destroy: () => void } {
  const a = `gredge-dp-${process.pid}-${tag}a`;
  const b = `gredge-dp-${process.pid}-${tag}b`;
  const destroy = () => {
    sh(['ip', 'netns', 'del', a], true);
    sh(['ip', 'netns', 'del', b], true);
  };
  sh(['ip', 'netns', 'add', a]);
  sh(['ip', 'netns', 'add', b]);
  sh(['ip', 'link', 'add', 'ua', 'netns', a, 'type', 'veth', 'peer', 'name', 'ub', 'netns', b]);
  for (const [ns, dev, n] of [
    [a, 'ua', '1'],
    [b, 'ub', '2'],
  ] as const) {
    nsx(ns, ['ip', 'link', 'set', 'lo', 'up']);
    nsx(ns, ['ip', 'addr', 'add', `198.51.100.${n}/24`, 'dev', dev]);
    nsx(ns, ['ip', 'addr', 'add', `2001:db8:100::${n}/64`, 'dev', dev, 'nodad']);
    nsx(ns, ['ip', 'link', 'set', dev, 'up']);
  }
  return { a, b, destroy };
}

/** Counters that keepalives (every 200 ms in these tests) move on their own: the requests sent,
 * the replies and reflections received. Left out when waiting for the counters to stand still. */
export const KEEPALIVE_NOISE = /keepalive|^global\.(rxPackets|rxBytes|recvCalls)$/;

export class Child {
  readonly proc: ChildProcess;
  readonly events: Record<string, unknown>[] = [];
  #buf = '';
  #id = 1;
  #waiters = new Map<number, (v: Record<string, unknown>) => void>();
  #eventWaiters: {
    pred: (e: Record<string, unknown>) => boolean;
    res: (e: Record<string, unknown>) => void;
  }[] = [];
  stderr = '';

  constructor(ns: string, cfg: unknown, mode = 'serve', wrap: string[] = []) {
    this.proc = spawn(
      'ip',
      ['netns', 'exec', ns, ...wrap, process.execPath, CHILD, mode, JSON.stringify(cfg)],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    this.proc.stdout!.setEncoding('utf8');
    this.proc.stderr!.setEncoding('utf8');
    this.proc.stderr!.on('data', (d: string) => {
      this.stderr += d;
    });
    this.proc.stdout!.on('data', (d: string) => {
      this.#buf += d;
      for (let nl = this.#buf.indexOf('\n'); nl >= 0; nl = this.#buf.indexOf('\n')) {
        const msg = JSON.parse(this.#buf.slice(0, nl)) as Record<string, unknown>;
        this.#buf = this.#buf.slice(nl + 1);
        if (typeof msg.id === 'number') {
          this.#waiters.get(msg.id)?.(msg);
          this.#waiters.delete(msg.id);
        } else {
          this.events.push(msg);
          this.#eventWaiters = this.#eventWaiters.filter((w) => {
            if (!w.pred(msg)) return true;
            w.res(msg);
            return false;
          });
        }
      }
    });
  }

  /** The first event matching `pred`, waiting up to `timeoutMs` for it. `from`: only events from
   * this index of `events` on (an index taken before the action that should cause the event:
   * an older one, e.g. a tunnel that went down while its far end was starting, must not count). */
  event(
    pred: (e: Record<string, unknown>) => boolean,
    timeoutMs = 10_000,
    from = 0,
  ): Promise<Record<string, unknown>> {
    const hit = this.events.slice(from).find(pred);
    if (hit) return Promise.resolve(hit);
    return new Promise((res, rej) => {
      const timer = setTimeout(
        () => rej(new Error(`no such event in ${timeoutMs} ms; stderr: ${this.stderr}`)),
        timeoutMs,
      );
      this.#eventWaiters.push({
        pred,
        res: (e) => {
          clearTimeout(timer);
          res(e);
        },
      });
    });
  }

  ready(): Promise<Record<string, unknown>> {
    return this.event((e) => e.event === 'ready' || e.event === 'failed' || e.ok !== undefined);
  }

  call(op: string, ...args: unknown[]): Promise<Record<string, unknown>> {
    const id = this.#id++;
    return new Promise((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`${op}: no answer; stderr: ${this.stderr}`)), 60_000);
      this.#waiters.set(id, (v) => {
        clearTimeout(timer);
        res(v);
      });
      this.proc.stdin!.write(`${JSON.stringify({ id, op, args })}\n`);
    });
  }

  async ok(op: string, ...args: unknown[]): Promise<unknown> {
    const r = await this.call(op, ...args);
    if (!r.ok) throw new Error(`${op}: ${String(r.code)} ${String(r.message)}`);
    return r.result;
  }

  /** The data plane's counters, flattened (`global.drops.noRoute`, `tunnels.to-b.txPackets`). */
  async counters(): Promise<Record<string, number>> {
    return flatten(await this.ok('counters'));
  }

  /** A baseline: the counters once they stand still (keepalive noise aside), see lab/netns.ts. */
  async stillCounters(): Promise<Record<string, number>> {
    const r = await settle(() => this.counters(), { ignore: KEEPALIVE_NOISE });
    if (!r.settled) throw new Error(`counters never stood still in ${r.ms} ms`);
    return r.counters;
  }

  /** The change since `before` once `until(delta)` holds and the counters stand still. */
  async delta(
    before: Record<string, number>,
    until?: (d: Record<string, number>) => boolean,
  ): Promise<{ d: Record<string, number>; after: Record<string, number> }> {
    const r = await settle(() => this.counters(), {
      ignore: KEEPALIVE_NOISE,
      until: until && ((c) => until(diff(before, c))),
    });
    return { d: diff(before, r.counters), after: r.counters };
  }

  /** Ends stdin (the child closes the data plane) and waits; kills by PID after a timeout. */
  async close(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const done = new Promise<void>((res) => this.proc.once('exit', () => res()));
    this.proc.stdin!.end();
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await done;
    clearTimeout(timer);
  }
}
