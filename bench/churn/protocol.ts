/**
 * What the tunnels and churn benches (root namespace) say to their agents (agent.ts, inside a
 * `gt-` namespace): the agent's role and sizes as one JSON argument, then one JSON object per
 * line, commands on its stdin and events on its stdout. Times are CLOCK_MONOTONIC in ms
 * (process.hrtime), one clock for every process of the machine.
 */
export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

export interface CustomerSpec {
  local: string;
  as: number;
  /** IPv4 prefixes announced once Established (NEXT_HOP = `local`). */
  announce?: string[];
}

export type AgentArgs =
  | {
      mode: 'customers';
      daemon: string;
      port: number;
      hold: number;
      customers: CustomerSpec[];
      /** Connections opened at once (BIRD's listen backlog is 8). */
      concurrency: number;
    }
  | {
      mode: 'transit';
      daemon: string;
      port: number;
      hold: number;
      local: string;
      as: number;
      nextHop: string;
      base: number;
      rate: number;
      seconds: number;
    }
  | { mode: 'probe'; metricsUrl?: string; monitorRoutes: boolean };

export type Command =
  | { cmd: 'connect' }
  /** transit: write the base table */
  | { cmd: 'base' }
  /** transit: flap for the configured seconds */
  | { cmd: 'flap' }
  /** customers: `holding` once every session has been announced at least `n` prefixes */
  | { cmd: 'await-prefixes'; n: number }
  /** customers: per-session gaps and closes */
  | { cmd: 'report' }
  /** probe: start sampling once a second */
  | { cmd: 'sample' }
  /** probe: one timed GET of the metrics URL */
  | { cmd: 'scrape' }
  | { cmd: 'quit' };

export interface SessionReport {
  local: string;
  maxGapMs: number;
  /** When the largest gap ended (CLOCK_MONOTONIC ms; the report's time when it is still open). */
  maxGapAt: number;
  arrivals: number;
  updates: number;
  closed?: string;
}

export type AgentEvent =
  | { ev: 'ready' }
  | { ev: 'established'; n: number; t0: number; t1: number }
  | { ev: 'base-written'; t0: number; t1: number; updates: number }
  | { ev: 'holding'; t: number }
  | {
      ev: 'flap-done';
      t0: number;
      t1: number;
      ticks: number;
      prefixes: number;
      /** Largest delay of a tick behind its schedule (ms): the transit could not write in time. */
      lateMaxMs: number;
    }
  /** customers, once a second: cumulative counts over every session */
  | {
      ev: 'tick';
      t: number;
      updates: number;
      prefixes: number;
      maxGapMs: number;
      closed: number;
      loopMaxMs: number;
    }
  /** probe, once a second */
  | {
      ev: 'sample';
      t: number;
      lagP99Ms?: number;
      lagMaxMs?: number;
      fibWrites?: number;
      routeEvents?: number;
      scrapeMs?: number;
    }
  /** lagMaxMs: the scrape's nodejs_eventloop_lag_max_seconds (the loop since the scrape before) */
  | { ev: 'scraped'; ms: number; bytes: number; status: number; lagMaxMs?: number }
  | { ev: 'report'; sessions: SessionReport[]; loopMaxMs: number }
  | { ev: 'lost'; who: string; why: string }
  | { ev: 'error'; message: string };

export type EventName = AgentEvent['ev'];
