/**
 * Import policy: which routes a neighbor may give us, and the attributes we keep for them.
 * - Per UPDATE (attributes shared by its prefixes): AS_PATH loop (RFC 4271 §9.1.2), first AS of
 *   an eBGP path is the neighbor's (§6.3), RFC 9234 §5 OTC ingress (a leak is ineligible; OTC
 *   added on routes from providers and peers).
 * - Per prefix, from eBGP neighbors: the default route (from customers and peers), bogons,
 *   the provider's own space, and for customers anything outside their `prefixes`.
 * - Source tags: every eBGP route gets the large community LOCAL-AS:1:CLASS (1 customer, 2 peer,
 *   3 no-resale peer, 4 transit) after any LOCAL-AS:1:* it came with is scrubbed; an internal
 *   route keeps its tag (a fleet of edges shares the rule) and an untagged one is the provider's
 *   own (class 0).
 * Pure: compiled once per neighbor from the config, holds no state of its own.
 */
import { AsPathSegmentType, type PathAttributes, type Prefix4, type Prefix6 } from '../bgp/wire/types.js';
import type { NeighborConfig, Role } from '../config/types.js';
import { PrefixSet } from './prefix-set.js';

/** Where a route came from, as carried in its LOCAL-AS:1:CLASS tag. */
export const RouteClass = {
  /** Untagged, from an internal neighbor: the provider's own route. */
  OWN: 0,
  CUSTOMER: 1,
  PEER: 2,
  NO_RESALE_PEER: 3,
  TRANSIT: 4,
} as const;
export type RouteClass = (typeof RouteClass)[keyof typeof RouteClass];

/** The large-community function number of source tags (LOCAL-AS:1:CLASS). */
export const TAG_FUNCTION = 1;

/** Why a route was refused; stable names shown by the explain API, logs and counters. */
export const REFUSALS = [
  'as-loop',
  'first-as',
  'otc-leak',
  'default-route',
  'bogon',
  'own-prefix',
  'not-own-prefix',
] as const;
export type Refusal = (typeof REFUSALS)[number];

export function refusalCode(r: Refusal): number {
  return REFUSALS.indexOf(r);
}

export function refusalName(code: number): Refusal {
  return REFUSALS[code]!;
}

/** The class an eBGP neighbor's routes get. Internal neighbors have none: their tags decide. */
export function classOfNeighbor(role: Role, noResale: boolean): RouteClass | undefined {
  switch (role) {
    case 'customer':
      return RouteClass.CUSTOMER;
    case 'peer':
      return noResale ? RouteClass.NO_RESALE_PEER : RouteClass.PEER;
    case 'transit':
      return RouteClass.TRANSIT;
    case 'internal':
      return undefined;
  }
}

/**
 * The class an internal route's tags give it. Several tags (a misconfigured edge) or a class
 * this version does not know resolve to the most restrictive reading: no-resale.
 */
export function classOfTags(large: readonly number[] | undefined, localAs: number): RouteClass {
  if (large === undefined) return RouteClass.OWN;
  let found: number | undefined;
  for (let i = 0; i + 2 < large.length; i += 3) {
    if (large[i] !== localAs || large[i + 1] !== TAG_FUNCTION) continue;
    const c = large[i + 2]!;
    if (found !== undefined && found !== c) return RouteClass.NO_RESALE_PEER;
    found = c;
  }
  if (found === undefined) return RouteClass.OWN;
  return found >= RouteClass.CUSTOMER && found <= RouteClass.TRANSIT
    ? (found as RouteClass)
    : RouteClass.NO_RESALE_PEER;
}

/** Large communities without our tags (undefined when none is left), or `large` itself. */
export function withoutTags(large: readonly number[] | undefined, localAs: number): number[] | undefined {
  if (large === undefined) return undefined;
  let tagged = false;
  for (let i = 0; i + 2 < large.length; i += 3) {
    if (large[i] === localAs && large[i + 1] === TAG_FUNCTION) {
      tagged = true;
      break;
    }
  }
  if (!tagged) return large as number[];
  const out: number[] = [];
  for (let i = 0; i + 2 < large.length; i += 3) {
    if (large[i] === localAs && large[i + 1] === TAG_FUNCTION) continue;
    out.push(large[i]!, large[i + 1]!, large[i + 2]!);
  }
  return out.length > 0 ? out : undefined;
}

/** What the RIB hands the policy about the daemon as a whole. */
export interface GlobalPolicy {
  localAs: number;
  /** The provider's own space: nothing inside it is accepted from eBGP. */
  ownPrefixes: PrefixSet;
  bogons: PrefixSet;
}

export class ImportPolicy {
  readonly localAs: number;
  readonly role: Role;
  readonly ebgp: boolean;
  /** The tag our eBGP routes get; undefined for internal neighbors. */
  readonly cls: RouteClass | undefined;
  readonly #own: PrefixSet;
  readonly #bogons: PrefixSet;
  /** Customers: the prefixes they may announce. */
  readonly #allowed: PrefixSet | undefined;
  readonly #noDefault: boolean;

  constructor(n: NeighborConfig, g: GlobalPolicy) {
    this.localAs = g.localAs;
    this.role = n.role;
    this.ebgp = n.role !== 'internal';
    this.cls = classOfNeighbor(n.role, n.noResale);
    this.#own = g.ownPrefixes;
    this.#bogons = g.bogons;
    this.#allowed = n.role === 'customer' ? PrefixSet.of(n.prefixes ?? []) : undefined;
    this.#noDefault = n.role === 'customer' || n.role === 'peer';
  }

  /** Checks on the attributes every prefix of one UPDATE shares; `peerAs` is the session's. */
  checkAttributes(a: PathAttributes, peerAs: number): Refusal | undefined {
    for (const s of a.asPath) {
      for (const asn of s.asns) if (asn === this.localAs) return 'as-loop';
    }
    if (!this.ebgp) return undefined;
    const first = a.asPath[0];
    if (first === undefined || first.type !== AsPathSegmentType.AS_SEQUENCE || first.asns[0] !== peerAs)
      return 'first-as';
    // RFC 9234 §5, ingress 1 and 2: OTC from a customer, or from a peer that is not its value.
    if (a.otc !== undefined) {
      if (this.role === 'customer') return 'otc-leak';
      if (this.role === 'peer' && a.otc !== peerAs) return 'otc-leak';
    }
    return undefined;
  }

  checkPrefix4(p: Prefix4): Refusal | undefined {
    if (!this.ebgp) return undefined;
    if (p === 0) return this.#noDefault ? 'default-route' : undefined;
    if (this.#bogons.has4(p)) return 'bogon';
    if (this.#own.has4(p)) return 'own-prefix';
    if (this.#allowed !== undefined && !this.#allowed.has4(p)) return 'not-own-prefix';
    return undefined;
  }

  checkPrefix6(p: Prefix6): Refusal | undefined {
    if (!this.ebgp) return undefined;
    if (p.charCodeAt(0) === 0) return this.#noDefault ? 'default-route' : undefined;
    if (this.#bogons.has6(p)) return 'bogon';
    if (this.#own.has6(p)) return 'own-prefix';
    if (this.#allowed !== undefined && !this.#allowed.has6(p)) return 'not-own-prefix';
    return undefined;
  }

  /** RFC 9234 §5 ingress 3: the OTC to add (the neighbor's AS) on a route from a provider or peer. */
  otcToAdd(a: PathAttributes, peerAs: number): number | undefined {
    return a.otc === undefined && (this.role === 'transit' || this.role === 'peer') ? peerAs : undefined;
  }

  /**
   * The attributes to store: for eBGP our tag (`cls`) replaces any LOCAL-AS:1:* it came with,
   * and `otcToAdd` applies. Returns `a` itself for internal neighbors. The RIB does the same
   * without an object per UPDATE (rib/attr-words.ts ImportOverlay; a test checks they agree).
   */
  rewrite(a: PathAttributes, peerAs: number): PathAttributes {
    if (this.cls === undefined) return a;
    const out: PathAttributes = { ...a };
    const large = withoutTags(a.largeCommunities, this.localAs);
    out.largeCommunities = [...(large ?? []), this.localAs, TAG_FUNCTION, this.cls];
    const otc = this.otcToAdd(a, peerAs);
    if (otc !== undefined) out.otc = otc;
    return out;
  }

  /** The class of a stored route (after `rewrite`): ours for eBGP, its tag's for internal. */
  classOf(stored: PathAttributes): RouteClass {
    return this.cls ?? classOfTags(stored.largeCommunities, this.localAs);
  }
}
