/**
 * A scriptable BGP speaker over real TCP, for tests. It never validates what it sends (send raw
 * bytes to test error paths) and records everything it receives, split into messages.
 *
 *   const fp = await FakePeer.connect('127.0.0.21', 1179);           // or:
 *   const l = await FakeListener.listen('127.0.0.22', 1179); const fp = await l.accept();
 *   fp.sendOpen({ asn: 65001, bgpId: '127.0.0.2' });                   // OPEN with sane defaults
 *   const open = await fp.expect(MessageType.OPEN);                   // skips other types
 *   fp.sendKeepalive(); await fp.expect(MessageType.KEEPALIVE);
 *   const n = await fp.expectNotification();                          // decoded { code, subcode, data }
 *   await fp.closed;                                                  // the other side closed
 *   fp.destroy();                                                     // always, in t.teardown
 *
 * `establish()` does the OPEN/KEEPALIVE exchange in one call. For timers, wait with
 * `await fp.until(() => fp.ofType(MessageType.KEEPALIVE).length >= 3, 10000)` and measure with the
 * arrival stamps `Received.at` and `lastSentAt`, never with a fixed sleep.
 */
import net from 'node:net';
import {
  type Capabilities,
  decodeNotification,
  decodeOpen,
  encodeKeepalive,
  encodeNotification,
  encodeOpen,
  MessageType,
  type NotificationMessage,
  type OpenMessage,
  parseIpv4,
} from '../../src/bgp/wire/index.js';

export interface Received {
  type: number;
  body: Uint8Array; // after the 19-byte header
  raw: Uint8Array; // the whole message
  /**
   * When the fake peer split it off the stream: performance.now() milliseconds (monotonic). Tests
   * check timer spacing from these stamps rather than from when they got round to looking,
   * which on a loaded machine can be much later.
   */
  at: number;
}

export interface FakeOpen {
  asn: number;
  bgpId: string | number;
  holdTime?: number; // default 90
  version?: number; // default 4
  /** Capabilities; defaults: IPv4+IPv6 unicast, as4, route refresh, extended message. */
  capabilities?: Partial<Capabilities>;
  /** Override the 2-octet My AS field (default: asn, or AS_TRANS 23456 above 65535). */
  myAs?: number;
}

export function fakeOpen(o: FakeOpen): OpenMessage {
  const caps: Capabilities = {
    multiprotocol: [
      { afi: 1, safi: 1 },
      { afi: 2, safi: 1 },
    ],
    routeRefresh: true,
    extendedMessage: true,
    enhancedRouteRefresh: false,
    as4: o.asn,
    unknown: [],
    ...o.capabilities,
  };
  return {
    version: o.version ?? 4,
    myAs: o.myAs ?? (o.asn > 0xffff ? 23456 : o.asn),
    holdTime: o.holdTime ?? 90,
    bgpId: typeof o.bgpId === 'number' ? o.bgpId : (parseIpv4(o.bgpId) ?? 0),
    capabilities: caps,
  };
}

export class FakePeer {
  readonly socket: net.Socket;
  readonly received: Received[] = [];
  /** Resolves when the socket closes (either side). */
  readonly closed: Promise<void>;
  /**
   * When send() last wrote bytes (performance.now() ms, as `Received.at`). The other side restarts
   * its hold timer when they arrive, never before, so a hold time measured from here is a lower
   * bound that load cannot break.
   */
  lastSentAt: number | undefined;
  #buf: Buffer = Buffer.alloc(0);
  #cursor = 0; // index in `received` of the next message `next()` returns
  #waiters: (() => void)[] = [];
  #isClosed = false;

  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.#isClosed = true;
        this.#wake();
        resolve();
      }),
    );
  }

  static connect(host: string, port: number, localAddress?: string): Promise<FakePeer> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host, port, ...(localAddress ? { localAddress } : {}) });
      s.once('error', reject);
      s.once('connect', () => {
        s.off('error', reject);
        resolve(new FakePeer(s));
      });
    });
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  send(bytes: Uint8Array | Uint8Array[]): boolean {
    if (this.socket.destroyed) return false;
    this.lastSentAt = performance.now();
    return this.socket.write(Array.isArray(bytes) ? Buffer.concat(bytes) : bytes);
  }

  sendOpen(o: FakeOpen | OpenMessage): void {
    this.send(encodeOpen('asn' in o ? fakeOpen(o) : o));
  }

  sendKeepalive(): void {
    this.send(encodeKeepalive());
  }

  sendNotification(n: NotificationMessage): void {
    this.send(encodeNotification(n));
  }

  /** The next message not yet returned by next()/expect(); rejects on timeout or close. */
  async next(timeoutMs = 5000): Promise<Received> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.#cursor < this.received.length) return this.received[this.#cursor++]!;
      if (this.#isClosed) throw new Error('fake peer: connection closed while waiting for a message');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`fake peer: no message within ${timeoutMs} ms`);
      await this.#wait(left);
    }
  }

  /** The next message of `type`, skipping others (e.g. KEEPALIVEs). */
  async expect(type: number, timeoutMs = 5000): Promise<Received> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = await this.next(Math.max(1, deadline - Date.now()));
      if (m.type === type) return m;
    }
  }

  async expectOpen(timeoutMs = 5000): Promise<OpenMessage> {
    const m = await this.expect(MessageType.OPEN, timeoutMs);
    const r = decodeOpen(m.body);
    if (!r.ok) throw new Error(`fake peer: undecodable OPEN: ${r.error.message}`);
    return r.value;
  }

  async expectNotification(timeoutMs = 5000): Promise<NotificationMessage> {
    const m = await this.expect(MessageType.NOTIFICATION, timeoutMs);
    const r = decodeNotification(m.body);
    if (!r.ok) throw new Error(`fake peer: undecodable NOTIFICATION: ${r.error.message}`);
    return r.value;
  }

  /** OPEN both ways, then KEEPALIVE both ways. Returns the OPEN the other side sent. */
  async establish(o: FakeOpen | OpenMessage, timeoutMs = 5000): Promise<OpenMessage> {
    this.sendOpen(o);
    const theirs = await this.expectOpen(timeoutMs);
    this.sendKeepalive();
    await this.expect(MessageType.KEEPALIVE, timeoutMs);
    return theirs;
  }

  /**
   * Resolves once `cond()` holds (checked now and after every message received or the close), or
   * rejects after `timeoutMs`: a deadline to poll against instead of a fixed sleep.
   */
  async until(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`fake peer: ${what} not met within ${timeoutMs} ms`);
      if (this.#isClosed) throw new Error(`fake peer: connection closed before ${what}`);
      await this.#wait(left);
    }
  }

  /** Messages received of one type so far (all of them, regardless of next()). */
  ofType(type: number): Received[] {
    return this.received.filter((m) => m.type === type);
  }

  /** FIN after what is queued. */
  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  #onData(chunk: Buffer): void {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    let pos = 0;
    const at = performance.now();
    while (this.#buf.length - pos >= 19) {
      const len = this.#buf.readUInt16BE(pos + 16);
      if (len < 19) {
        // Not BGP any more; keep what we have and stop splitting.
        break;
      }
      if (this.#buf.length - pos < len) break;
      const raw = new Uint8Array(this.#buf.subarray(pos, pos + len));
      this.received.push({ type: raw[18]!, body: raw.subarray(19), raw, at });
      pos += len;
    }
    this.#buf = this.#buf.subarray(pos);
    this.#wake();
  }

  #wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      const waiter = (): void => done();
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.#waiters.push(waiter);
    });
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }
}

/** Accepts connections for tests where the daemon connects to us. */
export class FakeListener {
  readonly server: net.Server;
  readonly peers: FakePeer[] = [];
  #pending: ((p: FakePeer) => void)[] = [];
  #queue: FakePeer[] = [];

  private constructor(server: net.Server) {
    this.server = server;
    server.on('connection', (s) => {
      const p = new FakePeer(s);
      this.peers.push(p);
      const w = this.#pending.shift();
      if (w) w(p);
      else this.#queue.push(p);
    });
  }

  static listen(host: string, port: number): Promise<FakeListener> {
    return new Promise((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen({ host, port, exclusive: true }, () => {
        server.off('error', reject);
        resolve(new FakeListener(server));
      });
    });
  }

  get port(): number {
    const a = this.server.address();
    return a && typeof a === 'object' ? a.port : 0;
  }

  /** The next accepted connection. */
  accept(timeoutMs = 10000): Promise<FakePeer> {
    const q = this.#queue.shift();
    if (q) return Promise.resolve(q);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.#pending = this.#pending.filter((x) => x !== got);
        reject(new Error(`fake listener: no connection within ${timeoutMs} ms`));
      }, timeoutMs);
      const got = (p: FakePeer): void => {
        clearTimeout(t);
        resolve(p);
      };
      this.#pending.push(got);
    });
  }

  /** Closes the server and every connection it accepted. */
  close(): Promise<void> {
    for (const p of this.peers) p.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
