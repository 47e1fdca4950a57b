/**
 * Graceful restart in the RIB (RFC 4724), both halves, kept apart from rib.ts:
 *
 *  - StaleRoutes, the Receiving Speaker (§4.2): when a session that negotiated graceful restart
 *    ends without a NOTIFICATION, the neighbor's routes of the families in its capability stay,
 *    marked stale (still candidates, still best paths, still in the FIB: §4.2 "MUST NOT
 *    differentiate ... during forwarding"), routes still stale from an earlier restart go first.
 *    The restart timer (the neighbor's advertised Restart Time) bounds the wait for the session;
 *    back in time, a family the new OPEN does not keep (no capability, family missing, F bit
 *    clear) loses its stale routes at once, the others are replaced as the neighbor announces
 *    them and whatever is still stale goes at its End-of-RIB for the family, or when the stale
 *    timer (`graceful-restart.stale-time`) runs out first.
 *  - SelectionDeferral, the Restarting Speaker (§4.1): after gredged itself restarted, best paths
 *    are selected as routes arrive but nothing is exported (no UPDATE, no End-of-RIB) until every
 *    neighbor with graceful restart sent End-of-RIB for each of its families (those that come up
 *    without the capability or with the Restart State bit are not waited for), or the
 *    Selection_Deferral_Timer (`graceful-restart.selection-deferral`) runs out.
 *
 * Staleness costs nothing per route: LocRib keeps a set of entry ids per neighbor, built only
 * while that neighbor restarts. Timers go through RibTimers so tests drive them by hand.
 */
import { familyOf } from '../bgp/wire/index.js';
import type { Family, GracefulRestartCapability, Prefix4, Prefix6 } from '../bgp/wire/types.js';
import type { Logger } from '../observe/log.js';
import type { SessionInfo } from './channel.js';
import type { LocRib } from './loc-rib.js';
import type { NeighborState } from './neighbor.js';

/** The clock and timers graceful restart runs on; tests pass a hand-driven one. */
export interface RibTimers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
  /** Milliseconds since the epoch. */
  now(): number;
}

export const REAL_TIMERS: RibTimers = {
  set: (fn, ms) => {
    const t = setTimeout(fn, ms);
    // A timer of the RIB never keeps a process alive on its own (the daemon has its own).
    t.unref();
    return t;
  },
  clear: (h) => clearTimeout(h as NodeJS.Timeout),
  now: () => Date.now(),
};

const FAMILIES: readonly Family[] = ['ipv4-unicast', 'ipv6-unicast'];

/** Whether `cap` names `f`, and (with `forwarding`) with the Forwarding State bit set. */
function capHas(cap: GracefulRestartCapability, f: Family, forwarding: boolean): boolean {
  return cap.families.some((x) => familyOf(x.afi, x.safi) === f && (!forwarding || x.forwarding));
}

/** A neighbor's graceful restart as `show neighbor` and the stats tell it. */
export interface StaleStatus {
  /** `restarting`: the session is down, the restart timer runs; `refreshing`: back, waiting for End-of-RIB. */
  state: 'restarting' | 'refreshing';
  /** Families whose routes are (still) stale. */
  families: Family[];
  /** When the running timer ends (restart timer, then stale timer), ms since the epoch. */
  until: number;
}

interface Episode {
  families: Set<Family>;
  phase: StaleStatus['state'];
  timer: unknown;
  until: number;
}

export interface GracefulHost {
  t4: LocRib<Prefix4>;
  t6: LocRib<Prefix6>;
  log: Logger;
  timers: RibTimers;
  /** Routes moved: a flush is due. */
  changed(): void;
}

/** The Receiving Speaker's side (RFC 4724 §4.2): stale routes per neighbor and family. */
export class StaleRoutes {
  readonly #h: GracefulHost;
  readonly #episodes = new Map<NeighborState, Episode>();

  constructor(host: GracefulHost) {
    this.#h = host;
  }

  #table(f: Family): LocRib<Prefix4 | Prefix6> {
    return (f === 'ipv4-unicast' ? this.#h.t4 : this.#h.t6) as LocRib<Prefix4 | Prefix6>;
  }

  /**
   * The families whose routes a graceful end of `st`'s session keeps: graceful restart
   * negotiated (ours configured, theirs received with a Restart Time above 0), a negotiated
   * family the neighbor's capability names. Reads the session: call before it is forgotten.
   */
  retained(st: NeighborState): Family[] {
    const cap = st.info?.remoteCapabilities.gracefulRestart;
    if (!st.config.gracefulRestart.enabled || cap === undefined || cap.restartTime === 0) return [];
    return FAMILIES.filter((f) => st.families.has(f) && capHas(cap, f, false));
  }

  /**
   * The session of `st` ended: the routes of `keep` stay, stale (routes still stale from an
   * earlier restart are removed first, §4.2), until the neighbor's Restart Time (`restartSecs`)
   * runs out; every other route of the neighbor is withdrawn.
   */
  down(st: NeighborState, keep: readonly Family[], restartSecs: number): { kept: number; withdrawn: number } {
    this.#stop(st);
    this.#episodes.delete(st);
    let kept = 0;
    let withdrawn = 0;
    for (const f of FAMILIES) {
      const t = this.#table(f);
      if (keep.includes(f)) {
        withdrawn += t.sweepStale(st.idx);
        kept += t.markStale(st.idx);
      } else withdrawn += t.withdrawNeighbor(st.idx);
    }
    if (keep.length === 0) return { kept, withdrawn };
    const ep: Episode = { families: new Set(keep), phase: 'restarting', timer: undefined, until: 0 };
    this.#episodes.set(st, ep);
    this.#arm(st, ep, restartSecs, () => {
      // Not back in time: nothing of the neighbor stays (§4.2).
      let n = 0;
      for (const f of ep.families) n += this.#table(f).withdrawNeighbor(st.idx);
      this.#episodes.delete(st);
      this.#h.log.warn(
        { neighbor: st.name, restartTime: restartSecs, withdrawn: n },
        'rib: graceful restart: the neighbor did not come back within its restart time; stale routes withdrawn',
      );
      this.#h.changed();
    });
    return { kept, withdrawn };
  }

  /**
   * `st` is Established again (the session facts already taken): families the new OPEN does not
   * keep lose their stale routes now (§4.2: no capability, family missing, F bit clear); the
   * rest wait for End-of-RIB, at most the neighbor's `stale-time`.
   */
  up(st: NeighborState, info: SessionInfo): void {
    const ep = this.#episodes.get(st);
    if (ep === undefined) return;
    this.#stop(st);
    const cap = info.remoteCapabilities.gracefulRestart;
    for (const f of [...ep.families]) {
      if (cap !== undefined && info.families.includes(f) && capHas(cap, f, true)) continue;
      const n = this.#sweep(st, ep, f);
      this.#h.log.info(
        {
          neighbor: st.name,
          family: f,
          withdrawn: n,
          why:
            cap === undefined
              ? 'no graceful restart'
              : !info.families.includes(f)
                ? 'family not negotiated'
                : capHas(cap, f, false)
                  ? 'forwarding state not kept'
                  : 'family not in the capability',
        },
        'rib: graceful restart: stale routes withdrawn at once (RFC 4724 §4.2)',
      );
    }
    if (ep.families.size === 0) {
      this.#episodes.delete(st);
      return;
    }
    ep.phase = 'refreshing';
    const secs = st.config.gracefulRestart.staleTime;
    this.#arm(st, ep, secs, () => {
      let n = 0;
      for (const f of [...ep.families]) n += this.#sweep(st, ep, f);
      this.#episodes.delete(st);
      this.#h.log.warn(
        { neighbor: st.name, staleTime: secs, withdrawn: n },
        'rib: graceful restart: no End-of-RIB within the stale time; routes not refreshed withdrawn',
      );
      this.#h.changed();
    });
    this.#h.log.info(
      { neighbor: st.name, families: [...ep.families], staleTime: secs },
      'rib: graceful restart: neighbor back; stale routes wait for its End-of-RIB',
    );
  }

  /** End-of-RIB for `f` from `st`: what it did not announce again goes (§4.2). */
  endOfRib(st: NeighborState, f: Family): void {
    const ep = this.#episodes.get(st);
    if (ep === undefined || ep.phase !== 'refreshing' || !ep.families.has(f)) return;
    const n = this.#sweep(st, ep, f);
    this.#h.log.info(
      { neighbor: st.name, family: f, withdrawn: n },
      'rib: graceful restart: End-of-RIB; routes not refreshed withdrawn',
    );
    if (ep.families.size === 0) {
      this.#stop(st);
      this.#episodes.delete(st);
    }
  }

  /**
   * The restart of `st` ends before its time (the neighbor is removed, or stopped by the
   * operator): what is stale goes; down, that is everything of it.
   */
  forget(st: NeighborState): number {
    const ep = this.#episodes.get(st);
    if (ep === undefined) return 0;
    this.#stop(st);
    this.#episodes.delete(st);
    let n = 0;
    for (const f of FAMILIES) {
      const t = this.#table(f);
      n += ep.phase === 'restarting' ? t.withdrawNeighbor(st.idx) : t.sweepStale(st.idx);
    }
    return n;
  }

  status(st: NeighborState): StaleStatus | undefined {
    const ep = this.#episodes.get(st);
    return ep === undefined ? undefined : { state: ep.phase, families: [...ep.families], until: ep.until };
  }

  #sweep(st: NeighborState, ep: Episode, f: Family): number {
    ep.families.delete(f);
    const n = this.#table(f).sweepStale(st.idx);
    if (n > 0) this.#h.changed();
    return n;
  }

  #arm(st: NeighborState, ep: Episode, secs: number, fire: () => void): void {
    ep.until = this.#h.timers.now() + secs * 1000;
    ep.timer = this.#h.timers.set(() => {
      if (this.#episodes.get(st) !== ep) return;
      ep.timer = undefined;
      fire();
    }, secs * 1000);
  }

  #stop(st: NeighborState): void {
    const ep = this.#episodes.get(st);
    if (ep?.timer !== undefined) this.#h.timers.clear(ep.timer);
    if (ep !== undefined) ep.timer = undefined;
  }
}

/** The Restarting Speaker's wait, as `status` shows it. */
export interface DeferralStatus {
  /** Since when (ms since the epoch), and when the Selection_Deferral_Timer ends. */
  since: number;
  until: number;
  /** Neighbors whose End-of-RIB is still awaited. */
  waitingFor: string[];
}

/**
 * The Restarting Speaker's deferral (RFC 4724 §4.1): which neighbors' End-of-RIB gredged still
 * waits for. `done` is called once, when none is left or the timer runs out.
 */
export class SelectionDeferral {
  readonly #h: Pick<GracefulHost, 'log' | 'timers'>;
  /** Neighbor → the families whose End-of-RIB is awaited (undefined: not up yet). */
  readonly #waiting = new Map<NeighborState, Set<Family> | undefined>();
  readonly #since: number;
  readonly #until: number;
  readonly #timer: unknown;
  readonly #done: (why: string) => void;
  #over = false;

  constructor(
    host: Pick<GracefulHost, 'log' | 'timers'>,
    neighbors: Iterable<NeighborState>,
    ms: number,
    done: (why: string) => void,
  ) {
    this.#h = host;
    this.#done = done;
    for (const st of neighbors) if (st.config.gracefulRestart.enabled) this.#waiting.set(st, undefined);
    this.#since = host.timers.now();
    this.#until = this.#since + ms;
    this.#timer = host.timers.set(
      () => this.#finish(`selection deferral timer (${Math.round(ms / 1000)} s) ran out`),
      ms,
    );
    host.log.warn(
      { waitingFor: this.#names(), deferralSeconds: Math.round(ms / 1000) },
      'rib: graceful restart: restarting; best paths are exported once the neighbors have sent End-of-RIB',
    );
  }

  get active(): boolean {
    return !this.#over;
  }

  /** None to wait for (no neighbor with graceful restart): done at once. */
  check(): void {
    if (!this.#over && this.#waiting.size === 0)
      this.#finish('every graceful-restart neighbor sent End-of-RIB');
  }

  /** `st` is Established: wait for its End-of-RIB, unless it cannot be expected (§4.1). */
  up(st: NeighborState, info: SessionInfo): void {
    if (this.#over || !this.#waiting.has(st)) return;
    const cap = info.remoteCapabilities.gracefulRestart;
    const need = new Set(info.families.filter((f) => !st.eorReceived.has(f)));
    if (cap === undefined || cap.restarting || need.size === 0) {
      this.#waiting.delete(st);
      this.#h.log.info(
        {
          neighbor: st.name,
          why: cap === undefined ? 'no graceful restart' : cap.restarting ? 'restarting too' : 'no family',
        },
        'rib: graceful restart: not waiting for this neighbor',
      );
    } else this.#waiting.set(st, need);
    this.check();
  }

  endOfRib(st: NeighborState, f: Family): void {
    const need = this.#waiting.get(st);
    if (this.#over || need === undefined) return;
    need.delete(f);
    if (need.size > 0) return;
    this.#waiting.delete(st);
    this.check();
  }

  /** `st` left the config: not waited for any more. */
  gone(st: NeighborState): void {
    if (this.#waiting.delete(st)) this.check();
  }

  status(): DeferralStatus {
    return { since: this.#since, until: this.#until, waitingFor: this.#names() };
  }

  #names(): string[] {
    return [...this.#waiting.keys()].map((st) => st.name);
  }

  #finish(why: string): void {
    if (this.#over) return;
    this.#over = true;
    this.#h.timers.clear(this.#timer);
    const waited = this.#names();
    this.#waiting.clear();
    this.#h.log.warn(
      { why, ms: this.#h.timers.now() - this.#since, ...(waited.length > 0 ? { notHeardFrom: waited } : {}) },
      'rib: graceful restart: route selection done; exporting',
    );
    this.#done(why);
  }
}
