/**
 * OPEN-phase robustness: seeded OPENs sent to a session in OpenSent — bit flips in every field and
 * in the capabilities, truncations, and named errors (version, peer AS and AS 0, hold time,
 * identifier, optional parameter type, malformed capabilities, roles, RFC 9072 extended optional
 * parameters). Each gets the action rfc-oracle.ts's `classifyOpen` reads from RFC 4271 §6.2,
 * RFC 5492, RFC 6286, RFC 6793, RFC 7607, RFC 9072 and RFC 9234 — not from the codec: a
 * NOTIFICATION with one of the acceptable code/subcodes (and data where fixed), or OpenConfirm
 * (our KEEPALIVE) — and the process stays up. Seed: GREDGE_FUZZ_SEED (printed); count:
 * GREDGE_OPEN_FUZZ. Us 127.0.0.57, the neighbor 127.0.0.58.
 */
import t from 'tap';
import { BgpListener } from '../../src/bgp/session/listener.js';
import { Peer } from '../../src/bgp/session/peer.js';
import { encodeOpen, MessageType } from '../../src/bgp/wire/index.js';
import { createLogger, silentLogger } from '../../src/observe/log.js';
import { neighbor, waitState } from '../bgp/session/helpers.js';
import { FakePeer, fakeOpen } from '../fakes/fake-peer.js';
import { RecordingChannel } from '../fakes/recording-channel.js';
import { classifyOpen, type OpenConfig, toHex } from './rfc-oracle.js';
import { prng } from './session-gen.js';

const US = '127.0.0.57';
const THEM = '127.0.0.58';
const PORT = 11198;
const SEED = Number(process.env.GREDGE_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32)) >>> 0;
const COUNT = Number(process.env.GREDGE_OPEN_FUZZ ?? 3000);
const ROUTER_ID = 0x7f000039;
const log = process.env.GREDGE_TEST_LOG ? createLogger('debug') : silentLogger();

/** Our side, as rfc-oracle needs it: neighbor AS 65001, we are AS 65000, role peer (RFC 9234: 4). */
const CONFIG: OpenConfig = { remoteAs: 65001, localAs: 65000, localId: ROUTER_ID, localRole: 4 };

t.test(`OPEN fuzz: ${COUNT} OPENs, seed ${SEED}`, { timeout: 300_000 }, async (t) => {
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
  const outcomes = new Map<string, number>();
  const labels = new Map<string, number>();
  let failures = 0;
  const fail = (what: string): void => {
    if (++failures <= 20) t.fail(what);
  };

  /** A plausible OPEN; `big` capabilities need RFC 9072's extended parameter lengths. */
  function base(big: boolean): Uint8Array {
    const unknown = [];
    if (r() < 0.3) unknown.push({ code: 128 + int(100), value: Uint8Array.from([1, 2, 3].slice(0, int(4))) });
    if (big) for (let i = 0; i < 3; i++) unknown.push({ code: 200 + i, value: new Uint8Array(100).fill(i) });
    return encodeOpen(
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
          unknown,
        },
      }),
    );
  }

  /** Fix the header Length after the body changed size. */
  const reframe = (m: Uint8Array): Uint8Array => {
    m[16] = m.length >> 8;
    m[17] = m.length & 0xff;
    return m;
  };

  const set = (m: Uint8Array, at: number, bytes: number[]): Uint8Array => {
    m.set(bytes, at);
    return m;
  };

  /** Named errors of RFC 4271 §6.2 and its updates (offsets: the OPEN body starts at 19). */
  const named: [string, (m: Uint8Array) => Uint8Array][] = [
    ['version not 4', (m) => set(m, 19, [[0, 1, 3, 5, 255][int(5)]!])],
    ['My AS 0 (RFC 7607)', (m) => set(m, 20, [0, 0])],
    ['hold time 1 or 2', (m) => set(m, 22, [0, 1 + int(2)])],
    ['BGP identifier 0 (RFC 6286)', (m) => set(m, 24, [0, 0, 0, 0])],
    [
      'unknown optional parameter type',
      (m) => reframe(Uint8Array.from([...m.subarray(0, 28), m[28]! + 3, ...m.subarray(29), 1, 1, 0])),
    ],
    ['optional parameters length off', (m) => set(m, 28, [(m[28]! + 1 + int(3)) & 0xff])],
    [
      '4-octet AS capability 0 (RFC 7607)',
      (m) =>
        reframe(
          Uint8Array.from([...m.subarray(0, 28), m[28]! + 8, ...m.subarray(29), 2, 6, 65, 4, 0, 0, 0, 0]),
        ),
    ],
    [
      'malformed capability',
      (m) => {
        const [code, len] = [
          [1, 3],
          [2, 1],
          [6, 2],
          [9, 2],
          [64, 3],
          [65, 2],
          [70, 1],
        ][int(7)]!;
        const cap = [code!, len!, ...new Array<number>(len!).fill(1)];
        return reframe(
          Uint8Array.from([
            ...m.subarray(0, 28),
            m[28]! + 2 + cap.length,
            ...m.subarray(29),
            2,
            cap.length,
            ...cap,
          ]),
        );
      },
    ],
    [
      'two different roles (RFC 9234 §4.2)',
      (m) =>
        reframe(
          Uint8Array.from([...m.subarray(0, 28), m[28]! + 8, ...m.subarray(29), 2, 6, 9, 1, 4, 9, 1, 3]),
        ),
    ],
  ];

  for (let i = 0; i < COUNT && failures < 20; i++) {
    const big = r() < 0.1;
    let m = base(big);
    let label = big ? 'RFC 9072 extended parameters' : 'OPEN';
    const how = r();
    if (how < 0.55) {
      for (let k = 1 + int(3); k > 0; k--) m[19 + int(m.length - 19)]! ^= 1 << int(8);
      label = `${label}, bits flipped`;
    } else if (how < 0.7) {
      m = reframe(m.slice(0, 19 + 10 + int(m.length - 29)));
      label = `${label}, truncated`;
    } else if (how < 0.9 && !big) {
      const [name, f] = named[int(named.length)]!;
      m = f(m);
      label = name;
    }
    labels.set(label, (labels.get(label) ?? 0) + 1);
    const want = classifyOpen(m, CONFIG);

    await waitState(peer, 'Active', 10000);
    fp = await FakePeer.connect(US, PORT, THEM);
    await fp.expectOpen();
    fp.send(m);
    // The first answer: our KEEPALIVE (OpenConfirm) or a NOTIFICATION.
    let got: { code: number; subcode: number; data: string } | 'ok' | Error;
    for (;;) {
      const a = await fp.next().catch((e: Error) => e);
      if (a instanceof Error) got = a;
      else if (a.type === MessageType.KEEPALIVE) got = 'ok';
      else if (a.type === MessageType.NOTIFICATION) {
        got = { code: a.body[0] ?? -1, subcode: a.body[1] ?? -1, data: toHex(a.body.subarray(2)) };
      } else continue;
      break;
    }
    const hex = toHex(m);
    const show = (x: typeof got): string =>
      x === 'ok'
        ? 'OpenConfirm'
        : x instanceof Error
          ? x.message
          : `NOTIFICATION ${x.code}/${x.subcode} data ${x.data}`;
    if (want === 'ok') {
      if (got === 'ok') await waitState(peer, 'OpenConfirm');
      else fail(`${label}: ${show(got)}, expected OpenConfirm: ${hex}`);
    } else {
      const list = want.map((w) => `${w.code}/${w.subcode}${w.data ? ` data ${w.data}` : ''}`).join(' or ');
      const g = got;
      if (
        g === 'ok' ||
        g instanceof Error ||
        !want.some(
          (w) => w.code === g.code && w.subcode === g.subcode && (w.data === undefined || w.data === g.data),
        )
      ) {
        fail(`${label}: ${show(got)}, expected ${list}: ${hex}`);
      }
    }
    const key = want === 'ok' ? 'ok' : want.map((w) => `${w.code}/${w.subcode}`).join('|');
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
  t.comment(
    [...labels]
      .sort()
      .map(([k, v]) => `${k}: ${v}`)
      .join(', '),
  );
  t.equal(failures, 0, 'every OPEN got an RFC answer');
  t.ok((outcomes.get('ok') ?? 0) > 0 && outcomes.size > 4, 'a spread of outcomes');
  t.equal(channel.ups, 0, 'never Established without a KEEPALIVE');
});
