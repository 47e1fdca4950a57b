/**
 * Traffic for the lab: iperf3 TCP and small-packet UDP between cust and net, parsed from iperf3's
 * JSON. The server runs in `net`, the client in `cust`; `reverse` makes net send to cust.
 */
import { sleep } from './netns.js';
import { ADDR, type Lab } from './topology.js';

let nextPort = 5201 + (process.pid % 500) * 4;

export interface IperfOptions {
  family: 'v4' | 'v6';
  seconds: number;
  reverse?: boolean;
  /** UDP with this payload size (bytes) at an unlimited rate; TCP when absent. */
  udpLen?: number;
  /** UDP target rate (bit/s, 0 = unlimited). */
  udpRate?: number;
  /** Send this many bytes instead of running for `seconds` (short flows for captures). */
  bytes?: number;
}

export interface IperfResult {
  /** Bits per second received at the receiver. */
  bitsPerSecond: number;
  /** UDP only: packets delivered to the receiver per second, and the sender's count. */
  packetsPerSecond: number;
  sent: number;
  lost: number;
  seconds: number;
  retransmits: number;
}

async function startServer(lab: Lab, port: number) {
  const srv = lab.spawn('net', 'iperf3-server', ['iperf3', '-s', '-1', '-p', String(port)]);
  for (let i = 0; i < 50 && !srv.stdout.includes('Server listening'); i++) {
    if (!srv.running) break;
    await sleep(50);
  }
  return srv;
}

export async function iperfTcp(lab: Lab, opts: IperfOptions): Promise<IperfResult> {
  return iperf(lab, opts);
}

export async function iperfUdp(lab: Lab, opts: IperfOptions & { udpLen: number }): Promise<IperfResult> {
  return iperf(lab, opts);
}

async function iperf(lab: Lab, opts: IperfOptions): Promise<IperfResult> {
  const port = nextPort++;
  const srv = await startServer(lab, port);
  try {
    const argv = ['iperf3', '-c', ADDR.net[opts.family], '-p', String(port), '-J'];
    // A byte count makes a short flow (captures); otherwise run for `seconds`.
    if (opts.bytes !== undefined) argv.push('-n', String(opts.bytes));
    else argv.push('-t', String(opts.seconds));
    if (opts.reverse) argv.push('-R');
    if (opts.udpLen !== undefined)
      argv.push('-u', '-l', String(opts.udpLen), '-b', String(opts.udpRate ?? 0));
    const r = await lab.exec('cust', argv, { allowFail: true, timeoutMs: (opts.seconds + 20) * 1000 });
    let j: IperfJson;
    try {
      j = JSON.parse(r.stdout) as IperfJson;
    } catch {
      throw new Error(
        `iperf3 gave no JSON (exit ${r.code}): ${r.stdout.slice(0, 500)} ${r.stderr.slice(0, 500)}`,
      );
    }
    if (j.error) throw new Error(`iperf3: ${j.error}`);
    const end = j.end ?? {};
    if (opts.udpLen !== undefined) {
      const s = end.sum ?? {};
      const secs = s.seconds ?? opts.seconds;
      const sent = s.packets ?? 0;
      const lost = Math.max(0, s.lost_packets ?? 0);
      return {
        bitsPerSecond: s.bits_per_second ?? 0,
        packetsPerSecond: (sent - lost) / secs,
        sent,
        lost,
        seconds: secs,
        retransmits: 0,
      };
    }
    const rcv = end.sum_received ?? {};
    return {
      bitsPerSecond: rcv.bits_per_second ?? 0,
      packetsPerSecond: 0,
      sent: 0,
      lost: 0,
      seconds: rcv.seconds ?? opts.seconds,
      retransmits: end.sum_sent?.retransmits ?? 0,
    };
  } finally {
    await srv.stop(1000);
  }
}

interface IperfSum {
  seconds?: number;
  bits_per_second?: number;
  packets?: number;
  lost_packets?: number;
  retransmits?: number;
}
interface IperfJson {
  error?: string;
  end?: { sum?: IperfSum; sum_sent?: IperfSum; sum_received?: IperfSum };
}
