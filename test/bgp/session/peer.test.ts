/**
 * Sessions against the fake BGP peer over loopback (127.0.0.31 = us, 127.0.0.32 = the neighbor):
 * Established both ways, negotiation, OPEN and header errors, timers, shutdown, UPDATE handling.
 */
import t, { type Test } from 'tap';
import { BgpListener } from '../../../src/bgp/session/listener.js';
import { Peer } from '../../../src/bgp/session/peer.js';
import { MessageType, prefix4 } from '../../../src/bgp/wire/index.js';
import type { NeighborConfig } from '../../../src/config/types.js';
import { createLogger, silentLogger } from '../../../src/observe/log.js';
import { FakeListener, FakePeer } from '../../fakes/fake-peer.js';
import { RecordingChannel } from '../../fakes/recording-channel.js';
import { announce24, asPath4, neighbor, nextHop, ORIGIN_IGP, rawUpdate, waitState } from './helpers.js';

const US = '127.0.0.31';
const THEM = '127.0.0.32';
const LISTEN_PORT = 11179;
const THEIR_PORT = 11180;
const ROUTER_ID = 0x7f00001f; // 127.0.0.31
const log = process.env.GREDGE_TEST_LOG ? createLogger('debug') : silentLogger();

let listener: BgpListener;
const peers = new Map<string, Peer>();

t.before(async () => {
  listener = new BgpListener({ address: US, port: LISTEN_PORT, log, lookup: (a) => peers.get(a) });
  await listener.listen();
});
t.teardown(() => listener.close());

function makePeer(t: Test, over: Partial<NeighborConfig> = {}, localAs = 65000) {
  const channel = new RecordingChannel();
  const n = neighbor({ address: THEM, port: THEIR_PORT, localAddress: US, ...over });
  const peer = new Peer({ neighbor: n, localAs, routerId: ROUTER_ID, channel, log, rng: () => 0.5 });
  peers.set(THEM, peer);
  t.teardown(async () => {
    await peer.stop();
    if (peers.get(THEM) === peer) peers.delete(THEM);
  });
  return { peer, channel };
}

async function inbound(t: Test): Promise<FakePeer> {
  const fp = await FakePeer.connect(US, LISTEN_PORT, THEM);
  t.teardown(() => fp.destroy());
  return fp;
}

t.test('we listen (passive): Established, capabilities negotiated', async (t) => {
  const { peer, channel } = makePeer(t, { passive: true, role: 'transit' });
  peer.start();
  await waitState(peer, 'Active');
  const fp = await inbound(t);
  const ours = await fp.establish({ asn: 65001, bgpId: '127.0.0.32', capabilities: { role: 0 } });
  await channel.until(() => channel.ups === 1);
  t.equal(peer.state, 'Established');
  t.equal(ours.capabilities.as4, 65000, 'we announce our 4-octet AS');
  t.equal(ours.capabilities.role, 3, 'toward a transit we are its customer (RFC 9234)');
  t.ok(
    ours.capabilities.extendedMessage &&
      ours.capabilities.routeRefresh &&
      ours.capabilities.enhancedRouteRefresh,
  );
  t.same(ours.capabilities.multiprotocol, [
    { afi: 1, safi: 1 },
    { afi: 2, safi: 1 },
  ]);
  t.equal(ours.capabilities.gracefulRestart, undefined, 'no graceful restart unless configured');
  const info = peer.info!;
  t.equal(info.peerAs, 65001);
  t.equal(info.peerRouterId, 0x7f000020);
  t.equal(info.peerAddress, THEM);
  t.equal(info.localAddress, US);
  t.ok(info.ebgp && info.as4 && info.extendedMessage);
  t.same(info.families, ['ipv4-unicast', 'ipv6-unicast']);
});

t.test('we connect (active): Established; a 2-octet peer without MP or extended message', async (t) => {
  const fl = await FakeListener.listen(THEM, THEIR_PORT);
  t.teardown(() => fl.close());
  const { peer, channel } = makePeer(t, {
    role: 'customer',
    gracefulRestart: { enabled: true, restartTime: 120 },
  });
  peer.start();
  const fp = await fl.accept();
  const ours = await fp.establish({
    asn: 65001,
    bgpId: '127.0.0.32',
    capabilities: { multiprotocol: [], extendedMessage: false, as4: undefined },
  });
  await channel.until(() => channel.ups === 1);
  t.equal(ours.capabilities.role, 0, 'toward a customer we are its provider');
  t.equal(ours.capabilities.gracefulRestart?.restartTime, 120);
  const info = peer.info!;
  t.notOk(info.as4, 'no 4-octet AS without both capabilities');
  t.notOk(info.extendedMessage);
  t.same(info.families, ['ipv4-unicast'], 'no MP capability: IPv4 unicast only');
  t.equal(peer.counters.messagesOut.open, 1);
});

const openErrors: [
  string,
  Parameters<FakePeer['sendOpen']>[0],
  number,
  number,
  number[]?,
  Partial<NeighborConfig>?,
][] = [
  ['unsupported version', { asn: 65001, bgpId: '127.0.0.32', version: 3 }, 2, 1, [0, 4]],
  ['bad peer AS', { asn: 65009, bgpId: '127.0.0.32' }, 2, 2],
  ['BGP identifier 0', { asn: 65001, bgpId: 0 }, 2, 3],
  [
    'iBGP peer with our identifier',
    { asn: 65000, bgpId: '127.0.0.31' },
    2,
    3,
    undefined,
    { remoteAs: 65000, role: 'internal' },
  ],
  ['hold time 1', { asn: 65001, bgpId: '127.0.0.32', holdTime: 1 }, 2, 6],
  ['hold time 2', { asn: 65001, bgpId: '127.0.0.32', holdTime: 2 }, 2, 6],
  [
    'role mismatch (both provider)',
    { asn: 65001, bgpId: '127.0.0.32', capabilities: { role: 0 } },
    2,
    11,
    undefined,
    { role: 'customer' },
  ],
  [
    'role mismatch (peer vs customer)',
    { asn: 65001, bgpId: '127.0.0.32', capabilities: { role: 3 } },
    2,
    11,
    undefined,
    { role: 'peer' },
  ],
];

for (const [name, open, code, subcode, data, over] of openErrors) {
  t.test(`OPEN error: ${name} → NOTIFICATION ${code}/${subcode}`, async (t) => {
    const { peer, channel } = makePeer(t, { passive: true, ...over });
    peer.start();
    const fp = await inbound(t);
    fp.sendOpen(open);
    const n = await fp.expectNotification();
    t.same([n.code, n.subcode], [code, subcode]);
    if (data) t.same([...n.data], data);
    await fp.closed;
    t.equal(channel.ups, 0);
    t.match(peer.counters.lastError, /sent/);
  });
}

async function established(
  t: Test,
  over: Partial<NeighborConfig> = {},
  holdTime = 90,
  extendedMessage = true,
) {
  const r = makePeer(t, { passive: true, ...over });
  r.peer.start();
  const fp = await inbound(t);
  await fp.establish({ asn: 65001, bgpId: '127.0.0.32', holdTime, capabilities: { extendedMessage } });
  await r.channel.until(() => r.channel.ups === 1);
  return { ...r, fp };
}

const headerErrors: [string, Uint8Array, number, number[]][] = [
  ['bad marker', Uint8Array.from([...new Array(15).fill(0xff), 0, 0, 19, 4]), 1, []],
  ['length below 19', Uint8Array.from([...new Array(16).fill(0xff), 0, 18, 4]), 2, [0, 18]],
  ['KEEPALIVE of length 20', Uint8Array.from([...new Array(16).fill(0xff), 0, 20, 4, 0]), 2, [0, 20]],
  [
    'length over 4096 without extended message',
    Uint8Array.from([...new Array(16).fill(0xff), 0x10, 0x01, 2]),
    2,
    [0x10, 0x01],
  ],
  ['unknown type 9', Uint8Array.from([...new Array(16).fill(0xff), 0, 19, 9]), 3, [9]],
];

for (const [name, bytes, subcode, data] of headerErrors) {
  t.test(`header error: ${name} → NOTIFICATION 1/${subcode}`, async (t) => {
    const { peer, channel, fp } = await established(t, {}, 90, !name.includes('without extended'));
    fp.send(bytes);
    const n = await fp.expectNotification();
    t.same([n.code, n.subcode, [...n.data]], [1, subcode, data]);
    await channel.until(() => channel.downs.length === 1);
    t.match(channel.downs[0], /message header error/);
    await waitState(peer, 'Active');
  });
}

t.test('hold timer expiry sends 4/0 and takes the session down', async (t) => {
  const { channel, fp } = await established(t, { holdTime: 3 }, 3);
  const start = Date.now();
  const n = await fp.expectNotification(6000);
  t.same([n.code, n.subcode], [4, 0]);
  t.ok(Date.now() - start >= 2500, 'not before the hold time');
  await channel.until(() => channel.downs.length === 1);
  t.match(channel.downs[0], /hold timer expired/);
});

t.test('keepalives flow every hold/3 and keep the session up', async (t) => {
  const { peer, fp } = await established(t, { holdTime: 3 }, 3);
  const timer = setInterval(() => fp.sendKeepalive(), 900);
  t.teardown(() => clearInterval(timer));
  const before = fp.ofType(MessageType.KEEPALIVE).length;
  await new Promise((r) => setTimeout(r, 4500));
  t.ok(fp.ofType(MessageType.KEEPALIVE).length - before >= 3, 'about one keepalive per second');
  t.equal(peer.state, 'Established');
  t.equal(fp.ofType(MessageType.NOTIFICATION).length, 0);
});

t.test('UPDATEs also reset the hold timer', async (t) => {
  const { peer, fp, channel } = await established(t, { holdTime: 3 }, 3);
  const timer = setInterval(() => fp.send(announce24(65001, [[198, 51, 100]])), 800);
  t.teardown(() => clearInterval(timer));
  await new Promise((r) => setTimeout(r, 4000));
  t.equal(peer.state, 'Established');
  t.ok(channel.routes4.has(prefix4(0xc6336400, 24)));
});

t.test('hold time 0 disables keepalives and the hold timer', async (t) => {
  const { peer, fp } = await established(t, { holdTime: 0 }, 0);
  await new Promise((r) => setTimeout(r, 1500));
  t.equal(peer.state, 'Established');
  t.equal(fp.ofType(MessageType.KEEPALIVE).length, 1, 'only the one confirming the OPEN');
});

t.test('administrative shutdown sends Cease 6/2 with the RFC 8203 message', async (t) => {
  const { peer, channel, fp } = await established(t);
  await peer.stop('maintenance until 15:00');
  const n = await fp.expectNotification();
  t.same([n.code, n.subcode], [6, 2]);
  t.equal(Buffer.from(n.data.subarray(1)).toString(), 'maintenance until 15:00');
  t.equal(n.data[0], 'maintenance until 15:00'.length);
  await fp.closed;
  t.equal(peer.state, 'Idle');
  t.match(channel.downs[0], /administrative shutdown/);
});

t.test('a received NOTIFICATION takes the session down with its decoded name', async (t) => {
  const { channel, fp } = await established(t);
  fp.sendNotification({ code: 6, subcode: 4, data: Uint8Array.from([3, 0x61, 0x62, 0x63]) });
  await channel.until(() => channel.downs.length === 1);
  t.match(channel.downs[0], /cease: administrative reset: "abc"/);
});

t.test('UPDATEs: delivered in batches; RFC 7606 actions', async (t) => {
  const { peer, channel, fp } = await established(t);
  const many: Uint8Array[] = [];
  for (let i = 0; i < 5000; i++) many.push(announce24(65001, [[10, (i >> 8) & 0xff, i & 0xff]]));
  fp.send(many);
  await channel.until(() => channel.routes4.size === 5000, 10000, '5000 routes');
  t.ok(Math.max(...channel.batches) <= 2000, `batches capped at 2000 (${channel.batches.join(',')})`);
  t.equal(peer.counters.updatesReceived, 5000);

  // An invalid ORIGIN value: treat-as-withdraw (RFC 7606 §7.1); the session stays up.
  const bad = rawUpdate([], [0x40, 1, 1, 7, ...asPath4([65001]), ...nextHop(127, 0, 0, 2)], [24, 10, 0, 5]);
  fp.send(bad);
  await channel.until(() => !channel.routes4.has(prefix4(0x0a000500, 24)), 5000, 'withdrawn');
  await channel.until(() => peer.counters.updatesTreatedAsWithdraw === 1);
  t.equal(peer.state, 'Established');

  // Total path attribute length overrunning the message: session reset with 3/1.
  const overrun = rawUpdate([], [...ORIGIN_IGP], []);
  overrun[19 + 3] = 200; // attribute length field low byte
  fp.send(overrun);
  const n = await fp.expectNotification();
  t.same([n.code, n.subcode], [3, 1]);
  await channel.until(() => channel.downs.length === 1);
  t.equal(channel.routes4.size, 0, 'routes dropped on down');
});

t.test('ROUTE-REFRESH: negotiated family goes to the channel, unknown AFI ignored', async (t) => {
  const { peer, channel, fp } = await established(t);
  const rr = (afi: number, safi: number) =>
    Uint8Array.from([...new Array(16).fill(0xff), 0, 23, 5, 0, afi, 0, safi]);
  fp.send([rr(3, 1), rr(2, 1)]);
  await channel.until(() => channel.refreshes.length === 1);
  t.same(channel.refreshes, ['ipv6-unicast']);
  t.equal(peer.state, 'Established');
});

t.test('unexpected messages before Established: RFC 6608 FSM errors', async (t) => {
  await t.test('UPDATE in OpenSent → 5/1', async (t) => {
    const { peer } = makePeer(t, { passive: true });
    peer.start();
    const fp = await inbound(t);
    await fp.expectOpen();
    fp.send(announce24(65001, [[198, 51, 100]]));
    const n = await fp.expectNotification();
    t.same([n.code, n.subcode, [...n.data]], [5, 1, [2]], 'RFC 6608: data is the unexpected message type');
  });
  await t.test('UPDATE in OpenConfirm → 5/2', async (t) => {
    const { peer } = makePeer(t, { passive: true });
    peer.start();
    const fp = await inbound(t);
    fp.sendOpen({ asn: 65001, bgpId: '127.0.0.32' });
    await fp.expectOpen();
    await fp.expect(MessageType.KEEPALIVE);
    fp.send(announce24(65001, [[198, 51, 100]]));
    const n = await fp.expectNotification();
    t.same([n.code, n.subcode], [5, 2]);
  });
  await t.test('OPEN in Established → 5/3', async (t) => {
    const { fp } = await established(t);
    fp.sendOpen({ asn: 65001, bgpId: '127.0.0.32' });
    const n = await fp.expectNotification();
    t.same([n.code, n.subcode], [5, 3]);
  });
});

t.test('listener closes connections from unknown addresses', async (t) => {
  const fp = await FakePeer.connect(US, LISTEN_PORT, '127.0.0.33');
  t.teardown(() => fp.destroy());
  await fp.closed;
  t.equal(fp.received.length, 0);
});

t.test('listener reports a port in use as ERR_LISTEN naming address:port', async (t) => {
  const l2 = new BgpListener({ address: US, port: LISTEN_PORT, log, lookup: () => undefined });
  await t.rejects(l2.listen(), { code: 'ERR_LISTEN', message: /127\.0\.0\.31:11179.*in use/ });
});

t.test('RFC 8654: an UPDATE over 4096 bytes is accepted once extended messages are negotiated', async (t) => {
  const { peer, channel, fp } = await established(t);
  const prefixes: [number, number, number][] = [];
  for (let i = 0; i < 1500; i++) prefixes.push([10, 100 + (i >> 8), i & 0xff]);
  const big = announce24(65001, prefixes);
  t.ok(big.length > 4096, `message of ${big.length} bytes`);
  fp.send(big);
  await channel.until(() => channel.routes4.size === 1500);
  t.equal(peer.state, 'Established');
});

t.test('the OutboundSink writes whole messages to the neighbor and counts them', async (t) => {
  const { peer, channel, fp } = await established(t);
  const sink = channel.sink!;
  const u = announce24(65000, [[203, 0, 113]]);
  t.equal(sink.send([u, u]), true);
  await fp.expect(MessageType.UPDATE);
  await fp.expect(MessageType.UPDATE);
  t.equal(peer.counters.messagesOut.update, 2);
});

t.test('an inbound connection before start() is refused', async (t) => {
  makePeer(t, { passive: true });
  const fp = await inbound(t);
  await fp.closed;
  t.equal(fp.received.length, 0);
});

t.test('stop() while connecting to an unreachable neighbor resolves at once', async (t) => {
  const { peer } = makePeer(t, { port: 11181 }); // nothing listens there: connection refused
  peer.start();
  await waitState(peer, 'Active'); // refused → Idle → Active, waiting for the backoff
  t.ok(peer.counters.connectRetryCounter >= 1);
  t.match(peer.counters.lastError, /ECONNREFUSED/);
  const start = Date.now();
  await peer.stop();
  t.ok(Date.now() - start < 500);
  t.equal(peer.state, 'Idle');
});

t.test('requestRouteRefresh sends ROUTE-REFRESH for a negotiated family only', async (t) => {
  const { peer, fp } = await established(t);
  t.ok(peer.establishedSince! <= Date.now());
  t.equal(peer.requestRouteRefresh('ipv6-unicast'), true);
  const m = await fp.expect(MessageType.ROUTE_REFRESH);
  t.same([...m.body], [0, 2, 0, 1]);
  await peer.stop();
  t.equal(peer.requestRouteRefresh('ipv4-unicast'), false, 'not when down');
  t.equal(peer.establishedSince, undefined);
});
