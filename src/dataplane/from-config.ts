/**
 * Starts the data plane from the daemon config (the integrator calls exactly these two
 * functions): Config.tunnels → TunnelSpecs, and a reload applies a diff of two configs in
 * place where it can (BIRD's reconfigure(): say what was done, and what needs a restart).
 */
import type { Config, TunnelConfig } from '../config/types.js';
import type { Logger } from '../observe/log.js';
import { Dataplane } from './dataplane.js';
import { planTunnel, type TunnelSpec } from './tunnels.js';

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
    // A TUN an earlier instance left (persistent, or killed): what its config had and this one
    // has not goes; the rest was adopted by the adds above.
    if (dp.adopted) {
      const gone = await dp.removeLeftovers();
      log.info(
        { tun: cfg.dataplane.tun, removedAddresses: gone.addresses, removedRoutes: gone.routes },
        'data plane: adopted the TUN an earlier instance left',
      );
    }
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

/**
 * The tunnels of `next` (added or changed) that take over something a tunnel of `gone` has:
 * the same remote and key (the GRE table holds one tunnel per pair), or an inner address, inner
 * subnet or static route (the TUN address and the kernel routes in `main` are keyed by prefix
 * alone, so removing the old tunnel would take them from the new one). A reload applies these
 * after the removals (daemon.ts).
 */
export function heldBack(old: Config, next: Config, gone: ReadonlySet<string>): Set<string> {
  const held = new Set<string>();
  if (gone.size === 0) return held;
  const keysOf = (t: TunnelConfig, underlay: Config['underlay']): string[] => {
    const plan = planTunnel(tunnelSpecFromConfig(t), underlay ?? {});
    const p = (x: { bytes: Uint8Array; len: number }) => `${x.bytes.join('.')}/${x.len}`;
    return [
      `gre ${plan.native.family} ${t.remote} ${t.key}`,
      ...plan.addresses.map((a) => `addr ${p(a)}`),
      ...[...plan.subnets, ...plan.routes].map((r) => `route ${p(r)}`),
    ];
  };
  const taken = new Set(old.tunnels.filter((t) => gone.has(t.name)).flatMap((t) => keysOf(t, old.underlay)));
  const before = new Map(old.tunnels.map((t) => [t.name, t]));
  for (const t of next.tunnels) {
    const o = before.get(t.name);
    if (o && JSON.stringify(o) === JSON.stringify(t)) continue;
    if (keysOf(t, next.underlay).some((k) => taken.has(k))) held.add(t.name);
  }
  return held;
}

/**
 * Applies the tunnel changes between two configs to a running data plane: removals first, then
 * additions and changes. When one fails, what this call already did is undone (as well as it
 * goes) before the error is rethrown, so that the data plane matches `oldCfg` again — the
 * config the daemon still runs and a failed reload goes back to.
 */
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
  try {
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
  } catch (err) {
    // Back to oldCfg's tunnels, in the reverse order (a re-added one starts with new counters).
    const undo = [
      ...res.replaced.map((n) => () => dp.replaceTunnel(tunnelSpecFromConfig(before.get(n)!))),
      ...res.added.map((n) => () => dp.removeTunnel(n)),
      ...res.removed.map((n) => () => dp.addTunnel(tunnelSpecFromConfig(before.get(n)!))),
    ];
    for (const step of undo) {
      try {
        step();
      } catch {
        // as well as it goes: the caller logs the original error
      }
    }
    throw err;
  }
  return res;
}
