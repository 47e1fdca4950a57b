/**
 * A client of the control socket (gredgectl, tests): one connection, requests with ids, answers
 * matched by id (they may come back in any order).
 */
import net from 'node:net';
import { PROTOCOL_VERSION, type RequestId, type Response } from './protocol.js';

export class ConnectError extends Error {
  readonly path: string;
  constructor(path: string, message: string) {
    super(message);
    this.path = path;
  }
}

export class ControlClient {
  readonly #socket: net.Socket;
  readonly #waiting = new Map<RequestId, { resolve: (r: Response) => void; reject: (e: Error) => void }>();
  #buf = '';
  #nextId = 1;
  #closedError: Error | undefined;
  /** Resolves when the connection is gone (either side closed it). */
  readonly closed: Promise<void>;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => this.#onData(d));
    socket.on('close', () => this.#fail(new Error('the daemon closed the connection')));
    socket.on('error', (err) => this.#fail(err));
  }

  static connect(path: string, timeoutMs = 5000): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ path });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new ConnectError(path, `cannot connect to ${path}: timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      s.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        const why =
          err.code === 'ENOENT'
            ? 'no such socket (is gredged running, with this control socket?)'
            : err.code === 'ECONNREFUSED'
              ? 'connection refused (a stale socket: gredged is not running)'
              : err.code === 'EACCES'
                ? 'permission denied (see control.mode and control.group)'
                : err.message;
        reject(new ConnectError(path, `cannot connect to ${path}: ${why}`));
      });
      s.once('connect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        resolve(new ControlClient(s));
      });
    });
  }

  /** Sends one request; resolves with the daemon's answer (ok or not). */
  request(cmd: string, args: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<Response> {
    const id = this.#nextId++;
    return this.send(`${JSON.stringify({ v: PROTOCOL_VERSION, id, cmd, args })}\n`, id, timeoutMs);
  }

  /** Sends raw text (tests: malformed requests); resolves with the answer carrying `id`. */
  send(text: string, id: RequestId | null, timeoutMs = 30_000): Promise<Response> {
    if (this.#closedError) return Promise.reject(this.#closedError);
    const key = id ?? '\0null';
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(key);
        reject(new Error(`no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiting.set(key, {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.#socket.write(text);
    });
  }

  close(): void {
    this.#socket.end();
    this.#socket.destroy();
  }

  #onData(d: string): void {
    this.#buf += d;
    for (let nl = this.#buf.indexOf('\n'); nl >= 0; nl = this.#buf.indexOf('\n')) {
      const line = this.#buf.slice(0, nl);
      this.#buf = this.#buf.slice(nl + 1);
      let r: Response;
      try {
        r = JSON.parse(line) as Response;
      } catch {
        continue;
      }
      const key = r.id ?? '\0null';
      const w = this.#waiting.get(key);
      if (w) {
        this.#waiting.delete(key);
        w.resolve(r);
      }
    }
  }

  #fail(err: Error): void {
    this.#closedError ??= err;
    const ws = [...this.#waiting.values()];
    this.#waiting.clear();
    for (const w of ws) w.reject(err);
  }
}
