/**
 * Reading a scrape back in tests: the text exposition format parsed into series → value, and
 * `promtool check metrics` (Debian's `prometheus` package) run on it.
 */
import { spawnSync } from 'node:child_process';

/** `name{a="1",b="2"}` with labels sorted: the key of one series. */
export function seriesKey(name: string, labels: Record<string, string> = {}): string {
  const l = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${labels[k]}"`)
    .join(',');
  return l ? `${name}{${l}}` : name;
}

export interface Scrape {
  series: Map<string, number>;
  /** Metric family names with a `# TYPE` line, and their type. */
  types: Map<string, string>;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseScrape(text: string): Scrape {
  const series = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      types.set(name!, type!);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL))
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    const v =
      m[3] === '+Inf' ? Number.POSITIVE_INFINITY : m[3] === '-Inf' ? Number.NEGATIVE_INFINITY : Number(m[3]);
    series.set(seriesKey(m[1]!, labels), v);
  }
  return { series, types };
}

/** The value of one series, or undefined when the scrape does not have it. */
export function seriesValue(
  s: Scrape,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  return s.series.get(seriesKey(name, labels));
}

/** Why promtool cannot run here, or false. */
export function promtoolMissing(): string | false {
  const r = spawnSync('promtool', ['--version'], { stdio: 'ignore' });
  return r.error || r.status !== 0 ? 'needs promtool (Debian package prometheus)' : false;
}

/** `promtool check metrics` on a scrape: exit code and what it said (lint problems). */
export function promtool(text: string): { code: number; said: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status ?? -1, said: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}
