/**
 * RPKI route-origin validation in the RIB (RFC 6811 §2; docs/rpki.md): the interface the RIB
 * validates through (the RTR client's VRP table implements it), the re-validation of stored
 * routes after a VRP change or a change of policy, and the per-neighbor counts.
 *
 * A route's state lives in its interned attribute set as LOCAL-AS:2:STATE (policy/import.ts
 * Rov; AttrStore.rov), so it costs no per-route memory, travels to internal neighbors as is and
 * is stripped toward eBGP with the source tags. Re-validation walks only the prefixes a change
 * covers (the RTR update's affected set): an accepted route whose state changed gets a set with
 * the new state (one intern per distinct set and state, not per route), one that turned Invalid
 * under `reject` is withdrawn and kept as refused (`rpki-invalid`, with its stored attributes),
 * and a refused one that is no longer Invalid is announced again. The Loc-RIB's dirty queue then
 * sends only the difference; no session is touched. Internal routes are never re-validated:
 * their carried state is trusted (the edge that learned them from eBGP validated them).
 */
import type { Prefix4, Prefix6 } from '../bgp/wire/types.js';
import type { Logger } from '../observe/log.js';
import { REFUSALS, Rov, refusalCode } from '../policy/import.js';
import type { RovState, Vrp } from '../rpki/types.js';
import { type AttrStore, DEFAULT_LOCAL_PREF } from './intern.js';
import type { LocRib } from './loc-rib.js';
import type { NeighborState } from './neighbor.js';

/** What the RIB validates against: the RTR client's VRP table (src/rpki VrpReader). */
export interface RovValidator {
  validate(prefix: Prefix4 | Prefix6, originAs: number): RovState;
  /** The VRPs covering a prefix (for explain). */
  covering(prefix: Prefix4 | Prefix6): Vrp[];
}

/** Origin validation as configured (`rpki:`): the validator and what Invalid eBGP routes get. */
export interface RovPolicy {
  validator: RovValidator;
  /** reject: refused as `rpki-invalid`; keep: accepted with the Invalid state (measured only). */
  invalid: 'reject' | 'keep';
}

/** Which prefixes a change may have affected (src/rpki AffectedSet). */
export interface RovAffected {
  readonly all: boolean;
  covers(prefix: Prefix4 | Prefix6): boolean;
}

export const ALL: RovAffected = { all: true, covers: () => true };

/** Routes whose state changed in a re-validation. */
export interface RevalidateCounts {
  /** Accepted routes that got a new state (Valid, NotFound, or Invalid under `keep`). */
  changed: number;
  /** Withdrawn and kept as refused: turned Invalid under `reject`. */
  refused: number;
  /** Refused `rpki-invalid` routes announced again. */
  restored: number;
}

/** Per neighbor: accepted routes by the state they carry, and refused `rpki-invalid` ones. */
export interface RovCounts {
  valid: number;
  invalid: number;
  notFound: number;
  /** Not validated: rpki off, or an internal route carrying no state. */
  unverified: number;
  /** Invalid routes refused (`rpki.invalid: reject`); also counted in `invalid`. */
  refused: number;
}

const RPKI_INVALID = refusalCode('rpki-invalid');

export function rovCode(s: RovState): Rov {
  return s === 'valid' ? Rov.VALID : s === 'invalid' ? Rov.INVALID : Rov.NOT_FOUND;
}

/** Re-validates stored routes against `policy()` in slices between event-loop turns (Revalidator). */
export interface RevalidatorHost {
  /** Every neighbor in the RIB (read afresh at each slice: sessions come and go meanwhile). */
  neighbors(): Iterable<NeighborState>;
  /** By index, as the Loc-RIB's paths name them. */
  readonly peers: readonly (NeighborState | undefined)[];
  readonly t4: LocRib<Prefix4>;
  readonly t6: LocRib<Prefix6>;
  readonly attrs: AttrStore;
  /** The policy in force now (undefined: rpki off). */
  policy(): RovPolicy | undefined;
  /** Routes moved: the RIB schedules a flush (which also tells idle() waiters). */
  changed(): void;
  log: Logger;
}

/** One pass over the stored routes: what it covers, where it is, what it did, who waits. */
interface Pass {
  affected: RovAffected;
  /** 0: IPv4 Loc-RIB entries, 1: IPv6 ones, 2: refused routes, 3: done. */
  phase: number;
  /** Next Loc-RIB entry (phases 0 and 1). */
  entry: number;
  /** Phase 2: the neighbors and refused maps still to walk, and the live iterator of one. */
  refused: Array<[NeighborState, boolean]>;
  iter: Iterator<[Prefix4 | Prefix6, number]> | undefined;
  counts: RevalidateCounts;
  waiters: Array<(c: RevalidateCounts) => void>;
  started: number;
  slices: number;
}

const NONE_AFFECTED: RovAffected = { all: false, covers: () => false };

/** The union of two affected sets. */
function union(a: RovAffected, b: RovAffected): RovAffected {
  if (a.all || b.all) return ALL;
  if (a === NONE_AFFECTED) return b;
  return { all: false, covers: (p) => a.covers(p) || b.covers(p) };
}

/**
 * Re-validation of the stored eBGP routes (accepted and refused `rpki-invalid`) whose prefixes a
 * change covers, against the policy in force (undefined: rpki off, every state removed and
 * nothing refused for it), sliced: at most `sliceMs` of work per event-loop turn, so a whole
 * table (a first load, an expiry, a cache reset, a reload of `rpki`: 1M routes) never holds up
 * BGP keepalives and UPDATEs. Each slice validates a run of entries and applies what it found
 * before yielding, so no attribute id is kept across turns.
 *
 * Changes that arrive during a pass are never lost, and no route is left with the state of an
 * older VRP set: routes the pass has not reached yet are validated against the newest table
 * anyway; those it has passed are covered by what comes next. A change to everything (`all`:
 * a first load, an expiry, a policy switch) restarts the running pass from the start; a partial
 * one is queued (merged with any other queued one) and runs as its own pass right after. Imports
 * meanwhile validate against the newest table as always.
 */
export class Revalidator {
  readonly #host: RevalidatorHost;
  readonly #sliceMs: number;
  #pass: Pass | undefined;
  #queued: Pass | undefined;
  #scheduled = false;

  constructor(host: RevalidatorHost, sliceMs = 5) {
    this.#host = host;
    this.#sliceMs = sliceMs;
  }

  /** A pass is running or queued. */
  get running(): boolean {
    return this.#pass !== undefined;
  }

  /**
   * Re-validates the routes `affected` covers; resolves with what moved once every route has a
   * state from the table as it is at the end (including changes requested meanwhile).
   */
  request(affected: RovAffected): Promise<RevalidateCounts> {
    return new Promise((resolve) => {
      const cur = this.#pass;
      if (cur === undefined) {
        this.#pass = newPass(affected, [resolve]);
        this.#schedule();
      } else if (affected.all) {
        // Everything again: start over, with whoever waited for a queued pass too.
        cur.affected = ALL;
        cur.phase = 0;
        cur.entry = 0;
        cur.refused = [];
        cur.iter = undefined;
        cur.waiters.push(resolve, ...(this.#queued?.waiters ?? []));
        this.#queued = undefined;
      } else {
        const q = (this.#queued ??= newPass(NONE_AFFECTED, []));
        q.affected = union(q.affected, affected);
        q.waiters.push(resolve);
      }
    });
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#slice();
    });
  }

  #slice(): void {
    const pass = this.#pass;
    if (pass === undefined) return;
    const h = this.#host;
    const t0 = performance.now();
    const before = pass.counts.changed + pass.counts.refused + pass.counts.restored;
    pass.slices++;
    while (pass.phase < 3 && performance.now() - t0 < this.#sliceMs) step(h, pass);
    if (pass.counts.changed + pass.counts.refused + pass.counts.restored > before) h.changed();
    if (pass.phase < 3) {
      this.#schedule();
      return;
    }
    const c = pass.counts;
    if (c.changed + c.refused + c.restored > 0) {
      h.log.info(
        {
          ...c,
          all: pass.affected.all,
          ms: Math.round(performance.now() - pass.started),
          slices: pass.slices,
        },
        'rib: routes re-validated (RPKI)',
      );
    }
    this.#pass = this.#queued;
    this.#queued = undefined;
    if (this.#pass !== undefined) {
      this.#pass.started = performance.now();
      this.#schedule();
    }
    // Also lets the RIB tell its idle() waiters, now that no pass is due.
    h.changed();
    for (const w of pass.waiters) w(c);
  }
}

function newPass(affected: RovAffected, waiters: Pass['waiters']): Pass {
  return {
    affected,
    phase: 0,
    entry: 0,
    refused: [],
    iter: undefined,
    counts: { changed: 0, refused: 0, restored: 0 },
    waiters,
    started: performance.now(),
    slices: 0,
  };
}

/** Entries (or refused routes) looked at between two looks at the clock. */
const STEP = 256;

/** Validates and applies up to STEP entries of the pass's current phase. */
function step(h: RevalidatorHost, pass: Pass): void {
  const policy = h.policy();
  const v = policy?.validator;
  const reject = policy?.invalid === 'reject';
  const attrs = h.attrs;
  const affected = pass.affected;
  const want = (key: Prefix4 | Prefix6, attr: number): Rov =>
    v === undefined ? Rov.NONE : rovCode(v.validate(key, attrs.originAs[attr]!));
  const c = pass.counts;
  if (pass.phase < 2) {
    const v6 = pass.phase === 1;
    const t = (v6 ? h.t6 : h.t4) as LocRib<Prefix4 | Prefix6>;
    // Collected first, applied after: announce and withdraw may free and reuse entries. An
    // entry reused behind the cursor holds a route validated on import or by this pass; one
    // ahead is validated again, to the same state.
    const toRefuse: Array<[NeighborState, Prefix4 | Prefix6, number]> = [];
    const toRetag: Array<[NeighborState, Prefix4 | Prefix6, number, Rov]> = [];
    const hw = Math.min(t.index.highWater, t.head.length);
    const end = Math.min(hw, pass.entry + STEP);
    for (let e = pass.entry; e < end; e++) {
      if (t.head[e] === -1) continue;
      const key = t.index.key(e);
      if (!affected.all && !affected.covers(key)) continue;
      for (let p = t.head[e]!; p !== -1; p = t.pNext[p]!) {
        const st = h.peers[t.pNbr[p]!];
        if (st === undefined || !st.ebgp || !st.up) continue;
        const a = t.pAttr[p]!;
        const w = want(key, a);
        if (w === Rov.INVALID && reject) toRefuse.push([st, key, a]);
        else if (w !== attrs.rov[a]! - 1) toRetag.push([st, key, a, w]);
      }
    }
    pass.entry = end;
    if (end >= hw) {
      pass.phase++;
      pass.entry = 0;
      if (pass.phase === 2) {
        for (const st of h.neighbors()) if (st.up && st.ebgp) pass.refused.push([st, false], [st, true]);
      }
    }
    for (const [st, key, a] of toRefuse) {
      const refused = (v6 ? st.refused6 : st.refused4) as Map<Prefix4 | Prefix6, number>;
      // Kept as stored (tagged): what a later change of the VRPs accepts again as it was.
      attrs.ref(a);
      t.withdraw(st.idx, key);
      refused.set(key, a * 16 + RPKI_INVALID);
      st.refusedCount[RPKI_INVALID]!++;
      c.refused++;
    }
    // One new set per (stored set, state): a full table shares ~10 prefixes per set.
    const made = new Map<number, number>();
    for (const [st, key, a, w] of toRetag) {
      const k = a * 4 + (w + 1);
      let id = made.get(k);
      if (id === undefined) {
        id = attrs.intern(attrs.get(a), 1, undefined, st.policy.cls, undefined, w);
        made.set(k, id);
      } else attrs.ref(id);
      t.announce(st.idx, key, id);
      c.changed++;
    }
    return;
  }
  // Phase 2: refused `rpki-invalid` routes that are no longer Invalid (or no longer refused for
  // it) come back. The maps are walked with live iterators: one that a session's end clears
  // simply ends; routes added meanwhile were validated on import.
  const cur = pass.refused[0];
  if (cur === undefined) {
    pass.phase = 3;
    return;
  }
  const [st, v6] = cur;
  const refused = (v6 ? st.refused6 : st.refused4) as Map<Prefix4 | Prefix6, number>;
  const t = (v6 ? h.t6 : h.t4) as LocRib<Prefix4 | Prefix6>;
  pass.iter ??= refused.entries();
  const toRestore: Array<[Prefix4 | Prefix6, number, Rov]> = [];
  let n = 0;
  for (; n < STEP; n++) {
    const r = pass.iter.next();
    if (r.done === true) break;
    const [key, val] = r.value;
    if (val % 16 !== RPKI_INVALID || (!affected.all && !affected.covers(key))) continue;
    const rid = Math.floor(val / 16);
    const w = want(key, rid);
    if (!(w === Rov.INVALID && reject)) toRestore.push([key, rid, w]);
  }
  if (n < STEP) {
    pass.refused.shift();
    pass.iter = undefined;
  }
  // A session that ended since the pass started has no routes left to bring back.
  if (!st.up || st.removed) return;
  const pol = st.policy;
  const peerAs = st.info?.peerAs ?? st.config.remoteAs;
  for (const [key, rid, w] of toRestore) {
    const a = attrs.get(rid);
    const id = attrs.intern(a, 1, DEFAULT_LOCAL_PREF, pol.cls, pol.otcToAdd(a, peerAs), w);
    t.announce(st.idx, key, id);
    refused.delete(key);
    attrs.unref(rid);
    c.restored++;
  }
}

/** Accepted routes by state and refused Invalid ones, per neighbor: one pass over the paths. */
export function rovCounts(
  neighbors: Iterable<NeighborState>,
  t4: LocRib<Prefix4>,
  t6: LocRib<Prefix6>,
  attrs: AttrStore,
): Map<string, RovCounts> {
  const byIdx = new Map<number, RovCounts>();
  const out = new Map<string, RovCounts>();
  for (const st of neighbors) {
    const c: RovCounts = { valid: 0, invalid: 0, notFound: 0, unverified: 0, refused: 0 };
    byIdx.set(st.idx, c);
    out.set(st.name, c);
    for (const m of [st.refused4, st.refused6] as ReadonlyMap<unknown, number>[])
      for (const v of m.values()) if (REFUSALS[v % 16] === 'rpki-invalid') c.refused++;
    c.invalid += c.refused;
  }
  for (const t of [t4, t6] as LocRib<Prefix4 | Prefix6>[]) {
    const hw = Math.min(t.index.highWater, t.head.length);
    for (let e = 0; e < hw; e++) {
      for (let p = t.head[e]!; p !== -1; p = t.pNext[p]!) {
        const c = byIdx.get(t.pNbr[p]!);
        if (c === undefined) continue;
        const r = attrs.rov[t.pAttr[p]!]! - 1;
        if (r === Rov.VALID) c.valid++;
        else if (r === Rov.NOT_FOUND) c.notFound++;
        else if (r === Rov.INVALID) c.invalid++;
        else c.unverified++;
      }
    }
  }
  return out;
}
