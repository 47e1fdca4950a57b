/**
 * Connection collisions (RFC 4271 §6.8) both ways, a collision with an Established session, and
 * reconnection with the ConnectRetry backoff. Us: 127.0.0.41; the neighbor: 127.0.0.42.
 */
import t, { type Test } from 'tap';
import type { State } from '../../../src/bgp/session/fsm.js';
import { BgpListener } from '../../../src/bgp/session/listener.js';
import { Peer } from '../../../src/bgp/session/peer.js';
import type { NeighborConfig } from '../../../src/config/types.js';
import { createLogger, silentLogger } from '../../../src/observe/log.js';
import { FakeListener, FakePeer } from '../../fakes/fake-peer.js';
import { RecordingChannel } from '../../fakes/recording-channel.js';
import { neighbor } from './helpers.js';

const US = '127.0.0.41';
const THEM = '127.0.0.42';
const LISTEN_PORT = 11189;
const THEIR_PORT = 11190;
const ROUTER_ID = 0x7f000029; // 127.0.0.41
const log = process.env.GREDGE_TEST_LOG ? createLogger('debug') : silentLogger();

let listener: BgpListener;
let current: Peer | undefined;

t.before(async () => {
  listener = new BgpListener({
    address: US,
    port: LISTEN_PORT,
    log,
    lookup: (a) => (a === THEM ? current : undefined),
  });
  await listener.listen();
});
t.teardown(() => listener.close());

async function setup(t: Test, over: Partial<NeighborConfig> = {}) {
  const fl = await FakeListener.listen(THEM, THEIR_PORT);
  const channel = new RecordingChannel();
  const peer = new Peer({
    neighbor: neighbor({ address: THEM, port: THEIR_PORT, localAddress: US, ...over }),
    localAs: 65000,
    routerId: ROUTER_ID,
    channel,
    log,
    rng: () => 0.5,
    stableAfter: 600,
  });
  current = peer;
  t.teardown(async () => {
    await peer.stop();
    await fl.close();
    current = undefined;
  });
  return { fl, peer, channel };
}

for (const [label, remoteId, keep] of [
  ['remote identifier larger: the connection the remote initiated survives', '127.0.0.200', 'in'],
  ['local identifier larger: the connection we initiated survives', '127.0.0.1', 'out'],
] as const) {
  t.test(label, async (t) => {
    const { fl, peer, channel } = await setup(t);
    peer.start();
    const outgoing = await fl.accept(); // we dialled them
    await outgoing.expectOpen();
    const incoming = await FakePeer.connect(US, LISTEN_PORT, THEM); // and they dialled us
    t.teardown(() => incoming.destroy());
    await incoming.expectOpen(); // tracked as the second connection
    const open = { asn: 65001, bgpId: remoteId };
    outgoing.sendOpen(open);
    incoming.sendOpen(open);
    const loser = keep === 'in' ? outgoing : incoming;
    const winner = keep === 'in' ? incoming : outgoing;
    const n = await loser.expectNotification();
    t.same([n.code, n.subcode], [6, 7], 'loser gets Cease: connection collision resolution');
    await loser.closed;
    await winner.expect(4);
    winner.sendKeepalive();
    await channel.until(() => channel.ups === 1);
    t.equal(peer.state, 'Established');
    t.equal(channel.downs.length, 0);
  });
}

t.test('a new connection colliding with an Established session is closed', async (t) => {
  const { fl, peer, channel } = await setup(t);
  peer.start();
  const fp = await fl.accept();
  await fp.establish({ asn: 65001, bgpId: '127.0.0.200' });
  await channel.until(() => channel.ups === 1);
  const late = await FakePeer.connect(US, LISTEN_PORT, THEM);
  t.teardown(() => late.destroy());
  const n = await late.expectNotification();
  t.same([n.code, n.subcode], [6, 7]);
  await late.closed;
  t.equal(peer.state, 'Established');
});

t.test('reconnects after the peer closes, with exponential backoff', async (t) => {
  const { fl, peer, channel } = await setup(t, { connectRetry: 1 });
  // Backoff after the n-th failure with rng 0.5 (no jitter): 1 s, then 2 s.
  const INTERVALS = [1000, 2000];
  // Lower bounds: from the loss to the new connection, read on the clock SessionTimer uses
  // (Date.now()). The timer starts after the loss and never fires before its deadline, so load can
  // only lengthen the gap. Upper bounds: as we enter Active the ConnectRetry timer is armed, and
  // the state listener then arms an alarm of 1.5 × the expected interval. Node fires due timers in
  // order of expiry, so the retry (→ Connect) must come before the alarm however late the loop
  // runs, unless the interval was too long (2 s instead of 1 s, 4 s instead of 2 s).
  let expected: number | undefined;
  let alarm: { rung: boolean; timer: NodeJS.Timeout } | undefined;
  const alarmRungAtRetry: boolean[] = [];
  const onState = (_from: State, to: State): void => {
    if (to === 'Active' && expected !== undefined && alarm === undefined) {
      const a = { rung: false, timer: setTimeout(() => (a.rung = true), expected * 1.5) };
      alarm = a;
    } else if (to === 'Connect' && alarm !== undefined) {
      alarmRungAtRetry.push(alarm.rung);
      clearTimeout(alarm.timer);
      alarm = undefined;
    }
  };
  peer.on('state', onState);
  t.teardown(() => {
    peer.off('state', onState);
    if (alarm) clearTimeout(alarm.timer);
  });
  peer.start();
  const gaps: number[] = [];
  let fp = await fl.accept(10000);
  for (let i = 0; i < 2; i++) {
    await fp.establish({ asn: 65001, bgpId: '127.0.0.200' });
    await channel.until(() => channel.ups === i + 1);
    expected = INTERVALS[i];
    const lost = Date.now();
    fp.destroy();
    fp = await fl.accept(20000);
    gaps.push(Date.now() - lost);
    t.equal(peer.counters.connectRetryCounter, i + 1, `${i + 1} consecutive failure(s) counted`);
  }
  t.comment(`gaps ${gaps.join(', ')} ms`);
  t.ok(gaps[0]! >= INTERVALS[0]!, `first retry not before the base interval (1 s): ${gaps[0]} ms`);
  t.ok(gaps[1]! >= INTERVALS[1]!, `the interval doubles after further failures: ${gaps[1]} ms`);
  t.same(alarmRungAtRetry, [false, false], 'each retry came before 1.5 × its interval: 1 s, then 2 s');
});
