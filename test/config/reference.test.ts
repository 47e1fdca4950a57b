/**
 * docs/config-reference.md is what src/config/write-reference.ts generates from the schema now
 * (run `npm run docs:config` after changing src/config/schema.ts or src/config/diff.ts), and
 * it names every key the loader takes: walked here from the JSON Schema on its own, so a key the
 * generator skipped would show.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { diffConfig } from '../../src/config/diff.js';
import { configJsonSchema, type JsonSchema } from '../../src/config/json-schema.js';
import { parseConfig } from '../../src/config/load.js';
import { configKeys, REFERENCE_FILE, renderReference } from '../../src/config/write-reference.js';

const root = join(import.meta.dirname, '../../..');
const committed = readFileSync(join(root, REFERENCE_FILE), 'utf8');

t.test('docs/config-reference.md is current (npm run docs:config writes it)', async (t) => {
  const now = renderReference();
  t.equal(renderReference(), now, 'generation is deterministic');
  t.equal(committed, now, `${REFERENCE_FILE} equals what the generator writes now`);
});

/** Every key path of a JSON Schema, `[]` for a list's entries, leaves flagged. */
function keyPaths(s: JsonSchema, prefix = ''): Array<{ path: string; leaf: boolean }> {
  const out: Array<{ path: string; leaf: boolean }> = [];
  const alts = (x: JsonSchema): JsonSchema[] => (x.anyOf ? x.anyOf.flatMap(alts) : [x]);
  const seen = new Set<string>();
  for (const alt of alts(s)) {
    const list = alt.type === 'array' && alt.items?.type === 'object';
    const obj = list ? alt.items! : alt;
    for (const [k, sub] of Object.entries(obj.properties ?? {})) {
      const path = list ? `${prefix}[].${k}` : prefix ? `${prefix}.${k}` : k;
      if (seen.has(path)) continue;
      seen.add(path);
      const below = keyPaths(sub, path);
      out.push({ path, leaf: below.length === 0 }, ...below);
    }
  }
  return out;
}

t.test('every key of the schema is in the reference, leaves included', async (t) => {
  const paths = keyPaths(configJsonSchema());
  const leaves = paths.filter((p) => p.leaf);
  t.ok(leaves.length > 60, `the schema has many leaves (${leaves.length})`);
  for (const must of [
    'router-id',
    'neighbors[].hold-time',
    'tunnels[].keepalive.retries',
    'rpki.servers[].port',
  ])
    t.ok(
      leaves.some((p) => p.path === must),
      `the walk finds ${must}`,
    );
  const missing = paths.filter((p) => !committed.includes(`| \`${p.path}\` |`)).map((p) => p.path);
  t.same(missing, [], 'no key of the schema is missing from the reference');
  const rows = configKeys();
  t.same(
    rows.map((r) => r.path),
    paths.map((p) => p.path),
    'the generator lists exactly the schema keys, in order',
  );
  const bare = rows.filter((r) => !r.description || !r.type || !r.reload).map((r) => r.path);
  t.same(bare, [], 'every key has a type, a description and a reload effect');
});

const base = 'router-id: 192.0.2.1\nlocal-as: 65000\n';
const neighbor = (extra: string) =>
  `neighbors:\n  - { name: n1, address: 192.0.2.2, remote-as: 65001, role: transit${extra} }\n`;

t.test('the reload column says what diff.ts decides for a change', async (t) => {
  const rows = new Map(configKeys().map((r) => [r.path, r.reload]));
  const diff = (a: string, b: string) => diffConfig(parseConfig(a, 'a.yaml'), parseConfig(b, 'b.yaml'));
  // A restart key: the diff names it for a restart, the reference says restart.
  const asn = diff(base + neighbor(''), base.replace('65000', '65010') + neighbor(''));
  t.same(asn.restart, ['local-as']);
  t.match(rows.get('local-as'), /^restart/);
  // A neighbor key that resets, and one applied in place.
  const hold = diff(base + neighbor(''), base + neighbor(', hold-time: 30'));
  t.equal(hold.neighbors.changed[0]?.apply, 'reset');
  t.match(rows.get('neighbors[].hold-time'), /reset/);
  const descr = diff(base + neighbor(''), base + neighbor(', description: x'));
  t.equal(descr.neighbors.changed[0]?.apply, 'in-place');
  t.match(rows.get('neighbors[].description'), /^in place/);
  // A module restarted in place: neither refused nor a reset.
  const fib = diff(base + neighbor(''), `${base}fib: { full-table: 301 }\n${neighbor('')}`);
  t.same(fib.restart, []);
  t.same(fib.keys, ['fib']);
  t.match(rows.get('fib.full-table'), /^in place/);
});
