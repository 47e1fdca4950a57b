import { createRequire } from 'node:module';
import t from 'tap';

const require = createRequire(import.meta.url);

t.test('native addon builds and loads', async (t) => {
  const addon = require('../../../build/Release/gredge_native.node') as { abiVersion: number };
  t.equal(typeof addon.abiVersion, 'number');
});
