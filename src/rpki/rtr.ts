/**
 * The RPKI-to-Router client (RFC 8210, falling back to RFC 6810): keeps the VRP table in step
 * with one cache at a time, chosen by preference among `servers` (§10: the most preferred
 * reachable cache; lower preference values first), with failover to the next and a periodic
 * probe back to better ones. It owns the timers of §6: refresh (the session's Serial Query),
 * retry (after a failure) and expire (data older than this is dropped: validation then says
 * NotFound, never a stale Valid or Invalid).
 *
 * A response is committed only at its End of Data, after the session checked every PDU of it:
 * an incremental one is applied to the table, a full one (Reset Query) replaces it in O(1) after
 * a diff. A session that fails mid-response commits nothing: the last good table stays until it
 * expires. Each commit emits 'update' (a delta summary and the changed prefixes, for
 * re-validation); every change of connection, cache, data or serial emits 'state'. Logs: one
 * line per change of connection state, cache or data state, never per PDU or per VRP.
 */
import { EventEmitter } from 'node:events';
import { createConnection } from 'node:net';
import type { Prefix4, Prefix6 } from '../bgp/wire/types.js';
import { type Logger, silentLogger } from '../observe/log.js';
import { AffectedSet } from './affected.js';
import { DEFAULT_MAX_PDU_LENGTH } from './pdu.js';
import { RtrSession, type SessionEnd, type SyncResult } from './session.js';
import type { RovState, Vrp, VrpDeltaSummary } from './types.js';
import { type VrpReader, VrpTable } from './vrp-table.js';

export interface RtrServer {
  address: string;
  port: number;
  /** Lower is preferred (RFC 8210 §10). */
  preference: number;
}

export interface RtrClientOptions {
  servers: RtrServer[];
  /**
   * Seconds; each overrides what the cache sends in End of Data (version 0 sends nothing: then
   * these or RFC 8210 §6's defaults, 3600 / 600 / 7200, apply).
   */
  refresh?: number | undefined;
  retry?: number | undefined;
  expire?: number | undefined;
  /** Highest version to try (default 1). */
  version?: 0 | 1;
  /** A cache announcing more is refused with an Error Report (default 4,000,000). */
  maxVrps?: number;
  maxPduLength?: number;
  /** Seconds (default 10). */
  connectTimeout?: number;
  /** Seconds from a query to its End of Data (default 300). */
  syncTimeout?: number;
  logger?: Logger;
}

export type ConnectionState = 'idle' | 'connecting' | 'syncing' | 'established' | 'down' | 'stopped';
/** none: never synced; current: from the session in use or within expire; expired: dropped. */
export type DataState = 'none' | 'current' | 'expired';

export interface RtrState {
  connection: ConnectionState;
  data: DataState;
  /** The cache in use (or being connected to). */
  cache: RtrServer | undefined;
  version: 0 | 1 | undefined;
  sessionId: number | undefined;
  serial: number | undefined;
  /** Time of the last commit (ms since the epoch). */
  lastUpdate: number | undefined;
  vrps: number;
  /** When the data expires unless refreshed (ms since the epoch). */
  expiresAt: number | undefined;
  /** Effective timers in seconds. */
  refresh: number;
  retry: number;
  expire: number;
  /** The last session end, for operators ("connection refused", "duplicate announcement: …"). */
  lastError: string | undefined;
}

export interface RtrUpdate extends VrpDeltaSummary {
  sessionId: number | undefined;
  serial: number | undefined;
  /** Route prefixes covered by a changed VRP are the only ones whose state may have changed. */
  affected: AffectedSet;
}

export interface RtrClientEvents {
  update: [RtrUpdate];
  state: [RtrState];
}

const DEFAULTS = { refresh: 3600, retry: 600, expire: 7200 };
// RFC 8210 §6 upper bounds; below 1 s a timer makes no sense whatever a cache says.
const MAX = { refresh: 86400, retry: 7200, expire: 172800 };

/** A cache's value: at least 1 s, at most RFC 8210's bound; 0 or garbage means "not given". */
function clampTimer(v: number | undefined, max: number): number | undefined {
  if (v === undefined || !Number.isFinite(v) || v <= 0) return undefined;
  return Math.min(Math.max(v, 1), max);
}

/** An option's value: the config's schema bounds it; fractions are for tests. */
function optionTimer(v: number | undefined, max: number): number | undefined {
  if (v === undefined || !Number.isFinite(v) || v <= 0) return undefined;
  return Math.min(Math.max(v, 0.01), max);
}

export class RtrClient extends EventEmitter<RtrClientEvents> {
  readonly #opts: RtrClientOptions;
  readonly #servers: RtrServer[];
  readonly #log: Logger;
  #table = new VrpTable();
  #session: RtrSession | undefined;
  #index = 0;
  #failures = 0;
  /** Per server index: the version it was found to speak. */
  #versions = new Map<number, 0 | 1>();
  /** Where the committed data came from: resumed with a Serial Query on reconnect. */
  #resume: { index: number; sessionId: number; serial: number; version: 0 | 1 } | undefined;
  #cacheTimers: { refresh?: number; retry?: number; expire?: number } = {};
  #connection: ConnectionState = 'idle';
  #data: DataState = 'none';
  #lastUpdate: number | undefined;
  #expiresAt: number | undefined;
  #lastError: string | undefined;
  #expireTimer: NodeJS.Timeout | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #probeTimer: NodeJS.Timeout | undefined;
  #probing = false;
  #logged = '';

  constructor(opts: RtrClientOptions) {
    super();
    if (opts.servers.length === 0) throw new RangeError('rpki: no servers');
    this.#opts = opts;
    // Stable sort: equal preferences keep their configured order.
    this.#servers = [...opts.servers].sort((a, b) => a.preference - b.preference);
    this.#log = (opts.logger ?? silentLogger()).child({ module: 'rpki' });
  }

  /** The committed VRPs, read only. */
  get table(): VrpReader {
    return this.#table;
  }

  validate(prefix: Prefix4 | Prefix6, originAs: number): RovState {
    return this.#table.validate(prefix, originAs);
  }

  covering(prefix: Prefix4 | Prefix6): Vrp[] {
    return this.#table.covering(prefix);
  }

  /** Effective timers in seconds: the option, else what the cache sent, else RFC 8210 §6. */
  timers(): { refresh: number; retry: number; expire: number } {
    const o = this.#opts;
    const c = this.#cacheTimers;
    return {
      refresh: optionTimer(o.refresh, MAX.refresh) ?? c.refresh ?? DEFAULTS.refresh,
      retry: optionTimer(o.retry, MAX.retry) ?? c.retry ?? DEFAULTS.retry,
      expire: optionTimer(o.expire, MAX.expire) ?? c.expire ?? DEFAULTS.expire,
    };
  }

  state(): RtrState {
    const t = this.timers();
    const cache =
      this.#connection === 'idle' || this.#connection === 'stopped' ? undefined : this.#servers[this.#index];
    return {
      connection: this.#connection,
      data: this.#data,
      cache: cache ? { ...cache } : undefined,
      version: this.#session?.version ?? this.#resume?.version,
      sessionId: this.#resume?.sessionId,
      serial: this.#resume?.serial,
      lastUpdate: this.#lastUpdate,
      vrps: this.#table.size,
      expiresAt: this.#expiresAt,
      ...t,
      lastError: this.#lastError,
    };
  }

  start(): void {
    if (this.#connection !== 'idle') return;
    this.#connect(0);
  }

  /** Closes the session and every timer; the table is kept (and no longer expires). */
  stop(): void {
    this.#connection = 'stopped';
    clearTimeout(this.#expireTimer);
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#probeTimer);
    const s = this.#session;
    this.#session = undefined;
    s?.close('stopping');
    this.#changed();
  }

  // --- sessions ---

  #connect(index: number): void {
    clearTimeout(this.#retryTimer);
    this.#index = index;
    const server = this.#servers[index]!;
    const r = this.#resume;
    const resume = r !== undefined && r.index === index && this.#data === 'current' ? r : undefined;
    const version = resume?.version ?? this.#versions.get(index) ?? this.#opts.version ?? 1;
    const o = this.#opts;
    const session: RtrSession = new RtrSession(
      {
        address: server.address,
        port: server.port,
        version,
        resume,
        has: (v) => this.#table.has(v),
        committedSize: () => this.#table.size,
        maxPduLength: o.maxPduLength ?? DEFAULT_MAX_PDU_LENGTH,
        maxVrps: o.maxVrps ?? 4_000_000,
        connectTimeoutMs: (o.connectTimeout ?? 10) * 1000,
        syncTimeoutMs: (o.syncTimeout ?? 300) * 1000,
        notifyGapMs: 1000,
      },
      {
        connected: () => {
          if (this.#session !== session) return;
          this.#connection = 'syncing';
          this.#changed();
        },
        synced: (r) => this.#synced(session, r),
        noData: (text) => this.#noData(session, text),
        ended: (e) => this.#ended(session, e),
      },
    );
    this.#session = session;
    this.#connection = 'connecting';
    this.#changed();
  }

  #synced(session: RtrSession, r: SyncResult): number {
    if (this.#session !== session) return 1000;
    const update = this.#commit(r);
    this.#failures = 0;
    this.#lastError = undefined;
    this.#versions.set(this.#index, r.version);
    this.#resume = { index: this.#index, sessionId: r.sessionId, serial: r.serial, version: r.version };
    if (r.timers) {
      this.#cacheTimers = {
        refresh: clampTimer(r.timers.refresh, MAX.refresh),
        retry: clampTimer(r.timers.retry, MAX.retry),
        expire: clampTimer(r.timers.expire, MAX.expire),
      };
    }
    const t = this.timers();
    this.#lastUpdate = Date.now();
    this.#expiresAt = this.#lastUpdate + t.expire * 1000;
    clearTimeout(this.#expireTimer);
    this.#expireTimer = setTimeout(() => this.#expire(), t.expire * 1000);
    this.#data = 'current';
    this.#connection = 'established';
    if (this.#index > 0) this.#scheduleProbe();
    this.#log.debug(
      {
        serial: r.serial,
        full: r.full,
        announced: update.announced,
        withdrawn: update.withdrawn,
        vrps: update.vrps,
      },
      'rpki update',
    );
    this.emit('update', update);
    this.#changed();
    return t.refresh * 1000;
  }

  /** Applies a checked response. Cannot fail: the session checked it against this table. */
  #commit(r: SyncResult): RtrUpdate {
    const table = this.#table;
    const affected = new AffectedSet();
    let announced = 0;
    let withdrawn = 0;
    if (r.full) {
      if (table.size === 0) {
        announced = r.announced.size;
        affected.all = announced > 0;
      } else {
        for (const v of table.entries()) {
          if (!r.announced.has(v)) {
            withdrawn++;
            affected.add(v.prefix);
          }
        }
        for (const v of r.announced.entries()) {
          if (!table.has(v)) {
            announced++;
            affected.add(v.prefix);
          }
        }
      }
      table.adopt(r.announced);
    } else {
      for (const v of r.withdrawn.entries()) {
        table.remove(v);
        affected.add(v.prefix);
        withdrawn++;
      }
      for (const v of r.announced.entries()) {
        table.add(v);
        affected.add(v.prefix);
        announced++;
      }
    }
    return {
      full: r.full,
      announced,
      withdrawn,
      vrps: table.size,
      sessionId: r.sessionId,
      serial: r.serial,
      affected,
    };
  }

  #noData(session: RtrSession, text: string): void {
    if (this.#session !== session) return;
    this.#lastError = `no data available${text ? `: ${text}` : ''}`;
    if (this.#servers.length > 1) {
      session.close('no data available');
      this.#failed();
      return;
    }
    // The only cache: ask again after retry, on the same connection.
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => session.refresh(), this.timers().retry * 1000);
    this.#changed();
  }

  #ended(session: RtrSession, e: SessionEnd): void {
    if (this.#session !== session) return;
    this.#session = undefined;
    clearTimeout(this.#probeTimer);
    if (e.reason === 'stopped') return;
    const server = this.#servers[this.#index]!;
    if (e.reason === 'downgrade') {
      this.#log.info({ cache: `${server.address}:${server.port}` }, 'rpki cache speaks RTR version 0 only');
      this.#versions.set(this.#index, 0);
      this.#connect(this.#index);
      return;
    }
    this.#lastError = `${e.reason}: ${e.message}`;
    if (e.reason === 'error-sent' || e.reason === 'error-received') {
      // A session that failed on a protocol error resumes nothing: the next one starts afresh.
      if (this.#resume?.index === this.#index) this.#resume = undefined;
    }
    this.#failed();
  }

  /** The session in use failed: next cache now, or after a whole round, wait retry. */
  #failed(): void {
    this.#connection = 'down';
    this.#failures++;
    this.#changed();
    if (this.#failures < this.#servers.length) {
      this.#connect((this.#index + 1) % this.#servers.length);
      return;
    }
    this.#failures = 0;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => this.#connect(0), this.timers().retry * 1000);
  }

  /** §6: no successful update for `expire`: drop everything, start over with a Reset Query. */
  #expire(): void {
    const n = this.#table.size;
    this.#table.clear();
    this.#resume = undefined;
    this.#data = 'expired';
    this.#expiresAt = undefined;
    const affected = new AffectedSet();
    affected.all = n > 0;
    this.emit('update', {
      full: true,
      announced: 0,
      withdrawn: n,
      vrps: 0,
      sessionId: undefined,
      serial: undefined,
      affected,
    });
    const s = this.#session;
    if (s !== undefined) {
      // A session that has not refreshed in `expire` is of no use; its delta base is gone too.
      this.#session = undefined;
      s.close('data expired');
      this.#connect(this.#index);
      return;
    }
    this.#changed();
  }

  /** While on a less preferred cache, try the better ones every retry interval (§10). */
  #scheduleProbe(): void {
    clearTimeout(this.#probeTimer);
    this.#probeTimer = setTimeout(() => void this.#probe(), this.timers().retry * 1000);
  }

  async #probe(): Promise<void> {
    if (this.#probing) return;
    this.#probing = true;
    const current = this.#index;
    try {
      for (let i = 0; i < current; i++) {
        if (!this.#onCache(current)) return;
        if (await reachable(this.#servers[i]!, (this.#opts.connectTimeout ?? 10) * 1000)) {
          if (!this.#onCache(current)) return;
          const s = this.#session!;
          this.#session = undefined;
          s.close('a more preferred cache is reachable');
          this.#connect(i);
          return;
        }
      }
      if (this.#session !== undefined && this.#index === current) this.#scheduleProbe();
    } finally {
      this.#probing = false;
    }
  }

  /** Still in a session with the cache at `index` (an await may have changed that). */
  #onCache(index: number): boolean {
    return this.#session !== undefined && this.#index === index && this.#connection !== 'stopped';
  }

  /** Emits 'state'; logs when the connection, the cache or the data state changed. */
  #changed(): void {
    const s = this.state();
    const cache = s.cache ? `${s.cache.address}:${s.cache.port}` : undefined;
    const key = `${s.connection}|${cache}|${s.data}`;
    if (key !== this.#logged) {
      this.#logged = key;
      const fields = {
        connection: s.connection,
        cache,
        data: s.data,
        version: s.version,
        sessionId: s.sessionId,
        serial: s.serial,
        vrps: s.vrps,
        error: s.connection === 'down' ? s.lastError : undefined,
      };
      if (s.connection === 'down' || s.data === 'expired') this.#log.warn(fields, 'rpki state');
      else this.#log.info(fields, 'rpki state');
    }
    this.emit('state', s);
  }
}

/** A TCP connection to `server` opens within `timeoutMs` (closed at once). */
function reachable(server: RtrServer, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: server.address, port: server.port });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}
