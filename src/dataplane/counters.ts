/**
 * Reads the data plane's counters from the shared buffer the addon exports: one slice per
 * worker thread (plus the keepalive thread), each written by one thread only, summed here.
 * The slot layout mirrors native/src/tables.h (Drop, GlobalCounter, TunnelCounter).
 */
import { endianness } from 'node:os';
import type { CounterLayout } from './native.js';

/** Drop reasons, in native order (native/src/tables.h `enum Drop`). */
export const DROP_REASONS = [
  'short',
  'badFlags', // bad version or flags
  'badChecksum',
  'unknownSource',
  'unknownKey',
  'sequence',
  'spoofedSource',
  'notIp',
  'tooBig',
  'noRoute',
  'tunnelDown',
  'tunWrite',
  'send',
  'badOffload', // a TUN super-packet or partial checksum that could not be segmented/completed
] as const;
export type DropReason = (typeof DROP_REASONS)[number];
export type Drops = Record<DropReason, number>;

const GLOBAL_NAMES = [
  'rxPackets',
  'rxBytes',
  'txPackets',
  'txBytes',
  'keepaliveReflected',
  'keepaliveRx',
  'keepaliveTx',
  'ptbSent',
  'mssClamped',
  'tunReads',
  'tunWrites',
  'sendCalls',
  'recvCalls',
  'tsoSegments', // wire packets cut from TUN super-packets (TSO)
  'groMerged', // received segments merged into one TUN write (GRO)
  'csumCompleted', // partial checksums completed for the wire
  'directTx', // GRE packets sent through the AF_PACKET socket (direct transmit)
  // TUN reads to multicast of link-local scope or narrower — IPv6 ffXY:: with scope Y 0, 1 or 2
  // and any flags X (RFC 4291 §2.7; e.g. ff02::16), IPv4 224.0.0.0/24 (RFC 5771 §4): the host's
  // own MLD reports, router solicitations and IGMP on the TUN. Kept on the link (never
  // tunnelled, no ICMP error) and not a drop reason: they are the normal traffic of any
  // interface, and counted as noRoute they would hide real misses (issue 8).
  'linkLocalMulticast',
] as const;
const GLOBAL_BASE = 16;

const TUNNEL_NAMES = ['rxPackets', 'rxBytes', 'txPackets', 'txBytes'] as const;
const TUNNEL_EXTRA = ['keepaliveRx', 'keepaliveTx', 'keepaliveReflected', 'ptbSent', 'mssClamped'] as const;
const TUNNEL_DROP_BASE = 4;

export type GlobalCounters = Record<(typeof GLOBAL_NAMES)[number], number> & { drops: Drops };
export type TunnelCounters = Record<(typeof TUNNEL_NAMES)[number] | (typeof TUNNEL_EXTRA)[number], number> & {
  drops: Drops;
};

/** Sums over slices without allocating per tunnel beyond the returned object. */
export class CounterReader {
  readonly #layout: CounterLayout;
  readonly #words: BigUint64Array;
  /**
   * The same words as 32-bit halves (little-endian: x86-64 and arm64 Linux). Summed as doubles,
   * hi * 2^32 + lo: no BigInt per word. A scrape of 10,000 tunnels reads ~700,000 words, and a
   * BigInt each was most of what the scrape allocated (issue 11: the scavenges it caused held
   * the event loop). Exact below 2^53 (9 PB, or 2^53 packets); Number() of a BigInt sum rounds
   * there too.
   */
  readonly #halves: Uint32Array | undefined;

  constructor(layout: CounterLayout) {
    this.#layout = layout;
    this.#words = new BigUint64Array(layout.buffer);
    this.#halves = endianness() === 'LE' ? new Uint32Array(layout.buffer) : undefined;
  }

  #sum(slot: number): number {
    const { slices, sliceSlots } = this.#layout;
    const h = this.#halves;
    if (h !== undefined) {
      let s = 0;
      for (let i = 0; i < slices; i++) {
        const w = (i * sliceSlots + slot) * 2;
        s += h[w + 1]! * 4294967296 + h[w]!;
      }
      return s;
    }
    let s = 0n;
    for (let i = 0; i < slices; i++) s += this.#words[i * sliceSlots + slot]!;
    return Number(s);
  }

  global(): GlobalCounters {
    const drops = {} as Drops;
    DROP_REASONS.forEach((r, i) => {
      drops[r] = this.#sum(i);
    });
    const out = { drops } as GlobalCounters;
    GLOBAL_NAMES.forEach((n, i) => {
      out[n] = this.#sum(GLOBAL_BASE + i);
    });
    return out;
  }

  /** Raw per-slot sums of one tunnel index (used for baselines when an index is reused). */
  tunnelRaw(index: number): number[] {
    const base = this.#layout.globalSlots + index * this.#layout.tunnelSlots;
    const out: number[] = [];
    for (let i = 0; i < this.#layout.tunnelSlots; i++) out.push(this.#sum(base + i));
    return out;
  }

  tunnel(index: number, baseline?: number[]): TunnelCounters {
    const raw = this.tunnelRaw(index);
    const v = (i: number) => raw[i]! - (baseline?.[i] ?? 0);
    const drops = {} as Drops;
    DROP_REASONS.forEach((r, i) => {
      drops[r] = v(TUNNEL_DROP_BASE + i);
    });
    const out = { drops } as TunnelCounters;
    TUNNEL_NAMES.forEach((n, i) => {
      out[n] = v(i);
    });
    TUNNEL_EXTRA.forEach((n, i) => {
      out[n] = v(TUNNEL_DROP_BASE + DROP_REASONS.length + i);
    });
    return out;
  }
}
