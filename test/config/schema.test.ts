/**
 * The published JSON Schemas are the ones schema.ts generates (run `npm run schema` after a
 * change), the example config points editors at them, and the data plane accepts exactly what
 * the config accepts (it once took 32 workers where the config took 64).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { configJsonSchema, keysAt, renderJsonSchema } from '../../src/config/json-schema.js';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { LIMITS } from '../../src/config/limits.js';
import { SCHEMA_FILES } from '../../src/config/write-schema.js';
import { planTunnel, type TunnelSpec } from '../../src/dataplane/tunnels.js';
import { GredgeError } from '../../src/errors.js';

const root = join(import.meta.dirname, '../../..');

t.test('config/*.schema.json are current (npm run schema writes them)', async (t) => {
  for (const which of ['main', 'include'] as const) {
    const file = join(root, 'config', SCHEMA_FILES[which]);
    t.equal(readFileSync(file, 'utf8'), renderJsonSchema(which), `${SCHEMA_FILES[which]} is current`);
  }
});

t.test('the example config names the schema for editors, and loads', async (t) => {
  const file = join(root, 'config/gredge.example.yaml');
  const first = readFileSync(file, 'utf8').split('\n')[0];
  t.equal(first, `# yaml-language-server: $schema=${SCHEMA_FILES.main}`);
  t.equal(loadConfig(file).localAs, 65000);
});

t.test('the JSON Schema describes the keys the loader takes', async (t) => {
  const schema = configJsonSchema();
  t.same(schema.required, ['router-id', 'local-as']);
  t.ok(keysAt(schema, []).includes('include'));
  t.ok(keysAt(schema, ['neighbors', 0]).includes('remote-as'));
  t.ok(keysAt(schema, ['listen']).includes('address'), 'through an anyOf (false | mapping)');
  t.same(keysAt(schema, ['tunnels', 3, 'keepalive']), ['interval', 'retries']);
});

const base = 'router-id: 192.0.2.1\nlocal-as: 65000\nunderlay: { local: 198.51.100.1 }\n';
function configTunnel(fields: string, name = 't'): string | undefined {
  try {
    parseConfig(`${base}tunnels:\n  - { name: ${name}, remote: 198.51.100.2, ${fields} }\n`, 'x.yaml');
    return undefined;
  } catch (err) {
    if (!(err instanceof GredgeError)) throw err;
    return err.message;
  }
}
function dataplaneTunnel(spec: Partial<TunnelSpec>): string | undefined {
  try {
    planTunnel({ name: 't', remote: '198.51.100.2', key: 1, ...spec }, { local: '198.51.100.1' });
    return undefined;
  } catch (err) {
    if (!(err instanceof GredgeError)) throw err;
    return err.message;
  }
}

t.test('the data plane takes a tunnel exactly when the config does', async (t) => {
  const cases: Array<[string, Partial<TunnelSpec>]> = [
    ['key: 0', { key: 0 }],
    ['key: 4294967295', { key: 4294967295 }],
    ['key: 4294967296', { key: 4294967296 }],
    ['key: 1, mtu: 1279', { mtu: 1279 }],
    ['key: 1, mtu: 1280', { mtu: 1280 }],
    ['key: 1, mtu: 9000', { mtu: 9000 }],
    ['key: 1, mtu: 9001', { mtu: 9001 }],
    ['key: 1, keepalive: { interval: 0.5, retries: 3 }', { keepalive: { interval: 0.5, retries: 3 } }],
    ['key: 1, keepalive: { interval: 0.05, retries: 3 }', { keepalive: { interval: 0.05, retries: 3 } }],
    ['key: 1, keepalive: { interval: 3600, retries: 255 }', { keepalive: { interval: 3600, retries: 255 } }],
    ['key: 1, keepalive: { interval: 3601, retries: 3 }', { keepalive: { interval: 3601, retries: 3 } }],
    ['key: 1, keepalive: { interval: 1, retries: 256 }', { keepalive: { interval: 1, retries: 256 } }],
  ];
  for (const [yaml, spec] of cases) {
    const c = configTunnel(yaml);
    const d = dataplaneTunnel(spec);
    t.equal(c === undefined, d === undefined, `${yaml}: config ${c ?? 'ok'} / data plane ${d ?? 'ok'}`);
  }
  const long = 'n'.repeat(63);
  t.equal(configTunnel('key: 1', long), undefined);
  t.equal(dataplaneTunnel({ name: long }), undefined);
  t.not(configTunnel('key: 1', `${long}x`), undefined);
  t.not(dataplaneTunnel({ name: `${long}x` }), undefined);
});

t.test('workers: the native limit (fastpath.h kMaxWorkers 32) is the config limit', async (t) => {
  t.same(LIMITS.workers, [1, 32]);
  const fastpath = readFileSync(join(root, 'native/src/fastpath.h'), 'utf8');
  t.match(fastpath, new RegExp(`kMaxWorkers = ${LIMITS.workers[1]};`));
  t.throws(() => parseConfig(`${base}dataplane: { workers: 33 }\n`, 'x.yaml'), {
    message: /dataplane\.workers: must be between 1 and 32, got 33/,
  });
});
