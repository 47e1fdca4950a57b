/**
 * Turns one received message into the RFC 4271 §8.1 event it raises, with its decoded payload:
 * OPEN checks (§6.2 through the codec and negotiate.ts), UPDATE decoding with the negotiated
 * context (§6.3 / RFC 7606: only session-reset outcomes become UpdateMsgErr), NOTIFICATION
 * (version errors are event 24), ROUTE-REFRESH (RFC 2918, RFC 7313 §5 length errors).
 * Pure: no I/O; the Peer logs, counts and dispatches.
 */
import {
  type BgpMessageError,
  decodeNotification,
  decodeOpen,
  decodeRouteRefresh,
  decodeUpdate,
  MessageType,
  type NotificationMessage,
  type OpenMessage,
  type RouteRefreshMessage,
  type UpdateMessage,
} from '../wire/index.js';
import type { FsmEvent, State } from './fsm.js';
import { checkOpen, type Negotiated, type OpenExpectations } from './negotiate.js';

export interface Inbound {
  event: FsmEvent;
  /** Why the message is an error (for logs), when it is one. */
  error?: BgpMessageError;
  open?: { message: OpenMessage; negotiated: Negotiated };
  update?: UpdateMessage;
  refresh?: RouteRefreshMessage;
  notification?: NotificationMessage;
}

function errorEvent(type: FsmEvent['type'], e: BgpMessageError): Inbound {
  return { event: { type, code: e.code, subcode: e.subcode, data: e.data }, error: e };
}

/**
 * `negotiated` is the connection's OPEN result (present from OpenConfirm on); UPDATEs are only
 * decoded in Established, where the FSM will deliver them.
 */
export function classify(
  state: State,
  type: number,
  body: Uint8Array,
  expect: OpenExpectations,
  negotiated: Negotiated | undefined,
): Inbound {
  switch (type) {
    case MessageType.OPEN: {
      if (state !== 'OpenSent') return { event: { type: 'BGPOpen' } }; // RFC 6608 FSM error
      const d = decodeOpen(body);
      if (!d.ok) return errorEvent('BGPOpenMsgErr', d.error);
      const c = checkOpen(d.value, expect);
      if (!c.ok) return errorEvent('BGPOpenMsgErr', c.error);
      return { event: { type: 'BGPOpen' }, open: { message: d.value, negotiated: c.value } };
    }
    case MessageType.UPDATE: {
      if (state !== 'Established' || negotiated === undefined) return { event: { type: 'UpdateMsg' } };
      const r = decodeUpdate(body, negotiated.codec);
      if (r.ok) return { event: { type: 'UpdateMsg' }, update: r.value };
      if (r.error.action === 'session-reset') return errorEvent('UpdateMsgErr', r.error);
      // The codec reports RFC 7606 outcomes as values; an error-shaped one still must not reset.
      return { event: { type: 'UpdateMsg' }, error: r.error };
    }
    case MessageType.NOTIFICATION: {
      const r = decodeNotification(body);
      const n = r.ok ? r.value : { code: body[0] ?? 0, subcode: body[1] ?? 0, data: new Uint8Array(0) };
      // §8.1.2 event 24: a version error before Established tells us the peer's version.
      const verErr = n.code === 2 && n.subcode === 1 && state !== 'Established';
      return { event: { type: verErr ? 'NotifMsgVerErr' : 'NotifMsg' }, notification: n };
    }
    case MessageType.KEEPALIVE:
      return { event: { type: 'KeepAliveMsg' } };
    case MessageType.ROUTE_REFRESH: {
      if (state !== 'Established') return { event: { type: 'RouteRefreshMsg' } };
      const r = decodeRouteRefresh(body);
      if (!r.ok) return errorEvent('BGPHeaderErr', r.error); // 1/2, or 7/1 for BoRR/EoRR (RFC 7313 §5)
      return { event: { type: 'RouteRefreshMsg' }, refresh: r.value };
    }
    default:
      // The header check rejects other types (1/3) before we get here.
      return { event: { type: 'BGPHeaderErr', code: 1, subcode: 3, data: Uint8Array.of(type & 0xff) } };
  }
}
