/**
 * Path attributes, one row per type code (BIRD's attrs.c idea): expected Optional/Transitive
 * flags, name, the RFC 7606 action when malformed, the action when the flags conflict, decode and
 * encode. Rows: ORIGIN, AS_PATH, NEXT_HOP, MED, LOCAL_PREF, ATOMIC_AGGREGATE, AGGREGATOR
 * (RFC 4271 §5.1, RFC 7606 §7.1–7.7), COMMUNITIES (RFC 1997, RFC 7606 §7.8), MP_REACH/MP_UNREACH
 * (RFC 4760, RFC 7606 §7.11–7.12; decoded in mp.ts), AS4_PATH/AS4_AGGREGATOR (RFC 6793 §4.2, §6),
 * LARGE_COMMUNITIES (RFC 8092 §5–6), OTC (RFC 9234 §5).
 *
 * Flags (RFC 7606 §3 c): an Optional or Transitive bit in conflict with the row makes the attribute
 * malformed and the UPDATE treat-as-withdraw, "unless the specification for the attribute mandates
 * different handling for incorrect Attribute Flags". That is not the row's length/value rule:
 * §7.6 and §7.7 (ATOMIC_AGGREGATE, AGGREGATOR: attribute discard) say nothing about flags, and §3 f
 * covers only the cases still specified as a session reset, which after §3 c a flags error no
 * longer is. The exceptions are explicit in `flagsAction`: MP_REACH/MP_UNREACH (§5.3: flags
 * inconsistent with RFC 4760 make them malformed, §3 j: session reset), and attributes that are
 * discarded because of who sent them, whatever they contain — LOCAL_PREF from an external peer
 * (§7.5 "SHALL be discarded") and AS4_PATH/AS4_AGGREGATOR from a 4-octet speaker (RFC 6793 §6
 * "MUST discard"). Our reading: such an attribute is never used, so its flags cannot make it
 * withdraw routes.
 */
import type { ByteWriter } from '../reader.js';
import type { CodecContext, ErrorAction, PathAttributes } from '../types.js';
import { AS_TRANS, decodeAsPath, encodedAsPathLength, hasConfed, hasWideAsn, writeAsPath } from './aspath.js';
import { decodeMpReach, decodeMpUnreach } from './mp.js';
import type { AttrState } from './state.js';

export const AttrFlag = { OPTIONAL: 0x80, TRANSITIVE: 0x40, PARTIAL: 0x20, EXTENDED_LENGTH: 0x10 } as const;

export const AttrCode = {
  ORIGIN: 1,
  AS_PATH: 2,
  NEXT_HOP: 3,
  MED: 4,
  LOCAL_PREF: 5,
  ATOMIC_AGGREGATE: 6,
  AGGREGATOR: 7,
  COMMUNITIES: 8,
  MP_REACH_NLRI: 14,
  MP_UNREACH_NLRI: 15,
  AS4_PATH: 17,
  AS4_AGGREGATOR: 18,
  LARGE_COMMUNITIES: 32,
  OTC: 35,
} as const;

const WELL_KNOWN = AttrFlag.TRANSITIVE;
const OPT_TRANS = AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE;
const OPT_NON_TRANS = AttrFlag.OPTIONAL;

/** Returns undefined when fine, or why the attribute is malformed (the row's action applies). */
export type AttrDecode = (buf: Uint8Array, off: number, len: number, st: AttrState) => string | undefined;
export type AttrEncode = (a: PathAttributes, ctx: CodecContext, w: ByteWriter) => void;

export interface AttrRow {
  code: number;
  name: string;
  flags: number; // expected Optional and Transitive bits
  action: ErrorAction; // RFC 7606 §7 for this attribute
  subcode: number; // the RFC 4271 §6.3 subcode the malformation maps to (logs, session reset)
  /** The action for an Optional/Transitive conflict when not treat-as-withdraw (see above). */
  flagsAction?: (ctx: CodecContext) => ErrorAction;
  decode: AttrDecode;
  encode?: AttrEncode;
}

function u32(buf: Uint8Array, p: number): number {
  return ((buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!) >>> 0;
}

/** Attribute header: Extended Length (RFC 4271 §4.3) only when the value needs it. */
export function writeAttrHeader(w: ByteWriter, flags: number, code: number, len: number): void {
  if (len > 255) {
    w.u8((flags | AttrFlag.EXTENDED_LENGTH) & 0xf0);
    w.u8(code);
    w.u16(len);
  } else {
    w.u8(flags & 0xe0);
    w.u8(code);
    w.u8(len);
  }
}

function u32Attr(flags: number, code: number, get: (a: PathAttributes) => number | undefined): AttrEncode {
  return (a, _ctx, w) => {
    const v = get(a);
    if (v === undefined) return;
    writeAttrHeader(w, flags, code, 4);
    w.u32(v);
  };
}

/** RFC 6793 §6: from a NEW speaker the AS4_* attributes are discarded whatever their flags. */
const as4Discarded = (ctx: CodecContext): ErrorAction =>
  ctx.as4 ? 'attribute-discard' : 'treat-as-withdraw';

const rows: AttrRow[] = [
  {
    code: AttrCode.ORIGIN,
    name: 'ORIGIN',
    flags: WELL_KNOWN,
    action: 'treat-as-withdraw',
    subcode: 6,
    decode: (buf, off, len, st) => {
      if (len !== 1) return `length ${len}`;
      const v = buf[off]!;
      if (v > 2) return `undefined value ${v}`;
      st.attrs.origin = v;
      return undefined;
    },
    encode: (a, _ctx, w) => {
      writeAttrHeader(w, WELL_KNOWN, AttrCode.ORIGIN, 1);
      w.u8(a.origin);
    },
  },
  {
    code: AttrCode.AS_PATH,
    name: 'AS_PATH',
    flags: WELL_KNOWN,
    action: 'treat-as-withdraw',
    subcode: 11,
    decode: (buf, off, len, st) => {
      const segs = decodeAsPath(buf, off, len, st.ctx.as4 ? 4 : 2);
      if (typeof segs === 'string') return segs;
      // RFC 5065 §5: confederation segments from a neighbor outside our confederation (every
      // external one: we are in none) make the AS_PATH malformed (RFC 7606 §7.2: withdraw).
      if (st.ctx.ebgp && hasConfed(segs)) return 'confederation segment from an external peer (RFC 5065 §5)';
      st.attrs.asPath = segs;
      return undefined;
    },
    encode: (a, ctx, w) => {
      const size = ctx.as4 ? 4 : 2;
      writeAttrHeader(w, WELL_KNOWN, AttrCode.AS_PATH, encodedAsPathLength(a.asPath, size));
      writeAsPath(w, a.asPath, size);
    },
  },
  {
    code: AttrCode.NEXT_HOP,
    name: 'NEXT_HOP',
    flags: WELL_KNOWN,
    action: 'treat-as-withdraw',
    subcode: 8,
    decode: (buf, off, len, st) => {
      if (len !== 4) return `length ${len}`;
      const nh = u32(buf, off);
      // RFC 4271 §6.3 semantic check: not 0.0.0.0, not multicast/class E, not broadcast.
      if (nh === 0 || nh >>> 28 >= 0xe)
        return `invalid address ${nh >>> 24}.${(nh >>> 16) & 255}.${(nh >>> 8) & 255}.${nh & 255}`;
      st.attrs.nextHop = nh;
      return undefined;
    },
    encode: u32Attr(WELL_KNOWN, AttrCode.NEXT_HOP, (a) => a.nextHop),
  },
  {
    code: AttrCode.MED,
    name: 'MULTI_EXIT_DISC',
    flags: OPT_NON_TRANS,
    action: 'treat-as-withdraw',
    subcode: 5,
    decode: (buf, off, len, st) => {
      if (len !== 4) return `length ${len}`;
      st.attrs.med = u32(buf, off);
      return undefined;
    },
    encode: u32Attr(OPT_NON_TRANS, AttrCode.MED, (a) => a.med),
  },
  {
    code: AttrCode.LOCAL_PREF,
    name: 'LOCAL_PREF',
    flags: WELL_KNOWN,
    action: 'treat-as-withdraw',
    subcode: 5,
    flagsAction: (ctx) => (ctx.ebgp ? 'attribute-discard' : 'treat-as-withdraw'),
    decode: (buf, off, len, st) => {
      // RFC 7606 §7.5: from an external peer it is discarded, whatever it looks like.
      if (st.ctx.ebgp) {
        st.discard('LOCAL_PREF from an external peer');
        return undefined;
      }
      if (len !== 4) return `length ${len}`;
      st.attrs.localPref = u32(buf, off);
      return undefined;
    },
    // RFC 4271 §5.1.5: never sent to an external peer.
    encode: (a, ctx, w) => {
      if (!ctx.ebgp) u32Attr(WELL_KNOWN, AttrCode.LOCAL_PREF, (x) => x.localPref)(a, ctx, w);
    },
  },
  {
    code: AttrCode.ATOMIC_AGGREGATE,
    name: 'ATOMIC_AGGREGATE',
    flags: WELL_KNOWN,
    action: 'attribute-discard',
    subcode: 5,
    decode: (_buf, _off, len, st) => {
      if (len !== 0) return `length ${len}`;
      st.attrs.atomicAggregate = true;
      return undefined;
    },
    encode: (a, _ctx, w) => {
      if (a.atomicAggregate) writeAttrHeader(w, WELL_KNOWN, AttrCode.ATOMIC_AGGREGATE, 0);
    },
  },
  {
    code: AttrCode.AGGREGATOR,
    name: 'AGGREGATOR',
    flags: OPT_TRANS,
    action: 'attribute-discard',
    subcode: 5,
    decode: (buf, off, len, st) => {
      if (st.ctx.as4) {
        if (len !== 8) return `length ${len}`;
        st.attrs.aggregator = { asn: u32(buf, off), address: u32(buf, off + 4) };
      } else {
        if (len !== 6) return `length ${len}`;
        st.attrs.aggregator = { asn: (buf[off]! << 8) | buf[off + 1]!, address: u32(buf, off + 2) };
      }
      // RFC 7607 §2: AS 0 is malformed; AGGREGATOR's rule is discard.
      if (st.attrs.aggregator.asn === 0) {
        st.attrs.aggregator = undefined;
        return 'AS 0 (RFC 7607)';
      }
      return undefined;
    },
    encode: (a, ctx, w) => {
      const g = a.aggregator;
      if (g === undefined) return;
      writeAttrHeader(w, OPT_TRANS, AttrCode.AGGREGATOR, ctx.as4 ? 8 : 6);
      if (ctx.as4) w.u32(g.asn);
      else w.u16(g.asn > 0xffff ? AS_TRANS : g.asn);
      w.u32(g.address);
    },
  },
  {
    code: AttrCode.COMMUNITIES,
    name: 'COMMUNITIES',
    flags: OPT_TRANS,
    action: 'treat-as-withdraw',
    subcode: 9,
    decode: (buf, off, len, st) => {
      if (len === 0 || len % 4 !== 0) return `length ${len}`;
      const out = new Array<number>(len / 4);
      for (let i = 0; i < out.length; i++) out[i] = u32(buf, off + i * 4);
      st.attrs.communities = out;
      return undefined;
    },
    encode: (a, _ctx, w) => {
      const c = a.communities;
      if (c === undefined || c.length === 0) return;
      writeAttrHeader(w, OPT_TRANS, AttrCode.COMMUNITIES, c.length * 4);
      for (const v of c) w.u32(v);
    },
  },
  {
    code: AttrCode.MP_REACH_NLRI,
    name: 'MP_REACH_NLRI',
    flags: OPT_NON_TRANS,
    action: 'session-reset',
    subcode: 9,
    flagsAction: () => 'session-reset',
    decode: decodeMpReach,
  },
  {
    code: AttrCode.MP_UNREACH_NLRI,
    name: 'MP_UNREACH_NLRI',
    flags: OPT_NON_TRANS,
    action: 'session-reset',
    subcode: 9,
    flagsAction: () => 'session-reset',
    decode: decodeMpUnreach,
  },
  {
    code: AttrCode.AS4_PATH,
    name: 'AS4_PATH',
    flags: OPT_TRANS,
    action: 'attribute-discard',
    subcode: 9,
    flagsAction: as4Discarded,
    decode: (buf, off, len, st) => {
      // RFC 6793 §6: a NEW speaker does not send it to a NEW speaker; drop it if one does.
      if (st.ctx.as4) {
        st.discard('AS4_PATH from a 4-octet AS speaker');
        return undefined;
      }
      const segs = decodeAsPath(buf, off, len, 4);
      if (typeof segs === 'string') return segs;
      // RFC 6793 §6: also malformed when too short to carry one AS (an empty one).
      if (len < 6) return `length ${len}`;
      // §6: confederation segments "MUST" be discarded from it, the rest used.
      if (hasConfed(segs)) {
        st.discard('AS4_PATH: confederation segments dropped (RFC 6793 §6)');
        st.as4Path = segs.filter((x) => x.type === 1 || x.type === 2);
      } else {
        st.as4Path = segs;
      }
      return undefined;
    },
    encode: (a, ctx, w) => {
      // RFC 6793 §4.2.2: toward an OLD speaker, whenever the path holds a non-mappable ASN.
      if (ctx.as4 || !hasWideAsn(a.asPath)) return;
      const segs = a.asPath.filter((s) => s.type === 1 || s.type === 2);
      writeAttrHeader(w, OPT_TRANS, AttrCode.AS4_PATH, encodedAsPathLength(segs, 4));
      writeAsPath(w, segs, 4);
    },
  },
  {
    code: AttrCode.AS4_AGGREGATOR,
    name: 'AS4_AGGREGATOR',
    flags: OPT_TRANS,
    action: 'attribute-discard',
    subcode: 9,
    flagsAction: as4Discarded,
    decode: (buf, off, len, st) => {
      if (st.ctx.as4) {
        st.discard('AS4_AGGREGATOR from a 4-octet AS speaker');
        return undefined;
      }
      if (len !== 8) return `length ${len}`;
      if (u32(buf, off) === 0) return 'AS 0 (RFC 7607)';
      st.as4Aggregator = { asn: u32(buf, off), address: u32(buf, off + 4) };
      return undefined;
    },
    encode: (a, ctx, w) => {
      const g = a.aggregator;
      if (ctx.as4 || g === undefined || g.asn <= 0xffff) return;
      writeAttrHeader(w, OPT_TRANS, AttrCode.AS4_AGGREGATOR, 8);
      w.u32(g.asn);
      w.u32(g.address);
    },
  },
  {
    code: AttrCode.LARGE_COMMUNITIES,
    name: 'LARGE_COMMUNITY',
    flags: OPT_TRANS,
    action: 'treat-as-withdraw',
    subcode: 9,
    decode: (buf, off, len, st) => {
      if (len === 0 || len % 12 !== 0) return `length ${len}`;
      const out = new Array<number>(len / 4);
      for (let i = 0; i < out.length; i++) out[i] = u32(buf, off + i * 4);
      st.attrs.largeCommunities = out;
      return undefined;
    },
    encode: (a, _ctx, w) => {
      const c = a.largeCommunities;
      if (c === undefined || c.length === 0) return;
      const n = c.length - (c.length % 3);
      writeAttrHeader(w, OPT_TRANS, AttrCode.LARGE_COMMUNITIES, n * 4);
      for (let i = 0; i < n; i++) w.u32(c[i]!);
    },
  },
  {
    code: AttrCode.OTC,
    name: 'OTC',
    flags: OPT_TRANS,
    action: 'treat-as-withdraw',
    subcode: 9,
    decode: (buf, off, len, st) => {
      if (len !== 4) return `length ${len}`;
      st.attrs.otc = u32(buf, off);
      return undefined;
    },
    encode: u32Attr(OPT_TRANS, AttrCode.OTC, (a) => a.otc),
  },
];

/** ATTRS[code] = its row, or undefined for attributes we do not recognise. */
export const ATTRS: (AttrRow | undefined)[] = new Array<AttrRow | undefined>(256).fill(undefined);
for (const r of rows) ATTRS[r.code] = r;

/** The rows that encode, in type-code order (the order BIRD and GoBGP send). */
export const ENCODE_ROWS: AttrRow[] = rows.filter((r) => r.encode !== undefined);

export function attrName(code: number): string {
  return ATTRS[code]?.name ?? `attribute ${code}`;
}
