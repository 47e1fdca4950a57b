/**
 * The daemon-wide series, through prom-client: process and Node.js metrics
 * (collectDefaultMetrics, event-loop lag from perf_hooks.monitorEventLoopDelay included), the
 * RIB's table sizes, the data plane's totals, the FIB's counters and write latency, reloads.
 * Every value is read in a collect() callback from the scrape's snapshot (ScrapeContext), taken
 * once per scrape from the modules' own counters; only the FIB write histogram is observed as
 * writes complete (one observation per kernel write batch, not per route).
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { ReloadStatus } from '../control/target.js';
import type { GlobalCounters } from '../dataplane/counters.js';
import { DROP_REASONS } from '../dataplane/counters.js';
import type { FibStats } from '../fib/fib.js';
import type { RibStats } from '../rib/rib.js';
import { DROP_LABELS } from './metrics-families.js';

/** What one scrape read from the modules (absent: the module is not running). */
export interface ScrapeContext {
  rib: RibStats;
  dataplane?: {
    global: GlobalCounters;
    lpm: { v4: number; v6: number };
    tunnels: { up: number; down: number; unknown: number };
  };
  fib?: FibStats;
  /** IPv4 routes in the kernel tables the FIB writes, by table name (metrics-kernel.ts). */
  kernel?: Record<string, number> | undefined;
  reloads: ReloadStatus;
}

/** Kernel write latency buckets (s): a few records take ~0.1 ms, a 16k-record batch tens of ms. */
const FIB_WRITE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

type Labels = Record<string, string | number>;
type Fill = (ctx: ScrapeContext, set: (labels: Labels, value: number) => void) => void;

export class MetricsRegistry {
  readonly registry = new Registry();
  readonly #ctx: () => ScrapeContext | undefined;
  readonly #fibWrites: Histogram;
  readonly #scrape: Gauge;
  readonly #scrapeBytes: Gauge;

  constructor(opts: { version: string; context: () => ScrapeContext | undefined }) {
    this.#ctx = opts.context;
    const reg = this.registry;
    // 10 ms, prom-client's default, hides the few-ms stalls we care about: 1 ms.
    collectDefaultMetrics({ register: reg, eventLoopMonitoringPrecision: 1 });
    // Gauges named *_total fail `promtool check metrics` (the suffix is for counters); the same
    // figures stay available summed over nodejs_active_handles / _requests / _resources.
    for (const n of [
      'nodejs_active_handles_total',
      'nodejs_active_requests_total',
      'nodejs_active_resources_total',
    ])
      reg.removeSingleMetric(n);
    new Gauge({
      name: 'gredge_build_info',
      help: 'Always 1: the running gredged version and Node.js version as labels.',
      labelNames: ['version', 'nodejs'],
      registers: [reg],
    }).set({ version: opts.version, nodejs: process.versions.node }, 1);
    this.#scrape = new Gauge({
      name: 'gredge_metrics_scrape_duration_seconds',
      help: 'How long the previous scrape of /metrics took to build (0 before the first).',
      registers: [reg],
    });
    this.#scrapeBytes = new Gauge({
      name: 'gredge_metrics_scrape_bytes',
      help: 'Size of the previous scrape of /metrics (0 before the first).',
      registers: [reg],
    });

    // ---- RIB
    this.#gauge(
      'gredge_rib_prefixes',
      "Prefixes with a best path, by table: full (the Loc-RIB) and resale (without no-resale peers' routes).",
      ['table', 'family'],
      (c, set) => {
        set({ table: 'full', family: 'ipv4_unicast' }, c.rib.locRib['ipv4-unicast']);
        set({ table: 'full', family: 'ipv6_unicast' }, c.rib.locRib['ipv6-unicast']);
        set({ table: 'resale', family: 'ipv4_unicast' }, c.rib.resale['ipv4-unicast']);
        set({ table: 'resale', family: 'ipv6_unicast' }, c.rib.resale['ipv6-unicast']);
      },
    );
    this.#gauge(
      'gredge_rib_paths',
      'Paths held in the Adj-RIBs-In, every neighbor, accepted ones.',
      ['family'],
      (c, set) => {
        set({ family: 'ipv4_unicast' }, c.rib.paths['ipv4-unicast']);
        set({ family: 'ipv6_unicast' }, c.rib.paths['ipv6-unicast']);
      },
    );
    this.#gauge(
      'gredge_rib_attribute_sets',
      'Distinct path attribute sets interned by the RIB.',
      [],
      (c, set) => set({}, c.rib.attributeSets),
    );

    // ---- data plane (totals; the per-tunnel series are metrics-families.ts's)
    const g =
      (k: keyof Omit<GlobalCounters, 'drops'>) => (c: ScrapeContext, set: (l: Labels, v: number) => void) => {
        if (c.dataplane) set({}, c.dataplane.global[k]);
      };
    this.#counter(
      'gredge_dataplane_receive_packets_total',
      'GRE packets received on the underlay, every tunnel.',
      [],
      g('rxPackets'),
    );
    this.#counter(
      'gredge_dataplane_receive_bytes_total',
      'GRE bytes received on the underlay, every tunnel.',
      [],
      g('rxBytes'),
    );
    this.#counter(
      'gredge_dataplane_transmit_packets_total',
      'GRE packets sent on the underlay, every tunnel.',
      [],
      g('txPackets'),
    );
    this.#counter(
      'gredge_dataplane_transmit_bytes_total',
      'GRE bytes sent on the underlay, every tunnel.',
      [],
      g('txBytes'),
    );
    this.#counter(
      'gredge_dataplane_mss_clamped_total',
      'TCP SYNs whose MSS was clamped to the tunnel MTU.',
      [],
      g('mssClamped'),
    );
    this.#counter(
      'gredge_dataplane_icmp_too_big_sent_total',
      'ICMP packet-too-big / fragmentation-needed sent for packets above a tunnel MTU.',
      [],
      g('ptbSent'),
    );
    this.#counter(
      'gredge_dataplane_keepalives_received_total',
      'GRE keepalive replies received.',
      [],
      g('keepaliveRx'),
    );
    this.#counter(
      'gredge_dataplane_keepalives_sent_total',
      'GRE keepalive requests sent.',
      [],
      g('keepaliveTx'),
    );
    this.#counter(
      'gredge_dataplane_dropped_packets_total',
      'Packets the data plane dropped, by reason (every reason, every tunnel, and packets that matched no tunnel).',
      ['reason'],
      (c, set) => {
        if (c.dataplane)
          for (const r of DROP_REASONS) set({ reason: DROP_LABELS[r]! }, c.dataplane.global.drops[r]);
      },
    );
    this.#gauge(
      'gredge_dataplane_tunnels',
      'Tunnels by GRE keepalive state (unknown: no keepalives configured).',
      ['state'],
      (c, set) => {
        if (!c.dataplane) return;
        for (const s of ['up', 'down', 'unknown'] as const) set({ state: s }, c.dataplane.tunnels[s]);
      },
    );
    this.#gauge(
      'gredge_dataplane_lpm_routes',
      "Routes in the tunnels' LPM tables, all tunnels.",
      ['family'],
      (c, set) => {
        if (!c.dataplane) return;
        set({ family: 'ipv4' }, c.dataplane.lpm.v4);
        set({ family: 'ipv6' }, c.dataplane.lpm.v6);
      },
    );

    // ---- FIB
    const f =
      (
        k:
          | 'batches'
          | 'routeWrites'
          | 'staleRemoved'
          | 'unresolved'
          | 'noNextHop'
          | 'tunnelRoutes'
          | 'queued'
          | 'deletesHeld'
          | 'pending',
      ) =>
      (c: ScrapeContext, set: (l: Labels, v: number) => void) => {
        if (c.fib) set({}, c.fib[k]);
      };
    this.#counter('gredge_fib_batches_total', 'RIB batches the FIB applied.', [], f('batches'));
    this.#counter(
      'gredge_fib_route_writes_total',
      'Route records written to the kernel.',
      [],
      f('routeWrites'),
    );
    this.#counter(
      'gredge_fib_stale_removed_total',
      'Routes and rules of an earlier instance removed at start.',
      [],
      f('staleRemoved'),
    );
    this.#counter(
      'gredge_fib_write_errors_total',
      'Kernel refusals of route writes, by errno.',
      ['errno'],
      (c, set) => {
        if (c.fib) for (const [errno, n] of Object.entries(c.fib.failed)) set({ errno }, n);
      },
    );
    this.#gauge(
      'gredge_fib_unresolved_routes',
      'Prefixes waiting for their next hop to become reachable (retried).',
      [],
      f('unresolved'),
    );
    this.#gauge(
      'gredge_fib_no_next_hop_routes',
      'Best paths with no usable next hop (nothing programmed).',
      [],
      f('noNextHop'),
    );
    this.#gauge(
      'gredge_fib_tunnel_routes',
      "Prefixes the FIB holds in tunnels' LPM tables.",
      [],
      f('tunnelRoutes'),
    );
    this.#gauge(
      'gredge_fib_queued_changes',
      "Best-path changes waiting for the FIB's turn.",
      [],
      f('queued'),
    );
    this.#gauge(
      'gredge_fib_deletes_held',
      "Route deletions held back to go out in the kernel's fast order.",
      [],
      f('deletesHeld'),
    );
    this.#gauge(
      'gredge_fib_writes_in_flight',
      'Kernel write batches handed to the writer and not yet acknowledged.',
      [],
      f('pending'),
    );
    this.#gauge(
      'gredge_fib_last_write_duration_seconds',
      'Duration of the last kernel write batch.',
      [],
      (c, set) => {
        if (c.fib) set({}, c.fib.lastWriteMs / 1000);
      },
    );
    this.#gauge(
      'gredge_fib_max_write_duration_seconds',
      'Duration of the slowest kernel write batch since start.',
      [],
      (c, set) => {
        if (c.fib) set({}, c.fib.maxWriteMs / 1000);
      },
    );
    this.#gauge(
      'gredge_fib_kernel_routes',
      'IPv4 routes in the kernel tables gredge writes (fib.full-table, fib.resale-table), as the kernel counts them.',
      ['table', 'family'],
      (c, set) => {
        if (c.kernel) for (const [table, n] of Object.entries(c.kernel)) set({ table, family: 'ipv4' }, n);
      },
    );
    this.#fibWrites = new Histogram({
      name: 'gredge_fib_write_duration_seconds',
      help: 'Kernel write batches (rtnetlink, many routes per batch), from hand-over to acknowledgement.',
      buckets: FIB_WRITE_BUCKETS,
      registers: [reg],
    });

    // ---- reloads
    this.#counter(
      'gredge_config_reloads_total',
      'Config reloads (SIGHUP, gredgectl reload) by result: ok (applied or no change) or failed (refused or failed to apply).',
      ['result'],
      (c, set) => {
        set({ result: 'ok' }, c.reloads.ok);
        set({ result: 'failed' }, c.reloads.failed);
      },
    );
    this.#counter(
      'gredge_config_rollbacks_total',
      'Reloads rolled back for want of a confirmation (reload --confirm-within).',
      [],
      (c, set) => set({}, c.reloads.rollbacks),
    );
    this.#gauge(
      'gredge_config_rollback_pending',
      '1 while a reload waits for gredgectl reload --confirm.',
      [],
      (c, set) => set({}, c.reloads.rollbackPendingUntil === null ? 0 : 1),
    );
    this.#gauge(
      'gredge_config_last_reload_timestamp_seconds',
      'When the last reload ended (Unix time; 0 before the first).',
      [],
      (c, set) => set({}, c.reloads.lastAt === null ? 0 : Date.parse(c.reloads.lastAt) / 1000),
    );
  }

  /** One kernel write batch took `seconds` (metrics-fib.ts timedWriter). */
  observeFibWrite(seconds: number): void {
    this.#fibWrites.observe(seconds);
  }

  /** The previous scrape's figures, shown by the next one. */
  scraped(seconds: number, bytes: number): void {
    this.#scrape.set(seconds);
    this.#scrapeBytes.set(bytes);
  }

  #gauge(name: string, help: string, labelNames: string[], fill: Fill): void {
    const ctx = this.#ctx;
    new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        const c = ctx();
        if (c) fill(c, (l, v) => this.set(l, v));
      },
    });
  }

  /** A counter kept by a module (read, not incremented here): reset, then set to its value. */
  #counter(name: string, help: string, labelNames: string[], fill: Fill): void {
    const ctx = this.#ctx;
    new Counter({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        const c = ctx();
        if (c) fill(c, (l, v) => this.inc(l, v));
      },
    });
  }
}
