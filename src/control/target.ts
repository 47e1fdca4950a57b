/**
 * What the control server may ask of the daemon: one narrow interface, implemented by the
 * daemon (src/daemon/control.ts) from the modules' own read methods (Peer, Rib.stats/routes/
 * explain, Dataplane.counters, Fib.stats). The server never sees the daemon itself; answers are
 * plain JSON-able objects, the same ones `gredgectl --json` prints.
 */
import type { Family } from '../bgp/wire/types.js';
import type { LogLevel, RoutesArgs } from './protocol.js';

export interface ControlTarget {
  status(): StatusResult;
  neighbors(): NeighborSummary[];
  /** By name or address; throws ControlError('not-found'). */
  neighbor(ref: string): NeighborDetail;
  /** Long answers are produced in slices: the server calls `next` until it returns done. */
  routes(query: RoutesArgs): RouteCursor;
  tunnels(): TunnelSummary[];
  tunnel(name: string): TunnelDetail;
  setNeighborEnabled(ref: string, on: boolean, message?: string): Promise<NeighborAction>;
  resetNeighbor(ref: string, soft: boolean, message?: string): Promise<NeighborAction>;
  setLogLevel(level: LogLevel): { level: LogLevel; previous: string };
}

/** An iterator over the rows of a route query, consumed a slice at a time. */
export interface RouteCursor {
  /** Up to `max` more rows (fewer at the end); `done` once every row was produced. */
  next(max: number): { rows: RouteRow[]; done: boolean };
  /** Counts up to `max` more rows without building them (past the limit). */
  skip(max: number): { skipped: number; done: boolean };
  /** The head of the answer (the server adds the rows, up to the limit, and the counts). */
  readonly header: RoutesHeader;
}

export interface RoutesHeader {
  table: 'full' | 'resale';
  /** What was shown: best paths, a neighbor's accepted routes, refused routes, or one prefix. */
  view: 'best' | 'adj-rib-in' | 'refused' | 'prefix';
  neighbor?: string;
  /** The prefix asked for; with an address, the longest match found (or none). */
  query?: string;
  match?: string;
}

export interface RoutesResult extends RoutesHeader {
  routes: RouteRow[];
  /** Rows that matched, shown or not. */
  total: number;
  /** Rows left out by the limit (total - routes.length). */
  more: number;
  limit: number;
}

export interface RouteRow {
  family: Family;
  prefix: string;
  neighbor: string;
  /** Best of the table asked for (false for other candidates and refused routes). */
  best: boolean;
  /** Best of the resale table (prefix view only). */
  bestResale?: boolean;
  nextHop?: string;
  asPath: string;
  origin: 'igp' | 'egp' | 'incomplete';
  localPref?: number;
  med?: number;
  communities?: string[];
  largeCommunities?: string[];
  otc?: number;
  /** Prefix view: the decision step that eliminated this path, when it lost. */
  eliminatedBy?: string;
  /** Prefix view: the route's source class (customer, peer, no-resale peer, transit, own). */
  class?: string;
  /** Refused routes: why (as-loop, bogon, not-own-prefix, ...). */
  refused?: string;
}

export interface StatusResult {
  version: string;
  pid: number;
  startedAt: string;
  uptimeSeconds: number;
  routerId: string;
  localAs: number;
  config: string;
  logLevel: string;
  neighbors: { configured: number; established: number; disabled: number };
  routes: Record<Family, number>;
  paths: Record<Family, number>;
  attributeSets: number;
  tunnels: { configured: number; up: number; down: number } | null;
  fib: {
    tunnelRoutes: number;
    routeWrites: number;
    pending: number;
    unresolved: number;
    failed: number;
  } | null;
}

export interface PrefixCounts {
  /** In the Adj-RIB-In, accepted or refused: what the neighbor sent. */
  received: number;
  accepted: number;
  refused: number;
  advertised: number;
}

export interface NeighborSummary {
  name: string;
  address: string;
  remoteAs: number;
  role: string;
  state: string;
  enabled: boolean;
  /** Seconds since Established, while it is. */
  uptimeSeconds: number | null;
  prefixes: PrefixCounts;
}

export interface NotificationInfo {
  code: number;
  subcode: number;
  text: string;
  at: string;
}

export interface NeighborDetail extends NeighborSummary {
  description?: string;
  passive: boolean;
  port: number;
  localAddress?: string;
  tunnel?: string;
  holdTime: { configured: number; negotiated: number | null };
  establishedSince: string | null;
  session: {
    peerAs: number;
    peerRouterId: string;
    peerAddress: string;
    localAddress: string;
    ebgp: boolean;
    families: Family[];
    capabilities: {
      routeRefresh: boolean;
      enhancedRouteRefresh: boolean;
      extendedMessage: boolean;
      as4: boolean;
      gracefulRestart: boolean;
      role?: string;
      families: string[];
    };
  } | null;
  lastError: string | null;
  lastNotification: { sent: NotificationInfo | null; received: NotificationInfo | null };
  establishedCount: number;
  messages: { in: Record<string, number>; out: Record<string, number> };
  prefixesByFamily: Record<Family, PrefixCounts>;
  /** Refusals by reason since start (only reasons that happened). */
  refusedByReason: Record<string, number>;
  maxPrefix: { limit: number; action: string; exceeded: number } | null;
  endOfRib: { received: Family[]; sent: Family[] };
}

export interface TunnelSummary {
  name: string;
  remote: string;
  key: number;
  mtu: number;
  /** up / down from GRE keepalives; "unknown" without keepalives (nothing tells). */
  state: 'up' | 'down' | 'unknown';
  rxPackets: number;
  txPackets: number;
  drops: number;
}

export interface TunnelDetail extends TunnelSummary {
  local?: string;
  inner: { local?: string; local6?: string };
  allowedSources: string[];
  routes: string[];
  mssClamp: boolean;
  sequence: boolean;
  checksum: boolean;
  keepalive: { interval: number; retries: number } | null;
  neighbors: string[];
  counters: Record<string, number>;
  /** Drops by reason (only reasons that happened). */
  dropsByReason: Record<string, number>;
}

export interface NeighborAction {
  neighbor: string;
  action: 'enabled' | 'disabled' | 'reset' | 'soft-reset' | 'unchanged';
  state: string;
  families?: Family[];
  note?: string;
}
