/**
 * docs/README.md lists every document under docs/, and every relative link in it and in the
 * operator's guide (docs/guide/*.md) points at a file that exists: a page renamed or removed
 * cannot leave the index or the guide pointing at nothing.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import t from 'tap';

const root = join(import.meta.dirname, '../../..');
const docs = join(root, 'docs');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)],
  );
}

/** The targets of markdown links `[text](target)` that are not URLs, without their #anchor. */
export function relativeLinks(md: string): string[] {
  return [...md.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1]!)
    .filter((l) => !/^[a-z]+:/i.test(l) && !l.startsWith('#'))
    .map((l) => l.replace(/#.*$/, ''));
}

t.test('relativeLinks', async (t) => {
  t.same(relativeLinks('[a](x.md) [b](https://e.org) [c](../y.md#z) [d](#w)'), ['x.md', '../y.md']);
});

t.test('docs/README.md lists every document under docs/', async (t) => {
  const index = readFileSync(join(docs, 'README.md'), 'utf8');
  const linked = new Set(relativeLinks(index).map((l) => join(docs, l)));
  const all = files(docs).filter((f) => /\.(md|yaml)$/.test(f) && f !== join(docs, 'README.md'));
  t.ok(all.length >= 10, `there are documents (${all.length})`);
  for (const f of all) t.ok(linked.has(f), `docs/README.md links ${relative(root, f)}`);
});

t.test('every relative link of the index and the guide resolves', async (t) => {
  const pages = [join(docs, 'README.md'), ...files(join(docs, 'guide')).filter((f) => f.endsWith('.md'))];
  for (const page of pages)
    for (const l of relativeLinks(readFileSync(page, 'utf8')))
      t.ok(existsSync(join(dirname(page), l)), `${relative(root, page)} → ${l} exists`);
});
