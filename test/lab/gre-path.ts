/**
 * Brings up the gredge path in a lab: gredge's data plane on cpe and on edge, with the tunnel
 * between them over the IPv4 or IPv6 underlay, and waits until cust reaches net through it.
 */
import { type LabConfigOptions, writeLabConfigs } from './configs.js';
import { Gredge, type GredgeMode } from './gredged.js';
import { ADDR, type Lab } from './topology.js';

export interface GrePath {
  cpe: Gredge | null;
  edge: Gredge;
  configs: { cpe: string; edge: string };
  stop(): Promise<void>;
}

export async function startGrePath(
  lab: Lab,
  opts: LabConfigOptions & {
    edgeOnly?: boolean;
    settleMs?: number;
    mode?: GredgeMode;
    /** Extra environment for both gredge processes (e.g. GREDGE_DATAPLANE_OFFLOAD=0). */
    env?: NodeJS.ProcessEnv;
  },
): Promise<GrePath> {
  const configs = writeLabConfigs(lab, opts);
  const mode = opts.mode ?? 'runner';
  const edge = await Gredge.start(lab, 'edge', configs.edge, mode, undefined, opts.env);
  let cpe: Gredge | null = null;
  try {
    if (!opts.edgeOnly) cpe = await Gredge.start(lab, 'cpe', configs.cpe, mode, undefined, opts.env);
  } catch (e) {
    await edge.stop();
    throw e;
  }
  const path: GrePath = {
    cpe,
    edge,
    configs,
    async stop() {
      await Promise.all([edge.stop(), cpe?.stop()]);
    },
  };
  if (!opts.edgeOnly) {
    const ok =
      (await lab.waitReachable('cust', ADDR.net.v4, opts.settleMs ?? 10_000)) &&
      (await lab.waitReachable('cust', ADDR.net.v6, opts.settleMs ?? 10_000));
    if (!ok) {
      const diag = await Promise.all([
        lab.ip('cpe', 'route'),
        lab.ip('cpe', '-6', 'route'),
        lab.ip('edge', 'route'),
        lab.ip('edge', 'addr'),
      ]);
      await path.stop();
      throw new Error(
        `cust cannot reach net through gredge (${opts.underlay} underlay; ${mode} on edge ${edge.running ? 'running' : 'exited'}, on cpe ${cpe?.running ? 'running' : 'exited'})\n${diag.join('\n')}\n` +
          `edge stderr: ${edge.proc.stderr.slice(-1500)}\ncpe stderr: ${cpe?.proc.stderr.slice(-1500)}`,
      );
    }
  }
  return path;
}
