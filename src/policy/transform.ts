/**
 * Attribute rewriting on export. eBGP (RFC 4271 §5.1.2, §5.1.3, §5.1.4, §5.1.5): prepend our
 * AS, next-hop self, no LOCAL_PREF, MED not passed to another AS, confederation segments removed
 * (RFC 5065 §5.3). iBGP: AS_PATH unchanged, LOCAL_PREF always present, next hop unchanged unless
 * next-hop-self. Unknown optional transitive attributes ride along untouched (§5, Partial bit
 * already set by the codec). Our source tags are stripped toward eBGP; OTC is added toward
 * customers and peers (RFC 9234 §5). Pure: the interned input is never mutated.
 */
import {
  type AsPathSegment,
  AsPathSegmentType,
  type NextHop6,
  type PathAttributes,
} from '../bgp/wire/types.js';
import { withoutTags } from './import.js';

export interface ExportContext {
  localAs: number;
  ebgp: boolean;
  /** From the neighbor's config: true by default for eBGP, false for internal. */
  nextHopSelf: boolean;
  /** Our IPv4 next hop toward this neighbor, when we have one. */
  nextHop4?: number;
  /** Our IPv6 next hop toward this neighbor (RFC 2545 global), when we have one. */
  nextHop6?: NextHop6;
  /** RFC 9234 §5 egress: add OTC = localAs when the route has none (toward customers, peers). */
  addOtc?: boolean;
}

export function prependAs(path: readonly AsPathSegment[], asn: number): AsPathSegment[] {
  const out: AsPathSegment[] = [];
  for (const s of path) {
    if (s.type === AsPathSegmentType.AS_CONFED_SEQUENCE || s.type === AsPathSegmentType.AS_CONFED_SET)
      continue;
    out.push(s);
  }
  const first = out[0];
  if (first !== undefined && first.type === AsPathSegmentType.AS_SEQUENCE && first.asns.length < 255) {
    out[0] = { type: AsPathSegmentType.AS_SEQUENCE, asns: [asn, ...first.asns] };
  } else {
    out.unshift({ type: AsPathSegmentType.AS_SEQUENCE, asns: [asn] });
  }
  return out;
}

function common(a: PathAttributes, ctx: ExportContext): PathAttributes {
  const out: PathAttributes = {
    origin: a.origin,
    asPath: ctx.ebgp ? prependAs(a.asPath, ctx.localAs) : a.asPath,
    atomicAggregate: a.atomicAggregate,
  };
  if (!ctx.ebgp) {
    out.localPref = a.localPref ?? 100;
    if (a.med !== undefined) out.med = a.med;
  }
  if (a.aggregator !== undefined) out.aggregator = a.aggregator;
  if (a.communities !== undefined) out.communities = a.communities;
  // Our source tags (import.ts) travel inside the AS only.
  const large = ctx.ebgp ? withoutTags(a.largeCommunities, ctx.localAs) : a.largeCommunities;
  if (large !== undefined) out.largeCommunities = large;
  if (a.otc !== undefined) out.otc = a.otc;
  else if (ctx.addOtc) out.otc = ctx.localAs;
  if (a.unknown !== undefined && a.unknown.length > 0) out.unknown = a.unknown;
  return out;
}

/** Attributes for an IPv4 route toward a neighbor, or undefined when no usable next hop exists. */
export function exportAttributes4(a: PathAttributes, ctx: ExportContext): PathAttributes | undefined {
  const out = common(a, ctx);
  const nh = ctx.nextHopSelf ? (ctx.nextHop4 ?? a.nextHop) : (a.nextHop ?? ctx.nextHop4);
  if (nh === undefined) return undefined;
  out.nextHop = nh;
  return out;
}

/**
 * Attributes (without next hop: the IPv6 one travels in MP_REACH_NLRI, RFC 4760) and the IPv6
 * next hop for a route toward a neighbor; undefined when no usable next hop exists.
 */
export function exportAttributes6(
  a: PathAttributes,
  ctx: ExportContext,
): { attrs: PathAttributes; nextHop: NextHop6 } | undefined {
  // A received link-local next hop means nothing beyond the link it came from (RFC 2545 §3).
  const passed = a.nextHop6 !== undefined ? { global: a.nextHop6.global } : undefined;
  const nh = ctx.nextHopSelf ? (ctx.nextHop6 ?? passed) : (passed ?? ctx.nextHop6);
  if (nh === undefined) return undefined;
  return { attrs: common(a, ctx), nextHop: nh };
}
