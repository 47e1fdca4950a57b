/**
 * Starts the data plane from the daemon config (the integrator calls exactly these two
 * functions): Config.tunnels → TunnelSpecs, and a reload applies a diff of two configs in
 * place where it can (BIRD's reconfigure(): say what was done, and what needs a restart).
 */
import type { Config, TunnelConfig } from '../config/types.js';
import type { Logger } from '../observe/log.js';
import { Dataplane } from './dataplane.js';
import type { TunnelSpec } from './tunnels.js';

export function tunnelSpecFromConfig(t: TunnelConfig): TunnelSpec {
  const spec: TunnelSpec = {
    name: t.name,
    remote: t.remote,
    key: t.key,
    mtu: t.mtu,
    inner: { ...t.inner },
    allowedSources: [...t.allowedSources],
    routes: [...t.routes],
    mssClamp: t.mssClamp,
    sequence: t.sequence,
    checksum: t.checksum,
  };
  if (t.local !== undefined) spec.local = t.local;
  if (t.keepalive) spec.keepalive = { ...t.keepalive };
  return spec;
}

/** Opens the data plane and adds every configured tunnel; undefined when the config has no
 * data plane. On any failure the data plane is closed again and the typed error rethrown.
 * TUN offloads follow `dataplane.offload` (default on); GREDGE_DATAPLANE_OFFLOAD=0 in the
 * environment turns them off too (benchmarks use it to compare); likewise `dataplane.direct-tx`
 * and GREDGE_DATAPLANE_DIRECT_TX=0. */
export async function startDataplane(cfg: Config, log: Logger): Promise<Dataplane | undefined> {
  if (!cfg.dataplane) return undefined;
  const mtu = Math.max(1500, ...cfg.tunnels.map((t) => t.mtu));
  const dp = Dataplane.open({
    tun: cfg.dataplane.tun,
    workers: cfg.dataplane.workers,
    persistent: cfg.dataplane.persistent,
    offload: cfg.dataplane.offload && process.env.GREDGE_DATAPLANE_OFFLOAD !== '0',
    directTx: cfg.dataplane.directTx && process.env.GREDGE_DATAPLANE_DIRECT_TX !== '0',
    mtu,
    underlay: { ...(cfg.underlay ?? {}) },
  });
  dp.on('tunnel-state', ({ name, up }) => log.warn({ tunnel: name, up }, up ? 'tunnel up' : 'tunnel down'));
  try {
    for (const t of cfg.tunnels) dp.addTunnel(tunnelSpecFromConfig(t));
  } catch (err) {
    dp.close();
    throw err;
  }
  log.info(
    {
      tun: cfg.dataplane.tun,
      workers: cfg.dataplane.workers,
      tunnels: cfg.tunnels.length,
      offload: dp.offload,
      directTx: dp.directTx,
    },
    'data plane up',
  );
  return dp;
}

export interface TunnelDiffResult {
  added: string[];
  removed: string[];
  replaced: string[];
  /** settings that cannot change in place (TUN name, workers, underlay addresses) */
  restartNeeded: string[];
}

/** Applies the tunnel changes between two configs to a running data plane. */
export function applyTunnelDiff(dp: Dataplane, oldCfg: Config, newCfg: Config): TunnelDiffResult {
  const res: TunnelDiffResult = { added: [], removed: [], replaced: [], restartNeeded: [] };
  const od = oldCfg.dataplane;
  const nd = newCfg.dataplane;
  if (od?.tun !== nd?.tun) res.restartNeeded.push('dataplane.tun');
  if (od?.workers !== nd?.workers) res.restartNeeded.push('dataplane.workers');
  if (JSON.stringify(oldCfg.underlay ?? {}) !== JSON.stringify(newCfg.underlay ?? {}))
    res.restartNeeded.push('underlay');
  const before = new Map(oldCfg.tunnels.map((t) => [t.name, t]));
  const after = new Map(newCfg.tunnels.map((t) => [t.name, t]));
  for (const name of before.keys())
    if (!after.has(name)) {
      dp.removeTunnel(name);
      res.removed.push(name);
    }
  for (const [name, t] of after) {
    const o = before.get(name);
    if (!o) {
      dp.addTunnel(tunnelSpecFromConfig(t));
      res.added.push(name);
    } else if (JSON.stringify(o) !== JSON.stringify(t)) {
      dp.replaceTunnel(tunnelSpecFromConfig(t));
      res.replaced.push(name);
    }
  }
  return res;
}
