/**
 * Capabilities advertisement (RFC 5492): multiprotocol (RFC 4760, code 1), route refresh
 * (RFC 2918, 2), extended message (RFC 8654, 6), BGP role (RFC 9234, 9), graceful restart
 * (RFC 4724 + N bit of RFC 8538, 64), 4-octet AS (RFC 6793, 65), enhanced route refresh
 * (RFC 7313, 70). Anything else is kept in `unknown`, never fatal (RFC 5492 §3).
 */
import { type BgpMessageError, fail, ok, openUnspecific, type Result, roleMismatch } from './errors.js';
import { ByteReader, ByteWriter } from './reader.js';
import { AFI_IPV4, AFI_IPV6, type Capabilities, type Family, SAFI_UNICAST } from './types.js';

export const CapabilityCode = {
  MULTIPROTOCOL: 1,
  ROUTE_REFRESH: 2,
  EXTENDED_MESSAGE: 6,
  ROLE: 9,
  GRACEFUL_RESTART: 64,
  AS4: 65,
  ENHANCED_ROUTE_REFRESH: 70,
} as const;

/** The family an AFI/SAFI pair names (multiprotocol, graceful restart), if gredge speaks it. */
export function familyOf(afi: number, safi: number): Family | undefined {
  if (safi !== SAFI_UNICAST) return undefined;
  if (afi === AFI_IPV4) return 'ipv4-unicast';
  if (afi === AFI_IPV6) return 'ipv6-unicast';
  return undefined;
}

export function emptyCapabilities(): Capabilities {
  return {
    multiprotocol: [],
    routeRefresh: false,
    extendedMessage: false,
    enhancedRouteRefresh: false,
    unknown: [],
  };
}

/** Each capability as (code, value), sorted by code: one canonical order for byte-exact output. */
export function capabilityList(c: Capabilities): { code: number; value: Uint8Array }[] {
  const list: { code: number; value: Uint8Array }[] = [];
  for (const mp of c.multiprotocol) {
    list.push({ code: 1, value: Uint8Array.of(mp.afi >>> 8, mp.afi & 0xff, 0, mp.safi & 0xff) });
  }
  if (c.routeRefresh) list.push({ code: 2, value: new Uint8Array(0) });
  if (c.extendedMessage) list.push({ code: 6, value: new Uint8Array(0) });
  if (c.role !== undefined) list.push({ code: 9, value: Uint8Array.of(c.role & 0xff) });
  const gr = c.gracefulRestart;
  if (gr !== undefined) {
    const w = new ByteWriter(2 + 4 * gr.families.length);
    w.u16((gr.restarting ? 0x8000 : 0) | (gr.notification ? 0x4000 : 0) | (gr.restartTime & 0x0fff));
    for (const f of gr.families) {
      w.u16(f.afi);
      w.u8(f.safi);
      w.u8(f.forwarding ? 0x80 : 0);
    }
    list.push({ code: 64, value: w.finish() });
  }
  if (c.as4 !== undefined) {
    const a = c.as4 >>> 0;
    list.push({ code: 65, value: Uint8Array.of(a >>> 24, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff) });
  }
  if (c.enhancedRouteRefresh) list.push({ code: 70, value: new Uint8Array(0) });
  for (const u of c.unknown) list.push({ code: u.code, value: u.value });
  return list.sort((a, b) => a.code - b.code);
}

/** The capabilities as one run of (code, length, value) triplets. */
export function encodeCapabilities(c: Capabilities): Uint8Array {
  const w = new ByteWriter();
  for (const cap of capabilityList(c)) {
    w.u8(cap.code);
    w.u8(cap.value.length);
    w.bytes(cap.value.subarray(0, 255));
  }
  return w.finish();
}

function malformed(code: number, len: number): BgpMessageError {
  return openUnspecific(`malformed capability ${code} (length ${len})`);
}

/**
 * Adds the capabilities in `r`'s window to `into`. Malformed known capabilities are an OPEN error
 * with subcode 0 (RFC 4271 §6.2: "recognized, but malformed"); conflicting roles are 2/11.
 */
export function decodeCapabilities(r: ByteReader, into: Capabilities): Result<Capabilities> {
  while (r.left > 0) {
    if (r.left < 2) return fail(openUnspecific('truncated capability header'));
    const code = r.u8();
    const len = r.u8();
    if (!r.has(len)) return fail(openUnspecific(`capability ${code} overruns its parameter`));
    const v = new ByteReader(r.buf, r.pos, r.pos + len);
    r.skip(len);
    switch (code) {
      case CapabilityCode.MULTIPROTOCOL: {
        if (len !== 4) return fail(malformed(code, len));
        const afi = v.u16();
        v.skip(1);
        const safi = v.u8();
        if (!into.multiprotocol.some((m) => m.afi === afi && m.safi === safi))
          into.multiprotocol.push({ afi, safi });
        break;
      }
      case CapabilityCode.ROUTE_REFRESH:
        if (len !== 0) return fail(malformed(code, len));
        into.routeRefresh = true;
        break;
      case CapabilityCode.EXTENDED_MESSAGE:
        if (len !== 0) return fail(malformed(code, len));
        into.extendedMessage = true;
        break;
      case CapabilityCode.ROLE: {
        if (len !== 1) return fail(malformed(code, len));
        const role = v.u8();
        // RFC 9234 §4.2: several Role capabilities with different values are a role mismatch.
        if (into.role !== undefined && into.role !== role) {
          return fail(roleMismatch(`conflicting role capabilities ${into.role} and ${role}`));
        }
        into.role = role;
        break;
      }
      case CapabilityCode.GRACEFUL_RESTART: {
        if (len < 2 || (len - 2) % 4 !== 0) return fail(malformed(code, len));
        const head = v.u16();
        const families: { afi: number; safi: number; forwarding: boolean }[] = [];
        while (v.left >= 4) {
          const afi = v.u16();
          const safi = v.u8();
          const flags = v.u8();
          families.push({ afi, safi, forwarding: (flags & 0x80) !== 0 });
        }
        into.gracefulRestart = {
          restarting: (head & 0x8000) !== 0,
          notification: (head & 0x4000) !== 0,
          restartTime: head & 0x0fff,
          families,
        };
        break;
      }
      case CapabilityCode.AS4:
        if (len !== 4) return fail(malformed(code, len));
        into.as4 = v.u32();
        break;
      case CapabilityCode.ENHANCED_ROUTE_REFRESH:
        if (len !== 0) return fail(malformed(code, len));
        into.enhancedRouteRefresh = true;
        break;
      default:
        into.unknown.push({ code, value: v.bytes(len) });
    }
  }
  return ok(into);
}
