/**
 * Structural hash and equality of path-attribute sets for interning, without building strings:
 * a full-table load interns once per UPDATE, so this is on the hot path.
 */
import type { AsPathSegment, NextHop6, PathAttributes } from '../bgp/wire/types.js';

function mix(h: number, v: number): number {
  let k = Math.imul(v | 0, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  h ^= Math.imul(k, 0x1b873593);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function mixBytes(h: number, b: Uint8Array): number {
  h = mix(h, b.length);
  for (let i = 0; i < b.length; i++) h = mix(h, b[i]!);
  return h;
}

function mixNums(h: number, xs: readonly number[] | undefined): number {
  // Absent and empty hash alike: both mean no attribute on the wire (see eqNums).
  if (xs === undefined || xs.length === 0) return mix(h, -1);
  h = mix(h, xs.length);
  for (let i = 0; i < xs.length; i++) h = mix(h, xs[i]!);
  return h;
}

/** Hash of `a` as it would be stored with LOCAL_PREF `lp` (undefined: as carried). */
export function hashAttrs(a: PathAttributes, lp: number | undefined): number {
  let h = mix(0x9747b28c, a.origin);
  const l = lp ?? a.localPref;
  h = mix(h, l === undefined ? -1 : l);
  h = mix(h, a.med === undefined ? -1 : a.med);
  h = mix(h, a.nextHop === undefined ? -1 : a.nextHop);
  h = mix(h, a.atomicAggregate ? 1 : 0);
  h = mix(h, a.asPath.length);
  for (const s of a.asPath) h = mixNums(mix(h, s.type), s.asns);
  if (a.nextHop6 !== undefined) {
    h = mixBytes(h, a.nextHop6.global);
    if (a.nextHop6.linkLocal !== undefined) h = mixBytes(h, a.nextHop6.linkLocal);
  }
  if (a.aggregator !== undefined) h = mix(mix(h, a.aggregator.asn), a.aggregator.address);
  h = mixNums(h, a.communities);
  h = mixNums(h, a.largeCommunities);
  h = mix(h, a.otc === undefined ? -1 : a.otc);
  if (a.unknown !== undefined) {
    for (const u of a.unknown) h = mixBytes(mix(mix(h, u.flags), u.code), u.value);
  }
  return h;
}

function eqNums(x: readonly number[] | undefined, y: readonly number[] | undefined): boolean {
  if (x === y) return true;
  // An empty list and an absent one encode the same (no attribute).
  const xl = x === undefined ? 0 : x.length;
  const yl = y === undefined ? 0 : y.length;
  if (xl !== yl) return false;
  for (let i = 0; i < xl; i++) if (x![i] !== y![i]) return false;
  return true;
}

function eqBytes(x: Uint8Array | undefined, y: Uint8Array | undefined): boolean {
  if (x === y) return true;
  if (x === undefined || y === undefined || x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

function eqPath(x: readonly AsPathSegment[], y: readonly AsPathSegment[]): boolean {
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) {
    if (x[i]!.type !== y[i]!.type || !eqNums(x[i]!.asns, y[i]!.asns)) return false;
  }
  return true;
}

function eqNh6(x: NextHop6 | undefined, y: NextHop6 | undefined): boolean {
  if (x === undefined || y === undefined) return x === y;
  return eqBytes(x.global, y.global) && eqBytes(x.linkLocal, y.linkLocal);
}

/** Whether stored set `s` equals `a` with LOCAL_PREF `lp` (undefined: as carried). */
export function equalAttrs(s: PathAttributes, a: PathAttributes, lp: number | undefined): boolean {
  if (s === a && lp === undefined) return true;
  if (
    s.origin !== a.origin ||
    s.localPref !== (lp ?? a.localPref) ||
    s.med !== a.med ||
    s.nextHop !== a.nextHop ||
    s.atomicAggregate !== a.atomicAggregate ||
    s.otc !== a.otc
  ) {
    return false;
  }
  if (!eqPath(s.asPath, a.asPath) || !eqNh6(s.nextHop6, a.nextHop6)) return false;
  if (s.aggregator !== a.aggregator) {
    if (s.aggregator === undefined || a.aggregator === undefined) return false;
    if (s.aggregator.asn !== a.aggregator.asn || s.aggregator.address !== a.aggregator.address) return false;
  }
  if (!eqNums(s.communities, a.communities) || !eqNums(s.largeCommunities, a.largeCommunities)) return false;
  const su = s.unknown ?? [];
  const au = a.unknown ?? [];
  if (su.length !== au.length) return false;
  for (let i = 0; i < su.length; i++) {
    if (
      su[i]!.flags !== au[i]!.flags ||
      su[i]!.code !== au[i]!.code ||
      !eqBytes(su[i]!.value, au[i]!.value)
    ) {
      return false;
    }
  }
  return true;
}
