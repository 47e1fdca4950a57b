/**
 * The bench's end of an agent (agent.ts) in a `gt-` namespace, over bench/fib's AgentChannel:
 * starts it with `ip netns exec` (which execs in place, so the PID is node's), sends commands,
 * waits for events by name and keeps every `tick`/`sample` event. A `lost` or `error` event is
 * kept as a failure that every later wait reports (`lost` only fails waits when `lostFails`);
 * the agent is ended by its PID on close, and by bench/fib's cleanup hooks on exit or signal.
 */
import type { ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AgentChannel } from '../fib/agent-client.js';
import type { AgentArgs, AgentEvent, Command, EventName } from './protocol.js';

const AGENT = join(dirname(fileURLToPath(import.meta.url)), 'agent.js');

type Of<K extends EventName> = Extract<AgentEvent, { ev: K }>;

export class AgentProc {
  readonly samples: AgentEvent[] = [];
  readonly lost: Array<{ who: string; why: string }> = [];
  readonly #ch: AgentChannel<AgentEvent, Command>;

  private constructor(
    ns: string,
    readonly args: AgentArgs,
    readonly lostFails: boolean,
  ) {
    const argv = [process.execPath, AGENT, JSON.stringify(args)];
    this.#ch = new AgentChannel<AgentEvent, Command>(ns, argv, `${args.mode} agent`, (e) => this.#take(e));
  }

  get child(): ChildProcess {
    return this.#ch.child;
  }

  get pid(): number {
    return this.#ch.pid;
  }

  /** `lostFails`: a session lost fails every later wait (set false where losses are measured). */
  static async start(ns: string, args: AgentArgs, lostFails = true): Promise<AgentProc> {
    const a = new AgentProc(ns, args, lostFails);
    await a.wait('ready', Date.now() + 30_000);
    return a;
  }

  send(c: Command): void {
    this.#ch.send(c);
  }

  /** Sends `c` and waits for the next `name` event. */
  ask<K extends EventName>(c: Command, name: K, timeoutMs: number): Promise<Of<K>> {
    const p = this.wait(name, Date.now() + timeoutMs);
    this.send(c);
    return p;
  }

  /** The next `name` event not yet taken; rejects on failure or at `deadline` (Date.now() ms). */
  wait<K extends EventName>(name: K, deadline: number): Promise<Of<K>> {
    return this.#ch.wait(name, deadline);
  }

  /** Ends the agent (stdin closed, SIGKILL after 3 s) and waits for its exit. */
  close(): Promise<void> {
    return this.#ch.close(() => this.child.stdin!.end(), 3000);
  }

  /** Keeps samples and losses out of the queues; true when the event was consumed. */
  #take(e: AgentEvent): boolean {
    if (e.ev === 'tick' || e.ev === 'sample') {
      this.samples.push(e);
      return true;
    }
    if (e.ev === 'lost') {
      this.lost.push({ who: e.who, why: e.why });
      if (this.lostFails) this.#ch.fail(`${e.who} lost: ${e.why}`);
      return true;
    }
    if (e.ev === 'error') {
      this.#ch.fail(`${this.args.mode} agent: ${e.message}`);
      return true;
    }
    return false;
  }
}
