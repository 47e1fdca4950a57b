/**
 * Micro-benchmark of the UPDATE hot paths: packing 1M IPv4 prefixes (10 per attribute set,
 * 4-octet AS paths of 2–6 hops) into UPDATEs, and decoding them back. Prints rates.
 * Run: npx tsc -p tsconfig.json && node dist/bench/wire-codec.js [prefixes]
 */
import {
  decodeUpdate,
  encodeAttributes,
  HEADER_LENGTH,
  packUpdates4,
  type PathAttributes,
} from '../src/bgp/wire/index.js';

const N = Number(process.argv[2] ?? 1_000_000);
const PER_SET = 10;
const ctx = { as4: true, extendedMessage: false, ebgp: true, localAs: 65000, peerAs: 65001 };

const prefixes: number[] = new Array(N);
for (let i = 0; i < N; i++) {
  // distinct /24s from 10.0.0.0 upward (benchmark data only, never sent anywhere)
  prefixes[i] = (((10 << 24) >>> 0) + i * 256) * 64 + 24;
}
const sets: Uint8Array[] = [];
for (let s = 0; s < N / PER_SET; s++) {
  const hops = 2 + (s % 5);
  const asns = [65001];
  for (let h = 1; h < hops; h++) asns.push(4200000000 + ((s * 7 + h) % 1000));
  const attrs: PathAttributes = {
    origin: 0,
    asPath: [{ type: 2, asns }],
    nextHop: 0x7f000002,
    med: s % 100,
    atomicAggregate: false,
    communities: [(65001 << 16) | (s % 50)],
  };
  sets.push(encodeAttributes(attrs, ctx));
}

function run(): { pack: number; decode: number; msgs: number; got: number } {
  let t0 = process.hrtime.bigint();
  const msgs: Uint8Array[] = [];
  for (let s = 0; s < sets.length; s++) {
    for (const m of packUpdates4(sets[s]!, prefixes, s * PER_SET, Math.min(N, (s + 1) * PER_SET), 4096))
      msgs.push(m);
  }
  const pack = Number(process.hrtime.bigint() - t0) / 1e6;
  t0 = process.hrtime.bigint();
  let got = 0;
  for (const m of msgs) {
    const r = decodeUpdate(m.subarray(HEADER_LENGTH), ctx);
    if (r.ok) got += r.value.nlri4.length;
  }
  const decode = Number(process.hrtime.bigint() - t0) / 1e6;
  return { pack, decode, msgs: msgs.length, got };
}

run(); // warm-up
const r = run();
if (r.got !== N) throw new Error(`decoded ${r.got} of ${N} prefixes`);
console.log(`prefixes ${N}, messages ${r.msgs}`);
console.log(`pack   ${r.pack.toFixed(1)} ms  (${(((N / r.pack) * 1000) / 1e6).toFixed(2)} M prefixes/s)`);
console.log(`decode ${r.decode.toFixed(1)} ms  (${(((N / r.decode) * 1000) / 1e6).toFixed(2)} M prefixes/s)`);
