/**
 * UPDATE decoding (RFC 4271 §4.3, §6.3) with the revised error handling of RFC 7606: length
 * checks (§4 and §5.3 → session reset), per-attribute actions from the attribute table (§7),
 * flags errors handled by the attribute's rule (§3 c), duplicates (§3 g), missing well-known
 * attributes (§3 d → treat-as-withdraw), AS4_PATH/AS4_AGGREGATOR merging toward a 2-octet
 * speaker (RFC 6793 §4.2.3), and End-of-RIB recognition (RFC 4724 §2).
 */
import { AS_TRANS, mergeAs4Path } from './attrs/aspath.js';
import { AttrState, Severity } from './attrs/state.js';
import { AttrCode, ATTRS } from './attrs/table.js';
import { badMessageLength, EMPTY, fail, ok, type Result, updateError } from './errors.js';
import { readPrefixes4 } from './nlri.js';
import {
  AFI_IPV4,
  AFI_IPV6,
  type CodecContext,
  HEADER_LENGTH,
  SAFI_UNICAST,
  type UpdateMessage,
} from './types.js';

const V6_UNICAST = AFI_IPV6 * 256 + SAFI_UNICAST;
const V4_UNICAST = AFI_IPV4 * 256 + SAFI_UNICAST;

/** Decodes an UPDATE body (after the header). Only session-reset outcomes are errors. */
export function decodeUpdate(body: Uint8Array, ctx: CodecContext): Result<UpdateMessage> {
  const len = body.length;
  if (len < 4) return fail(badMessageLength(len + HEADER_LENGTH));
  const wlen = (body[0]! << 8) | body[1]!;
  if (4 + wlen > len)
    return fail(updateError(1, EMPTY, `withdrawn routes length ${wlen} overruns the message`));
  const alen = (body[2 + wlen]! << 8) | body[3 + wlen]!;
  const attrStart = 4 + wlen;
  const attrEnd = attrStart + alen;
  if (attrEnd > len)
    return fail(updateError(1, EMPTY, `total path attribute length ${alen} overruns the message`));

  const withdrawn4: number[] = [];
  if (!readPrefixes4(body, 2, 2 + wlen, withdrawn4))
    return fail(updateError(10, EMPTY, 'withdrawn routes: invalid prefix'));
  const nlri4: number[] = [];
  if (!readPrefixes4(body, attrEnd, len, nlri4)) return fail(updateError(10, EMPTY, 'NLRI: invalid prefix'));

  if (alen === 0) {
    const m: UpdateMessage = { withdrawn4, nlri4, withdrawn6: [], nlri6: [] };
    if (nlri4.length > 0) {
      m.withdrawn4 = withdrawn4.concat(nlri4);
      m.nlri4 = [];
      m.treatAsWithdraw = 'missing well-known attribute ORIGIN (3/3)';
    } else if (wlen === 0) {
      m.endOfRib = 'ipv4-unicast';
    }
    return ok(m);
  }

  const st = new AttrState(ctx);
  const traditionalNlri = nlri4.length > 0;
  let p = attrStart;
  while (p < attrEnd) {
    // RFC 7606 §4: an attribute header or value overrunning the attribute field → withdraw,
    // and the Total Attribute Length still locates the NLRI.
    if (attrEnd - p < 3) {
      st.withdraw('attribute header underrun (3/1)');
      break;
    }
    const flags = body[p]!;
    const code = body[p + 1]!;
    let vlen: number;
    let hdr: number;
    if ((flags & 0x10) !== 0) {
      if (attrEnd - p < 4) {
        st.withdraw('attribute header underrun (3/1)');
        break;
      }
      vlen = (body[p + 2]! << 8) | body[p + 3]!;
      hdr = 4;
    } else {
      vlen = body[p + 2]!;
      hdr = 3;
    }
    const start = p;
    const off = p + hdr;
    if (off + vlen > attrEnd) {
      st.withdraw(`attribute ${code} overruns the path attributes (3/5)`);
      break;
    }
    p = off + vlen;
    const row = ATTRS[code];
    if (row === undefined) {
      if ((flags & 0x80) === 0) {
        return fail(updateError(2, body.slice(start, p), `unrecognized well-known attribute ${code}`));
      }
      if (st.seen(code)) {
        st.discard(`duplicate attribute ${code}`);
      } else if ((flags & 0x40) !== 0) {
        // Optional transitive we do not know: pass it on, marked Partial (RFC 4271 §5).
        (st.attrs.unknown ??= []).push({ flags: (flags & 0xe0) | 0x20, code, value: body.slice(off, p) });
      }
      continue;
    }
    if (st.seen(code)) {
      if (code === AttrCode.MP_REACH_NLRI || code === AttrCode.MP_UNREACH_NLRI) {
        return fail(updateError(1, EMPTY, `duplicate ${row.name}`));
      }
      st.discard(`duplicate ${row.name}`);
      continue;
    }
    const flagsBad = (flags & 0xc0) !== row.flags;
    const reason = flagsBad ? `flags 0x${flags.toString(16)}` : row.decode(body, off, vlen, st);
    if (st.error !== undefined) return fail(st.error);
    if (reason === undefined) continue;
    const subcode = flagsBad ? 4 : row.subcode;
    if (row.action === 'session-reset')
      return fail(updateError(subcode, body.slice(start, p), `${row.name}: ${reason}`));
    if (row.action === 'treat-as-withdraw') st.withdraw(`${row.name}: ${reason} (3/${subcode})`);
    else st.discard(`${row.name}: ${reason} (3/${subcode})`);
  }

  if (st.mpNlri4 !== undefined) for (const x of st.mpNlri4) nlri4.push(x);
  if (st.mpWithdrawn4 !== undefined) for (const x of st.mpWithdrawn4) withdrawn4.push(x);
  const nlri6 = st.nlri6;
  const withdrawn6 = st.withdrawn6;
  const hasNlri = nlri4.length > 0 || nlri6.length > 0;
  const attrs = st.attrs;

  if (hasNlri && st.severity < Severity.WITHDRAW) {
    // RFC 7606 §3 d; NEXT_HOP is mandatory only with traditional NLRI (RFC 4760 §3).
    if (!st.has(AttrCode.ORIGIN)) st.withdraw('missing well-known attribute ORIGIN (3/3)');
    else if (!st.has(AttrCode.AS_PATH)) st.withdraw('missing well-known attribute AS_PATH (3/3)');
    else if (traditionalNlri && !st.has(AttrCode.NEXT_HOP))
      st.withdraw('missing well-known attribute NEXT_HOP (3/3)');
  }

  if (!ctx.as4) {
    const agg = attrs.aggregator;
    // RFC 6793 §4.2.3: an AGGREGATOR with a real 2-octet AS means the AS4_* attributes are stale.
    if (agg === undefined || agg.asn === AS_TRANS) {
      if (agg !== undefined && st.as4Aggregator !== undefined) attrs.aggregator = st.as4Aggregator;
      if (st.as4Path !== undefined) attrs.asPath = mergeAs4Path(attrs.asPath, st.as4Path);
    }
  }

  const m: UpdateMessage = { withdrawn4, nlri4, withdrawn6, nlri6 };
  if (st.severity === Severity.WITHDRAW) {
    for (const x of nlri4) withdrawn4.push(x);
    for (const x of nlri6) withdrawn6.push(x);
    m.nlri4 = [];
    m.nlri6 = [];
    m.treatAsWithdraw = st.withdrawReason;
  } else if (hasNlri) {
    m.attrs = attrs;
  }
  if (st.discarded !== undefined) m.discarded = st.discarded;

  // RFC 4724 §2: an UPDATE whose only attribute is an empty MP_UNREACH_NLRI.
  if (
    !hasNlri &&
    wlen === 0 &&
    st.seenLow === 1 << AttrCode.MP_UNREACH_NLRI &&
    st.seenHigh === undefined &&
    withdrawn6.length === 0 &&
    withdrawn4.length === 0
  ) {
    if (st.mpUnreachFamily === V6_UNICAST) m.endOfRib = 'ipv6-unicast';
    else if (st.mpUnreachFamily === V4_UNICAST) m.endOfRib = 'ipv4-unicast';
  }
  return ok(m);
}
