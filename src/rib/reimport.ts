/**
 * Re-evaluation of one neighbor's Adj-RIB-In after its import policy changed in place (a
 * reload): accepted routes the new policy refuses are withdrawn and kept as refused, refused
 * routes it now accepts are announced (the RIB keeps refused routes with their attributes, like
 * BIRD's `import keep filtered`, so no route refresh is needed), and routes whose class changed
 * (`no-resale`) get their new source tag. Only per-prefix refusals can change this way; the
 * per-UPDATE ones (AS loop, first AS, OTC) depend on what only a session reset changes.
 */
import type { Prefix4, Prefix6 } from '../bgp/wire/types.js';
import { REFUSALS, type Refusal, refusalCode } from '../policy/import.js';
import { type AttrStore, DEFAULT_LOCAL_PREF } from './intern.js';
import type { LocRib } from './loc-rib.js';
import type { NeighborState } from './neighbor.js';

/** Routes moved by a re-evaluation: newly accepted, newly refused, re-tagged (class changed). */
export interface ReimportCounts {
  accepted: number;
  refused: number;
  retagged: number;
}

/** Refusals decided per prefix (policy/import.ts checkPrefix*): the ones a reload can change. */
const PREFIX_REFUSALS: ReadonlySet<Refusal> = new Set<Refusal>([
  'default-route',
  'bogon',
  'own-prefix',
  'not-own-prefix',
]);

/** Re-runs the per-prefix import checks over one neighbor's Adj-RIB-In (accepted and refused). */
export function reimport(
  st: NeighborState,
  t4: LocRib<Prefix4>,
  t6: LocRib<Prefix6>,
  attrs: AttrStore,
): ReimportCounts {
  const c: ReimportCounts = { accepted: 0, refused: 0, retagged: 0 };
  const pol = st.policy;
  const peerAs = st.info?.peerAs ?? st.config.remoteAs;
  for (const v6 of [false, true]) {
    const t = (v6 ? t6 : t4) as LocRib<Prefix4 | Prefix6>;
    const refused = (v6 ? st.refused6 : st.refused4) as Map<Prefix4 | Prefix6, number>;
    const check = (p: Prefix4 | Prefix6): Refusal | undefined =>
      v6 ? pol.checkPrefix6(p as Prefix6) : pol.checkPrefix4(p as Prefix4);
    // Collected first, applied after: announce and withdraw may free and reuse entries.
    const toRefuse: Array<[Prefix4 | Prefix6, number, Refusal]> = [];
    const toRetag: Array<[Prefix4 | Prefix6, number]> = [];
    const hw = Math.min(t.index.highWater, t.head.length);
    for (let e = 0; e < hw; e++) {
      if (t.head[e] === -1) continue;
      const p = t.pathOf(e, st.idx);
      if (p === -1) continue;
      const key = t.index.key(e);
      const a = t.pAttr[p]!;
      const why = check(key);
      if (why !== undefined) toRefuse.push([key, a, why]);
      else if (pol.cls !== undefined && attrs.cls[a] !== pol.cls) toRetag.push([key, a]);
    }
    const toAccept: Array<[Prefix4 | Prefix6, number]> = [];
    for (const [key, v] of refused) {
      // Only per-prefix refusals depend on what a reload may change in place.
      if (!PREFIX_REFUSALS.has(REFUSALS[v % 16]!)) continue;
      const why = check(key);
      if (why === undefined) toAccept.push([key, Math.floor(v / 16)]);
      else if (refusalCode(why) !== v % 16) refused.set(key, v - (v % 16) + refusalCode(why));
    }
    for (const [key, a, why] of toRefuse) {
      // Kept as stored (with our tag): what a later widening accepts again as it was.
      attrs.ref(a);
      t.withdraw(st.idx, key);
      const code = refusalCode(why);
      refused.set(key, a * 16 + code);
      st.refusedCount[code]!++;
      c.refused++;
    }
    for (const [key, a] of toRetag) {
      const id = attrs.intern(attrs.get(a), 1, undefined, pol.cls);
      t.announce(st.idx, key, id);
      c.retagged++;
    }
    for (const [key, rid] of toAccept) {
      const a = attrs.get(rid);
      const lp = st.ebgp ? DEFAULT_LOCAL_PREF : a.localPref === undefined ? DEFAULT_LOCAL_PREF : undefined;
      const id = attrs.intern(a, 1, lp, pol.cls, pol.otcToAdd(a, peerAs));
      t.announce(st.idx, key, id);
      refused.delete(key);
      attrs.unref(rid);
      c.accepted++;
    }
  }
  return c;
}
