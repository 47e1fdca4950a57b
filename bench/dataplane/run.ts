/**
 * bench/dataplane (`npm run bench:dataplane`): in the lab topology cust — cpe — edge — net,
 * measures through gredge's data plane (GRE between cpe and edge, issue 4) and through plain kernel
 * routing over the same veths (the limit), with offloads on and off:
 *   - iperf3 TCP single-stream throughput cust → net;
 *   - 64-byte UDP packet rate delivered at net (trafgen; iperf3 -u -l 64 when trafgen is absent);
 *   - packets per CPU second used by the data plane (user+system time of both gredge processes,
 *     from /proc/PID/stat, over the UDP run).
 * Prints medians over --runs (default 3) and the ratios gredge/kernel.
 *
 * Kernel and gredge samples alternate run by run (the path is set up anew for each), so that a
 * drift in the shared machine's speed hits both alike. `--compare-direct-tx` adds a third
 * column: gredge with direct transmit off (GREDGE_DATAPLANE_DIRECT_TX=0), to show what it buys.
 *
 *   node dist/bench/dataplane/run.js [--runs 3] [--seconds 5] [--underlay v4|v6] [--json FILE]
 *                                    [--only kernel|gredge] [--compare-direct-tx]
 */
import { writeFileSync } from 'node:fs';
import { startGrePath } from '../../test/lab/gre-path.js';
import { labMode } from '../../test/lab/gredged.js';
import { haveCommand } from '../../test/lab/netns.js';
import { isRoot, Lab } from '../../test/lab/topology.js';
import { iperfTcp, iperfUdp } from '../../test/lab/traffic.js';
import { formatLoss, type LossSnapshot, lossDelta, lossSnapshot } from './losspath.js';
import { trafgenRate } from './trafgen.js';

interface Args {
  runs: number;
  seconds: number;
  underlay: 'v4' | 'v6';
  json?: string;
  only?: 'kernel' | 'gredge';
  compareDirectTx: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { runs: 3, seconds: 5, underlay: 'v4', compareDirectTx: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[i + 1];
    if (k === '--compare-direct-tx') {
      a.compareDirectTx = true;
      continue;
    }
    if (k === '--runs') a.runs = Math.max(1, Number(v));
    else if (k === '--seconds') a.seconds = Math.max(1, Number(v));
    else if (k === '--underlay' && (v === 'v4' || v === 'v6')) a.underlay = v;
    else if (k === '--json') a.json = v;
    else if (k === '--only' && (v === 'kernel' || v === 'gredge')) a.only = v;
    else continue;
    i++;
  }
  return a;
}

type Mode = 'kernel' | 'gredge' | 'gredge-no-dtx';
interface Sample {
  tcpBps: number;
  tcpRetrans: number;
  udpPps: number;
  udpOffered: number;
  cpuSeconds: number; // gredge only: CPU of both data planes during the UDP run
  udpPackets: number;
  /** gredge only: hop-by-hop packet counts during the UDP run. */
  loss?: LossSnapshot;
}

const median = (xs: number[]) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function udpRate(
  lab: Lab,
  seconds: number,
): Promise<{ pps: number; offered: number; packets: number }> {
  if (haveCommand('trafgen')) {
    const r = await trafgenRate(lab, seconds);
    return { pps: r.delivered, offered: r.offered, packets: r.deliveredPackets };
  }
  const r = await iperfUdp(lab, { family: 'v4', seconds, udpLen: 64 });
  return { pps: r.packetsPerSecond, offered: r.sent / r.seconds, packets: r.sent - r.lost };
}

/** One sample of `mode`: TCP then UDP, with gredge's path set up for it and removed after. */
async function sample(lab: Lab, mode: Mode, args: Args, offloads: boolean, run: number): Promise<Sample> {
  const env: NodeJS.ProcessEnv = {};
  // Offloads off means gredge's own TSO/GRO too, not just the TUN's ethtool features.
  if (!offloads) env.GREDGE_DATAPLANE_OFFLOAD = '0';
  if (mode === 'gredge-no-dtx') env.GREDGE_DATAPLANE_DIRECT_TX = '0';
  if (mode === 'kernel') await lab.kernelRouting(true);
  const path =
    mode === 'kernel' ? null : await startGrePath(lab, { underlay: args.underlay, mode: labMode(), env });
  try {
    if (path && !offloads) {
      await lab.setDeviceOffloads('cpe', 'gredge0', false);
      await lab.setDeviceOffloads('edge', 'gredge0', false);
    }
    const tcp = await iperfTcp(lab, { family: 'v4', seconds: args.seconds });
    const cpu0 = path ? (await path.edge.cpuSeconds()) + (await path.cpe!.cpuSeconds()) : 0;
    const l0 = path ? await lossSnapshot(lab) : undefined;
    const udp = await udpRate(lab, args.seconds);
    const cpu1 = path ? (await path.edge.cpuSeconds()) + (await path.cpe!.cpuSeconds()) : 0;
    const loss = l0 ? lossDelta(l0, await lossSnapshot(lab)) : undefined;
    const s: Sample = {
      tcpBps: tcp.bitsPerSecond,
      tcpRetrans: tcp.retransmits,
      udpPps: udp.pps,
      udpOffered: udp.offered,
      cpuSeconds: cpu1 - cpu0,
      udpPackets: udp.packets,
    };
    if (loss) s.loss = loss;
    process.stderr.write(
      `  ${mode.padEnd(13)} offloads ${offloads ? 'on ' : 'off'} run ${run + 1}: TCP ${(s.tcpBps / 1e9).toFixed(2)} Gbit/s` +
        ` (${s.tcpRetrans} retr), UDP64 ${(s.udpPps / 1e3).toFixed(0)} kpps delivered` +
        ` of ${(s.udpOffered / 1e3).toFixed(0)} offered${path ? `, data plane CPU ${s.cpuSeconds.toFixed(2)} s` : ''}\n`,
    );
    if (loss) process.stderr.write(`    UDP packets by hop: ${formatLoss(loss)}\n`);
    return s;
  } finally {
    await path?.stop();
    if (mode === 'kernel') await lab.kernelRouting(false);
  }
}

function fmt(n: number, unit: 'G' | 'k' | 'r' | 'M'): string {
  if (!Number.isFinite(n)) return '—';
  if (unit === 'G') return `${(n / 1e9).toFixed(2)} Gbit/s`;
  if (unit === 'k') return `${(n / 1e3).toFixed(0)} kpps`;
  if (unit === 'M') return `${(n / 1e3).toFixed(0)} kpkt/CPU·s`;
  return `${(n * 100).toFixed(0)} %`;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (!isRoot()) throw new Error('bench:dataplane needs root (network namespaces, TUN)');
  for (const cmd of ['iperf3', 'ethtool']) {
    if (!haveCommand(cmd)) throw new Error(`${cmd} is not installed (apt-get install ${cmd})`);
  }
  const lab = await Lab.create({ tag: 'bench' });
  const modes: Mode[] = [];
  if (args.only !== 'gredge') modes.push('kernel');
  if (args.only !== 'kernel') modes.push('gredge');
  if (args.only !== 'kernel' && args.compareDirectTx) modes.push('gredge-no-dtx');
  const results: Record<string, Record<Mode, Sample[]>> = {};
  try {
    for (const offloads of [true, false]) {
      await lab.setOffloads(offloads);
      const key = offloads ? 'on' : 'off';
      const r: Record<Mode, Sample[]> = { kernel: [], gredge: [], 'gredge-no-dtx': [] };
      results[key] = r;
      for (let run = 0; run < args.runs; run++) {
        for (const mode of modes) r[mode].push(await sample(lab, mode, args, offloads, run));
      }
    }
  } finally {
    await lab.destroy();
  }

  const lines: string[] = [];
  lines.push(
    `bench:dataplane — cust → net, ${args.underlay} underlay, medians of ${args.runs} runs × ${args.seconds} s, ` +
      `UDP by ${haveCommand('trafgen') ? 'trafgen' : 'iperf3 -u'} (64-byte payload)`,
  );
  const extra = args.compareDirectTx;
  lines.push(
    `| offloads | metric | kernel routing | gredge | gredge/kernel |${extra ? ' gredge, direct-tx off | ratio |' : ''}`,
  );
  lines.push(`| --- | --- | --- | --- | --- |${extra ? ' --- | --- |' : ''}`);
  const summary: Record<string, unknown> = { args };
  for (const [key, r] of Object.entries(results)) {
    const k = r.kernel;
    const g = r.gredge;
    const n = r['gredge-no-dtx'];
    const kt = median(k.map((s) => s.tcpBps));
    const gt = median(g.map((s) => s.tcpBps));
    const nt = median(n.map((s) => s.tcpBps));
    const ku = median(k.map((s) => s.udpPps));
    const gu = median(g.map((s) => s.udpPps));
    const nu = median(n.map((s) => s.udpPps));
    const perCpu = (xs: Sample[]) =>
      median(xs.map((s) => (s.cpuSeconds > 0 ? s.udpPackets / s.cpuSeconds : Number.NaN)));
    const ppc = perCpu(g);
    const nppc = perCpu(n);
    const more = (v: string, ratio: string) => (extra ? ` ${v} | ${ratio} |` : '');
    lines.push(
      `| ${key} | TCP single stream | ${fmt(kt, 'G')} | ${fmt(gt, 'G')} | ${fmt(gt / kt, 'r')} |${more(fmt(nt, 'G'), fmt(nt / kt, 'r'))}`,
    );
    lines.push(
      `| ${key} | UDP 64 B delivered | ${fmt(ku, 'k')} | ${fmt(gu, 'k')} | ${fmt(gu / ku, 'r')} |${more(fmt(nu, 'k'), fmt(nu / ku, 'r'))}`,
    );
    lines.push(
      `| ${key} | delivered packets per data-plane CPU second (cpe + edge) | — | ${fmt(ppc, 'M')} | |${more(fmt(nppc, 'M'), '')}`,
    );
    summary[key] = {
      kernel: { tcpBps: kt, udpPps: ku, samples: k },
      gredge: { tcpBps: gt, udpPps: gu, packetsPerCpuSecond: ppc, samples: g },
      ratio: { tcp: gt / kt, udp: gu / ku },
      ...(extra
        ? { gredgeNoDirectTx: { tcpBps: nt, udpPps: nu, packetsPerCpuSecond: nppc, samples: n } }
        : {}),
    };
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  if (args.json) writeFileSync(args.json, JSON.stringify(summary, null, 2));
}

main().catch((e) => {
  process.stderr.write(`bench:dataplane: ${(e as Error).message}\n`);
  process.exit(1);
});
