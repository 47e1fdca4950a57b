/**
 * The results envelope every new bench writes (sessions, memory, tunnels, churn: one JSON
 * object with figures and plots that the report renders), plus the helpers the two benches here
 * share: medians, the host description, the printed table.
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

export function median(xs: number[]): number | null {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** A figure row: medians of each daemon's samples (absent daemon or no sample: null). */
export function figure(
  id: string,
  label: string,
  unit: string,
  g: number[] | undefined,
  b: number[] | undefined,
  note?: string,
): Figure {
  const gredged = g ? median(g) : null;
  const bird = b ? median(b) : null;
  const ratio = gredged !== null && bird !== null && bird !== 0 ? gredged / bird : null;
  return { id, label, unit, gredged, bird, ratio, ...(note ? { note } : {}) };
}

export function birdVersion(): string | undefined {
  // BIRD 2.0 prints "BIRD version 2.0.12" on stderr.
  const r = spawnSync('bird', ['--version'], { encoding: 'utf8' });
  const text = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  return r.error || !text ? undefined : text;
}

export function host(): BenchResult['host'] {
  const bird = birdVersion();
  return {
    cpus: availableParallelism(),
    loadavg: loadavg(),
    kernel: release(),
    node: process.version,
    ...(bird ? { bird } : {}),
  };
}

export function writeResult(file: string, r: BenchResult): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(r, null, 2)}\n`);
}

const num = (x: number | null, d: number) => (x === null ? '—' : x.toFixed(d));

/** The figures as a fixed-width table (what the bench prints at the end). */
export function printFigures(figures: Figure[]): void {
  const w = Math.max(...figures.map((f) => f.label.length), 10);
  console.log(
    `${'figure'.padEnd(w)}  ${'unit'.padEnd(5)} ${'gredged'.padStart(10)} ${'BIRD 2'.padStart(10)} ${'ratio'.padStart(7)}`,
  );
  for (const f of figures) {
    const d = f.unit === 'count' || f.unit === 'MB' ? 0 : f.unit === 'B' ? 0 : 2;
    console.log(
      `${f.label.padEnd(w)}  ${f.unit.padEnd(5)} ${num(f.gredged, d).padStart(10)} ${num(f.bird, d).padStart(10)} ${num(f.ratio, 2).padStart(7)}${f.note ? `  ${f.note}` : ''}`,
    );
  }
}

/** Fails clearly when the loopback port the daemons bind is taken. */
export async function portFree(address: string, port: number): Promise<void> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', (e) =>
      reject(new Error(`${address}:${port} is busy (${e.message}); pick another --port`)),
    );
    s.listen(port, address, () => s.close(() => resolve()));
  });
}
