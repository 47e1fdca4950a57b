/**
 * `explain`: every candidate path of one prefix, the best of each table and the RFC 4271
 * §9.1.2.2 step that decided it, plus the step that eliminated each loser — what
 * `gredgectl show route X` prints. Slow path; never used while routes move.
 */
import { parsePrefix4, parsePrefix6 } from '../bgp/wire/index.js';
import type { Family, PathAttributes, Prefix4, Prefix6 } from '../bgp/wire/types.js';
import type { ExportPeer } from './adj-out.js';
import type { LocRib } from './loc-rib.js';

export interface ExplainedPath {
  neighbor: string;
  attrs: Readonly<PathAttributes>;
  /** Best of the full table. */
  best: boolean;
  /** Best of the resale table (what reselling customers get). */
  bestResale: boolean;
  /** Decision step that eliminated this path from the full table, when it lost. */
  eliminatedBy?: string;
  /** Excluded from the resale table (learned from a no-resale neighbor). */
  noResale: boolean;
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
}

export function explainPrefix(
  text: string,
  t4: LocRib<Prefix4>,
  t6: LocRib<Prefix6>,
  peers: readonly (({ name: string } & ExportPeer) | undefined)[],
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
  peers: readonly (({ name: string } & ExportPeer) | undefined)[],
  stepNames: readonly string[],
): Explanation | undefined {
  const e = t.index.find(key);
  if (e === -1 || e >= t.head.length || t.head[e] === -1) return undefined;
  const elim = new Map<number, number>();
  const b = t.decider.decide(t.head[e]!, t.pNext, t.pNbr, t.pAttr, false, elim);
  const reason = stepNames[t.decider.reason]!;
  const r = t.decider.decide(t.head[e]!, t.pNext, t.pNbr, t.pAttr, true);
  const resaleReason = stepNames[t.decider.reason]!;
  const candidates: ExplainedPath[] = [];
  for (let p = t.head[e]!; p !== -1; p = t.pNext[p]!) {
    const peer = peers[t.pNbr[p]!]!;
    const c: ExplainedPath = {
      neighbor: peer.name,
      attrs: t.attrs.get(t.pAttr[p]!),
      best: p === b,
      bestResale: p === r,
      noResale: peer.noResale,
    };
    const step = elim.get(p);
    if (step !== undefined) c.eliminatedBy = stepNames[step]!;
    candidates.push(c);
  }
  const out: Explanation = { family, prefix: text, candidates, reason, resaleReason };
  if (b !== -1) out.best = peers[t.pNbr[b]!]!.name;
  if (r !== -1) out.resaleBest = peers[t.pNbr[r]!]!.name;
  return out;
}
