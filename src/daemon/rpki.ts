/**
 * The daemon's RPKI part (`rpki:` in the config; docs/rpki.md): runs the RTR client
 * (src/rpki), hands its VRP table to the RIB as the validator, and turns each committed update
 * into a re-validation of the routes it covers (Rib.revalidate with the update's affected set).
 *
 * A reload applies in place: a change of `invalid` re-evaluates the stored routes; a change of
 * `servers` or timers starts a new client beside the running one and switches the RIB over at
 * the new client's first commit, so routes are never validated against an empty table in
 * between (which would let Invalid routes out for a moment); `rpki` added or removed starts or
 * stops validation (removed: every state is dropped and refused Invalid routes come back).
 */
import type { RpkiConfig } from '../config/types.js';
import type { RpkiStatusResult } from '../control/target.js';
import type { Logger } from '../observe/log.js';
import type { Rib } from '../rib/rib.js';
import { RtrClient, type RtrState } from '../rpki/index.js';

export class Rpki {
  readonly #rib: Rib;
  readonly #log: Logger;
  /** The daemon's logger: the RTR client adds its own `module: rpki`. */
  readonly #root: Logger;
  #cfg: RpkiConfig;
  #active: RtrClient;
  #pending: RtrClient | undefined;
  #started = false;

  constructor(cfg: RpkiConfig, rib: Rib, log: Logger) {
    this.#cfg = cfg;
    this.#rib = rib;
    this.#root = log;
    this.#log = log.child({ module: 'rpki' });
    this.#active = this.#client(cfg);
  }

  /** The validator the RIB starts with (before `start`: an empty table, NotFound). */
  get policy(): { validator: RtrClient; invalid: 'reject' | 'keep' } {
    return { validator: this.#active, invalid: this.#cfg.invalid };
  }

  start(): void {
    this.#started = true;
    this.#active.start();
  }

  stop(): void {
    this.#started = false;
    this.#pending?.stop();
    this.#pending = undefined;
    this.#active.stop();
  }

  /** A reload's `rpki` change (both present; adding or removing is the daemon's). */
  reconfigure(next: RpkiConfig): void {
    const old = this.#cfg;
    this.#cfg = next;
    const sameClient =
      JSON.stringify([old.servers, old.refresh, old.retry, old.expire]) ===
      JSON.stringify([next.servers, next.refresh, next.retry, next.expire]);
    if (!sameClient) {
      this.#pending?.stop();
      this.#pending = this.#client(next);
      this.#log.info({ servers: next.servers }, 'rpki: caches changed: syncing from the new ones');
      if (this.#started) this.#pending.start();
    }
    if (old.invalid !== next.invalid) {
      this.#log.info({ invalid: next.invalid }, 'rpki: policy for Invalid routes changed: re-evaluating');
      void this.#rib
        .setRov(this.policy)
        .then((c) => this.#log.info({ invalid: next.invalid, ...c }, 'rpki: stored routes re-evaluated'));
    }
  }

  status(): RpkiStatusResult {
    const s = this.#active.state();
    const iso = (t: number | undefined) => (t === undefined ? null : new Date(t).toISOString());
    const p = this.#pending?.state();
    return {
      connection: s.connection,
      data: s.data,
      cache: cacheText(s),
      version: s.version ?? null,
      sessionId: s.sessionId ?? null,
      serial: s.serial ?? null,
      lastUpdate: iso(s.lastUpdate),
      vrps: s.vrps,
      expiresAt: iso(s.expiresAt),
      refresh: s.refresh,
      retry: s.retry,
      expire: s.expire,
      lastError: s.lastError ?? null,
      invalid: this.#cfg.invalid,
      pending: p ? { connection: p.connection, cache: cacheText(p), lastError: p.lastError ?? null } : null,
    };
  }

  #client(cfg: RpkiConfig): RtrClient {
    const c = new RtrClient({
      servers: cfg.servers.map((s) => ({ address: s.address, port: s.port, preference: s.preference })),
      refresh: cfg.refresh,
      retry: cfg.retry,
      expire: cfg.expire,
      maxVrps: maxVrpsFromEnv(),
      logger: this.#root,
    });
    c.on('update', (u) => {
      if (c === this.#pending) {
        // The new caches' first commit: switch the RIB over, then drop the old client.
        const old = this.#active;
        this.#active = c;
        this.#pending = undefined;
        old.stop();
        this.#log.info({ vrps: u.vrps }, 'rpki: switched to the new caches');
        void this.#rib.setRov(this.policy);
        return;
      }
      if (c !== this.#active) return;
      // Sliced over event-loop turns; a change arriving meanwhile is queued or restarts it.
      void this.#rib.revalidate(u.affected);
    });
    return c;
  }
}

function cacheText(s: RtrState): string | null {
  return s.cache ? `${s.cache.address} port ${s.cache.port}` : null;
}

/**
 * GREDGE_RPKI_MAX_VRPS: the most VRPs a cache may give us (a flood past it gets Error Report 1
 * and a reconnect); default the client's 4,000,000, about six times today's RPKI. Set lower to
 * test the limit against a running daemon; anything but a positive integer is ignored.
 */
function maxVrpsFromEnv(): number | undefined {
  const v = Number(process.env.GREDGE_RPKI_MAX_VRPS);
  return Number.isSafeInteger(v) && v > 0 ? v : undefined;
}
