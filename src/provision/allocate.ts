/**
 * Allocation for `gredgectl customer add`: the lowest free GRE key of the key range for one
 * remote (RFC 2890 keys tell apart circuits from one underlay address: a key is free when no
 * configured tunnel to that remote has it), and the lowest free /30 or /127 of a pool (free: no
 * configured tunnel's inner subnet overlaps it, whatever its length). Pure: the provisioner
 * hands in what the running config uses, so a removed customer's key and subnet are free again.
 */
import { type Cidr, formatCidr, formatIp, maskBytes, overlaps, parseCidr } from '../net/ip.js';
import type { KeyRange } from '../config/provisioning.js';

/** The lowest key of `range` that no tunnel to `remote` uses, or undefined when all are taken. */
export function allocateKey(
  range: KeyRange,
  remote: string,
  tunnels: ReadonlyArray<{ remote: string; key: number }>,
): number | undefined {
  const used = new Set(tunnels.filter((t) => t.remote === remote).map((t) => t.key));
  for (let k = range.low; k <= range.high; k++) if (!used.has(k)) return k;
  return undefined;
}

function toBig(b: Uint8Array): bigint {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}

function fromBig(v: bigint, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = bytes - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/**
 * The lowest `unit`-long subnet of `pool` that overlaps none of `used` (networks of any length,
 * inside the pool or not), or undefined when the pool is full. Walks the used ranges in order,
 * so it costs O(n log n) in the number of tunnels, not the size of the pool.
 */
export function allocateSubnet(pool: Cidr, unit: number, used: readonly Cidr[]): Cidr | undefined {
  const bits = pool.family === 4 ? 32 : 128;
  const nbytes = bits / 8;
  const size = 1n << BigInt(bits - unit);
  const start = toBig(maskBytes(pool.bytes, pool.length));
  const end = start + (1n << BigInt(bits - pool.length)) - 1n;
  const ranges = used
    .filter((c) => c.family === pool.family && overlaps(pool, c))
    .map((c) => {
      const s = toBig(maskBytes(c.bytes, c.length));
      return { s, e: s + (1n << BigInt(bits - c.length)) - 1n };
    })
    .sort((a, b) => (a.s < b.s ? -1 : a.s > b.s ? 1 : 0));
  let cand = start;
  for (const r of ranges) {
    if (cand + size - 1n < r.s) break;
    if (r.e >= cand) {
      // Past this range, aligned up to the next unit.
      const next = r.e + 1n;
      cand = ((next + size - 1n) / size) * size;
    }
  }
  if (cand + size - 1n > end) return undefined;
  return { family: pool.family, bytes: fromBig(cand, nbytes), length: unit };
}

/** How many `unit`-long subnets of `pool` are free (for `customer list`). */
export function freeSubnets(pool: Cidr, unit: number, used: readonly Cidr[]): bigint {
  const bits = pool.family === 4 ? 32 : 128;
  const size = 1n << BigInt(bits - unit);
  const start = toBig(maskBytes(pool.bytes, pool.length));
  const end = start + (1n << BigInt(bits - pool.length)) - 1n;
  // Each used network, clipped to the pool and widened to whole units, then merged: what is left
  // is the units nobody touches (a /24 in a pool of /30s takes 64 of them, a /31 one).
  const spans = used
    .filter((c) => c.family === pool.family && overlaps(pool, c))
    .map((c) => {
      const s = toBig(maskBytes(c.bytes, c.length));
      const e = s + (1n << BigInt(bits - c.length)) - 1n;
      const lo = s < start ? start : s;
      const hi = e > end ? end : e;
      return { s: (lo / size) * size, e: (hi / size) * size + size - 1n };
    })
    .sort((a, b) => (a.s < b.s ? -1 : a.s > b.s ? 1 : 0));
  let taken = 0n;
  let curS = -1n;
  let curE = -1n;
  for (const r of spans) {
    if (curE >= 0n && r.s <= curE + 1n) {
      if (r.e > curE) curE = r.e;
      continue;
    }
    if (curE >= 0n) taken += (curE - curS + 1n) / size;
    curS = r.s;
    curE = r.e;
  }
  if (curE >= 0n) taken += (curE - curS + 1n) / size;
  return (end - start + 1n) / size - taken;
}

/** The two ends of an allocated point-to-point subnet (see config/provisioning.ts UNIT). */
export interface InnerPair {
  /** The subnet, e.g. 192.0.2.0/30 or 2001:db8:ff::/127. */
  subnet: string;
  /** Ours (tunnels[].inner.local / local6 carries it with the subnet's length). */
  provider: string;
  /** The customer's. */
  customer: string;
  length: number;
}

/**
 * IPv4 /30: the network and broadcast addresses are not usable, so ours is .1 and theirs .2
 * (a /31, RFC 3021, would do too, but not every CPE takes one). IPv6 /127 (RFC 6164): both
 * addresses are usable; ours is the even one, theirs the odd one.
 */
export function innerPair(subnet: Cidr): InnerPair {
  const v = toBig(subnet.bytes);
  const nbytes = subnet.family === 4 ? 4 : 16;
  const [ours, theirs] = subnet.family === 4 ? [v + 1n, v + 2n] : [v, v + 1n];
  return {
    subnet: formatCidr(subnet.bytes, subnet.length),
    provider: formatIp(fromBig(ours, nbytes)),
    customer: formatIp(fromBig(theirs, nbytes)),
    length: subnet.length,
  };
}

/** Inner networks of configured tunnels (the `used` of allocateSubnet). */
export function innerSubnets(tunnels: ReadonlyArray<{ inner: { local?: string; local6?: string } }>): Cidr[] {
  const out: Cidr[] = [];
  for (const t of tunnels)
    for (const s of [t.inner.local, t.inner.local6]) {
      const c = s === undefined ? undefined : parseCidr(s);
      if (c) out.push({ ...c, bytes: maskBytes(c.bytes, c.length) });
    }
  return out;
}
