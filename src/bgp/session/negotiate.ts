/**
 * What a session says in its OPEN and what it makes of the peer's: our capabilities from the
 * neighbor config, the session-level OPEN checks the codec cannot do, and the negotiated result.
 *
 * RFC 4271 §6.2 (peer AS, BGP identifier, hold time), RFC 6286 §2.2 (identifier rules), RFC 6793
 * (4-octet AS), RFC 4760 (families; no MP capability means IPv4 unicast, §8 of RFC 4760 / RFC
 * 5492 §3), RFC 8654 (extended message: both sides), RFC 9234 §4.2 (role correctness), RFC 4724
 * (graceful restart advertised only when configured; §3 Restart State and Forwarding State bits
 * from the daemon's RestartState), RFC 2918 / RFC 7313 (route refresh).
 */
import { BgpMessageError } from '../wire/errors.js';
import {
  AFI_IPV4,
  AFI_IPV6,
  BgpRole,
  type Capabilities,
  type CodecContext,
  type Family,
  type OpenMessage,
  SAFI_UNICAST,
} from '../wire/types.js';
import { familyOf } from '../wire/capability.js';
import type { NeighborConfig, Role } from '../../config/types.js';
import { negotiateHoldTime } from './timers.js';

export const AS_TRANS = 23456;

const FAMILY_AFI: Record<Family, number> = { 'ipv4-unicast': AFI_IPV4, 'ipv6-unicast': AFI_IPV6 };

export { familyOf };

/** RFC 9234 §3: the role we announce is ours toward them, the mirror of what they are to us. */
export function localRole(role: Role): number | undefined {
  switch (role) {
    case 'customer':
      return BgpRole.PROVIDER;
    case 'transit':
      return BgpRole.CUSTOMER;
    case 'peer':
      return BgpRole.PEER;
    case 'internal':
      return undefined;
  }
}

/**
 * RFC 9234 §4.2: why the roles do not fit (answered with 2/11), or undefined. A peer that sends
 * no BGP Role is refused only in strict mode.
 */
function roleMismatch(
  ours: number | undefined,
  theirs: number | undefined,
  strict: boolean,
): string | undefined {
  if (ours === undefined) return undefined;
  if (theirs === undefined) return strict ? 'strict mode: no BGP Role received' : undefined;
  return rolesMatch(ours, theirs) ? undefined : `our role ${ours}, theirs ${theirs}`;
}

/** RFC 9234 §4.2, table 2: the pairs of (local, remote) roles that are correct. */
function rolesMatch(local: number, remote: number): boolean {
  switch (local) {
    case BgpRole.PROVIDER:
      return remote === BgpRole.CUSTOMER;
    case BgpRole.CUSTOMER:
      return remote === BgpRole.PROVIDER;
    case BgpRole.RS:
      return remote === BgpRole.RS_CLIENT;
    case BgpRole.RS_CLIENT:
      return remote === BgpRole.RS;
    case BgpRole.PEER:
      return remote === BgpRole.PEER;
    default:
      return false;
  }
}

/**
 * What the daemon says of itself in the Graceful Restart capability (RFC 4724 §3): whether it is
 * restarting (R bit, set only until its first route selection after a restart is done, §4.1),
 * and the families whose forwarding state it kept (F bit per family).
 */
export interface RestartState {
  restarting: boolean;
  forwarding: readonly Family[];
}

/** Not restarting, no forwarding state claimed: a daemon that has no kernel tables of its own. */
export const NO_RESTART: RestartState = { restarting: false, forwarding: [] };

export function buildOpen(
  neighbor: NeighborConfig,
  localAs: number,
  routerId: number,
  restart: RestartState = NO_RESTART,
): OpenMessage {
  const families = neighbor.families.map((f) => ({ afi: FAMILY_AFI[f], safi: SAFI_UNICAST }));
  const capabilities: Capabilities = {
    multiprotocol: families,
    routeRefresh: true,
    extendedMessage: true,
    enhancedRouteRefresh: true,
    as4: localAs,
    unknown: [],
  };
  const role = localRole(neighbor.role);
  if (role !== undefined) capabilities.role = role;
  if (neighbor.gracefulRestart.enabled) {
    // No N bit (RFC 8538): a NOTIFICATION sent or received always ends a session the RFC 4271
    // way, routes withdrawn (RFC 4724 §4).
    capabilities.gracefulRestart = {
      restarting: restart.restarting,
      notification: false,
      restartTime: Math.min(neighbor.gracefulRestart.restartTime, 4095),
      families: neighbor.families.map((f) => ({
        afi: FAMILY_AFI[f],
        safi: SAFI_UNICAST,
        forwarding: restart.forwarding.includes(f),
      })),
    };
  }
  return {
    version: 4,
    myAs: localAs > 0xffff ? AS_TRANS : localAs,
    holdTime: neighbor.holdTime,
    bgpId: routerId >>> 0,
    capabilities,
  };
}

/** The result of a successful OPEN exchange. */
export interface Negotiated {
  peerAs: number;
  peerRouterId: number;
  holdTime: number;
  as4: boolean;
  extendedMessage: boolean;
  families: Family[];
  ebgp: boolean;
  codec: CodecContext;
  remoteCapabilities: Capabilities;
}

export interface OpenExpectations {
  neighbor: NeighborConfig;
  localAs: number;
  routerId: number;
  ours: OpenMessage;
}

/** Checks a decoded OPEN against the neighbor config (§6.2) and negotiates; never throws. */
export function checkOpen(
  open: OpenMessage,
  x: OpenExpectations,
): { ok: true; value: Negotiated } | { ok: false; error: BgpMessageError } {
  const caps = open.capabilities;
  // RFC 6793 §4.2.1: with the capability, the 4-octet AS is the peer's AS.
  const peerAs = caps.as4 !== undefined ? caps.as4 >>> 0 : open.myAs;
  if (peerAs !== x.neighbor.remoteAs) {
    return {
      ok: false,
      error: new BgpMessageError(
        2,
        2,
        new Uint8Array(0),
        'session-reset',
        `AS ${peerAs}, expected ${x.neighbor.remoteAs}`,
      ),
    };
  }
  const ebgp = peerAs !== x.localAs;
  const id = open.bgpId >>> 0;
  // RFC 6286 §2.2: zero is never valid; our own identifier is invalid only from an internal peer.
  if (id === 0 || (!ebgp && id === x.routerId >>> 0)) {
    return {
      ok: false,
      error: new BgpMessageError(2, 3, new Uint8Array(0), 'session-reset', `identifier ${id}`),
    };
  }
  if (open.holdTime === 1 || open.holdTime === 2) {
    return {
      ok: false,
      error: new BgpMessageError(2, 6, new Uint8Array(0), 'session-reset', `hold time ${open.holdTime}`),
    };
  }
  const mismatch = roleMismatch(x.ours.capabilities.role, caps.role, x.neighbor.roleStrict === true);
  if (mismatch !== undefined) {
    return { ok: false, error: new BgpMessageError(2, 11, new Uint8Array(0), 'session-reset', mismatch) };
  }
  const theirs = new Set<Family>();
  if (caps.multiprotocol.length === 0) theirs.add('ipv4-unicast');
  for (const mp of caps.multiprotocol) {
    const f = familyOf(mp.afi, mp.safi);
    if (f !== undefined) theirs.add(f);
  }
  const families = x.neighbor.families.filter((f) => theirs.has(f));
  const as4 = caps.as4 !== undefined && x.ours.capabilities.as4 !== undefined;
  const extendedMessage = caps.extendedMessage && x.ours.capabilities.extendedMessage;
  return {
    ok: true,
    value: {
      peerAs,
      peerRouterId: id,
      holdTime: negotiateHoldTime(x.ours.holdTime, open.holdTime),
      as4,
      extendedMessage,
      families,
      ebgp,
      codec: { as4, extendedMessage, ebgp, localAs: x.localAs, peerAs },
      remoteCapabilities: caps,
    },
  };
}

/**
 * §6.8 with RFC 6286 §2.3: true when the connection *we* initiated survives a collision, i.e.
 * our identifier is the larger one (ties, possible on eBGP, go to the larger AS number).
 */
export function localWinsCollision(
  localId: number,
  remoteId: number,
  localAs: number,
  remoteAs: number,
): boolean {
  const l = localId >>> 0;
  const r = remoteId >>> 0;
  if (l !== r) return l > r;
  return localAs > remoteAs;
}
