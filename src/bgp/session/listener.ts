/**
 * The BGP listener (RFC 4271 §8: passive TCP establishment, port 179 by default): accepts TCP
 * connections and hands each to the Peer configured for its remote address. Connections from
 * unknown addresses are closed at once. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) from a
 * dual-stack socket are looked up as IPv4.
 */
import net from 'node:net';
import { GredgeError } from '../../errors.js';
import type { Logger } from '../../observe/log.js';
import type { Peer } from './peer.js';
import { unmapIpv4 } from '../../net/ip.js';

export interface ListenerOptions {
  address: string;
  port: number;
  log: Logger;
  lookup: (remoteAddress: string) => Peer | undefined;
}

/**
 * Connections the kernel completes before we accept them (capped by net.core.somaxconn, 4096 on
 * current kernels). Node's default is 511: a box whose thousand customers reconnect at once
 * (after its own restart, or an upstream outage) saw SYNs dropped while the event loop was busy
 * with a table, and each dropped customer waited out the SYN retry backoff (1, 3, 7, 15, 31 s).
 */
const LISTEN_BACKLOG = 4096;

const REASONS: Record<string, string> = {
  EADDRINUSE: 'address already in use',
  EACCES: 'permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)',
  EADDRNOTAVAIL: 'address not available on this host',
};

export class BgpListener {
  readonly #o: ListenerOptions;
  #server: net.Server | undefined;

  constructor(o: ListenerOptions) {
    this.#o = o;
  }

  /** The bound port (useful with port 0 in tests). */
  get port(): number {
    const a = this.#server?.address();
    return a && typeof a === 'object' ? a.port : this.#o.port;
  }

  /** Listens on the BGP port, with a backlog for a box full of customers (LISTEN_BACKLOG). */
  listen(): Promise<void> {
    const { address, port, log } = this.#o;
    const server = net.createServer({ noDelay: true }, (socket) => this.#accept(socket));
    this.#server = server;
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        this.#server = undefined;
        const why = REASONS[err.code ?? ''] ?? err.message;
        reject(
          new GredgeError('ERR_LISTEN', `cannot listen for BGP on ${address}:${port}: ${why}`, {
            cause: err,
          }),
        );
      };
      server.once('error', onError);
      server.listen({ host: address, port, exclusive: true, backlog: LISTEN_BACKLOG }, () => {
        server.off('error', onError);
        server.on('error', (err) => log.error({ err }, 'BGP listener error'));
        log.info({ address, port: this.port }, 'BGP listener ready');
        resolve();
      });
    });
  }

  #accept(socket: net.Socket): void {
    socket.on('error', () => {}); // a reset before we hand it over must not crash the process
    const remote = unmapIpv4(socket.remoteAddress ?? '');
    let peer: Peer | undefined;
    try {
      peer = remote === '' ? undefined : this.#o.lookup(remote);
    } catch (err) {
      this.#o.log.error({ err }, 'neighbor lookup failed');
    }
    if (peer === undefined) {
      this.#o.log.warn({ remote }, `closed BGP connection from unknown address ${remote}`);
      socket.destroy();
      return;
    }
    peer.acceptConnection(socket);
  }

  /** Stops accepting; sessions already handed to peers are theirs to close. */
  close(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    if (!s) return Promise.resolve();
    return new Promise((resolve) => s.close(() => resolve()));
  }
}
