/**
 * Shared pieces of the graceful-restart unit tests: a neighbor with graceful restart configured,
 * the capability a neighbor sends (RFC 4724 §3), session infos carrying it, and a RIB on
 * hand-driven timers with an eBGP observer whose sink shows what we export.
 */
import type { Family, GracefulRestartCapability, PathAttributes } from '../../src/bgp/wire/types.js';
import type { NeighborConfig } from '../../src/config/types.js';
import type { PeerChannel, SessionInfo } from '../../src/rib/channel.js';
import { attrs, DecodingSink, harness, LOCAL_AS, neighbor, sessionInfo } from '../rib/helpers.js';
import { FakeTimers } from './fake-timers.js';

export const BOTH: Family[] = ['ipv4-unicast', 'ipv6-unicast'];

/** A transit neighbor with graceful restart configured (stale-time `staleTime`). */
export function grNeighbor(name: string, as: number, address: string, staleTime = 360): NeighborConfig {
  return neighbor(name, 'transit', as, address, {
    gracefulRestart: { enabled: true, restartTime: 120, staleTime },
  });
}

/** The Graceful Restart capability a neighbor sends. */
export function grCap(
  o: { restartTime?: number; families?: Family[]; forwarding?: Family[]; restarting?: boolean } = {},
): GracefulRestartCapability {
  const families = o.families ?? BOTH;
  const fwd = o.forwarding ?? families;
  return {
    restarting: o.restarting ?? false,
    notification: false,
    restartTime: o.restartTime ?? 120,
    families: families.map((f) => ({
      afi: f === 'ipv4-unicast' ? 1 : 2,
      safi: 1,
      forwarding: fwd.includes(f),
    })),
  };
}

/** The session facts of `n` with capability `cap` (none: the neighbor sent no graceful restart). */
export function grInfo(
  n: NeighborConfig,
  routerId: number,
  cap: GracefulRestartCapability | undefined,
  families: Family[] = BOTH,
): SessionInfo {
  const base = sessionInfo(n, routerId);
  return {
    ...base,
    families,
    remoteCapabilities: { ...base.remoteCapabilities, ...(cap ? { gracefulRestart: cap } : {}) },
  };
}

export const NH6 = {
  global: Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]),
};

/** Attributes with both next hops, for announcements of either family. */
export function attrs46(path: number[], extra: Partial<PathAttributes> = {}): PathAttributes {
  return attrs(path, { nextHop6: NH6, ...extra });
}

/**
 * A RIB on fake timers with an observer (a customer, so it is fed every route) whose sink shows
 * what we export.
 */
export function grWorld() {
  const timers = new FakeTimers();
  const h = harness({ timers });
  const obsCfg = neighbor('obs', 'customer', 64999, '127.0.0.99');
  const obs = h.up(obsCfg, 99);
  /** Brings `n` up (again) with `info`; a fresh sink each time, as a new session has. */
  const up = (ch: PeerChannel, info: SessionInfo) => {
    const sink = new DecodingSink({ ebgp: info.ebgp, peerAs: LOCAL_AS, localAs: info.peerAs });
    ch.up(info, sink);
    return sink;
  };
  return { timers, h, rib: h.rib, obs: obs.sink, up };
}
