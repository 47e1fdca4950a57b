/**
 * One simulated neighbor of the load generator (a customer or a transit): connects to the daemon
 * from its own 127/8 address, keeps retrying until stopped (a daemon with a short listen backlog
 * drops SYNs; one slow to answer an OPEN times the handshake out), sends its routes once
 * Established, counts what it is sent (count.ts), and reconnects after losing the session.
 * Many of them share one process and one event loop: nothing here costs more than a socket.
 */
import { connect, type Socket } from 'node:net';
import { IPV4_UNICAST, IPV6_UNICAST, Speaker } from '../bgp-propagation/speaker.js';
import { RouteCount, type Universe } from './count.js';

export interface PeerOptions {
  address: string;
  as: number;
  daemon: { address: string; port: number };
  /** What it sends once Established (pre-encoded UPDATEs). */
  routes: Buffer[];
  /** Count distinct prefixes of this universe (count.ts) besides announcements. */
  universe?: Universe;
  handshakeTimeoutMs?: number;
}

export class Peer {
  readonly o: PeerOptions;
  count: RouteCount;
  /** ms (performance.now()) of the first Established, and of the last. */
  firstEstablished: number | undefined;
  established = false;
  /** Sessions that went down after Established while the bench still wanted them. */
  lost = 0;
  lastClose = '';
  attempts = 0;
  #sp: Speaker | undefined;
  #pending: Socket | undefined;
  #stopped = false;

  constructor(o: PeerOptions) {
    this.o = o;
    this.count = new RouteCount(o.universe);
  }

  /** Keeps a session up until stop(); resolves once stopped. */
  async run(): Promise<void> {
    while (!this.#stopped) {
      this.attempts++;
      const sp = await this.#attempt().catch((e: Error) => {
        this.lastClose = e.message;
        return undefined;
      });
      if (!sp) {
        if (!this.#stopped) await sleep(500);
        continue;
      }
      if (this.#stopped) {
        sp.close();
        break;
      }
      this.#sp = sp;
      this.established = true;
      this.firstEstablished ??= performance.now();
      const down = new Promise<void>((resolve) => {
        sp.onClose = (why) => {
          this.lastClose = why;
          resolve();
        };
      });
      for (const r of this.o.routes) await sp.write(r).catch(() => {});
      await down;
      this.established = false;
      this.#sp = undefined;
      if (!this.#stopped) {
        this.lost++;
        await sleep(500);
      }
    }
  }

  #attempt(): Promise<Speaker> {
    const count = new RouteCount(this.o.universe);
    return new Promise<Socket>((resolve, reject) => {
      const s = connect({
        host: this.o.daemon.address,
        port: this.o.daemon.port,
        localAddress: this.o.address,
      });
      this.#pending = s;
      s.once('connect', () => resolve(s));
      s.once('error', reject);
      s.once('close', () => reject(new Error('closed while connecting')));
    }).then((socket) => {
      this.#pending = undefined;
      // A fresh count per session: what a re-established session is sent starts from nothing.
      this.count = count;
      return Speaker.handshake(socket, {
        localAddress: this.o.address,
        localAs: this.o.as,
        routerId: this.o.address,
        families: [IPV4_UNICAST, IPV6_UNICAST],
        // RFC 4271's suggested ConnectRetry time: a busy daemon may take long to answer an OPEN.
        handshakeTimeoutMs: this.o.handshakeTimeoutMs ?? 120_000,
        onUpdate: (b, off, len) => count.update(b, off, len),
      });
    });
  }

  stop(): void {
    this.#stopped = true;
    this.#pending?.destroy();
    // Its onClose ends run()'s wait; #stopped keeps it from counting as lost or reconnecting.
    this.#sp?.close();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One UPDATE (4-octet AS session) announcing IPv4 /`len` prefixes from `origin` via `nextHop`. */
export function encodeOrigination(
  origin: number,
  nextHop: string,
  prefixes: Array<[number, number]>,
): Buffer {
  const attrs = Buffer.from([
    0x40,
    1,
    1,
    0, // ORIGIN IGP
    0x40,
    2,
    6,
    2,
    1,
    (origin >>> 24) & 0xff,
    (origin >>> 16) & 0xff,
    (origin >>> 8) & 0xff,
    origin & 0xff, // AS_PATH
    0x40,
    3,
    4,
    ...nextHop.split('.').map(Number), // NEXT_HOP
  ]);
  const nlri = Buffer.concat(
    prefixes.map(([a, len]) => {
      const b = Buffer.alloc(1 + ((len + 7) >>> 3));
      b[0] = len;
      for (let k = 1; k < b.length; k++) b[k] = (a >>> (8 * (4 - k))) & 0xff;
      return b;
    }),
  );
  const len = 19 + 2 + 2 + attrs.length + nlri.length;
  const h = Buffer.alloc(23, 0xff);
  h.writeUInt16BE(len, 16);
  h[18] = 2;
  h.writeUInt16BE(0, 19);
  h.writeUInt16BE(attrs.length, 21);
  return Buffer.concat([h, attrs, nlri]);
}
