/**
 * The normalized form of a config: every default filled in, kebab-case keys, fixed key order.
 * `gredged --check` prints it; the golden tests compare it with test/fixtures/config/*.ok.
 */
import { stringify } from 'yaml';
import { formatMode } from './load.js';
import type { Config, NeighborConfig, TunnelConfig } from './types.js';

export function printConfig(cfg: Config): string {
  const out: Record<string, unknown> = {
    'router-id': cfg.routerId,
    'local-as': cfg.localAs,
    listen: cfg.listen ? { address: cfg.listen.address, port: cfg.listen.port } : false,
    log: { level: cfg.log.level },
    'own-prefixes': cfg.ownPrefixes,
  };
  // The default bogon list (src/policy/bogons.ts) is long and not the operator's: printed only
  // when the config replaces it.
  if (cfg.bogons !== undefined) out.bogons = cfg.bogons;
  if (cfg.neighbors.length > 0) out.neighbors = cfg.neighbors.map(neighbor);
  if (cfg.dataplane) {
    out.dataplane = {
      tun: cfg.dataplane.tun,
      workers: cfg.dataplane.workers,
      persistent: cfg.dataplane.persistent,
      offload: cfg.dataplane.offload,
      'direct-tx': cfg.dataplane.directTx,
    };
  }
  out.fib = cfg.fib
    ? {
        'full-table': cfg.fib.fullTable,
        'resale-table': cfg.fib.resaleTable,
        protocol: cfg.fib.protocol,
        'rule-priority': cfg.fib.rulePriority,
        kernel: cfg.fib.kernel,
      }
    : false;
  if (cfg.control) {
    const c: Record<string, unknown> = { socket: cfg.control.socket, mode: formatMode(cfg.control.mode) };
    if (cfg.control.group !== undefined) c.group = cfg.control.group;
    out.control = c;
  } else {
    out.control = false;
  }
  if (cfg.underlay) out.underlay = { ...cfg.underlay };
  if (cfg.tunnels.length > 0) out.tunnels = cfg.tunnels.map(tunnel);
  return stringify(out, { lineWidth: 0 });
}

function neighbor(n: NeighborConfig): Record<string, unknown> {
  const o: Record<string, unknown> = {
    name: n.name,
    address: n.address,
    'remote-as': n.remoteAs,
    role: n.role,
    passive: n.passive,
    port: n.port,
  };
  if (n.localAddress) o['local-address'] = n.localAddress;
  if (n.nextHop6) o['next-hop6'] = n.nextHop6;
  Object.assign(o, {
    'hold-time': n.holdTime,
    'connect-retry': n.connectRetry,
    families: n.families,
    'next-hop-self': n.nextHopSelf,
    'graceful-restart': { enabled: n.gracefulRestart.enabled, 'restart-time': n.gracefulRestart.restartTime },
  });
  if (n.role === 'customer') o.resale = n.resale;
  if (n.role === 'peer') o['no-resale'] = n.noResale;
  if (n.role === 'customer') o.prefixes = n.prefixes ?? [];
  if (n.maxPrefix)
    o['max-prefix'] = {
      limit: n.maxPrefix.limit,
      action: n.maxPrefix.action,
      'restart-after': n.maxPrefix.restartAfter,
    };
  if (n.role !== 'internal') o['role-strict'] = n.roleStrict ?? false;
  if (n.tunnel) o.tunnel = n.tunnel;
  if (n.description !== undefined) o.description = n.description;
  return o;
}

function tunnel(t: TunnelConfig): Record<string, unknown> {
  const o: Record<string, unknown> = { name: t.name, remote: t.remote };
  if (t.local) o.local = t.local;
  Object.assign(o, {
    key: t.key,
    mtu: t.mtu,
    inner: { ...t.inner },
    'allowed-sources': t.allowedSources,
    routes: t.routes,
    'mss-clamp': t.mssClamp,
    sequence: t.sequence,
    checksum: t.checksum,
  });
  if (t.keepalive) o.keepalive = { interval: t.keepalive.interval, retries: t.keepalive.retries };
  return o;
}
