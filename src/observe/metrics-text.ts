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
 * The scrape's text, written straight into 64 KiB Buffers: sample values as digits, label and
 * metric names copied in. A scrape of 10,000 tunnels builds some 60,000 lines; as template
 * strings joined and turned into Buffers they allocated six times the text on the JS heap, and
 * the scavenges that cost held the event loop for tens of ms (issue 11). A family's `# HELP` and
 * `# TYPE` lines are written before its first sample, so a family with none is left out.
 */
export class Sink {
  static readonly CHUNK = 64 * 1024;
  readonly #out: Buffer[];
  #buf: Buffer = Buffer.allocUnsafe(Sink.CHUNK);
  /** Where the text not yet handed to `out` starts, and where the next byte goes. */
  #start = 0;
  #pos = 0;
  #header: string | undefined;

  constructor(out: Buffer[]) {
    this.#out = out;
  }

  /** The next family's header: written before its first sample, or never. */
  family(name: string, type: MetricType, help: string): void {
    this.#header = header(name, type, help);
  }

  /** The family ended: a header still pending (no sample) is dropped. */
  endFamily(): void {
    this.#header = undefined;
  }

  #room(bytes: number): void {
    if (this.#pos + bytes <= this.#buf.length) return;
    this.flush();
    this.#buf = Buffer.allocUnsafe(Math.max(Sink.CHUNK, bytes));
    this.#start = 0;
    this.#pos = 0;
  }

  #text(s: string): void {
    this.#room(s.length * 3);
    this.#pos += this.#buf.write(s, this.#pos);
  }

  /** Text of a sample line (the metric name, labels, a value as text, the newline). */
  str(s: string): this {
    if (this.#header !== undefined) {
      const h = this.#header;
      this.#header = undefined;
      this.#text(h);
    }
    this.#text(s);
    return this;
  }

  /** A value: non-negative integers as digits written in place, the rest as formatValue says. */
  num(n: number): this {
    if (!(n >= 0 && n <= Number.MAX_SAFE_INTEGER && Math.floor(n) === n)) return this.str(formatValue(n));
    this.#room(16);
    const b = this.#buf;
    let len = 1;
    for (let x = n; x >= 10; x = Math.floor(x / 10)) len++;
    let at = this.#pos + len;
    this.#pos = at;
    let x = n;
    do {
      const q = Math.floor(x / 10);
      b[--at] = 48 + (x - q * 10);
      x = q;
    } while (x > 0);
    return this;
  }

  /** `NAME{LABELS} VALUE\n`, or `NAME VALUE\n` when `labels` is ''. */
  sample(name: string, labels: string, value: number): void {
    this.str(name);
    if (labels !== '') this.str('{').str(labels).str('}');
    this.str(' ').num(value).str('\n');
  }

  /** `NAME{A,B} VALUE\n`: two label sets (each `k="v"`, escaped). */
  sample2(name: string, a: string, b: string, value: number): void {
    this.str(name).str('{').str(a).str(',').str(b).str('} ').num(value).str('\n');
  }

  /** Hands what was written since the last flush to `out` (before the event loop turns). */
  flush(): void {
    if (this.#pos > this.#start) this.#out.push(this.#buf.subarray(this.#start, this.#pos));
    this.#start = this.#pos;
  }
}

/** One metric family over many entities: `write(e, o)` writes its samples for one entity. */
export interface Family<E> {
  name: string;
  type: MetricType;
  help: string;
  write(e: E, o: Sink): void;
}

/**
 * Writes every family over every entity, family by family (the format wants a family's samples
 * together), a slice at a time; a family with no sample at all is left out. What a slice wrote
 * is handed to `out` before the event loop turns.
 */
export async function writeFamilies<E>(
  families: readonly Family<E>[],
  entities: readonly E[],
  out: Buffer[],
): Promise<void> {
  const o = new Sink(out);
  const flush = () => o.flush();
  for (const f of families) {
    o.family(f.name, f.type, f.help);
    await sliced(entities.length, (i) => f.write(entities[i]!, o), flush);
    o.endFamily();
  }
  o.flush();
}
