/**
 * Export eligibility: the role matrix over route classes (the source tags of import.ts), iBGP
 * split horizon (RFC 4271 §9.2), RFC 9234 §5 OTC egress, RFC 1997 well-known communities and
 * the no-resale rule. Pure functions over config-level facts; the RIB compiles them into a
 * bitmask per target neighbor (`allowMask`) so the per-prefix check is one AND.
 */
import type { NeighborConfig, Role } from '../config/types.js';
import { RouteClass } from './import.js';

/** Where a route came from, for export: its class (tag) and whether it was learned over iBGP. */
export interface ExportSource {
  cls: RouteClass;
  /** Learned from an `internal` neighbor: never passed to another one (iBGP split horizon). */
  viaIbgp: boolean;
}

export interface ExportTarget {
  role: Role;
  resale: boolean;
}

/** Which best-path table a neighbor is served from. */
export type TableName = 'full' | 'resale';

/** Number of distinct export keys (class 0..4, twice: learned over eBGP or iBGP). */
export const EXPORT_KEYS = 10;

/** The small integer the RIB tests against a target's mask: class, +5 when learned over iBGP. */
export function exportKey(cls: number, viaIbgp: boolean): number {
  return cls + (viaIbgp ? 5 : 0);
}

export function keySource(key: number): ExportSource {
  return { cls: (key % 5) as RouteClass, viaIbgp: key >= 5 };
}

/**
 * The valley-free role matrix (Gao–Rexford; RFC 9234 §5 speaks of the same relationships) with
 * the no-resale addition: customer routes go to everyone; peer and transit routes to customers
 * and internal neighbors; no-resale peer routes to internal neighbors and `resale: false`
 * customers only; the provider's own (untagged internal) routes to every eBGP neighbor. Routes
 * learned over iBGP are not passed to internal neighbors (RFC 4271 §9.2).
 */
export function mayExport(from: ExportSource, to: ExportTarget): boolean {
  if (from.viaIbgp && to.role === 'internal') return false;
  switch (from.cls) {
    case RouteClass.OWN:
    case RouteClass.CUSTOMER:
      return true;
    case RouteClass.PEER:
    case RouteClass.TRANSIT:
      return to.role === 'customer' || to.role === 'internal';
    case RouteClass.NO_RESALE_PEER:
      return to.role === 'internal' || (to.role === 'customer' && !to.resale);
  }
}

/** Bit `k` set when routes of export key `k` may go to `to`. */
export function allowMask(to: ExportTarget): number {
  let m = 0;
  for (let k = 0; k < EXPORT_KEYS; k++) if (mayExport(keySource(k), to)) m |= 1 << k;
  return m;
}

/** Reselling customers are served from the table without no-resale routes. */
export function exportTable(to: ExportTarget): TableName {
  return to.role === 'customer' && to.resale ? 'resale' : 'full';
}

/**
 * The deny below all policy: a no-resale route never reaches a reselling customer, whatever
 * the masks, tables or a later rule say. The RIB checks it on every export on its own.
 */
export function neverToReseller(to: ExportTarget): boolean {
  return to.role === 'customer' && to.resale;
}

/** RFC 9234 §5 egress: a route carrying OTC is not propagated to providers or peers. */
export function otcBlocks(to: ExportTarget): boolean {
  return to.role === 'transit' || to.role === 'peer';
}

/** RFC 9234 §5 egress: OTC = our AS is added on routes to customers and peers that lack one. */
export function otcAdds(to: ExportTarget): boolean {
  return to.role === 'customer' || to.role === 'peer';
}

export function targetOf(n: NeighborConfig): ExportTarget {
  return { role: n.role, resale: n.resale };
}

/**
 * RFC 1997: NO_ADVERTISE goes to nobody; NO_EXPORT and NO_EXPORT_SUBCONFED stay inside the AS
 * (we run no confederation, so the sub-confederation is the AS).
 */
export function communitiesAllow(communities: readonly number[] | undefined, toEbgp: boolean): boolean {
  if (communities === undefined) return true;
  for (const c of communities) {
    if (c === 0xffffff02) return false;
    if (toEbgp && (c === 0xffffff01 || c === 0xffffff03)) return false;
  }
  return true;
}
