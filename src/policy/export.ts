/**
 * Export eligibility: the role matrix (valley-free, as in RFC 9234 §5 / Gao–Rexford), iBGP
 * split horizon (RFC 4271 §9.2), RFC 1997 well-known communities and the no-resale rule.
 * Pure functions over config-level facts; the RIB compiles them into a bitmask per target
 * neighbor (`allowMask`) so the per-prefix check is one AND.
 */
import type { NeighborConfig, Role } from '../config/types.js';

export interface ExportSource {
  role: Role;
  noResale: boolean;
}

export interface ExportTarget {
  role: Role;
  resale: boolean;
}

/** Which best-path table a neighbor is served from. */
export type TableName = 'full' | 'resale';

const ROLES: readonly Role[] = ['customer', 'peer', 'transit', 'internal'];

/** Small integer naming where a route came from: role index, +4 when from a no-resale neighbor. */
export function sourceClass(from: ExportSource): number {
  return ROLES.indexOf(from.role) | (from.noResale ? 4 : 0);
}

export function classSource(cls: number): ExportSource {
  return { role: ROLES[cls & 3]!, noResale: (cls & 4) !== 0 };
}

/** The role matrix with the no-resale addition (ARCHITECTURE.md, "Roles and the no-resale rule"). */
export function mayExport(from: ExportSource, to: ExportTarget): boolean {
  let ok: boolean;
  switch (from.role) {
    case 'customer':
      ok = true;
      break;
    case 'peer':
    case 'transit':
      ok = to.role === 'customer' || to.role === 'internal';
      break;
    case 'internal':
      // iBGP split horizon: internal routes go only to eBGP neighbors.
      ok = to.role !== 'internal';
      break;
  }
  if (ok && from.noResale) ok = to.role === 'internal' || (to.role === 'customer' && !to.resale);
  return ok;
}

/** Bit `c` set when routes of source class `c` may be exported to `to`. */
export function allowMask(to: ExportTarget): number {
  let m = 0;
  for (let c = 0; c < 8; c++) if (mayExport(classSource(c), to)) m |= 1 << c;
  return m;
}

/** Reselling customers are served from the table without no-resale routes. */
export function exportTable(to: ExportTarget): TableName {
  return to.role === 'customer' && to.resale ? 'resale' : 'full';
}

export function targetOf(n: NeighborConfig): ExportTarget {
  return { role: n.role, resale: n.resale };
}

export function sourceOf(n: NeighborConfig): ExportSource {
  return { role: n.role, noResale: n.noResale };
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
