/**
 * From one churn pass's samples to its figures: rates over the flap window (from the first flap
 * UPDATE to the flap's end plus the tail), per-second series for the plots, and the largest
 * event-loop lag. Pure functions over the agents' events, so the tests can check them.
 */
import type { AgentEvent } from './protocol.js';

type Tick = Extract<AgentEvent, { ev: 'tick' }>;
type Sample = Extract<AgentEvent, { ev: 'sample' }>;

/** Value of a cumulative counter at time t, linearly between the samples around it. */
export function counterAt(points: Array<[number, number]>, t: number): number | undefined {
  if (points.length === 0) return undefined;
  if (t <= points[0]![0]) return points[0]![1];
  for (let i = 1; i < points.length; i++) {
    const [t1, v1] = points[i]!;
    if (t1 >= t) {
      const [t0, v0] = points[i - 1]!;
      return t1 === t0 ? v1 : v0 + ((v1 - v0) * (t - t0)) / (t1 - t0);
    }
  }
  return points[points.length - 1]![1];
}

/** Average rate of a cumulative counter over [t0, t1] (per second). */
export function rateOver(points: Array<[number, number]>, t0: number, t1: number): number | null {
  const a = counterAt(points, t0);
  const b = counterAt(points, t1);
  if (a === undefined || b === undefined || t1 <= t0) return null;
  return ((b - a) * 1000) / (t1 - t0);
}

/** Per-interval rates of a cumulative counter, x = seconds since `origin`. */
export function perSecond(
  points: Array<[number, number]>,
  origin: number,
  t0: number,
  t1: number,
): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 1; i < points.length; i++) {
    const [ta, va] = points[i - 1]!;
    const [tb, vb] = points[i]!;
    if (tb < t0 || ta > t1 || tb === ta) continue;
    out.push([Math.round((tb - origin) / 100) / 10, Math.round(((vb - va) * 1000) / (tb - ta))]);
  }
  return out;
}

export function ticksOf(events: AgentEvent[]): Tick[] {
  return events.filter((e): e is Tick => e.ev === 'tick');
}

export function samplesOf(events: AgentEvent[]): Sample[] {
  return events.filter((e): e is Sample => e.ev === 'sample');
}

/** When the last tick that saw more UPDATEs than the one before it came (ms), or undefined. */
export function lastActivity(ticks: Tick[]): number | undefined {
  let last: number | undefined;
  for (let i = 1; i < ticks.length; i++) if (ticks[i]!.updates > ticks[i - 1]!.updates) last = ticks[i]!.t;
  return last;
}
