/**
 * UPDATE decoding (RFC 4271 §4.3, §6.3) with the revised error handling of RFC 7606: length
 * checks (§3 b, §4, §5.3), per-attribute actions from the attribute table (§7), flags conflicts
 * treat-as-withdraw unless the row says otherwise (§3 c), duplicates (§3 g: MP_REACH/MP_UNREACH
 * twice is 3/1 whatever else is wrong), missing well-known attributes (§3 d → treat-as-withdraw),
 * the strongest action winning (§3 h), no reachable NLRI turning treat-as-withdraw into a session
 * reset (§5.2), AS4_PATH/AS4_AGGREGATOR merging toward a 2-octet speaker (RFC 6793 §4.2.3), and
 * End-of-RIB recognition (RFC 4724 §2).
 */
import { AS_TRANS, mergeAs4Path } from './attrs/aspath.js';
import { AttrState, Severity } from './attrs/state.js';
import { AttrCode, ATTRS } from './attrs/table.js';
import {
  type BgpMessageError,
  badMessageLength,
  EMPTY,
  fail,
  ok,
  type Result,
  updateError,
} from './errors.js';
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

/**
 * RFC 7606 §3 g: MP_REACH_NLRI or MP_UNREACH_NLRI more than once is a session reset with 3/1,
 * whatever else is wrong with the UPDATE. Walks the attribute headers of body[start, end) (as far
 * as they frame) looking for a second one. Only called on the way out with a session-reset
 * error, so the decode of a valid UPDATE never pays for it.
 */
function mpTwice(body: Uint8Array, start: number, end: number): boolean {
  let reach = false;
  let unreach = false;
  let p = start;
  while (end - p >= 3) {
    const ext = (body[p]! & 0x10) !== 0;
    if (ext && end - p < 4) break;
    const code = body[p + 1]!;
    const vlen = ext ? (body[p + 2]! << 8) | body[p + 3]! : body[p + 2]!;
    if (code === AttrCode.MP_REACH_NLRI) {
      if (reach) return true;
      reach = true;
    } else if (code === AttrCode.MP_UNREACH_NLRI) {
      if (unreach) return true;
      unreach = true;
    }
    p += (ext ? 4 : 3) + vlen;
  }
  return false;
}

/** A session-reset outcome, unless §3 g (a duplicated MP attribute) overrides it. */
function reset(e: BgpMessageError, body: Uint8Array, start: number, end: number): Result<UpdateMessage> {
  if (e.subcode !== 1 && mpTwice(body, start, end)) {
    return fail(updateError(1, EMPTY, `MP_REACH_NLRI or MP_UNREACH_NLRI more than once (${e.message})`));
  }
  return fail(e);
}

function mpCode(code: number): boolean {
  return code === AttrCode.MP_REACH_NLRI || code === AttrCode.MP_UNREACH_NLRI;
}

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
  // RFC 7606 §3 i, §5.3: a syntax error in either prefix list is a session reset (3/10).
  if (!readPrefixes4(body, 2, 2 + wlen, withdrawn4))
    return reset(updateError(10, EMPTY, 'withdrawn routes: invalid prefix'), body, attrStart, attrEnd);
  const nlri4: number[] = [];
  if (!readPrefixes4(body, attrEnd, len, nlri4))
    return reset(updateError(10, EMPTY, 'NLRI: invalid prefix'), body, attrStart, attrEnd);

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
    // and the Total Attribute Length still locates the NLRI. Unless it is MP_REACH/MP_UNREACH:
    // treat-as-withdraw needs those parsed (§3 j), so that is a session reset.
    if (attrEnd - p < 3 || ((body[p]! & 0x10) !== 0 && attrEnd - p < 4)) {
      if (attrEnd - p >= 2 && mpCode(body[p + 1]!)) {
        return reset(updateError(9, EMPTY, 'MP attribute header underrun'), body, attrStart, attrEnd);
      }
      st.withdraw('attribute header underrun (3/1)', 1);
      break;
    }
    const flags = body[p]!;
    const code = body[p + 1]!;
    let vlen: number;
    let hdr: number;
    if ((flags & 0x10) !== 0) {
      vlen = (body[p + 2]! << 8) | body[p + 3]!;
      hdr = 4;
    } else {
      vlen = body[p + 2]!;
      hdr = 3;
    }
    const start = p;
    const off = p + hdr;
    if (off + vlen > attrEnd) {
      if (mpCode(code)) {
        return reset(
          updateError(9, EMPTY, `attribute ${code} overruns the path attributes`),
          body,
          attrStart,
          attrEnd,
        );
      }
      st.withdraw(`attribute ${code} overruns the path attributes (3/5)`, 5);
      break;
    }
    p = off + vlen;
    const row = ATTRS[code];
    if (row === undefined) {
      // RFC 7606 §3 g: later copies of an attribute, "recognized or unrecognized", are discarded
      // unexamined — also a copy whose flags call it well-known.
      if (st.seen(code)) {
        st.discard(`duplicate attribute ${code}`);
      } else if ((flags & 0x80) === 0) {
        const e = updateError(2, body.slice(start, p), `unrecognized well-known attribute ${code}`);
        return reset(e, body, attrStart, attrEnd);
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
    let reason: string | undefined;
    let action = row.action;
    let subcode = row.subcode;
    if ((flags & 0xc0) !== row.flags) {
      // RFC 7606 §3 c: treat-as-withdraw unless the row's specification says otherwise.
      reason = `flags 0x${flags.toString(16)}`;
      action = row.flagsAction === undefined ? 'treat-as-withdraw' : row.flagsAction(st.ctx);
      subcode = 4;
    } else {
      reason = row.decode(body, off, vlen, st);
      if (st.error !== undefined) return reset(st.error, body, attrStart, attrEnd);
      if (reason === undefined) continue;
    }
    if (action === 'session-reset') {
      const e = updateError(subcode, body.slice(start, p), `${row.name}: ${reason}`);
      return reset(e, body, attrStart, attrEnd);
    }
    if (action === 'treat-as-withdraw')
      st.withdraw(`${row.name}: ${reason} (3/${subcode})`, subcode, body.slice(start, p));
    else st.discard(`${row.name}: ${reason} (3/${subcode})`);
  }

  if (st.mpNlri4 !== undefined) for (const x of st.mpNlri4) nlri4.push(x);
  if (st.mpWithdrawn4 !== undefined) for (const x of st.mpWithdrawn4) withdrawn4.push(x);
  const nlri6 = st.nlri6;
  const withdrawn6 = st.withdrawn6;
  const hasNlri = nlri4.length > 0 || nlri6.length > 0;
  const attrs = st.attrs;

  // RFC 7606 §5.2: attributes but no reachable NLRI, so we cannot be sure the NLRI were parsed
  // (§3 j): any error stronger than attribute discard is a session reset, with the subcode of the
  // first such error (RFC 4271 §6.3). Only attribute errors can get here: missing attributes
  // need NLRI, and MP_REACH/MP_UNREACH errors are resets already.
  if (!hasNlri && st.severity === Severity.WITHDRAW) {
    const e = updateError(
      st.withdrawSubcode,
      st.withdrawData ?? EMPTY,
      `no reachable NLRI: ${st.withdrawReason}`,
    );
    return reset(e, body, attrStart, attrEnd);
  }

  if (hasNlri && st.severity < Severity.WITHDRAW) {
    // RFC 7606 §3 d; NEXT_HOP is mandatory only with traditional NLRI (RFC 4760 §3).
    if (!st.has(AttrCode.ORIGIN)) st.withdraw('missing well-known attribute ORIGIN (3/3)', 3);
    else if (!st.has(AttrCode.AS_PATH)) st.withdraw('missing well-known attribute AS_PATH (3/3)', 3);
    else if (traditionalNlri && !st.has(AttrCode.NEXT_HOP))
      st.withdraw('missing well-known attribute NEXT_HOP (3/3)', 3);
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
