/**
 * The FIB writer's 48-byte records (layout in native/src/fib_writer.h), built straight from the
 * RIB's packed prefix keys: a million routes cross to the writer's thread without a string.
 */
import type { Prefix4, Prefix6 } from '../bgp/wire/types.js';

export const FIB_RECORD = 48;

export const OP_ROUTE_SET = 1;
export const OP_ROUTE_DEL = 2;
export const OP_RULE_ADD = 3;
export const OP_RULE_DEL = 4;
/** Route flags in byte 3 beside the gateway's family (native/src/fib_writer.h). */
const FLAG_PREFSRC = 0x80;
const FLAG_MTU = 0x40;

/** A record read back (dumps, failures). */
export interface FibRecord {
  op: number;
  family: 4 | 6;
  len: number;
  gwFamily: 0 | 4 | 6;
  table: number;
  oif: number;
  prio: number;
  dst: Uint8Array;
  gw: Uint8Array;
}

/** A growing buffer of records for one write. */
export class RecordBatch {
  #buf: Uint8Array;
  #dv: DataView;
  #u32: Uint32Array;
  count = 0;

  constructor(capacity = 256) {
    this.#buf = new Uint8Array(capacity * FIB_RECORD);
    this.#dv = new DataView(this.#buf.buffer);
    this.#u32 = new Uint32Array(this.#buf.buffer);
  }

  #next(): number {
    if ((this.count + 1) * FIB_RECORD > this.#buf.length) {
      const grown = new Uint8Array(this.#buf.length * 2);
      grown.set(this.#buf);
      this.#buf = grown;
      this.#dv = new DataView(grown.buffer);
      this.#u32 = new Uint32Array(grown.buffer);
    }
    // A batch is written once, front to back, into zeroed memory: no clearing needed.
    return this.count++ * FIB_RECORD;
  }

  /** A route to an IPv4 prefix key (address × 64 + length). */
  route4(op: number, p: Prefix4, table: number, oif: number, gw?: Uint8Array): void {
    const o = this.#head(op, 4, p % 64, table, oif, gw);
    const a = Math.floor(p / 64);
    const b = this.#buf;
    b[o + 16] = a >>> 24;
    b[o + 17] = (a >>> 16) & 0xff;
    b[o + 18] = (a >>> 8) & 0xff;
    b[o + 19] = a & 0xff;
  }

  /** A route to an IPv6 prefix key (length character, then the prefix's bytes). */
  route6(op: number, p: Prefix6, table: number, oif: number, gw?: Uint8Array): void {
    const o = this.#head(op, 6, p.charCodeAt(0), table, oif, gw);
    const n = Math.min(p.length - 1, 16);
    for (let i = 0; i < n; i++) this.#buf[o + 16 + i] = p.charCodeAt(i + 1);
  }

  /** A route from raw fields (static routes, deletes of what a dump found). */
  route(
    op: number,
    family: 4 | 6,
    dst: Uint8Array,
    len: number,
    table: number,
    oif: number,
    gw?: Uint8Array,
  ): void {
    const o = this.#head(op, family, len, table, oif, gw);
    this.#buf.set(dst.subarray(0, family === 4 ? 4 : 16), o + 16);
  }

  /**
   * A route into a device carrying its MTU and preferred source (a tunnel's inner subnet, as the
   * data plane writes it into `main`: TCP to the far end then negotiates an MSS that fits).
   */
  deviceRoute(
    family: 4 | 6,
    dst: Uint8Array,
    len: number,
    table: number,
    oif: number,
    mtu: number,
    src?: Uint8Array,
  ): void {
    const o = this.#head(OP_ROUTE_SET, family, len, table, oif);
    const b = this.#buf;
    b.set(dst.subarray(0, family === 4 ? 4 : 16), o + 16);
    if (mtu > 0) {
      b[o + 3] = b[o + 3]! | FLAG_MTU;
      this.#dv.setUint32(o + 12, mtu, true);
    }
    if (src !== undefined) {
      b[o + 3] = b[o + 3]! | FLAG_PREFSRC;
      b.set(src.subarray(0, family === 4 ? 4 : 16), o + 32);
    }
  }

  /**
   * A policy rule: packets [from src] [arriving on iif] look up `table` (0: unreachable) at
   * priority `prio`; with `suppress` N, routes of length N or shorter found there are ignored.
   */
  rule(
    op: number,
    family: 4 | 6,
    src: { bytes: Uint8Array; len: number } | undefined,
    table: number,
    prio: number,
    iif: string,
    suppress?: number,
  ): void {
    const o = this.#next();
    const b = this.#buf;
    b[o] = op;
    b[o + 1] = family;
    b[o + 2] = src?.len ?? 0;
    this.#dv.setUint32(o + 4, table, true);
    if (suppress !== undefined) this.#dv.setUint32(o + 8, suppress + 1, true);
    this.#dv.setUint32(o + 12, prio, true);
    if (src) b.set(src.bytes.subarray(0, family === 4 ? 4 : 16), o + 16);
    for (let i = 0; i < iif.length && i < 15; i++) b[o + 32 + i] = iif.charCodeAt(i);
  }

  /** Copies a record as it is, with another op (a dumped route or rule, to delete it). */
  copy(from: Uint8Array, index: number, op: number): void {
    const o = this.#next();
    this.#buf.set(from.subarray(index * FIB_RECORD, (index + 1) * FIB_RECORD), o);
    this.#buf[o] = op;
  }

  #head(op: number, family: 4 | 6, len: number, table: number, oif: number, gw?: Uint8Array): number {
    const o = this.#next();
    const b = this.#buf;
    const w = this.#u32;
    b[o] = op;
    b[o + 1] = family;
    b[o + 2] = len;
    // Records are 4-byte aligned and the addon reads them little-endian, as is every host it
    // builds for: plain 32-bit stores, not DataView calls, on the million-route path.
    w[(o >> 2) + 1] = table;
    w[(o >> 2) + 2] = oif;
    if (gw !== undefined) {
      b[o + 3] = gw.length === 4 ? 4 : 6;
      for (let i = 0; i < gw.length; i++) b[o + 32 + i] = gw[i]!;
    }
    return o;
  }

  bytes(): Uint8Array {
    return this.#buf.subarray(0, this.count * FIB_RECORD);
  }
}

/** Reads record `i` of a buffer of records. */
export function readRecord(buf: Uint8Array, i: number): FibRecord {
  const o = i * FIB_RECORD;
  const dv = new DataView(buf.buffer, buf.byteOffset + o, FIB_RECORD);
  const family = buf[o + 1] === 6 ? 6 : 4;
  const gwf = buf[o + 3]! & 0x0f; // the high bits are flags
  return {
    op: buf[o]!,
    family,
    len: buf[o + 2]!,
    gwFamily: gwf === 4 || gwf === 6 ? gwf : 0,
    table: dv.getUint32(4, true),
    oif: dv.getUint32(8, true),
    prio: dv.getUint32(12, true),
    dst: buf.slice(o + 16, o + 16 + (family === 4 ? 4 : 16)),
    gw: buf.slice(o + 32, o + 48),
  };
}

/** What a record is about, whatever its op: the same key for a set and its later delete. */
export function recordKey(buf: Uint8Array, i: number): string {
  const o = i * FIB_RECORD;
  const op = buf[o]!;
  const rule = op === OP_RULE_ADD || op === OP_RULE_DEL;
  // Routes: family, length, table, destination. Rules: every field (two rules differ in any).
  const parts = rule ? buf.subarray(o + 1, o + 48) : buf.subarray(o + 1, o + 3);
  let s = rule ? 'r' : 'x';
  for (const x of parts) s += `${x.toString(16)},`;
  if (!rule) {
    for (let k = 4; k < 8; k++) s += `${buf[o + k]!.toString(16)},`;
    for (let k = 16; k < 32; k++) s += `${buf[o + k]!.toString(16)},`;
  }
  return s;
}

/** The name a rule record carries in its gateway field (its input interface). */
export function ruleIif(r: FibRecord): string {
  let s = '';
  for (const c of r.gw) {
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  return s;
}
