/**
 * The daemon: wires config → RIB → sessions → listener → data plane at start-up, then stays
 * out of the route and packet paths. Owns start and orderly shutdown; no protocol logic.
 */
import { BgpListener } from '../bgp/session/listener.js';
import type { RestartState } from '../bgp/session/negotiate.js';
import { Peer } from '../bgp/session/peer.js';
import { parseIpv4 } from '../bgp/wire/index.js';
import type { Family } from '../bgp/wire/types.js';
import { type ConfigDiff, sameValue } from '../config/diff.js';
import { FAMILIES, FIB_DEFAULTS } from '../config/limits.js';
import type { Config, FibConfig, NeighborConfig } from '../config/types.js';
import type { ControlServer } from '../control/server.js';
import type { Dataplane } from '../dataplane/index.js';
import type { Fib } from '../fib/fib.js';
import type { Logger } from '../observe/log.js';
import type { Metrics } from '../observe/metrics.js';
import { Rib } from '../rib/rib.js';
import { createControlTarget, VERSION } from './control.js';
import { Reloader } from './reload.js';
import { Rpki } from './rpki.js';
import { unmapIpv4 } from '../net/ip.js';

export class Daemon {
  #config: Config;
  readonly rib: Rib;
  readonly peers = new Map<string, Peer>(); // by neighbor name
  readonly #log: Logger;
  #byAddress = new Map<string, Peer>();
  #listener: BgpListener | undefined;
  #dataplane: Dataplane | undefined;
  #fib: Fib | undefined;
  /**
   * Graceful restart (docs/graceful-restart.md): the families whose kernel routes an earlier
   * instance left and this one kept at start (the F bit of a first session); undefined after
   * a cold start.
   */
  #keptFamilies: readonly Family[] | undefined;
  #stopping: Promise<void> | undefined;
  #control: ControlServer | undefined;
  /** The Prometheus exporter (`metrics`), absent with `metrics: false`. */
  #metrics: Metrics | undefined;
  /** Tunnel up/down as the data plane's keepalives last said (absent: never said). */
  readonly #tunnelUp = new Map<string, boolean>();
  readonly #startedAt = Date.now();
  readonly #reloader: Reloader;
  /** RPKI origin validation (`rpki:`), absent when off. */
  #rpki: Rpki | undefined;

  constructor(config: Config, log: Logger) {
    this.#config = config;
    this.#log = log;
    this.#reloader = new Reloader({
      daemon: this,
      path: config.source,
      log: log.child({ module: 'reload' }),
    });
    const routerId = parseIpv4(config.routerId) ?? 0;
    this.rib = new Rib({
      localAs: config.localAs,
      routerId,
      log: log.child({ module: 'rib' }),
      expectedPrefixes: expectedPrefixes(config),
      ownPrefixes: config.ownPrefixes,
      ...(config.bogons !== undefined ? { bogons: config.bogons } : {}),
    });
    if (config.rpki) {
      this.#rpki = new Rpki(config.rpki, this.rib, log);
      this.rib.setRov(this.#rpki.policy);
    }
    for (const n of config.neighbors) this.#addPeer(n);
  }

  /** RPKI origin validation, while configured. */
  get rpki(): Rpki | undefined {
    return this.#rpki;
  }

  /** A reload's `rpki` change: started, reconfigured in place, or stopped (states dropped). */
  #reconfigureRpki(old: Config['rpki'], next: Config['rpki']): void {
    if (sameValue(old, next)) return;
    if (next && this.#rpki) {
      this.#rpki.reconfigure(next);
    } else if (next) {
      this.#rpki = new Rpki(next, this.rib, this.#log);
      this.rib.setRov(this.#rpki.policy);
      this.#rpki.start();
      this.#log.info('reload: rpki origin validation started');
    } else if (this.#rpki) {
      this.#rpki.stop();
      this.#rpki = undefined;
      this.rib.setRov(undefined);
      this.#log.info('reload: rpki origin validation stopped: states dropped, Invalid routes accepted');
    }
  }

  /** The running config (replaced by a reload). */
  get config(): Config {
    return this.#config;
  }

  /** Reloads of the config file (SIGHUP, `gredgectl reload`). */
  get reloader(): Reloader {
    return this.#reloader;
  }

  #addPeer(n: NeighborConfig): Peer {
    const channel = this.rib.addNeighbor(n);
    const peer = new Peer({
      neighbor: n,
      localAs: this.#config.localAs,
      routerId: this.rib.routerId,
      channel,
      log: this.#log.child({ module: 'bgp', neighbor: n.name }),
      restartState: (establishedBefore) => this.#restartState(establishedBefore),
    });
    this.peers.set(n.name, peer);
    this.#byAddress.set(unmapIpv4(n.address), peer);
    return peer;
  }

  /** Takes a neighbor out of the RIB (its routes withdrawn) and the tables; the caller stops it. */
  #dropPeer(name: string): Peer | undefined {
    const peer = this.peers.get(name);
    if (peer === undefined) return undefined;
    this.rib.removeNeighbor(name);
    this.peers.delete(name);
    const a = unmapIpv4(peer.neighbor.address);
    if (this.#byAddress.get(a) === peer) this.#byAddress.delete(a);
    return peer;
  }

  /**
   * Applies a validated config (daemon/reload.ts checked it and found nothing that needs a
   * restart), module by module, each saying what applies in place:
   *  1. data plane: new and changed tunnels (unchanged ones are not touched: no loss), except
   *     those that take over a removed tunnel's remote and key, address or routes (held back);
   *  2. FIB: static routes of the new tunnels, the source rules (in place), or a restart of the
   *     module when `fib` itself changed (done last);
   *  3. RIB and sessions in ONE synchronous step: removed and replaced neighbors leave the RIB
   *     (routes withdrawn), in-place changes and the daemon-wide import policy are swapped in and
   *     the Adj-RIBs re-evaluated, new neighbors join; the next flush sends the difference;
   *  4. removed neighbors get Cease 6/3, replaced ones 6/6, and are closed;
   *  5. FIB and data plane: what the removed tunnels had (after their sessions said goodbye),
   *     then the held-back tunnels; then the new sessions start.
   */
  async reconfigure(next: Config, diff: ConfigDiff): Promise<void> {
    const old = this.#config;
    if (diff.restart.length > 0) throw new Error(`needs a restart: ${diff.restart.join(', ')}`);
    // The exporter first: a new address that cannot be bound refuses the reload before anything
    // else changed (the old address keeps serving).
    if (!sameValue(old.metrics, next.metrics)) await this.#applyMetrics(next.metrics);
    const gone = new Set(diff.tunnels.removed);
    const dp = this.#dataplane;
    const ops = dp ? await import('../dataplane/from-config.js') : undefined;
    // A new or changed tunnel that takes over what a removed one has in the kernel or the GRE
    // table (a renamed tunnel: same remote and key, inner address, routes) waits until that one
    // is gone (step 5): both cannot exist at once, and removing the old one later would take
    // the shared address and routes away from the new one.
    const held = ops ? ops.heldBack(old, next, gone) : new Set<string>();
    const oldTunnel = new Map(old.tunnels.map((t) => [t.name, t]));
    const mid: Config = {
      ...next,
      tunnels: [
        ...next.tunnels.flatMap((t) => {
          if (!held.has(t.name)) return [t];
          const was = oldTunnel.get(t.name);
          return was ? [was] : [];
        }),
        ...old.tunnels.filter((t) => gone.has(t.name)),
      ],
    };
    if (dp && ops) {
      const r = ops.applyTunnelDiff(dp, old, mid);
      if (r.added.length + r.replaced.length > 0)
        this.#log.info({ added: r.added, replaced: r.replaced }, 'reload: tunnels added and changed');
    }
    const fibRestart = !sameValue(old.fib, next.fib);
    if (this.#fib && !fibRestart) await this.#fib.reconfigure(fibConfig(old), fibConfig(mid));

    // --- 3. one synchronous step
    const nextByName = new Map(next.neighbors.map((n) => [n.name, n]));
    const stopping: Promise<void>[] = [];
    const toStart: Peer[] = [];
    const replace = new Map<string, string>(); // name → why
    for (const c of diff.neighbors.changed) if (c.apply === 'reset') replace.set(c.name, c.fields.join(', '));
    const inPlace: NeighborConfig[] = [];
    for (const c of diff.neighbors.changed) {
      if (c.apply !== 'in-place') continue;
      const n = nextByName.get(c.name)!;
      if (this.peers.get(c.name)?.reconfigure(n)) inPlace.push(n);
      else replace.set(c.name, c.fields.join(', '));
    }
    for (const name of diff.neighbors.removed) {
      const peer = this.#dropPeer(name);
      if (peer) stopping.push(peer.deconfigure(3, 'removed from the configuration'));
    }
    const wasEnabled = new Map<string, boolean>();
    for (const [name, why] of replace) {
      const peer = this.#dropPeer(name);
      if (!peer) continue;
      wasEnabled.set(name, peer.enabled);
      stopping.push(peer.deconfigure(6, `configuration changed: ${why}`));
    }
    const globalChanged =
      !sameValue(old.ownPrefixes, next.ownPrefixes) || !sameValue(old.bogons, next.bogons);
    this.rib.reconfigure({
      ...(globalChanged
        ? { global: { ownPrefixes: next.ownPrefixes, ...(next.bogons ? { bogons: next.bogons } : {}) } }
        : {}),
      neighbors: inPlace,
    });
    this.#reconfigureRpki(old.rpki, next.rpki);
    for (const n of next.neighbors) {
      if (this.peers.has(n.name)) continue;
      const peer = this.#addPeer(n);
      // A neighbor an operator disabled stays disabled across a change of its config.
      if (wasEnabled.get(n.name) !== false) toStart.push(peer);
    }
    this.#config = mid;
    if (old.log.level !== next.log.level) this.#log.level = next.log.level;
    this.#log.info(
      {
        added: diff.neighbors.added,
        removed: diff.neighbors.removed,
        reset: [...replace.keys()],
        inPlace: inPlace.map((n) => n.name),
        importPolicy: globalChanged,
      },
      'reload: neighbors reconfigured',
    );

    // --- 4. sessions
    await Promise.allSettled(stopping);
    if (this.#listener === undefined && next.listen && this.peers.size > 0) await this.#listen(next.listen);

    // --- 5. what removed tunnels had, then the tunnels held back; a FIB whose own settings
    // changed starts again
    if (this.#fib && !fibRestart) await this.#fib.reconfigure(fibConfig(mid), fibConfig(next));
    if (dp && ops && gone.size + held.size > 0) {
      const r = ops.applyTunnelDiff(dp, mid, next);
      for (const t of gone) this.#tunnelUp.delete(t);
      this.#log.info({ removed: r.removed, added: r.added, replaced: r.replaced }, 'reload: tunnels removed');
    }
    this.#config = next;
    // New sessions once their tunnels are there (a held-back one exists only now).
    for (const p of toStart) p.start();
    if (fibRestart) {
      // Tables, protocol or priorities moved: the module leaves the old ones clean and
      // programs the new ones (a short gap for BGP routes; tunnels' static routes in `main`
      // belong to the data plane and stay).
      this.#log.warn({ from: old.fib, to: next.fib }, 'reload: fib settings changed: restarting the FIB');
      await this.#fib?.stop().catch((err) => this.#log.error({ err }, 'fib: stop failed'));
      this.#fib = undefined;
      await this.#startFib();
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
          config: () => this.#config,
          reloader: this.#reloader,
          rib: this.rib,
          peers: this.peers,
          dataplane: () => this.#dataplane,
          fib: () => this.#fib,
          tunnelState: (name) => this.#tunnelUp.get(name),
          rpki: () => this.#rpki,
          log: this.#log,
          startedAt: this.#startedAt,
          gracefulRestart: () => this.#onGracefulRestart(),
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
    // Then the exporter: a second gredged on the same metrics address stops here too.
    if (this.config.metrics) await this.#applyMetrics(this.config.metrics);
    if (this.config.dataplane) {
      // Loaded only when tunnels are configured: a BGP-only box never loads the native addon.
      const { startDataplane } = await import('../dataplane/from-config.js');
      this.#dataplane = await startDataplane(this.config, this.#log.child({ module: 'dataplane' }));
      this.#dataplane?.on('tunnel-state', ({ name, up }) => this.#tunnelUp.set(name, up));
    }
    await this.#startFib({ restart: true });
    this.#beginRestart();
    // Before the sessions, so VRPs may arrive first; routes that come before are NotFound
    // until the first commit re-validates them.
    this.#rpki?.start();
    if (this.config.listen && this.peers.size > 0) await this.#listen(this.config.listen);
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

  /**
   * Graceful restart, the restarting side (RFC 4724 §4.1): when the FIB kept the routes an
   * earlier instance left (`restart` at start, with a neighbor that has graceful restart), this
   * start is a restart. The RIB then defers its export until End-of-RIB from those neighbors
   * (or `graceful-restart.selection-deferral`), our OPENs carry the Restart State bit meanwhile,
   * and at the end the FIB reconciles the kept routes with the new best paths.
   */
  #beginRestart(): void {
    const kept = this.#fib?.kept;
    if (kept === undefined) return;
    this.#keptFamilies = kept;
    this.rib.onRestartComplete(() => {
      this.#fib?.restartComplete();
      this.#log.info('graceful restart: done (best paths exported, kernel tables reconciled)');
    });
    this.rib.beginRestart({ deferralMs: this.#config.gracefulRestart.selectionDeferral * 1000 });
  }

  /**
   * What our OPEN to a neighbor says of us (RFC 4724 §3): the Restart State bit while our restart
   * defers the export; the Forwarding State bit for the families whose routes to the neighbor
   * kept forwarding — after a session of ours that ended (the FIB went on), or across our restart
   * (the kernel routes it kept). A cold start claims none: helpers drop our old routes at once.
   */
  #restartState(establishedBefore: boolean): RestartState {
    const fib = this.#config.fib;
    const forwards = this.#fib !== undefined && fib?.kernel === true;
    const families = establishedBefore ? FAMILIES : (this.#keptFamilies ?? []);
    return {
      restarting: this.rib.restarting,
      forwarding: forwards ? FAMILIES.filter((f) => families.includes(f)) : [],
    };
  }

  async #startFib(opts: { restart?: boolean } = {}): Promise<void> {
    const cfg = this.#config;
    if (!cfg.fib || !cfg.fib.kernel) {
      // Crash safety: an earlier instance's routes and rules go even when this one writes none.
      const { removeFibLeftovers } = await import('../fib/leftovers.js');
      await removeFibLeftovers(cfg.fib ?? FIB_DEFAULTS, this.#log.child({ module: 'fib' }));
      if (!cfg.fib) return;
    }
    const { Fib } = await import('../fib/fib.js');
    // Kernel write latency for gredge_fib_write_duration_seconds: the FIB's own writer, timed.
    let writer: import('../fib/writer.js').KernelWriter | undefined;
    if (cfg.fib.kernel) {
      const { NetlinkWriter } = await import('../fib/writer.js');
      const { timedWriter } = await import('../observe/metrics-fib.js');
      writer = timedWriter(new NetlinkWriter(cfg.fib.protocol), (s) => this.#metrics?.observeFibWrite(s));
    }
    this.#fib = new Fib({
      config: { ...cfg, fib: cfg.fib },
      rib: this.rib,
      ...(writer ? { writer } : {}),
      ...(this.#dataplane ? { dataplane: this.#dataplane } : {}),
      log: this.#log.child({ module: 'fib' }),
      // Graceful restart: at start only, and only with a neighbor that has it (else what an
      // earlier instance left is removed: nothing says it is still right).
      restart: opts.restart === true && cfg.neighbors.some((n) => n.gracefulRestart.enabled),
    });
    await this.#fib.start();
  }

  /**
   * Starts, moves or stops the Prometheus exporter (src/observe/metrics.ts) for `m`; a change
   * of `per-tunnel` alone applies without touching the socket.
   */
  async #applyMetrics(m: Config['metrics']): Promise<void> {
    if (!m) {
      await this.#metrics?.close();
      this.#metrics = undefined;
      return;
    }
    if (!this.#metrics) {
      const { Metrics, rpkiSource } = await import('../observe/metrics.js');
      const metrics = new Metrics({
        sources: {
          peers: this.peers,
          rib: this.rib,
          dataplane: () => this.#dataplane,
          fib: () => this.#fib,
          tunnelState: (name) => this.#tunnelUp.get(name),
          reloads: () => this.#reloader.status(),
          rpki: () => (this.#rpki ? rpkiSource(this.#rpki) : undefined),
          kernelTables: () => {
            const f = this.#config.fib;
            return this.#fib && f?.kernel ? { full: f.fullTable, resale: f.resaleTable } : undefined;
          },
        },
        log: this.#log.child({ module: 'metrics' }),
        version: VERSION,
        perTunnel: m.perTunnel,
      });
      await metrics.listen(m.listen);
      this.#metrics = metrics;
      return;
    }
    await this.#metrics.listen(m.listen);
    this.#metrics.perTunnel = m.perTunnel;
  }

  async #listen(at: { address: string; port: number }): Promise<void> {
    this.#listener = new BgpListener({
      address: at.address,
      port: at.port,
      log: this.#log.child({ module: 'listener' }),
      lookup: (remote) => this.#byAddress.get(unmapIpv4(remote)),
    });
    await this.#listener.listen();
  }

  /**
   * What `gredgectl graceful-restart` starts once answered: main.ts stops with `graceful` and
   * exits 75; without it (a Daemon run by a test), the stop alone.
   */
  #onGracefulRestart: () => void = () => {
    void this.stop('graceful restart', { graceful: true });
  };

  /** main.ts: how a planned graceful restart ends the process. */
  onGracefulRestart(fn: () => void): void {
    this.#onGracefulRestart = fn;
  }

  /**
   * Cease (administrative shutdown, RFC 8203 message) to every neighbor, then close everything:
   * the kernel routes and rules of the FIB (unless `keep`: graceful restart leaves them), then
   * the data plane (the kernel removes the TUN unless `dataplane.persistent`). Bounded: the
   * neighbors get STOP_SESSIONS_MS to close after their Cease, and the whole stop `deadlineMs`
   * (STOP_DEADLINE_MS); what a phase did not finish by then is logged and left for the next
   * start to remove (the FIB's start reconcile), and the stop goes on. A second call returns the
   * first one's promise.
   *
   * `graceful`: a planned graceful restart (RFC 4724) instead. No Cease: the sessions stay up
   * until the process exits and the kernel closes their connections, which the neighbors'
   * helpers take for a restart and keep our routes. The FIB writes what it has queued and leaves
   * its routes and rules; the TUN is made persistent so that it, its addresses and the routes
   * into it outlive the process. The next start finds them and restarts gracefully.
   */
  stop(
    message = 'gredged shutting down',
    opts: { deadlineMs?: number; keep?: boolean; graceful?: boolean } = {},
  ): Promise<void> {
    this.#stopping ??= (async () => {
      const t0 = performance.now();
      const deadlineMs = opts.deadlineMs ?? STOP_DEADLINE_MS;
      // Once the deadline has passed no phase starts and none is waited for.
      let expired = false;
      let deadlineTimer: NodeJS.Timeout | undefined;
      const deadline = new Promise<false>((r) => {
        deadlineTimer = setTimeout(() => {
          expired = true;
          r(false);
        }, deadlineMs);
      });
      // One phase: done (true), or cut (false) by the deadline or by its own `capMs`.
      const phase = async (what: string, run: () => Promise<unknown> | undefined, capMs?: number) => {
        if (expired) return false;
        const p = run();
        if (p === undefined) return true;
        let cap: NodeJS.Timeout | undefined;
        const done = await Promise.race([
          p.then(
            () => true,
            (err) => {
              this.#log.error({ err }, `${what}: stop failed`);
              return true;
            },
          ),
          deadline,
          ...(capMs === undefined
            ? []
            : [new Promise<false>((r) => (cap = setTimeout(() => r(false), capMs)))]),
        ]);
        clearTimeout(cap);
        return done;
      };
      this.#reloader.close();
      await phase('control', () => this.#control?.stop());
      await phase('metrics', () => this.#metrics?.close());
      this.#listener?.close();
      this.#rpki?.stop();
      if (opts.graceful) {
        // The RIB's last word reaches the kernel, then nothing more is taken from it: sessions
        // that end from here on must not withdraw kernel routes.
        if (!(await phase('fib', () => this.#fib?.stop({ keep: true }))))
          this.#log.error({ deadlineMs }, 'graceful restart: deadline reached while the FIB wrote its queue');
        try {
          this.#dataplane?.setPersistent(true);
        } catch (err) {
          this.#log.error(
            { err },
            'graceful restart: the TUN could not be made persistent; it goes with the process, and the routes into it',
          );
        }
        clearTimeout(deadlineTimer);
        this.#dataplane?.close();
        for (const p of this.peers.values()) p.abandon();
        this.#log.info(
          { ms: Math.round(performance.now() - t0), neighbors: this.peers.size },
          'graceful restart: kernel routes, rules and TUN left in place; sessions closed without a NOTIFICATION',
        );
        return;
      }
      // Every Cease is written at once; what is waited for is the neighbors closing their side.
      const peers = [...this.peers.values()];
      const open = new Set(peers);
      const sessions = () =>
        Promise.allSettled(peers.map((p) => p.stop(message).finally(() => open.delete(p))));
      if (!(await phase('sessions', sessions, STOP_SESSIONS_MS)))
        this.#log.warn(
          { neighbors: [...open].map((p) => p.neighbor.name), waitedMs: Math.round(performance.now() - t0) },
          'stop: neighbors did not close after their Cease in time; going on (the kernel sends what is queued)',
        );
      // Routes and rules go before the TUN they point into.
      if (!(await phase('fib', () => this.#fib?.stop(opts.keep ? { keep: true } : {}))))
        this.#log.error(
          { deadlineMs },
          'stop: deadline reached before the kernel routes and rules were removed; the next start removes what is left',
        );
      clearTimeout(deadlineTimer);
      this.#dataplane?.close();
      this.#log.info({ ms: Math.round(performance.now() - t0), cut: expired }, 'gredged stopped');
    })();
    return this.#stopping;
  }
}

/**
 * How long a stop waits for neighbors to close after their Cease (ms): the NOTIFICATION is
 * written at once, and the kernel still delivers what is queued after gredged exits.
 */
export const STOP_SESSIONS_MS = 2000;
/**
 * The bound on a whole stop (ms): removing a full table (1M prefixes in two tables, 2M route
 * deletions) takes the kernel 16-18 s on the 2-CPU reference box (bench/fib); a small one
 * well under a second. systemd's TimeoutStopSec (90 s in config/gredge.service) is above it.
 */
export const STOP_DEADLINE_MS = 30_000;

/** The part of a config the FIB is handed (only called while `fib` is set). */
function fibConfig(c: Config): Pick<Config, 'neighbors' | 'tunnels'> & { fib: FibConfig } {
  return { neighbors: c.neighbors, tunnels: c.tunnels, fib: c.fib! };
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
