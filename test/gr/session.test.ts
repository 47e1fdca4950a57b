/**
 * Graceful restart on the wire and in the session (RFC 4724 §3, §4): the capability's Restart
 * State and Forwarding State bits as encoded (bytes) and decoded, our OPEN carrying what the
 * daemon's restart state says (per session: a first session claims what the restart kept, a
 * later one what the FIB forwards), a lost connection reported as a graceful `down` and a
 * NOTIFICATION either way as a plain one, and §4.2's restarted neighbor: an OPEN with the R bit
 * on a new connection while the old session is Established ends the old one gracefully and the
 * new one carries on; without the R bit it is a plain §6.8 collision.
 * Us: 127.0.0.171 (a listener on a free port); the neighbor: 127.0.0.172 (passive, it connects).
 */
import t, { type Test } from 'tap';
import { BgpListener } from '../../src/bgp/session/listener.js';
import { buildOpen, type RestartState } from '../../src/bgp/session/negotiate.js';
import { Peer } from '../../src/bgp/session/peer.js';
import { decodeOpen, encodeOpen, HEADER_LENGTH, MessageType } from '../../src/bgp/wire/index.js';
import type { Capabilities, Family } from '../../src/bgp/wire/types.js';
import { silentLogger } from '../../src/observe/log.js';
import { neighbor, waitState } from '../bgp/session/helpers.js';
import { FakePeer } from '../fakes/fake-peer.js';
import { RecordingChannel } from '../fakes/recording-channel.js';
import { freePort } from '../ports.js';
import { grCap } from './helpers.js';

const US = '127.0.0.171';
const THEM = '127.0.0.172';
const ROUTER_ID = 0x7f0000ab;
const log = silentLogger();
const GR = { gracefulRestart: { enabled: true, restartTime: 90, staleTime: 360 } };

/** The capability 64 value in an encoded OPEN (its bytes after code and length). */
function grBytes(open: Uint8Array): number[] {
  // Header, version, my AS, hold time, BGP id, then optional parameters (type 2: capabilities).
  const body = open.subarray(HEADER_LENGTH);
  let o = 10;
  const end = o + body[9]!;
  while (o < end) {
    const len = body[o + 1]!;
    let c = o + 2;
    while (c < o + 2 + len) {
      if (body[c] === 64) return [...body.subarray(c + 2, c + 2 + body[c + 1]!)];
      c += 2 + body[c + 1]!;
    }
    o += 2 + len;
  }
  return [];
}

t.test('the capability: R bit, restart time, F bit per family, as bytes and decoded', async (t) => {
  const n = neighbor(GR);
  const plain = encodeOpen(buildOpen(n, 65000, ROUTER_ID));
  t.same(
    grBytes(plain),
    [0x00, 90, 0, 1, 1, 0x00, 0, 2, 1, 0x00],
    'not restarting, no F bit, restart time 90',
  );
  const restart: RestartState = { restarting: true, forwarding: ['ipv4-unicast'] };
  const bytes = encodeOpen(buildOpen(n, 65000, ROUTER_ID, restart));
  t.same(grBytes(bytes), [0x80, 90, 0, 1, 1, 0x80, 0, 2, 1, 0x00], 'R bit, F bit for IPv4 only');
  const dec = decodeOpen(bytes.subarray(HEADER_LENGTH));
  t.ok(dec.ok);
  if (dec.ok)
    t.same(dec.value.capabilities.gracefulRestart, {
      restarting: true,
      notification: false,
      restartTime: 90,
      families: [
        { afi: 1, safi: 1, forwarding: true },
        { afi: 2, safi: 1, forwarding: false },
      ],
    });
  const both = buildOpen(n, 65000, ROUTER_ID, {
    restarting: false,
    forwarding: ['ipv4-unicast', 'ipv6-unicast'],
  });
  t.same(
    both.capabilities.gracefulRestart?.families.map((f) => f.forwarding),
    [true, true],
    'F bits for both',
  );
  t.same(
    buildOpen(neighbor({ ...GR, families: ['ipv6-unicast'] }), 65000, ROUTER_ID, restart).capabilities
      .gracefulRestart?.families,
    [{ afi: 2, safi: 1, forwarding: false }],
    'only the configured families are named',
  );
  t.equal(
    buildOpen(neighbor(), 65000, ROUTER_ID, restart).capabilities.gracefulRestart,
    undefined,
    'no capability without graceful restart configured, whatever the daemon says',
  );
});

/** A channel that also records whether each `down` was graceful, and every `flush`. */
class GrChannel extends RecordingChannel {
  readonly graceful: boolean[] = [];
  readonly flushes: string[] = [];
  override down(reason: string, opts?: { graceful?: boolean }): void {
    this.graceful.push(opts?.graceful === true);
    super.down(reason);
  }
  flush(reason: string): void {
    this.flushes.push(reason);
  }
}

interface World {
  peer: Peer;
  channel: GrChannel;
  port: number;
  asked: boolean[];
}

async function world(t: Test, restart: (before: boolean) => RestartState): Promise<World> {
  const port = await freePort(US);
  let peer: Peer | undefined;
  const listener = new BgpListener({
    address: US,
    port,
    log,
    lookup: (a) => (a === THEM ? peer : undefined),
  });
  await listener.listen();
  const channel = new GrChannel();
  const asked: boolean[] = [];
  peer = new Peer({
    neighbor: neighbor({ ...GR, address: THEM, passive: true, localAddress: US }),
    localAs: 65000,
    routerId: ROUTER_ID,
    channel,
    log,
    rng: () => 0.5,
    restartState: (before) => {
      asked.push(before);
      return restart(before);
    },
  });
  const p = peer;
  t.teardown(async () => {
    await p.stop();
    listener.close();
  });
  p.start();
  await waitState(p, 'Active');
  return { peer: p, channel, port, asked };
}

async function connect(
  t: Test,
  w: World,
  caps: Partial<Capabilities>,
): Promise<{ fp: FakePeer; caps: Capabilities }> {
  const fp = await FakePeer.connect(US, w.port, THEM);
  t.teardown(() => fp.destroy());
  const ours = await fp.establish({ asn: 65001, bgpId: '127.0.0.172', capabilities: caps });
  return { fp, caps: ours.capabilities };
}

t.test('our OPEN says what the daemon says: first session, then a later one', async (t) => {
  const w = await world(t, (before) =>
    before
      ? { restarting: false, forwarding: ['ipv4-unicast', 'ipv6-unicast'] as Family[] }
      : { restarting: true, forwarding: ['ipv6-unicast'] as Family[] },
  );
  const first = await connect(t, w, { gracefulRestart: grCap() });
  await w.channel.until(() => w.channel.ups === 1);
  t.same(w.asked, [false], 'asked as a first session');
  t.equal(first.caps.gracefulRestart?.restarting, true, 'R bit');
  t.same(
    first.caps.gracefulRestart?.families.map((f) => [f.afi, f.forwarding]),
    [
      [1, false],
      [2, true],
    ],
    'F bit for what the restart kept',
  );
  first.fp.destroy();
  await w.channel.until(() => w.channel.downs.length === 1);
  t.same(w.channel.graceful, [true], 'a lost connection is a graceful down');
  await waitState(w.peer, 'Active');
  const second = await connect(t, w, { gracefulRestart: grCap() });
  await w.channel.until(() => w.channel.ups === 2);
  t.same(w.asked, [false, true], 'then as a later session');
  t.equal(second.caps.gracefulRestart?.restarting, false, 'no R bit');
  t.same(
    second.caps.gracefulRestart?.families.map((f) => f.forwarding),
    [true, true],
    'F bits for what the FIB forwards',
  );
});

t.test('a NOTIFICATION received or sent ends the session without graceful restart', async (t) => {
  const w = await world(t, () => ({ restarting: false, forwarding: [] }));
  const a = await connect(t, w, { gracefulRestart: grCap() });
  a.fp.sendNotification({ code: 6, subcode: 2, data: new Uint8Array(0) });
  await w.channel.until(() => w.channel.downs.length === 1);
  await waitState(w.peer, 'Active');
  await connect(t, w, { gracefulRestart: grCap() });
  await w.channel.until(() => w.channel.ups === 2);
  await w.peer.stop('bye');
  await w.channel.until(() => w.channel.downs.length === 2);
  t.same(w.channel.graceful, [false, false], 'neither is graceful (RFC 4724 §4)');
});

t.test(
  'RFC 4724 §4.2: an OPEN with the R bit on a new connection ends the old session gracefully',
  async (t) => {
    const w = await world(t, () => ({ restarting: false, forwarding: ['ipv4-unicast', 'ipv6-unicast'] }));
    const old = await connect(t, w, { gracefulRestart: grCap() });
    await w.channel.until(() => w.channel.ups === 1);
    // The neighbor restarted; its old connection is still open here (no FIN ever came).
    const fresh = await connect(t, w, { gracefulRestart: grCap({ restarting: true }) });
    await w.channel.until(() => w.channel.ups === 2);
    t.same(
      w.channel.events.slice(-2),
      ['down neighbor restarted (new connection, RFC 4724 §4.2)', 'up'],
      'the old session down, then the new one up',
    );
    t.same(w.channel.graceful, [true], 'the old session ended as a lost connection: routes kept');
    t.equal(w.peer.state, 'Established', 'the new connection is the session');
    await old.fp.closed;
    t.pass('the old connection is closed');
    t.equal(old.fp.ofType(MessageType.NOTIFICATION).length, 0, 'without a NOTIFICATION');
    t.notOk(fresh.fp.isClosed, 'the new one stays');
  },
);

t.test('without the R bit a new connection while Established is a §6.8 collision', async (t) => {
  const w = await world(t, () => ({ restarting: false, forwarding: [] }));
  const old = await connect(t, w, { gracefulRestart: grCap() });
  await w.channel.until(() => w.channel.ups === 1);
  const fp = await FakePeer.connect(US, w.port, THEM);
  t.teardown(() => fp.destroy());
  await fp.expect(MessageType.OPEN);
  fp.sendOpen({ asn: 65001, bgpId: '127.0.0.172', capabilities: { gracefulRestart: grCap() } });
  const n = await fp.expectNotification();
  t.same([n.code, n.subcode], [6, 7], 'Cease 6/7 on the new connection');
  t.equal(w.channel.downs.length, 0, 'the session stays');
  t.notOk(old.fp.isClosed);
});

t.test('stopping a neighbor whose session is down asks the RIB to drop what it keeps', async (t) => {
  const w = await world(t, () => ({ restarting: false, forwarding: [] }));
  const a = await connect(t, w, { gracefulRestart: grCap() });
  await w.channel.until(() => w.channel.ups === 1);
  a.fp.destroy();
  await w.channel.until(() => w.channel.downs.length === 1);
  t.same(w.channel.graceful, [true], 'lost: graceful');
  t.same(w.channel.flushes, [], 'nothing flushed by a lost connection');
  await w.peer.stop('maintenance');
  t.same(w.channel.flushes, ['administrative shutdown'], 'flushed by the stop');
});
