/**
 * The normalized form of a config: every default filled in, kebab-case keys, in the order the
 * schema declares them (walked through its JSON Schema, so a new key prints without a change
 * here). `gredged --check` prints it; the golden tests compare it with test/fixtures/config/*.ok.
 */
import { stringify } from 'yaml';
import { configJsonSchema, type JsonSchema, schemasAt } from './json-schema.js';
import type { Path } from './reader.js';
import { camelKey, formatMode, ROLE_KEYS } from './schema.js';
import type { Config } from './types.js';

/** Values printed in another form than the one the code reads. */
const AS_WRITTEN: Record<string, (v: unknown) => unknown> = {
  'control.mode': (v) => formatMode(v as number),
};

/** Lists left out when empty (the default bogon list is left out by not being in Config). */
const OMIT_EMPTY = new Set(['neighbors', 'tunnels']);

export function printConfig(cfg: Config): string {
  return stringify(print(cfg, [], configJsonSchema()), { lineWidth: 0 });
}

function print(value: unknown, path: Path, root: JsonSchema): unknown {
  // `false` switches a section off (listen, fib, control); the code reads it as null.
  if (value === null) return false;
  const at = AS_WRITTEN[path.filter((s) => typeof s === 'string').join('.')];
  if (at) return at(value);
  if (Array.isArray(value)) return value.map((v, i) => print(v, [...path, i], root));
  if (typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  const keys = [...new Set(schemasAt(root, path).flatMap((s) => Object.keys(s.properties ?? {})))];
  const neighbor = path.length === 2 && path[0] === 'neighbors';
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    let v = obj[camelKey(key)];
    const only = neighbor ? ROLE_KEYS[key] : undefined;
    if (only) {
      if (!only.roles.includes(obj.role as never)) continue;
      v ??= only.print;
    }
    if (v === undefined) continue;
    if (path.length === 0 && OMIT_EMPTY.has(key) && Array.isArray(v) && v.length === 0) continue;
    out[key] = print(v, [...path, key], root);
  }
  return out;
}
