/**
 * Where a best path sends packets: into a customer's tunnel (the route came from the BGP session
 * that runs inside that tunnel, or its next hop is the far end of the tunnel's inner subnet), or
 * to a gateway (the BGP next hop of a peer, transit or internal route). Pure: built once from the
 * config, asked once per best-path change; the FIB turns targets into tunnel-LPM entries and
 * kernel routes.
 */
import { parseIpv4, parseIpv6 } from '../bgp/wire/prefix.js';
import type { Family, PathAttributes } from '../bgp/wire/types.js';
import type { Config } from '../config/types.js';

export type Target =
  | { kind: 'tunnel'; tunnel: string }
  | { kind: 'gateway'; family: Family; address: Uint8Array }
  /** No usable next hop: the route cannot be forwarded (counted by the FIB). */
  | { kind: 'none' };

interface Subnet {
  tunnel: string;
  bytes: Uint8Array;
  len: number;
  /** Our own address in it: a route "via" us is not a route into the tunnel. */
  ours: Uint8Array;
}

function inSubnet(a: Uint8Array, s: Subnet): boolean {
  if (a.length !== s.bytes.length) return false;
  const whole = s.len >> 3;
  for (let i = 0; i < whole; i++) if (a[i] !== s.bytes[i]) return false;
  const rest = s.len & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (a[whole]! & mask) === (s.bytes[whole]! & mask);
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function v4Bytes(n: number): Uint8Array {
  return Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

function nextHopOf(family: Family, a: Readonly<PathAttributes>): Uint8Array | undefined {
  if (family === 'ipv4-unicast') return a.nextHop !== undefined ? v4Bytes(a.nextHop) : undefined;
  return a.nextHop6?.global;
}

/** `addr/len` of an interface address (config-checked): its bytes, length and network. */
function subnetOf(tunnel: string, cidr: string): Subnet | undefined {
  const [addr, lenText] = cidr.split('/') as [string, string];
  const len = Number(lenText);
  const v4 = parseIpv4(addr);
  const ours = v4 !== undefined ? v4Bytes(v4) : parseIpv6(addr);
  if (ours === undefined) return undefined;
  return { tunnel, bytes: ours, len, ours };
}

/** Whether the target of a best path (its family, neighbor and attributes) may have changed. */
export type Retarget = (family: Family, neighbor: string, a: Readonly<PathAttributes>) => boolean;

export class TargetResolver {
  /** Neighbor name → the tunnel its session runs inside. */
  readonly #sessionTunnel = new Map<string, string>();
  readonly #subnets4: Subnet[] = [];
  readonly #subnets6: Subnet[] = [];

  constructor(cfg: Pick<Config, 'neighbors' | 'tunnels'>) {
    for (const n of cfg.neighbors) if (n.tunnel !== undefined) this.#sessionTunnel.set(n.name, n.tunnel);
    for (const t of cfg.tunnels) {
      const s4 = t.inner.local !== undefined ? subnetOf(t.name, t.inner.local) : undefined;
      const s6 = t.inner.local6 !== undefined ? subnetOf(t.name, t.inner.local6) : undefined;
      if (s4) this.#subnets4.push(s4);
      if (s6) this.#subnets6.push(s6);
    }
  }

  /** The target of a best path learned from `neighbor` with attributes `a`. */
  resolve(family: Family, neighbor: string, a: Readonly<PathAttributes>): Target {
    const tunnel = this.#sessionTunnel.get(neighbor);
    if (tunnel !== undefined) return { kind: 'tunnel', tunnel };
    const nh = nextHopOf(family, a);
    if (nh === undefined) return { kind: 'none' };
    for (const s of nh.length === 4 ? this.#subnets4 : this.#subnets6) {
      if (inSubnet(nh, s) && !equal(nh, s.ours)) return { kind: 'tunnel', tunnel: s.tunnel };
    }
    // An IPv4 route whose next hop came in MP_REACH as IPv4-mapped IPv6 is still an IPv4 gateway.
    return { kind: 'gateway', family: nh.length === 4 ? 'ipv4-unicast' : 'ipv6-unicast', address: nh };
  }

  /**
   * Takes a reloaded config (Fib.reconfigure). Returns undefined when no target can have
   * changed, else which best paths may have: those of a neighbor that moved into, out of or
   * between tunnels, and those whose next hop lies in an inner subnet that was added, removed or
   * changed (old or new). Everything else resolves as before, so a reload that adds one
   * customer re-resolves that customer's routes, not the full table.
   */
  reconfigure(cfg: Pick<Config, 'neighbors' | 'tunnels'>): Retarget | undefined {
    const next = new TargetResolver(cfg);
    const moved = new Set<string>();
    for (const [n, t] of this.#sessionTunnel) if (next.#sessionTunnel.get(n) !== t) moved.add(n);
    for (const [n, t] of next.#sessionTunnel) if (this.#sessionTunnel.get(n) !== t) moved.add(n);
    const text = (s: Subnet) => `${s.tunnel}|${s.bytes.join('.')}|${s.len}|${s.ours.join('.')}`;
    const changed = (a: Subnet[], b: Subnet[]) => {
      const inB = new Set(b.map(text));
      return a.filter((s) => !inB.has(text(s)));
    };
    const subnets = [
      ...changed(this.#subnets4, next.#subnets4),
      ...changed(next.#subnets4, this.#subnets4),
      ...changed(this.#subnets6, next.#subnets6),
      ...changed(next.#subnets6, this.#subnets6),
    ];
    if (moved.size === 0 && subnets.length === 0) return undefined;
    this.#sessionTunnel.clear();
    for (const [n, t] of next.#sessionTunnel) this.#sessionTunnel.set(n, t);
    this.#subnets4.splice(0, this.#subnets4.length, ...next.#subnets4);
    this.#subnets6.splice(0, this.#subnets6.length, ...next.#subnets6);
    return (family, neighbor, a) => {
      if (moved.has(neighbor)) return true;
      if (subnets.length === 0) return false;
      const nh = nextHopOf(family, a);
      return nh !== undefined && subnets.some((s) => inSubnet(nh, s));
    };
  }
}

export function sameTarget(a: Target | undefined, b: Target | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.kind !== b.kind) return false;
  if (a.kind === 'tunnel') return a.tunnel === (b as typeof a).tunnel;
  if (a.kind === 'gateway') return equal(a.address, (b as typeof a).address);
  return true;
}
