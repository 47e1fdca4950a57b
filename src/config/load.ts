/**
 * YAML → validated `Config`: the main file and the files its `include:` names, merged, checked
 * against the schema (schema.ts) and between entries (checks.ts). Every problem is reported as
 * `file:line:column: field: message`, all of them at once; the loader applies nothing (the
 * daemon does).
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { GredgeError } from '../errors.js';
import { crossCheck } from './checks.js';
import { ConfigError } from './error.js';
import { type IncludedFile, resolveInclude } from './include.js';
import { configJsonSchema, includeJsonSchema, keysAt } from './json-schema.js';
import { type ConfigIssue, formatPath, fromZod, type Path, type PathIssue, YamlFile } from './reader.js';
import { configSchema, includeFileSchema } from './schema.js';
import type { Config } from './types.js';

export { FIB_DEFAULTS } from './limits.js';
export { CONTROL_DEFAULTS, formatMode } from './schema.js';
export { ConfigError } from './error.js';

/** Keys an included file contributes: appended, in include order, to the main file's lists. */
const MERGED = ['neighbors', 'tunnels'] as const;

export function loadConfig(path: string, opts: Omit<ParseOptions, 'baseDir'> = {}): Config {
  return parseConfig(readText(path), path, opts);
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new GredgeError('ERR_CONFIG_READ', `${path}: cannot read config: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

export interface ParseOptions {
  /** Directory relative `include:` patterns start from; default: the directory of `source`. */
  baseDir?: string;
  /** Filled with every file read, main first, in merge order (incremental.ts memoOfFull). */
  trace?: TracedFile[];
}

/** A file a load read: its absolute path, its text, and the parse of it. */
export interface TracedFile {
  path: string;
  text: string;
  yaml: YamlFile;
}

/** Where an entry of a merged list came from. */
interface Origin {
  file: YamlFile;
  index: number;
}

export function parseConfig(text: string, source: string, opts: ParseOptions = {}): Config {
  const main = new YamlFile(text, source, 0);
  if (main.syntaxError) throw new ConfigError(source, main.issues);
  opts.trace?.push({
    path: resolve(opts.baseDir ?? dirname(resolve(source)), basename(source)),
    text,
    yaml: main,
  });
  const issues: ConfigIssue[] = [...main.issues];
  const raw = main.value;
  const origins: Record<(typeof MERGED)[number], Origin[]> = { neighbors: [], tunnels: [] };
  let merged = raw;
  if (isRecord(raw)) {
    const base = opts.baseDir ?? dirname(resolve(source));
    const files = includedFiles(
      raw.include,
      base,
      dirname(source),
      main,
      resolve(base, basename(source)),
      opts.trace,
    );
    issues.push(...files.issues);
    merged = { ...raw };
    const m = merged as Record<string, unknown>;
    for (const key of MERGED) {
      if (m[key] !== undefined && !Array.isArray(m[key])) continue; // the schema says so
      const items = [...((m[key] as unknown[] | undefined) ?? [])];
      for (let index = 0; index < items.length; index++) origins[key].push({ file: main, index });
      for (const f of files.read) {
        const list = isRecord(f.value) && Array.isArray(f.value[key]) ? (f.value[key] as unknown[]) : [];
        list.forEach((item, index) => {
          items.push(item);
          origins[key].push({ file: f, index });
        });
      }
      if (items.length > 0 || m[key] !== undefined) m[key] = items;
    }
  }

  // A path into the merged config → the file, and the path in that file, it came from.
  const place = (path: Path): { file: YamlFile; path: Path } => {
    const [key, index, ...rest] = path;
    const o = typeof index === 'number' ? origins[key as (typeof MERGED)[number]]?.[index] : undefined;
    return o ? { file: o.file, path: [key!, o.index, ...rest] } : { file: main, path };
  };
  const issue = (p: PathIssue): ConfigIssue => {
    const at = place(p.path);
    return at.file.issue({ ...p, path: at.path });
  };
  const ref = (path: Path): string => {
    const at = place(path);
    const i = at.file.issue({ path: at.path, message: '' });
    return `${formatPath(at.path)} at ${at.file.name}:${i.line}:${i.column}`;
  };

  const result = configSchema.safeParse(merged);
  if (!result.success) {
    const schema = configJsonSchema();
    issues.push(...fromZod(result.error.issues, (p) => keysAt(schema, p)).map(issue));
  }
  issues.push(...crossCheck(merged, ref).map(issue));
  if (issues.length > 0 || !result.success) throw new ConfigError(source, issues);
  return { source, ...result.data };
}

/** Reads the files `include` names; their problems are theirs, with their own positions. */
function includedFiles(
  include: unknown,
  base: string,
  shownBase: string,
  main: YamlFile,
  mainPath: string,
  trace: TracedFile[] | undefined,
): { read: YamlFile[]; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const read: YamlFile[] = [];
  if (include === undefined) return { read, issues };
  const patterns = typeof include === 'string' ? [include] : Array.isArray(include) ? include : [];
  const seen = new Set<string>();
  const files: IncludedFile[] = [];
  patterns.forEach((pattern, i) => {
    if (typeof pattern !== 'string') return; // the schema reports it
    const path: Path = typeof include === 'string' ? ['include'] : ['include', i];
    const r = resolveInclude(pattern, base, shownBase);
    if ('error' in r) {
      issues.push(main.issue({ path, message: r.error }));
      return;
    }
    for (const f of r.files) {
      const key = resolve(f.path);
      if (key === mainPath) {
        issues.push(main.issue({ path, message: `'${pattern}' includes the main file itself` }));
        continue;
      }
      if (seen.has(key)) continue;
      seen.add(key);
      files.push(f);
    }
  });
  const schema = includeJsonSchema();
  files.forEach((f, n) => {
    let text: string;
    try {
      text = readFileSync(f.path, 'utf8');
    } catch (err) {
      issues.push(
        main.issue({ path: ['include'], message: `cannot read ${f.name}: ${(err as Error).message}` }),
      );
      return;
    }
    const file = new YamlFile(text, f.name, n + 1);
    issues.push(...file.issues);
    if (file.syntaxError) return;
    if (file.value === null) return; // an empty file adds nothing
    // The file's own shape (its keys, lists where lists belong); its entries are checked
    // once, merged, with everything else.
    const r = includeFileSchema.safeParse(file.value);
    if (!r.success) {
      const shallow = r.error.issues.filter((iss) => iss.path.length <= 1);
      for (const p of fromZod(shallow, (path) => keysAt(schema, path))) {
        const top = p.atKey && p.path.length === 1;
        const message = top ? `${p.message}: an included file holds neighbors and tunnels only` : p.message;
        issues.push(file.issue({ ...p, message }));
      }
    }
    read.push(file);
    trace?.push({ path: resolve(f.path), text, yaml: file });
  });
  return { read, issues };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
