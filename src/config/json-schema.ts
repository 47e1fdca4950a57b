/**
 * The config's JSON Schema (draft 2020-12), generated from schema.ts: published as
 * config/gredge.schema.json for editors (yaml-language-server reads the
 * `# yaml-language-server: $schema=...` line), walked by the loader for the keys allowed at a
 * path ("did you mean") and by the printer for the order of keys.
 */
import { z } from 'zod';
import type { Path } from './reader.js';
import { configSchema, includeFileSchema } from './schema.js';

export type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  [k: string]: unknown;
};

function generate(schema: z.ZodType, id: string, title: string): JsonSchema {
  const out = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12' }) as JsonSchema;
  return { $schema: out.$schema, $id: id, title, ...out };
}

let main: JsonSchema | undefined;
let include: JsonSchema | undefined;

export function configJsonSchema(): JsonSchema {
  main ??= generate(configSchema, 'gredge.schema.json', 'gredged config');
  return main;
}

export function includeJsonSchema(): JsonSchema {
  include ??= generate(includeFileSchema, 'gredge.include.schema.json', 'gredged config: an included file');
  return include;
}

/** The file's text as `npm run schema` writes it. */
export function renderJsonSchema(which: 'main' | 'include' = 'main'): string {
  return `${JSON.stringify(which === 'main' ? configJsonSchema() : includeJsonSchema(), null, 2)}\n`;
}

/** The schemas (an anyOf gives several) that describe the value at `path`. */
export function schemasAt(root: JsonSchema, path: Path): JsonSchema[] {
  let here = expand(root);
  for (const seg of path) {
    const next: JsonSchema[] = [];
    for (const s of here) {
      const sub = typeof seg === 'number' ? s.items : s.properties?.[String(seg)];
      if (sub) next.push(...expand(sub));
    }
    here = next;
  }
  return here;
}

/** The keys a mapping at `path` may have. */
export function keysAt(root: JsonSchema, path: Path): string[] {
  return [...new Set(schemasAt(root, path).flatMap((s) => Object.keys(s.properties ?? {})))];
}

function expand(s: JsonSchema): JsonSchema[] {
  return s.anyOf ? s.anyOf.flatMap(expand) : [s];
}
