/**
 * One YAML file read for the schema: its plain value, and the way back from a path in that
 * value (`['neighbors', 1, 'remote-as']`) to the file, line and column it came from. The schema
 * (zod) reports problems by path; this turns each into `file:line:column: field: message`, and
 * an unknown key into one message per key with a "did you mean" hint.
 */
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument, type YAMLMap } from 'yaml';
import type { z } from 'zod';

export interface ConfigIssue {
  /** The file as shown in messages; absent: the main file (ConfigError's source). */
  file?: string;
  /** Files in the order they were read (main 0, includes 1, 2, ...): messages sort by it. */
  order?: number;
  line: number;
  column: number;
  path: string;
  message: string;
}

export type Path = readonly PropertyKey[];

/** A problem found by path; `atKey`: point at the key itself (an unknown or repeated key). */
export interface PathIssue {
  path: Path;
  message: string;
  atKey?: boolean;
}

export class YamlFile {
  readonly name: string;
  readonly order: number;
  readonly value: unknown;
  readonly #contents: Node | null;
  readonly #lines: LineCounter;
  /** Problems of the YAML itself: syntax, repeated keys, keys that are not plain strings. */
  readonly issues: ConfigIssue[] = [];
  /** The text is not YAML: there is no value to check further. */
  readonly syntaxError: boolean;

  constructor(text: string, name: string, order: number) {
    this.name = name;
    this.order = order;
    this.#lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: this.#lines, prettyErrors: false, uniqueKeys: false });
    this.#contents = (doc.contents as Node | null) ?? null;
    for (const e of doc.errors) {
      // prettyErrors: false leaves linePos unset: place the error with our own line counter.
      const pos = e.linePos?.[0] ?? this.#lines.linePos(e.pos[0]);
      this.issues.push(this.#at(pos.line, pos.col, '', `YAML syntax: ${e.message.split('\n')[0]}`));
    }
    this.syntaxError = this.issues.length > 0;
    if (this.syntaxError) {
      this.value = undefined;
      return;
    }
    this.#checkKeys(this.#contents, []);
    this.value = doc.toJS({ maxAliasCount: 100 });
    this.#literalRadix(this.#contents, this.value);
  }

  /**
   * Where each item of the top-level block sequence `key` lies in the text: [value start, end].
   * Undefined when `key` is not a block sequence (absent, a flow list `[...]`, or not a list).
   */
  itemRanges(key: string): Array<[number, number]> | undefined {
    const node = child(this.#contents, key)?.value ?? null;
    if (!isSeq(node) || node.flow) return undefined;
    const out: Array<[number, number]> = [];
    for (const item of node.items as Array<Node | null>) {
      const r = item?.range;
      if (!r) return undefined;
      out.push([r[0], r[2]]);
    }
    return out;
  }

  /** The issue for a path: at its value (or key), else at the nearest enclosing node there is. */
  issue(p: PathIssue): ConfigIssue {
    let node: Node | null = this.#contents;
    let keyNode: Node | undefined;
    for (const seg of p.path) {
      const next = child(node, seg);
      if (!next) {
        keyNode = undefined;
        break;
      }
      node = next.value;
      keyNode = next.key;
    }
    const target = p.atKey && keyNode ? keyNode : node;
    const pos = this.#lines.linePos(target?.range?.[0] ?? 0);
    return this.#at(pos.line, pos.col, formatPath(p.path), p.message);
  }

  #at(line: number, column: number, path: string, message: string): ConfigIssue {
    return { file: this.name, order: this.order, line, column, path, message };
  }

  #checkKeys(node: Node | null, path: PropertyKey[]): void {
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of (node as YAMLMap<Node, Node>).items) {
        if (
          !isScalar(pair.key) ||
          (typeof pair.key.value !== 'string' && typeof pair.key.value !== 'number')
        ) {
          this.issues.push(this.issue({ path, message: 'keys must be plain strings' }));
          continue;
        }
        const key = String(pair.key.value);
        if (seen.has(key)) {
          const pos = this.#lines.linePos(pair.key.range?.[0] ?? 0);
          this.issues.push(this.#at(pos.line, pos.col, formatPath([...path, key]), `duplicate key '${key}'`));
        }
        seen.add(key);
        this.#checkKeys(pair.value, [...path, key]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        this.#checkKeys(item as Node, [...path, i]);
      });
    }
  }

  /**
   * YAML 1.2 reads `0o660` and `0x1b0` as numbers, losing how they were written; a file mode
   * needs to know (0660 written as a decimal means octal 660). Such literals reach the schema
   * as their octal text (`0o660`), where an integer field reads it back (schema.ts `mode`).
   */
  #literalRadix(node: Node | null, value: unknown): void {
    if (isMap(node) && value && typeof value === 'object') {
      for (const pair of (node as YAMLMap<Node, Node>).items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
        if (key === undefined) continue;
        const v = (value as Record<string, unknown>)[key];
        const s = pair.value;
        if (key === 'mode' && isScalar(s) && typeof s.value === 'number') {
          const src = (s as { source?: string }).source ?? '';
          if (/^0[ox]/i.test(src)) (value as Record<string, unknown>)[key] = `0o${s.value.toString(8)}`;
        } else this.#literalRadix(s, v);
      }
    } else if (isSeq(node) && Array.isArray(value)) {
      node.items.forEach((item, i) => {
        this.#literalRadix(item as Node, value[i]);
      });
    }
  }
}

function child(node: Node | null, seg: PropertyKey): { key?: Node; value: Node | null } | undefined {
  if (isMap(node)) {
    const items = (node as YAMLMap<Node, Node>).items;
    for (let i = items.length - 1; i >= 0; i--) {
      const pair = items[i]!;
      if (isScalar(pair.key) && String(pair.key.value) === String(seg))
        return { key: pair.key, value: pair.value };
    }
    return undefined;
  }
  if (isSeq(node) && typeof seg === 'number') {
    const item = node.items[seg] as Node | undefined;
    return item ? { value: item } : undefined;
  }
  return undefined;
}

/** `neighbors[1].remote-as` */
export function formatPath(path: Path): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${String(seg)}` : String(seg);
  }
  return out;
}

/** A value as a message shows it: `'text'`, 42, true, null, a mapping, a list, nothing. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `'${v}'`;
  return String(v);
}

/**
 * zod's issues as PathIssues. A union that failed is explained by the one alternative the value
 * was meant for (a mapping for `listen: {...}`), when there is exactly one; an unknown key
 * becomes one issue per key, with the closest allowed key (`keysAt`) as a hint.
 */
export function fromZod(
  issues: readonly z.core.$ZodIssue[],
  keysAt: (path: Path) => readonly string[],
  prefix: Path = [],
): PathIssue[] {
  const out: PathIssue[] = [];
  for (const iss of issues) {
    const path = [...prefix, ...iss.path];
    if (iss.code === 'invalid_union') {
      const deep = iss.errors.filter(
        (branch) =>
          branch.length > 0 &&
          !branch.every(
            (b) => b.path.length === 0 && (b.code === 'invalid_type' || b.code === 'invalid_value'),
          ),
      );
      if (deep.length === 1) out.push(...fromZod(deep[0]!, keysAt, path));
      else out.push({ path, message: iss.message });
    } else if (iss.code === 'unrecognized_keys') {
      const allowed = keysAt(path);
      for (const key of iss.keys) {
        const hint = suggest(key, allowed);
        out.push({
          path: [...path, key],
          message: `unknown key '${key}'${hint ? ` (did you mean '${hint}'?)` : ''}`,
          atKey: true,
        });
      }
    } else {
      out.push({ path, message: iss.message });
    }
  }
  return out;
}

/** The closest allowed key by edit distance, when it is close enough to be a typo. */
export function suggest(key: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of allowed) {
    const d = editDistance(key, candidate);
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}
