/** The order held deletions reach the kernel in (src/fib/delete-order.ts). */
import t from 'tap';
import { prefix4, prefix6, prefix6Len } from '../../src/bgp/wire/prefix.js';
import type { Prefix4, Prefix6 } from '../../src/bgp/wire/types.js';
import { DeletePass4, DeletePass6 } from '../../src/fib/delete-order.js';

function drain<K>(pass: { next(): K | undefined }): K[] {
  const out: K[] = [];
  for (let k = pass.next(); k !== undefined; k = pass.next()) out.push(k);
  return out;
}

t.test('IPv4: every key once, longest first, then descending address', async (t) => {
  let s = 7;
  const rand = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s;
  };
  const held = new Map<Prefix4, number>();
  while (held.size < 20_000) {
    const len = [0, 8, 16, 22, 23, 24, 32][rand() % 7]!;
    held.set(prefix4(rand(), len), 1 + (rand() % 3));
  }
  const pass = new DeletePass4(held);
  t.equal(pass.size, held.size);
  const got = drain(pass);
  const want = [...held.keys()].sort((a, b) => (b % 64) - (a % 64) || b - a);
  t.equal(got.length, want.length, 'as many keys out as in');
  t.ok(
    got.every((k, i) => k === want[i]),
    'in (length descending, address descending) order',
  );
  t.equal(pass.next(), undefined, 'stays at the end');
  t.equal(drain(new DeletePass4(new Map())).length, 0, 'an empty pass');
});

t.test('IPv6: every key once, longest first', async (t) => {
  const held = new Map<Prefix6, number>();
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 500; i++) {
    bytes[0] = 0x20;
    bytes[1] = 0x01;
    bytes[2] = 0x0d;
    bytes[3] = 0xb8;
    bytes[4] = i & 0xff;
    bytes[5] = i >> 8;
    held.set(prefix6(bytes, [32, 48, 56, 64, 128][i % 5]!), 3);
  }
  const got = drain(new DeletePass6(held));
  t.equal(new Set(got).size, held.size, 'every key once');
  t.ok(
    got.every((k, i) => i === 0 || prefix6Len(got[i - 1]!) >= prefix6Len(k)),
    'lengths never grow along the pass',
  );
});
