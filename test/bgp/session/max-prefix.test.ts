/**
 * max-prefix with action restart, end to end through a real session and the RIB: the prefix
 * over the limit ends the session with Cease 6/1 (RFC 4486), the neighbor's routes go, the
 * session stays down (refusing the neighbor's connections) for restart-after seconds, then comes
 * back. And RFC 9234 strict mode: a peer without the BGP Role capability is refused with 2/11.
 * Us 127.0.0.61, neighbor 127.0.0.62.
 */
import t, { type Test } from 'tap';
import { BgpListener } from '../../../src/bgp/session/listener.js';
import { Peer } from '../../../src/bgp/session/peer.js';
import { MessageType } from '../../../src/bgp/wire/index.js';
import type { NeighborConfig } from '../../../src/config/types.js';
import { silentLogger } from '../../../src/observe/log.js';
import { Rib } from '../../../src/rib/rib.js';
import { FakePeer } from '../../fakes/fake-peer.js';
import { announce24, neighbor, waitState } from './helpers.js';

const US = '127.0.0.61';
const THEM = '127.0.0.62';
const PORT = 11261;

/** Polls `cond` until it holds; fails after `ms`. */
async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function world(t: Test, over: Partial<NeighborConfig>) {
  const log = silentLogger();
  const rib = new Rib({ localAs: 65000, routerId: 0x7f00003d, log, bogons: [] });
  const n = neighbor({ name: 'n1', address: THEM, passive: true, ...over });
  const peer = new Peer({
    neighbor: n,
    localAs: 65000,
    routerId: 0x7f00003d,
    channel: rib.addNeighbor(n),
    log,
  });
  const listener = new BgpListener({
    address: US,
    port: PORT,
    log,
    lookup: (a) => (a === THEM ? peer : undefined),
  });
  await listener.listen();
  const fakes: FakePeer[] = [];
  t.teardown(async () => {
    for (const f of fakes) f.destroy();
    await peer.stop();
    await listener.close();
  });
  peer.start();
  const connect = async () => {
    const fp = await FakePeer.connect(US, PORT, THEM);
    fakes.push(fp);
    return fp;
  };
  return { rib, peer, connect };
}

t.test('max-prefix restart: Cease 6/1, routes gone, held down, then back', async (t) => {
  const w = await world(t, { maxPrefix: { limit: 3, action: 'restart', restartAfter: 2 } });
  await waitState(w.peer, 'Active');
  const fp = await w.connect();
  await fp.establish({ asn: 65001, bgpId: THEM });
  await waitState(w.peer, 'Established');
  fp.send(
    announce24(65001, [
      [198, 51, 100],
      [198, 51, 101],
      [198, 51, 102],
    ]),
  );
  fp.send(announce24(65001, [[198, 51, 100]])); // the same prefix again: still 3
  await until(() => w.rib.stats().locRib['ipv4-unicast'] === 3, 5000, 'three routes in the RIB');
  t.equal(fp.ofType(MessageType.NOTIFICATION).length, 0, 'at the limit: no NOTIFICATION');
  fp.send(announce24(65001, [[203, 0, 113]]));
  // The hold-down starts when that UPDATE is processed, never before it was sent: a lower bound
  // on when it ends that load cannot break (a stamp taken once the NOTIFICATION had been read
  // would be late by however long the loaded machine took to get there).
  const sentAt = fp.lastSentAt!;
  const n = await fp.expectNotification(5000);
  // The session went down (and the hold-down began) as the NOTIFICATION was sent, so from here
  // the 2 s hold-down runs. Probe it straight away, before anything else: a connection from the
  // neighbor is closed without an OPEN. Only stalls adding up to the whole hold-down between that
  // UPDATE and this connect could get us there late; we would then be answered with an OPEN,
  // which fails below instead of hanging on `closed`.
  const heldState = w.peer.state;
  const early = await w.connect();
  await early.until(() => early.isClosed || early.received.length > 0, 10_000, 'close or OPEN');
  t.same([n.code, n.subcode], [6, 1], 'Cease, maximum number of prefixes reached');
  t.equal(heldState, 'Idle', 'held down in Idle');
  t.equal(
    early.received.length,
    0,
    `refused while held down (connected ${Math.round(performance.now() - sentAt)} ms into it)`,
  );
  early.destroy(); // closed already, unless it got an OPEN: then do not wait out its hold timer
  await fp.closed;
  await until(() => w.rib.stats().locRib['ipv4-unicast'] === 0, 5000, 'routes withdrawn');
  t.equal(w.rib.stats().locRib['ipv4-unicast'], 0, 'the neighbor’s routes are withdrawn');
  t.equal(w.rib.stats().neighbors[0]!.maxPrefixExceeded, 1);

  await waitState(w.peer, 'Active', 10_000);
  const back = performance.now() - sentAt;
  // 20 ms: the hold-down is in whole Date.now() milliseconds; not a load allowance.
  t.ok(back >= 2000 - 20, `not back before restart-after (2 s): ${Math.round(back)} ms`);
  const again = await w.connect();
  await again.establish({ asn: 65001, bgpId: THEM });
  await waitState(w.peer, 'Established');
  t.pass('the session comes back after the hold-down');
});

t.test('role-strict: no BGP Role capability from the peer is a role mismatch (2/11)', async (t) => {
  const w = await world(t, { role: 'transit', roleStrict: true });
  await waitState(w.peer, 'Active');
  const fp = await w.connect();
  await fp.expectOpen();
  fp.sendOpen({ asn: 65001, bgpId: THEM });
  const n = await fp.expectNotification(5000);
  t.same([n.code, n.subcode], [2, 11]);
  await waitState(w.peer, 'Active', 10_000);
  const fp2 = await w.connect();
  await fp2.establish({ asn: 65001, bgpId: THEM, capabilities: { role: 0 } });
  await waitState(w.peer, 'Established');
  t.pass('with the matching role (provider, toward our customer role) it comes up');
});
