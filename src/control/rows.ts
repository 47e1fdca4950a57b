/**
 * Path attributes as operators read them (RouteRow), and a cursor over a lazy sequence of rows.
 */
import { AsPathSegmentType, formatIpv4, formatIpv6 } from '../bgp/wire/index.js';
import type { Family, PathAttributes } from '../bgp/wire/types.js';
import type { RouteCursor, RouteRow, RoutesHeader } from './target.js';

const ORIGINS = ['igp', 'egp', 'incomplete'] as const;

export function formatAsPath(a: Readonly<PathAttributes>): string {
  const parts: string[] = [];
  for (const s of a.asPath) {
    if (s.type === AsPathSegmentType.AS_SEQUENCE) parts.push(s.asns.join(' '));
    else if (s.type === AsPathSegmentType.AS_SET) parts.push(`{${s.asns.join(' ')}}`);
    else if (s.type === AsPathSegmentType.AS_CONFED_SEQUENCE) parts.push(`(${s.asns.join(' ')})`);
    else parts.push(`[${s.asns.join(' ')}]`);
  }
  return parts.join(' ');
}

export function routeRow(
  family: Family,
  prefix: string,
  neighbor: string,
  a: Readonly<PathAttributes>,
  best: boolean,
): RouteRow {
  const row: RouteRow = {
    family,
    prefix,
    neighbor,
    best,
    asPath: formatAsPath(a),
    origin: ORIGINS[a.origin] ?? 'incomplete',
  };
  if (family === 'ipv6-unicast' && a.nextHop6) row.nextHop = formatIpv6(a.nextHop6.global);
  else if (a.nextHop !== undefined) row.nextHop = formatIpv4(a.nextHop);
  if (a.localPref !== undefined) row.localPref = a.localPref;
  if (a.med !== undefined) row.med = a.med;
  if (a.communities?.length) row.communities = a.communities.map((c) => `${c >>> 16}:${c & 0xffff}`);
  if (a.largeCommunities?.length) {
    const l = a.largeCommunities;
    const out: string[] = [];
    for (let i = 0; i + 2 < l.length; i += 3) out.push(`${l[i]}:${l[i + 1]}:${l[i + 2]}`);
    row.largeCommunities = out;
  }
  if (a.otc !== undefined) row.otc = a.otc;
  return row;
}

/** A cursor over items produced lazily (a RIB generator), turned into rows only when kept. */
export function cursorOf<T>(
  header: RoutesHeader,
  items: Iterator<T>,
  toRow: (t: T) => RouteRow,
): RouteCursor {
  let done = false;
  return {
    header,
    next(max: number) {
      const rows: RouteRow[] = [];
      while (!done && rows.length < max) {
        const r = items.next();
        if (r.done) done = true;
        else rows.push(toRow(r.value));
      }
      return { rows, done };
    },
    skip(max: number) {
      let skipped = 0;
      while (!done && skipped < max) {
        if (items.next().done) done = true;
        else skipped++;
      }
      return { skipped, done };
    },
  };
}
