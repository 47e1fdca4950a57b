/**
 * What one UPDATE's attribute decode accumulates: the attributes, the RFC 7606 outcome so far
 * (§3 h: the strongest action wins), and the NLRI found in MP_REACH/MP_UNREACH. The first
 * treat-as-withdraw error keeps its RFC 4271 §6.3 subcode and data: RFC 7606 §5.2 turns it into a
 * session reset when the UPDATE carries no reachable NLRI.
 */
import type { BgpMessageError } from '../errors.js';
import type { AsPathSegment, CodecContext, PathAttributes, Prefix4, Prefix6 } from '../types.js';

export const Severity = { NONE: 0, DISCARD: 1, WITHDRAW: 2 } as const;

export class AttrState {
  ctx: CodecContext;
  attrs: PathAttributes = { origin: 0, asPath: [], atomicAggregate: false };
  severity = 0;
  withdrawReason: string | undefined;
  /** Subcode and data (the attribute) of the first treat-as-withdraw error, for §5.2. */
  withdrawSubcode = 0;
  withdrawData: Uint8Array | undefined;
  discarded: string[] | undefined;
  error: BgpMessageError | undefined;
  as4Path: AsPathSegment[] | undefined;
  as4Aggregator: { asn: number; address: number } | undefined;
  /** Bit i set when attribute code i (< 32) was seen; higher codes go to `seenHigh`. */
  seenLow = 0;
  seenHigh: Set<number> | undefined;
  mpNlri4: Prefix4[] | undefined;
  mpWithdrawn4: Prefix4[] | undefined;
  nlri6: Prefix6[] = [];
  withdrawn6: Prefix6[] = [];
  mpReachFamily: number | undefined; // afi * 256 + safi of a recognised MP_REACH
  mpUnreachFamily: number | undefined;

  constructor(ctx: CodecContext) {
    this.ctx = ctx;
  }

  withdraw(reason: string, subcode = 1, data?: Uint8Array): void {
    this.severity = Severity.WITHDRAW;
    if (this.withdrawReason === undefined) {
      this.withdrawReason = reason;
      this.withdrawSubcode = subcode;
      this.withdrawData = data;
    }
  }

  discard(reason: string): void {
    if (this.severity < Severity.DISCARD) this.severity = Severity.DISCARD;
    (this.discarded ??= []).push(reason);
  }

  /** Records code as seen; true if it was seen before. */
  seen(code: number): boolean {
    if (code < 32) {
      const bit = 1 << code;
      const was = (this.seenLow & bit) !== 0;
      this.seenLow |= bit;
      return was;
    }
    this.seenHigh ??= new Set();
    if (this.seenHigh.has(code)) return true;
    this.seenHigh.add(code);
    return false;
  }

  has(code: number): boolean {
    return code < 32 ? (this.seenLow & (1 << code)) !== 0 : (this.seenHigh?.has(code) ?? false);
  }
}
