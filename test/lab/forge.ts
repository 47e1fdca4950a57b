/**
 * Builds forged and malformed GRE (RFC 2784, RFC 2890) for the lab's robustness test, and sends it
 * from a raw socket inside a namespace (python3's standard library: Node has no raw sockets).
 * IPv4 packets are sent whole (IPPROTO_RAW implies IP_HDRINCL), so the outer source can be any
 * address; IPv6 ones get their outer header from the kernel and carry a local source.
 */
import { fileURLToPath } from 'node:url';
import type { Lab, Role } from './topology.js';

export function checksum(buf: Uint8Array, initial = 0): number {
  let sum = initial;
  for (let i = 0; i + 1 < buf.length; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  if (buf.length & 1) sum += buf[buf.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function v4bytes(a: string): number[] {
  return a.split('.').map(Number);
}

function v6bytes(a: string): number[] {
  const [head, tail] = a.includes('::') ? a.split('::') : [a, ''];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.flatMap((g) => {
    const v = Number.parseInt(g, 16);
    return [v >> 8, v & 0xff];
  });
}

/** An IPv4 header + payload with a correct header checksum. */
export function ipv4(src: string, dst: string, proto: number, payload: Uint8Array, ttl = 64): Uint8Array {
  const b = new Uint8Array(20 + payload.length);
  const dv = new DataView(b.buffer);
  b[0] = 0x45;
  dv.setUint16(2, b.length);
  dv.setUint16(4, 0x1234);
  dv.setUint16(6, 0x4000); // DF
  b[8] = ttl;
  b[9] = proto;
  b.set(v4bytes(src), 12);
  b.set(v4bytes(dst), 16);
  dv.setUint16(10, checksum(b.subarray(0, 20)));
  b.set(payload, 20);
  return b;
}

/** An ICMP echo request inside IPv4 (the inner packet of most forgeries). */
export function icmpEcho(src: string, dst: string, id = 0x4242, seq = 1, size = 32): Uint8Array {
  const icmp = new Uint8Array(8 + size);
  icmp[0] = 8;
  icmp[4] = id >> 8;
  icmp[5] = id & 0xff;
  icmp[6] = seq >> 8;
  icmp[7] = seq & 0xff;
  for (let i = 0; i < size; i++) icmp[8 + i] = i & 0xff;
  const c = checksum(icmp);
  icmp[2] = c >> 8;
  icmp[3] = c & 0xff;
  return ipv4(src, dst, 1, icmp);
}

/** An IPv6 header + payload (no extension headers). */
export function ipv6(src: string, dst: string, next: number, payload: Uint8Array, hopLimit = 64): Uint8Array {
  const b = new Uint8Array(40 + payload.length);
  b[0] = 0x60;
  new DataView(b.buffer).setUint16(4, payload.length);
  b[6] = next;
  b[7] = hopLimit;
  b.set(v6bytes(src), 8);
  b.set(v6bytes(dst), 24);
  b.set(payload, 40);
  return b;
}

/** A UDP datagram (checksum 0: the data plane never looks at it) with `n` zero bytes. */
export function udp(sport: number, dport: number, n = 16): Uint8Array {
  const u = new Uint8Array(8 + n);
  const dv = new DataView(u.buffer);
  dv.setUint16(0, sport);
  dv.setUint16(2, dport);
  dv.setUint16(4, u.length);
  return u;
}

/** An ICMPv6 echo request inside IPv6. */
export function icmp6Echo(src: string, dst: string, id = 0x4242, seq = 1, size = 32): Uint8Array {
  const icmp = new Uint8Array(8 + size);
  icmp[0] = 128;
  icmp[4] = id >> 8;
  icmp[5] = id & 0xff;
  icmp[6] = seq >> 8;
  icmp[7] = seq & 0xff;
  for (let i = 0; i < size; i++) icmp[8 + i] = i & 0xff;
  const s = v6bytes(src);
  const d = v6bytes(dst);
  const pseudo = new Uint8Array(40 + icmp.length);
  pseudo.set(s, 0);
  pseudo.set(d, 16);
  new DataView(pseudo.buffer).setUint32(32, icmp.length);
  pseudo[39] = 58;
  pseudo.set(icmp, 40);
  const c = checksum(pseudo);
  icmp[2] = c >> 8;
  icmp[3] = c & 0xff;
  return ipv6(src, dst, 58, icmp);
}

export interface GreFields {
  proto?: number; // default 0x0800
  key?: number; // absent: no K bit
  seq?: number; // absent: no S bit
  csum?: boolean | 'bad';
  /** Extra bits ORed into the first 16 bits (reserved/RFC 1701 bits, version). */
  extraBits?: number;
}

/** A GRE header (RFC 2784 §2, RFC 2890 §2) followed by `payload`. */
export function gre(payload: Uint8Array, f: GreFields = {}): Uint8Array {
  const hasC = f.csum !== undefined && f.csum !== false;
  const len = 4 + (hasC ? 4 : 0) + (f.key !== undefined ? 4 : 0) + (f.seq !== undefined ? 4 : 0);
  const b = new Uint8Array(len + payload.length);
  const dv = new DataView(b.buffer);
  let flags = f.extraBits ?? 0;
  if (hasC) flags |= 0x8000;
  if (f.key !== undefined) flags |= 0x2000;
  if (f.seq !== undefined) flags |= 0x1000;
  dv.setUint16(0, flags);
  dv.setUint16(2, f.proto ?? 0x0800);
  let off = 4;
  const csumOff = off;
  if (hasC) off += 4;
  if (f.key !== undefined) {
    dv.setUint32(off, f.key >>> 0);
    off += 4;
  }
  if (f.seq !== undefined) {
    dv.setUint32(off, f.seq >>> 0);
    off += 4;
  }
  b.set(payload, off);
  if (hasC) {
    const c = checksum(b);
    dv.setUint16(csumOff, f.csum === 'bad' ? c ^ 0x5a5a : c);
  }
  return b;
}

export type Forged =
  | { family: 4; packet: Uint8Array } // whole IPv4 packet, outer header included
  | { family: 6; src: string; dst: string; gre: Uint8Array }
  // a whole IP packet queued on a device (AF_PACKET): on a TUN, what the data plane reads next
  | { family: 'dev'; dev: string; packet: Uint8Array };

export function outer4(src: string, dst: string, grePayload: Uint8Array): Forged {
  return { family: 4, packet: ipv4(src, dst, 47, grePayload) };
}

export function outer6(src: string, dst: string, grePayload: Uint8Array): Forged {
  return { family: 6, src, dst, gre: grePayload };
}

const SENDER = fileURLToPath(new URL('../../../test/lab/gre-send.py', import.meta.url));

/** Send forged packets from a raw socket inside `role`'s namespace, `gapMs` apart. */
export async function sendForged(lab: Lab, role: Role, pkts: Forged[], gapMs = 1): Promise<void> {
  const lines = pkts.map((p) =>
    p.family === 4
      ? `4 ${Buffer.from(p.packet).toString('hex')}`
      : p.family === 6
        ? `6 ${p.src} ${p.dst} ${Buffer.from(p.gre).toString('hex')}`
        : `d ${p.dev} ${Buffer.from(p.packet).toString('hex')}`,
  );
  await lab.exec(role, ['python3', SENDER, String(gapMs / 1000)], {
    input: `${lines.join('\n')}\n`,
    timeoutMs: 30_000 + pkts.length * gapMs,
  });
}
