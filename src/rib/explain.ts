/**
 * `explain`: every candidate path of one prefix, the best of each table and the RFC 4271
 * §9.1.2.2 step that decided it, plus the step that eliminated each loser, and the routes
 * refused on import with their reason — what `gredgectl show route X` prints. Slow path;
 * never used while routes move.
 */
import { parsePrefix4, parsePrefix6 } from '../bgp/wire/index.js';
import type { Family, PathAttributes, Prefix4, Prefix6 } from '../bgp/wire/types.js';
import { REFUSALS, type Refusal, RouteClass } from '../policy/import.js';
import type { ExportPeer } from './adj-out.js';
import type { LocRib } from './loc-rib.js';

/** What explain needs of a neighbor: its name and its refused routes. */
export type ExplainPeer = ExportPeer & {
  name: string;
  refused4: ReadonlyMap<Prefix4, number>;
  refused6: ReadonlyMap<Prefix6, number>;
};

const CLASS_NAMES = ['own', 'customer', 'peer', 'no-resale peer', 'transit'] as const;

export interface ExplainedPath {
  neighbor: string;
  attrs: Readonly<PathAttributes>;
  /** Best of the full table. */
  best: boolean;
  /** Best of the resale table (what reselling customers get). */
  bestResale: boolean;
  /** Decision step that eliminated this path from the full table, when it lost. */
  eliminatedBy?: string;
  /** Source class from the route's tag: own, customer, peer, no-resale peer, transit. */
  class: (typeof CLASS_NAMES)[number];
  /** Excluded from the resale table (a no-resale route). */
  noResale: boolean;
  /** Kept from the neighbor's last session, not announced again yet (graceful restart). */
  stale: boolean;
  /** RPKI state the route carries (LOCAL-AS:2:STATE), when validated. */
  rpki?: 'valid' | 'not-found' | 'invalid';
}

/** A route the import policy refused: in the neighbor's Adj-RIB-In, never a candidate. */
export interface RefusedPath {
  neighbor: string;
  reason: Refusal;
  /** As received. */
  attrs: Readonly<PathAttributes>;
  /** `rpki-invalid`: the covering VRPs, as text (`192.0.2.0/24-24 AS64500`). */
  vrps?: string[];
}

export interface Explanation {
  family: Family;
  prefix: string;
  candidates: ExplainedPath[];
  best?: string;
  /** The step that left one candidate: 'only path', 'local-pref', 'as-path length', ... */
  reason: string;
  resaleBest?: string;
  resaleReason: string;
  refused: RefusedPath[];
}

export function explainPrefix(
  text: string,
  t4: LocRib<Prefix4>,
  t6: LocRib<Prefix6>,
  peers: readonly (ExplainPeer | undefined)[],
  stepNames: readonly string[],
): Explanation | undefined {
  const p4 = parsePrefix4(text);
  if (p4 !== undefined) return explainIn(t4, p4, 'ipv4-unicast', text, peers, stepNames);
  const p6 = parsePrefix6(text);
  if (p6 !== undefined) return explainIn(t6, p6, 'ipv6-unicast', text, peers, stepNames);
  return undefined;
}

function explainIn<K extends Prefix4 | Prefix6>(
  t: LocRib<K>,
  key: K,
  family: Family,
  text: string,
  peers: readonly (ExplainPeer | undefined)[],
  stepNames: readonly string[],
): Explanation | undefined {
  const refused: RefusedPath[] = [];
  for (const peer of peers) {
    const v =
      family === 'ipv4-unicast' ? peer?.refused4.get(key as Prefix4) : peer?.refused6.get(key as Prefix6);
    if (v === undefined) continue;
    refused.push({ neighbor: peer!.name, reason: REFUSALS[v % 16]!, attrs: t.attrs.get(Math.floor(v / 16)) });
  }
  const e = t.index.find(key);
  if (e === -1 || e >= t.head.length || t.head[e] === -1) {
    if (refused.length === 0) return undefined;
    return {
      family,
      prefix: text,
      candidates: [],
      reason: stepNames[0]!,
      resaleReason: stepNames[0]!,
      refused,
    };
  }
  const elim = new Map<number, number>();
  const b = t.decider.decide(t.head[e]!, t.pNext, t.pNbr, t.pAttr, false, elim);
  const reason = stepNames[t.decider.reason]!;
  const r = t.decider.decide(t.head[e]!, t.pNext, t.pNbr, t.pAttr, true);
  const resaleReason = stepNames[t.decider.reason]!;
  const candidates: ExplainedPath[] = [];
  for (let p = t.head[e]!; p !== -1; p = t.pNext[p]!) {
    const peer = peers[t.pNbr[p]!]!;
    const cls = t.attrs.cls[t.pAttr[p]!]!;
    const c: ExplainedPath = {
      neighbor: peer.name,
      attrs: t.attrs.get(t.pAttr[p]!),
      best: p === b,
      bestResale: p === r,
      class: CLASS_NAMES[cls]!,
      noResale: cls === RouteClass.NO_RESALE_PEER,
      stale: t.isStale(e, t.pNbr[p]!),
    };
    const step = elim.get(p);
    if (step !== undefined) c.eliminatedBy = stepNames[step]!;
    candidates.push(c);
  }
  const out: Explanation = { family, prefix: text, candidates, reason, resaleReason, refused };
  if (b !== -1) out.best = peers[t.pNbr[b]!]!.name;
  if (r !== -1) out.resaleBest = peers[t.pNbr[r]!]!.name;
  return out;
}
