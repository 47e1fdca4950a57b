/**
 * ConnectRetry backoff, hold-time negotiation and the restartable SessionTimer (timers.ts),
 * plus the session-level OPEN checks and collision rule (negotiate.ts).
 */
import t from 'tap';
import { checkOpen, buildOpen, localWinsCollision } from '../../../src/bgp/session/negotiate.js';
import {
  connectRetryDelay,
  isAcceptableHoldTime,
  keepaliveInterval,
  negotiateHoldTime,
  SessionTimer,
} from '../../../src/bgp/session/timers.js';
import { fakeOpen } from '../../fakes/fake-peer.js';
import { neighbor } from './helpers.js';

t.test('ConnectRetry backoff doubles to 300 s with ±25 % jitter', async (t) => {
  const mid = () => 0.5;
  t.same(
    [0, 1, 2, 3, 4, 5, 6, 20].map((n) => connectRetryDelay(30, n, mid)),
    [30, 30, 60, 120, 240, 300, 300, 300],
  );
  t.equal(
    connectRetryDelay(30, 1, () => 0),
    22.5,
  );
  t.equal(
    connectRetryDelay(30, 1, () => 1),
    37.5,
  );
  t.equal(connectRetryDelay(1, 3, mid), 4);
});

t.test('hold time negotiation and keepalive interval (RFC 4271 §4.2, §10)', async (t) => {
  t.equal(negotiateHoldTime(90, 180), 90);
  t.equal(negotiateHoldTime(90, 0), 0);
  t.equal(keepaliveInterval(90), 30);
  t.equal(keepaliveInterval(0), 0);
  t.equal(keepaliveInterval(3), 1);
  t.same([0, 1, 2, 3, 65535].map(isAcceptableHoldTime), [true, false, false, true, true]);
});

t.test('SessionTimer: restarts move the deadline, stop cancels', async (t) => {
  let fired = 0;
  const timer = new SessionTimer(() => fired++);
  const start = Date.now();
  timer.start(0.1);
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setTimeout(r, 50));
    timer.start(0.1);
  }
  t.equal(fired, 0, 'restarted before expiry: not fired');
  await new Promise((r) => setTimeout(r, 200));
  t.equal(fired, 1);
  t.ok(Date.now() - start >= 340);
  timer.start(0.05);
  timer.stop();
  await new Promise((r) => setTimeout(r, 100));
  t.equal(fired, 1, 'stopped timer does not fire');
  t.notOk(timer.running);
});

t.test('OPEN checks and negotiation', async (t) => {
  const n = neighbor({ remoteAs: 4200000001, role: 'peer', families: ['ipv4-unicast', 'ipv6-unicast'] });
  const ours = buildOpen(n, 65000, 0x7f000001);
  const x = { neighbor: n, localAs: 65000, routerId: 0x7f000001, ours };
  const good = checkOpen(fakeOpen({ asn: 4200000001, bgpId: '127.0.0.2', capabilities: { role: 4 } }), x);
  t.ok(good.ok);
  if (good.ok) {
    t.equal(good.value.peerAs, 4200000001, '4-octet AS from the capability');
    t.same(good.value.codec, {
      as4: true,
      extendedMessage: true,
      ebgp: true,
      localAs: 65000,
      peerAs: 4200000001,
    });
  }
  const v6only = checkOpen(
    fakeOpen({ asn: 4200000001, bgpId: '127.0.0.2', capabilities: { multiprotocol: [{ afi: 2, safi: 1 }] } }),
    x,
  );
  t.same(v6only.ok && v6only.value.families, ['ipv6-unicast']);
  const mismatch = checkOpen(fakeOpen({ asn: 4200000001, bgpId: '127.0.0.2', capabilities: { role: 3 } }), x);
  t.same(!mismatch.ok && [mismatch.error.code, mismatch.error.subcode], [2, 11]);
  // eBGP peers may reuse our identifier (RFC 6286 §2.2).
  t.ok(checkOpen(fakeOpen({ asn: 4200000001, bgpId: '127.0.0.1' }), x).ok);
});

t.test('collision rule (RFC 4271 §6.8, RFC 6286 §2.3)', async (t) => {
  t.ok(localWinsCollision(0x7f000002, 0x7f000001, 1, 2));
  t.notOk(localWinsCollision(0x7f000001, 0x7f000002, 1, 2));
  t.ok(localWinsCollision(0xff000001, 0x7f000002, 1, 2), 'unsigned comparison');
  t.ok(localWinsCollision(5, 5, 65002, 65001), 'equal identifiers: larger AS wins');
  t.notOk(localWinsCollision(5, 5, 65001, 65002));
});
