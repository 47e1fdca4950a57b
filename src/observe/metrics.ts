/**
 * The Prometheus exporter: `GET /metrics` on the `metrics.listen` address (node:http), in the
 * text exposition format. Everything is read at scrape time from the modules' own counters
 * (MetricsSources); nothing is counted per packet or per prefix here.
 *
 *  - daemon-wide series through prom-client (metrics-registry.ts);
 *  - per-neighbor and per-tunnel series written a slice at a time (metrics-families.ts,
 *    metrics-text.ts): with 10,000 tunnels a scrape reads counters and builds text in slices of
 *    ~2 ms, yielding to the event loop in between, so BGP keepalives and the FIB never wait
 *    behind a scrape. `metrics.per-tunnel: false` leaves the per-tunnel series out (totals
 *    stay), for a Prometheus that should not store 5+ series per tunnel;
 *  - scrapes that arrive while one is being built share it (a burst of scrapers costs one);
 *  - anything else than GET or HEAD is 405, any other path 404, a malformed request 400.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseHostPort } from '../config/limits.js';
import type { ReloadStatus, RpkiStatusResult } from '../control/target.js';
import type { GlobalCounters, TunnelCounters } from '../dataplane/counters.js';
import { GredgeError } from '../errors.js';
import type { FibStats } from '../fib/fib.js';
import type { RibStats, RovCounts } from '../rib/rib.js';
import {
  type MetricsPeer,
  NEIGHBOR_FAMILIES,
  type NeighborRow,
  neighborLabel,
  RPKI_FAMILIES,
  type RpkiRow,
  TunnelTable,
  tunnelFamilies,
  tunnelLabel,
} from './metrics-families.js';
import { kernelRoutes4 } from './metrics-kernel.js';
import { MetricsRegistry, type ScrapeContext } from './metrics-registry.js';
import { nextTurn, sliced, writeFamilies } from './metrics-text.js';
import type { Logger } from './log.js';

export type { MetricsPeer } from './metrics-families.js';

/** What the collector reads of the data plane (src/dataplane Dataplane has all of it). */
export interface MetricsDataplane {
  tunnelNames(): string[];
  tunnelCounters(name: string): TunnelCounters;
  globalCounters(): GlobalCounters;
  routeCount(): { v4: number; v6: number };
  /** LPM routes a tunnel's config put into it (Dataplane.configRouteCount). */
  configRouteCount?(name: string): { v4: number; v6: number };
}

/** What the collector reads of RPKI origin validation (src/daemon/rpki.ts Rpki and its table). */
export interface MetricsRpki {
  status(): RpkiStatusResult;
  /** VRPs in the committed table, by family. */
  vrps(): { v4: number; v6: number };
}

/**
 * MetricsRpki of the daemon's Rpki: its status, and the VRP counts by family from the table its
 * validator reads (src/rpki VrpTable keeps both; a table without them counts all as IPv4).
 */
export function rpkiSource(r: {
  status(): RpkiStatusResult;
  readonly policy: { readonly validator: { readonly table: { readonly size: number } } };
}): MetricsRpki {
  return {
    status: () => r.status(),
    vrps: () => {
      const t = r.policy.validator.table as { size: number; size4?: number; size6?: number };
      return { v4: t.size4 ?? t.size, v6: t.size6 ?? 0 };
    },
  };
}

/** Where the values come from; each is read at scrape time (a reload may replace modules). */
export interface MetricsSources {
  peers: ReadonlyMap<string, MetricsPeer>;
  rib: { stats(): RibStats; rovTally?(): ReadonlyMap<string, RovCounts> };
  dataplane: () => MetricsDataplane | undefined;
  fib: () => { stats(): FibStats; tunnelRoutesOf?(name: string): { v4: number; v6: number } } | undefined;
  /** Tunnel up/down as the data plane's keepalives last said (undefined: never said). */
  tunnelState: (name: string) => boolean | undefined;
  reloads: () => ReloadStatus;
  /** RPKI, while `rpki` is configured (then the RIB's per-neighbor RPKI counts are read too). */
  rpki?: () => MetricsRpki | undefined;
  /** The kernel tables the FIB writes (name → table id), while it writes any. */
  kernelTables?: () => Readonly<Record<string, number>> | undefined;
}

export interface MetricsOptions {
  sources: MetricsSources;
  log: Logger;
  version: string;
  perTunnel?: boolean;
}

/** Prometheus text format 0.0.4. */
export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
/** Bytes written to a scraper between two turns of the event loop. */
const WRITE_SLICE = 256 * 1024;

/** One label text per name, built once; names gone since (reloads) are dropped now and then. */
class LabelCache {
  readonly #make: (name: string) => string;
  readonly #byName = new Map<string, string>();

  constructor(make: (name: string) => string) {
    this.#make = make;
  }

  get(name: string): string {
    let l = this.#byName.get(name);
    if (l === undefined) this.#byName.set(name, (l = this.#make(name)));
    return l;
  }

  /** Forgets every label when far more are held than the `live` names now need. */
  prune(live: number): void {
    if (this.#byName.size > 2 * live + 1024) this.#byName.clear();
  }
}

/** [0, 1, …, n - 1]: the rows of a TunnelTable as writeFamilies' entities (one packed array). */
function rowIndices(n: number): number[] {
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
}

export class Metrics {
  readonly #sources: MetricsSources;
  readonly #log: Logger;
  readonly #registry: MetricsRegistry;
  #perTunnel: boolean;
  /** `neighbor="NAME"` and `tunnel="NAME"`, kept across scrapes (names change only on reloads). */
  readonly #neighborLabels = new LabelCache(neighborLabel);
  readonly #tunnelLabels = new LabelCache(tunnelLabel);
  #ctx: ScrapeContext | undefined;
  #building: Promise<Buffer[]> | undefined;
  #server: Server | undefined;
  #listen: string | undefined;
  readonly #logged = new Set<string>();

  constructor(o: MetricsOptions) {
    this.#sources = o.sources;
    this.#log = o.log;
    this.#perTunnel = o.perTunnel ?? true;
    this.#registry = new MetricsRegistry({ version: o.version, context: () => this.#ctx });
  }

  /** The address served now (`127.0.0.1:9475`, `[::1]:9475`), or undefined. */
  get listening(): string | undefined {
    return this.#listen;
  }

  /** The port actually bound (useful when tests bind port 0 through `listenOn`). */
  get port(): number | undefined {
    const a = this.#server?.address();
    return a !== null && typeof a === 'object' ? (a as AddressInfo).port : undefined;
  }

  set perTunnel(on: boolean) {
    this.#perTunnel = on;
  }

  /** One kernel write batch took `seconds` (the FIB's writer is wrapped: metrics-fib.ts). */
  observeFibWrite(seconds: number): void {
    this.#registry.observeFibWrite(seconds);
  }

  /**
   * Serves `listen` (`ADDR:PORT` or `[ADDR6]:PORT`). Called again with another address it moves:
   * the new address is bound before the old one is closed (and, when both cannot be bound at
   * once — the same port on an overlapping address — right after); when the new one cannot be
   * bound the old one keeps serving and the error is thrown (a reload is refused).
   */
  async listen(listen: string): Promise<void> {
    if (this.#server && this.#listen === listen) return;
    const at = parseHostPort(listen);
    if (!at) throw new GredgeError('ERR_METRICS_LISTEN', `metrics: '${listen}' is not ADDRESS:PORT`);
    const old = this.#server;
    let server: Server;
    try {
      server = await this.#bind(at.address, at.port);
    } catch (err) {
      if (!old || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw listenError(listen, err);
      // Same port, overlapping address (0.0.0.0 ↔ 127.0.0.1): close the old one, bind again.
      await closeServer(old);
      this.#server = undefined;
      try {
        server = await this.#bind(at.address, at.port);
      } catch (err2) {
        const back = parseHostPort(this.#listen!)!;
        try {
          this.#server = await this.#bind(back.address, back.port);
        } catch {
          this.#listen = undefined;
        }
        throw listenError(listen, err2);
      }
      this.#server = server;
      this.#listen = listen;
      this.#log.info({ listen }, 'metrics: serving GET /metrics');
      return;
    }
    this.#server = server;
    const was = this.#listen;
    this.#listen = listen;
    if (old) await closeServer(old);
    this.#log.info({ listen, ...(was ? { was } : {}) }, 'metrics: serving GET /metrics');
  }

  /** Stops serving (open connections are closed). */
  async close(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    this.#listen = undefined;
    if (s) await closeServer(s);
  }

  /**
   * The whole exposition, as chunks of text. Concurrent callers share one build; each build
   * reads the modules afresh.
   */
  scrape(): Promise<Buffer[]> {
    if (!this.#building) {
      this.#building = this.#build().finally(() => {
        this.#building = undefined;
      });
    }
    return this.#building;
  }

  async #build(): Promise<Buffer[]> {
    const t0 = performance.now();
    const src = this.#sources;
    const now = Date.now();
    const rib = src.rib.stats();
    const byName = new Map(rib.neighbors.map((n) => [n.name, n]));
    const rpki = safe(() => src.rpki?.());
    const rov = rpki ? safe(() => src.rib.rovTally?.()) : undefined;
    const peers = [...src.peers.values()];
    this.#neighborLabels.prune(peers.length);
    const neighbors: NeighborRow[] = [];
    await sliced(peers.length, (i) => {
      const p = peers[i]!;
      const name = p.neighbor.name;
      neighbors.push({
        l: this.#neighborLabels.get(name),
        peer: p,
        stats: byName.get(name),
        rov: rov?.get(name),
        now,
      });
    });

    const ctx: ScrapeContext = { rib, reloads: src.reloads() };
    const rpkiRows: RpkiRow[] = [];
    if (rpki) {
      const status = safe(() => rpki.status());
      const vrps = safe(() => rpki.vrps());
      if (status && vrps) rpkiRows.push({ status, vrps });
    }
    const tables = src.kernelTables?.();
    if (tables) ctx.kernel = await kernelRoutes4(tables);
    const fib = src.fib();
    if (fib) ctx.fib = fib.stats();
    let tunnels: TunnelTable | undefined;
    const dp = src.dataplane();
    if (dp) {
      const names = safe(() => dp.tunnelNames()) ?? [];
      const states = { up: 0, down: 0, unknown: 0 };
      const perTunnel = this.#perTunnel;
      const table = perTunnel ? new TunnelTable(names.length) : undefined;
      const labels = this.#tunnelLabels;
      labels.prune(names.length);
      await sliced(names.length, (i) => {
        const name = names[i]!;
        const up = src.tunnelState(name);
        if (up === undefined) states.unknown++;
        else if (up) states.up++;
        else states.down++;
        if (!table) return;
        // A tunnel removed by a reload while the scrape runs is left out.
        const c = safe(() => dp.tunnelCounters(name));
        if (!c) return;
        // The tunnel's own LPM: what its config put there and what the FIB did.
        const own = safe(() => dp.configRouteCount?.(name));
        const byFib = fib?.tunnelRoutesOf?.(name);
        const lpm = own ? { v4: own.v4 + (byFib?.v4 ?? 0), v6: own.v6 + (byFib?.v6 ?? 0) } : undefined;
        table.push(labels.get(name), c, up, lpm);
      });
      tunnels = table;
      const global = safe(() => dp.globalCounters());
      const lpm = safe(() => dp.routeCount());
      if (global && lpm) ctx.dataplane = { global, lpm, tunnels: states };
    }

    this.#ctx = ctx;
    let head: string;
    try {
      head = await this.#registry.registry.metrics();
    } finally {
      this.#ctx = undefined;
    }
    const out = [Buffer.from(head, 'utf8')];
    await writeFamilies(RPKI_FAMILIES, rpkiRows, out);
    await writeFamilies(NEIGHBOR_FAMILIES, neighbors, out);
    if (tunnels && tunnels.length > 0)
      await writeFamilies(tunnelFamilies(tunnels), rowIndices(tunnels.length), out);
    let bytes = 0;
    for (const b of out) bytes += b.length;
    this.#registry.scraped((performance.now() - t0) / 1000, bytes);
    return out;
  }

  #bind(address: string, port: number): Promise<Server> {
    const server = createServer((req, res) => this.#request(req, res));
    server.headersTimeout = 10_000;
    server.requestTimeout = 30_000;
    server.keepAliveTimeout = 5_000;
    server.maxConnections = 64;
    server.on('clientError', (err, socket) => {
      // Not HTTP, or headers too large: answer 400 if the socket can still take it.
      if (socket.writable && !(err as NodeJS.ErrnoException).code?.startsWith('ECONN'))
        socket.end(
          'HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nbad request\n',
        );
      else socket.destroy();
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: address, port, exclusive: true }, () => {
        server.off('error', reject);
        server.on('error', (err) =>
          this.#once('server', () => this.#log.error({ err }, 'metrics: server error')),
        );
        resolve(server);
      });
    });
  }

  #request(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const path = url.split('?')[0]!;
    if (path !== '/metrics') {
      plain(res, 404, `not found: gredged serves only GET /metrics\n`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      plain(res, 405, `method ${String(req.method).slice(0, 32)} not allowed: use GET /metrics\n`);
      return;
    }
    this.scrape().then(
      (chunks) => this.#send(req, res, chunks),
      (err) => {
        this.#once('scrape', () => this.#log.error({ err }, 'metrics: scrape failed'));
        if (!res.headersSent) plain(res, 500, `scrape failed: ${(err as Error).message}\n`);
        else res.destroy();
      },
    );
  }

  async #send(req: IncomingMessage, res: ServerResponse, chunks: Buffer[]): Promise<void> {
    let length = 0;
    for (const c of chunks) length += c.length;
    res.writeHead(200, {
      'Content-Type': CONTENT_TYPE,
      'Content-Length': length,
      'Cache-Control': 'no-store',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    let gone = false;
    res.once('close', () => {
      gone = true;
    });
    let since = 0;
    for (const c of chunks) {
      if (gone) return;
      const more = res.write(c);
      since += c.length;
      if (!more) {
        await new Promise<void>((resolve) => {
          const done = () => {
            res.off('drain', done);
            res.off('close', done);
            resolve();
          };
          res.on('drain', done);
          res.on('close', done);
        });
        since = 0;
      } else if (since >= WRITE_SLICE) {
        await nextTurn();
        since = 0;
      }
    }
    if (!gone) res.end();
  }

  #once(kind: string, f: () => void): void {
    if (this.#logged.has(kind)) return;
    this.#logged.add(kind);
    f();
  }
}

function plain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

function safe<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

function listenError(listen: string, err: unknown): GredgeError {
  const code = (err as NodeJS.ErrnoException).code;
  const why =
    code === 'EADDRINUSE'
      ? 'the address is in use (another gredged? set metrics.listen to a free port, or metrics: false)'
      : code === 'EADDRNOTAVAIL'
        ? 'no interface has this address'
        : code === 'EACCES'
          ? 'permission denied'
          : (err as Error).message;
  return new GredgeError('ERR_METRICS_LISTEN', `metrics: cannot listen on ${listen}: ${why}`, { cause: err });
}

function closeServer(s: Server): Promise<void> {
  return new Promise((resolve) => {
    s.close(() => resolve());
    s.closeAllConnections();
  });
}
