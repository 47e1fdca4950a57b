/**
 * RIB load benchmark: N IPv4 prefixes (default 1,000,000; ~10 per attribute set, 4-octet AS
 * paths of 2–6 hops) from a feeder transit, through the Rib, out to a customer monitor whose
 * sink counts the prefixes in the UPDATEs it receives. Prints seconds (import, end to end),
 * CPU seconds, live heap and peak RSS. With F feeders (F full tables of the same prefixes,
 * different paths) the decision process runs over F candidates per prefix.
 * With L=1 a best-change listener (what the FIB will be) counts the changes.
 * Usage: node --expose-gc dist/bench/rib-load.js [N] [updates-per-batch] [F] [L]
 */
import { parseIpv4 } from '../src/bgp/wire/index.js';
import type { PathAttributes, UpdateMessage } from '../src/bgp/wire/types.js';
import type { NeighborConfig, Role } from '../src/config/types.js';
import { silentLogger } from '../src/observe/log.js';
import type { OutboundSink, SessionInfo } from '../src/rib/channel.js';
import { Rib } from '../src/rib/rib.js';
import { neighbor, sessionInfo } from '../test/rib/helpers.js';

const N = Number(process.argv[2] ?? 1_000_000);
const BATCH = Number(process.argv[3] ?? 256);
const FEEDERS = Number(process.argv[4] ?? 1);
const LISTEN = process.argv[5] === '1';
const PER_SET = 10;

/** Feeders and the monitor: passive eBGP neighbors with IPv4 only. */
function cfg(name: string, role: Role, remoteAs: number, address: string): NeighborConfig {
  return neighbor(name, role, remoteAs, address, { passive: true, families: ['ipv4-unicast'] });
}

function info(n: NeighborConfig, routerId: number): SessionInfo {
  return sessionInfo(n, routerId, '127.0.0.1', { families: ['ipv4-unicast'] });
}

/** Counts NLRI prefixes in UPDATEs without building objects, like a monitor's RIB would. */
class CountingSink implements OutboundSink {
  prefixes = 0;
  messages = 0;
  bytes = 0;
  eor = false;
  onAll: (() => void) | undefined;

  send(msgs: Uint8Array[]): boolean {
    for (const m of msgs) {
      this.messages++;
      this.bytes += m.length;
      const wlen = (m[19]! << 8) | m[20]!;
      const alen = (m[21 + wlen]! << 8) | m[22 + wlen]!;
      if (wlen === 0 && alen === 0) this.eor = true;
      let pos = 23 + wlen + alen;
      while (pos < m.length) {
        pos += 1 + ((m[pos]! + 7) >> 3);
        this.prefixes++;
      }
    }
    if (this.prefixes >= N && this.onAll !== undefined) {
      const f = this.onAll;
      this.onAll = undefined;
      f();
    }
    return true;
  }

  onDrain(): void {}
}

/** The feed, generated batch by batch so it does not sit in the measured heap. */
function* makeFeed(k: number): Generator<UpdateMessage[]> {
  let feed: UpdateMessage[] = [];
  const nh = parseIpv4(`127.0.1.${k + 1}`)!;
  let seed = 12345 + k;
  const rnd = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed;
  };
  for (let i = 0; i < N; i += PER_SET) {
    const hops = 2 + (rnd() % 5);
    const asns = [65001 + k];
    for (let h = 1; h < hops; h++) asns.push(200000 + (rnd() % 100000));
    const a: PathAttributes = { origin: 0, asPath: [{ type: 2, asns }], atomicAggregate: false, nextHop: nh };
    if (rnd() % 4 === 0) a.med = rnd() % 1000;
    if (rnd() % 3 === 0) a.communities = [(65001 + k) * 65536 + (rnd() % 1000)];
    const nlri: number[] = [];
    for (let j = i; j < Math.min(N, i + PER_SET); j++) {
      // /24s from 16.0.0.0 upward: synthetic keys, never routed or sent anywhere.
      nlri.push((0x10000000 + j * 256) * 64 + 24);
    }
    feed.push({ withdrawn4: [], nlri4: nlri, withdrawn6: [], nlri6: [], attrs: a });
    if (feed.length === BATCH) {
      yield feed;
      feed = [];
    }
  }
  if (feed.length > 0) yield feed;
}

async function main(): Promise<void> {
  global.gc?.();
  const base = process.memoryUsage();
  const rib = new Rib({
    localAs: 65000,
    routerId: parseIpv4('127.0.0.1')!,
    log: silentLogger(),
    expectedPrefixes: N,
  });
  const feeders = Array.from({ length: FEEDERS }, (_, k) => {
    const c = cfg(`feeder${k}`, 'transit', 65001 + k, `127.0.1.${k + 1}`);
    const ch = rib.addNeighbor(c);
    ch.up(info(c, 0x7f000101 + k), new CountingSink());
    return { ch, feed: makeFeed(k) };
  });
  let bestChanges = 0;
  if (LISTEN) rib.onBestChange((batch) => (bestChanges += batch.length));
  const monitorCfg = cfg('monitor', 'customer', 65100, '127.0.0.3');
  const monitor = rib.addNeighbor(monitorCfg);
  const monSink = new CountingSink();
  monitor.up(info(monitorCfg, 3), monSink);
  const done = new Promise<void>((resolve) => {
    monSink.onAll = resolve;
  });
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let imported = 0;
  for (let more = true; more; ) {
    more = false;
    for (const f of feeders) {
      const batch = f.feed.next();
      if (batch.done) continue;
      more = true;
      const t1 = performance.now();
      f.ch.updates(batch.value);
      imported += performance.now() - t1;
      // A session hands over one socket read at a time; let the loop turn between them.
      await new Promise<void>((r) => setImmediate(r));
    }
  }
  const tFeed = performance.now() - t0;
  await done;
  await rib.idle();
  const tAll = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const peak = process.resourceUsage().maxRSS / 1024;
  global.gc?.();
  const mem = process.memoryUsage();
  const s = rib.stats();
  console.log(
    JSON.stringify(
      {
        prefixes: N,
        feeders: FEEDERS,
        paths: s.paths['ipv4-unicast'],
        attributeSets: s.attributeSets,
        locRib: s.locRib['ipv4-unicast'],
        importSeconds: +(imported / 1000).toFixed(3),
        feedSeconds: +(tFeed / 1000).toFixed(3),
        endToEndSeconds: +(tAll / 1000).toFixed(3),
        cpuSeconds: +((cpu.user + cpu.system) / 1e6).toFixed(3),
        bestChanges,
        monitorMessages: monSink.messages,
        monitorPrefixesReceived: monSink.prefixes,
        monitorBytes: monSink.bytes,
        liveHeapMB: +((mem.heapUsed - base.heapUsed) / 2 ** 20).toFixed(1),
        arrayBuffersMB: +(mem.arrayBuffers / 2 ** 20).toFixed(1),
        rssMB: +(mem.rss / 2 ** 20).toFixed(1),
        peakRssMB: +peak.toFixed(1),
      },
      null,
      1,
    ),
  );
}

await main();
