/**
 * The daemon reads its config in a child process (src/config/isolated.ts) so that the schema
 * library never stays in its heap: every fixture gives exactly what the in-process loader gives
 * (the config, or the same error with every position), and the daemon's own module graph does not
 * reach the schema.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import t from 'tap';
import { ConfigError } from '../../src/config/error.js';
import { loadConfigIsolated } from '../../src/config/isolated.js';
import { loadConfig } from '../../src/config/load.js';
import { GredgeError } from '../../src/errors.js';

const fixtures = join(import.meta.dirname, '../../../test/fixtures/config');
const dist = join(import.meta.dirname, '../..');

async function outcome(load: () => unknown): Promise<unknown> {
  try {
    return { config: await load() };
  } catch (err) {
    const e = err as Error;
    return {
      class:
        err instanceof ConfigError ? 'ConfigError' : err instanceof GredgeError ? 'GredgeError' : 'Error',
      code: (err as GredgeError).code,
      message: e.message,
      issues: (err as ConfigError).issues,
    };
  }
}

/** Valid ones (with includes) and broken ones of each kind (syntax, type, range, cross-checks). */
const FIXTURES = ['example', 'full', 'include', 'errors', 'cross-checks', 'include-errors'];

t.test('the loader process gives what the in-process loader gives', async (t) => {
  const files = FIXTURES.map((f) => `${f}.yaml`);
  t.ok(
    files.every((f) => readdirSync(fixtures).includes(f)),
    'the fixtures exist',
  );
  let errors = 0;
  for (const f of files) {
    const path = join(fixtures, f);
    const inProcess = await outcome(() => loadConfig(path));
    const isolated = await outcome(() => loadConfigIsolated(path));
    if ((inProcess as { class?: string }).class) errors++;
    t.same(isolated, inProcess, f);
  }
  t.ok(errors > 0, `${errors} of them refused, with the same errors`);
  const missing = join(fixtures, 'no-such-file.yaml');
  const gone = (await outcome(() => loadConfigIsolated(missing))) as { class: string; code: string };
  t.same(gone, await outcome(() => loadConfig(missing)), 'an unreadable file: the same read error');
  t.equal(gone.code, 'ERR_CONFIG_READ');
});

t.test('a config that is not read in time is refused', async (t) => {
  // No loader process starts and reads a file within 1 ms: the deadline is what answers.
  const err = (await outcome(() => loadConfigIsolated(join(fixtures, 'example.yaml'), 1))) as {
    code: string;
    message: string;
  };
  t.equal(err.code, 'ERR_CONFIG_READ');
  t.match(err.message, /not read within 1 ms/);
});

/** Modules reachable from `entry` through static imports (the compiled JavaScript). */
function reachable(entry: string): Map<string, string | undefined> {
  const from = new Map<string, string | undefined>();
  const queue: Array<[string, string | undefined]> = [[entry, undefined]];
  const re = /^\s*(?:import|export)\s[^;]*?from\s+'([^']+)'|^\s*import\s+'([^']+)'/gms;
  while (queue.length > 0) {
    const [f, parent] = queue.shift()!;
    if (from.has(f)) continue;
    from.set(f, parent);
    if (!f.startsWith('/')) continue; // a package: not followed
    for (const m of readFileSync(f, 'utf8').matchAll(re)) {
      const spec = (m[1] ?? m[2])!;
      queue.push([spec.startsWith('.') ? resolve(dirname(f), spec) : spec, f]);
    }
  }
  return from;
}

t.test('the running daemon never loads the schema library', async (t) => {
  const graph = reachable(join(dist, 'src/main.js'));
  t.ok(graph.size > 30, `${graph.size} modules reachable from main.js`);
  t.ok(graph.has(join(dist, 'src/daemon/daemon.js')), 'the walk reaches the daemon');
  for (const banned of ['zod', join(dist, 'src/config/schema.js'), join(dist, 'src/config/load.js')]) {
    const chain: string[] = [];
    for (let at: string | undefined = banned; at !== undefined && graph.has(at); at = graph.get(at))
      chain.unshift(at.replace(`${dist}/`, ''));
    t.notOk(
      graph.has(banned),
      `${banned.replace(`${dist}/`, '')} not reached${chain.length ? `: ${chain.join(' → ')}` : ''}`,
    );
  }
});
