/**
 * The results envelope every new bench writes (sessions, memory, tunnels, churn: one JSON object
 * per bench, figures as rows gredged / BIRD / ratio, plots as series of points, which the report
 * renders), with the helpers they share: the host's facts, medians and percentiles, the figure
 * rows, the printed table, the file write and a shape check for the tests.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, release } from 'node:os';
import { dirname } from 'node:path';

export interface Figure {
  id: string;
  label: string;
  unit: string;
  gredged: number | null;
  bird: number | null;
  ratio: number | null;
  note?: string;
}

export interface Plot {
  id: string;
  title: string;
  x: { label: string; unit: string };
  y: { label: string; unit: string };
  series: Array<{ name: string; points: Array<[number, number]> }>;
}

export interface BenchResult {
  bench: string;
  date: string;
  host: { cpus: number; loadavg: number[]; kernel: string; node: string; bird?: string; gobgp?: string };
  params: Record<string, number | string | boolean>;
  figures: Figure[];
  plots: Plot[];
  raw?: unknown;
}

/** What `bird --version` says ("BIRD version 2.0.12", on stderr with exit status 0), if BIRD is there. */
export function birdVersion(): string | undefined {
  const r = spawnSync('bird', ['--version'], { encoding: 'utf8' });
  const text = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  return r.error || !text ? undefined : text;
}

export function hostInfo(): BenchResult['host'] {
  const bird = birdVersion();
  return {
    cpus: availableParallelism(),
    loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
    kernel: release(),
    node: process.version,
    ...(bird ? { bird } : {}),
  };
}

/** Median of the finite values, or null when there is none. */
export function median(xs: Array<number | null | undefined>): number | null {
  const v = xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}

/** The p-th percentile (0–100, nearest rank) of the values, or null. */
export function percentile(xs: number[], p: number): number | null {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  return v[Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1))]!;
}

const round = (x: number | null, digits = 3): number | null =>
  x === null ? null : Math.round(x * 10 ** digits) / 10 ** digits;

/** The ratio gredged / BIRD when both exist and BIRD's is not 0. */
const ratioOf = (gredged: number | null, bird: number | null): number | null =>
  gredged !== null && bird !== null && bird !== 0 ? gredged / bird : null;

/** A figure row from the two values, rounded (3 digits, the ratio 2). */
export function figure(
  id: string,
  label: string,
  unit: string,
  gredged: number | null,
  bird: number | null,
  note?: string,
): Figure {
  const ratio = round(ratioOf(gredged, bird), 2);
  return { id, label, unit, gredged: round(gredged), bird: round(bird), ratio, ...(note ? { note } : {}) };
}

/** A figure row from each daemon's samples: their medians, unrounded (absent daemon or no sample: null). */
export function sampleFigure(
  id: string,
  label: string,
  unit: string,
  g: number[] | undefined,
  b: number[] | undefined,
  note?: string,
): Figure {
  const gredged = g ? median(g) : null;
  const bird = b ? median(b) : null;
  return { id, label, unit, gredged, bird, ratio: ratioOf(gredged, bird), ...(note ? { note } : {}) };
}

/** The figures as a fixed-width table for the terminal (label with unit, values, ratio). */
export function table(figs: Figure[]): string {
  const fmt = (x: number | null) => (x === null ? '—' : Math.abs(x) >= 100 ? x.toFixed(0) : String(x));
  const rows = figs.map((f) => [
    `${f.label} (${f.unit})`,
    fmt(f.gredged),
    fmt(f.bird),
    f.ratio === null ? '—' : `×${f.ratio}`,
  ]);
  const head = ['figure', 'gredged', 'BIRD 2', 'ratio'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)].join('\n');
}

const fixed = (x: number | null, d: number) => (x === null ? '—' : x.toFixed(d));

/**
 * The figures as a fixed-width table with a unit column, fixed decimals and the notes (the
 * sessions and memory figures are unrounded medians that often carry a note on missed runs).
 */
export function printFigures(figures: Figure[]): void {
  const w = Math.max(...figures.map((f) => f.label.length), 10);
  console.log(
    `${'figure'.padEnd(w)}  ${'unit'.padEnd(5)} ${'gredged'.padStart(10)} ${'BIRD 2'.padStart(10)} ${'ratio'.padStart(7)}`,
  );
  for (const f of figures) {
    const d = f.unit === 'count' || f.unit === 'MB' ? 0 : f.unit === 'B' ? 0 : 2;
    console.log(
      `${f.label.padEnd(w)}  ${f.unit.padEnd(5)} ${fixed(f.gredged, d).padStart(10)} ${fixed(f.bird, d).padStart(10)} ${fixed(f.ratio, 2).padStart(7)}${f.note ? `  ${f.note}` : ''}`,
    );
  }
}

/** A load average as the benches print it: "1.23 4.56 7.89". */
export const loads = (la: number[]): string => la.map((x) => x.toFixed(2)).join(' ');

export function writeResult(file: string, r: BenchResult): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(r, null, 2)}\n`);
}

/**
 * The start of a bench's main: its options from the command line, or undefined after saying why
 * not (a bad option, or not root: `rootWhy`), when the bench exits with status 2.
 */
export function benchOptions<O>(parse: (argv: string[]) => O, rootWhy: string): O | undefined {
  let o: O;
  try {
    o = parse(process.argv.slice(2));
  } catch (err) {
    console.error((err as Error).message);
    return undefined;
  }
  if (process.getuid?.() !== 0) {
    console.error(rootWhy);
    return undefined;
  }
  return o;
}

/**
 * The end of a bench's main: writes the result, prints the table and the load average the host
 * reported, then each failed pass (cut to `maxChars`); returns the exit status, 1 if any failed.
 */
export function finishBench(
  file: string,
  r: BenchResult,
  failures: string[],
  maxChars = Number.POSITIVE_INFINITY,
): number {
  writeResult(file, r);
  console.log(table(r.figures));
  console.log(`load average ${r.host.loadavg.join(' ')}; JSON in ${file}`);
  for (const f of failures) console.error(`FAILED: ${f.slice(0, maxChars)}`);
  return failures.length ? 1 : 0;
}

/**
 * Writes the result, then prints the load average at the start and the end of the runs (the
 * sessions and memory benches run for minutes: the load may have changed) and the figures.
 */
export function publishMedians(
  file: string,
  r: BenchResult,
  la0: number[],
  la: number[],
  runs: number,
): void {
  writeResult(file, r);
  console.log(
    `\nload average ${loads(la0)} at the start, ${loads(la)} at the end (1, 5, 15 min); medians over ${runs} run(s)`,
  );
  printFigures(r.figures);
  console.log(`wrote ${file}`);
}

/** Checks the envelope's shape (for the tests and before writing); returns the problems found. */
export function envelopeProblems(r: unknown): string[] {
  const p: string[] = [];
  const o = r as Partial<BenchResult>;
  if (typeof o !== 'object' || o === null) return ['not an object'];
  if (typeof o.bench !== 'string') p.push('bench is not a string');
  if (typeof o.date !== 'string' || Number.isNaN(Date.parse(o.date))) p.push('date is not an ISO date');
  if (!o.host || typeof o.host.cpus !== 'number' || !Array.isArray(o.host.loadavg))
    p.push('host is malformed');
  if (!o.params || typeof o.params !== 'object') p.push('params missing');
  const num = (x: unknown) => x === null || (typeof x === 'number' && Number.isFinite(x));
  for (const f of o.figures ?? []) {
    if (!f.id || !f.label || typeof f.unit !== 'string') p.push(`figure ${f.id}: id/label/unit`);
    if (!num(f.gredged) || !num(f.bird) || !num(f.ratio))
      p.push(`figure ${f.id}: a value is not a number or null`);
    if (f.gredged !== null && f.bird !== null && f.bird !== 0 && f.ratio === null)
      p.push(`figure ${f.id}: ratio missing`);
  }
  if (!Array.isArray(o.figures) || o.figures.length === 0) p.push('no figures');
  for (const pl of o.plots ?? []) {
    if (!pl.id || !pl.title || !pl.x || !pl.y || !Array.isArray(pl.series))
      p.push(`plot ${pl.id}: malformed`);
    for (const s of pl.series ?? [])
      if (!s.points.every((pt) => Array.isArray(pt) && pt.length === 2 && pt.every(Number.isFinite)))
        p.push(`plot ${pl.id} series ${s.name}: bad point`);
  }
  if (!Array.isArray(o.plots)) p.push('plots missing');
  return p;
}
