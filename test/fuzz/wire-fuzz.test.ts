/**
 * Seeded mutation fuzz of the codec: ≥100,000 random and mutated messages through parseHeader and
 * every decoder. A decoder must never throw; it returns a value or a BgpMessageError with an RFC
 * code and a valid action. Decoded UPDATEs must re-encode without throwing. Reproduce a run
 * with SEED=<printed seed>.
 */
import t from 'tap';
import {
  BgpMessageError,
  type CodecContext,
  ceaseNotification,
  decodeNotification,
  decodeOpen,
  decodeRouteRefresh,
  decodeUpdate,
  encodeAttributes,
  encodeEndOfRib,
  encodeKeepalive,
  encodeNotification,
  encodeOpen,
  encodeRouteRefresh,
  HEADER_LENGTH,
  packUpdates4,
  packUpdates6,
  packWithdrawals4,
  packWithdrawals6,
  parseHeader,
  parseIpv6,
  parsePrefix4,
  parsePrefix6,
  type Result,
} from '../../src/bgp/wire/index.js';

const seed = Number(process.env.SEED ?? Date.now() % 2 ** 31) >>> 0 || 1;
const COUNT = Number(process.env.FUZZ_COUNT ?? 120_000);
t.comment(`wire fuzz seed ${seed} (SEED=${seed} to reproduce), ${COUNT} messages`);

let s = seed;
function rnd(n: number): number {
  s ^= s << 13;
  s ^= s >>> 17;
  s ^= s << 5;
  return (s >>> 0) % n;
}

const ctxs: CodecContext[] = [
  { as4: true, extendedMessage: false, ebgp: true, localAs: 65000, peerAs: 65001 },
  { as4: false, extendedMessage: false, ebgp: true, localAs: 65000, peerAs: 65001 },
  { as4: true, extendedMessage: true, ebgp: false, localAs: 65000, peerAs: 65000 },
];

function corpus(): Uint8Array[] {
  const c: Uint8Array[] = [];
  const caps = {
    multiprotocol: [
      { afi: 1, safi: 1 },
      { afi: 2, safi: 1 },
    ],
    routeRefresh: true,
    extendedMessage: true,
    role: 4,
    gracefulRestart: {
      restarting: false,
      notification: true,
      restartTime: 90,
      families: [{ afi: 2, safi: 1, forwarding: false }],
    },
    as4: 4200000000,
    enhancedRouteRefresh: true,
    unknown: [{ code: 73, value: Uint8Array.of(3, 0x61, 0x62, 0x63, 0) }],
  };
  c.push(encodeOpen({ version: 4, myAs: 65001, holdTime: 90, bgpId: 0x7f000002, capabilities: caps }));
  c.push(encodeKeepalive(), encodeEndOfRib('ipv4-unicast'), encodeEndOfRib('ipv6-unicast'));
  c.push(
    encodeNotification(ceaseNotification(2, 'fuzzing ☃')),
    encodeNotification({ code: 3, subcode: 1, data: Uint8Array.of(1, 2) }),
  );
  c.push(
    encodeRouteRefresh({ afi: 1, subtype: 0, safi: 1 }),
    encodeRouteRefresh({ afi: 2, subtype: 1, safi: 1 }),
  );
  for (const ctx of ctxs) {
    const attrs = encodeAttributes(
      {
        origin: 1,
        asPath: [
          { type: 2, asns: [65001, 4200000001] },
          { type: 1, asns: [65002, 65003] },
        ],
        nextHop: 0xc0000201,
        med: 7,
        localPref: 100,
        atomicAggregate: true,
        aggregator: { asn: 4200000002, address: 0xc0000202 },
        communities: [0xfde90001, 0xffffff01],
        largeCommunities: [65000, 1, 2],
        otc: 65001,
        unknown: [{ flags: 0xe0, code: 99, value: Uint8Array.of(1, 2, 3) }],
      },
      ctx,
    );
    const v4 = ['192.0.2.0/24', '198.51.100.128/25', '203.0.113.7/32', '0.0.0.0/0'].map(
      (p) => parsePrefix4(p)!,
    );
    const v6 = ['2001:db8::/32', '2001:db8:1::/48', '::/0', '2001:db8::1/128'].map((p) => parsePrefix6(p)!);
    c.push(...packUpdates4(attrs, v4, 0, v4.length, 4096));
    c.push(
      ...packUpdates6(
        attrs,
        { global: parseIpv6('2001:db8::1')!, linkLocal: parseIpv6('fe80::1')! },
        v6,
        0,
        v6.length,
        4096,
      ),
    );
    c.push(...packWithdrawals4(v4, 0, v4.length, 4096), ...packWithdrawals6(v6, 0, v6.length, 4096));
  }
  return c;
}

function mutate(base: Uint8Array): Uint8Array {
  let m = base.slice();
  const rounds = 1 + rnd(4);
  for (let r = 0; r < rounds; r++) {
    switch (rnd(8)) {
      case 0: // flip a bit, mostly after the marker
        if (m.length > 0) {
          const i = rnd(m.length);
          m[i] = m[i]! ^ (1 << rnd(8));
        }
        break;
      case 1: // random byte
        if (m.length > 0) m[rnd(m.length)] = rnd(256);
        break;
      case 2: // interesting byte
        if (m.length > 0)
          m[HEADER_LENGTH + rnd(Math.max(1, m.length - HEADER_LENGTH))] = [
            0, 1, 0x7f, 0x80, 0xff, 32, 33, 128, 129,
          ][rnd(9)]!;
        break;
      case 3: // truncate
        m = m.slice(0, rnd(m.length + 1));
        break;
      case 4: {
        // insert random bytes
        const at = rnd(m.length + 1);
        const ins = Uint8Array.from({ length: 1 + rnd(8) }, () => rnd(256));
        const n = new Uint8Array(m.length + ins.length);
        n.set(m.subarray(0, at));
        n.set(ins, at);
        n.set(m.subarray(at), at + ins.length);
        m = n;
        break;
      }
      case 5: // delete a range
        if (m.length > 1) {
          const at = rnd(m.length);
          const len = 1 + rnd(Math.min(8, m.length - at));
          const n = new Uint8Array(m.length - len);
          n.set(m.subarray(0, at));
          n.set(m.subarray(at + len), at);
          m = n;
        }
        break;
      case 6: // a 16-bit length field somewhere gets a random value
        if (m.length > HEADER_LENGTH + 2) {
          const at = HEADER_LENGTH + rnd(m.length - HEADER_LENGTH - 1);
          const v = rnd(3) === 0 ? rnd(65536) : rnd(64);
          m[at] = v >>> 8;
          m[at + 1] = v & 255;
        }
        break;
      default:
        break;
    }
  }
  // Keep the header's length honest half of the time so decoders see the body.
  if (m.length >= HEADER_LENGTH && rnd(2) === 0) {
    m[16] = (m.length >>> 8) & 255;
    m[17] = m.length & 255;
    m.fill(0xff, 0, 16);
  }
  return m;
}

function randomMessage(): Uint8Array {
  const len = rnd(3) === 0 ? rnd(64) : HEADER_LENGTH + rnd(200);
  const m = Uint8Array.from({ length: len }, () => rnd(256));
  if (len >= HEADER_LENGTH && rnd(2) === 0) {
    m.fill(0xff, 0, 16);
    m[16] = len >>> 8;
    m[17] = len & 255;
    m[18] = 1 + rnd(5);
  }
  return m;
}

const ACTIONS = new Set(['session-reset', 'treat-as-withdraw', 'attribute-discard']);

t.test('no input makes a decoder throw', async (t) => {
  const base = corpus();
  let thrown = 0;
  let badError = 0;
  let firstFailure: string | undefined;
  const stats = { ok: 0, errors: 0, withdraw: 0, discard: 0 };
  const check = (what: string, input: Uint8Array, fn: () => Result<unknown>): void => {
    try {
      const r = fn();
      if (r.ok) {
        stats.ok++;
        return;
      }
      stats.errors++;
      const e = r.error;
      if (
        !(e instanceof BgpMessageError) ||
        !ACTIONS.has(e.action) ||
        e.code < 1 ||
        e.code > 7 ||
        !(e.data instanceof Uint8Array)
      ) {
        badError++;
        firstFailure ??= `${what}: bad error ${String(e)} for ${Buffer.from(input).toString('hex')}`;
      }
    } catch (err) {
      thrown++;
      firstFailure ??= `${what} threw ${(err as Error).stack} for ${Buffer.from(input).toString('hex')}`;
    }
  };
  for (let i = 0; i < COUNT; i++) {
    const msg = rnd(4) === 0 ? randomMessage() : mutate(base[rnd(base.length)]!);
    const maxLength = rnd(2) === 0 ? 4096 : 65535;
    check('parseHeader', msg, () => parseHeader(msg, 0, maxLength));
    const body = msg.subarray(Math.min(HEADER_LENGTH, msg.length));
    const ctx = ctxs[rnd(ctxs.length)]!;
    check('decodeOpen', msg, () => decodeOpen(body));
    check('decodeNotification', msg, () => decodeNotification(body));
    check('decodeRouteRefresh', msg, () => decodeRouteRefresh(body));
    check('decodeUpdate', msg, () => {
      const r = decodeUpdate(body, ctx);
      if (r.ok) {
        const u = r.value;
        if (u.treatAsWithdraw !== undefined) {
          stats.withdraw++;
          if (u.attrs !== undefined || u.nlri4.length > 0 || u.nlri6.length > 0)
            throw new Error('treat-as-withdraw kept routes');
        }
        if (u.discarded !== undefined) stats.discard++;
        // What we accepted we can send on.
        if (u.attrs !== undefined) encodeAttributes(u.attrs, ctxs[rnd(ctxs.length)]!);
        for (const p of u.nlri4)
          if (!Number.isInteger(p) || p < 0 || p % 64 > 32) throw new Error(`bad prefix key ${p}`);
      }
      return r;
    });
  }
  t.comment(JSON.stringify(stats));
  t.equal(thrown, 0, firstFailure ?? 'no decoder threw');
  t.equal(badError, 0, firstFailure ?? 'every error is a BgpMessageError with a valid action');
  t.ok(
    stats.ok > 1000 && stats.errors > 1000 && stats.withdraw > 100 && stats.discard > 10,
    'the fuzz reaches every outcome',
  );
});
