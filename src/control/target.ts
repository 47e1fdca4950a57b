/**
 * What the control server may ask of the daemon: one narrow interface, implemented by the
 * daemon (src/daemon/control.ts) from the modules' own read methods (Peer, Rib.stats/routes/
 * explain, Dataplane.counters, Fib.stats). The server never sees the daemon itself; answers are
 * plain JSON-able objects, the same ones `gredgectl --json` prints.
 */
import type { Family } from '../bgp/wire/types.js';
import type {
  CustomerAddArgs,
  CustomerAddResult,
  CustomerListResult,
  CustomerRemoveResult,
} from '../provision/types.js';
import type { LogLevel, ReloadArgs, RoutesArgs } from './protocol.js';

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
  /** Re-reads the config file: validates, diffs and (unless `check`) applies it; `confirm`
   * keeps a reload made with `confirmWithin`. Throws ControlError('invalid-config' | 'needs-restart' | ...).
   * Absent: the server answers not-available. */
  reload?(args: ReloadArgs): Promise<ReloadResult>;
  /** Provisioning (src/provision): a customer's file written, reloaded, and their side of the
   * circuit; removal; the list. Throws ControlError ('unsupported' when `provisioning:` is not
   * configured). Absent: the server answers not-available. */
  customerAdd?(args: CustomerAddArgs): Promise<CustomerAddResult>;
  customerRemove?(name: string): Promise<CustomerRemoveResult>;
  customerList?(): CustomerListResult;
  /**
   * A planned graceful restart (RFC 4724): answered first, then gredged leaves its kernel routes,
   * rules and TUN in place, closes its sessions without a NOTIFICATION and exits 75 (the unit's
   * RestartForceExitStatus: systemd starts it again at once).
   */
  gracefulRestart?(): GracefulRestartResult;
}

/** What a reload did (or, with --check, would do). */
export interface ReloadResult {
  /** Whether anything was applied (false for --check, --confirm, and a config with no change). */
  applied: boolean;
  /** config/diff.ts formatDiff: one line per change. */
  diff: string[];
  /** With --confirm-within: when the previous config comes back unless confirmed (ISO time). */
  rollbackAt: string | null;
  /** --confirm: the reload that was waiting for confirmation is kept. */
  confirmed?: boolean;
}

/** Reloads since start (status). */
export interface ReloadStatus {
  ok: number;
  failed: number;
  /** When the last reload (applied or refused) ended, ISO time; null before the first. */
  lastAt: string | null;
  lastError: string | null;
  /** A reload made with --confirm-within waits for --confirm until this time. */
  rollbackPendingUntil: string | null;
  /** Reloads rolled back for want of a confirmation, and when the last one was. */
  rollbacks: number;
  lastRollbackAt: string | null;
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
  /** Refused routes: why (as-loop, bogon, not-own-prefix, rpki-invalid, ...). */
  refused?: string;
  /** RPKI origin validation state the route carries (valid, not-found, invalid), when validated. */
  rpki?: string;
  /** `rpki-invalid` refusals: the covering VRPs (`192.0.2.0/24-24 AS64500`). */
  vrps?: string[];
  /** Kept from the neighbor's last session, not announced again yet (graceful restart). */
  stale?: boolean;
}

/** The RTR cache and origin validation (`status`); null when `rpki` is not configured. */
export interface RpkiStatusResult {
  /** idle, connecting, syncing, established, down, stopped */
  connection: string;
  /** none (never synced), current, expired (validation says NotFound) */
  data: string;
  /** The cache in use (`ADDRESS port N`). */
  cache: string | null;
  version: number | null;
  sessionId: number | null;
  serial: number | null;
  lastUpdate: string | null;
  vrps: number;
  expiresAt: string | null;
  /** Effective timers, seconds. */
  refresh: number;
  retry: number;
  expire: number;
  lastError: string | null;
  invalid: 'reject' | 'keep';
  /** After a reload changed the caches: the new client, until its first sync. */
  pending: { connection: string; cache: string | null; lastError: string | null } | null;
}

/** A neighbor's routes by RPKI state (accepted ones by the state they carry). */
export interface RpkiCounts {
  valid: number;
  invalid: number;
  notFound: number;
  /** Not validated (an internal route carrying no state). */
  unverified: number;
  /** Invalid routes refused (also counted in `invalid`). */
  refused: number;
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
  reload: ReloadStatus;
  /** Absent from daemons without RPKI support; null when `rpki` is not configured. */
  rpki?: RpkiStatusResult | null;
  /** Graceful restart: routes kept as stale for restarting neighbors (docs/graceful-restart.md). */
  staleRoutes?: Record<Family, number>;
  /** Our own restart while the export waits for End-of-RIB (RFC 4724 §4.1); null otherwise. */
  restart?: { since: string; until: string; waitingFor: string[] } | null;
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
  /**
   * Graceful restart of this neighbor while its routes are stale (`restarting`: down, the
   * restart timer runs; `refreshing`: back, waiting for End-of-RIB), else null.
   */
  gracefulRestart?: {
    state: 'restarting' | 'refreshing';
    families: Family[];
    stale: Record<Family, number>;
    until: string;
  } | null;
  /** Routes by RPKI state; null when `rpki` is not configured. */
  rpki?: RpkiCounts | null;
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

/** What a planned graceful restart leaves behind, said before gredged goes. */
export interface GracefulRestartResult {
  /** The exit code gredged goes with (75: config/gredge.service restarts it at once). */
  exitCode: number;
  /**
   * Every neighbor: `helper` when graceful restart was negotiated on an Established session,
   * so it keeps our routes for `restartTime` seconds; the others withdraw them at once.
   */
  neighbors: Array<{ name: string; state: string; helper: boolean; restartTime: number | null }>;
  /** The best routes the RIB holds, as the kernel tables have them (they stay in place). */
  routes: Record<string, number>;
  /** The kernel tables left in place, full and resale (null: no FIB configured). */
  fibTables: number[] | null;
  /** The TUN left in place for the next start (null: no data plane). */
  tun: string | null;
}
