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

/**
 * Re-validates the eBGP routes (accepted and refused `rpki-invalid`) of the prefixes `affected`
 * covers against `policy` (undefined: rpki off, every state removed and nothing refused for it).
 */
export function revalidate(
  neighbors: Iterable<NeighborState>,
  peers: readonly (NeighborState | undefined)[],
  t4: LocRib<Prefix4>,
  t6: LocRib<Prefix6>,
  attrs: AttrStore,
  policy: RovPolicy | undefined,
  affected: RovAffected,
): RevalidateCounts {
  const c: RevalidateCounts = { changed: 0, refused: 0, restored: 0 };
  const v = policy?.validator;
  const reject = policy?.invalid === 'reject';
  const want = (key: Prefix4 | Prefix6, attr: number): Rov =>
    v === undefined ? Rov.NONE : rovCode(v.validate(key, attrs.originAs[attr]!));
  const nbrs = [...neighbors].filter((st) => st.up && st.ebgp);
  if (nbrs.length === 0) return c;
  for (const v6 of [false, true]) {
    const t = (v6 ? t6 : t4) as LocRib<Prefix4 | Prefix6>;
    // Collected first, applied after: announce and withdraw may free and reuse entries.
    const toRefuse: Array<[NeighborState, Prefix4 | Prefix6, number]> = [];
    const toRetag: Array<[NeighborState, Prefix4 | Prefix6, number, Rov]> = [];
    const hw = Math.min(t.index.highWater, t.head.length);
    for (let e = 0; e < hw; e++) {
      if (t.head[e] === -1) continue;
      const key = t.index.key(e);
      if (!affected.all && !affected.covers(key)) continue;
      for (let p = t.head[e]!; p !== -1; p = t.pNext[p]!) {
        const st = peers[t.pNbr[p]!];
        if (st === undefined || !st.ebgp || !st.up) continue;
        const a = t.pAttr[p]!;
        const w = want(key, a);
        if (w === Rov.INVALID && reject) toRefuse.push([st, key, a]);
        else if (w !== attrs.rov[a]! - 1) toRetag.push([st, key, a, w]);
      }
    }
    const toRestore: Array<[NeighborState, Prefix4 | Prefix6, number, Rov]> = [];
    for (const st of nbrs) {
      const refused = (v6 ? st.refused6 : st.refused4) as Map<Prefix4 | Prefix6, number>;
      for (const [key, val] of refused) {
        if (val % 16 !== RPKI_INVALID || (!affected.all && !affected.covers(key))) continue;
        const rid = Math.floor(val / 16);
        const w = want(key, rid);
        if (!(w === Rov.INVALID && reject)) toRestore.push([st, key, rid, w]);
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
    for (const [st, key, rid, w] of toRestore) {
      const refused = (v6 ? st.refused6 : st.refused4) as Map<Prefix4 | Prefix6, number>;
      const a = attrs.get(rid);
      const pol = st.policy;
      const peerAs = st.info?.peerAs ?? st.config.remoteAs;
      const id = attrs.intern(a, 1, DEFAULT_LOCAL_PREF, pol.cls, pol.otcToAdd(a, peerAs), w);
      t.announce(st.idx, key, id);
      refused.delete(key);
      attrs.unref(rid);
      c.restored++;
    }
  }
  return c;
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
