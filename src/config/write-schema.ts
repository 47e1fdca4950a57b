/**
 * `npm run schema`: writes the JSON Schemas generated from schema.ts next to the example
 * configs, where editors find them (config/gredge.schema.json for a main file,
 * config/gredge.include.schema.json for a file it includes). test/config/schema.test.ts fails
 * while a checked-in file differs from what this would write.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderJsonSchema } from './json-schema.js';

export const SCHEMA_FILES = { main: 'gredge.schema.json', include: 'gredge.include.schema.json' } as const;

export function writeSchemas(dir: string): string[] {
  return (Object.keys(SCHEMA_FILES) as Array<keyof typeof SCHEMA_FILES>).map((which) => {
    const path = join(dir, SCHEMA_FILES[which]);
    writeFileSync(path, renderJsonSchema(which));
    return path;
  });
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const dir = process.argv[2] ?? join(import.meta.dirname, '../../../config');
  for (const path of writeSchemas(dir)) console.log(`wrote ${path}`);
}
