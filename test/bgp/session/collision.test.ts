/**
 * Connection collisions (RFC 4271 §6.8) both ways, a collision with an Established session, and
 * reconnection with the ConnectRetry backoff. Us: 127.0.0.41; the neighbor: 127.0.0.42.
 */
import t, { type Test } from 'tap';
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
  peer.start();
  const gaps: number[] = [];
  let fp = await fl.accept(10000);
  for (let i = 0; i < 2; i++) {
    await fp.establish({ asn: 65001, bgpId: '127.0.0.200' });
    await channel.until(() => channel.ups === i + 1);
    const lost = Date.now();
    fp.destroy();
    fp = await fl.accept(10000);
    gaps.push(Date.now() - lost);
  }
  t.comment(`gaps ${gaps.join(', ')} ms`);
  t.ok(gaps[0]! >= 900 && gaps[0]! < 1800, 'first retry after the base interval (1 s)');
  t.ok(gaps[1]! >= 1900, 'the interval doubles after further failures');
});
