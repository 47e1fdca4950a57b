/**
 * OPEN-phase robustness: seeded mutated OPENs (bit flips in every field and in capabilities,
 * truncations) sent to a session in OpenSent. Each gets the RFC 4271 §6.2 action the checks
 * require — a NOTIFICATION with the expected code/subcode, or OpenConfirm (our KEEPALIVE) — and the
 * process stays up. Seed: GREDGE_FUZZ_SEED (printed); count: GREDGE_OPEN_FUZZ. Us 127.0.0.57,
 * the neighbor 127.0.0.58.
 */
import t from 'tap';
import { BgpListener } from '../../src/bgp/session/listener.js';
import { buildOpen, checkOpen } from '../../src/bgp/session/negotiate.js';
import { Peer } from '../../src/bgp/session/peer.js';
import { decodeOpen, encodeOpen, MessageType, parseHeader } from '../../src/bgp/wire/index.js';
import { createLogger, silentLogger } from '../../src/observe/log.js';
import { neighbor, waitState } from '../bgp/session/helpers.js';
import { FakePeer, fakeOpen } from '../fakes/fake-peer.js';
import { RecordingChannel } from '../fakes/recording-channel.js';
import { prng } from './session-gen.js';

const US = '127.0.0.57';
const THEM = '127.0.0.58';
const PORT = 11198;
const SEED = Number(process.env.GREDGE_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32));
const COUNT = Number(process.env.GREDGE_OPEN_FUZZ ?? 3000);
const ROUTER_ID = 0x7f000039;
const log = process.env.GREDGE_TEST_LOG ? createLogger('debug') : silentLogger();

t.test(`OPEN fuzz: ${COUNT} mutated OPENs, seed ${SEED}`, { timeout: 300_000 }, async (t) => {
  t.comment(`seed ${SEED} (rerun with GREDGE_FUZZ_SEED=${SEED})`);
  const r = prng(SEED);
  const int = (n: number) => Math.floor(r() * n);
  const n = neighbor({ address: THEM, passive: true, remoteAs: 65001, role: 'peer' });
  const channel = new RecordingChannel();
  const peer = new Peer({ neighbor: n, localAs: 65000, routerId: ROUTER_ID, channel, log });
  const listener = new BgpListener({
    address: US,
    port: PORT,
    log,
    lookup: (a) => (a === THEM ? peer : undefined),
  });
  await listener.listen();
  let fp: FakePeer | undefined;
  t.teardown(async () => {
    fp?.destroy();
    await peer.stop();
    await listener.close();
  });
  peer.start();
  const ours = buildOpen(n, 65000, ROUTER_ID);
  const outcomes = new Map<string, number>();

  for (let i = 0; i < COUNT; i++) {
    const base = encodeOpen(
      fakeOpen({
        asn: r() < 0.9 ? 65001 : 65000 + int(3),
        bgpId: r() < 0.95 ? THEM : ROUTER_ID,
        holdTime: [0, 3, 90, 180, 65535][int(5)],
        capabilities: {
          role: r() < 0.5 ? 4 : r() < 0.5 ? undefined : int(6),
          enhancedRouteRefresh: r() < 0.5,
          ...(r() < 0.3
            ? { gracefulRestart: { restarting: false, notification: true, restartTime: 120, families: [] } }
            : {}),
          unknown:
            r() < 0.3 ? [{ code: 128 + int(100), value: Uint8Array.from([1, 2, 3].slice(0, int(4))) }] : [],
        },
      }),
    );
    let m = base;
    const how = r();
    if (how < 0.7) {
      for (let k = 1 + int(3); k > 0; k--) m[19 + int(m.length - 19)]! ^= 1 << int(8);
    } else if (how < 0.9) {
      const keep = 10 + int(m.length - 29);
      m = m.slice(0, 19 + keep);
      m[16] = m.length >> 8;
      m[17] = m.length & 0xff;
    }
    // The §6.2 action: header checks, the codec's OPEN checks, then the session's own.
    let want: [number, number] | 'ok';
    const h = parseHeader(m, 0, 4096);
    if (!h.ok) want = [h.error.code, h.error.subcode];
    else {
      const d = decodeOpen(m.subarray(19));
      const c = d.ok ? checkOpen(d.value, { neighbor: n, localAs: 65000, routerId: ROUTER_ID, ours }) : d;
      want = c.ok ? 'ok' : [c.error.code, c.error.subcode];
    }

    await waitState(peer, 'Active', 10000);
    fp = await FakePeer.connect(US, PORT, THEM);
    await fp.expectOpen();
    fp.send(m);
    if (want === 'ok') {
      await fp.expect(MessageType.KEEPALIVE);
      await waitState(peer, 'OpenConfirm');
    } else {
      const got = await fp.expectNotification().catch((e: Error) => e);
      const hex = Buffer.from(m).toString('hex');
      if (got instanceof Error) t.fail(`no NOTIFICATION (${got.message}) for ${hex}`);
      else if (got.code !== want[0] || got.subcode !== want[1]) {
        t.fail(`NOTIFICATION ${got.code}/${got.subcode}, expected ${want.join('/')} for ${hex}`);
      }
    }
    const key = want === 'ok' ? 'ok' : want.join('/');
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    fp.destroy();
    fp = undefined;
  }
  t.comment(
    [...outcomes]
      .sort()
      .map(([k, v]) => `${k}: ${v}`)
      .join(', '),
  );
  t.ok((outcomes.get('ok') ?? 0) > 0 && outcomes.size > 4, 'a spread of outcomes');
  t.equal(channel.ups, 0, 'never Established without a KEEPALIVE');
});
