/**
 * Robustness (issue 3, "done means" 2): ≥ 100,000 generated hostile messages fed through real
 * sockets into Established sessions (reconnecting after each reset), while a second, healthy
 * session with 1000 routes and a 3 s hold time must stay Established and keep its routes.
 * Seed: GREDGE_FUZZ_SEED (printed); count: GREDGE_FUZZ_MESSAGES. Us 127.0.0.51; fuzzed neighbor
 * 127.0.0.52; healthy neighbor 127.0.0.53.
 */
import t from 'tap';
import { BgpListener } from '../../src/bgp/session/listener.js';
import { Peer } from '../../src/bgp/session/peer.js';
import { MessageType } from '../../src/bgp/wire/index.js';
import { createLogger, silentLogger } from '../../src/observe/log.js';
import { neighbor, waitState } from '../bgp/session/helpers.js';
import { FakePeer } from '../fakes/fake-peer.js';
import { RecordingChannel } from '../fakes/recording-channel.js';
import { type Generated, SessionFuzzer } from './session-gen.js';

const US = '127.0.0.51';
const HEALTHY = '127.0.0.53';
const PORT = 11199;
const SEED = Number(process.env.GREDGE_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32));
const TOTAL = Number(process.env.GREDGE_FUZZ_MESSAGES ?? 100_000);
const PER_CONNECTION = 400;
const log = process.env.GREDGE_TEST_LOG ? createLogger('debug') : silentLogger();

const RR4 = Uint8Array.from([...new Array(16).fill(0xff), 0, 23, 5, 0, 1, 0, 1]);

const WORKERS = ['127.0.0.52', '127.0.0.54', '127.0.0.55', '127.0.0.56'];

t.test(`session fuzz: ${TOTAL} messages, seed ${SEED}`, { timeout: 400_000 }, async (t) => {
  t.comment(`seed ${SEED} (rerun with GREDGE_FUZZ_SEED=${SEED})`);
  const healthyChannel = new RecordingChannel();
  const mk = (address: string, channel: RecordingChannel, holdTime: number) =>
    new Peer({
      neighbor: neighbor({ name: address, address, passive: true, holdTime }),
      localAs: 65000,
      routerId: 0x7f000033,
      channel,
      log,
    });
  const fuzzed = new Map<string, { peer: Peer; channel: RecordingChannel }>();
  for (const a of WORKERS) {
    const channel = new RecordingChannel();
    fuzzed.set(a, { peer: mk(a, channel, 90), channel });
  }
  const healthy = mk(HEALTHY, healthyChannel, 3);
  const listener = new BgpListener({
    address: US,
    port: PORT,
    log,
    lookup: (a) => (a === HEALTHY ? healthy : fuzzed.get(a)?.peer),
  });
  await listener.listen();
  const fakes = new Set<FakePeer>();
  let keepalives: NodeJS.Timeout | undefined;
  t.teardown(async () => {
    if (keepalives) clearInterval(keepalives);
    for (const f of fakes) f.destroy();
    await Promise.all([...[...fuzzed.values()].map((f) => f.peer.stop()), healthy.stop()]);
    await listener.close();
  });
  for (const f of fuzzed.values()) f.peer.start();
  healthy.start();

  // The healthy neighbor: 1000 routes, keepalives every second, hold time 3 s.
  const good = await FakePeer.connect(US, PORT, HEALTHY);
  fakes.add(good);
  await good.establish({ asn: 65001, bgpId: '127.0.0.53', holdTime: 3 });
  const updates: Uint8Array[] = [];
  for (let i = 0; i < 1000; i++) {
    updates.push(
      Uint8Array.from([
        ...new Array(16).fill(0xff),
        0,
        19 + 4 + 4 + 9 + 7 + 4,
        2,
        0,
        0,
        0,
        20,
        0x40,
        1,
        1,
        0,
        0x40,
        2,
        6,
        2,
        1,
        0,
        0,
        0xfd,
        0xe9,
        0x40,
        3,
        4,
        127,
        0,
        0,
        53,
        24,
        10,
        i >> 8,
        i & 0xff,
      ]),
    );
  }
  good.send(updates);
  keepalives = setInterval(() => good.sendKeepalive(), 1000);
  await healthyChannel.until(() => healthyChannel.routes4.size === 1000, 10000, 'healthy routes');
  let finished = false;
  healthy.on('state', (from, to) => {
    if (from === 'Established' && !finished) t.fail(`healthy session left Established (→ ${to})`);
  });

  let fed = 0;
  let connections = 0;
  let resets = 0;
  const byLabel = new Map<string, number>();
  const started = Date.now();

  async function worker(index: number, address: string): Promise<void> {
    const { peer, channel } = fuzzed.get(address)!;
    const fuzzer = new SessionFuzzer((SEED + index) >>> 0, {
      as4: true,
      extendedMessage: true,
      ebgp: true,
      localAs: 65000,
      peerAs: 65001,
    });
    let n = 0;
    while (fed < TOTAL) {
      // A fresh Established session, extended messages on every other one. Messages go in
      // generation order; the first session-resetting one ends the connection.
      await waitState(peer, 'Active', 10000);
      const ext = (n++ & 1) === 0;
      fuzzer.ctx = { ...fuzzer.ctx, extendedMessage: ext };
      const fp = await FakePeer.connect(US, PORT, address);
      fakes.add(fp);
      connections++;
      await fp.establish({ asn: 65001, bgpId: address, capabilities: { extendedMessage: ext } });
      await channel.until(() => peer.state === 'Established' && channel.info !== undefined, 5000, 'up');

      const batch: Uint8Array[] = [];
      let refreshes = 0;
      let last: Generated | undefined;
      while (batch.length < PER_CONNECTION && fed < TOTAL) {
        const g = fuzzer.next();
        fed++;
        byLabel.set(g.label, (byLabel.get(g.label) ?? 0) + 1);
        if (g.expect.kind !== 'ok') {
          last = g;
          break;
        }
        if (g.expect.refresh) refreshes++;
        batch.push(g.bytes);
      }
      const before = channel.refreshes.length;
      fp.send(batch);
      if (last === undefined) {
        fp.send(RR4); // a marker the channel sees once everything before it was processed
        await channel.until(() => channel.refreshes.length >= before + refreshes + 1, 10000, 'marker');
        t.equal(channel.refreshes.length, before + refreshes + 1);
        if (fp.ofType(MessageType.NOTIFICATION).length > 0 || peer.state !== 'Established') {
          t.fail('session reset by a message that must not reset it');
        }
        fp.destroy();
        fakes.delete(fp);
        await channel.until(() => channel.info === undefined, 5000, 'down');
        continue;
      }
      fp.send(last.bytes);
      resets++;
      if (last.expect.kind === 'reset') {
        const want = last.expect;
        const got = await fp.expectNotification(10000).catch((e: Error) => e);
        const hex = Buffer.from(last.bytes).toString('hex');
        if (got instanceof Error) {
          t.fail(`${last.label}: no NOTIFICATION (${got.message}); bytes ${hex}`);
        } else if (got.code !== want.code || got.subcode !== want.subcode) {
          t.fail(
            `${last.label}: NOTIFICATION ${got.code}/${got.subcode}, expected ${want.code}/${want.subcode}; ${hex}`,
          );
        }
        fp.destroy();
      } else {
        await fp.closed;
        if (fp.ofType(MessageType.NOTIFICATION).length > 0) t.fail('answered a NOTIFICATION with one');
      }
      fakes.delete(fp);
      await channel.until(() => channel.info === undefined, 5000, 'down');
    }
  }

  await Promise.all(WORKERS.map((a, i) => worker(i, a)));

  const secs = (Date.now() - started) / 1000;
  t.comment(`${fed} messages over ${connections} connections (${resets} resets) in ${secs.toFixed(1)} s`);
  t.comment([...byLabel].map(([k, v]) => `${k}: ${v}`).join(', '));
  t.ok(fed >= TOTAL, `fed ${fed} messages`);
  t.equal(healthy.state, 'Established', 'the healthy session stayed Established');
  t.equal(healthyChannel.downs.length, 0, 'the healthy session never went down');
  t.equal(healthyChannel.routes4.size, 1000, 'the healthy session kept its routes');
  t.ok(
    good.ofType(MessageType.KEEPALIVE).length >= secs - 1,
    'keepalives kept flowing to the healthy neighbor',
  );
  finished = true;
});
