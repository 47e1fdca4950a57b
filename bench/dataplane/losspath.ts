/**
 * Where packets go missing on the gredge path during a benchmark run: interface and socket
 * counters read before and after, hop by hop (cust → cpe TUN → GRE on the underlay → edge raw
 * socket → edge TUN → net). Read from the kernel, so it works whatever runs the data plane.
 */
import { IF, type Lab, type Role } from '../../test/lab/topology.js';

interface LinkStats {
  rx: { packets: number; dropped: number };
  tx: { packets: number; dropped: number };
}

async function link(lab: Lab, role: Role, dev: string): Promise<LinkStats | null> {
  try {
    const j = JSON.parse(await lab.ip(role, '-s', '-j', 'link', 'show', dev)) as Array<{
      stats64: LinkStats;
    }>;
    return j[0]!.stats64;
  } catch {
    return null;
  }
}

/** Sum of the `drops` column of raw GRE sockets (protocol 47) in /proc/net/raw and raw6. */
async function rawGreDrops(lab: Lab, role: Role): Promise<number> {
  let sum = 0;
  for (const f of ['/proc/net/raw', '/proc/net/raw6']) {
    const r = await lab.exec(role, ['cat', f], { allowFail: true });
    for (const line of r.stdout.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 5 || !cols[1]!.toUpperCase().endsWith(':002F')) continue;
      sum += Number(cols[cols.length - 1]) || 0;
    }
  }
  return sum;
}

export type LossSnapshot = Record<string, number>;

export async function lossSnapshot(lab: Lab, tun = 'gredge0'): Promise<LossSnapshot> {
  const [custOut, cpeTun, cpeUnder, edgeUnder, edgeTun, edgeNet, netIn] = await Promise.all([
    link(lab, 'cust', IF.cust),
    link(lab, 'cpe', tun),
    link(lab, 'cpe', IF.cpeUnder),
    link(lab, 'edge', IF.edgeUnder),
    link(lab, 'edge', tun),
    link(lab, 'edge', IF.edgeNet),
    link(lab, 'net', IF.net),
  ]);
  return {
    'cust sent': custOut?.tx.packets ?? Number.NaN,
    'cpe TUN queued': cpeTun?.tx.packets ?? Number.NaN,
    'cpe TUN queue drops': cpeTun?.tx.dropped ?? Number.NaN,
    'cpe GRE out': cpeUnder?.tx.packets ?? Number.NaN,
    'edge GRE in': edgeUnder?.rx.packets ?? Number.NaN,
    'edge raw socket drops': await rawGreDrops(lab, 'edge'),
    'edge TUN written': edgeTun?.rx.packets ?? Number.NaN,
    'edge TUN rx drops': edgeTun?.rx.dropped ?? Number.NaN,
    'edge to net': edgeNet?.tx.packets ?? Number.NaN,
    'net received': netIn?.rx.packets ?? Number.NaN,
  };
}

export function lossDelta(a: LossSnapshot, b: LossSnapshot): LossSnapshot {
  const d: LossSnapshot = {};
  for (const k of Object.keys(b)) d[k] = (b[k] ?? 0) - (a[k] ?? 0);
  return d;
}

export function formatLoss(d: LossSnapshot): string {
  return Object.entries(d)
    .map(([k, v]) => `${k} ${Number.isFinite(v) ? v : '?'}`)
    .join(' → ');
}
