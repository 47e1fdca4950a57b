/**
 * A minimal, fast BGP speaker for the propagation bench (RFC 4271 §4 framing, OPEN with the
 * multiprotocol IPv4 unicast, route refresh and 4-octet AS capabilities of RFC 4760/2918/6793,
 * KEEPALIVE). It does no route processing: the feeder writes pre-encoded bytes, the monitor gets
 * each UPDATE body as (buffer, offset, length) without a copy when the message sits in one chunk.
 * Independent of src/ on purpose, so that the bench measures gredged with a third-party view.
 */
import { connect, type Socket } from 'node:net';

export interface SpeakerOptions {
  localAddress: string;
  localAs: number;
  routerId: string;
  remoteAddress: string;
  remotePort: number;
  holdTime?: number;
  /** Keep retrying refused connections for this long (the daemon may still be binding). */
  connectTimeoutMs?: number;
  /** Multiprotocol capabilities offered, as [AFI, SAFI] (RFC 4760); default IPv4 unicast only. */
  families?: ReadonlyArray<readonly [number, number]>;
  /** Give up (and close the socket) when not Established within this long; default 20 s. */
  handshakeTimeoutMs?: number;
  /**
   * Set before the first byte is read: a daemon that exports at once may send UPDATEs in the
   * same segment as its KEEPALIVE, before the caller could set `onUpdate` on the resolved speaker.
   */
  onUpdate?: UpdateHandler;
}

export const IPV4_UNICAST = [1, 1] as const;
export const IPV6_UNICAST = [2, 1] as const;

const MARKER = Buffer.alloc(16, 0xff);
export const KEEPALIVE = header(19, 4);

function header(len: number, type: number): Buffer {
  const b = Buffer.alloc(19);
  MARKER.copy(b);
  b.writeUInt16BE(len, 16);
  b[18] = type;
  return b;
}

function ipv4Bytes(a: string): number[] {
  return a.split('.').map(Number);
}

export function encodeOpen(
  as: number,
  holdTime: number,
  routerId: string,
  families: ReadonlyArray<readonly [number, number]> = [IPV4_UNICAST],
): Buffer {
  const caps = [
    ...families.map(([afi, safi]) => [1, 4, ...u16(afi), 0, safi]), // multiprotocol
    [2, 0], // route refresh
    [65, 4, (as >>> 24) & 0xff, (as >>> 16) & 0xff, (as >>> 8) & 0xff, as & 0xff], // 4-octet AS
  ].flat();
  const params = [2, caps.length, ...caps];
  const body = [
    4,
    ...u16(as > 0xffff ? 23456 : as),
    ...u16(holdTime),
    ...ipv4Bytes(routerId),
    params.length,
    ...params,
  ];
  const b = Buffer.concat([header(19 + body.length, 1), Buffer.from(body)]);
  return b;
}

const u16 = (n: number) => [(n >>> 8) & 0xff, n & 0xff];

export type UpdateHandler = (buf: Buffer, off: number, len: number) => void;

export class Speaker {
  readonly socket: Socket;
  onUpdate: UpdateHandler = () => {};
  onClose: (why: string) => void = () => {};
  #rest: Buffer | undefined;
  #keepalive: NodeJS.Timeout | undefined;
  #established = false;
  #open: (() => void) | undefined;
  #fail: ((e: Error) => void) | undefined;
  closed: string | undefined;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.#data(d));
    socket.on('close', () => this.#closed('connection closed'));
    socket.on('error', (e) => this.#closed(`socket error: ${e.message}`));
  }

  /** Connects (retrying while refused), exchanges OPEN/KEEPALIVE; resolves when Established. */
  static async connect(o: SpeakerOptions): Promise<Speaker> {
    const end = Date.now() + (o.connectTimeoutMs ?? 15_000);
    for (;;) {
      const socket = await new Promise<Socket | Error>((resolve) => {
        const s = connect({ host: o.remoteAddress, port: o.remotePort, localAddress: o.localAddress });
        s.once('connect', () => resolve(s));
        s.once('error', (e) => resolve(e));
      });
      if (socket instanceof Error) {
        if (Date.now() > end)
          throw new Error(`connect ${o.remoteAddress}:${o.remotePort}: ${socket.message}`);
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      return Speaker.handshake(socket, o);
    }
  }

  /** Runs the OPEN exchange on an already connected (or accepted) socket. */
  static handshake(
    socket: Socket,
    o: Omit<SpeakerOptions, 'remoteAddress' | 'remotePort'>,
  ): Promise<Speaker> {
    const sp = new Speaker(socket);
    if (o.onUpdate) sp.onUpdate = o.onUpdate;
    const hold = o.holdTime ?? 240;
    const limit = o.handshakeTimeoutMs ?? 20_000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`no Established within ${limit / 1000} s`));
        // Closed so that a caller that retries does not leave a half-open session behind.
        sp.close();
      }, limit);
      sp.#open = () => {
        clearTimeout(timer);
        // Keepalives at a third of the hold time, from the first byte of Established.
        sp.#keepalive = setInterval(() => socket.write(KEEPALIVE), (hold * 1000) / 3);
        sp.#keepalive.unref();
        resolve(sp);
      };
      sp.#fail = (e) => {
        clearTimeout(timer);
        reject(e);
      };
      socket.write(encodeOpen(o.localAs, hold, o.routerId, o.families));
    });
  }

  get established(): boolean {
    return this.#established && this.closed === undefined;
  }

  /** Write with backpressure. */
  write(buf: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new Error(this.closed));
      if (this.socket.write(buf)) resolve();
      else this.socket.once('drain', () => resolve());
    });
  }

  close(): void {
    clearInterval(this.#keepalive);
    this.socket.destroy();
    this.#closed('closed by us');
  }

  #closed(why: string): void {
    if (this.closed) return;
    this.closed = why;
    clearInterval(this.#keepalive);
    this.#fail?.(new Error(why));
    this.onClose(why);
  }

  #data(chunk: Buffer): void {
    let buf = chunk;
    if (this.#rest) {
      buf = Buffer.concat([this.#rest, chunk]);
      this.#rest = undefined;
    }
    let off = 0;
    while (buf.length - off >= 19) {
      const len = buf.readUInt16BE(off + 16);
      if (len < 19 || len > 65535) {
        this.socket.destroy(new Error(`bad message length ${len}`));
        return;
      }
      if (buf.length - off < len) break;
      const type = buf[off + 18]!;
      if (type === 2) this.onUpdate(buf, off + 19, len - 19);
      else if (type === 1) this.socket.write(KEEPALIVE);
      else if (type === 4 && !this.#established) {
        this.#established = true;
        this.#open?.();
      } else if (type === 3) {
        const code = buf[off + 19];
        const sub = buf[off + 20];
        const text = buf
          .subarray(off + 21, off + len)
          .toString('utf8')
          .replace(/[^\x20-\x7e]/g, '.');
        this.socket.destroy();
        this.#closed(`NOTIFICATION ${code}/${sub} ${text}`);
        return;
      }
      off += len;
    }
    if (off < buf.length) this.#rest = Buffer.from(buf.subarray(off));
  }
}
