/**
 * Incremental loads: a reload that changes one customer among thousands reads, parses and
 * checks that customer, not the whole box. The running config's loader child (isolated.ts)
 * leaves a memo behind (a v8-serialized `Memo`, in a file the daemon keeps beside the config
 * it describes); the next load is handed it back and:
 *
 *  1. Splits each file into its top-level list items, by text (`chunk`): an item of a block
 *     `neighbors:` or `tunnels:` list is the lines from its `- ` to the next item or top-level
 *     key. An item whose text is in the memo is taken from it; the rest of the file (its other
 *     keys and the changed items) is parsed as YAML as usual. A file whose whole text is
 *     unchanged is not parsed at all. The memo holds no value of an item: an unchanged item
 *     is never looked at again, but for its text.
 *  2. Checks with the schema only the changed items and the rest of the file: an item's schema
 *     reads nothing around it (schema.ts toConfig), so an unchanged item's checked form is the
 *     one the running config already has. The daemon puts those back in (`resolveReuse`): they
 *     are the very same objects, which the diff and every module compare by identity first.
 *  3. Runs the checks between entries (checks.ts): a new customer can collide with an old
 *     one. What the checks read of an entry (its reading: names, addresses, key, subnets,
 *     rules) is a function of the entry alone, so the memo keeps each entry's reading, and the
 *     keys the checks compare in flat form (checks.ts EntryKeys). The memo's config passed
 *     every check: when the rest of the config (its head) is the same, only the changed
 *     entries and the unchanged ones they could meet (checks.ts `related`: same name, address,
 *     remote and key, overlapping subnet or rule, a tunnel named) are checked, which finds a
 *     problem exactly when checking every entry does. Else (another head, many changes) every
 *     entry is checked, the unchanged ones from their memoized readings.
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
import { readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import {
  checkReadings,
  type EntryKeys,
  KeysBuilder,
  type NeighborReading,
  type Readings,
  readingJson,
  readingOf,
  readNeighbor,
  readTunnel,
  related,
  type TunnelReading,
} from './checks.js';
import { resolveInclude } from './include.js';
import { YamlFile } from './reader.js';
import { configShapeSchema, toConfig } from './schema.js';
import { LISTS, type ListKey } from './reuse.js';
import type { Config } from './types.js';

export { LISTS, type ListKey, resolveReuse } from './reuse.js';
/** Bumped whenever the memo's form or the meaning of a memoized item could change. */
const MEMO_VERSION = 3;

type Reading = TunnelReading | NeighborReading;

/** What the checks read of an entry of `key` (checks.ts). */
const READ: Record<ListKey, (raw: unknown) => Reading> = { neighbors: readNeighbor, tunnels: readTunnel };

/** A file's memoized list items: item k's text is [starts[k], ends[k]) of the file's text. */
interface FileItems {
  starts: Int32Array;
  ends: Int32Array;
  /** Its position in the merged list of the config the memo describes. */
  index: Int32Array;
}

/** What the merge knows of one list item: where its text is, and the entry it is taken from. */
interface Meta {
  start?: number;
  end?: number;
  /** The index, in the memo's config, of the entry this item is the same text as. */
  prev?: number;
}

interface FileMemo {
  /** The file's whole text (items are compared whole, as text: no hash can collide). */
  text: string;
  /** The file's value without the lists whose items are memoized. */
  head: Record<string, unknown>;
  items: Record<ListKey, FileItems>;
  /** Every item of every list is memoized: an unchanged file is taken whole. */
  complete: boolean;
}

/** Per merged list: each entry's reading (checks.ts) as JSON, and the keys the checks compare. */
interface ListMemo {
  /** Entry i's reading is readings[spans[2i], spans[2i+1]) (-1: not memoized). */
  readings: string;
  spans: Int32Array;
}

/**
 * The memo of a config that passed every check: held as it is written (v8-serialized: typed
 * arrays and a few long strings, no object per entry, so reading it back costs a copy).
 */
export interface Memo {
  v: number;
  /** By absolute path. */
  files: Record<string, FileMemo>;
  /** The merged config without its lists. */
  head: Record<string, unknown>;
  lists: Record<ListKey, ListMemo>;
  keys: EntryKeys;
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

/** Text that may mean something that depends on text elsewhere: an anchor, an alias, a tag. */
const CONTEXTUAL = /[&*!]/;

/** One file as the merge needs it: its value, and for each list item what the memo knows. */
interface FileRead {
  path: string;
  text: string;
  /** Items taken from the memo are `null` in its lists: the memo's entry stands for them. */
  value: Record<string, unknown> | null;
  /** Per list: for each item of value[key], where its text is and the memo's entry it is. */
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

/**
 * The memo's items of one list, found by text: where they were, or one further (most items of
 * a reload are where they were, or next to an item changed, added or removed: comparing two
 * texts costs no hashing); after a few items found neither way, by a table of all of them. Each
 * memo item is given out once.
 */
class Pool {
  #table: Map<string, number[]> | undefined;
  #at = 0;
  #misses = 0;
  readonly #used: Uint8Array;
  constructor(
    readonly text: string,
    readonly items: FileItems,
  ) {
    this.#used = new Uint8Array(items.index.length);
  }

  /** The memo's entry index for this text, or -1. */
  take(text: string, start: number, end: number): number {
    for (let k = this.#at; k < this.#at + 2; k++) if (this.#same(k, text, start, end)) return this.#give(k);
    if (this.#table === undefined) {
      if (++this.#misses <= 4) return -1;
      this.#table = new Map();
      const { starts, ends } = this.items;
      for (let x = 0; x < starts.length; x++) {
        const t = this.text.slice(starts[x]!, ends[x]!);
        const l = this.#table.get(t);
        if (l) l.push(x);
        else this.#table.set(t, [x]);
      }
    }
    const l = this.#table.get(text.slice(start, end));
    if (l) for (const x of l) if (!this.#used[x]) return this.#give(x);
    return -1;
  }

  #same(k: number, text: string, start: number, end: number): boolean {
    const { starts, ends } = this.items;
    return (
      k < starts.length &&
      !this.#used[k] &&
      ends[k]! - starts[k]! === end - start &&
      this.text.slice(starts[k]!, ends[k]!) === text.slice(start, end)
    );
  }

  #give(k: number): number {
    this.#used[k] = 1;
    this.#at = k + 1;
    return this.items.index[k]!;
  }
}

/** Reads one file with the memo's help; throws Fallback for anything the full path must see. */
function readFile(path: string, name: string, order: number, memo: FileMemo | undefined): FileRead {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new Fallback('unreadable');
  }
  if (memo?.complete && memo.text === text) {
    const value: Record<string, unknown> = { ...memo.head };
    const meta = emptyMeta();
    const chunked = new Set<ListKey>();
    for (const key of LISTS) {
      const items = memo.items[key];
      const n = items.index.length;
      if (n === 0) continue;
      value[key] = new Array(n).fill(null);
      const m: Meta[] = new Array(n);
      for (let k = 0; k < n; k++)
        m[k] = { start: items.starts[k]!, end: items.ends[k]!, prev: items.index[k]! };
      meta[key] = m;
      chunked.add(key);
    }
    return { path, text, value, meta, chunked };
  }
  const chunks = chunk(text);
  const pools =
    memo && chunks
      ? {
          neighbors: new Pool(memo.text, memo.items.neighbors),
          tunnels: new Pool(memo.text, memo.items.tunnels),
        }
      : undefined;
  // The text without the items taken from the memo: what is left is parsed.
  const kept: Record<ListKey, Chunk[]> = { neighbors: [], tunnels: [] };
  const perItem: Record<ListKey, Meta[]> = { neighbors: [], tunnels: [] };
  let skeleton = text;
  if (chunks) {
    const parts: string[] = [];
    let at = 0;
    let shift = 0;
    for (const c of chunks) {
      // A memo item's text is plain (never memoized otherwise): the same text needs no test.
      const hit = pools ? pools[c.key].take(text, c.start, c.end) : -1;
      if (hit >= 0) {
        parts.push(text.slice(at, c.start));
        shift += c.end - c.start;
        at = c.end;
        perItem[c.key].push({ start: c.start, end: c.end, prev: hit });
      } else {
        kept[c.key].push({ key: c.key, start: c.start - shift, end: c.end - shift });
        const plain = !CONTEXTUAL.test(text.slice(c.start, c.end));
        perItem[c.key].push(plain ? { start: c.start, end: c.end } : {});
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
      const raws: unknown[] = new Array(items.length);
      for (let i = 0; i < items.length; i++) raws[i] = items[i]!.prev !== undefined ? null : parsed[k++];
      if (value === null) throw new Fallback('items in an empty file');
      value[key] = raws;
      meta[key] = items;
      chunked.add(key);
    } else if (value && Array.isArray(value[key])) {
      meta[key] = (value[key] as unknown[]).map(() => ({}));
    }
  }
  return { path, text, value, meta, chunked };
}

/** What an incremental load gives: the config with `null` where an unchanged entry goes. */
export interface IncrementalLoad {
  config: Config;
  /** Per list: for each entry, the index in the previous config it is taken from, or -1. */
  reuse: Record<ListKey, Int32Array>;
  /** The memo of this load, made when first asked for (in the loader: after the answer). */
  readonly memo: Memo;
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

/**
 * Up to this many changed entries (and tunnels gone), the checks between entries run on them
 * and the entries they could meet only (checks.ts `related`); beyond, on every entry.
 */
const FEW = 256;

function incremental(source: string, memo: Memo): IncrementalLoad {
  if (memo.v !== MEMO_VERSION) throw new Fallback('memo version');
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

  // The checks between entries. The memo's config passed them all: with the same head, only
  // the changed entries and those they could meet are checked; else every entry, the
  // unchanged ones as the memo read them.
  const fresh: Record<ListKey, Array<Reading | undefined>> = { neighbors: [], tunnels: [] };
  const changed: Readings = { neighbors: [], tunnels: [] };
  const kept: Record<ListKey, Int32Array> = {
    neighbors: new Int32Array(memo.lists.neighbors.spans.length >> 1).fill(-1),
    tunnels: new Int32Array(memo.lists.tunnels.spans.length >> 1).fill(-1),
  };
  for (const key of LISTS) {
    const l = (merged[key] as unknown[] | undefined) ?? [];
    fresh[key] = new Array(l.length);
    for (let i = 0; i < l.length; i++) {
      const prev = metas[key][i]!.prev;
      if (prev !== undefined) {
        if (prev >= kept[key].length) throw new Fallback('memo');
        kept[key][prev] = i;
      } else {
        const r = READ[key](l[i]);
        fresh[key][i] = r;
        (changed[key] as Reading[]).push(r);
      }
    }
  }
  const gone: number[] = [];
  kept.tunnels.forEach((at, i) => {
    if (at < 0) gone.push(i);
  });
  let readings: Readings;
  if (
    sameValue(headOf(merged), memo.head) &&
    changed.tunnels.length + changed.neighbors.length <= FEW &&
    gone.length <= FEW
  ) {
    const near = related(memo.keys, changed, gone);
    readings = { neighbors: changed.neighbors.slice(), tunnels: changed.tunnels.slice() };
    for (const key of LISTS)
      for (const prev of near[key])
        if (kept[key][prev]! >= 0) (readings[key] as Reading[]).push(memoReading(memo, key, prev));
  } else {
    readings = { neighbors: [], tunnels: [] };
    for (const key of LISTS)
      (readings as Record<ListKey, Reading[]>)[key] = metas[key].map((m, i) =>
        m.prev !== undefined ? memoReading(memo, key, m.prev) : fresh[key][i]!,
      );
  }
  if (checkReadings(merged, readings, () => '').length > 0) throw new Fallback('checks');

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
  let made: Memo | undefined;
  return {
    config,
    reuse,
    get memo() {
      made ??= buildMemo(files, headOf(merged), (key, i) => {
        const prev = metas[key][i]!.prev;
        if (prev === undefined) return { reading: fresh[key][i]! };
        return { json: memoJson(memo, key, prev), keys: memo.keys, prev };
      });
      return made;
    },
  };
}

function memoJson(memo: Memo, key: ListKey, i: number): string {
  const l = memo.lists[key];
  const from = l.spans[2 * i]!;
  if (from < 0) throw new Fallback('memo');
  return l.readings.slice(from, l.spans[2 * i + 1]!);
}

function memoReading(memo: Memo, key: ListKey, i: number): Reading {
  return readingOf(key, JSON.parse(memoJson(memo, key, i)));
}

/** The merged config without its lists. */
function headOf(v: Record<string, unknown> | null): Record<string, unknown> {
  const head: Record<string, unknown> = { ...(v ?? {}) };
  for (const key of LISTS) delete head[key];
  return head;
}

/** Equal values as YAML gives them (v8-serialized in the memo: -0, NaN and infinities kept). */
function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) {
    if (ka[i] !== kb[i]) return false;
    if (!sameValue((a as Record<string, unknown>)[ka[i]!], (b as Record<string, unknown>)[ka[i]!]))
      return false;
  }
  return true;
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

/**
 * Entry i of a merged list: its reading (its JSON made from it), or, for an entry kept from
 * another memo, its JSON and its keys there.
 */
type Entry = { reading: Reading; json?: undefined } | { json: string; keys: EntryKeys; prev: number };
type EntryOf = (key: ListKey, i: number) => Entry;

function buildMemo(files: FileRead[], head: Record<string, unknown>, entry: EntryOf): Memo {
  const out: Memo = {
    v: MEMO_VERSION,
    files: {},
    head,
    lists: {} as Record<ListKey, ListMemo>,
    keys: undefined as unknown as EntryKeys,
  };
  const all: Record<ListKey, Array<string | undefined>> = { neighbors: [], tunnels: [] };
  const entries: Record<ListKey, Entry[]> = { neighbors: [], tunnels: [] };
  const index: Record<ListKey, number> = { neighbors: 0, tunnels: 0 };
  for (const f of files) {
    const fileHead: Record<string, unknown> = { ...(f.value ?? {}) };
    const items = {} as Record<ListKey, FileItems>;
    let complete = f.value !== null;
    for (const key of LISTS) {
      const starts: number[] = [];
      const ends: number[] = [];
      const at: number[] = [];
      const l = f.value?.[key];
      if (Array.isArray(l)) {
        const meta = f.meta[key];
        if (f.chunked.has(key)) delete fileHead[key];
        for (let i = 0; i < l.length; i++) {
          const g = index[key] + i;
          const e = entry(key, g);
          entries[key].push(e);
          const json = e.json ?? readingJson(key, e.reading);
          all[key].push(json);
          const m = meta[i];
          if (m?.start === undefined || m.end === undefined || !f.chunked.has(key) || json === undefined) {
            complete = false;
            continue;
          }
          starts.push(m.start);
          ends.push(m.end);
          at.push(g);
        }
        index[key] += l.length;
      }
      items[key] = {
        starts: Int32Array.from(starts),
        ends: Int32Array.from(ends),
        index: Int32Array.from(at),
      };
    }
    out.files[f.path] = { text: f.text, head: fileHead, items, complete };
  }
  for (const key of LISTS) {
    const spans = new Int32Array(all[key].length * 2).fill(-1);
    const parts: string[] = [];
    let at = 1; // after '['
    all[key].forEach((json, i) => {
      if (json === undefined) return;
      if (parts.length > 0) at++; // ','
      spans[2 * i] = at;
      spans[2 * i + 1] = at + json.length;
      parts.push(json);
      at += json.length;
    });
    out.lists[key] = { readings: `[${parts.join(',')}]`, spans };
  }
  // Each entry's keys: copied for an entry kept (no reading made again), else from its reading.
  const keys = new KeysBuilder();
  for (const e of entries.tunnels)
    if (e.json !== undefined) keys.copyTunnel(e.keys, e.prev);
    else keys.tunnel(e.reading as TunnelReading);
  for (const e of entries.neighbors)
    if (e.json !== undefined) keys.copyNeighbor(e.keys, e.prev);
    else keys.neighbor(e.reading as NeighborReading);
  out.keys = keys.build();
  return out;
}

/**
 * The memo of a load done by the full path (load.ts), from the files it read: each file split
 * by text and checked against the parser, as `readFile` does without a memo. Only for a config
 * that passed every check (an incremental load relies on it).
 */
export function memoOfFull(read: Array<{ path: string; text: string; yaml: YamlFile }>): Memo {
  const files: FileRead[] = [];
  const lists: Record<ListKey, unknown[]> = { neighbors: [], tunnels: [] };
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
      lists[key].push(...l);
      const mine = chunks?.filter((c) => c.key === key);
      if (mine && mine.length > 0 && verified(r.yaml, key, mine)) {
        chunked.add(key);
        meta[key] = mine.map((c) =>
          CONTEXTUAL.test(r.text.slice(c.start, c.end)) ? {} : { start: c.start, end: c.end },
        );
      } else meta[key] = l.map(() => ({}));
    }
    files.push({ path: r.path, text: r.text, value, meta, chunked });
  }
  return buildMemo(files, headOf(files[0]?.value ?? null), (key, i) => ({
    reading: READ[key](lists[key][i]),
  }));
}

/**
 * The memo as bytes: it is kept in the form it is written (a few long strings and typed arrays),
 * so this is v8's serializer on it and nothing else. Kept as an object per entry, 20,000
 * entries took 60 ms to deserialize and 80 ms to serialize, and more again to collect, in a
 * child process whose whole budget is a few hundred ms.
 */
export function encodeMemo(memo: Memo): Buffer {
  return serialize(memo);
}

export function decodeMemo(bytes: Uint8Array): Memo | undefined {
  let memo: Partial<Memo> | undefined;
  try {
    memo = deserialize(bytes);
  } catch {
    return undefined;
  }
  if (memo?.v !== MEMO_VERSION || !memo.files || !memo.lists || !memo.keys || !memo.head) return undefined;
  return memo as Memo;
}
