/**
 * The bench's end of an agent (agent.ts) running in a lab namespace: starts it with
 * `ip netns exec` (which execs in place, so the PID is node's), sends commands, and waits for
 * its events by name. A `lost`/`error` event or the agent's exit fails every wait from then on.
 * The agent is ended by its PID on close, and by the cleanup hooks on exit or signal.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { atCleanup } from './cleanup.js';
import type { AgentEvent, Command, EventName } from './protocol.js';

const AGENT = join(dirname(fileURLToPath(import.meta.url)), 'agent.js');

type Of<K extends EventName> = Extract<AgentEvent, { ev: K }>;

export interface AgentFiles {
  feed: string;
  withdrawals: string;
  prefixes: number;
}

export class Agent {
  readonly child: ChildProcess;
  readonly pid: number;
  #queues = new Map<EventName, AgentEvent[]>();
  #wake = new Set<() => void>();
  #failure: string | undefined;
  #stderr = '';
  readonly #undo: () => void;

  private constructor(ns: string, f: AgentFiles) {
    const argv = [process.execPath, AGENT, '--feed', f.feed, '--withdrawals', f.withdrawals];
    this.child = spawn('ip', ['netns', 'exec', ns, ...argv, '--prefixes', String(f.prefixes)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
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
    this.child.on('exit', (code, sig) => this.#fail(`agent exited (${code ?? sig}) ${this.#stderr.trim()}`));
    this.child.stdin!.on('error', () => {});
  }

  static async start(ns: string, f: AgentFiles): Promise<Agent> {
    const a = new Agent(ns, f);
    await a.wait('ready', Date.now() + 30_000);
    return a;
  }

  send(c: Command): void {
    this.child.stdin!.write(`${JSON.stringify(c)}\n`);
  }

  /** The next `name` event not yet taken; rejects on failure or at `deadline` (Date.now() ms). */
  wait<K extends EventName>(name: K, deadline: number): Promise<Of<K>> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const q = this.#queues.get(name);
        if (q && q.length > 0) return done(() => resolve(q.shift() as Of<K>));
        if (this.#failure) return done(() => reject(new Error(this.#failure)));
        return false;
      };
      const timer = setTimeout(
        () => done(() => reject(new Error(`agent: no ${name} by the deadline`))),
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

  /** Monitor's prefix count right now (for messages). */
  async count(): Promise<number | undefined> {
    if (this.#failure) return undefined;
    this.send({ cmd: 'count' });
    return this.wait('count', Date.now() + 5000).then(
      (e) => e.n,
      () => undefined,
    );
  }

  /** Asks the agent to quit; kills it by PID if it has not within 5 s. */
  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const gone = new Promise((r) => this.child.once('exit', r));
      this.send({ cmd: 'quit' });
      const t = setTimeout(() => this.#undo(), 5000);
      await gone;
      clearTimeout(t);
    }
    this.#undo();
  }

  #line(line: string): void {
    let e: AgentEvent;
    try {
      e = JSON.parse(line) as AgentEvent;
    } catch {
      return;
    }
    if (e.ev === 'lost' || e.ev === 'error') {
      this.#fail(e.ev === 'lost' ? `${e.who} session lost: ${e.why}` : `agent: ${e.message}`);
      return;
    }
    const q = this.#queues.get(e.ev) ?? [];
    q.push(e);
    this.#queues.set(e.ev, q);
    for (const w of [...this.#wake]) w();
  }

  #fail(why: string): void {
    this.#failure ??= why;
    for (const w of [...this.#wake]) w();
  }
}
