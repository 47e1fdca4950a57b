/**
 * Golden config tests (OpenBGPD's `bgpd -nvf conf | diff - conf.ok` habit): each
 * test/fixtures/config/NAME.yaml has NAME.ok (the normalized print) or NAME.err (the exact
 * messages, file:line:column: field: message). Set GREDGE_UPDATE_GOLDEN=1 to rewrite them.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parseConfig } from '../../src/config/load.js';
import { printConfig } from '../../src/config/print.js';
import { GredgeError } from '../../src/errors.js';

const dir = join(import.meta.dirname, '../../../test/fixtures/config');
const update = process.env.GREDGE_UPDATE_GOLDEN === '1';

for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
  t.test(file, async (t) => {
    const base = file.slice(0, -'.yaml'.length);
    const text = readFileSync(join(dir, file), 'utf8');
    let actual: string;
    let kind: 'ok' | 'err';
    try {
      actual = printConfig(parseConfig(text, file));
      kind = 'ok';
    } catch (err) {
      t.ok(err instanceof GredgeError, 'a typed error');
      t.equal((err as GredgeError).code, 'ERR_CONFIG_INVALID');
      actual = `${(err as Error).message}\n`;
      kind = 'err';
    }
    const expectedPath = join(dir, `${base}.${kind}`);
    if (update) writeFileSync(expectedPath, actual);
    t.ok(
      existsSync(expectedPath),
      `${base}.${kind} exists (the config was expected to ${kind === 'ok' ? 'fail' : 'load'})`,
    );
    if (existsSync(expectedPath)) t.equal(actual, readFileSync(expectedPath, 'utf8'));
  });
}
