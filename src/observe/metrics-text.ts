/**
 * The Prometheus text exposition format (version 0.0.4), written by hand for the families that
 * grow with the box (one series per neighbor or per tunnel): a family's `# HELP` and `# TYPE`
 * lines, then its samples, built a slice at a time so that a scrape of 10,000 tunnels never holds
 * the event loop for more than SLICE_MS (prom-client serializes a whole metric in one go).
 * https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
 */

/** Longest run of the scrape's own work between two turns of the event loop (ms). */
export const SLICE_MS = 2;
/** Entities handled between two looks at the clock. */
const CLOCK_EVERY = 32;
/** Text turned into a Buffer once it is this long (characters). */
const CHUNK = 16 * 1024;

export type MetricType = 'counter' | 'gauge';

/** A label value as the format wants it: backslash, double quote and newline escaped. */
export function escapeLabel(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v;
}

/** HELP text: backslash and newline escaped. */
export function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A sample value: integers as such, NaN and infinities spelled the format's way. */
export function formatValue(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Number.POSITIVE_INFINITY) return '+Inf';
  if (n === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(n);
}

export function header(name: string, type: MetricType, help: string): string {
  return `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
}

/** Resolves on the next turn of the event loop, after I/O (timers and sockets get theirs). */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Work cut into slices of at most SLICE_MS: `step(i)` for i in [0, n), yielding to the event
 * loop whenever the slice's time is up. Returns how many times it yielded.
 */
export async function sliced(
  n: number,
  step: (i: number) => void,
  beforeYield?: () => void,
): Promise<number> {
  let yields = 0;
  let start = performance.now();
  for (let i = 0; i < n; i++) {
    step(i);
    if ((i + 1) % CLOCK_EVERY === 0 && performance.now() - start >= SLICE_MS) {
      beforeYield?.();
      await nextTurn();
      yields++;
      start = performance.now();
    }
  }
  return yields;
}

/**
 * One metric family over many entities: `rows(e)` returns the family's sample lines for one
 * entity (each ending in a newline, label values already escaped), or '' for none.
 */
export interface Family<E> {
  name: string;
  type: MetricType;
  help: string;
  rows(e: E): string;
}

/**
 * Writes every family over every entity, family by family (the format wants a family's samples
 * together), into UTF-8 chunks; a family with no sample at all is left out. The text of a slice
 * becomes a Buffer before the event loop turns: nothing of it stays on the JS heap across
 * slices, where a 10,000-tunnel scrape's millions of small strings would be promoted and cost a
 * long major GC later (measured: pauses of several hundred ms without this).
 */
export async function writeFamilies<E>(
  families: readonly Family<E>[],
  entities: readonly E[],
  out: Buffer[],
): Promise<void> {
  for (const f of families) {
    const first = out.length;
    let text = '';
    let any = false;
    const flush = () => {
      if (text.length === 0) return;
      out.push(Buffer.from(text, 'utf8'));
      text = '';
    };
    await sliced(
      entities.length,
      (i) => {
        const rows = f.rows(entities[i]!);
        if (rows.length === 0) return;
        any = true;
        text += rows;
        if (text.length >= CHUNK) flush();
      },
      flush,
    );
    flush();
    if (any) out.splice(first, 0, Buffer.from(header(f.name, f.type, f.help), 'utf8'));
  }
}
