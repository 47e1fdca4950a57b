/**
 * The bench's end of an agent (agent.ts) in a `gt-` namespace: starts it with `ip netns exec`
 * (which execs in place, so the PID is node's), sends commands, waits for events by name and
 * keeps every `tick`/`sample` event. A `lost` or `error` event is kept as a failure that every
 * later wait reports (`lost` only fails waits when `lostFails`); the agent is ended by its PID on
 * close, and by bench/fib's cleanup hooks on exit or signal.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { atCleanup } from '../fib/cleanup.js';
import type { AgentArgs, AgentEvent, Command, EventName } from './protocol.js';

const AGENT = join(dirname(fileURLToPath(import.meta.url)), 'agent.js');

type Of<K extends EventName> = Extract<AgentEvent, { ev: K }>;

export class AgentProc {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly samples: AgentEvent[] = [];
  readonly lost: Array<{ who: string; why: string }> = [];
  #queues = new Map<EventName, AgentEvent[]>();
  #wake = new Set<() => void>();
  #failure: string | undefined;
  #stderr = '';
  readonly #undo: () => void;

  private constructor(
    ns: string,
    readonly args: AgentArgs,
    readonly lostFails: boolean,
  ) {
    this.child = spawn('ip', ['netns', 'exec', ns, process.execPath, AGENT, JSON.stringify(args)], {
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
    this.child.on('exit', (code, sig) =>
      this.#fail(`${args.mode} agent exited (${code ?? sig}) ${this.#stderr.trim()}`),
    );
    this.child.stdin!.on('error', () => {});
  }

  /** `lostFails`: a session lost fails every later wait (set false where losses are measured). */
  static async start(ns: string, args: AgentArgs, lostFails = true): Promise<AgentProc> {
    const a = new AgentProc(ns, args, lostFails);
    await a.wait('ready', Date.now() + 30_000);
    return a;
  }

  send(c: Command): void {
    this.child.stdin!.write(`${JSON.stringify(c)}\n`);
  }

  /** Sends `c` and waits for the next `name` event. */
  ask<K extends EventName>(c: Command, name: K, timeoutMs: number): Promise<Of<K>> {
    const p = this.wait(name, Date.now() + timeoutMs);
    this.send(c);
    return p;
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
        () => done(() => reject(new Error(`${this.args.mode} agent: no ${name} by the deadline`))),
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

  #line(l: string): void {
    let e: AgentEvent;
    try {
      e = JSON.parse(l) as AgentEvent;
    } catch {
      return;
    }
    if (e.ev === 'tick' || e.ev === 'sample') {
      this.samples.push(e);
      return;
    }
    if (e.ev === 'lost') {
      this.lost.push({ who: e.who, why: e.why });
      if (this.lostFails) this.#fail(`${e.who} lost: ${e.why}`);
      return;
    }
    if (e.ev === 'error') {
      this.#fail(`${this.args.mode} agent: ${e.message}`);
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

  /** Ends the agent (stdin closed, SIGKILL after 3 s) and waits for its exit. */
  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.stdin!.end();
      const timer = setTimeout(() => this.#undo(), 3000);
      await exited;
      clearTimeout(timer);
    }
    this.#undo();
  }
}
