/**
 * A scriptable RTR cache on 127.0.0.1 (an ephemeral port) for tests: every PDU a router sends is
 * decoded and recorded, and handed to the test's `onPdu`, which answers with whatever bytes it
 * likes (well-formed or hostile). Also `until()`: poll a condition with a deadline, never a
 * fixed sleep.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { decodePdu, encodePdu, type Pdu, PduFramer } from '../../src/rpki/pdu.js';
import type { Vrp } from '../../src/rpki/types.js';

export interface CacheConn {
  socket: Socket;
  send(...pdus: (Pdu | Uint8Array)[]): void;
  /** Every PDU received on this connection. */
  received: Pdu[];
}

export class FakeCache {
  readonly server: Server;
  port = 0;
  conns: CacheConn[] = [];
  /** Every PDU received on any connection, in order. */
  received: Pdu[] = [];
  onPdu: (p: Pdu, c: CacheConn) => void = () => {};
  onConnect: (c: CacheConn) => void = () => {};

  private constructor() {
    this.server = createServer((socket) => this.#accept(socket));
  }

  static async start(): Promise<FakeCache> {
    const c = new FakeCache();
    await new Promise<void>((resolve) => c.server.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const a = c.server.address();
    c.port = a !== null && typeof a === 'object' ? a.port : 0;
    return c;
  }

  #accept(socket: Socket): void {
    const framer = new PduFramer();
    const conn: CacheConn = {
      socket,
      received: [],
      send: (...pdus) => {
        for (const p of pdus) if (!socket.destroyed) socket.write(p instanceof Uint8Array ? p : encodePdu(p));
      },
    };
    this.conns.push(conn);
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      framer.push(chunk);
      for (;;) {
        const b = framer.next();
        if (b === undefined || !(b instanceof Uint8Array)) return;
        const r = decodePdu(b);
        if (!r.ok) continue;
        conn.received.push(r.value);
        this.received.push(r.value);
        this.onPdu(r.value, conn);
      }
    });
    this.onConnect(conn);
  }

  /** The most recent connection. */
  get last(): CacheConn | undefined {
    return this.conns[this.conns.length - 1];
  }

  /** Closes the listener and every connection. */
  async close(): Promise<void> {
    await this.stopListening();
  }

  /** Refuse new connections, keep the port (so a router sees "connection refused"). */
  async stopListening(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const c of this.conns) c.socket.destroy();
    await closed;
  }
}

/** A well-behaved answer to a Reset Query: Cache Response, the VRPs, End of Data. */
export function fullResponse(
  version: number,
  sessionId: number,
  serial: number,
  vrps: Vrp[],
  timers = { refresh: 3600, retry: 600, expire: 7200 },
): Pdu[] {
  return [
    { type: 3, version, sessionId },
    ...vrps.map(
      (vrp): Pdu => ({ type: typeof vrp.prefix === 'number' ? 4 : 6, version, announce: true, vrp }),
    ),
    { type: 7, version, sessionId, serial, timers },
  ];
}

/** Polls `cond` every 10 ms until true; rejects after `ms` with `what`. */
export async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
