/**
 * A checked reader over a parsed YAML document: every value is read through it, so every
 * error names the file, line, column and the field's path (`neighbors[1].remote-as`).
 * Errors are collected, not thrown one at a time, so an operator sees all of them at once.
 */
import { isMap, isScalar, isSeq, type LineCounter, type Node, type Pair, type YAMLMap } from 'yaml';

export interface ConfigIssue {
  line: number;
  column: number;
  path: string;
  message: string;
}

export class Reader {
  readonly issues: ConfigIssue[] = [];
  readonly #lines: LineCounter;

  constructor(lines: LineCounter) {
    this.#lines = lines;
  }

  error(node: Node | null | undefined, path: string, message: string): void {
    const offset = node?.range?.[0] ?? 0;
    const pos = this.#lines.linePos(offset);
    this.issues.push({ line: pos.line, column: pos.col, path, message });
  }

  /** The pairs of a mapping, after rejecting keys that are not in `allowed`. */
  map(
    node: Node | null | undefined,
    path: string,
    allowed: readonly string[],
  ): Map<string, Pair<Node, Node>> | undefined {
    if (!isMap(node)) {
      this.error(node, path, `must be a mapping (key: value), got ${describe(node)}`);
      return undefined;
    }
    const out = new Map<string, Pair<Node, Node>>();
    for (const pair of (node as YAMLMap<Node, Node>).items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
      const where = path ? `${path}.${key}` : String(key);
      if (key === undefined) {
        this.error(pair.key, path, 'keys must be plain strings');
        continue;
      }
      if (!allowed.includes(key)) {
        const hint = suggest(key, allowed);
        this.error(pair.key, where, `unknown key '${key}'${hint ? ` (did you mean '${hint}'?)` : ''}`);
        continue;
      }
      if (out.has(key)) {
        this.error(pair.key, where, `duplicate key '${key}'`);
        continue;
      }
      out.set(key, pair);
    }
    return out;
  }

  seq(node: Node | null | undefined, path: string): Node[] | undefined {
    if (!isSeq(node)) {
      this.error(node, path, `must be a list, got ${describe(node)}`);
      return undefined;
    }
    return node.items as Node[];
  }

  string(node: Node | null | undefined, path: string): string | undefined {
    if (isScalar(node) && (typeof node.value === 'string' || typeof node.value === 'number')) {
      return String(node.value);
    }
    this.error(node, path, `must be a string, got ${describe(node)}`);
    return undefined;
  }

  bool(node: Node | null | undefined, path: string): boolean | undefined {
    if (isScalar(node) && typeof node.value === 'boolean') return node.value;
    this.error(node, path, `must be true or false, got ${describe(node)}`);
    return undefined;
  }

  int(node: Node | null | undefined, path: string, min: number, max: number): number | undefined {
    if (isScalar(node) && typeof node.value === 'number' && Number.isInteger(node.value)) {
      const v = node.value;
      if (v >= min && v <= max) return v;
      this.error(node, path, `must be between ${min} and ${max}, got ${v}`);
      return undefined;
    }
    this.error(node, path, `must be an integer between ${min} and ${max}, got ${describe(node)}`);
    return undefined;
  }

  /** A string checked by `check`, which returns an error message or undefined when valid. */
  checked(
    node: Node | null | undefined,
    path: string,
    check: (s: string) => string | undefined,
  ): string | undefined {
    const s = this.string(node, path);
    if (s === undefined) return undefined;
    const problem = check(s);
    if (problem) {
      this.error(node, path, problem);
      return undefined;
    }
    return s;
  }

  oneOf<T extends string>(node: Node | null | undefined, path: string, values: readonly T[]): T | undefined {
    const s = this.string(node, path);
    if (s === undefined) return undefined;
    if ((values as readonly string[]).includes(s)) return s as T;
    this.error(node, path, `must be one of ${values.join(', ')}, got '${s}'`);
    return undefined;
  }
}

export function describe(node: Node | null | undefined): string {
  if (node === null || node === undefined) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    if (node.value === null) return 'null';
    if (typeof node.value === 'string') return `'${node.value}'`;
    return String(node.value);
  }
  return 'an unsupported value';
}

/** The closest allowed key by edit distance, when it is close enough to be a typo. */
function suggest(key: string, allowed: readonly string[]): string | undefined {
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
