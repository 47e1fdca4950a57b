/**
 * Incremental loads: a reload that changes one customer among thousands reads, parses and
 * checks that customer, not the whole box. The running config's loader child (isolated.ts)
 * leaves a memo behind (a v8-serialized `Memo`, held by the daemon beside the config it
 * describes); the next load is handed it back and:
 *
 *  1. Splits each file into its top-level list items, by text (`chunk`): an item of a block
 *     `neighbors:` or `tunnels:` list is the lines from its `- ` to the next item or top-level
 *     key. An item whose text (hashed) is in the memo is taken from it, raw value and all; the
 *     rest of the file (its other keys and the changed items) is parsed as YAML as usual. A file
 *     whose whole text is unchanged is not parsed at all.
 *  2. Checks with the schema only the changed items and the rest of the file: an item's schema
 *     reads nothing around it (schema.ts toConfig), so an unchanged item's checked form is the
 *     one the running config already has. The daemon puts those back in (`resolveReuse`): they
 *     are the very same objects, which the diff and every module compare by identity first.
 *  3. Runs the checks between entries (checks.ts) on every entry, unchanged or not: a new
 *     customer can collide with an old one.
 *
 * Anything unusual sends the load down the full path (load.ts), which stays the only authority
 * on what a config means and the only source of messages: a problem of any kind (the full path
 * then reports it with its file, line and column), a file the splitter does not follow (flow
 * lists, document markers, directives, tabs), an item with an anchor, alias or tag (its value
 * may depend on text elsewhere: never reused). Every item the splitter proposes is checked
 * against the YAML parser's own view of where the item starts and ends before it is memoized, so
 * a text the splitter misreads (a quoted scalar running over lines) is not memoized, and
 * reused text always meant, in the load that parsed it, exactly the value kept for it.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { crossCheck } from './checks.js';
import { resolveInclude } from './include.js';
import { YamlFile } from './reader.js';
import { configShapeSchema, toConfig } from './schema.js';
import { LISTS, type ListKey } from './reuse.js';
import type { Config } from './types.js';

export { LISTS, type ListKey, resolveReuse } from './reuse.js';
/** Bumped whenever the memo's form or the meaning of a memoized item could change. */
const MEMO_VERSION = 2;

/** What the merge knows of one list item: its text when memoizable, where it was, its JSON. */
interface Meta {
  t?: string;
  prev?: number;
  j?: string;
}

interface ItemMemo {
  /** The item's text, compared whole (no hash: no collision can ever take one item for another). */
  t: string;
  raw: unknown;
  /** Its position in the merged list of the config this memo describes. */
  index: number;
  /** `raw` as JSON, when it came from a memo (written again as it is). */
  j?: string;
}

interface FileMemo {
  hash: string;
  /** The file's value without the lists whose items are memoized. */
  head: Record<string, unknown>;
  items: Record<ListKey, ItemMemo[]>;
  /** Every item of every list is memoized: an unchanged file is taken whole. */
  complete: boolean;
}

export interface Memo {
  v: number;
  /** By absolute path. */
  files: Record<string, FileMemo>;
}

/** One item of a top-level block list, as text: [start, end) in the file. */
export interface Chunk {
  key: ListKey;
  start: number;
  end: number;
}

const LIST_LINE = /^(neighbors|tunnels):[ ]*(#.*)?\r?$/;

/**
 * The items of the file's top-level block lists `neighbors:` and `tunnels:`, in text order, or
 * undefined when the text is not of the plain form this follows (document markers, directives,
 * tab indentation, a line indented less than its list's items). What it returns is a proposal:
 * callers check it against the parser (`verified`).
 */
export function chunk(text: string): Chunk[] | undefined {
  const out: Chunk[] = [];
  let list: { key: ListKey; indent: number } | undefined;
  let listKey: ListKey | undefined; // a list line was seen; its items' indent not yet
  let cur: Chunk | undefined;
  const close = (at: number) => {
    if (cur) {
      cur.end = at;
      out.push(cur);
      cur = undefined;
    }
  };
  let pos = 0;
  const n = text.length;
  while (pos < n) {
    const nl = text.indexOf('\n', pos);
    const eol = nl === -1 ? n : nl;
    let i = pos;
    while (i < eol && text.charCodeAt(i) === 32) i++;
    const c = i < eol ? text.charCodeAt(i) : -1;
    if (c === 9) return undefined; // a tab where indentation goes
    const blank = c === -1 || c === 35 /* # */ || (c === 13 && i === eol - 1);
    if (!blank) {
      const indent = i - pos;
      const item =
        c === 45 /* - */ && (i + 1 === eol || text.charCodeAt(i + 1) === 32 || text.charCodeAt(i + 1) === 13);
      if (listKey !== undefined && list === undefined) {
        // The first line after `neighbors:` sets the items' indent (0 is allowed).
        if (!item) {
          listKey = undefined;
        } else {
          list = { key: listKey, indent };
        }
      }
      if (list && item && indent === list.indent) {
        close(pos);
        cur = { key: list.key, start: pos, end: n };
      } else if (indent === 0) {
        close(pos);
        if (c === 37 /* % */ || text.startsWith('---', pos) || text.startsWith('...', pos)) return undefined;
        const m = LIST_LINE.exec(text.slice(pos, eol));
        listKey = m ? (m[1] as ListKey) : undefined;
        list = undefined;
      } else if (list && indent <= list.indent) {
        return undefined;
      }
    }
    pos = nl === -1 ? n : nl + 1;
  }
  close(n);
  return out;
}

function sha1(s: string): string {
  return createHash('sha1').update(s).digest('base64');
}

/** Text that may mean something that depends on text elsewhere: an anchor, an alias, a tag. */
const CONTEXTUAL = /[&*!]/;

/** One file as the merge needs it: its value, and for each list item what the memo knows. */
interface FileRead {
  path: string;
  hash: string;
  value: Record<string, unknown> | null;
  /** Per list: for each item of value[key], its text when memoizable and its earlier index. */
  meta: Record<ListKey, Array<Meta>>;
  /** The list keys whose items are chunk-verified (the rest of `value` is the head). */
  chunked: Set<ListKey>;
}

function emptyMeta(): Record<ListKey, Array<Meta>> {
  return { neighbors: [], tunnels: [] };
}

/**
 * Whether `yaml`'s block list items are exactly the chunks proposed for `key`, offsets shifted
 * by nothing (the chunks are positions in the text that was parsed).
 */
function verified(yaml: YamlFile, key: ListKey, chunks: Chunk[]): boolean {
  const ranges = yaml.itemRanges(key);
  if (ranges === undefined) return chunks.length === 0;
  if (ranges.length !== chunks.length) return false;
  for (let i = 0; i < chunks.length; i++) {
    const [s, e] = ranges[i]!;
    const c = chunks[i]!;
    if (s < c.start || s >= c.end || e > c.end) return false;
  }
  return true;
}

class Fallback extends Error {}

/** Reads one file with the memo's help; throws Fallback for anything the full path must see. */
function readFile(path: string, name: string, order: number, memo: FileMemo | undefined): FileRead {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new Fallback('unreadable');
  }
  const hash = sha1(text);
  if (memo && memo.hash === hash && memo.complete) {
    const value: Record<string, unknown> = { ...memo.head };
    const meta = emptyMeta();
    const chunked = new Set<ListKey>();
    for (const key of LISTS) {
      const items = memo.items[key];
      if (items.length === 0) continue;
      value[key] = items.map((m) => m.raw);
      meta[key] = items.map((m) => ({ t: m.t, prev: m.index, ...(m.j !== undefined ? { j: m.j } : {}) }));
      chunked.add(key);
    }
    return { path, hash, value, meta, chunked };
  }
  const chunks = chunk(text);
  const pools = { neighbors: new Map<string, ItemMemo[]>(), tunnels: new Map<string, ItemMemo[]>() };
  if (memo && chunks)
    for (const key of LISTS)
      for (const m of memo.items[key]) {
        const l = pools[key].get(m.t);
        if (l) l.push(m);
        else pools[key].set(m.t, [m]);
      }
  // The text without the items taken from the memo: what is left is parsed.
  const kept: Record<ListKey, Chunk[]> = { neighbors: [], tunnels: [] };
  const perItem: Record<ListKey, Array<{ t?: string; reused?: ItemMemo }>> = { neighbors: [], tunnels: [] };
  let skeleton = text;
  if (chunks) {
    const parts: string[] = [];
    let at = 0;
    let shift = 0;
    for (const c of chunks) {
      const t = text.slice(c.start, c.end);
      const h = CONTEXTUAL.test(t) ? undefined : t;
      const hit = h !== undefined ? pools[c.key].get(h)?.shift() : undefined;
      if (hit) {
        parts.push(text.slice(at, c.start));
        shift += c.end - c.start;
        at = c.end;
        perItem[c.key].push({ t: h!, reused: hit });
      } else {
        kept[c.key].push({ key: c.key, start: c.start - shift, end: c.end - shift });
        perItem[c.key].push(h !== undefined ? { t: h } : {});
      }
    }
    parts.push(text.slice(at));
    skeleton = parts.join('');
  }
  const yaml = new YamlFile(skeleton, name, order);
  if (yaml.issues.length > 0) throw new Fallback('yaml');
  const v = yaml.value;
  if (v !== null && (typeof v !== 'object' || Array.isArray(v))) throw new Fallback('not a mapping');
  const value = v === null ? null : { ...(v as Record<string, unknown>) };
  const meta = emptyMeta();
  const chunked = new Set<ListKey>();
  for (const key of LISTS) {
    const items = perItem[key];
    if (chunks && items.length > 0) {
      if (!verified(yaml, key, kept[key])) throw new Fallback(`${key}: items not where the text says`);
      const parsed = kept[key].length > 0 ? (value?.[key] as unknown[]) : [];
      let k = 0;
      const raws: unknown[] = [];
      for (const it of items) {
        if (it.reused) {
          raws.push(it.reused.raw);
          meta[key].push({
            t: it.t!,
            prev: it.reused.index,
            ...(it.reused.j !== undefined ? { j: it.reused.j } : {}),
          });
        } else {
          raws.push(parsed[k++]);
          meta[key].push(it.t !== undefined ? { t: it.t } : {});
        }
      }
      if (value === null) throw new Fallback('items in an empty file');
      value[key] = raws;
      chunked.add(key);
    } else if (value && Array.isArray(value[key])) {
      meta[key] = (value[key] as unknown[]).map(() => ({}));
    }
  }
  return { path, hash, value, meta, chunked };
}

/** What an incremental load gives: the config with `null` where an unchanged entry goes. */
export interface IncrementalLoad {
  config: Config;
  /** Per list: for each entry, the index in the previous config it is taken from, or -1. */
  reuse: Record<ListKey, Int32Array>;
  memo: Memo;
}

/**
 * The incremental load of `path` given the previous load's memo; undefined when the full path
 * must run (a problem to report, a text not followed, no memo of this version).
 */
export function loadIncremental(path: string, memo: Memo): IncrementalLoad | undefined {
  try {
    return incremental(path, memo);
  } catch (err) {
    if (err instanceof Fallback) return undefined;
    throw err;
  }
}

function incremental(source: string, memo: Memo): IncrementalLoad {
  const mainPath = resolve(source);
  const main = readFile(mainPath, source, 0, memo.files[mainPath]);
  if (main.value === null) throw new Fallback('empty main file');
  const files = [main, ...includes(main.value.include, source, mainPath, memo)];
  const merged: Record<string, unknown> = { ...main.value };
  const metas: Record<ListKey, Array<Meta>> = emptyMeta();
  for (const key of LISTS) {
    const own = merged[key];
    if (own !== undefined && !Array.isArray(own)) throw new Fallback(`${key} not a list`);
    const items: unknown[] = [];
    for (const f of files) {
      const l = f.value?.[key];
      if (l === undefined || l === null) {
        if (f !== main && l === null) throw new Fallback('null list in an included file');
        continue;
      }
      if (!Array.isArray(l)) throw new Fallback(`${key} not a list`);
      const meta = f.meta[key];
      for (let i = 0; i < l.length; i++) {
        items.push(l[i]);
        metas[key].push(meta[i]!);
      }
    }
    if (items.length > 0 || own !== undefined) merged[key] = items;
  }
  for (const f of files.slice(1))
    for (const k of Object.keys(f.value ?? {}))
      if (!(LISTS as readonly string[]).includes(k)) throw new Fallback('key');

  // The schema on everything but the unchanged entries.
  const partial: Record<string, unknown> = { ...merged };
  for (const key of LISTS) {
    const l = merged[key] as unknown[] | undefined;
    if (l) partial[key] = l.filter((_, i) => metas[key][i]!.prev === undefined);
  }
  const shape = configShapeSchema.safeParse(partial);
  if (!shape.success) throw new Fallback('schema');
  if (crossCheck(merged, () => '').length > 0) throw new Fallback('checks');

  const reuse = { neighbors: new Int32Array(0), tunnels: new Int32Array(0) };
  const full = { ...shape.data } as Record<string, unknown>;
  for (const key of LISTS) {
    const checked = shape.data[key] as unknown[];
    const m = metas[key];
    const r = new Int32Array(m.length).fill(-1);
    const out: unknown[] = new Array(m.length);
    let k = 0;
    for (let i = 0; i < m.length; i++) {
      const prev = m[i]!.prev;
      if (prev !== undefined) {
        r[i] = prev;
        out[i] = null;
      } else out[i] = checked[k++];
    }
    full[key] = out;
    reuse[key] = r;
  }
  const config = { source, ...toConfig(full as Parameters<typeof toConfig>[0]) } as Config;
  return { config, reuse, memo: buildMemo(files) };
}

/** The included files, read with the memo's help (in the order the full path reads them). */
function includes(include: unknown, source: string, mainPath: string, memo: Memo): FileRead[] {
  if (include === undefined) return [];
  const base = dirname(mainPath);
  const patterns = typeof include === 'string' ? [include] : Array.isArray(include) ? include : [];
  const seen = new Set<string>();
  const out: FileRead[] = [];
  for (const pattern of patterns) {
    if (typeof pattern !== 'string') throw new Fallback('include');
    const r = resolveInclude(pattern, base, dirname(source));
    if ('error' in r) throw new Fallback('include');
    for (const f of r.files) {
      const key = resolve(f.path);
      if (key === resolve(base, basename(source))) throw new Fallback('includes itself');
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(readFile(key, f.name, out.length + 1, memo.files[key]));
    }
  }
  return out;
}

function buildMemo(files: FileRead[]): Memo {
  const out: Memo = { v: MEMO_VERSION, files: {} };
  const index: Record<ListKey, number> = { neighbors: 0, tunnels: 0 };
  for (const f of files) {
    const head: Record<string, unknown> = { ...(f.value ?? {}) };
    const items: Record<ListKey, ItemMemo[]> = { neighbors: [], tunnels: [] };
    let complete = f.value !== null;
    for (const key of LISTS) {
      const l = f.value?.[key];
      if (!Array.isArray(l)) continue;
      const meta = f.meta[key];
      if (f.chunked.has(key)) delete head[key];
      l.forEach((raw, i) => {
        const m = meta[i];
        if (m?.t !== undefined && f.chunked.has(key))
          items[key].push({ t: m.t, raw, index: index[key] + i, ...(m.j !== undefined ? { j: m.j } : {}) });
        else complete = false;
      });
      index[key] += l.length;
    }
    out.files[f.path] = { hash: f.hash, head, items, complete };
  }
  return out;
}

/**
 * The memo of a load done by the full path (load.ts), from the files it read: each file split
 * by text and checked against the parser, as `readFile` does without a memo.
 */
export function memoOfFull(read: Array<{ path: string; text: string; yaml: YamlFile }>): Memo {
  const files: FileRead[] = [];
  for (const r of read) {
    const v = r.yaml.value;
    const value =
      v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
    const chunks = chunk(r.text);
    const meta = emptyMeta();
    const chunked = new Set<ListKey>();
    for (const key of LISTS) {
      const l = value?.[key];
      if (!Array.isArray(l)) continue;
      const mine = chunks?.filter((c) => c.key === key);
      if (mine && mine.length > 0 && verified(r.yaml, key, mine)) {
        chunked.add(key);
        meta[key] = mine.map((c) => {
          const t = r.text.slice(c.start, c.end);
          return CONTEXTUAL.test(t) ? {} : { t };
        });
      } else meta[key] = l.map(() => ({}));
    }
    files.push({ path: r.path, hash: sha1(r.text), value, meta, chunked });
  }
  return buildMemo(files);
}

/**
 * The memo as bytes: per file and list, the items' texts, their indexes and their raw values as
 * one JSON text (an unchanged item's JSON is copied, not written again). Kept as objects,
 * 20,000 entries took 60 ms to deserialize and 80 ms to serialize, in a child process whose
 * whole budget is a few hundred ms. JSON holds every value YAML gives for a valid config exactly
 * but non-finite numbers (`.inf`, `.nan`) and -0: an item holding one is left out of the memo.
 */
interface WireList {
  texts: string[];
  index: Int32Array;
  /** The raw values, one JSON array; item i is raws[spans[2i], spans[2i+1]). */
  raws: string;
  spans: Int32Array;
}

interface WireFile {
  hash: string;
  head: Record<string, unknown>;
  complete: boolean;
  lists: Record<ListKey, WireList>;
}

export function encodeMemo(memo: Memo): Buffer {
  const files: Record<string, WireFile> = {};
  for (const [path, f] of Object.entries(memo.files)) {
    let complete = f.complete;
    const lists = {} as Record<ListKey, WireList>;
    for (const key of LISTS) {
      const texts: string[] = [];
      const index: number[] = [];
      const spans: number[] = [];
      const parts: string[] = [];
      let at = 1; // after '['
      for (const m of f.items[key]) {
        // An item from the memo keeps its JSON; a new one is checked once.
        const j = m.j ?? (exactJson(m.raw) ? JSON.stringify(m.raw) : undefined);
        if (j === undefined) {
          complete = false;
          continue;
        }
        if (parts.length > 0) at++; // ','
        texts.push(m.t);
        index.push(m.index);
        spans.push(at, at + j.length);
        parts.push(j);
        at += j.length;
      }
      lists[key] = {
        texts,
        index: Int32Array.from(index),
        raws: `[${parts.join(',')}]`,
        spans: Int32Array.from(spans),
      };
    }
    files[path] = { hash: f.hash, head: f.head, complete, lists };
  }
  return serialize({ v: MEMO_VERSION, files });
}

/** Whether JSON gives `v` back exactly (not so: non-finite numbers, -0, anything not plain). */
function exactJson(v: unknown): boolean {
  if (typeof v === 'number') return Number.isFinite(v) && !Object.is(v, -0);
  if (typeof v === 'string' || typeof v === 'boolean' || v === null) return true;
  if (Array.isArray(v)) {
    for (const x of v) if (!exactJson(x)) return false;
    return true;
  }
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    for (const k in v) if (!exactJson((v as Record<string, unknown>)[k])) return false;
    return true;
  }
  return false;
}

export function decodeMemo(bytes: Uint8Array): Memo | undefined {
  let wire: { v?: number; files?: Record<string, WireFile> };
  try {
    wire = deserialize(bytes);
  } catch {
    return undefined;
  }
  if (wire?.v !== MEMO_VERSION || !wire.files) return undefined;
  const files: Record<string, FileMemo> = {};
  for (const [path, w] of Object.entries(wire.files)) {
    const items = { neighbors: [], tunnels: [] } as Record<ListKey, ItemMemo[]>;
    for (const key of LISTS) {
      const l = w.lists[key];
      const raws = JSON.parse(l.raws) as unknown[];
      const out = new Array<ItemMemo>(l.texts.length);
      for (let i = 0; i < out.length; i++)
        out[i] = {
          t: l.texts[i]!,
          raw: raws[i],
          index: l.index[i]!,
          j: l.raws.slice(l.spans[2 * i]!, l.spans[2 * i + 1]!),
        };
      items[key] = out;
    }
    files[path] = { hash: w.hash, head: w.head, items, complete: w.complete };
  }
  return { v: MEMO_VERSION, files };
}
