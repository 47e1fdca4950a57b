/**
 * MP_REACH_NLRI and MP_UNREACH_NLRI (RFC 4760 §3–4) for IPv4 and IPv6 unicast, IPv6 next hop
 * global or global + link-local (RFC 2545 §3). Malformed → session reset (RFC 7606 §7.11–7.12):
 * a structural error returns a reason (the row makes it 3/9), an NLRI syntax error is 3/10.
 * Other AFI/SAFI pairs were not negotiated by us and are skipped, noted in `discarded`.
 */
import { EMPTY, updateError } from '../errors.js';
import { readPrefixes4, readPrefixes6 } from '../nlri.js';
import { AFI_IPV4, AFI_IPV6, SAFI_UNICAST } from '../types.js';
import type { AttrState } from './state.js';

function nlriError(what: string): ReturnType<typeof updateError> {
  return updateError(10, EMPTY, `${what}: invalid prefix`);
}

export function decodeMpReach(buf: Uint8Array, off: number, len: number, st: AttrState): string | undefined {
  if (len < 5) return `length ${len}`;
  const afi = (buf[off]! << 8) | buf[off + 1]!;
  const safi = buf[off + 2]!;
  const nhLen = buf[off + 3]!;
  const nlriStart = off + 4 + nhLen + 1; // + reserved octet (RFC 4760 §3)
  const end = off + len;
  if (nlriStart > end) return `next hop length ${nhLen} overruns the attribute`;
  const nh = off + 4;
  if (safi !== SAFI_UNICAST || (afi !== AFI_IPV4 && afi !== AFI_IPV6)) {
    st.discard(`MP_REACH_NLRI for AFI ${afi} SAFI ${safi}`);
    return undefined;
  }
  st.mpReachFamily = afi * 256 + safi;
  if (afi === AFI_IPV6) {
    if (nhLen !== 16 && nhLen !== 32) return `IPv6 next hop length ${nhLen}`;
    const global = buf.slice(nh, nh + 16);
    st.attrs.nextHop6 = nhLen === 32 ? { global, linkLocal: buf.slice(nh + 16, nh + 32) } : { global };
    if (!readPrefixes6(buf, nlriStart, end, st.nlri6)) st.error = nlriError('MP_REACH_NLRI');
    return undefined;
  }
  if (nhLen !== 4) return `IPv4 next hop length ${nhLen}`;
  st.attrs.nextHop = ((buf[nh]! << 24) | (buf[nh + 1]! << 16) | (buf[nh + 2]! << 8) | buf[nh + 3]!) >>> 0;
  st.mpNlri4 = [];
  if (!readPrefixes4(buf, nlriStart, end, st.mpNlri4)) st.error = nlriError('MP_REACH_NLRI');
  return undefined;
}

export function decodeMpUnreach(
  buf: Uint8Array,
  off: number,
  len: number,
  st: AttrState,
): string | undefined {
  if (len < 3) return `length ${len}`;
  const afi = (buf[off]! << 8) | buf[off + 1]!;
  const safi = buf[off + 2]!;
  const end = off + len;
  if (safi !== SAFI_UNICAST || (afi !== AFI_IPV4 && afi !== AFI_IPV6)) {
    st.discard(`MP_UNREACH_NLRI for AFI ${afi} SAFI ${safi}`);
    return undefined;
  }
  st.mpUnreachFamily = afi * 256 + safi;
  if (afi === AFI_IPV6) {
    if (!readPrefixes6(buf, off + 3, end, st.withdrawn6)) st.error = nlriError('MP_UNREACH_NLRI');
    return undefined;
  }
  st.mpWithdrawn4 = [];
  if (!readPrefixes4(buf, off + 3, end, st.mpWithdrawn4)) st.error = nlriError('MP_UNREACH_NLRI');
  return undefined;
}
