/** Packing respects maxLength and round-trips 100,000 prefixes (seeded). */
import t from 'tap';
import {
  decodeUpdate,
  encodeAttributes,
  HEADER_LENGTH,
  packUpdates4,
  packWithdrawals4,
  type PathAttributes,
  parseHeader,
  prefix4,
} from '../../../src/bgp/wire/index.js';
import { EBGP4 } from './helpers.js';

const seed = Number(process.env.SEED ?? Date.now() % 1_000_000);
t.comment(`seed ${seed}`);
let state = seed || 1;
const rand = (): number => {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) / 2 ** 32;
};

const N = 100_000;
const prefixes: number[] = [];
for (let i = 0; i < N; i++) {
  const len = 8 + Math.floor(rand() * 25);
  prefixes.push(prefix4(Math.floor(rand() * 2 ** 32), len));
}
const attrs: PathAttributes = {
  origin: 0,
  asPath: [{ type: 2, asns: [65001, 4200000000, 65003] }],
  nextHop: 0x7f000002,
  atomicAggregate: false,
  communities: [0xfde90001],
  largeCommunities: [65000, 1, 1],
};
const attrBytes = encodeAttributes(attrs, EBGP4);

for (const maxLength of [4096, 65535]) {
  t.test(`UPDATEs ≤ ${maxLength} bytes carry all ${N} prefixes in order`, async (t) => {
    const msgs = packUpdates4(attrBytes, prefixes, 0, N, maxLength);
    const got: number[] = [];
    let tooBig = 0;
    let notFull = 0;
    for (const m of msgs) {
      if (m.length > maxLength) tooBig++;
      const h = parseHeader(m, 0, maxLength);
      if (!h.ok || h.value.length !== m.length) tooBig++;
      const d = decodeUpdate(m.subarray(HEADER_LENGTH), EBGP4);
      if (!d.ok) throw d.error;
      for (const p of d.value.nlri4) got.push(p);
      if (m !== msgs[msgs.length - 1] && m.length < maxLength - 5) notFull++;
    }
    t.equal(tooBig, 0, 'every message within maxLength');
    t.equal(notFull, 0, 'messages are filled before starting the next');
    t.equal(got.length, N);
    t.same(got, prefixes);
    const wd = packWithdrawals4(prefixes, 0, N, maxLength);
    const back: number[] = [];
    for (const m of wd) {
      t.ok(m.length <= maxLength);
      const d = decodeUpdate(m.subarray(HEADER_LENGTH), EBGP4);
      if (d.ok) for (const p of d.value.withdrawn4) back.push(p);
    }
    t.same(back, prefixes);
  });
}

t.test('start and end select a slice', async (t) => {
  const msgs = packUpdates4(attrBytes, prefixes, 10, 20, 4096);
  t.equal(msgs.length, 1);
  const d = decodeUpdate(msgs[0]!.subarray(HEADER_LENGTH), EBGP4);
  t.same(d.ok && d.value.nlri4, prefixes.slice(10, 20));
});
