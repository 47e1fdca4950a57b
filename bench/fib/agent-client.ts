/**
 * The bench's end of an agent (agent.ts) running in a lab namespace: starts it with
 * `ip netns exec` (which execs in place, so the PID is node's), sends commands, and waits for
 * its events by name. A `lost`/`error` event or the agent's exit fails every wait from then on.
 * The agent is ended by its PID on close, and by the cleanup hooks on exit or signal.
 * AgentChannel is that plumbing for any agent speaking JSON lines (the churn and tunnels benches
 * use it for theirs).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { atCleanup } from './cleanup.js';
import type { AgentEvent, Command, EventName } from './protocol.js';

const AGENT = join(dirname(fileURLToPath(import.meta.url)), 'agent.js');

type Of<K extends EventName> = Extract<AgentEvent, { ev: K }>;

/**
 * A child in namespace `ns` running `argv`, one JSON event a line on its stdout and one JSON
 * command a line on its stdin. `take` sees every event first and returns true for those it
 * consumed (the rest are queued by name for `wait`); `who` names the agent in errors.
 */
export class AgentChannel<E extends { ev: string }, C> {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly #queues = new Map<E['ev'], E[]>();
  readonly #wake = new Set<() => void>();
  #failure: string | undefined;
  #stderr = '';
  readonly #undo: () => void;

  constructor(
    ns: string,
    argv: string[],
    readonly who: string,
    private readonly take: (e: E) => boolean = () => false,
  ) {
    this.child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['pipe', 'pipe', 'pipe'] });
    if (this.child.pid === undefined) throw new Error('could not spawn the agent');
    this.pid = this.child.pid;
    const pid = this.pid;
    this.#undo = atCleanup(() => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) return;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* exited meanwhile */
      }
    });
    createInterface({ input: this.child.stdout! }).on('line', (l) => this.#line(l));
    this.child.stderr!.on('data', (d: Buffer) => {
      this.#stderr = (this.#stderr + d.toString()).slice(-4000);
    });
    this.child.on('exit', (code, sig) => this.fail(`${who} exited (${code ?? sig}) ${this.#stderr.trim()}`));
    this.child.stdin!.on('error', () => {});
  }

  /** The first failure (exit, lost session, error event), if any. */
  get failure(): string | undefined {
    return this.#failure;
  }

  send(c: C): void {
    this.child.stdin!.write(`${JSON.stringify(c)}\n`);
  }

  /** The next `name` event not yet taken; rejects on failure or at `deadline` (Date.now() ms). */
  wait<K extends E['ev']>(name: K, deadline: number): Promise<Extract<E, { ev: K }>> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const q = this.#queues.get(name);
        if (q && q.length > 0) return done(() => resolve(q.shift() as Extract<E, { ev: K }>));
        if (this.#failure) return done(() => reject(new Error(this.#failure)));
        return false;
      };
      const timer = setTimeout(
        () => done(() => reject(new Error(`${this.who}: no ${name} by the deadline`))),
        Math.max(0, deadline - Date.now()),
      );
      const done = (f: () => void): true => {
        clearTimeout(timer);
        this.#wake.delete(check);
        f();
        return true;
      };
      if (!check()) this.#wake.add(check);
    });
  }

  /** Fails every wait from now on (the first reason is kept). */
  fail(why: string): void {
    this.#failure ??= why;
    for (const w of [...this.#wake]) w();
  }

  /** Asks the agent to end (`ask`), kills it by PID if it has not within `graceMs`, waits for its exit. */
  async close(ask: () => void, graceMs: number): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const gone = new Promise((r) => this.child.once('exit', r));
      ask();
      const t = setTimeout(() => this.#undo(), graceMs);
      await gone;
      clearTimeout(t);
    }
    this.#undo();
  }

  #line(line: string): void {
    let e: E;
    try {
      e = JSON.parse(line) as E;
    } catch {
      return;
    }
    if (this.take(e)) return;
    const q = this.#queues.get(e.ev) ?? [];
    q.push(e);
    this.#queues.set(e.ev, q);
    for (const w of [...this.#wake]) w();
  }
}

export interface AgentFiles {
  feed: string;
  withdrawals: string;
  prefixes: number;
}

export class Agent {
  readonly #ch: AgentChannel<AgentEvent, Command>;

  private constructor(ns: string, f: AgentFiles) {
    const argv = [process.execPath, AGENT, '--feed', f.feed, '--withdrawals', f.withdrawals];
    this.#ch = new AgentChannel<AgentEvent, Command>(
      ns,
      [...argv, '--prefixes', String(f.prefixes)],
      'agent',
      (e) => {
        if (e.ev !== 'lost' && e.ev !== 'error') return false;
        this.#ch.fail(e.ev === 'lost' ? `${e.who} session lost: ${e.why}` : `agent: ${e.message}`);
        return true;
      },
    );
  }

  get child(): ChildProcess {
    return this.#ch.child;
  }

  get pid(): number {
    return this.#ch.pid;
  }

  static async start(ns: string, f: AgentFiles): Promise<Agent> {
    const a = new Agent(ns, f);
    await a.wait('ready', Date.now() + 30_000);
    return a;
  }

  send(c: Command): void {
    this.#ch.send(c);
  }

  /** The next `name` event not yet taken; rejects on failure or at `deadline` (Date.now() ms). */
  wait<K extends EventName>(name: K, deadline: number): Promise<Of<K>> {
    return this.#ch.wait(name, deadline);
  }

  /** Monitor's prefix count right now (for messages). */
  async count(): Promise<number | undefined> {
    if (this.#ch.failure) return undefined;
    this.send({ cmd: 'count' });
    return this.wait('count', Date.now() + 5000).then(
      (e) => e.n,
      () => undefined,
    );
  }

  /** Asks the agent to quit; kills it by PID if it has not within 5 s. */
  close(): Promise<void> {
    return this.#ch.close(() => this.send({ cmd: 'quit' }), 5000);
  }
}
