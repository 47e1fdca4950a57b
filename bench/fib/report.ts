/**
 * The FIB bench's summary: medians over runs per daemon, the propagation slowdown (median
 * monitor time with the FIB on over the median with it off), gredged/BIRD ratios and the
 * issue's targets (gredged programs and removes no slower than BIRD; slowdown ≤ ×1.20),
 * printed as a table and returned for the JSON file.
 */
import type { Which } from './daemons.js';
import type { FibSample, PropSample } from './passes.js';

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? Number.NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
export const fmt = (x: number, d = 2): string => (Number.isFinite(x) ? x.toFixed(d) : '—');

export const SLOWDOWN_TARGET = 1.2;

export interface Medians {
  fillS: number;
  removeS: number;
  monitorFibS: number;
  monitorNoFibS: number;
  slowdown: number;
  monitorRemoveS: number;
  rssFibMB: number;
  rssNoFibMB: number;
  cpuFillS: number;
  cpuRemoveS: number;
  cpuNoFibS: number;
  fibRuns: number;
  noFibRuns: number;
}

export interface Summary {
  medians: Partial<Record<Which, Medians>>;
  ratios?: Record<string, number>;
  targets?: Record<string, boolean | null>;
}

function medians(f: FibSample[], p: PropSample[]): Medians {
  const m = (xs: number[]) => median(xs);
  const monitorFibS = m(f.map((s) => s.monitorS));
  const monitorNoFibS = m(p.map((s) => s.monitorS));
  return {
    fillS: m(f.map((s) => s.fillS)),
    removeS: m(f.map((s) => s.removeS)),
    monitorFibS,
    monitorNoFibS,
    slowdown: monitorFibS / monitorNoFibS,
    monitorRemoveS: m(f.map((s) => s.monitorRemoveS)),
    rssFibMB: m(f.map((s) => s.rssMB)),
    rssNoFibMB: m(p.map((s) => s.rssMB)),
    cpuFillS: m(f.map((s) => s.cpuFillS)),
    cpuRemoveS: m(f.map((s) => s.cpuRemoveS)),
    cpuNoFibS: m(p.map((s) => s.cpuS)),
    fibRuns: f.length,
    noFibRuns: p.length,
  };
}

const ROWS: [keyof Medians, string, number][] = [
  ['fillS', 'FIB on: both tables full, s', 2],
  ['removeS', 'FIB on: both tables empty, s', 2],
  ['monitorFibS', 'FIB on: monitor full, s', 2],
  ['monitorRemoveS', 'FIB on: monitor empty, s', 2],
  ['monitorNoFibS', 'FIB off: monitor full, s', 2],
  ['slowdown', 'propagation slowdown (on/off) ×', 2],
  ['rssFibMB', 'FIB on: peak RSS, MB', 0],
  ['rssNoFibMB', 'FIB off: peak RSS, MB', 0],
  ['cpuFillS', 'FIB on: CPU s while filling', 2],
  ['cpuRemoveS', 'FIB on: CPU s while removing', 2],
  ['cpuNoFibS', 'FIB off: CPU s', 2],
];

export function report(
  daemons: Which[],
  fib: Record<Which, FibSample[]>,
  nofib: Record<Which, PropSample[]>,
  runs: number,
): Summary {
  const out: Summary = { medians: {} };
  for (const d of daemons) out.medians[d] = medians(fib[d], nofib[d]);
  const b = out.medians.bird;
  const g = out.medians.gredged;
  console.log(
    `\nmedians over ${runs} run(s) (passes that completed: ${daemons
      .map((d) => `${d} ${out.medians[d]!.fibRuns} on / ${out.medians[d]!.noFibRuns} off`)
      .join(', ')})`,
  );
  const head = ['', ...daemons.map((d) => (d === 'bird' ? 'BIRD' : d)), ...(b && g ? ['gredged/BIRD'] : [])];
  console.log(
    `${head[0]!.padEnd(34)}${head
      .slice(1)
      .map((h) => h.padStart(13))
      .join('')}`,
  );
  for (const [key, label, digits] of ROWS) {
    const cells = daemons.map((d) => fmt(out.medians[d]![key], digits).padStart(13));
    if (b && g) cells.push(`×${fmt(g[key] / b[key])}`.padStart(13));
    console.log(`${label.padEnd(34)}${cells.join('')}`);
  }
  if (b && g) {
    out.ratios = Object.fromEntries(ROWS.map(([k]) => [k, g[k] / b[k]]));
    const ok = (x: number) => (Number.isFinite(x) ? x : null);
    const le = (a: number, lim: number) => (Number.isFinite(a) && Number.isFinite(lim) ? a <= lim : null);
    out.targets = {
      fillNoSlowerThanBird: le(ok(g.fillS) ?? Number.NaN, b.fillS),
      removeNoSlowerThanBird: le(ok(g.removeS) ?? Number.NaN, b.removeS),
      slowdownWithin: le(g.slowdown, SLOWDOWN_TARGET),
    };
    const say = (v: boolean | null | undefined) =>
      v === null || v === undefined ? 'not measured' : v ? 'met' : 'MISSED';
    console.log(
      `targets for gredged: fill ≤ BIRD ${say(out.targets.fillNoSlowerThanBird)}, removal ≤ BIRD ${say(out.targets.removeNoSlowerThanBird)}, ` +
        `propagation slowdown ≤ ×${SLOWDOWN_TARGET} ${say(out.targets.slowdownWithin)}`,
    );
  }
  return out;
}
