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
 * - RPKI route-origin validation (RFC 6811, docs/rpki.md): the state of an eBGP route is carried
 *   as LOCAL-AS:2:STATE (0 valid, 1 not-found, 2 invalid; RFC 8097's numbers) after any
 *   LOCAL-AS:2:* it came with is scrubbed; internal routes keep theirs (the edge that learned the
 *   route from eBGP validated it). An Invalid eBGP route is refused (`rpki-invalid`) unless the
 *   config says `rpki.invalid: keep`.
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
/** The large-community function number of RPKI states (LOCAL-AS:2:STATE). */
export const ROV_FUNCTION = 2;

/**
 * RPKI origin-validation states as carried in LOCAL-AS:2:STATE (RFC 8097 §2 numbers them the
 * same way for its extended community). `NONE` (-1) is "not validated": no rpki configured, a
 * route refused for another reason, or an internal route that carries no state.
 */
export const Rov = { NONE: -1, VALID: 0, NOT_FOUND: 1, INVALID: 2 } as const;
export type Rov = (typeof Rov)[keyof typeof Rov];
export const ROV_NAMES = ['valid', 'not-found', 'invalid'] as const;

/** The RPKI state a stored set carries (LOCAL-AS:2:STATE), or Rov.NONE; an unknown value too. */
export function rovOfTags(large: readonly number[] | undefined, localAs: number): Rov {
  if (large === undefined) return Rov.NONE;
  for (let i = 0; i + 2 < large.length; i += 3) {
    if (large[i] !== localAs || large[i + 1] !== ROV_FUNCTION) continue;
    const v = large[i + 2]!;
    return v === Rov.VALID || v === Rov.NOT_FOUND || v === Rov.INVALID ? v : Rov.NONE;
  }
  return Rov.NONE;
}

/**
 * The origin AS of a route for RFC 6811 §2: the rightmost AS of the final AS_SEQUENCE; 0
 * ("NONE", which no VRP matches) when the path ends in an AS_SET or is empty. Confederation
 * segments (RFC 5065) are the local confederation's, not the origin's, and are skipped.
 */
export function originAsOf(a: PathAttributes): number {
  const path = a.asPath;
  for (let i = path.length - 1; i >= 0; i--) {
    const s = path[i]!;
    if (s.type === AsPathSegmentType.AS_SEQUENCE) return s.asns.length > 0 ? s.asns[s.asns.length - 1]! : 0;
    if (s.type === AsPathSegmentType.AS_SET) return 0;
  }
  return 0;
}

/** Why a route was refused; stable names shown by the explain API, logs and counters. */
export const REFUSALS = [
  'as-loop',
  'first-as',
  'otc-leak',
  'default-route',
  'bogon',
  'own-prefix',
  'not-own-prefix',
  'rpki-invalid',
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

/** Ours: LOCAL-AS:1:* (source tags) and LOCAL-AS:2:* (RPKI states). */
function isOurs(large: readonly number[], i: number, localAs: number): boolean {
  return large[i] === localAs && (large[i + 1] === TAG_FUNCTION || large[i + 1] === ROV_FUNCTION);
}

/**
 * Large communities without our tags and RPKI states (undefined when none is left), or `large`
 * itself when it has none: scrubbed on eBGP ingress, stripped toward eBGP on export.
 */
export function withoutTags(large: readonly number[] | undefined, localAs: number): number[] | undefined {
  if (large === undefined) return undefined;
  let tagged = false;
  for (let i = 0; i + 2 < large.length; i += 3) {
    if (isOurs(large, i, localAs)) {
      tagged = true;
      break;
    }
  }
  if (!tagged) return large as number[];
  const out: number[] = [];
  for (let i = 0; i + 2 < large.length; i += 3) {
    if (isOurs(large, i, localAs)) continue;
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
   * The attributes to store: for eBGP our tag (`cls`) and, when validated, the RPKI state
   * (`rov`) replace any LOCAL-AS:1:* and LOCAL-AS:2:* it came with, and `otcToAdd` applies.
   * Returns `a` itself for internal neighbors. The RIB does the same without an object per
   * UPDATE (rib/attr-words.ts ImportOverlay; a test checks they agree).
   */
  rewrite(a: PathAttributes, peerAs: number, rov: Rov = Rov.NONE): PathAttributes {
    if (this.cls === undefined) return a;
    const out: PathAttributes = { ...a };
    const large = withoutTags(a.largeCommunities, this.localAs);
    out.largeCommunities = [...(large ?? []), this.localAs, TAG_FUNCTION, this.cls];
    if (rov !== Rov.NONE) out.largeCommunities.push(this.localAs, ROV_FUNCTION, rov);
    const otc = this.otcToAdd(a, peerAs);
    if (otc !== undefined) out.otc = otc;
    return out;
  }

  /** The class of a stored route (after `rewrite`): ours for eBGP, its tag's for internal. */
  classOf(stored: PathAttributes): RouteClass {
    return this.cls ?? classOfTags(stored.largeCommunities, this.localAs);
  }
}
