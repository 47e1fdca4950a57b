/**
 * `include:` through loadConfig on real files: the order files are merged in, which names
 * messages use for them, and what an included file may not do. The golden fixtures
 * (include*.yaml) show the normalized result and the messages; these cover the rest.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import t, { type Test } from 'tap';
import { loadConfig } from '../../src/config/load.js';

function tree(t: Test, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'gredge-include-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

const main = (include: string) =>
  `router-id: 192.0.2.1\nlocal-as: 65000\nunderlay: { local: 198.51.100.1 }\ninclude: ${include}\n`;
const customer = (name: string, n: number) =>
  `tunnels:\n  - { name: ${name}, remote: 198.51.100.${n}, key: ${n} }\n` +
  `neighbors:\n  - { name: ${name}, address: 203.0.113.${n}, remote-as: ${64500 + n}, role: customer }\n`;

t.test('files are merged in name order, patterns in the order written, each file once', async (t) => {
  const dir = tree(t, {
    'etc/gredge.yaml': main('[conf.d/b*.yaml, conf.d/*.yaml, extra/one.yaml]'),
    'etc/conf.d/c.yaml': customer('c', 3),
    'etc/conf.d/a.yaml': customer('a', 1),
    'etc/conf.d/b.yaml': customer('b', 2),
    'etc/conf.d/B.yaml': customer('B', 4), // byte order: upper case first
    'etc/conf.d/.a.yaml.swp': 'not: read',
    'etc/conf.d/.hidden.yaml': 'not: read',
    'etc/extra/one.yaml': customer('one', 5),
  });
  const cfg = loadConfig(join(dir, 'etc/gredge.yaml'));
  t.same(
    cfg.neighbors.map((n) => n.name),
    ['b', 'B', 'a', 'c', 'one'],
  );
  t.same(
    cfg.tunnels.map((x) => x.name),
    ['b', 'B', 'a', 'c', 'one'],
  );
  t.same(
    cfg.listen,
    { address: '0.0.0.0', port: 179 },
    'neighbors from includes count for the listener default',
  );
  t.ok(cfg.dataplane, 'and tunnels from includes for the data plane default');
});

t.test('an absolute pattern; a pattern that matches nothing is no error', async (t) => {
  const dir = tree(t, { 'x/a.yaml': customer('a', 1), 'conf.d/README': 'no yaml here' });
  writeFileSync(join(dir, 'gredge.yaml'), main(`[${join(dir, 'x/*.yaml')}, conf.d/*.yaml]`));
  t.same(
    loadConfig(join(dir, 'gredge.yaml')).neighbors.map((n) => n.name),
    ['a'],
  );
});

t.test('messages name an included file as the main file is named, with line:column', async (t) => {
  const dir = tree(t, {
    'etc/gredge.yaml': main('conf.d/*.yaml'),
    'etc/conf.d/a.yaml': customer('a', 1),
    'etc/conf.d/b.yaml':
      'neighbors:\n  - { name: b, address: 203.0.113.1, remote-as: 64502, role: customer }\n',
  });
  const shown = relative(process.cwd(), join(dir, 'etc/gredge.yaml'));
  t.throws(() => loadConfig(shown), {
    code: 'ERR_CONFIG_INVALID',
    message:
      `${join(shown, '../conf.d/b.yaml')}:2:25: neighbors[0].address: duplicates the address of ` +
      `neighbors[0] at ${join(shown, '../conf.d/a.yaml')}:4:5`,
  });
});

t.test('an include names a plain file that is not there', async (t) => {
  const dir = tree(t, { 'gredge.yaml': main('conf.d/a.yaml') });
  t.throws(() => loadConfig(join(dir, 'gredge.yaml')), {
    message: /gredge\.yaml:4:10: include: 'conf\.d\/a\.yaml': no such file$/,
  });
});

t.test('an included file cannot include again, nor set the main file keys', async (t) => {
  const dir = tree(t, {
    'gredge.yaml': main('conf.d/*.yaml'),
    'conf.d/a.yaml': 'include: more/*.yaml\nlocal-as: 65001\n',
  });
  const err = t.throws(() => loadConfig(join(dir, 'gredge.yaml'))) as Error;
  t.match(err.message, /conf\.d\/a\.yaml:1:1: include: unknown key 'include': an included file holds/);
  t.match(err.message, /conf\.d\/a\.yaml:2:1: local-as: unknown key 'local-as'/);
});
