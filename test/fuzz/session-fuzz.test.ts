/**
 * Robustness (issue 3 "done means" 2, issue 8 point 3): ≥ 100,000 generated hostile messages fed
 * through real sockets (FakePeer → BgpListener → Peer → RecordingChannel) into Established
 * sessions, each message judged by rfc-oracle.ts — the RFCs, not the codec.
 *
 * Messages that must not reset the session go in long runs (thousands) on one connection; after a
 * run every UPDATE the channel received is compared with the oracle's effect of the matching
 * message (withdrawn and announced prefixes, treat-as-withdraw, the path attributes after any
 * attribute discard), and the channel's routes with the oracle's Adj-RIB-In, so a dropped,
 * half-applied or wrongly withdrawn UPDATE fails with its label and hex. Each message that must
 * reset the session goes on a fresh connection of its own: the NOTIFICATION's code/subcode (and
 * data where RFC 4271 fixes it) must be one the oracle accepts. Four neighbors: eBGP and iBGP
 * 4-octet-AS speakers and an eBGP 2-octet-AS speaker (RFC 6793 OLD); extended messages (RFC 8654)
 * on every other session. A healthy neighbor with 1000 routes and a 3 s hold time must stay
 * Established throughout.
 *
 * Seed: GREDGE_FUZZ_SEED (printed); count: GREDGE_FUZZ_MESSAGES. Us 127.0.0.51; fuzzed neighbors
 * 127.0.0.52, .54, .55, .56 (long-lived sessions) and .151–.162 (resets); healthy neighbor .53.
 */
import t from 'tap';
import { BgpListener } from '../../src/bgp/session/listener.js';
import { Peer } from '../../src/bgp/session/peer.js';
import { MessageType, type PathAttributes, type UpdateMessage } from '../../src/bgp/wire/index.js';
import { createLogger, silentLogger } from '../../src/observe/log.js';
import { neighbor, waitState } from '../bgp/session/helpers.js';
import { FakePeer } from '../fakes/fake-peer.js';
import { RecordingChannel } from '../fakes/recording-channel.js';
import { attrDigest, type Family, prefixText, type Routes, toHex, type UpdateEffect } from './rfc-oracle.js';
import { disagreement, type GenContext, type Generated, SessionFuzzer } from './session-gen.js';

const US = '127.0.0.51';
const HEALTHY = '127.0.0.53';
const PORT = 11199;
const SEED = Number(process.env.GREDGE_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32)) >>> 0;
const TOTAL = Number(process.env.GREDGE_FUZZ_MESSAGES ?? 100_000);
/** Messages generated per long-lived session (about 92 % of them go on it). */
const RUN = 3000;
/** Stop early after this many failures: the first ones tell the story. */
const MAX_FAILURES = 25;
const log = process.env.GREDGE_TEST_LOG ? createLogger('debug') : silentLogger();

const FAMILIES: Family[] = ['ipv4-unicast', 'ipv6-unicast'];
/**
 * Each worker is one kind of neighbor with several addresses (Peers): one for its long-lived
 * sessions, three for its resets — a reset costs a connection, so they run side by side, and
 * alongside the generation and the long run of the next batch.
 */
interface Worker {
  address: string;
  resetAddresses: string[];
  as4: boolean;
  ebgp: boolean;
}
const resetAddresses = (i: number): string[] => [0, 1, 2].map((k) => `127.0.0.${151 + i * 3 + k}`);
const WORKERS: Worker[] = [
  { address: '127.0.0.52', resetAddresses: resetAddresses(0), as4: true, ebgp: true },
  { address: '127.0.0.54', resetAddresses: resetAddresses(1), as4: true, ebgp: true },
  { address: '127.0.0.55', resetAddresses: resetAddresses(2), as4: true, ebgp: false },
  { address: '127.0.0.56', resetAddresses: resetAddresses(3), as4: false, ebgp: true },
];

/** ROUTE-REFRESH for IPv4 unicast: the channel sees it once everything before it was handled. */
const MARKER = Uint8Array.from([...new Array(16).fill(0xff), 0, 23, 5, 0, 1, 0, 1]);

// --- the session's decoded UPDATEs in the oracle's terms

function key4(p: number): string {
  const len = p % 64;
  const a = (p - len) / 64;
  return prefixText(1, len, [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255]);
}

function key6(p: string): string {
  const b: number[] = [];
  for (let i = 1; i < p.length; i++) b.push(p.charCodeAt(i));
  return prefixText(2, p.charCodeAt(0), b);
}

const dotted = (a: number): string => `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;

function digest(a: PathAttributes, afi: 4 | 6): string {
  const nh6 = a.nextHop6;
  const nextHop =
    afi === 4
      ? a.nextHop === undefined
        ? '-'
        : dotted(a.nextHop)
      : nh6 === undefined
        ? '-'
        : toHex(nh6.global) + (nh6.linkLocal === undefined ? '' : toHex(nh6.linkLocal));
  return attrDigest({
    origin: a.origin,
    asPath: a.asPath.map((s) => ({ type: s.type, asns: [...s.asns] })),
    nextHop,
    med: a.med,
    localPref: a.localPref,
    atomic: a.atomicAggregate,
    aggregator: a.aggregator && { asn: a.aggregator.asn, address: dotted(a.aggregator.address) },
    communities: a.communities,
    large: a.largeCommunities,
    otc: a.otc,
    unknown: (a.unknown ?? []).map((u) => ({ code: u.code, value: toHex(u.value) })),
  });
}

function sameSet(got: string[], want: string[]): boolean {
  if (got.length === want.length && got.every((x, i) => x === want[i])) return true; // same order
  const a = new Set(got);
  const b = new Set(want);
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

/** How a delivered UPDATE differs from the oracle's effect, or undefined. */
function differs(u: UpdateMessage, e: UpdateEffect): string | undefined {
  const w4 = u.withdrawn4.map(key4);
  const n4 = u.nlri4.map(key4);
  const w6 = u.withdrawn6.map(key6);
  const n6 = u.nlri6.map(key6);
  if (!sameSet(w4, e.withdraw4)) return `IPv4 withdrawn ${w4.join(' ')}, expected ${e.withdraw4.join(' ')}`;
  if (!sameSet(n4, e.announce4)) return `IPv4 announced ${n4.join(' ')}, expected ${e.announce4.join(' ')}`;
  if (!sameSet(w6, e.withdraw6)) return `IPv6 withdrawn ${w6.join(' ')}, expected ${e.withdraw6.join(' ')}`;
  if (!sameSet(n6, e.announce6)) return `IPv6 announced ${n6.join(' ')}, expected ${e.announce6.join(' ')}`;
  if ((u.treatAsWithdraw !== undefined) !== (e.treatAsWithdraw !== undefined)) {
    return `treat-as-withdraw ${u.treatAsWithdraw ?? 'no'}, expected ${e.treatAsWithdraw ?? 'no'}`;
  }
  if (e.attrs4 !== undefined && (u.attrs === undefined || digest(u.attrs, 4) !== e.attrs4)) {
    return `IPv4 attributes ${u.attrs ? digest(u.attrs, 4) : 'none'}, expected ${e.attrs4}`;
  }
  if (e.attrs6 !== undefined && (u.attrs === undefined || digest(u.attrs, 6) !== e.attrs6)) {
    return `IPv6 attributes ${u.attrs ? digest(u.attrs, 6) : 'none'}, expected ${e.attrs6}`;
  }
  return undefined;
}

function show(g: Generated): string {
  const h = toHex(g.bytes);
  const ctx = `${g.ctx.ebgp ? 'eBGP' : 'iBGP'}, ${g.ctx.as4 ? '4' : '2'}-octet AS${g.ctx.extended ? ', extended' : ''}`;
  return `"${g.label}" #${g.seq} (${ctx}): ${h.length > 800 ? `${h.slice(0, 800)}…` : h}`;
}

t.test(`session fuzz: ${TOTAL} messages, seed ${SEED}`, { timeout: 400_000 }, async (t) => {
  t.comment(`seed ${SEED} (rerun with GREDGE_FUZZ_SEED=${SEED})`);
  const mk = (address: string, channel: RecordingChannel, holdTime: number, ebgp = true) =>
    new Peer({
      neighbor: neighbor({
        name: address,
        address,
        passive: true,
        holdTime,
        remoteAs: ebgp ? 65001 : 65000,
        role: ebgp ? 'transit' : 'internal',
      }),
      localAs: 65000,
      routerId: 0x7f000033,
      channel,
      log,
    });
  const fuzzed = new Map<string, { peer: Peer; channel: RecordingChannel }>();
  for (const w of WORKERS) {
    for (const address of [w.address, ...w.resetAddresses]) {
      const channel = new RecordingChannel();
      fuzzed.set(address, { peer: mk(address, channel, 90, w.ebgp), channel });
    }
  }
  const healthyChannel = new RecordingChannel();
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
  await good.establish({ asn: 65001, bgpId: HEALTHY, holdTime: 3 });
  const attrs = [0x40, 1, 1, 0, 0x40, 2, 6, 2, 1, 0, 0, 0xfd, 0xe9, 0x40, 3, 4, 127, 0, 0, 53];
  const updates: Uint8Array[] = [];
  for (let i = 0; i < 1000; i++) {
    const body = [0, 0, 0, attrs.length, ...attrs, 24, 10, i >> 8, i & 0xff];
    updates.push(Uint8Array.from([...new Array(16).fill(0xff), 0, 19 + body.length, 2, ...body]));
  }
  good.send(updates);
  keepalives = setInterval(() => good.sendKeepalive(), 1000);
  // Our KEEPALIVEs (all the healthy neighbor gets now) must come within its 3 s hold time.
  let lastData = performance.now();
  let maxGap = 0;
  good.socket.on('data', () => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - lastData);
    lastData = now;
  });
  await healthyChannel.until(() => healthyChannel.routes4.size === 1000, 10000, 'healthy routes');
  let finished = false;
  healthy.on('state', (from, to) => {
    if (from === 'Established' && !finished) t.fail(`healthy session left Established (→ ${to})`);
  });

  const started = Date.now();
  let failures = 0;
  let sent = 0; // messages handed to a socket so far
  let first: string | undefined;
  const fail = (what: string): void => {
    failures++;
    first ??= `first failure after ${sent} messages sent, ${((Date.now() - started) / 1000).toFixed(1)} s`;
    if (failures <= MAX_FAILURES) t.fail(what);
  };
  const stats = {
    messages: 0,
    accepted: 0,
    resets: 0,
    connections: 0,
    longest: 0,
    genMs: 0,
    runMs: 0,
    resetMs: 0,
  };
  const byLabel = new Map<string, number>();

  /** A fresh Established session from `address`, a neighbor of kind `w`. */
  async function connect(w: Worker, address: string, extended: boolean): Promise<FakePeer> {
    const { peer, channel } = fuzzed.get(address)!;
    await waitState(peer, 'Active', 10000);
    const fp = await FakePeer.connect(US, PORT, address);
    fakes.add(fp);
    stats.connections++;
    await fp.establish({
      asn: w.ebgp ? 65001 : 65000,
      bgpId: address,
      capabilities: { extendedMessage: extended, ...(w.as4 ? {} : { as4: undefined }) },
    });
    await channel.until(() => peer.state === 'Established' && channel.info !== undefined, 5000, 'up');
    return fp;
  }

  async function close(address: string, fp: FakePeer): Promise<void> {
    const { channel } = fuzzed.get(address)!;
    fp.destroy();
    fakes.delete(fp);
    await channel.until(() => channel.info === undefined, 5000, 'down');
  }

  /** Messages that must not reset, on one connection; then every UPDATE and route checked. */
  async function acceptedRun(w: Worker, fz: SessionFuzzer, run: Generated[]): Promise<void> {
    const { peer, channel } = fuzzed.get(w.address)!;
    const fp = await connect(w, w.address, fz.ctx.extended);
    const kept: UpdateMessage[] = [];
    channel.keep = kept;
    const before = channel.refreshes.length;
    const refreshes = run.filter(
      (g) => g.verdict.kind === 'accept' && g.verdict.refresh !== undefined,
    ).length;
    fp.send(run.map((g) => g.bytes));
    fp.send(MARKER);
    sent += run.length;
    const done = await channel.waitUnless(
      () => channel.refreshes.length >= before + refreshes + 1,
      fp.closed,
      60000,
    );
    stats.longest = Math.max(stats.longest, run.length);
    const expected = run.filter((g) => g.verdict.kind === 'accept' && g.verdict.update !== undefined);
    if (!done) {
      // Reset (or stuck) on a message that must not reset: the culprit follows the last UPDATE
      // the channel got.
      const n = fp.ofType(MessageType.NOTIFICATION)[0];
      const sent = n === undefined ? 'no NOTIFICATION' : `NOTIFICATION ${n.body[0]}/${n.body[1]}`;
      const after = kept.length === 0 ? 0 : run.indexOf(expected[kept.length - 1]!) + 1;
      const next = run.findIndex((g, i) => i >= after && g.verdict.kind === 'accept' && g.verdict.update);
      const suspects = run.slice(after, next < 0 ? after + 1 : next + 1);
      fail(
        `session ended (${sent}, state ${peer.state}) by a message that must not reset it; after ${kept.length} UPDATEs; suspect ${suspects.map(show).join(' | ')}`,
      );
      channel.keep = undefined;
      await close(w.address, fp);
      return;
    }
    channel.keep = undefined;
    if (channel.refreshes.length !== before + refreshes + 1) {
      fail(`${channel.refreshes.length - before - 1} ROUTE-REFRESH delivered, expected ${refreshes}`);
    }
    // Every accepted UPDATE, in order, against the oracle.
    let reported = 0;
    for (let i = 0; i < Math.max(kept.length, expected.length) && reported < 3; i++) {
      const g = expected[i];
      const u = kept[i];
      if (g === undefined || u === undefined) {
        fail(
          `${kept.length} UPDATEs delivered, ${expected.length} expected; first unmatched ${g ? show(g) : '-'}`,
        );
        break;
      }
      if (g.verdict.kind !== 'accept' || g.verdict.update === undefined) continue;
      const why = differs(u, g.verdict.update);
      if (why !== undefined) {
        reported++;
        fail(`${show(g)}: ${why}`);
      }
    }
    // The routes the channel holds against the oracle's Adj-RIB-In.
    const bySeq = new Map(run.map((g) => [g.seq, g]));
    const compare = (got: string[], want: Routes, fam: string): void => {
      const gotSet = new Set(got);
      const extra = got.filter((k) => !want.has(k));
      const missing = want.keys.filter((k) => !gotSet.has(k));
      for (const k of [...extra, ...missing].slice(0, 3)) {
        const g = bySeq.get(want.touched(k) ?? -1);
        fail(
          `${fam} route ${k} ${extra.includes(k) ? 'held but withdrawn' : 'missing'}; last set by ${g ? show(g) : '?'}`,
        );
      }
    };
    compare([...channel.routes4].map(key4), fz.rib.v4, 'IPv4');
    compare([...channel.routes6].map(key6), fz.rib.v6, 'IPv6');
    if (fp.ofType(MessageType.NOTIFICATION).length > 0 || peer.state !== 'Established') {
      fail('session reset by a message that must not reset it');
    }
    await close(w.address, fp);
  }

  /** One session-resetting message on a fresh connection of its own. */
  async function resetOne(w: Worker, address: string, g: Generated): Promise<void> {
    const { channel } = fuzzed.get(address)!;
    const fp = await connect(w, address, g.ctx.extended);
    const before = channel.refreshes.length;
    fp.send(g.bytes);
    fp.send(MARKER);
    sent++;
    const v = g.verdict;
    if (v.kind === 'reset') {
      const notif = fp.expectNotification(10000).catch((e: Error) => e);
      // Processing the marker means the message did not reset the session.
      if (await channel.waitUnless(() => channel.refreshes.length > before, notif, 10000)) {
        fail(`${show(g)}: not reset; expected ${v.why}`);
      } else {
        const got = await notif;
        const want = v.acceptable
          .map((n) => `${n.code}/${n.subcode}${n.data ? ` data ${n.data}` : ''}`)
          .join(' or ');
        if (got instanceof Error) fail(`${show(g)}: no NOTIFICATION (${got.message}); expected ${want}`);
        else if (
          !v.acceptable.some(
            (n) =>
              n.code === got.code &&
              n.subcode === got.subcode &&
              (n.data === undefined || n.data === toHex(got.data)),
          )
        ) {
          fail(
            `${show(g)}: NOTIFICATION ${got.code}/${got.subcode} data ${toHex(got.data)}, expected ${want} (${v.why})`,
          );
        }
      }
    } else {
      // Our peer sent a NOTIFICATION: the session ends without one back (RFC 4271 §6.4).
      await channel.waitUnless(() => channel.info === undefined, new Promise(() => {}), 10000);
      const down = channel.info === undefined;
      if (down) await fp.closed;
      if (!down || fp.ofType(MessageType.NOTIFICATION).length > 0) {
        fail(`${show(g)}: answered a NOTIFICATION with one, or stayed up`);
      }
    }
    await close(address, fp);
  }

  async function worker(index: number, budget: number): Promise<void> {
    const w = WORKERS[index]!;
    const ctx: GenContext = {
      as4: w.as4,
      ebgp: w.ebgp,
      extended: false,
      families: FAMILIES,
      localAs: 65000,
      peerAs: w.ebgp ? 65001 : 65000,
    };
    const fz = new SessionFuzzer((SEED + index * 0x9e3779b9) >>> 0, ctx);
    let made = 0;
    let session = 0;
    let resetting: Promise<void> = Promise.resolve();
    const resetAll = async (resets: Generated[]): Promise<void> => {
      const t0 = performance.now();
      let next = 0;
      const lane = async (address: string): Promise<void> => {
        while (next < resets.length && failures < MAX_FAILURES) await resetOne(w, address, resets[next++]!);
      };
      await Promise.all(w.resetAddresses.map(lane));
      stats.resetMs += performance.now() - t0;
    };
    while (made < budget && failures < MAX_FAILURES) {
      fz.newSession({ ...ctx, extended: (session++ & 1) === 1 });
      const run: Generated[] = [];
      const resets: Generated[] = [];
      const t0 = performance.now();
      for (let i = 0; i < RUN && made < budget; i++, made++) {
        // Generating is CPU work on the event loop the sessions share: let timers run.
        if (i % 250 === 249) await new Promise(setImmediate);
        const g = fz.next();
        byLabel.set(g.label, (byLabel.get(g.label) ?? 0) + 1);
        const bad = disagreement(g);
        if (bad !== undefined) fail(`generator and oracle disagree on ${show(g)}: ${bad}`);
        if (g.verdict.kind === 'accept') run.push(g);
        else resets.push(g);
      }
      stats.messages += run.length + resets.length;
      stats.accepted += run.length;
      stats.resets += resets.length;
      const t1 = performance.now();
      await acceptedRun(w, fz, run);
      stats.genMs += t1 - t0;
      stats.runMs += performance.now() - t1;
      // This batch's resets go on the other Peer while the next batch is generated and run.
      await resetting;
      resetting = resetAll(resets).catch((e: Error) => fail(`resets of ${w.address}'s batch: ${e.message}`));
    }
    await resetting;
  }

  const per = Math.ceil(TOTAL / WORKERS.length);
  await Promise.all(WORKERS.map((_, i) => worker(i, per)));

  const secs = (Date.now() - started) / 1000;
  t.comment(
    `${stats.messages} messages in ${secs.toFixed(1)} s: ${stats.accepted} on long-lived sessions (up to ${stats.longest} per connection), ${stats.resets} session resets, ${stats.connections} connections`,
  );
  const s = (ms: number): string => (ms / 1000).toFixed(1);
  t.comment(
    `time summed over the 4 workers: generating ${s(stats.genMs)} s, long runs ${s(stats.runMs)} s, resets ${s(stats.resetMs)} s (alongside)`,
  );
  t.comment(
    [...byLabel]
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${v} ${k}`)
      .join('\n'),
  );
  if (first !== undefined) t.comment(`${failures} failures (${first}); stopped after ${MAX_FAILURES}`);
  t.equal(failures, 0, 'every message got the RFC action');
  if (failures === 0) t.ok(stats.messages >= TOTAL, `fed ${stats.messages} messages`);
  t.equal(healthy.state, 'Established', 'the healthy session stayed Established');
  t.equal(healthyChannel.downs.length, 0, 'the healthy session never went down');
  t.equal(healthyChannel.routes4.size, 1000, 'the healthy session kept its routes');
  t.ok(
    maxGap < 3000,
    `keepalives kept flowing to the healthy neighbor (longest gap ${maxGap.toFixed(0)} ms)`,
  );
  finished = true;
});
