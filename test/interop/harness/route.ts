/**
 * The route shape the interop helpers read from BIRD (`birdc show route all`) and GoBGP
 * (`gobgp global rib -j`), so that tests compare one form whatever daemon received the route.
 */
export interface Route {
  prefix: string;
  /** Address of the neighbor it was learned from ('' if local). */
  from: string;
  asPath: number[];
  nextHop: string;
  med?: number;
  /** As shown by the receiver (BIRD shows the one it assigned to eBGP routes, GoBGP only one sent). */
  localPref?: number;
  /** RFC 1997, as "asn:value". */
  communities: string[];
  /** RFC 8092, as "global:local1:local2". */
  largeCommunities: string[];
}

/** A route a test asks a daemon to originate. `asPath` is what follows the daemon's own AS. */
export interface RouteSpec {
  prefix: string;
  asPath?: number[];
  med?: number;
  communities?: string[];
  largeCommunities?: string[];
  /** GoBGP needs one; BIRD uses its session address (or the channel's next hop address). */
  nextHop?: string;
}

export const isV6 = (prefix: string) => prefix.includes(':');

export function byPrefix(routes: Route[]): Map<string, Route> {
  return new Map(routes.map((r) => [r.prefix, r]));
}
