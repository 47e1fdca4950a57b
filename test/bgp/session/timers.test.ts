/**
 * ConnectRetry backoff, hold-time negotiation and the restartable SessionTimer (timers.ts),
 * plus the session-level OPEN checks and collision rule (negotiate.ts).
 */
import { mock } from 'node:test';
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

/**
 * SessionTimer is pure timer logic, so it runs on node:test's mock clock (setTimeout and Date,
 * which is all it uses): time only moves when the test ticks it, so the assertions are exact and
 * take no real time. Against the real clock, "restart every 50 ms a timer of 100 ms" failed
 * whenever the event loop was 50 ms late, which a loaded 2-core machine easily is. (Mocking Date
 * needs Node ≥ 20.11; Node 20 prints an ExperimentalWarning for MockTimers on stderr.)
 */
function withMockClock(body: () => void): void {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
  try {
    body();
  } finally {
    mock.timers.reset(); // the real clock again, whatever the body threw
  }
}

t.test('SessionTimer: restarts move the deadline, stop cancels (mock clock)', async (t) => {
  withMockClock(() => {
    const firedAt: number[] = [];
    const timer = new SessionTimer(() => firedAt.push(Date.now()));
    const start = Date.now();
    timer.start(0.1);
    t.ok(timer.running);
    for (let i = 0; i < 5; i++) {
      mock.timers.tick(50);
      timer.start(0.1); // each restart moves the deadline to 100 ms from now
    }
    t.same(firedAt, [], 'restarted before expiry: not fired');
    mock.timers.tick(99);
    t.same(firedAt, [], 'not 1 ms before the last restart + 100 ms');
    mock.timers.tick(1);
    t.same(
      firedAt.map((x) => x - start),
      [350],
      'fired once, exactly 100 ms after the last restart (250 ms)',
    );
    t.notOk(timer.running, 'not running after it fired');
    mock.timers.tick(1000);
    t.equal(firedAt.length, 1, 'one-shot: does not fire again');

    timer.start(0.05);
    timer.stop();
    t.notOk(timer.running);
    mock.timers.tick(1000);
    t.equal(firedAt.length, 1, 'stopped timer does not fire');
  });
});

t.test('SessionTimer: a restart to an earlier deadline re-arms; restart after expiry works', async (t) => {
  withMockClock(() => {
    const firedAt: number[] = [];
    const timer = new SessionTimer(() => firedAt.push(Date.now()));
    const start = Date.now();
    timer.start(10);
    mock.timers.tick(100);
    timer.start(0.2); // earlier than the armed 10 s: must not wait for the old setTimeout
    mock.timers.tick(199);
    t.same(firedAt, []);
    mock.timers.tick(1);
    t.same(
      firedAt.map((x) => x - start),
      [300],
    );
    timer.start(1);
    mock.timers.tick(999);
    t.equal(firedAt.length, 1);
    mock.timers.tick(1);
    t.same(
      firedAt.map((x) => x - start),
      [300, 1300],
      'restarted after it fired: fires again',
    );
    timer.start(0);
    mock.timers.tick(0);
    t.equal(firedAt.length, 3, 'start(0) expires without waiting');
  });
});

t.test('SessionTimer on the real clock: never early, and it does fire', async (t) => {
  // One check against the real setTimeout/Date pair the daemon uses. Only the lower bound is
  // asserted on elapsed time (load makes timers late, never early); "it fires" is a promise
  // with a deadline 100 times the timer's duration.
  const start = Date.now();
  const fired = new Promise<number>((resolve) => new SessionTimer(() => resolve(Date.now())).start(0.05));
  let deadline: NodeJS.Timeout | undefined;
  const firedAt = await Promise.race([
    fired,
    new Promise<never>((_, reject) => {
      deadline = setTimeout(() => reject(new Error('SessionTimer(50 ms) did not fire within 5 s')), 5000);
    }),
  ]).finally(() => clearTimeout(deadline));
  t.ok(firedAt - start >= 50, `not before its deadline (${firedAt - start} ms)`);
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
