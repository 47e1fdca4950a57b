/**
 * What the bench (root namespace) and its agent (inside the lab namespace, holding the feeder
 * and monitor sessions) say to each other: one JSON object per line, commands on the agent's
 * stdin, events on its stdout. Every time is CLOCK_MONOTONIC in milliseconds (process.hrtime),
 * one clock for every process of the machine, so the agent's stamps and the bench's table
 * reads compare directly.
 */
export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/** How the feeder removes the table: withdrawal UPDATEs, or a Cease and closing its session. */
export type Removal = 'withdraw' | 'close';

export type Command =
  | { cmd: 'connect' }
  | { cmd: 'announce' }
  | { cmd: 'remove'; how: Removal }
  | { cmd: 'count' }
  | { cmd: 'quit' };

export type AgentEvent =
  | { ev: 'ready' }
  | { ev: 'established' }
  /** t0: just before the first UPDATE was written; written: the last byte left our buffers. */
  | { ev: 'announced'; t0: number; written: number }
  | { ev: 'monitor-full'; t: number }
  | { ev: 'removing'; t0: number; written: number }
  | { ev: 'monitor-empty'; t: number }
  | { ev: 'count'; n: number }
  | { ev: 'lost'; who: string; why: string }
  | { ev: 'error'; message: string };

export type EventName = AgentEvent['ev'];
