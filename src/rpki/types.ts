/**
 * RPKI types shared by the RTR client, the VRP table and (later) import policy. A VRP (RFC 6811
 * §2, "Validated ROA Payload") is a prefix, a maximum length and an origin AS. Prefixes use the
 * codec's compact keys (`Prefix4`: a number, `Prefix6`: a latin1 string, both with host bits
 * zero), so the RIB can validate its own keys without conversion; the family is `typeof prefix`.
 */
import type { Prefix4, Prefix6 } from '../bgp/wire/types.js';

export interface Vrp {
  prefix: Prefix4 | Prefix6;
  maxLength: number;
  /** Origin AS, 0–4294967295. AS 0 (RFC 6483 §4, RFC 7607) is stored but never matches. */
  asn: number;
}

/** RFC 6811 §2 validation states. */
export type RovState = 'valid' | 'invalid' | 'not-found';

/** What a commit changed, for the 'update' event and for re-validation. */
export interface VrpDeltaSummary {
  /** A full set from a Reset Query (or expiry), not a Serial Query delta. */
  full: boolean;
  announced: number;
  withdrawn: number;
  /** VRPs in the table after the commit. */
  vrps: number;
}
