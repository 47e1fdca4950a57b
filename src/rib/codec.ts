/**
 * The slice of the wire codec the RIB's Adj-RIB-Out uses to build UPDATEs. An interface so
 * tests and benchmarks can count or fake it; `wireCodec` is the real one from src/bgp/wire.
 */
import {
  type CodecContext,
  encodeAttributes,
  encodeEndOfRib,
  type Family,
  type NextHop6,
  type PathAttributes,
  type Prefix4,
  type Prefix6,
  packUpdates4,
  packUpdates6,
  packWithdrawals4,
  packWithdrawals6,
} from '../bgp/wire/index.js';

export interface RibCodec {
  encodeAttributes(attrs: PathAttributes, ctx: CodecContext): Uint8Array;
  packUpdates4(
    attrBytes: Uint8Array,
    nlri: Prefix4[],
    start: number,
    end: number,
    maxLength: number,
  ): Uint8Array[];
  packUpdates6(
    attrBytes: Uint8Array,
    nextHop: NextHop6,
    nlri: Prefix6[],
    start: number,
    end: number,
    maxLength: number,
  ): Uint8Array[];
  packWithdrawals4(prefixes: Prefix4[], start: number, end: number, maxLength: number): Uint8Array[];
  packWithdrawals6(prefixes: Prefix6[], start: number, end: number, maxLength: number): Uint8Array[];
  encodeEndOfRib(family: Family): Uint8Array;
}

export const wireCodec: RibCodec = {
  encodeAttributes,
  packUpdates4,
  packUpdates6,
  packWithdrawals4,
  packWithdrawals6,
  encodeEndOfRib,
};
