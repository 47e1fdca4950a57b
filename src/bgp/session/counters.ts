/**
 * Per-peer counters (messages in and out by type, RFC 7606 outcomes, last error) and the
 * OutboundSink the RIB writes through (src/rib/channel.ts): whole messages onto one connection's
 * socket, with back-pressure reported by `send` returning false until the socket drains.
 */
import type { OutboundSink } from '../../rib/channel.js';
import type { Connection } from './connection.js';

export type MessageKind = 'open' | 'update' | 'notification' | 'keepalive' | 'routeRefresh';

export interface PeerCounters {
  messagesIn: Record<MessageKind, number>;
  messagesOut: Record<MessageKind, number>;
  updatesReceived: number;
  updatesTreatedAsWithdraw: number;
  attributesDiscarded: number;
  establishedCount: number;
  connectRetryCounter: number;
  lastError: string | undefined;
  /** NOTIFICATIONs received and sent, by notificationKey(code, subcode) (RFC 4271 §4.5). */
  notificationsIn: Map<number, number>;
  notificationsOut: Map<number, number>;
}

/** The key of a NOTIFICATION's (code, subcode) in PeerCounters.notificationsIn/Out. */
export function notificationKey(code: number, subcode: number): number {
  return ((code & 0xff) << 8) | (subcode & 0xff);
}

/** Counts one NOTIFICATION (a handful per session at most: never per packet). */
export function countNotification(m: Map<number, number>, code: number, subcode: number): void {
  const k = notificationKey(code, subcode);
  m.set(k, (m.get(k) ?? 0) + 1);
}

/** Message type code (RFC 4271 §4.1, RFC 2918) → counter name. */
export const MESSAGE_KIND: Record<number, MessageKind> = {
  1: 'open',
  2: 'update',
  3: 'notification',
  4: 'keepalive',
  5: 'routeRefresh',
};

export function newCounters(): PeerCounters {
  const zero = (): Record<MessageKind, number> => ({
    open: 0,
    update: 0,
    notification: 0,
    keepalive: 0,
    routeRefresh: 0,
  });
  return {
    messagesIn: zero(),
    messagesOut: zero(),
    updatesReceived: 0,
    updatesTreatedAsWithdraw: 0,
    attributesDiscarded: 0,
    establishedCount: 0,
    connectRetryCounter: 0,
    lastError: undefined,
    notificationsIn: new Map(),
    notificationsOut: new Map(),
  };
}

/** OutboundSink.send reports "full" above this many queued bytes. */
export const SEND_HIGH_WATER = 4 * 1024 * 1024;

/**
 * The RIB's way out for one Established connection. Once the connection is no longer the
 * session's (`current()` false) or is closing, messages are dropped: the RIB hears `down` anyway.
 */
export function socketSink(
  conn: Connection,
  current: () => boolean,
  out: Record<MessageKind, number>,
): OutboundSink {
  return {
    send: (messages) => {
      if (conn.closing || !current()) return true;
      for (const m of messages) {
        const k = MESSAGE_KIND[m[18] ?? 0];
        if (k) out[k]++;
      }
      if (messages.length === 1) conn.write(messages[0]!);
      else if (messages.length > 1) conn.write(Buffer.concat(messages));
      return conn.socket.writableLength < SEND_HIGH_WATER;
    },
    onDrain: (cb) => {
      conn.socket.once('drain', cb);
    },
  };
}
