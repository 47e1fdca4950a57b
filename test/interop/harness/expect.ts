/**
 * The route checks every interop file shares: what BIRD, GoBGP and the iBGP GoBGP must hold
 * after gredged passed the other side's routes on. eBGP receivers: our AS prepended, next hop
 * gredged's (next-hop self; the configured next-hop6 for IPv6), no MED (RFC 4271 §5.1.4), no
 * LOCAL_PREF (§5.1.5; only GoBGP can show its absence: BIRD assigns its own to eBGP routes),
 * exactly the communities and large communities the origin attached. iBGP receiver: path and
 * next hop as received (RFC 4271 §5.1.2, §5.1.3), MED kept, LOCAL_PREF 100 (our default for
 * routes learned over eBGP) sent, the same communities plus our source tag (LOCAL-AS:1:CLASS).
 */
import type { Test as Tap } from 'tap';
import { v4, v6 } from './netns.js';
import { type Route, type RouteSpec, isV6 } from './route.js';
import { AS, B, BIRD_ROUTES, G, GO, GOBGP_ROUTES, Topo } from './topo.js';

const sorted = (xs: readonly string[] | undefined) => [...(xs ?? [])].sort();

/** Exactly the origin's communities: none lost, none added, none rewritten. */
function communitiesKept(t: Tap, got: Route, spec: RouteSpec, where: string): void {
  t.same(
    sorted(got.communities),
    sorted(spec.communities),
    `${where}: ${spec.prefix} communities exactly as sent (${got.communities.join(' ')})`,
  );
  t.same(
    sorted(got.largeCommunities),
    sorted(spec.largeCommunities),
    `${where}: ${spec.prefix} large communities exactly as sent (${got.largeCommunities.join(' ')})`,
  );
}

/** LOCAL_PREF that gredged gives routes learned over eBGP (RFC 4271 §5.1.5 leaves it local). */
const DEFAULT_LOCAL_PREF = 100;

export function ebgpRoute(
  t: Tap,
  got: Route | undefined,
  spec: RouteSpec,
  originAs: number,
  where: string,
  receiver: 'bird' | 'gobgp',
): void {
  t.ok(got, `${where} holds ${spec.prefix}`);
  if (!got) return;
  t.same(got.asPath, [AS.gredged, originAs, ...(spec.asPath ?? [])], `${where}: ${spec.prefix} AS_PATH`);
  t.equal(got.nextHop, isV6(spec.prefix) ? v6(G) : v4(G), `${where}: ${spec.prefix} next hop is gredged's`);
  t.equal(got.med, undefined, `${where}: ${spec.prefix} no MED from a neighboring AS (RFC 4271 §5.1.4)`);
  if (receiver === 'gobgp')
    t.equal(got.localPref, undefined, `${where}: ${spec.prefix} no LOCAL_PREF to an external peer (§5.1.5)`);
  communitiesKept(t, got, spec, where);
}

export function ibgpRoute(
  t: Tap,
  got: Route | undefined,
  spec: RouteSpec,
  originAs: number,
  nextHop: string,
  where: string,
): void {
  // Toward iBGP the route carries its source tag, LOCAL-AS:1:1 for a customer's route.
  spec = { ...spec, largeCommunities: [...(spec.largeCommunities ?? []), `${AS.gredged}:1:1`] };
  t.ok(got, `${where} holds ${spec.prefix}`);
  if (!got) return;
  t.same(
    got.asPath,
    [originAs, ...(spec.asPath ?? [])],
    `${where}: ${spec.prefix} AS_PATH unchanged toward iBGP`,
  );
  t.equal(got.nextHop, nextHop, `${where}: ${spec.prefix} next hop unchanged toward iBGP`);
  t.equal(got.med, spec.med, `${where}: ${spec.prefix} MED as first received`);
  t.equal(got.localPref, DEFAULT_LOCAL_PREF, `${where}: ${spec.prefix} LOCAL_PREF sent toward iBGP`);
  communitiesKept(t, got, spec, where);
}

export const birdPrefixes = BIRD_ROUTES.map((r) => r.prefix);
export const gobgpPrefixes = GOBGP_ROUTES.map((r) => r.prefix);

/** Both directions, both families, all attributes; waits for the routes to arrive first. */
export async function routesBothWays(t: Tap, topo: Topo): Promise<void> {
  const atGobgp = await Topo.holding(
    'GoBGP holds BIRD routes via gredged',
    topo.gobgpFromGredged,
    birdPrefixes,
  );
  for (const r of BIRD_ROUTES) ebgpRoute(t, atGobgp.get(r.prefix), r, AS.bird, 'GoBGP', 'gobgp');
  const atBird = await Topo.holding(
    'BIRD holds GoBGP routes via gredged',
    topo.birdFromGredged,
    gobgpPrefixes,
  );
  for (const r of GOBGP_ROUTES) ebgpRoute(t, atBird.get(r.prefix), r, AS.gobgp, 'BIRD', 'bird');
  const all = [...birdPrefixes, ...gobgpPrefixes];
  const atIbgp = await Topo.holding('iBGP GoBGP holds both sides via gredged', topo.ibgpFromGredged, all);
  for (const r of BIRD_ROUTES)
    ibgpRoute(t, atIbgp.get(r.prefix), r, AS.bird, isV6(r.prefix) ? v6(B) : v4(B), 'iBGP GoBGP');
  for (const r of GOBGP_ROUTES)
    ibgpRoute(t, atIbgp.get(r.prefix), r, AS.gobgp, isV6(r.prefix) ? v6(GO) : v4(GO), 'iBGP GoBGP');
}
