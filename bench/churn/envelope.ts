/**
 * The bench results envelope (the shared contract of the sessions, memory, tunnels and churn
 * benches: one JSON object per bench, figures as rows gredged / BIRD / ratio, plots as series of
 * points), with the host's facts, medians, a readable table and the file write.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
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

/** `bird --version` prints "BIRD version 2.0.12" on stderr. */
export function birdVersion(): string | undefined {
  try {
    const r = execFileSync('bird', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return /version\s+(\S+)/.exec(r)?.[1];
  } catch (err) {
    const said = String((err as { stderr?: string }).stderr ?? '');
    return /version\s+(\S+)/.exec(said)?.[1];
  }
}

export function hostInfo(): BenchResult['host'] {
  const bird = birdVersion();
  return {
    cpus: cpus().length,
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

/** A figure row: medians rounded, the ratio gredged / BIRD when both exist (and BIRD's is not 0). */
export function figure(
  id: string,
  label: string,
  unit: string,
  gredged: number | null,
  bird: number | null,
  note?: string,
): Figure {
  const ratio = gredged !== null && bird !== null && bird !== 0 ? round(gredged / bird, 2) : null;
  return { id, label, unit, gredged: round(gredged), bird: round(bird), ratio, ...(note ? { note } : {}) };
}

/** The figures as a fixed-width table for the terminal. */
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

export function writeResult(file: string, r: BenchResult): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(r, null, 2)}\n`);
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
