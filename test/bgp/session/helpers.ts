/**
 * Shared set-up for session tests: neighbor configs, raw UPDATE bytes, waiting for FSM states.
 */
import type { State } from '../../../src/bgp/session/fsm.js';
import type { Peer } from '../../../src/bgp/session/peer.js';
import { withHeader } from '../../../src/bgp/wire/header.js';
import type { NeighborConfig } from '../../../src/config/types.js';

export function neighbor(over: Partial<NeighborConfig> = {}): NeighborConfig {
  return {
    name: 'n1',
    address: '127.0.0.2',
    remoteAs: 65001,
    role: 'transit',
    passive: false,
    port: 179,
    holdTime: 90,
    connectRetry: 1,
    families: ['ipv4-unicast', 'ipv6-unicast'],
    nextHopSelf: true,
    gracefulRestart: { enabled: false, restartTime: 120, staleTime: 360 },
    resale: true,
    noResale: false,
    ...over,
  };
}

export function waitState(peer: Peer, state: State, timeoutMs = 5000): Promise<void> {
  if (peer.state === state) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      peer.off('state', on);
      reject(new Error(`peer did not reach ${state} within ${timeoutMs} ms (is ${peer.state})`));
    }, timeoutMs);
    const on = (_from: State, to: State): void => {
      if (to === state) {
        clearTimeout(t);
        peer.off('state', on);
        resolve();
      }
    };
    peer.on('state', on);
  });
}

export const ORIGIN_IGP = [0x40, 1, 1, 0];

/** AS_PATH with one AS_SEQUENCE of 4-octet ASNs. */
export function asPath4(asns: number[]): number[] {
  const b = [0x40, 2, 2 + 4 * asns.length, 2, asns.length];
  for (const a of asns) b.push((a >>> 24) & 0xff, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff);
  return b;
}

export function nextHop(a: number, b: number, c: number, d: number): number[] {
  return [0x40, 3, 4, a, b, c, d];
}

/** An UPDATE message (with header) from raw parts: withdrawn NLRI bytes, attribute bytes, NLRI bytes. */
export function rawUpdate(withdrawn: number[], attrs: number[], nlri: number[]): Uint8Array {
  const body = [
    (withdrawn.length >> 8) & 0xff,
    withdrawn.length & 0xff,
    ...withdrawn,
    (attrs.length >> 8) & 0xff,
    attrs.length & 0xff,
    ...attrs,
    ...nlri,
  ];
  return withHeader(2, Uint8Array.from(body));
}

/** A valid IPv4 UPDATE announcing /24s 10.x.y.0 — here 198.51.100.0/24 style: [a,b,c] triples. */
export function announce24(asn: number, prefixes: [number, number, number][]): Uint8Array {
  const nlri: number[] = [];
  for (const [a, b, c] of prefixes) nlri.push(24, a, b, c);
  return rawUpdate([], [...ORIGIN_IGP, ...asPath4([asn]), ...nextHop(127, 0, 0, 2)], nlri);
}
