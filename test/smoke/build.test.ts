/**
 * The native addon that node-gyp built loads through the one loader gredge uses
 * (src/dataplane/native.ts), and its packet code works: a GRE packet built by the addon
 * around an IPv4 payload parses back to the same fields and the same payload bytes, and its
 * checksum verifies (and fails once a byte changes). A build that links but computes nothing
 * right, or an addon that loads but lacks the data plane, fails here first.
 */
import t from 'tap';
import { loadNative } from '../../src/dataplane/native.js';

t.test('the native addon loads and round-trips a GRE packet', async (t) => {
  const addon = loadNative();
  t.ok(Number.isInteger(addon.abiVersion) && addon.abiVersion > 0, `ABI version ${addon.abiVersion}`);
  t.equal(typeof addon.NativeDataplane, 'function', 'the data plane class is exported');

  // An IPv4/UDP packet 192.0.2.1 → 203.0.113.9 (documentation ranges) as the payload.
  const payload = Uint8Array.from([
    0x45, 0, 0, 28, 0, 0, 0x40, 0, 64, 17, 0, 0, 192, 0, 2, 1, 203, 0, 113, 9, 0x13, 0x88, 0x13, 0x89, 0, 8,
    0, 0,
  ]);
  const gre = addon.debug.greBuild(0x0800, payload, { key: 0x01020304, seq: 7, checksum: true });
  t.equal(gre.length, 16 + payload.length, 'C, K and S: a 16-byte header in front of the payload');
  t.same(
    addon.debug.greParse(gre),
    { status: 'ok', proto: 0x0800, headerLength: 16, checksum: true, key: 0x01020304, seq: 7 },
    'parses back to the fields it was built with',
  );
  t.same(Buffer.from(gre.subarray(16)), Buffer.from(payload), 'the payload is carried unchanged');
  const bad = Buffer.from(gre);
  bad[bad.length - 1]! ^= 1;
  t.equal(addon.debug.greParse(bad).status, 'bad-checksum', 'a changed byte fails the checksum');
});
