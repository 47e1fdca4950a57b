/**
 * What the report draws, whatever format a bench wrote: the results envelope that the new
 * benches write (sessions, memory, tunnels, churn), and the view every bench is turned into.
 *
 * Each value shown carries the path of the number it came from in the bench's own JSON file
 * (`source`), so that the report test checks what the page shows against the file itself and
 * not against this code's reading of it. A path is dot-separated keys and array indices
 * (`results.2.gredgedSeconds`), or two paths divided (`a / b`) for a ratio the bench did not
 * write; `scale` is the factor from the file's unit to the unit shown (bit/s → Gbit/s: 1e-9).
 */
import { z } from 'zod';

const num = z.number().nullable();

/** The shared contract for the new benches (see bench/README.md, "The results envelope"). */
export const Envelope = z.object({
  bench: z.string(),
  date: z.string(),
  host: z.object({
    cpus: z.number(),
    loadavg: z.array(z.number()),
    kernel: z.string(),
    node: z.string(),
    bird: z.string().optional(),
    gobgp: z.string().optional(),
  }),
  params: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])),
  figures: z.array(
    z.object({
      id: z.string(),
      label: z.string(),
      unit: z.string(),
      gredged: num,
      bird: num,
      ratio: num,
      note: z.string().optional(),
    }),
  ),
  plots: z.array(
    z.object({
      id: z.string(),
      title: z.string(),
      x: z.object({ label: z.string(), unit: z.string() }),
      y: z.object({ label: z.string(), unit: z.string() }),
      series: z.array(z.object({ name: z.string(), points: z.array(z.tuple([z.number(), z.number()])) })),
    }),
  ),
  raw: z.unknown().optional(),
});
export type Envelope = z.infer<typeof Envelope>;

export interface Sourced {
  value: number | null;
  /** Path in the bench's JSON file (see above); absent for a value the file does not hold. */
  source?: string;
  /** Shown value = file value × scale. */
  scale?: number;
}

export interface Figure {
  id: string;
  label: string;
  unit: string;
  gredged: Sourced;
  ref: Sourced;
  ratio: Sourced;
  note?: string;
  /** Shown in the report's headline table too. */
  headline: boolean;
}

export interface Point {
  x: number;
  y: number;
  xSource?: string;
  ySource?: string;
}

export interface Series {
  name: string;
  /** Scale from the file's unit of y to the unit shown (x is never scaled). */
  scale?: number;
  points: Point[];
}

export interface Plot {
  id: string;
  title: string;
  /** line: x is numeric; bar: x is the index of `categories`. */
  kind: 'line' | 'bar';
  x: { label: string; unit: string; categories?: string[] };
  y: { label: string; unit: string };
  series: Series[];
  note?: string;
}

export interface HostInfo {
  cpus?: number;
  loadavg?: number[];
  kernel?: string;
  node?: string;
  bird?: string;
  gobgp?: string;
}

/** A bench as the report shows it. */
export interface BenchView {
  name: string;
  /** ok: results shown. failed: the bench failed (partial results shown when it wrote any). */
  status: 'ok' | 'failed' | 'missing' | 'invalid' | 'skipped';
  /** Why a bench is not ok, in a sentence. */
  reason?: string;
  /** Last lines of a failed bench's output. */
  tail?: string[];
  /** The JSON file, relative to the results directory. */
  file?: string;
  /** When measured, and where that date comes from (the bench's JSON, the runner, the file). */
  date?: string;
  dateFrom?: string;
  host?: HostInfo;
  params: Record<string, string | number | boolean>;
  /** Name of the column gredged is compared with ('BIRD 2', 'kernel routing', ''). */
  refName: string;
  figures: Figure[];
  plots: Plot[];
  /** Short paragraphs that say how to read this bench's figures. */
  notes: string[];
}

/** A sourced value from a file path (value already scaled). */
export function at(json: unknown, path: string, scale = 1): Sourced {
  const v = resolvePath(json, path);
  const s: Sourced = { value: typeof v === 'number' && Number.isFinite(v) ? v * scale : null, source: path };
  if (scale !== 1) s.scale = scale;
  return s;
}

/** a / b from two paths, the source written `a / b` (for the ratios a bench did not write). */
export function ratioOf(json: unknown, a: string, b: string): Sourced {
  const x = at(json, a).value;
  const y = at(json, b).value;
  return { value: x !== null && y !== null && y !== 0 ? x / y : null, source: `${a} / ${b}` };
}

export const none: Sourced = { value: null };

/** The value at a dot path (keys and array indices) of a parsed JSON document. */
export function resolvePath(json: unknown, path: string): unknown {
  let v: unknown = json;
  for (const k of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}
