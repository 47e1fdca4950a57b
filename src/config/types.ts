/**
 * The validated, typed daemon config. YAML keys are kebab-case (`remote-as`); here they are
 * camelCase. This shape is what every module is handed; the loader (load.ts) produces it.
 */
import type { Family } from '../bgp/wire/types.js';

export type Role = 'customer' | 'peer' | 'transit' | 'internal';

export interface NeighborConfig {
  name: string;
  address: string; // IPv4 or IPv6 literal
  remoteAs: number;
  role: Role;
  passive: boolean; // default false: we connect (and also accept)
  port: number; // remote port, default 179
  localAddress?: string; // source address for outgoing connections
  nextHop6?: string; // IPv6 next hop we announce with next-hop-self when the session runs over IPv4
  holdTime: number; // default 90; 0 or 3..65535
  connectRetry: number; // seconds, default 30 (base of the backoff)
  families: Family[]; // default [ipv4-unicast, ipv6-unicast]
  nextHopSelf: boolean; // default true for eBGP, false for internal
  gracefulRestart: { enabled: boolean; restartTime: number }; // default { false, 120 }
  description?: string;
  /** customers only: may they resell what they receive (see no-resale policy). default true */
  resale: boolean;
  /** peers only: routes from this peer must never reach reselling customers. default false */
  noResale: boolean;
  /** The tunnel (by name) this neighbor's session runs inside, if any. */
  tunnel?: string;
  /** customers only: the prefixes they may announce (`PREFIX`, `PREFIX le N`, `ge`); default none */
  prefixes?: string[];
  /** Prefixes the neighbor may send (counted before filtering) and what happens beyond. */
  maxPrefix?: MaxPrefixConfig;
  /** RFC 9234: refuse a session whose peer does not announce the matching BGP Role. default false */
  roleStrict?: boolean;
}

export interface MaxPrefixConfig {
  limit: number;
  /** warn: log once per crossing; restart: Cease 6/1 (RFC 4486) and stay down `restartAfter` s */
  action: 'warn' | 'restart';
  restartAfter: number; // seconds, default 60
}

export interface TunnelConfig {
  name: string;
  remote: string; // underlay address of the far end (IPv4 or IPv6)
  local?: string; // underlay local address (default: underlay.local / local6 by family)
  key: number; // GRE key, uint32
  mtu: number; // inner MTU, default 1472 (IPv4 underlay with key) / 1452 (IPv6)
  inner: { local?: string; local6?: string }; // CIDR: addresses gredged puts on the TUN
  allowedSources: string[]; // CIDRs, anti-spoofing on decap
  routes: string[]; // CIDRs routed into this tunnel
  mssClamp: boolean; // default true
  sequence: boolean; // RFC 2890 sequence numbers, default false
  checksum: boolean; // RFC 2784 checksum, default false
  keepalive?: { interval: number; retries: number }; // originate Cisco-style keepalives
}

export interface DataplaneConfig {
  tun: string; // default gredge0
  workers: number; // default 2
  persistent: boolean; // keep the TUN on exit, default false
  offload: boolean; // TUN offloads (vnet header, TSO/GRO in the workers), default true
  directTx: boolean; // AF_PACKET transmit on the underlay device (bypasses IP output), default true
}

/** Where best paths are programmed (src/fib): two kernel tables and the policy rules. */
export interface FibConfig {
  fullTable: number; // default 201: every best path (the provider's own traffic, resale:false customers)
  resaleTable: number; // default 202: best paths without no-resale peers' routes (reselling customers)
  protocol: number; // default 250: the route and rule protocol that marks what gredged owns
  rulePriority: number; // default 1000: the first of the five rule priorities gredged uses
  kernel: boolean; // default true; false: tunnel LPMs only, no kernel routes or rules
}

/** The control socket gredgectl talks to (src/control). */
export interface ControlConfig {
  socket: string; // default /run/gredge/gredge.sock
  mode: number; // file mode of the socket, default 0o660
  group?: string; // group owning the socket (name), default: gredged's own
}

export interface Config {
  /** Path of the file this came from (for messages). */
  source: string;
  routerId: string;
  localAs: number;
  listen: { address: string; port: number } | null; // null: no listener
  neighbors: NeighborConfig[];
  dataplane?: DataplaneConfig; // present when the YAML has `dataplane:` or tunnels
  underlay?: { local?: string; local6?: string };
  tunnels: TunnelConfig[];
  log: { level: 'trace' | 'debug' | 'info' | 'warn' | 'error' };
  /** The provider's own address space (CIDR): nothing inside it is accepted from eBGP. */
  ownPrefixes: string[];
  /** Prefix rules refused from every eBGP neighbor; undefined: the default list (policy/bogons.ts). */
  bogons?: string[];
  /** null: `fib: false`, best paths are programmed nowhere (a route server, a lab). */
  fib: FibConfig | null;
  /** null: `control: false`, no control socket. */
  control: ControlConfig | null;
}
