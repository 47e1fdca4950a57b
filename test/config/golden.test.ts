/**
 * Golden config tests (OpenBGPD's `bgpd -nvf conf | diff - conf.ok` habit): each
 * test/fixtures/config/NAME.yaml has NAME.ok (the normalized print) or NAME.err (the exact
 * messages, file:line:column: field: message). The expected files are written and reviewed by
 * hand, never by the printer under test: a difference fails and shows both texts, and whoever
 * changes the printer edits the expected file in the same commit, where a reviewer reads it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parseConfig } from '../../src/config/load.js';
import { printConfig } from '../../src/config/print.js';
import { GredgeError } from '../../src/errors.js';

const dir = join(import.meta.dirname, '../../../test/fixtures/config');

for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
  t.test(file, async (t) => {
    const base = file.slice(0, -'.yaml'.length);
    const text = readFileSync(join(dir, file), 'utf8');
    let actual: string;
    let kind: 'ok' | 'err';
    try {
      actual = printConfig(parseConfig(text, file, { baseDir: dir }));
      kind = 'ok';
    } catch (err) {
      t.ok(err instanceof GredgeError, 'a typed error');
      t.equal((err as GredgeError).code, 'ERR_CONFIG_INVALID');
      actual = `${(err as Error).message}\n`;
      kind = 'err';
    }
    const expectedPath = join(dir, `${base}.${kind}`);
    const other = join(dir, `${base}.${kind === 'ok' ? 'err' : 'ok'}`);
    t.notOk(existsSync(other), `no ${base}.${kind === 'ok' ? 'err' : 'ok'}: one outcome per config`);
    if (!existsSync(expectedPath)) {
      t.fail(`${base}.${kind} is missing (the config was expected to ${kind === 'ok' ? 'fail' : 'load'})`, {
        actual,
      });
      return;
    }
    t.equal(actual, readFileSync(expectedPath, 'utf8'), `${base}.${kind}`);
  });
}
