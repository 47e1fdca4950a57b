/**
 * The daemon: wires config → RIB → sessions → listener → data plane at start-up, then stays
 * out of the route and packet paths. Owns start and orderly shutdown; no protocol logic.
 */
import { isIPv6 } from 'node:net';
import { BgpListener } from '../bgp/session/listener.js';
import { Peer } from '../bgp/session/peer.js';
import { parseIpv4 } from '../bgp/wire/index.js';
import type { Config } from '../config/types.js';
import type { ControlServer } from '../control/server.js';
import type { Dataplane } from '../dataplane/index.js';
import type { Fib } from '../fib/fib.js';
import type { Logger } from '../observe/log.js';
import { Rib } from '../rib/rib.js';
import { createControlTarget } from './control.js';

export class Daemon {
  readonly config: Config;
  readonly rib: Rib;
  readonly peers = new Map<string, Peer>(); // by neighbor name
  readonly #log: Logger;
  #byAddress = new Map<string, Peer>();
  #listener: BgpListener | undefined;
  #dataplane: Dataplane | undefined;
  #fib: Fib | undefined;
  #stopping: Promise<void> | undefined;
  #control: ControlServer | undefined;
  /** Tunnel up/down as the data plane's keepalives last said (absent: never said). */
  readonly #tunnelUp = new Map<string, boolean>();
  readonly #startedAt = Date.now();

  constructor(config: Config, log: Logger) {
    this.config = config;
    this.#log = log;
    const routerId = parseIpv4(config.routerId) ?? 0;
    this.rib = new Rib({
      localAs: config.localAs,
      routerId,
      log: log.child({ module: 'rib' }),
      expectedPrefixes: expectedPrefixes(config),
      ownPrefixes: config.ownPrefixes,
      ...(config.bogons !== undefined ? { bogons: config.bogons } : {}),
    });
    for (const n of config.neighbors) {
      const channel = this.rib.addNeighbor(n);
      const peer = new Peer({
        neighbor: n,
        localAs: config.localAs,
        routerId,
        channel,
        log: log.child({ module: 'bgp', neighbor: n.name }),
      });
      this.peers.set(n.name, peer);
      this.#byAddress.set(normalizeAddress(n.address), peer);
    }
  }

  get dataplane(): Dataplane | undefined {
    return this.#dataplane;
  }

  get fib(): Fib | undefined {
    return this.#fib;
  }

  /**
   * Data plane first (customer sessions run inside tunnels), then the FIB (its rules name the
   * TUN; it follows the RIB from here on), then the listener, then sessions.
   */
  async start(): Promise<void> {
    // The control socket first: a second gredged started by mistake stops here ("another
    // gredged is running"), before it touches the TUN or the kernel tables of the first.
    if (this.config.control) {
      const { ControlServer } = await import('../control/server.js');
      const log = this.#log.child({ module: 'control' });
      this.#control = new ControlServer({
        path: this.config.control.socket,
        mode: this.config.control.mode,
        ...(this.config.control.group !== undefined ? { group: this.config.control.group } : {}),
        target: createControlTarget({
          config: this.config,
          rib: this.rib,
          peers: this.peers,
          dataplane: () => this.#dataplane,
          fib: () => this.#fib,
          tunnelState: (name) => this.#tunnelUp.get(name),
          log: this.#log,
          startedAt: this.#startedAt,
        }),
        log,
      });
      try {
        await this.#control.start();
      } catch (err) {
        this.#control = undefined;
        throw err;
      }
    }
    if (this.config.dataplane) {
      // Loaded only when tunnels are configured: a BGP-only box never loads the native addon.
      const { startDataplane } = await import('../dataplane/from-config.js');
      this.#dataplane = await startDataplane(this.config, this.#log.child({ module: 'dataplane' }));
      this.#dataplane?.on('tunnel-state', ({ name, up }) => this.#tunnelUp.set(name, up));
    }
    if (this.config.fib) {
      const { Fib } = await import('../fib/fib.js');
      this.#fib = new Fib({
        config: { ...this.config, fib: this.config.fib },
        rib: this.rib,
        ...(this.#dataplane ? { dataplane: this.#dataplane } : {}),
        log: this.#log.child({ module: 'fib' }),
      });
      await this.#fib.start();
    }
    if (this.config.listen && this.peers.size > 0) {
      this.#listener = new BgpListener({
        address: this.config.listen.address,
        port: this.config.listen.port,
        log: this.#log.child({ module: 'listener' }),
        lookup: (remote) => this.#byAddress.get(normalizeAddress(remote)),
      });
      await this.#listener.listen();
    }
    for (const peer of this.peers.values()) peer.start();
    this.#log.info(
      {
        routerId: this.config.routerId,
        localAs: this.config.localAs,
        neighbors: this.peers.size,
        tunnels: this.config.tunnels.length,
        listen: this.config.listen,
      },
      'gredged started',
    );
  }

  /** Cease (administrative shutdown, RFC 8203 message) to every neighbor, then close everything. */
  stop(message = 'gredged shutting down'): Promise<void> {
    this.#stopping ??= (async () => {
      await this.#control?.stop().catch((err) => this.#log.error({ err }, 'control: stop failed'));
      this.#listener?.close();
      await Promise.allSettled([...this.peers.values()].map((p) => p.stop(message)));
      // Routes and rules go before the TUN they point into.
      await this.#fib?.stop().catch((err) => this.#log.error({ err }, 'fib: stop failed'));
      this.#dataplane?.close();
      this.#log.info('gredged stopped');
    })();
    return this.#stopping;
  }
}

/** A full IPv4 table today is ~1M prefixes; transits and peers may send one each. */
const FULL_TABLE4 = 1 << 20;

/**
 * Sizes the RIB's IPv4 tables once when a neighbor may send a full table: growing them by
 * doubling to 1M rehashes and copies every array ~20 times during the initial load.
 */
function expectedPrefixes(config: Config): number | undefined {
  const full = config.neighbors.some(
    (n) => n.families.includes('ipv4-unicast') && (n.role === 'transit' || n.role === 'peer'),
  );
  return full ? FULL_TABLE4 : undefined;
}

/** IPv4-mapped IPv6 (::ffff:a.b.c.d) from a dual-stack listener is the IPv4 neighbor. */
function normalizeAddress(address: string): string {
  const lower = address.toLowerCase();
  if (lower.startsWith('::ffff:') && !isIPv6(lower.slice(7))) return lower.slice(7);
  return lower;
}
