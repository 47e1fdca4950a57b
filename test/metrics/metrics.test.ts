/**
 * The exporter on its own (src/observe/metrics.ts), against fake modules whose counters the test
 * sets: every figure comes out under its Prometheus name, `promtool check metrics` accepts the
 * scrape, bad requests get 400/404/405 and never stop the server, `listen` moves in place (the
 * old address keeps serving when the new one is taken), and the config key's parsing and diff.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import t from 'tap';
import { newCounters, countNotification } from '../../src/bgp/session/counters.js';
import { diffConfig } from '../../src/config/diff.js';
import { parseConfig } from '../../src/config/load.js';
import { parseHostPort } from '../../src/config/limits.js';
import type { ReloadStatus } from '../../src/control/target.js';
import { DROP_REASONS, type Drops, type TunnelCounters } from '../../src/dataplane/counters.js';
import type { FibStats } from '../../src/fib/fib.js';
import { createLogger } from '../../src/observe/log.js';
import {
  Metrics,
  type MetricsDataplane,
  type MetricsPeer,
  type MetricsRpki,
  rpkiSource,
} from '../../src/observe/metrics.js';
import { REFUSALS } from '../../src/policy/import.js';
import { parseTriestat } from '../../src/observe/metrics-kernel.js';
import type { RibStats, RovCounts } from '../../src/rib/rib.js';
import { freePort } from '../ports.js';
import { skipUnless } from '../must-run.js';
import { parseScrape, promtool, promtoolMissing, seriesValue } from './expo.js';

const HOST = '127.0.0.1';
const DASHBOARD = new URL('../../../config/grafana-dashboard.json', import.meta.url);
const log = createLogger('error');

function drops(over: Partial<Drops> = {}): Drops {
  return { ...(Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Drops), ...over };
}

function tunnel(rx: number, tx: number, d: Partial<Drops> = {}): TunnelCounters {
  return {
    rxPackets: rx,
    rxBytes: rx * 100,
    txPackets: tx,
    txBytes: tx * 100,
    keepaliveRx: 0,
    keepaliveTx: 0,
    keepaliveReflected: 0,
    ptbSent: 0,
    mssClamped: 0,
    drops: drops(d),
  };
}

/** Fake modules: a customer and a transit, two tunnels (one removed while a scrape runs). */
function sources() {
  const cust = newCounters();
  cust.messagesIn.open = 1;
  cust.messagesIn.update = 7;
  cust.messagesIn.keepalive = 3;
  cust.messagesOut.open = 1;
  cust.messagesOut.notification = 1;
  cust.establishedCount = 2;
  countNotification(cust.notificationsOut, 6, 4);
  countNotification(cust.notificationsIn, 6, 2);
  countNotification(cust.notificationsIn, 6, 2);
  const peers = new Map<string, MetricsPeer>([
    [
      'cust',
      {
        neighbor: { name: 'cust', address: '127.0.0.3', remoteAs: 65002, role: 'customer' },
        state: 'Established',
        enabled: true,
        establishedSince: Date.now() - 65_000,
        counters: cust,
      },
    ],
    [
      'we"ird\\name',
      {
        neighbor: { name: 'we"ird\\name', address: '2001:db8::2', remoteAs: 65001, role: 'transit' },
        state: 'Active',
        enabled: false,
        establishedSince: undefined,
        counters: newCounters(),
      },
    ],
  ]);
  const refused = Object.fromEntries(REFUSALS.map((r) => [r, 0])) as RibStats['neighbors'][0]['refused'];
  refused['not-own-prefix'] = 4;
  refused['default-route'] = 1;
  refused['rpki-invalid'] = 2;
  const rib: RibStats = {
    locRib: { 'ipv4-unicast': 10, 'ipv6-unicast': 2 },
    resale: { 'ipv4-unicast': 8, 'ipv6-unicast': 1 },
    paths: { 'ipv4-unicast': 12, 'ipv6-unicast': 2 },
    attributeSets: 5,
    neighbors: [
      {
        name: 'cust',
        up: true,
        prefixesIn: { 'ipv4-unicast': 3, 'ipv6-unicast': 1 },
        prefixesOut: { 'ipv4-unicast': 9, 'ipv6-unicast': 1 },
        prefixesRefused: { 'ipv4-unicast': 2, 'ipv6-unicast': 0 },
        refused,
        maxPrefixExceeded: 0,
        encodeErrors: 0,
        eorReceived: [],
        eorSent: [],
        pendingOut: 0,
      },
    ],
  };
  const tunnels = new Map<string, TunnelCounters>([
    ['t1', tunnel(20, 21, { spoofedSource: 5 })],
    ['t2', tunnel(0, 0)],
    ['gone', tunnel(1, 1)],
  ]);
  const state = new Map<string, boolean>([
    ['t1', true],
    ['t2', false],
  ]);
  const dp: MetricsDataplane = {
    tunnelNames: () => [...tunnels.keys()],
    tunnelCounters: (name) => {
      const c = tunnels.get(name);
      if (!c) throw new Error(`no tunnel named ${name}`);
      return c;
    },
    globalCounters: () =>
      ({
        ...Object.fromEntries(
          [
            'rxPackets',
            'rxBytes',
            'txPackets',
            'txBytes',
            'keepaliveReflected',
            'keepaliveRx',
            'keepaliveTx',
            'ptbSent',
            'mssClamped',
            'tunReads',
            'tunWrites',
            'sendCalls',
            'recvCalls',
            'tsoSegments',
            'groMerged',
            'csumCompleted',
            'directTx',
            'linkLocalMulticast',
          ].map((k) => [k, 0]),
        ),
        rxPackets: 21,
        txPackets: 22,
        drops: drops({ spoofedSource: 5, unknownKey: 2 }),
      }) as ReturnType<MetricsDataplane['globalCounters']>,
    routeCount: () => ({ v4: 4, v6: 1 }),
    configRouteCount: (name) => (name === 't1' ? { v4: 2, v6: 1 } : { v4: 0, v6: 0 }),
  };
  const fib: FibStats = {
    batches: 3,
    routeWrites: 40,
    failed: { ENETUNREACH: 2 },
    unresolved: 1,
    noNextHop: 0,
    tunnelRoutes: 4,
    queued: 0,
    deletesHeld: 0,
    pending: 0,
    lastWriteMs: 1.5,
    maxWriteMs: 12,
    staleRemoved: 0,
  };
  const reloads: ReloadStatus = {
    ok: 2,
    failed: 1,
    lastAt: '2026-01-02T03:04:05.000Z',
    lastError: 'x',
    rollbackPendingUntil: null,
    rollbacks: 0,
    lastRollbackAt: null,
  };
  const rov = new Map<string, RovCounts>([
    ['cust', { valid: 2, invalid: 3, notFound: 1, unverified: 0, refused: 2 }],
  ]);
  const rpki: MetricsRpki = {
    status: () => ({
      connection: 'established',
      data: 'current',
      cache: '127.0.0.9 port 8282',
      version: 1,
      sessionId: 4711,
      serial: 42,
      lastUpdate: '2026-01-02T03:04:06.000Z',
      vrps: 7,
      expiresAt: null,
      refresh: 3600,
      retry: 600,
      expire: 7200,
      lastError: null,
      invalid: 'reject',
      pending: null,
    }),
    vrps: () => ({ v4: 5, v6: 2 }),
  };
  return {
    tunnels,
    src: {
      peers,
      rib: { stats: () => rib, rovTally: () => rov },
      rpki: () => rpki,
      // 254 is main (named "Main:" by the kernel), 4242 a table nobody created.
      kernelTables: () => ({ full: 254, resale: 4242 }),
      dataplane: () => dp,
      fib: () => ({
        stats: () => fib,
        tunnelRoutesOf: (name: string) => (name === 't1' ? { v4: 3, v6: 0 } : { v4: 0, v6: 0 }),
      }),
      tunnelState: (n: string) => state.get(n),
      reloads: () => reloads,
    },
  };
}

function http(
  port: number,
  path: string,
  method = 'GET',
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: HOST, port, path, method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Raw bytes to the port, and what came back before the server closed the connection. */
function raw(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: HOST, port }, () => s.end(bytes));
    let out = '';
    s.setEncoding('utf8');
    s.on('data', (d) => {
      out += d;
    });
    s.on('close', () => resolve(out));
    s.on('error', reject);
    s.setTimeout(10_000, () => s.destroy(new Error('no answer')));
  });
}

t.test('ADDRESS:PORT parsing (metrics.listen)', async (t) => {
  t.same(parseHostPort('127.0.0.1:9475'), { address: '127.0.0.1', port: 9475 });
  t.same(parseHostPort('[::1]:9475'), { address: '::1', port: 9475 });
  t.same(parseHostPort('[2001:DB8:0::1]:80'), { address: '2001:db8::1', port: 80 });
  for (const bad of [
    '::1:9475',
    '127.0.0.1',
    '127.0.0.1:0',
    '127.0.0.1:65536',
    '[127.0.0.1]:80',
    'localhost:1',
    '1.2.3:4',
    '',
  ])
    t.equal(parseHostPort(bad), undefined, `'${bad}' is refused`);
});

t.test('config: default on, false off, a change applies in place', async (t) => {
  const base = 'router-id: 192.0.2.1\nlocal-as: 65000\n';
  const on = parseConfig(base, 'a.yaml');
  t.same(on.metrics, { listen: '127.0.0.1:9475', perTunnel: true }, 'on by default on 127.0.0.1:9475');
  const off = parseConfig(`${base}metrics: false\n`, 'b.yaml');
  t.equal(off.metrics, null, 'metrics: false turns it off');
  const moved = parseConfig(`${base}metrics: { listen: "[::1]:9100", per-tunnel: false }\n`, 'c.yaml');
  t.same(moved.metrics, { listen: '[::1]:9100', perTunnel: false });
  for (const [a, b] of [
    [on, off],
    [on, moved],
    [off, on],
  ] as const) {
    const d = diffConfig(a, b);
    t.same(d.keys, ['metrics'], 'the diff names metrics');
    t.same(d.restart, [], 'and needs no restart of gredged');
  }
});

t.test('a scrape: every figure under its name, promtool accepts it', async (t) => {
  const { src, tunnels } = sources();
  const m = new Metrics({ sources: src, log, version: '9.9.9' });
  const port = await freePort(HOST);
  await m.listen(`${HOST}:${port}`);
  t.teardown(() => m.close());

  const r = await http(port, '/metrics');
  t.equal(r.status, 200);
  t.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  const s = parseScrape(r.body);
  const v = (name: string, labels: Record<string, string> = {}) => seriesValue(s, name, labels);
  const cust = { neighbor: 'cust' };
  t.equal(v('gredge_build_info', { version: '9.9.9', nodejs: process.versions.node }), 1);
  t.equal(v('gredge_bgp_neighbor_state', { ...cust, state: 'Established' }), 1);
  t.equal(v('gredge_bgp_neighbor_state', { ...cust, state: 'Idle' }), 0);
  t.ok((v('gredge_bgp_neighbor_uptime_seconds', cust) ?? 0) >= 65, 'uptime in seconds');
  t.equal(v('gredge_bgp_neighbor_established_total', cust), 2);
  t.equal(
    v('gredge_bgp_prefixes_received', { ...cust, family: 'ipv4_unicast' }),
    5,
    'received = accepted + refused',
  );
  t.equal(v('gredge_bgp_prefixes_accepted', { ...cust, family: 'ipv4_unicast' }), 3);
  t.equal(v('gredge_bgp_prefixes_refused', { ...cust, family: 'ipv4_unicast' }), 2);
  t.equal(v('gredge_bgp_prefixes_advertised', { ...cust, family: 'ipv4_unicast' }), 9);
  t.equal(v('gredge_bgp_import_refusals_total', { ...cust, reason: 'not_own_prefix' }), 4);
  t.equal(v('gredge_bgp_import_refusals_total', { ...cust, reason: 'default_route' }), 1);
  t.equal(v('gredge_bgp_import_refusals_total', { ...cust, reason: 'as_loop' }), 0, 'every reason, zero too');
  t.equal(v('gredge_bgp_messages_received_total', { ...cust, type: 'update' }), 7);
  t.equal(v('gredge_bgp_messages_sent_total', { ...cust, type: 'notification' }), 1);
  t.equal(v('gredge_bgp_messages_received_total', { ...cust, type: 'route_refresh' }), 0);
  t.equal(v('gredge_bgp_notifications_sent_total', { ...cust, code: '6', subcode: '4' }), 1);
  t.equal(v('gredge_bgp_notifications_received_total', { ...cust, code: '6', subcode: '2' }), 2);
  // A name with a quote and a backslash comes out escaped and reads back as it was.
  const weird = { neighbor: 'we"ird\\name' };
  t.equal(v('gredge_bgp_neighbor_state', { ...weird, state: 'Active' }), 1);
  t.equal(v('gredge_bgp_neighbor_enabled', weird), 0);
  t.equal(v('gredge_bgp_prefixes_received', { ...weird, family: 'ipv6_unicast' }), 0, 'no RIB stats: zero');
  t.match(r.body, 'neighbor="we\\"ird\\\\name"', 'escaped in the text');

  t.equal(v('gredge_tunnel_up', { tunnel: 't1' }), 1);
  t.equal(v('gredge_tunnel_up', { tunnel: 't2' }), 0);
  t.equal(v('gredge_tunnel_up', { tunnel: 'gone' }), undefined, 'no keepalives: no up series');
  t.equal(v('gredge_tunnel_receive_packets_total', { tunnel: 't1' }), 20);
  t.equal(v('gredge_tunnel_transmit_bytes_total', { tunnel: 't1' }), 2100);
  t.equal(v('gredge_tunnel_dropped_packets_total', { tunnel: 't1', reason: 'spoofed_source' }), 5);
  t.equal(v('gredge_tunnel_lpm_routes', { tunnel: 't1', family: 'ipv4' }), 5, "the config's 2 + the FIB's 3");
  t.equal(v('gredge_tunnel_lpm_routes', { tunnel: 't1', family: 'ipv6' }), 1);
  t.equal(
    v('gredge_tunnel_lpm_routes', { tunnel: 't2', family: 'ipv4' }),
    undefined,
    'a family with no route: no series',
  );
  t.equal(
    v('gredge_tunnel_dropped_packets_total', { tunnel: 't1', reason: 'short' }),
    undefined,
    'per tunnel: counted reasons only',
  );
  t.equal(v('gredge_dataplane_dropped_packets_total', { reason: 'unknown_key' }), 2);
  t.equal(v('gredge_dataplane_dropped_packets_total', { reason: 'short' }), 0, 'totals: every reason');
  t.equal(v('gredge_dataplane_receive_packets_total'), 21);
  t.equal(v('gredge_dataplane_tunnels', { state: 'up' }), 1);
  t.equal(v('gredge_dataplane_tunnels', { state: 'down' }), 1);
  t.equal(v('gredge_dataplane_tunnels', { state: 'unknown' }), 1);
  t.equal(v('gredge_dataplane_lpm_routes', { family: 'ipv4' }), 4);
  t.equal(v('gredge_rib_prefixes', { table: 'full', family: 'ipv4_unicast' }), 10);
  t.equal(v('gredge_rib_paths', { family: 'ipv4_unicast' }), 12);
  t.equal(v('gredge_rib_prefixes', { table: 'resale', family: 'ipv4_unicast' }), 8);
  t.equal(v('gredge_rib_prefixes', { table: 'resale', family: 'ipv6_unicast' }), 1);
  t.equal(v('gredge_bgp_rpki_prefixes', { ...cust, state: 'valid' }), 2);
  t.equal(v('gredge_bgp_rpki_prefixes', { ...cust, state: 'invalid' }), 3);
  t.equal(v('gredge_bgp_rpki_prefixes', { ...cust, state: 'not_found' }), 1);
  t.equal(
    v('gredge_bgp_rpki_prefixes', { ...weird, state: 'valid' }),
    undefined,
    'no RPKI counts for a neighbor: no series',
  );
  t.equal(
    v('gredge_bgp_import_refusals_total', { ...cust, reason: 'rpki_invalid' }),
    2,
    'rpki_invalid refusals',
  );
  t.equal(v('gredge_rpki_cache_up'), 1);
  t.equal(v('gredge_rpki_connection_state', { state: 'established' }), 1);
  t.equal(v('gredge_rpki_connection_state', { state: 'down' }), 0);
  t.equal(v('gredge_rpki_data_state', { state: 'current' }), 1);
  t.equal(v('gredge_rpki_cache_info', { cache: '127.0.0.9 port 8282', version: '1' }), 1);
  t.equal(v('gredge_rpki_session_id'), 4711);
  t.equal(v('gredge_rpki_serial'), 42);
  t.equal(v('gredge_rpki_last_update_timestamp_seconds'), Date.parse('2026-01-02T03:04:06Z') / 1000);
  t.equal(v('gredge_rpki_vrps', { family: 'ipv4' }), 5);
  t.equal(v('gredge_rpki_vrps', { family: 'ipv6' }), 2);
  const trie = parseTriestat(readFileSync('/proc/net/fib_triestat', 'utf8'));
  t.equal(
    v('gredge_fib_kernel_routes', { table: 'full', family: 'ipv4' }),
    trie.get(254) ?? 0,
    'main, as the kernel counts it',
  );
  t.equal(v('gredge_fib_kernel_routes', { table: 'resale', family: 'ipv4' }), 0, 'a table not created: 0');
  t.equal(v('gredge_fib_write_errors_total', { errno: 'ENETUNREACH' }), 2);
  t.equal(v('gredge_fib_unresolved_routes'), 1);
  t.equal(v('gredge_fib_max_write_duration_seconds'), 0.012);
  t.equal(v('gredge_config_reloads_total', { result: 'ok' }), 2);
  t.equal(v('gredge_config_reloads_total', { result: 'failed' }), 1);
  t.equal(v('gredge_config_last_reload_timestamp_seconds'), Date.parse('2026-01-02T03:04:05Z') / 1000);
  t.ok((v('process_resident_memory_bytes') ?? 0) > 0, 'process metrics');
  t.ok(v('nodejs_eventloop_lag_p99_seconds') !== undefined, 'event-loop lag');
  m.observeFibWrite(0.003);
  const s2 = parseScrape((await http(port, '/metrics')).body);
  t.equal(
    seriesValue(s2, 'gredge_fib_write_duration_seconds_bucket', { le: '0.005' }),
    1,
    'histogram observed',
  );
  t.equal(seriesValue(s2, 'gredge_fib_write_duration_seconds_count'), 1);
  t.ok((seriesValue(s2, 'gredge_metrics_scrape_bytes') ?? 0) > 1000, 'the previous scrape measured');
  for (const [name, type] of s.types) {
    if (type === 'counter') t.match(name, /_total$/, `${name}: a counter ends in _total`);
    if (name.startsWith('gredge_') && type !== 'counter')
      t.notMatch(name, /_total$/, `${name}: only counters end in _total`);
  }

  const skip = skipUnless(t, promtoolMissing());
  t.test('promtool check metrics', { skip }, async (t) => {
    const p = promtool(r.body);
    t.equal(p.code, 0, `promtool: ${p.said}`);
  });

  t.test('config/grafana-dashboard.json: every expr names series this scrape has', async (t) => {
    const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
      panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
    };
    t.ok(dash.panels.length > 10, 'panels');
    let checked = 0;
    for (const panel of dash.panels) {
      for (const target of panel.targets) {
        const names = [...target.expr.matchAll(/\b((?:gredge|process|nodejs)_[a-z0-9_]+)/g)].map(
          (m) => m[1]!,
        );
        t.ok(names.length > 0, `${panel.title}: ${target.expr} names a metric`);
        for (const n of names) {
          const base = n.replace(/_(bucket|sum|count)$/, '');
          t.ok(s.types.has(n) || s.types.get(base) === 'histogram', `${panel.title}: ${n} is exposed`);
          checked++;
        }
      }
    }
    t.ok(checked > 40, `${checked} metric references checked`);
  });

  // A tunnel removed while a scrape runs is left out, not an error.
  tunnels.delete('gone');
  const s3 = parseScrape((await http(port, '/metrics')).body);
  t.equal(seriesValue(s3, 'gredge_tunnel_receive_packets_total', { tunnel: 'gone' }), undefined);
  // per-tunnel: false leaves every gredge_tunnel_* out, the totals stay.
  m.perTunnel = false;
  const off = await http(port, '/metrics');
  t.notMatch(off.body, /^gredge_tunnel_/m, 'no per-tunnel series');
  t.equal(seriesValue(parseScrape(off.body), 'gredge_dataplane_receive_packets_total'), 21);
});

t.test('bad requests: 404, 405, 400, and the server keeps serving', async (t) => {
  const { src } = sources();
  const m = new Metrics({ sources: src, log, version: 'x' });
  const port = await freePort(HOST);
  await m.listen(`${HOST}:${port}`);
  t.teardown(() => m.close());
  const nf = await http(port, '/');
  t.equal(nf.status, 404);
  t.match(nf.body, 'GET /metrics');
  t.equal((await http(port, '/metrics/extra')).status, 404);
  const post = await http(port, '/metrics', 'POST');
  t.equal(post.status, 405);
  t.equal(post.headers.allow, 'GET, HEAD');
  t.equal((await http(port, '/metrics', 'DELETE')).status, 405);
  const head = await http(port, '/metrics', 'HEAD');
  t.equal(head.status, 200);
  t.equal(head.body, '', 'HEAD: no body');
  t.equal((await http(port, '/metrics?x=1')).status, 200, 'a query string is ignored');
  t.match(await raw(port, 'this is not HTTP\r\n\r\n'), /^HTTP\/1\.1 400/, 'garbage: 400');
  t.match(
    await raw(port, `GET /metrics HTTP/1.1\r\nX: ${'a'.repeat(20_000)}\r\n\r\n`),
    /^HTTP\/1\.1 4\d\d/,
    'huge header: 4xx',
  );
  t.match(await raw(port, '\x00\x01\x02\xff\r\n\r\n'), /^HTTP\/1\.1 400/, 'binary: 400');
  // Concurrent scrapes share one build and all get the whole answer.
  const many = await Promise.all(Array.from({ length: 10 }, () => http(port, '/metrics')));
  t.ok(
    many.every((r) => r.status === 200),
    'ten at once: all 200',
  );
  t.ok(
    many.every((r) => /gredge_tunnel_receive_packets_total\{tunnel="t1"\} 20/.test(r.body)),
    'each one complete',
  );
  t.equal((await http(port, '/metrics')).status, 200, 'still serving');
});

t.test('listen moves in place; a taken address is refused and the old one stays', async (t) => {
  const { src } = sources();
  const m = new Metrics({ sources: src, log, version: 'x' });
  t.teardown(() => m.close());
  const p1 = await freePort(HOST);
  await m.listen(`${HOST}:${p1}`);
  t.equal((await http(p1, '/metrics')).status, 200);
  const p2 = await freePort(HOST);
  await m.listen(`${HOST}:${p2}`);
  t.equal(m.listening, `${HOST}:${p2}`);
  t.equal((await http(p2, '/metrics')).status, 200, 'the new address serves');
  await t.rejects(http(p1, '/metrics'), { code: 'ECONNREFUSED' }, 'the old one is closed');

  // Someone else holds p3: the move is refused with a clear error, p2 keeps serving.
  const other = new Metrics({ sources: src, log, version: 'x' });
  const p3 = await freePort(HOST);
  await other.listen(`${HOST}:${p3}`);
  t.teardown(() => other.close());
  await t.rejects(m.listen(`${HOST}:${p3}`), {
    code: 'ERR_METRICS_LISTEN',
    message: new RegExp(`cannot listen on ${HOST}:${p3}: the address is in use`),
  });
  t.equal(m.listening, `${HOST}:${p2}`);
  t.equal((await http(p2, '/metrics')).status, 200, 'the old address still serves');

  // The same port on an overlapping address (0.0.0.0 covers 127.0.0.1): moved all the same.
  await m.listen(`0.0.0.0:${p2}`);
  t.equal((await http(p2, '/metrics')).status, 200, '0.0.0.0 on the same port');
  await m.close();
  await t.rejects(http(p2, '/metrics'), { code: 'ECONNREFUSED' }, 'closed');
});

t.test('kernel table counts from /proc/net/fib_triestat; RPKI off: no RPKI series', async (t) => {
  const text = [
    'Basic info: size of leaf: 48 bytes, size of tnode: 40 bytes.',
    'Main:',
    '\tAver depth:     1.00',
    '\tPrefixes:       2',
    'Local:',
    '\tPrefixes:       5',
    'Id 1000:',
    '\tAver depth:     2.40',
    '\tLeaves:         700',
    '\tPrefixes:       1000001',
    'Id 1001:',
    '\tPrefixes:       3',
    '',
  ].join('\n');
  t.same(
    [...parseTriestat(text)],
    [
      [254, 2],
      [255, 5],
      [1000, 1_000_001],
      [1001, 3],
    ],
  );
  t.same([...parseTriestat('garbage\nPrefixes: 3\n')], [], 'nothing without a table heading');
  // rpkiSource reads the VRP counts by family from the validator's table.
  const src = rpkiSource({
    status: () => ({}) as ReturnType<MetricsRpki['status']>,
    policy: { validator: { table: { size: 9, size4: 6, size6: 3 } as { size: number } } },
  });
  t.same(src.vrps(), { v4: 6, v6: 3 });

  const { src: fake } = sources();
  const m = new Metrics({
    sources: { ...fake, rpki: () => undefined, kernelTables: () => undefined },
    log,
    version: 'x',
  });
  const body = (await m.scrape()).map((b) => b.toString('utf8')).join('');
  t.notMatch(body, /^gredge_rpki_/m, 'no gredge_rpki_* series');
  t.notMatch(body, /^gredge_bgp_rpki_prefixes/m, 'no per-neighbor RPKI counts');
  t.notMatch(body, /^gredge_fib_kernel_routes/m, 'no kernel table counts without a kernel FIB');
});
