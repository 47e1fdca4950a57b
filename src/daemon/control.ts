/**
 * The daemon's side of the control socket: a ControlTarget built from the modules' own read
 * methods (Peer's state and counters, Rib.stats/routes/refusedRoutes/explain/longestMatch,
 * Dataplane.counters, Fib.stats) and the few actions operators may take (neighbor start, stop,
 * reset; the log level). No protocol logic here: the server validates, this only looks up.
 */
import { readFileSync } from 'node:fs';
import { formatIpv4 } from '../bgp/wire/index.js';
import type { Family } from '../bgp/wire/types.js';
import type { Peer } from '../bgp/session/peer.js';
import type { Config, NeighborConfig, TunnelConfig } from '../config/types.js';
import {
  ControlError,
  type LogLevel,
  parseAddress,
  type ReloadArgs,
  type RoutesArgs,
} from '../control/protocol.js';
import { cursorOf, routeRow } from '../control/rows.js';
import type {
  ControlTarget,
  GracefulRestartResult,
  NeighborAction,
  NeighborDetail,
  NeighborSummary,
  NotificationInfo,
  PrefixCounts,
  ReloadResult,
  RouteCursor,
  RouteRow,
  StatusResult,
  TunnelDetail,
  TunnelSummary,
} from '../control/target.js';
import type { Dataplane } from '../dataplane/index.js';
import type { Fib } from '../fib/fib.js';
import type { Logger } from '../observe/log.js';
import { Rov, ROV_NAMES, rovOfTags } from '../policy/import.js';
import type { NeighborStats, Rib, RouteView } from '../rib/rib.js';
import { Provisioner } from '../provision/provisioner.js';
import type { Reloader } from './reload.js';
import type { Rpki } from './rpki.js';

const FAMILIES: readonly Family[] = ['ipv4-unicast', 'ipv6-unicast'];
/** gredge's version, from package.json (dist/src/daemon/ → the package root). */
export const VERSION = ((): string => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
})();
const ROLE_NAMES = ['provider', 'rs', 'rs-client', 'customer', 'peer'];

export interface ControlSources {
  /** The running config (a reload replaces it). */
  config: () => Config;
  reloader: Reloader;
  rib: Rib;
  peers: ReadonlyMap<string, Peer>;
  dataplane: () => Dataplane | undefined;
  fib: () => Fib | undefined;
  /** Tunnel up/down as last reported by the data plane's keepalives. */
  tunnelState: (name: string) => boolean | undefined;
  log: Logger;
  startedAt: number;
  /** RPKI origin validation, while configured. */
  rpki?: () => Rpki | undefined;
  /** Starts a planned graceful restart (called once the request has been answered). */
  gracefulRestart?: () => void;
}

export function createControlTarget(s: ControlSources): ControlTarget {
  const provisioner = new Provisioner({
    config: s.config,
    exclusive: (job) => s.reloader.exclusive(job),
    state: (name) => s.peers.get(name)?.state,
    log: s.log.child({ module: 'provisioning' }),
  });
  const findPeer = (ref: string): Peer => {
    const byName = s.peers.get(ref);
    if (byName) return byName;
    const a = parseAddress(ref);
    if (a !== undefined) {
      for (const p of s.peers.values()) {
        const b = parseAddress(p.neighbor.address);
        if (b && sameAddress(a.addr, b.addr)) return p;
      }
    }
    throw new ControlError('not-found', `no neighbor named or at '${ref}'`);
  };
  const statsOf = (): Map<string, NeighborStats> => new Map(s.rib.stats().neighbors.map((n) => [n.name, n]));

  const summary = (p: Peer, st: NeighborStats | undefined): NeighborSummary => {
    const n = p.neighbor;
    const since = p.establishedSince;
    return {
      name: n.name,
      address: n.address,
      remoteAs: n.remoteAs,
      role: n.role,
      state: p.state,
      enabled: p.enabled,
      uptimeSeconds: since === undefined ? null : Math.floor((Date.now() - since) / 1000),
      prefixes: counts(st, FAMILIES),
    };
  };

  const tunnelSummary = (t: TunnelConfig, dp: Dataplane | undefined): TunnelSummary => {
    const c = dp?.hasTunnel(t.name) ? dp.tunnelCounters(t.name) : undefined;
    const up = s.tunnelState(t.name);
    let drops = 0;
    if (c) for (const v of Object.values(c.drops)) drops += v;
    return {
      name: t.name,
      remote: t.remote,
      key: t.key,
      mtu: t.mtu,
      state: up === undefined ? 'unknown' : up ? 'up' : 'down',
      rxPackets: c?.rxPackets ?? 0,
      txPackets: c?.txPackets ?? 0,
      drops,
    };
  };

  return {
    status(): StatusResult {
      const rs = s.rib.stats();
      let established = 0;
      let disabled = 0;
      for (const p of s.peers.values()) {
        if (p.state === 'Established') established++;
        if (!p.enabled) disabled++;
      }
      const dp = s.dataplane();
      let tunnels: StatusResult['tunnels'] = null;
      if (s.config().dataplane) {
        let up = 0;
        let down = 0;
        for (const t of s.config().tunnels) {
          const st = s.tunnelState(t.name);
          if (st === true) up++;
          else if (st === false) down++;
        }
        tunnels = { configured: dp ? dp.tunnelCount : 0, up, down };
      }
      const fs = s.fib()?.stats();
      return {
        version: VERSION,
        pid: process.pid,
        startedAt: new Date(s.startedAt).toISOString(),
        uptimeSeconds: Math.floor((Date.now() - s.startedAt) / 1000),
        routerId: s.config().routerId,
        localAs: s.config().localAs,
        config: s.config().source,
        logLevel: s.log.level,
        neighbors: { configured: s.peers.size, established, disabled },
        routes: rs.locRib,
        paths: rs.paths,
        attributeSets: rs.attributeSets,
        tunnels,
        reload: s.reloader.status(),
        rpki: s.rpki?.()?.status() ?? null,
        ...(rs.stale ? { staleRoutes: rs.stale } : {}),
        restart: rs.restart
          ? {
              since: new Date(rs.restart.since).toISOString(),
              until: new Date(rs.restart.until).toISOString(),
              waitingFor: rs.restart.waitingFor,
            }
          : null,
        fib: fs
          ? {
              tunnelRoutes: fs.tunnelRoutes,
              routeWrites: fs.routeWrites,
              pending: fs.pending,
              unresolved: fs.unresolved,
              failed: Object.values(fs.failed).reduce((a, b) => a + b, 0),
            }
          : null,
      };
    },

    neighbors(): NeighborSummary[] {
      const stats = statsOf();
      return [...s.peers.values()].map((p) => summary(p, stats.get(p.neighbor.name)));
    },

    neighbor(ref: string): NeighborDetail {
      const p = findPeer(ref);
      const n = p.neighbor;
      const st = statsOf().get(n.name);
      const info = p.info;
      const since = p.establishedSince;
      const notes = p.lastNotifications;
      const caps = info?.remoteCapabilities;
      const out: NeighborDetail = {
        ...summary(p, st),
        passive: n.passive,
        port: n.port,
        holdTime: { configured: n.holdTime, negotiated: p.negotiatedHoldTime ?? null },
        establishedSince: since === undefined ? null : new Date(since).toISOString(),
        session:
          info && caps
            ? {
                peerAs: info.peerAs,
                peerRouterId: formatIpv4(info.peerRouterId),
                peerAddress: info.peerAddress,
                localAddress: info.localAddress,
                ebgp: info.ebgp,
                families: [...info.families],
                capabilities: {
                  routeRefresh: caps.routeRefresh,
                  enhancedRouteRefresh: caps.enhancedRouteRefresh,
                  extendedMessage: caps.extendedMessage,
                  as4: caps.as4 !== undefined,
                  gracefulRestart: caps.gracefulRestart !== undefined,
                  ...(caps.role !== undefined ? { role: ROLE_NAMES[caps.role] ?? String(caps.role) } : {}),
                  families: caps.multiprotocol.map((m) => familyName(m.afi, m.safi)),
                },
              }
            : null,
        lastError: p.counters.lastError ?? null,
        lastNotification: { sent: notification(notes.sent), received: notification(notes.received) },
        establishedCount: p.counters.establishedCount,
        messages: { in: { ...p.counters.messagesIn }, out: { ...p.counters.messagesOut } },
        prefixesByFamily: {
          'ipv4-unicast': counts(st, ['ipv4-unicast']),
          'ipv6-unicast': counts(st, ['ipv6-unicast']),
        },
        refusedByReason: st ? Object.fromEntries(Object.entries(st.refused).filter(([, v]) => v > 0)) : {},
        maxPrefix: n.maxPrefix
          ? { limit: n.maxPrefix.limit, action: n.maxPrefix.action, exceeded: st?.maxPrefixExceeded ?? 0 }
          : null,
        endOfRib: { received: st?.eorReceived ?? [], sent: st?.eorSent ?? [] },
        gracefulRestart:
          st?.gracefulRestart && st.prefixesStale
            ? {
                state: st.gracefulRestart.state,
                families: st.gracefulRestart.families,
                stale: st.prefixesStale,
                until: new Date(st.gracefulRestart.until).toISOString(),
              }
            : null,
      };
      out.rpki = s.rpki?.() ? (s.rib.rovCounts().get(n.name) ?? null) : null;
      if (n.description !== undefined) out.description = n.description;
      if (n.localAddress !== undefined) out.localAddress = n.localAddress;
      if (n.tunnel !== undefined) out.tunnel = n.tunnel;
      return out;
    },

    routes(q: RoutesArgs): RouteCursor {
      return routeQuery(s, q, (ref) => findPeer(ref).neighbor);
    },

    tunnels(): TunnelSummary[] {
      const dp = s.dataplane();
      return s.config().tunnels.map((t) => tunnelSummary(t, dp));
    },

    tunnel(name: string): TunnelDetail {
      const t = s.config().tunnels.find((x) => x.name === name);
      if (!t) throw new ControlError('not-found', `no tunnel named '${name}'`);
      const dp = s.dataplane();
      const c = dp?.hasTunnel(t.name) ? dp.tunnelCounters(t.name) : undefined;
      const counters: Record<string, number> = {};
      const dropsByReason: Record<string, number> = {};
      if (c) {
        for (const [k, v] of Object.entries(c)) if (typeof v === 'number') counters[k] = v;
        for (const [k, v] of Object.entries(c.drops)) if (v > 0) dropsByReason[k] = v;
      }
      const out: TunnelDetail = {
        ...tunnelSummary(t, dp),
        inner: { ...t.inner },
        allowedSources: [...t.allowedSources],
        routes: [...t.routes],
        mssClamp: t.mssClamp,
        sequence: t.sequence,
        checksum: t.checksum,
        keepalive: t.keepalive ? { ...t.keepalive } : null,
        neighbors: s
          .config()
          .neighbors.filter((n) => n.tunnel === t.name)
          .map((n) => n.name),
        counters,
        dropsByReason,
      };
      if (t.local !== undefined) out.local = t.local;
      return out;
    },

    async setNeighborEnabled(ref: string, on: boolean, message?: string): Promise<NeighborAction> {
      const p = findPeer(ref);
      const name = p.neighbor.name;
      if (p.enabled === on) return { neighbor: name, action: 'unchanged', state: p.state };
      if (on) {
        s.log.warn({ neighbor: name }, 'control: neighbor enabled');
        p.start();
        return { neighbor: name, action: 'enabled', state: p.state };
      }
      s.log.warn({ neighbor: name }, 'control: neighbor disabled (Cease 6/2)');
      await p.stop(message ?? 'disabled by the operator (gredgectl)');
      return { neighbor: name, action: 'disabled', state: p.state };
    },

    async resetNeighbor(ref: string, soft: boolean, message?: string): Promise<NeighborAction> {
      const p = findPeer(ref);
      const name = p.neighbor.name;
      if (!p.enabled)
        throw new ControlError(
          'unsupported',
          `neighbor ${name} is disabled: enable it instead of resetting it`,
        );
      if (soft) {
        const r = p.softReset();
        if (!r.ok) {
          throw new ControlError(
            'unsupported',
            r.reason === 'unsupported'
              ? `neighbor ${name} does not support route refresh (RFC 2918): soft reset is unsupported; a hard reset would drop the session`
              : `neighbor ${name} is ${p.state}, not Established: nothing to refresh`,
          );
        }
        s.log.warn({ neighbor: name, families: r.families }, 'control: neighbor soft reset');
        return { neighbor: name, action: 'soft-reset', state: p.state, families: r.families };
      }
      s.log.warn({ neighbor: name }, 'control: neighbor reset (Cease 6/4)');
      await p.reset(message ?? 'reset by the operator (gredgectl)');
      return { neighbor: name, action: 'reset', state: p.state };
    },

    setLogLevel(level: LogLevel) {
      const previous = s.log.level;
      s.log.level = level;
      s.log.warn({ level, previous }, 'control: log level changed');
      return { level, previous };
    },

    reload(args: ReloadArgs): Promise<ReloadResult> {
      return s.reloader.request(args);
    },

    customerAdd: (args) => provisioner.add(args),
    customerRemove: (name) => provisioner.remove(name),
    customerList: () => provisioner.list(),

    ...(s.gracefulRestart === undefined
      ? {}
      : {
          gracefulRestart(): GracefulRestartResult {
            const start = s.gracefulRestart!;
            const neighbors = [...s.peers.values()].map((p) => {
              const theirs = p.info?.remoteCapabilities.gracefulRestart;
              // A helper keeps our routes while we are away: it said so in its OPEN, we enabled
              // graceful restart toward it, and the session is up to be lost.
              const helper =
                p.state === 'Established' && p.neighbor.gracefulRestart.enabled && theirs !== undefined;
              return {
                name: p.neighbor.name,
                state: p.state,
                helper,
                restartTime: helper ? p.neighbor.gracefulRestart.restartTime : null,
              };
            });
            const fib = s.config().fib;
            const dp = s.dataplane();
            // Once this answer is on its way: the control socket closes during the restart.
            setImmediate(start);
            return {
              exitCode: GRACEFUL_RESTART_EXIT,
              neighbors,
              routes: s.rib.stats().locRib,
              fibTables: fib && s.fib() ? [fib.fullTable, fib.resaleTable] : null,
              tun: dp ? (s.config().dataplane?.tun ?? null) : null,
            };
          },
        }),
  };
}

/**
 * The exit code of a planned graceful restart: EX_TEMPFAIL, which config/gredge.service names in
 * RestartForceExitStatus= (systemd starts gredged again at once) and SuccessExitStatus= (it is
 * not a failure).
 */
export const GRACEFUL_RESTART_EXIT = 75;

function routeQuery(
  s: ControlSources,
  q: RoutesArgs,
  neighborOf: (ref: string) => NeighborConfig,
): RouteCursor {
  const table = q.table;
  const nbr = q.neighbor !== undefined ? neighborOf(q.neighbor).name : undefined;
  const base = { table, ...(nbr !== undefined ? { neighbor: nbr } : {}) };
  if (q.prefix !== undefined) {
    let prefix = q.prefix;
    let match: string | undefined;
    if (!prefix.includes('/')) {
      const a = parseAddress(prefix)!;
      match = s.rib.longestMatch(a.addr, table);
      if (match === undefined) {
        // No best path covers it; a refused route for the host itself may still explain why.
        const host = `${prefix}/${a.family === 'ipv4-unicast' ? 32 : 128}`;
        return cursorOf({ ...base, view: 'prefix', query: q.prefix }, explainRows(s, host, q, nbr), (r) => r);
      }
      prefix = match;
    }
    const header = { ...base, view: 'prefix' as const, query: q.prefix, ...(match ? { match } : {}) };
    return cursorOf(header, explainRows(s, prefix, q, nbr), (r) => r);
  }
  if (q.refused) {
    function* refused() {
      for (const f of FAMILIES) yield* s.rib.refusedRoutes(f, nbr !== undefined ? { neighbor: nbr } : {});
    }
    return cursorOf({ ...base, view: 'refused' }, refused(), (r) => ({
      ...routeRow(r.family, r.prefix, r.neighbor, r.attrs, false),
      refused: r.reason,
      ...(r.vrps !== undefined ? { rpki: 'invalid', vrps: r.vrps } : {}),
    }));
  }
  function* paths() {
    for (const f of FAMILIES)
      yield* s.rib.routes(f, { table, ...(nbr !== undefined ? { neighbor: nbr } : {}) });
  }
  const localAs = s.config().localAs;
  return cursorOf({ ...base, view: nbr !== undefined ? 'adj-rib-in' : 'best' }, paths(), (r) => {
    const row = withRpki(routeRow(r.family, r.prefix, r.neighbor, r.attrs, r.best), r.attrs, localAs);
    if (r.stale) row.stale = true;
    return row;
  });
}

/** Every path of one prefix (explain): candidates with the winners, then refused routes. */
function* explainRows(
  s: ControlSources,
  prefix: string,
  q: RoutesArgs,
  nbr: string | undefined,
): Generator<RouteRow> {
  const ex = s.rib.explain(prefix);
  if (!ex) return;
  if (!q.refused) {
    for (const c of ex.candidates) {
      if (nbr !== undefined && c.neighbor !== nbr) continue;
      const row = routeRow(
        ex.family,
        ex.prefix,
        c.neighbor,
        c.attrs,
        q.table === 'resale' ? c.bestResale : c.best,
      );
      row.bestResale = c.bestResale;
      row.class = c.class;
      if (c.stale) row.stale = true;
      if (c.rpki !== undefined) row.rpki = c.rpki;
      if (c.eliminatedBy !== undefined) row.eliminatedBy = c.eliminatedBy;
      yield row;
    }
  }
  for (const r of ex.refused) {
    if (nbr !== undefined && r.neighbor !== nbr) continue;
    const row: RouteRow = {
      ...routeRow(ex.family, ex.prefix, r.neighbor, r.attrs, false),
      refused: r.reason,
    };
    if (r.vrps !== undefined) {
      row.rpki = 'invalid';
      row.vrps = r.vrps;
    }
    yield row;
  }
}

/** The RPKI state an accepted route carries (LOCAL-AS:2:STATE), on its row. */
function withRpki(row: RouteRow, a: RouteView['attrs'], localAs: number): RouteRow {
  const r = rovOfTags(a.largeCommunities, localAs);
  if (r !== Rov.NONE) row.rpki = ROV_NAMES[r];
  return row;
}

function counts(st: NeighborStats | undefined, families: readonly Family[]): PrefixCounts {
  let accepted = 0;
  let refused = 0;
  let advertised = 0;
  for (const f of families) {
    accepted += st?.prefixesIn[f] ?? 0;
    refused += st?.prefixesRefused[f] ?? 0;
    advertised += st?.prefixesOut[f] ?? 0;
  }
  return { received: accepted + refused, accepted, refused, advertised };
}

function notification(n: { code: number; subcode: number; text: string; at: number } | undefined) {
  return n
    ? ({
        code: n.code,
        subcode: n.subcode,
        text: n.text,
        at: new Date(n.at).toISOString(),
      } satisfies NotificationInfo)
    : null;
}

function familyName(afi: number, safi: number): string {
  if (safi === 1 && afi === 1) return 'ipv4-unicast';
  if (safi === 1 && afi === 2) return 'ipv6-unicast';
  return `afi ${afi} safi ${safi}`;
}

function sameAddress(a: number | Uint8Array, b: number | Uint8Array): boolean {
  if (typeof a === 'number' || typeof b === 'number') return a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
