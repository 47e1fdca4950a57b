/**
 * NOTIFICATION (RFC 4271 §4.5) with decoded names for logs, the shutdown communication of
 * RFC 8203 / RFC 9003 (Cease subcodes 2 and 4: length octet + UTF-8, at most 255 bytes), and
 * ROUTE-REFRESH (RFC 2918 §3, subtypes of RFC 7313 §3 and its length check §5).
 */
import {
  badMessageLength,
  CeaseSubcode,
  ErrorCode,
  EMPTY,
  fail,
  notificationName,
  ok,
  type Result,
  routeRefreshInvalidLength,
} from './errors.js';
import { withHeader, writeHeader } from './header.js';
import { HEADER_LENGTH, MessageType, type NotificationMessage, type RouteRefreshMessage } from './types.js';

export function encodeNotification(n: NotificationMessage): Uint8Array {
  const body = new Uint8Array(2 + n.data.length);
  body[0] = n.code;
  body[1] = n.subcode;
  body.set(n.data, 2);
  return withHeader(MessageType.NOTIFICATION, body);
}

export function decodeNotification(body: Uint8Array): Result<NotificationMessage> {
  if (body.length < 2) return fail(badMessageLength(body.length + HEADER_LENGTH));
  return ok({ code: body[0]!, subcode: body[1]!, data: body.slice(2) });
}

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function carriesCommunication(n: NotificationMessage): boolean {
  return (
    n.code === ErrorCode.CEASE &&
    (n.subcode === CeaseSubcode.ADMINISTRATIVE_SHUTDOWN || n.subcode === CeaseSubcode.ADMINISTRATIVE_RESET)
  );
}

/** The RFC 8203 shutdown communication, or undefined when absent or malformed (§3: not fatal). */
export function shutdownCommunication(n: NotificationMessage): string | undefined {
  if (!carriesCommunication(n) || n.data.length < 1) return undefined;
  const len = n.data[0]!;
  if (len === 0 || len + 1 > n.data.length) return undefined;
  try {
    return strictUtf8.decode(n.data.subarray(1, 1 + len));
  } catch {
    return undefined;
  }
}

/** `cease: administrative shutdown: "maintenance"`, `hold timer expired`. */
export function describeNotification(n: NotificationMessage): string {
  const name = notificationName(n.code, n.subcode);
  const text = shutdownCommunication(n);
  if (text !== undefined) return `${name}: ${JSON.stringify(text)}`;
  if (carriesCommunication(n) && n.data.length > 0 && !(n.data[0] === 0 && n.data.length === 1)) {
    return `${name} (malformed shutdown communication ${hex(n.data)})`;
  }
  return name;
}

function hex(b: Uint8Array): string {
  let s = '';
  for (const x of b.subarray(0, 64)) s += x.toString(16).padStart(2, '0');
  return b.length > 64 ? `${s}…` : s;
}

/** Cut UTF-8 to ≤ max bytes without splitting a character (continuation bytes are 10xxxxxx). */
function truncateUtf8(b: Uint8Array, max: number): Uint8Array {
  if (b.length <= max) return b;
  let end = max;
  while (end > 0 && (b[end]! & 0xc0) === 0x80) end--;
  return b.subarray(0, end);
}

/** A Cease; with `message` for subcodes 2 and 4 it carries the RFC 9003 communication. */
export function ceaseNotification(subcode: number, message?: string): NotificationMessage {
  if (message === undefined || !(subcode === 2 || subcode === 4)) return { code: 6, subcode, data: EMPTY };
  const text = truncateUtf8(utf8.encode(message), 255);
  const data = new Uint8Array(1 + text.length);
  data[0] = text.length;
  data.set(text, 1);
  return { code: 6, subcode, data };
}

export function encodeRouteRefresh(r: RouteRefreshMessage): Uint8Array {
  const b = new Uint8Array(HEADER_LENGTH + 4);
  writeHeader(b, 0, b.length, MessageType.ROUTE_REFRESH);
  b[19] = (r.afi >>> 8) & 0xff;
  b[20] = r.afi & 0xff;
  b[21] = r.subtype;
  b[22] = r.safi;
  return b;
}

/** Unknown subtypes decode fine: RFC 7313 §5 says to ignore them, which is the session's call. */
export function decodeRouteRefresh(body: Uint8Array): Result<RouteRefreshMessage> {
  if (body.length !== 4) {
    const subtype = body.length >= 3 ? body[2]! : 0;
    if (subtype === 1 || subtype === 2) {
      const whole = new Uint8Array(HEADER_LENGTH + body.length);
      writeHeader(whole, 0, Math.min(whole.length, 0xffff), MessageType.ROUTE_REFRESH);
      whole.set(body, HEADER_LENGTH);
      return fail(routeRefreshInvalidLength(whole));
    }
    return fail(badMessageLength(body.length + HEADER_LENGTH));
  }
  return ok({ afi: (body[0]! << 8) | body[1]!, subtype: body[2]!, safi: body[3]! });
}
