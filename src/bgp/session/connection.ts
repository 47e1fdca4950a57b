/**
 * One TCP connection of a peer: the socket, its framer, its own FSM state and its hold and
 * keepalive timers (RFC 4271 §8: during a collision, §6.8, each connection runs its own FSM until
 * one is dumped). It knows nothing about BGP semantics; the Peer drives it.
 *
 * Closing is graceful so that a NOTIFICATION reaches the peer: we half-close (FIN after the
 * queued bytes) and keep reading and discarding until the peer closes too, because closing a
 * socket with unread received data makes Linux send a RST that can destroy the NOTIFICATION in
 * flight. A timer destroys the socket if the peer never closes.
 */
import type net from 'node:net';
import type { OpenMessage } from '../wire/types.js';
import type { State } from './fsm.js';
import { Framer } from './framing.js';
import type { Negotiated } from './negotiate.js';
import { SessionTimer } from './timers.js';
import { unmapIpv4 } from '../../net/ip.js';

/** How long a closing connection waits for the peer's FIN before it is destroyed. */
const CLOSE_LINGER_MS = 3000;

export interface ConnectionHandlers {
  data(conn: Connection, chunk: Uint8Array): void;
  /** The socket closed and we did not ask for it (peer closed, reset, error). */
  lost(conn: Connection, why: string): void;
  hold(conn: Connection): void;
  keepalive(conn: Connection): void;
}

function normalize(address: string | undefined): string {
  return address === undefined ? '' : unmapIpv4(address);
}

export class Connection {
  readonly socket: net.Socket;
  readonly direction: 'in' | 'out';
  readonly framer = new Framer();
  readonly hold: SessionTimer;
  readonly keepalive: SessionTimer;
  readonly remoteAddress: string;
  readonly localAddress: string;
  state: State;
  remoteOpen: OpenMessage | undefined;
  negotiated: Negotiated | undefined;
  /** Reading is paused while the peer yields the event loop in a large batch. */
  yielding = false;
  #closing = false;
  #closed: Promise<void>;

  constructor(socket: net.Socket, direction: 'in' | 'out', state: State, h: ConnectionHandlers) {
    this.socket = socket;
    this.direction = direction;
    this.state = state;
    this.remoteAddress = normalize(socket.remoteAddress);
    this.localAddress = normalize(socket.localAddress);
    this.hold = new SessionTimer(() => h.hold(this));
    this.keepalive = new SessionTimer(() => h.keepalive(this));
    socket.setNoDelay(true);
    socket.setKeepAlive(false);
    let lastError = '';
    socket.on('error', (err: NodeJS.ErrnoException) => {
      lastError = err.code ?? err.message;
    });
    this.#closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.hold.stop();
        this.keepalive.stop();
        const wasClosing = this.#closing;
        this.#closing = true;
        resolve();
        if (!wasClosing)
          h.lost(this, lastError === '' ? 'connection closed by peer' : `connection error: ${lastError}`);
      });
    });
    socket.on('data', (chunk: Buffer) => {
      if (!this.#closing) h.data(this, chunk);
    });
    // The peer half-closed: nothing more will arrive; our 'close' follows once we end too.
    socket.on('end', () => {
      if (!this.#closing) socket.end();
    });
  }

  get closing(): boolean {
    return this.#closing;
  }

  /** Queues bytes; false when the socket buffer is over Node's high-water mark. */
  write(bytes: Uint8Array): boolean {
    if (this.#closing || this.socket.destroyed) return true;
    return this.socket.write(bytes);
  }

  pause(): void {
    this.yielding = true;
    this.socket.pause();
  }

  resume(): void {
    this.yielding = false;
    if (!this.#closing) this.socket.resume();
  }

  /** Graceful close after whatever is queued (a NOTIFICATION) has been sent. */
  close(): Promise<void> {
    if (!this.#closing) {
      this.#closing = true;
      this.hold.stop();
      this.keepalive.stop();
      const s = this.socket;
      if (!s.destroyed) {
        s.resume(); // keep draining what the peer still sends, see the header comment
        s.end();
        const t = setTimeout(() => s.destroy(), CLOSE_LINGER_MS);
        t.unref();
        s.once('close', () => clearTimeout(t));
      }
    }
    return this.#closed;
  }

  /** Immediate close, nothing flushed. */
  destroy(): Promise<void> {
    this.#closing = true;
    this.hold.stop();
    this.keepalive.stop();
    this.socket.destroy();
    return this.#closed;
  }

  get closed(): Promise<void> {
    return this.#closed;
  }
}
