/**
 * The RFC 4271 §9.1.2.2 decision process as successive elimination over one prefix's
 * candidates, remembering the step that left a single winner (like GoBGP's BestPathReason):
 * highest LOCAL_PREF, shortest AS_PATH, lowest ORIGIN, lowest MED among routes from the same
 * neighbor AS (missing MED = 0), eBGP over iBGP, lowest BGP identifier, lowest peer address.
 * Elimination (not pairwise comparison) because the MED rule is not transitive.
 */
import { RouteClass } from '../policy/import.js';
import type { AttrStore } from './intern.js';

/** What a candidate's neighbor contributes to the decision. */
export interface DecisionPeer {
  ebgp: boolean;
  routerId: number;
  /** Sortable form of the peer address: IPv4 before IPv6, then numeric. */
  addrKey: string;
}

export const Step = {
  NONE: 0,
  ONLY: 1,
  LOCAL_PREF: 2,
  AS_PATH: 3,
  ORIGIN: 4,
  MED: 5,
  EBGP: 6,
  ROUTER_ID: 7,
  PEER_ADDRESS: 8,
  NEIGHBOR_ORDER: 9,
} as const;

export const STEP_NAMES: readonly string[] = [
  'no path',
  'only path',
  'local-pref',
  'as-path length',
  'origin',
  'med',
  'ebgp over ibgp',
  'router-id',
  'peer address',
  'neighbor order',
];

export class Decider {
  /** Step that decided the last `decide` call. */
  reason = 0;
  #attrs: AttrStore;
  #peers: (DecisionPeer | undefined)[];
  #cand = new Int32Array(16);
  #tmp = new Float64Array(16);

  constructor(attrs: AttrStore, peers: (DecisionPeer | undefined)[]) {
    this.#attrs = attrs;
    this.#peers = peers;
  }

  /**
   * Best path among the list starting at `head` (linked by `next`), or -1. With
   * `excludeNoResale`, no-resale routes (class 3, by their tag) are not candidates. With `elim`, each
   * candidate path's eliminating step is written to `elim.get(path)`.
   */
  decide(
    head: number,
    next: Int32Array,
    pNbr: Int32Array,
    pAttr: Int32Array,
    excludeNoResale: boolean,
    elim?: Map<number, number>,
  ): number {
    let n = 0;
    let cand = this.#cand;
    for (let p = head; p !== -1; p = next[p]!) {
      if (excludeNoResale && this.#attrs.cls[pAttr[p]!] === RouteClass.NO_RESALE_PEER) continue;
      if (n === cand.length) {
        const c = new Int32Array(n * 2);
        c.set(cand);
        this.#cand = cand = c;
        this.#tmp = new Float64Array(n * 2);
      }
      cand[n++] = p;
    }
    if (n === 0) {
      this.reason = Step.NONE;
      return -1;
    }
    if (n === 1) {
      this.reason = Step.ONLY;
      return cand[0]!;
    }
    for (let step: number = Step.LOCAL_PREF; step <= Step.NEIGHBOR_ORDER; step++) {
      n = step === Step.MED ? this.#med(n, pAttr, elim) : this.#filter(step, n, pNbr, pAttr, elim);
      if (n === 1) {
        this.reason = step;
        return cand[0]!;
      }
    }
    // Unreachable: neighbor order is unique per prefix.
    this.reason = Step.NEIGHBOR_ORDER;
    return cand[0]!;
  }

  #value(step: number, p: number, pNbr: Int32Array, pAttr: Int32Array): number {
    const a = pAttr[p]!;
    switch (step) {
      case Step.LOCAL_PREF:
        return -this.#attrs.localPref[a]!;
      case Step.AS_PATH:
        return this.#attrs.pathLen[a]!;
      case Step.ORIGIN:
        return this.#attrs.origin[a]!;
      case Step.EBGP:
        return this.#peers[pNbr[p]!]!.ebgp ? 0 : 1;
      case Step.ROUTER_ID:
        return this.#peers[pNbr[p]!]!.routerId;
      default:
        return pNbr[p]!;
    }
  }

  /** Keeps the candidates with the lowest value for `step`; returns how many remain. */
  #filter(step: number, n: number, pNbr: Int32Array, pAttr: Int32Array, elim?: Map<number, number>): number {
    const cand = this.#cand;
    if (step === Step.PEER_ADDRESS) {
      let best = this.#peers[pNbr[cand[0]!]!]!.addrKey;
      for (let i = 1; i < n; i++) {
        const k = this.#peers[pNbr[cand[i]!]!]!.addrKey;
        if (k < best) best = k;
      }
      let m = 0;
      for (let i = 0; i < n; i++) {
        const p = cand[i]!;
        if (this.#peers[pNbr[p]!]!.addrKey === best) cand[m++] = p;
        else elim?.set(p, step);
      }
      return m;
    }
    const tmp = this.#tmp;
    let best = Number.POSITIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      const v = this.#value(step, cand[i]!, pNbr, pAttr);
      tmp[i] = v;
      if (v < best) best = v;
    }
    let m = 0;
    for (let i = 0; i < n; i++) {
      const p = cand[i]!;
      if (tmp[i] === best) cand[m++] = p;
      else elim?.set(p, step);
    }
    return m;
  }

  /** RFC 4271 §9.1.2.2 c): drop a route when one from the same neighbor AS has a lower MED. */
  #med(n: number, pAttr: Int32Array, elim?: Map<number, number>): number {
    const cand = this.#cand;
    const tmp = this.#tmp;
    const { med, nbrAs } = this.#attrs;
    for (let i = 0; i < n; i++) {
      const ai = pAttr[cand[i]!]!;
      let out = 0;
      for (let j = 0; j < n; j++) {
        const aj = pAttr[cand[j]!]!;
        if (nbrAs[aj] === nbrAs[ai] && med[aj]! < med[ai]!) {
          out = 1;
          break;
        }
      }
      tmp[i] = out;
    }
    let m = 0;
    for (let i = 0; i < n; i++) {
      const p = cand[i]!;
      if (tmp[i] === 0) cand[m++] = p;
      else elim?.set(p, Step.MED);
    }
    return m;
  }
}
