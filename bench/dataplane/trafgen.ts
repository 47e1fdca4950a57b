/**
 * Small-packet load for the data-plane benchmark: trafgen (Debian's netsniff-ng) sends 64-byte UDP
 * payloads from cust toward net as fast as one CPU can, and the rate is what net's interface
 * receives (packets delivered, not packets offered). The source port varies over 256 values so
 * that multi-queue paths can spread flows.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '../../test/lab/netns.js';
import { ADDR, IF, type Lab, type Role } from '../../test/lab/topology.js';

const PAYLOAD = 64;

async function mac(lab: Lab, role: Role, dev: string): Promise<number[]> {
  const j = JSON.parse(await lab.ip(role, '-j', 'link', 'show', dev)) as Array<{ address: string }>;
  return j[0]!.address.split(':').map((h) => Number.parseInt(h, 16));
}

export async function rxPackets(lab: Lab, role: Role, dev: string): Promise<number> {
  const j = JSON.parse(await lab.ip(role, '-s', '-j', 'link', 'show', dev)) as Array<{
    stats64: { rx: { packets: number } };
  }>;
  return j[0]!.stats64.rx.packets;
}

const hex = (xs: number[]) => xs.map((x) => `0x${x.toString(16).padStart(2, '0')}`).join(', ');

/** The trafgen packet description: Ethernet / IPv4 (DF, TTL 64) / UDP to port 9 / 64 bytes. */
async function config(lab: Lab): Promise<string> {
  const dst = await mac(lab, 'cpe', IF.cpeCust);
  const src = await mac(lab, 'cust', IF.cust);
  const ip = (a: string) => hex(a.split('.').map(Number));
  const total = 20 + 8 + PAYLOAD;
  return `{
  ${hex(dst)}, ${hex(src)}, 0x08, 0x00,
  0x45, 0x00, const16(${total}), const16(0), 0x40, 0x00, 64, 17, csumip(14, 33),
  ${ip(ADDR.cust.v4)}, ${ip(ADDR.net.v4)},
  0x80, dinc(0, 255), const16(9), const16(${8 + PAYLOAD}), const16(0),
  fill(0x41, ${PAYLOAD})
}
`;
}

export interface RateResult {
  offered: number; // packets per second sent by trafgen (from its own count, when known)
  delivered: number; // packets per second received by net's interface
  deliveredPackets: number;
  seconds: number;
}

/** Run trafgen in cust for `seconds`; returns the delivered rate at net. */
export async function trafgenRate(lab: Lab, seconds: number): Promise<RateResult> {
  const conf = join(lab.dir, 'udp64.trafgen');
  writeFileSync(conf, await config(lab));
  // Warm the neighbour caches so that the first packets are not queued behind ARP.
  await lab.ping('cust', ADDR.net.v4, { count: 1, timeoutS: 2 });
  const rx0 = await rxPackets(lab, 'net', IF.net);
  const t0 = process.hrtime.bigint();
  // trafgen forks its sender; it runs in its own process group so that SIGINT reaches both, and
  // the parent then prints how many packets went out.
  const p = lab.spawn('cust', 'trafgen', ['trafgen', '-o', IF.cust, '-c', conf, '-P', '1', '-n', '0'], {
    group: true,
  });
  await sleep(seconds * 1000);
  await p.stop(3000, 'SIGINT');
  const t1 = process.hrtime.bigint();
  await sleep(300); // packets in flight
  const rx1 = await rxPackets(lab, 'net', IF.net);
  const secs = Number(t1 - t0) / 1e9;
  const m = /(\d+)\s+packets outgoing/.exec(p.stdout + p.stderr);
  return {
    offered: m ? Number(m[1]) / secs : Number.NaN,
    delivered: (rx1 - rx0) / secs,
    deliveredPackets: rx1 - rx0,
    seconds: secs,
  };
}
