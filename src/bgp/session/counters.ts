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

/**
 * OutboundSink.send reports "full" above this many bytes queued in gredged for one session:
 * SEND_BUDGET shared by the Established sessions, at most SEND_HIGH_WATER and at least
 * SEND_LOW_WATER each. One session feeding a full table keeps 4 MiB in flight (the kernel's
 * socket buffer holds more), which is what the propagation benchmark needs; a box with 1,000
 * customers being sent a full table each would hold 4 GiB at that rate (measured: 1.5-2.7 GB of
 * RSS in bench:sessions), so each then gets 64 KiB and the budget bounds the total.
 */
export const SEND_HIGH_WATER = 4 * 1024 * 1024;
export const SEND_LOW_WATER = 64 * 1024;
export const SEND_BUDGET = 64 * 1024 * 1024;
/** Established sessions in this process, with a sink. */
let sinks = 0;

/** The high-water mark of one session's queue with `sessions` Established (see SEND_BUDGET). */
export function sendHighWater(sessions = sinks): number {
  return Math.max(SEND_LOW_WATER, Math.min(SEND_HIGH_WATER, Math.floor(SEND_BUDGET / Math.max(1, sessions))));
}

/**
 * The RIB's way out for one Established connection. Once the connection is no longer the
 * session's (`current()` false) or is closing, messages are dropped: the RIB hears `down` anyway.
 */
export function socketSink(
  conn: Connection,
  current: () => boolean,
  out: Record<MessageKind, number>,
): OutboundSink {
  sinks++;
  void conn.closed.then(() => sinks--);
  return {
    send: (messages) => {
      if (conn.closing || !current()) return true;
      for (const m of messages) {
        const k = MESSAGE_KIND[m[18] ?? 0];
        if (k) out[k]++;
      }
      if (messages.length === 1) conn.write(messages[0]!);
      else if (messages.length > 1) conn.write(Buffer.concat(messages));
      return conn.socket.writableLength < sendHighWater();
    },
    onDrain: (cb) => {
      conn.socket.once('drain', cb);
    },
  };
}
