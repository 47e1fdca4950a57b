/** Byte builders for codec tests: hex in and out, raw attributes and UPDATE bodies. */
import type { CodecContext } from '../../../src/bgp/wire/index.js';

export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
}

export function unhex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s.replace(/[^0-9a-fA-F]/g, ''), 'hex'));
}

export function cat(...parts: (Uint8Array | number[])[]): Uint8Array {
  const arrs = parts.map((p) => (p instanceof Uint8Array ? p : Uint8Array.from(p)));
  const out = new Uint8Array(arrs.reduce((n, a) => n + a.length, 0));
  let o = 0;
  for (const a of arrs) {
    out.set(a, o);
    o += a.length;
  }
  return out;
}

export function u16(n: number): number[] {
  return [(n >>> 8) & 255, n & 255];
}

export function u32(n: number): number[] {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
}

/** One raw path attribute (flags used as given, extended length when flag 0x10 is set). */
export function attr(flags: number, code: number, value: number[] | Uint8Array): Uint8Array {
  const v = value instanceof Uint8Array ? value : Uint8Array.from(value);
  return (flags & 0x10) !== 0 ? cat([flags, code, ...u16(v.length)], v) : cat([flags, code, v.length], v);
}

/** An UPDATE body: withdrawn routes, path attributes, NLRI. */
export function updateBody(
  withdrawn: number[] | Uint8Array,
  attrs: Uint8Array,
  nlri: number[] | Uint8Array,
): Uint8Array {
  const w = withdrawn instanceof Uint8Array ? withdrawn : Uint8Array.from(withdrawn);
  return cat(u16(w.length), w, u16(attrs.length), attrs, nlri);
}

export const ORIGIN_IGP = attr(0x40, 1, [0]);
export const AS_PATH_4 = attr(0x40, 2, [2, 2, ...u32(65001), ...u32(65002)]);
export const AS_PATH_2 = attr(0x40, 2, [2, 2, ...u16(65001), ...u16(65002)]);
export const NEXT_HOP = attr(0x40, 3, [192, 0, 2, 1]);
export const MANDATORY4 = cat(ORIGIN_IGP, AS_PATH_4, NEXT_HOP);
export const MANDATORY2 = cat(ORIGIN_IGP, AS_PATH_2, NEXT_HOP);
/** 198.51.100.0/24 */
export const NLRI = [24, 198, 51, 100];

export const EBGP4: CodecContext = {
  as4: true,
  extendedMessage: false,
  ebgp: true,
  localAs: 65000,
  peerAs: 65001,
};
export const IBGP4: CodecContext = {
  as4: true,
  extendedMessage: false,
  ebgp: false,
  localAs: 65000,
  peerAs: 65000,
};
export const EBGP2: CodecContext = {
  as4: false,
  extendedMessage: false,
  ebgp: true,
  localAs: 65000,
  peerAs: 65001,
};
