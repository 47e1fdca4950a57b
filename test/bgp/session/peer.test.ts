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
    gracefulRestart: { enabled: true, restartTime: 120, staleTime: 360 },
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

/*
 * Timer tests. None of them sleeps and then trusts the wall clock: on a loaded machine every
 * timer, ours and the test's, fires late, so
 * - lower bounds ("not before the hold time") are measured between the fake peer's own send and
 *   arrival stamps, which load can only stretch;
 * - upper bounds ("expired within 1.5 hold times", "nothing fired in this window") are an alarm: a timer armed
 *   after the timer under test and for longer. Node fires due timers in order of expiry, so
 *   however late the event loop runs, the timer under test has fired by the time the alarm has;
 * - what our side sent is counted after a ROUTE-REFRESH we asked it to send: one TCP stream, so
 *   everything sent before it has arrived too.
 */

/** Whole milliseconds and two different clocks (Date.now() in SessionTimer, performance.now() in
 *  the fake peer's stamps): the most a correct timer can seem early. Not a load allowance. */
const CLOCK_SLACK_MS = 20;

/** A timer of `ms` armed now; `rung` turns true when it fires. See the note above. */
function alarm(t: Test, ms: number): { readonly rung: boolean; readonly done: Promise<void> } {
  let rung = false;
  let timer: NodeJS.Timeout | undefined;
  const done = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      rung = true;
      resolve();
    }, ms);
  });
  t.teardown(() => clearTimeout(timer));
  return {
    get rung() {
      return rung;
    },
    done,
  };
}

t.test('hold timer expiry sends 4/0 and takes the session down', async (t) => {
  const HOLD_MS = 3000;
  const { channel, fp } = await established(t, { holdTime: 3 }, 3);
  // Our hold timer was last restarted by the fake peer's KEEPALIVE in establish(), its last
  // message. The alarm is armed after that restart and for 1.5 × the hold time: a hold timer
  // set half a hold time or more too long (or restarted by our own KEEPALIVEs) loses the race.
  const lastSent = fp.lastSentAt!;
  const late = alarm(t, 1.5 * HOLD_MS);
  const n = await fp.expectNotification(20_000);
  t.same([n.code, n.subcode], [4, 0]);
  const arrived = fp.ofType(MessageType.NOTIFICATION)[0]!.at;
  t.ok(
    arrived - lastSent >= HOLD_MS - CLOCK_SLACK_MS,
    `not before the hold time (${Math.round(arrived - lastSent)} ms after the last message)`,
  );
  await channel.until(() => channel.downs.length === 1);
  t.match(channel.downs[0], /hold timer expired/);
  t.notOk(late.rung, 'expired before a timer of 1.5 × the hold time armed after its last restart');
});

t.test('keepalives flow every hold/3 and keep the session up', async (t) => {
  const HOLD_MS = 3000;
  const N = 5; // keepalives observed: the one confirming the OPEN and 4 periodic ones, ≥ 4 s
  const { peer, fp, channel } = await established(t, { holdTime: 3 }, 3);
  const upAt = peer.establishedSince!; // Date.now() when our hold timer last restarted
  const sent0 = peer.counters.messagesOut.keepalive;
  const t0 = performance.now();
  // Keep our hold timer fed: a KEEPALIVE every 500 ms leaves 2.5 s for a stalled event loop.
  const timer = setInterval(() => fp.sendKeepalive(), 500);
  t.teardown(() => clearInterval(timer));
  await fp.until(() => fp.ofType(MessageType.KEEPALIVE).length >= N, 20_000, `${N} keepalives`);
  const sent = peer.counters.messagesOut.keepalive - sent0;
  const elapsed = performance.now() - t0;
  // Not faster than one a second, from our counter sampled at two instants rather than from
  // arrival times (a stalled loop can deliver two keepalives in one read): each send restarts a
  // 1 s timer, so a window of W ms holds at most ⌊W / 1 s⌋ + 1 sends. A timer faster than ¾ s
  // fails this; load only widens the window.
  t.ok(
    sent <= Math.floor((elapsed + CLOCK_SLACK_MS) / 1000) + 1,
    `no faster than one per second (${sent} sent in ${Math.round(elapsed)} ms)`,
  );
  const at = fp
    .ofType(MessageType.KEEPALIVE)
    .slice(0, N)
    .map((m) => m.at);
  const gaps = at.slice(1).map((a, i) => a - at[i]!);
  t.comment(`keepalive gaps ${gaps.map(Math.round).join(', ')} ms`);
  // Late timers stretch gaps, so bound the typical one, not each: a keepalive timer at the hold
  // time (3 s) misses this by a second; a correct one would need half its gaps a second late.
  const median = [...gaps].sort((a, b) => a - b).slice(1, 3);
  t.ok(
    (median[0]! + median[1]!) / 2 < 2000,
    `about one per second, well inside the hold time (median ${Math.round((median[0]! + median[1]!) / 2)} ms)`,
  );
  // Still up more than a hold time after our hold timer last restarted on the handshake: it is
  // only the fake peer's KEEPALIVEs that kept it from expiring. The 4 keepalives above nearly
  // always took us past that point; if a stalled handshake ate into them, wait on an alarm armed
  // after the hold timer and for longer, which it cannot outlast.
  await alarm(t, Math.max(0, upAt + HOLD_MS + 500 - Date.now())).done;
  t.ok(Date.now() - upAt > HOLD_MS, 'observed for longer than a hold time');
  t.equal(peer.state, 'Established');
  t.same(channel.downs, []);
  t.equal(fp.ofType(MessageType.NOTIFICATION).length, 0);
});

t.test('UPDATEs also reset the hold timer', async (t) => {
  const HOLD_MS = 3000;
  const { peer, fp, channel } = await established(t, { holdTime: 3 }, 3);
  // From here on the fake peer sends UPDATEs only: its last KEEPALIVE was the one in establish(),
  // which our hold timer restarted on before this alarm was armed. The alarm is a second longer
  // than the hold time, so a hold timer that UPDATEs failed to restart has fired before it.
  const lastKeepalive = fp.lastSentAt!;
  const received = peer.counters.updatesReceived;
  const observed = alarm(t, HOLD_MS + 1000);
  const timer = setInterval(() => fp.send(announce24(65001, [[198, 51, 100]])), 500);
  t.teardown(() => clearInterval(timer));
  await observed.done;
  clearInterval(timer);
  t.ok(
    performance.now() - lastKeepalive > HOLD_MS,
    'observed for longer than a hold time since the last KEEPALIVE',
  );
  t.ok(peer.counters.updatesReceived - received >= 2, 'UPDATEs arrived meanwhile');
  t.equal(peer.state, 'Established');
  t.same(channel.downs, [], 'the hold timer never expired');
  t.ok(channel.routes4.has(prefix4(0xc6336400, 24)));
});

t.test('hold time 0 disables keepalives and the hold timer', async (t) => {
  const { peer, fp, channel } = await established(t, { holdTime: 0 }, 0);
  // A keepalive or hold timer that hold time 0 failed to disable was armed by now: with 0 s it
  // would fire at once, with a 1 s minimum within the second. This alarm fires after either.
  await alarm(t, 1500).done;
  t.equal(peer.state, 'Established');
  t.same(channel.downs, [], 'no hold timer expiry');
  // Anything we sent before this ROUTE-REFRESH has reached the fake peer once it has.
  t.equal(peer.requestRouteRefresh('ipv4-unicast'), true);
  await fp.expect(MessageType.ROUTE_REFRESH);
  t.equal(fp.ofType(MessageType.KEEPALIVE).length, 1, 'only the one confirming the OPEN');
  t.equal(fp.ofType(MessageType.NOTIFICATION).length, 0);
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
  // "At once": no waiting for the ConnectRetry backoff (1 s, armed as we entered Active, in this
  // same turn of the event loop) nor for any other timer. The alarm is the old 500 ms deadline, but
  // as an order of events rather than elapsed time, which a loaded machine stretches.
  const deadline = alarm(t, 500);
  const start = performance.now();
  await peer.stop();
  t.notOk(
    deadline.rung,
    `resolved before a 500 ms timer fired (${Math.round(performance.now() - start)} ms)`,
  );
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
