/**
 * Issue 11, done-means 2: /metrics of a real gredged (`node dist/src/main.js`) passes
 * `promtool check metrics`, and its figures are what the test made happen.
 *
 *  - BGP, on loopback: a transit and a customer (fake peers, test/fakes/fake-peer.ts) send a known
 *    set of routes, some of which the import policy refuses (a bogon from the transit; a default
 *    route and a prefix outside its own from the customer): received / accepted / refused /
 *    advertised, refusals by reason, the tables' sizes, UPDATEs in and out (against what the fake
 *    peers sent and received), a Cease the customer sends and the NOTIFICATION gredged sends the
 *    transit for a message of an unknown type.
 *  - Tunnels, in the lab (root): gredged on edge and cpe, a ping of N packets of known size from
 *    cust to net through the tunnel (packets and bytes in and out of the tunnel), forged GRE with
 *    a spoofed inner source from cpe's underlay address (drops by reason), the tunnel LPM and
 *    the kernel tables (against what the edge's kernel lists).
 *
 * Every figure is a difference from a baseline taken while things are still, read once it has
 * arrived (polled against a deadline).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { MessageType } from '../../src/bgp/wire/index.js';
import { asPath4, nextHop, ORIGIN_IGP, rawUpdate } from '../bgp/session/helpers.js';
import { FakePeer } from '../fakes/fake-peer.js';
import { KEY } from '../lab/configs.js';
import { gre, icmpEcho, outer4, sendForged } from '../lab/forge.js';
import { startGrePath } from '../lab/gre-path.js';
import { settle } from '../lab/netns.js';
import { ADDR, Lab, labMissing } from '../lab/topology.js';
import { skipUnless } from '../must-run.js';
import { freePort } from '../ports.js';
import { parseScrape, promtool, promtoolMissing, type Scrape, seriesValue } from './expo.js';

const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));
const SCRAPER = fileURLToPath(new URL('./scrape-child.js', import.meta.url));

const DAEMON = '127.0.73.1';
const UP = '127.0.73.2';
const CUST = '127.0.73.3';

/** Resolves once `cond` holds on a fresh read, polled every 100 ms; throws after `ms`. */
async function until<T>(
  read: () => Promise<T>,
  cond: (v: T) => boolean,
  ms: number,
  what: string,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (cond(v)) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function promtoolPasses(t: Test, text: string, what: string): void {
  const skip = skipUnless(t, promtoolMissing());
  t.test(`promtool check metrics on the live scrape (${what})`, { skip }, async (t) => {
    const p = promtool(text);
    t.equal(p.code, 0, `promtool: ${p.said}`);
  });
}

/** A series' change between two scrapes (absent counts as 0: a pair that appears once counted). */
function delta(a: Scrape, b: Scrape, name: string, labels: Record<string, string> = {}): number {
  return (seriesValue(b, name, labels) ?? 0) - (seriesValue(a, name, labels) ?? 0);
}

t.test('BGP: a live scrape counts the routes, messages and NOTIFICATIONs of real sessions', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gredge-live-metrics-'));
  const fakes: FakePeer[] = [];
  const timers: NodeJS.Timeout[] = [];
  let child: ChildProcess | undefined;
  t.teardown(() => {
    for (const i of timers) clearInterval(i);
    for (const f of fakes) f.destroy();
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null)
      process.kill(child.pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const bgpPort = await freePort(DAEMON);
  const metricsPort = await freePort(DAEMON);
  // An RTR cache that is not there: origin validation runs with no data (every route NotFound).
  const rtrPort = await freePort(DAEMON);
  const config = join(dir, 'gredge.yaml');
  writeFileSync(
    config,
    [
      `router-id: ${DAEMON}`,
      'local-as: 65000',
      `listen: { address: ${DAEMON}, port: ${bgpPort} }`,
      'fib: false',
      'control: false',
      `metrics: { listen: "${DAEMON}:${metricsPort}" }`,
      `rpki: { servers: [{ address: ${DAEMON}, port: ${rtrPort} }] }`,
      'neighbors:',
      `  - { name: up, address: ${UP}, remote-as: 65001, role: transit, passive: true, hold-time: 30 }`,
      `  - { name: cust, address: ${CUST}, remote-as: 65002, role: customer, passive: true, hold-time: 30, prefixes: ["21.0.0.0/16 le 24"] }`,
      '',
    ].join('\n'),
  );
  child = spawn(process.execPath, [MAIN, '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    out += d;
  });
  await until(
    async () => out,
    (o) => o.includes('gredged started') || child!.exitCode !== null,
    30_000,
    'gredged started',
  );
  t.ok(out.includes('gredged started'), `gredged started ${child.exitCode === null ? '' : out.slice(-2000)}`);

  let text = '';
  const scrape = async (): Promise<Scrape> => {
    const r = await fetch(`http://${DAEMON}:${metricsPort}/metrics`);
    text = await r.text();
    return parseScrape(text);
  };
  const v = (s: Scrape, name: string, labels: Record<string, string> = {}) => seriesValue(s, name, labels);
  const up = { neighbor: 'up' };
  const cust = { neighbor: 'cust' };
  const v4 = { family: 'ipv4_unicast' };

  const session = async (local: string, asn: number): Promise<FakePeer> => {
    const fp = await FakePeer.connect(DAEMON, bgpPort, local);
    fakes.push(fp);
    await fp.establish({ asn, bgpId: local, holdTime: 30 }, 10_000);
    timers.push(
      setInterval(() => {
        if (!fp.isClosed) fp.sendKeepalive();
      }, 5000),
    );
    return fp;
  };
  const fpUp = await session(UP, 65001);
  const fpCust = await session(CUST, 65002);
  // Both Established, End-of-RIB sent to each (nothing else to send yet): the baseline.
  const base = await until(
    scrape,
    (s) =>
      v(s, 'gredge_bgp_neighbor_state', { ...up, state: 'Established' }) === 1 &&
      v(s, 'gredge_bgp_neighbor_state', { ...cust, state: 'Established' }) === 1 &&
      v(s, 'gredge_bgp_messages_sent_total', { ...cust, type: 'update' }) ===
        fpCust.ofType(MessageType.UPDATE).length &&
      v(s, 'gredge_bgp_messages_sent_total', { ...up, type: 'update' }) ===
        fpUp.ofType(MessageType.UPDATE).length,
    15_000,
    'both sessions Established and quiet',
  );
  t.equal(v(base, 'gredge_bgp_neighbor_established_total', up), 1, 'up: Established once');
  const custUpdatesBefore = fpCust.ofType(MessageType.UPDATE).length;
  const upUpdatesBefore = fpUp.ofType(MessageType.UPDATE).length;

  // The transit: five /24s, then a bogon (10.0.0.0/8). The customer: three of its own /24s, one
  // outside its prefixes (22.0.0.0/24) and a default route.
  const attrs = (asn: number, a: number) => [...ORIGIN_IGP, ...asPath4([asn]), ...nextHop(127, 0, 73, a)];
  const nlri24 = (a: number, b: number, cs: number[]) => cs.flatMap((c) => [24, a, b, c]);
  fpUp.send(rawUpdate([], attrs(65001, 2), nlri24(20, 73, [0, 1, 2, 3, 4])));
  fpUp.send(rawUpdate([], attrs(65001, 2), [8, 10]));
  fpCust.send(rawUpdate([], attrs(65002, 3), [...nlri24(21, 0, [1, 2, 3]), ...nlri24(22, 0, [0]), 0]));

  const after = await until(
    scrape,
    (s) =>
      v(s, 'gredge_bgp_prefixes_received', { ...up, ...v4 }) === 6 &&
      v(s, 'gredge_bgp_prefixes_received', { ...cust, ...v4 }) === 5 &&
      v(s, 'gredge_bgp_prefixes_advertised', { ...cust, ...v4 }) === 5 &&
      v(s, 'gredge_bgp_prefixes_advertised', { ...up, ...v4 }) === 3 &&
      v(s, 'gredge_bgp_messages_sent_total', { ...cust, type: 'update' }) ===
        fpCust.ofType(MessageType.UPDATE).length &&
      v(s, 'gredge_bgp_messages_sent_total', { ...up, type: 'update' }) ===
        fpUp.ofType(MessageType.UPDATE).length,
    15_000,
    'the routes imported and advertised',
  );
  t.equal(v(after, 'gredge_bgp_prefixes_received', { ...up, ...v4 }), 6, 'up: 6 received');
  t.equal(v(after, 'gredge_bgp_prefixes_accepted', { ...up, ...v4 }), 5, 'up: 5 accepted');
  t.equal(v(after, 'gredge_bgp_prefixes_refused', { ...up, ...v4 }), 1, 'up: 1 refused');
  t.equal(v(after, 'gredge_bgp_prefixes_received', { ...cust, ...v4 }), 5, 'cust: 5 received');
  t.equal(v(after, 'gredge_bgp_prefixes_accepted', { ...cust, ...v4 }), 3, 'cust: 3 accepted');
  t.equal(v(after, 'gredge_bgp_prefixes_refused', { ...cust, ...v4 }), 2, 'cust: 2 refused');
  t.equal(
    delta(base, after, 'gredge_bgp_import_refusals_total', { ...up, reason: 'bogon' }),
    1,
    'up: a bogon',
  );
  t.equal(
    delta(base, after, 'gredge_bgp_import_refusals_total', { ...cust, reason: 'not_own_prefix' }),
    1,
    'cust: a prefix not its own',
  );
  t.equal(
    delta(base, after, 'gredge_bgp_import_refusals_total', { ...cust, reason: 'default_route' }),
    1,
    'cust: a default route',
  );
  let otherRefusals = 0;
  for (const [k, n] of after.series)
    if (k.startsWith('gredge_bgp_import_refusals_total{')) otherRefusals += n - (base.series.get(k) ?? 0);
  t.equal(otherRefusals, 3, 'no other refusal counted');
  t.equal(v(after, 'gredge_bgp_prefixes_advertised', { ...cust, ...v4 }), 5, "cust: the transit's 5");
  t.equal(v(after, 'gredge_bgp_prefixes_advertised', { ...up, ...v4 }), 3, "up: the customer's 3");
  t.equal(v(after, 'gredge_rib_prefixes', { table: 'full', ...v4 }), 8, 'full table: 8 prefixes');
  t.equal(
    v(after, 'gredge_rib_prefixes', { table: 'resale', ...v4 }),
    8,
    'resale table: 8 (no no-resale peer)',
  );
  t.equal(v(after, 'gredge_rib_paths', v4), 8, '8 accepted paths');
  t.equal(
    delta(base, after, 'gredge_bgp_messages_received_total', { ...up, type: 'update' }),
    2,
    'up: 2 UPDATEs in',
  );
  t.equal(
    delta(base, after, 'gredge_bgp_messages_received_total', { ...cust, type: 'update' }),
    1,
    'cust: 1 UPDATE in',
  );
  const sentCust = fpCust.ofType(MessageType.UPDATE).length - custUpdatesBefore;
  const sentUp = fpUp.ofType(MessageType.UPDATE).length - upUpdatesBefore;
  t.ok(sentCust > 0 && sentUp > 0, `UPDATEs reached the fake peers (cust ${sentCust}, up ${sentUp})`);
  t.equal(
    delta(base, after, 'gredge_bgp_messages_sent_total', { ...cust, type: 'update' }),
    sentCust,
    'UPDATEs out to cust: as many as it received',
  );
  t.equal(
    delta(base, after, 'gredge_bgp_messages_sent_total', { ...up, type: 'update' }),
    sentUp,
    'UPDATEs out to up: as many as it received',
  );
  // RPKI with its cache unreachable: no data, so every eBGP route is NotFound.
  t.equal(v(after, 'gredge_rpki_cache_up'), 0, 'rpki: no session with the cache');
  t.equal(v(after, 'gredge_rpki_data_state', { state: 'none' }), 1, 'rpki: never synced');
  t.equal(v(after, 'gredge_rpki_vrps', { family: 'ipv4' }), 0, 'rpki: no VRP');
  t.equal(v(after, 'gredge_rpki_session_id'), undefined, 'rpki: no session id before a sync');
  for (const [who, n] of [
    [up, 5],
    [cust, 3],
  ] as const) {
    t.equal(
      v(after, 'gredge_bgp_rpki_prefixes', { ...who, state: 'not_found' }),
      n,
      `${who.neighbor}: ${n} NotFound`,
    );
    t.equal(
      v(after, 'gredge_bgp_rpki_prefixes', { ...who, state: 'valid' }),
      0,
      `${who.neighbor}: none Valid`,
    );
    t.equal(
      v(after, 'gredge_bgp_rpki_prefixes', { ...who, state: 'invalid' }),
      0,
      `${who.neighbor}: none Invalid`,
    );
  }
  promtoolPasses(t, text, 'BGP');

  // The customer leaves with a Cease (administrative shutdown, RFC 8203); the transit sends a
  // message of type 9, which gredged answers with Message Header Error / Bad Message Type.
  fpCust.sendNotification({ code: 6, subcode: 2, data: new Uint8Array(0) });
  fpUp.send(Uint8Array.from([...new Array(16).fill(0xff), 0, 19, 9]));
  const n = await fpUp.expectNotification(10_000);
  t.same([n.code, n.subcode], [1, 3], 'the transit got Bad Message Type');
  const gone = await until(
    scrape,
    (s) =>
      v(s, 'gredge_bgp_neighbor_state', { ...up, state: 'Established' }) === 0 &&
      v(s, 'gredge_bgp_neighbor_state', { ...cust, state: 'Established' }) === 0 &&
      v(s, 'gredge_rib_prefixes', { table: 'full', ...v4 }) === 0,
    15_000,
    'both sessions down and their routes gone',
  );
  t.equal(
    delta(after, gone, 'gredge_bgp_notifications_received_total', { ...cust, code: '6', subcode: '2' }),
    1,
    'cust: one Cease/administrative shutdown received',
  );
  t.equal(
    delta(after, gone, 'gredge_bgp_notifications_sent_total', { ...up, code: '1', subcode: '3' }),
    1,
    'up: one Message Header Error/Bad Message Type sent',
  );
  t.equal(
    delta(after, gone, 'gredge_bgp_messages_received_total', { ...cust, type: 'notification' }),
    1,
    'cust: one NOTIFICATION in',
  );
  t.equal(
    delta(after, gone, 'gredge_bgp_messages_sent_total', { ...up, type: 'notification' }),
    1,
    'up: one NOTIFICATION out',
  );
  t.equal(v(gone, 'gredge_bgp_prefixes_received', { ...cust, ...v4 }), 0, "cust's routes gone");
  t.equal(v(gone, 'gredge_bgp_neighbor_uptime_seconds', cust), 0, 'uptime 0 while down');
  t.equal(v(gone, 'gredge_bgp_neighbor_established_total', up), 1, 'Established once all the same');
  promtoolPasses(t, text, 'BGP, after the NOTIFICATIONs');
});

const labWhy = labMissing('network namespaces and TUN devices', {
  python3: 'the raw-socket sender is a python3 standard-library script',
  ping: 'Debian package iputils-ping',
});

t.test(
  'tunnels: a live scrape counts a ping, forged packets and the tables',
  { skip: skipUnless(t, labWhy) },
  async (t) => {
    const lab = await Lab.create({ tag: 'metrics' });
    t.teardown(() => lab.destroy());
    // 9475 is the edge's own namespace's: nothing else listens there.
    const path = await startGrePath(lab, { underlay: 'v4', mode: 'daemon', metrics: '127.0.0.1:9475' });
    t.teardown(() => path.stop());
    const file = join(lab.dir, 'scrape.txt');
    let text = '';
    const scrape = async (): Promise<Scrape> => {
      await lab.exec('edge', [process.execPath, SCRAPER, 'http://127.0.0.1:9475/metrics', file]);
      text = readFileSync(file, 'utf8');
      return parseScrape(text);
    };
    /** The data plane's series, once they stand still (settle: two reads 250 ms apart agree). */
    const still = async (until?: (c: Record<string, number>) => boolean) => {
      let last: Scrape | undefined;
      const r = await settle(
        async () => {
          last = await scrape();
          return Object.fromEntries(
            [...last.series].filter(([k]) => /^gredge_(tunnel|dataplane)_/.test(k) && !/keepalive/.test(k)),
          );
        },
        { ...(until ? { until } : {}), timeoutMs: 20_000 },
      );
      return { s: last!, settled: r.settled };
    };
    const tun = { tunnel: 'cust-a' };
    const base = (await still()).s;

    // N echo requests of SIZE bytes of payload: each is 28 + SIZE bytes of IPv4 inside the tunnel,
    // in (the request, decapsulated) and out (the reply, encapsulated).
    const N = 20;
    const SIZE = 200;
    const ping = await lab.ping('cust', ADDR.net.v4, { count: N, size: SIZE, interval: 0.02 });
    t.equal(ping.rx, N, `the ${N} echoes were answered`);
    const pinged = await still(
      (c) =>
        (c[`gredge_tunnel_transmit_packets_total{tunnel="cust-a"}`] ?? 0) >=
        (seriesValue(base, 'gredge_tunnel_transmit_packets_total', tun) ?? 0) + N,
    );
    const s1 = pinged.s;
    t.equal(
      delta(base, s1, 'gredge_tunnel_receive_packets_total', tun),
      N,
      `${N} packets in from the tunnel`,
    );
    t.equal(delta(base, s1, 'gredge_tunnel_receive_bytes_total', tun), N * (28 + SIZE), 'and their bytes');
    t.equal(
      delta(base, s1, 'gredge_tunnel_transmit_packets_total', tun),
      N,
      `${N} packets out into the tunnel`,
    );
    t.equal(delta(base, s1, 'gredge_tunnel_transmit_bytes_total', tun), N * (28 + SIZE), 'and their bytes');
    t.equal(delta(base, s1, 'gredge_dataplane_receive_packets_total'), N, `${N} GRE packets in, all tunnels`);
    t.equal(
      delta(base, s1, 'gredge_dataplane_transmit_packets_total'),
      N,
      `${N} GRE packets out, all tunnels`,
    );
    let drops = 0;
    for (const [k, n] of s1.series)
      if (k.startsWith('gredge_dataplane_dropped_packets_total{')) drops += n - (base.series.get(k) ?? 0);
    t.equal(drops, 0, 'nothing dropped');

    // K packets from cpe's underlay address with the tunnel's key and an inner source that is not
    // the customer's: dropped as spoofed_source, on the tunnel and in the totals.
    const K = 7;
    const forged = Array.from({ length: K }, (_, i) =>
      outer4(
        ADDR.cpeUnder.v4,
        ADDR.edgeUnder.v4,
        gre(icmpEcho('203.0.113.77', ADDR.net.v4, 0x4343, i), { key: KEY }),
      ),
    );
    await sendForged(lab, 'cpe', forged);
    const s2 = (
      await still(
        (c) =>
          (c['gredge_dataplane_dropped_packets_total{reason="spoofed_source"}'] ?? 0) >=
          (seriesValue(s1, 'gredge_dataplane_dropped_packets_total', { reason: 'spoofed_source' }) ?? 0) + K,
      )
    ).s;
    t.equal(
      delta(s1, s2, 'gredge_tunnel_dropped_packets_total', { ...tun, reason: 'spoofed_source' }),
      K,
      `${K} spoofed packets dropped on cust-a`,
    );
    t.equal(
      delta(s1, s2, 'gredge_dataplane_dropped_packets_total', { reason: 'spoofed_source' }),
      K,
      'and in the totals',
    );
    t.equal(delta(s1, s2, 'gredge_dataplane_receive_packets_total'), K, `${K} GRE packets in`);
    t.equal(delta(s1, s2, 'gredge_tunnel_receive_packets_total', tun), 0, 'none delivered');

    // Tables: cust-a's inner subnet and routed prefix, one of each family, in the tunnel LPM; the
    // kernel tables as the edge's kernel lists them.
    t.equal(seriesValue(s2, 'gredge_dataplane_lpm_routes', { family: 'ipv4' }), 2, 'LPM: 2 IPv4 routes');
    t.equal(seriesValue(s2, 'gredge_dataplane_lpm_routes', { family: 'ipv6' }), 2, 'LPM: 2 IPv6 routes');
    t.equal(
      seriesValue(s2, 'gredge_tunnel_lpm_routes', { ...tun, family: 'ipv4' }),
      2,
      "cust-a's own LPM: 2 IPv4",
    );
    t.equal(
      seriesValue(s2, 'gredge_tunnel_lpm_routes', { ...tun, family: 'ipv6' }),
      2,
      "cust-a's own LPM: 2 IPv6",
    );
    t.equal(
      seriesValue(s2, 'gredge_dataplane_tunnels', { state: 'unknown' }),
      1,
      'one tunnel, no keepalives',
    );
    for (const [table, id] of [
      ['full', 201],
      ['resale', 202],
    ] as const) {
      const listed = await lab.exec('edge', ['ip', '-4', '-o', 'route', 'show', 'table', String(id)], {
        allowFail: true,
      });
      const routes = listed.stdout.split('\n').filter((l) => l.trim() !== '').length;
      t.ok(routes > 0, `the kernel's table ${id} has routes (${routes})`);
      t.equal(
        seriesValue(s2, 'gredge_fib_kernel_routes', { table, family: 'ipv4' }),
        routes,
        `kernel ${table} table (${id}): as many IPv4 routes as the kernel lists`,
      );
    }
    promtoolPasses(t, text, 'tunnels');
  },
);
