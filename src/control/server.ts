/**
 * The control socket: a Unix stream socket speaking line-delimited JSON (protocol.ts) to any
 * number of clients at once. Every request is validated before it reaches the daemon's
 * ControlTarget; nothing a client sends — bad JSON, a line over MAX_LINE, an unknown command, a
 * request that throws — escapes into the daemon: it gets an error answer (the connection is
 * closed only after an oversized line, since the stream cannot be resynchronised).
 *
 * Long answers (the routes of a full table) are built in slices by one scheduler shared by all
 * connections, a few milliseconds per turn of the event loop, so BGP timers and keepalives keep
 * running while a thousand clients ask at once.
 *
 * The socket file: created with mode `mode` (through a umask around bind, then chmod, so it is
 * never more open than configured) and group `group`, in a directory created 0755 if missing.
 * A path that answers a connect belongs to a live daemon: start fails with "another gredged is
 * running on PATH". A socket file nobody listens on (ECONNREFUSED) is stale: it is replaced.
 * Anything else at the path (a regular file) is left alone and start fails. Removed on stop.
 */
import { chmodSync, chownSync, lstatSync, mkdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { dirname } from 'node:path';
import { GredgeError } from '../errors.js';
import type { Logger } from '../observe/log.js';
import {
  ControlError,
  type ErrorCode,
  errorResponse,
  MAX_LINE,
  okResponse,
  parseRequest,
  type Request,
  type RequestId,
  type Response,
} from './protocol.js';
import type { ControlTarget, RouteCursor, RouteRow, RoutesResult } from './target.js';

export interface ControlServerOptions {
  path: string;
  mode: number;
  group?: string;
  target: ControlTarget;
  log: Logger;
  /** Longest request line in bytes (default MAX_LINE). */
  maxLine?: number;
  /** Milliseconds of slice work per turn of the event loop (default 4). */
  sliceMs?: number;
}

/** Requests of one connection in flight before its socket is paused. */
const MAX_IN_FLIGHT = 64;
/** Answers queued to a client that does not read: past this, the connection is dropped. */
const MAX_QUEUED_BYTES = 32 * 1024 * 1024;
/** Rows built per step of a route query. */
const ROW_STEP = 256;
const MAX_CONNECTIONS = 1024;

interface Job {
  /** Does a bounded piece of work; true when finished. */
  step(): boolean;
}

/** Runs jobs round-robin, at most `sliceMs` per turn of the event loop. */
class Slicer {
  readonly #jobs: Job[] = [];
  readonly #sliceMs: number;
  #scheduled = false;
  #log: Logger;

  constructor(sliceMs: number, log: Logger) {
    this.#sliceMs = sliceMs;
    this.#log = log;
  }

  add(job: Job): void {
    this.#jobs.push(job);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled || this.#jobs.length === 0) return;
    this.#scheduled = true;
    setImmediate(() => this.#run());
  }

  #run(): void {
    this.#scheduled = false;
    const t0 = performance.now();
    while (this.#jobs.length > 0 && performance.now() - t0 < this.#sliceMs) {
      const job = this.#jobs.shift()!;
      let done = true;
      try {
        done = job.step();
      } catch (err) {
        this.#log.error({ err }, 'control: a sliced job failed');
      }
      if (!done) this.#jobs.push(job);
    }
    this.#schedule();
  }
}

export class ControlServer {
  readonly path: string;
  readonly #opts: ControlServerOptions;
  readonly #log: Logger;
  readonly #slicer: Slicer;
  readonly #conns = new Set<net.Socket>();
  #server: net.Server | undefined;
  #ino: number | undefined;
  #stopping = false;

  constructor(opts: ControlServerOptions) {
    this.path = opts.path;
    this.#opts = opts;
    this.#log = opts.log;
    this.#slicer = new Slicer(opts.sliceMs ?? 4, opts.log);
  }

  get connections(): number {
    return this.#conns.size;
  }

  async start(): Promise<void> {
    const path = this.path;
    const gid = this.#opts.group !== undefined ? groupId(this.#opts.group) : undefined;
    if (this.#opts.group !== undefined && gid === undefined)
      throw new GredgeError('ERR_CONTROL_GROUP', `control.group: no group named '${this.#opts.group}'`);
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    await this.#clearStale();
    // Half-open: a client may send its requests and shut its side (`… | nc -U PATH`); its
    // answers still go out, and the connection ends once the last one is written.
    const server = net.createServer({ allowHalfOpen: true }, (socket) => this.#accept(socket));
    server.maxConnections = MAX_CONNECTIONS;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        reject(
          err.code === 'EADDRINUSE'
            ? new GredgeError('ERR_CONTROL_IN_USE', `another gredged is running on ${path}`)
            : new GredgeError('ERR_CONTROL_LISTEN', `control socket ${path}: ${err.message}`, { cause: err }),
        );
      });
      // The socket file is created by bind() with the umask applied: never more open than 0600
      // before the chmod below (a umask of 0 would leave it 0777 for a moment).
      const umask = process.umask(0o177);
      try {
        server.listen({ path, exclusive: true }, () => resolve());
      } finally {
        process.umask(umask);
      }
    });
    server.on('error', (err) => this.#log.error({ err }, 'control: server error'));
    this.#server = server;
    try {
      if (gid !== undefined) chownSync(path, -1, gid);
      chmodSync(path, this.#opts.mode);
      this.#ino = statSync(path).ino;
    } catch (err) {
      await this.stop();
      throw new GredgeError('ERR_CONTROL_LISTEN', `control socket ${path}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    this.#log.info(
      { socket: path, mode: `0${this.#opts.mode.toString(8)}`, group: this.#opts.group },
      'control socket listening',
    );
  }

  /** Closes the listener and every connection, and removes the socket file if it is still ours. */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    const server = this.#server;
    this.#server = undefined;
    for (const c of this.#conns) c.destroy();
    this.#conns.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    try {
      // Node unlinks the path itself on close; a file someone else put there since stays.
      if (this.#ino !== undefined && lstatSync(this.path).ino === this.#ino) unlinkSync(this.path);
    } catch {}
  }

  /** A socket file at the path: live daemon → refuse; stale → remove; not a socket → refuse. */
  async #clearStale(): Promise<void> {
    const path = this.path;
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new GredgeError('ERR_CONTROL_LISTEN', `control socket ${path}: ${(err as Error).message}`);
    }
    if (!st.isSocket())
      throw new GredgeError(
        'ERR_CONTROL_LISTEN',
        `control socket ${path}: exists and is not a socket; not replacing it`,
      );
    const answer = await probe(path);
    if (answer === 'live')
      throw new GredgeError('ERR_CONTROL_IN_USE', `another gredged is running on ${path}`);
    if (answer !== 'stale')
      throw new GredgeError(
        'ERR_CONTROL_LISTEN',
        `control socket ${path}: cannot tell whether it is in use (${answer})`,
      );
    this.#log.warn({ socket: path }, 'control: replacing a stale socket (nobody listens on it)');
    try {
      unlinkSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  #accept(socket: net.Socket): void {
    if (this.#stopping) {
      socket.destroy();
      return;
    }
    this.#conns.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => this.#conns.delete(socket));
    const maxLine = this.#opts.maxLine ?? MAX_LINE;
    let chunks: Buffer[] = [];
    let buffered = 0;
    let inFlight = 0;
    let closing = false;
    let inputEnded = false;
    const send = (r: Response): void => {
      if (socket.destroyed || socket.writableEnded) return;
      socket.write(`${JSON.stringify(r)}\n`);
      if (socket.writableLength > MAX_QUEUED_BYTES) {
        this.#log.warn('control: a client does not read its answers; dropping it');
        socket.destroy();
      }
    };
    const done = (): void => {
      inFlight--;
      if (inFlight < MAX_IN_FLIGHT && socket.isPaused() && !closing) socket.resume();
      if (inputEnded && inFlight === 0 && !socket.writableEnded) socket.end();
    };
    socket.on('end', () => {
      inputEnded = true;
      // A last request without its newline (`printf '{…}' | nc -U PATH`) is still a request.
      if (!closing && buffered > 0) {
        const line = Buffer.concat(chunks).toString('utf8');
        chunks = [];
        buffered = 0;
        inFlight++;
        this.#handle(line, send, done);
      }
      if (inFlight === 0 && !socket.writableEnded) socket.end();
    });
    socket.on('data', (chunk: Buffer) => {
      if (closing) return;
      let start = 0;
      for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, start)) {
        const part = chunk.subarray(start, nl);
        start = nl + 1;
        if (buffered + part.length > maxLine) {
          tooLong();
          return;
        }
        const line = (chunks.length > 0 ? Buffer.concat([...chunks, part]) : part).toString('utf8');
        chunks = [];
        buffered = 0;
        inFlight++;
        this.#handle(line, send, done);
        if (closing || socket.destroyed) return;
      }
      const rest = chunk.subarray(start);
      if (rest.length > 0) {
        if (buffered + rest.length > maxLine) {
          tooLong();
          return;
        }
        chunks.push(Buffer.from(rest));
        buffered += rest.length;
      }
      if (inFlight >= MAX_IN_FLIGHT) socket.pause();
    });
    const tooLong = (): void => {
      send(
        errorResponse(null, 'too-long', `request line longer than ${maxLine} bytes; closing the connection`),
      );
      closing = true;
      chunks = [];
      socket.end();
      // What it still sends is read and dropped; a client that never closes its side goes in 5 s.
      socket.setTimeout(5000, () => socket.destroy());
    };
  }

  /** One request line: validate, dispatch, answer exactly once. */
  #handle(line: string, send: (r: Response) => void, done: () => void): void {
    const text = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (text.trim() === '') {
      done();
      return;
    }
    const p = parseRequest(text);
    if (!p.ok) {
      send({ v: 1, id: p.id, ok: false, error: p.error });
      done();
      return;
    }
    const req = p.request;
    const answer = (r: Response): void => {
      send(r);
      done();
    };
    if (this.#stopping) {
      answer(errorResponse(req.id, 'busy', 'gredged is stopping'));
      return;
    }
    try {
      this.#dispatch(req, answer);
    } catch (err) {
      answer(this.#failure(req.id, err));
    }
  }

  #failure(id: RequestId, err: unknown): Response {
    if (err instanceof ControlError) return errorResponse(id, err.code, err.message);
    this.#log.error({ err }, 'control: request failed');
    return errorResponse(
      id,
      'internal' as ErrorCode,
      `internal error: ${(err as Error)?.message ?? String(err)}`,
    );
  }

  #dispatch(req: Request, answer: (r: Response) => void): void {
    const t = this.#opts.target;
    let result: unknown;
    switch (req.cmd) {
      case 'status':
        result = t.status();
        break;
      case 'show neighbors':
        result = { neighbors: t.neighbors() };
        break;
      case 'show neighbor':
        result = t.neighbor(req.args.neighbor);
        break;
      case 'show routes':
        this.#routes(req.id, t.routes(req.args), req.args.limit, answer);
        return;
      case 'show tunnels':
        result = { tunnels: t.tunnels() };
        break;
      case 'show tunnel':
        result = t.tunnel(req.args.tunnel);
        break;
      case 'neighbor enable':
        result = t.setNeighborEnabled(req.args.neighbor, true);
        break;
      case 'neighbor disable':
        result = t.setNeighborEnabled(req.args.neighbor, false, req.args.message);
        break;
      case 'neighbor reset':
        result = t.resetNeighbor(req.args.neighbor, req.args.soft, req.args.message);
        break;
      case 'log level':
        result = t.setLogLevel(req.args.level);
        break;
      case 'reload':
        if (t.reload === undefined)
          throw new ControlError(
            'not-available',
            'reload is not available in this build of gredged: restart it to apply a changed config',
          );
        // Answered when the reload has been applied (reloads queue one behind the other).
        result = t.reload(req.args);
        break;
      case 'customer add':
      case 'customer remove':
      case 'customer list':
        if (t.customerAdd === undefined || t.customerRemove === undefined || t.customerList === undefined)
          throw new ControlError(
            'not-available',
            'customer provisioning is not available in this build of gredged',
          );
        // Answered once the file is written and the reload applied (they queue with reloads).
        result =
          req.cmd === 'customer add'
            ? t.customerAdd(req.args)
            : req.cmd === 'customer remove'
              ? t.customerRemove(req.args.name)
              : t.customerList();
        break;
      case 'graceful-restart':
        if (t.gracefulRestart === undefined)
          throw new ControlError(
            'not-available',
            'graceful-restart is not available in this build of gredged',
          );
        result = t.gracefulRestart();
        break;
    }
    if (result instanceof Promise) {
      result.then(
        (r) => answer(okResponse(req.id, r)),
        (err) => answer(this.#failure(req.id, err)),
      );
    } else {
      answer(okResponse(req.id, result));
    }
  }

  /** Up to `limit` rows, then a count of the rest, in slices; the answer is written in a slice too. */
  #routes(id: RequestId, cursor: RouteCursor, limit: number, answer: (r: Response) => void): void {
    const rows: RouteRow[] = [];
    let total = 0;
    let finished = false;
    this.#slicer.add({
      step: () => {
        if (this.#stopping) {
          answer(errorResponse(id, 'busy', 'gredged is stopping'));
          return true;
        }
        if (!finished) {
          try {
            if (rows.length < limit) {
              const r = cursor.next(Math.min(ROW_STEP, limit - rows.length));
              for (const row of r.rows) rows.push(row);
              total += r.rows.length;
              finished = r.done;
            } else {
              const r = cursor.skip(ROW_STEP * 4);
              total += r.skipped;
              finished = r.done;
            }
          } catch (err) {
            answer(this.#failure(id, err));
            return true;
          }
          return false; // the answer goes out in a step of its own
        }
        const result: RoutesResult = {
          ...cursor.header,
          routes: rows,
          total,
          more: total - rows.length,
          limit,
        };
        answer(okResponse(id, result));
        return true;
      },
    });
  }
}

/** Connects to a socket path: 'live' when something accepts, 'stale' on ECONNREFUSED. */
function probe(path: string): Promise<'live' | 'stale' | string> {
  return new Promise((resolve) => {
    const s = net.connect({ path });
    const timer = setTimeout(() => {
      s.destroy();
      resolve('timed out connecting');
    }, 2000);
    s.once('connect', () => {
      clearTimeout(timer);
      s.destroy();
      resolve('live');
    });
    s.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(err.code === 'ECONNREFUSED' ? 'stale' : (err.code ?? err.message));
    });
  });
}

/** The gid of a group name, from /etc/group (Node has no getgrnam). */
export function groupId(name: string): number | undefined {
  let text: string;
  try {
    text = readFileSync('/etc/group', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f[2] !== undefined && /^\d+$/.test(f[2])) return Number(f[2]);
  }
  return undefined;
}
