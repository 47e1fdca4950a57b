#!/usr/bin/env node
/**
 * bench/report/render: builds one self-contained HTML report (default
 * bench/results/report.html) from the benches' JSON files in a results directory and the
 * runner's manifest.json beside them, when there is one. Every bench of the catalog gets its
 * section: measured, failed (with why and the end of its output, and its partial results when it
 * wrote any), invalid (its JSON is not what the report reads, and what is wrong), skipped or not
 * run.
 *   node dist/bench/report/render.js [--dir bench/results] [--out DIR/report.html]
 * `npm run bench -- --report-only` does the same after a build.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { adapt } from './adapters.js';
import { BENCHES, type BenchInfo, type BenchRunRecord, MANIFEST, type Manifest } from './catalog.js';
import { page } from './html.js';
import type { BenchView } from './model.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const RESULTS = join(ROOT, 'bench/results');

function readManifest(dir: string): Manifest | undefined {
  const f = join(dir, MANIFEST);
  if (!existsSync(f)) return undefined;
  try {
    return JSON.parse(readFileSync(f, 'utf8')) as Manifest;
  } catch (err) {
    console.error(`report: ignoring ${f}: ${(err as Error).message}`);
    return undefined;
  }
}

function failedReason(rec: BenchRunRecord): string {
  if (rec.message) return rec.message;
  if (rec.status === 'timeout') return `stopped after ${Math.round(rec.seconds ?? 0)} s (timeout)`;
  return rec.signal ? `ended by ${rec.signal}` : `exited with code ${rec.exitCode}`;
}

function view(
  dir: string,
  info: BenchInfo,
  rec: BenchRunRecord | undefined,
  m: Manifest | undefined,
): BenchView {
  const base: BenchView = {
    name: info.name,
    status: 'ok',
    params: {},
    refName: info.reference,
    figures: [],
    plots: [],
    notes: [],
  };
  const file = join(dir, `${info.name}.json`);
  const failed = rec && (rec.status === 'failed' || rec.status === 'timeout');
  if (failed) {
    base.status = 'failed';
    base.reason = `${info.script} failed: ${failedReason(rec)}${rec.log ? ` (log: ${rec.log})` : ''}`;
    if (rec.tail) base.tail = rec.tail;
  }
  if (!existsSync(file)) {
    if (failed) return { ...base, reason: `${base.reason}; it wrote no results` };
    if (rec?.status === 'skipped')
      return { ...base, status: 'skipped', reason: rec.message ?? 'skipped in this run' };
    if (rec?.status === 'ok')
      return {
        ...base,
        status: 'missing',
        reason: `${info.script} ended well but wrote no ${info.name}.json`,
      };
    return {
      ...base,
      status: 'missing',
      reason: `no results: ${info.name}.json is not in ${dir} (run npm run ${info.script}, or npm run bench)`,
    };
  }
  base.file = `${info.name}.json`;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    return { ...base, status: 'invalid', reason: `${info.name}.json is not JSON: ${(err as Error).message}` };
  }
  try {
    const a = adapt(info.format, json, info.name);
    Object.assign(base, a);
  } catch (err) {
    return { ...base, status: 'invalid', reason: (err as Error).message };
  }
  // Where the date and load come from when the bench's own format has none.
  if (base.date) base.dateFrom = 'the bench’s JSON';
  else if (rec?.started) {
    base.date = rec.started;
    base.dateFrom = 'the suite runner';
  } else {
    base.date = statSync(file).mtime.toISOString();
    base.dateFrom = 'the file’s time';
  }
  const ranNow = rec !== undefined && rec.status !== 'skipped';
  if (!base.host && m && ranNow) base.host = { ...m.host, loadavg: rec.loadBefore ?? m.host.loadavg };
  if (m && !ranNow)
    base.notes.unshift('Not run by the last npm run bench: these results are from an earlier run.');
  return base;
}

/** Every bench of the catalog as the report shows it. */
export function loadViews(dir: string): { views: BenchView[]; manifest?: Manifest } {
  const manifest = readManifest(dir);
  const views = BENCHES.map((b) => view(dir, b, manifest?.benches[b.name], manifest));
  return manifest ? { views, manifest } : { views };
}

export function renderReport(
  dir: string,
  out = join(dir, 'report.html'),
): { file: string; views: BenchView[] } {
  const { views, manifest } = loadViews(dir);
  const rel = relative(ROOT, resolve(dir));
  const html = page(views, {
    generated: new Date().toISOString(),
    resultsDir: rel.startsWith('..') ? resolve(dir) : rel || '.',
    ...(manifest ? { manifest } : {}),
  });
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, html);
  return { file: out, views };
}

function main(): void {
  const { values } = parseArgs({
    options: { dir: { type: 'string', default: RESULTS }, out: { type: 'string' } },
  });
  const { file, views } = renderReport(values.dir, values.out);
  for (const v of views) console.log(`  ${v.name.padEnd(16)} ${v.status}${v.reason ? `: ${v.reason}` : ''}`);
  console.log(`report: ${file}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
