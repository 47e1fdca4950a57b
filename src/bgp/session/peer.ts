/**
 * One BGP neighbor: performs what the pure FSM (fsm.ts) decides — TCP connect/accept, OPEN
 * exchange, timers, NOTIFICATIONs — resolves connection collisions (RFC 4271 §6.8, RFC 6286 §2.3)
 * and hands decoded UPDATE batches to the RIB through its PeerChannel. It never decides routes.
 *
 * RFC 4271 §4 (messages), §6 (error handling: a NOTIFICATION, then close), §8 (FSM),
 * RFC 7606 (treat-as-withdraw / attribute-discard outcomes are counted, not fatal),
 * RFC 2918 §4 / RFC 7313 (route refresh; unknown AFI/SAFI ignored), RFC 8203 (shutdown message),
 * RFC 8654 (extended messages after negotiation), RFC 4724 (a lost connection is a graceful
 * `down`; §4.2: a restarted neighbor's OPEN on a new connection ends the old session; the R and
 * F bits of our OPEN come from the daemon's RestartState).
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import type { NeighborConfig } from '../../config/types.js';
import type { Logger } from '../../observe/log.js';
import type { OutboundSink, PeerChannel, SessionInfo } from '../../rib/channel.js';
import {
  ceaseNotification,
  describeNotification,
  encodeKeepalive,
  encodeNotification,
  encodeOpen,
  encodeRouteRefresh,
  type Family,
  MAX_EXTENDED_MESSAGE_LENGTH,
  MAX_MESSAGE_LENGTH,
  type NotificationMessage,
  type OpenMessage,
  type RouteRefreshMessage,
  type UpdateMessage,
} from '../wire/index.js';
import { Connection } from './connection.js';
import { countNotification, MESSAGE_KIND, type PeerCounters, newCounters, socketSink } from './counters.js';
import { type Action, type FsmContext, type FsmEvent, type State, transition } from './fsm.js';
import {
  buildOpen,
  familyOf,
  localWinsCollision,
  type OpenExpectations,
  type RestartState,
} from './negotiate.js';
import { classify } from './receive.js';
import { connectRetryDelay, keepaliveInterval, SessionTimer } from './timers.js';

export interface PeerOptions {
  neighbor: NeighborConfig;
  localAs: number;
  routerId: number; // uint32
  channel: PeerChannel;
  log: Logger;
  /** Seconds Established before the ConnectRetry backoff resets. Default 60. */
  stableAfter?: number;
  /** Randomness for the backoff jitter (tests pass a seeded one). */
  rng?: () => number;
  /**
   * Graceful restart (RFC 4724 §3): the daemon's restart state when an OPEN is sent (the R bit,
   * the F bit per family), given whether this neighbor was Established before (since start).
   * Absent: never restarting, no forwarding state claimed.
   */
  restartState?: (establishedBefore: boolean) => RestartState;
}

export type { MessageKind, PeerCounters } from './counters.js';

/** A NOTIFICATION sent or received, as operators see it (gredgectl show neighbor). */
export interface NotificationRecord {
  code: number;
  subcode: number;
  /** describeNotification(): the RFC names and any shutdown communication (RFC 8203). */
  text: string;
  /** When (ms since the epoch). */
  at: number;
}

/** The outcome of a soft reset request (see Peer.softReset). */
export type SoftResetResult =
  | { ok: true; families: Family[] }
  | { ok: false; reason: 'not-established' | 'unsupported' };

export interface PeerEvents {
  state: [from: State, to: State];
}

/** After this many UPDATEs in one batch the session yields the event loop. */
export const BATCH_YIELD = 2000;
const KEEPALIVE = encodeKeepalive();

export class Peer extends EventEmitter<PeerEvents> {
  #neighbor: NeighborConfig;
  readonly counters: PeerCounters = newCounters();
  readonly #localAs: number;
  readonly #routerId: number;
  readonly #channel: PeerChannel;
  readonly #log: Logger;
  readonly #stableAfter: number;
  readonly #rng: () => number;
  readonly #restartState: ((establishedBefore: boolean) => RestartState) | undefined;
  /** Our OPEN from the config alone (not restarting, no F bit): what a reload compares. */
  readonly #ours: OpenMessage;
  readonly #oursBytes: Uint8Array;
  #expect: OpenExpectations;
  #state: State = 'Idle';
  #started = false;
  #primary: Connection | undefined;
  #secondary: Connection | undefined;
  #connecting: net.Socket | undefined;
  readonly #connectRetry = new SessionTimer(() =>
    this.#dispatch(undefined, { type: 'ConnectRetryTimer_Expires' }),
  );
  #restart: NodeJS.Timeout | undefined;
  #stable: NodeJS.Timeout | undefined;
  #info: SessionInfo | undefined;
  #since = 0;
  #batch: UpdateMessage[] = [];
  #currentUpdate: UpdateMessage | undefined;
  #currentRefresh: RouteRefreshMessage | undefined;
  /** A precise reason for the next `down` (the NOTIFICATION sent or received). */
  #reason: string | undefined;
  /** After an AutomaticStop with a hold-down (max-prefix): no restart before this time (ms). */
  #holdDownUntil = 0;
  #lastSent: NotificationRecord | undefined;
  #lastReceived: NotificationRecord | undefined;

  constructor(o: PeerOptions) {
    super();
    this.#neighbor = o.neighbor;
    this.#localAs = o.localAs;
    this.#routerId = o.routerId >>> 0;
    this.#channel = o.channel;
    this.#log = o.log;
    this.#stableAfter = o.stableAfter ?? 60;
    this.#rng = o.rng ?? Math.random;
    this.#restartState = o.restartState;
    this.#ours = buildOpen(o.neighbor, o.localAs, this.#routerId);
    this.#oursBytes = encodeOpen(this.#ours);
    this.#expect = { neighbor: o.neighbor, localAs: o.localAs, routerId: this.#routerId, ours: this.#ours };
  }

  /** The neighbor's config; replaced only by `reconfigure` (a reload that applies in place). */
  get neighbor(): NeighborConfig {
    return this.#neighbor;
  }

  /**
   * A reload's session part (BIRD's reconfigure()): takes a changed config when the change
   * applies in place (config/diff.ts NEIGHBOR_IN_PLACE, and nothing the OPEN we sent carries
   * differs) and returns true; false when the session must be replaced (the caller stops this
   * Peer and starts a new one). `passive` applies in place only to an Established session, and
   * `role-strict` switched on only when the Established neighbor did send a BGP Role.
   */
  reconfigure(next: NeighborConfig): boolean {
    const ours = buildOpen(next, this.#localAs, this.#routerId);
    if (!sameBytes(encodeOpen(ours), this.#oursBytes)) return false;
    const old = this.#neighbor;
    const established = this.#state === 'Established';
    if (next.passive !== old.passive && !established) return false;
    if (next.roleStrict === true && old.roleStrict !== true && established) {
      if (this.#info?.remoteCapabilities.role === undefined) return false;
    }
    this.#neighbor = next;
    this.#expect = { ...this.#expect, neighbor: next };
    return true;
  }

  /**
   * The neighbor left the config (Cease 6/3, "peer de-configured", RFC 4486) or changed in a way
   * that needs a new session (6/6, "other configuration change"); the Peer is not started again.
   */
  deconfigure(subcode: 3 | 6, message?: string): Promise<void> {
    return this.#shutdown(subcode, message, subcode === 3 ? 'peer de-configured' : 'configuration change');
  }

  get state(): State {
    return this.#state;
  }

  /** What was negotiated, while Established. */
  get info(): SessionInfo | undefined {
    return this.#info;
  }

  /** When the session last reached Established (ms since the epoch), while it is Established. */
  get establishedSince(): number | undefined {
    return this.#info === undefined ? undefined : this.#since;
  }

  /** False once stopped (administratively down) until the next start(). */
  get enabled(): boolean {
    return this.#started;
  }

  /** The hold time negotiated with the neighbor, while Established. */
  get negotiatedHoldTime(): number | undefined {
    return this.#info === undefined ? undefined : this.#primary?.negotiated?.holdTime;
  }

  /** The last NOTIFICATION sent to and received from this neighbor, on any connection. */
  get lastNotifications(): { sent?: NotificationRecord; received?: NotificationRecord } {
    return {
      ...(this.#lastSent ? { sent: { ...this.#lastSent } } : {}),
      ...(this.#lastReceived ? { received: { ...this.#lastReceived } } : {}),
    };
  }

  /**
   * Soft reset, both directions, no session reset: a ROUTE-REFRESH (RFC 2918) for every
   * negotiated family, so the neighbor sends its routes again, and our Adj-RIB-Out re-sent, as
   * when the neighbor asks. Needs Established and the neighbor's route refresh capability.
   */
  softReset(): SoftResetResult {
    const info = this.#info;
    if (this.#state !== 'Established' || info === undefined) return { ok: false, reason: 'not-established' };
    if (!info.remoteCapabilities.routeRefresh && !info.remoteCapabilities.enhancedRouteRefresh)
      return { ok: false, reason: 'unsupported' };
    const families = info.families.filter((f) => this.requestRouteRefresh(f));
    this.#flush();
    for (const f of families) this.#rib('routeRefresh', () => this.#channel.routeRefresh(f));
    this.#log.info({ families }, 'soft reset: route refresh requested, Adj-RIB-Out re-sent');
    return { ok: true, families };
  }

  /**
   * Hard reset: Cease 6/4 "administrative reset" (RFC 4486, with an RFC 8203 message) on every
   * open connection, then a ManualStart: the session comes back as after a restart. A stopped
   * (disabled) neighbor stays stopped.
   */
  async reset(message?: string): Promise<void> {
    if (!this.#started) return;
    await this.#shutdown(4, message, 'administrative reset');
    this.start();
  }

  /**
   * Asks the neighbor to send its routes again (RFC 2918): false unless Established with the
   * family negotiated and the neighbor advertised route refresh.
   */
  requestRouteRefresh(family: Family): boolean {
    const conn = this.#primary;
    if (!conn || this.#state !== 'Established' || !this.#info?.families.includes(family)) return false;
    if (!this.#info.remoteCapabilities.routeRefresh && !this.#info.remoteCapabilities.enhancedRouteRefresh)
      return false;
    conn.write(encodeRouteRefresh({ afi: family === 'ipv4-unicast' ? 1 : 2, subtype: 0, safi: 1 }));
    this.counters.messagesOut.routeRefresh++;
    return true;
  }

  /** ManualStart (active neighbors) or ManualStart_with_PassiveTcpEstablishment (passive ones). */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#dispatch(undefined, {
      type: this.neighbor.passive ? 'ManualStart_with_PassiveTcpEstablishment' : 'ManualStart',
    });
  }

  /**
   * Administrative shutdown: Cease 6/2 carrying `message` (RFC 8203) on every open connection,
   * then close once it has been flushed. Resolves when the sockets are closed.
   */
  stop(message?: string): Promise<void> {
    return this.#shutdown(2, message, 'administrative shutdown');
  }

  /**
   * A planned graceful restart (RFC 4724): every connection is closed at once with no
   * NOTIFICATION, so that the neighbor takes it for a restart and keeps our routes. Nothing is
   * sent from here on; the session does not restart. Synchronous: a daemon abandoning all its
   * sessions in one go sends no one a withdrawal caused by another's going.
   */
  abandon(): void {
    this.#started = false;
    if (this.#restart) clearTimeout(this.#restart);
    this.#restart = undefined;
    this.#abortConnect();
    this.#reason = 'graceful restart';
    for (const c of [this.#secondary, this.#primary]) if (c) void c.destroy();
  }

  /** ManualStop with Cease `subcode` (2 shutdown, 4 reset) on every open connection. */
  async #shutdown(subcode: number, message: string | undefined, what: string): Promise<void> {
    this.#started = false;
    if (this.#restart) clearTimeout(this.#restart);
    this.#restart = undefined;
    const n = ceaseNotification(subcode, message);
    const waits: Promise<void>[] = [];
    const second = this.#secondary;
    if (second) {
      waits.push(second.closed);
      this.#notify(second, n);
      this.#secondary = undefined;
      void second.close();
    }
    if (this.#primary) waits.push(this.#primary.closed);
    this.#reason = message === undefined ? what : `${what}: ${message}`;
    this.#dispatch(undefined, { type: 'ManualStop', code: n.code, subcode: n.subcode, data: n.data });
    this.#abortConnect();
    // Stopped on purpose: routes the RIB keeps from a graceful restart of this neighbor go too.
    this.#rib('flush', () => this.#channel.flush?.(what));
    await Promise.all(waits);
  }

  /** An inbound TCP connection from this neighbor's address (the listener found us). */
  acceptConnection(socket: net.Socket): void {
    socket.on('error', () => {}); // reported through 'close' by Connection; never unhandled
    if (!this.#started || this.#state === 'Idle') {
      this.#log.info({ remote: socket.remoteAddress }, 'refused connection: session is idle');
      socket.destroy();
      return;
    }
    const conn = this.#newConnection(socket, 'in');
    if (this.#state === 'Connect' || this.#state === 'Active') {
      this.#primary = conn;
      this.#dispatch(conn, { type: 'TcpConnectionConfirmed' });
    } else if (this.#state === 'Established' && this.#gracefulRestart()) {
      // RFC 4724 §4.2: the neighbor may have restarted without our noticing the old connection
      // end; its OPEN decides (#resolveCollision).
      this.#log.info('new connection while Established with a graceful-restart neighbor: its OPEN decides');
      this.#track(conn);
    } else if (this.#state === 'Established') {
      // §6.8: a collision with an Established session closes the new connection.
      this.#log.info('connection collision with Established session: closing the new connection');
      this.#notify(conn, ceaseNotification(7));
      void conn.close();
    } else {
      this.#track(conn);
    }
  }

  // --- connections

  #newConnection(socket: net.Socket, direction: 'in' | 'out'): Connection {
    return new Connection(socket, direction, direction === 'in' ? 'Active' : 'Connect', {
      data: (c, chunk) => {
        c.framer.push(chunk);
        if (!c.yielding) this.#drain(c);
      },
      lost: (c, why) => this.#lost(c, why),
      hold: (c) => this.#dispatch(c, { type: 'HoldTimer_Expires' }),
      keepalive: (c) => this.#dispatch(c, { type: 'KeepaliveTimer_Expires' }),
    });
  }

  /** A second connection while one is in OpenSent/OpenConfirm: OPEN on it, resolve at its OPEN. */
  #track(conn: Connection): void {
    if (this.#secondary) {
      this.#log.debug('a third connection: dropping the older second one');
      void this.#secondary.destroy();
    }
    this.#secondary = conn;
    this.#dispatch(conn, { type: conn.direction === 'in' ? 'TcpConnectionConfirmed' : 'Tcp_CR_Acked' });
  }

  #startConnect(): void {
    if (this.#connecting || this.neighbor.passive) return;
    const n = this.neighbor;
    const socket = net.connect({
      host: n.address,
      port: n.port,
      ...(n.localAddress ? { localAddress: n.localAddress } : {}),
    });
    this.#connecting = socket;
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (this.#connecting !== socket) return;
      this.#connecting = undefined;
      socket.destroy();
      this.#log.debug({ err: err.code ?? err.message }, 'outgoing connection failed');
      this.counters.lastError = `connect: ${err.code ?? err.message}`;
      if (this.#state === 'Connect') this.#dispatch(undefined, { type: 'TcpConnectionFails' });
    });
    socket.once('connect', () => {
      if (this.#connecting !== socket) return;
      this.#connecting = undefined;
      const conn = this.#newConnection(socket, 'out');
      if (this.#state === 'Connect' || this.#state === 'Active') {
        this.#primary = conn;
        this.#dispatch(conn, { type: 'Tcp_CR_Acked' });
      } else if (this.#state === 'OpenSent' || this.#state === 'OpenConfirm') {
        this.#track(conn);
      } else {
        void conn.destroy();
      }
    });
  }

  #abortConnect(): void {
    const s = this.#connecting;
    this.#connecting = undefined;
    s?.destroy();
  }

  #lost(conn: Connection, why: string): void {
    if (conn !== this.#primary && conn !== this.#secondary) return;
    this.#log.info({ direction: conn.direction }, why);
    this.counters.lastError = why;
    this.#reason ??= why;
    this.#dispatch(conn, { type: 'TcpConnectionFails' });
  }

  // --- the FSM driver

  #ctx(conn: Connection | undefined): FsmContext {
    const hold = conn?.negotiated?.holdTime ?? this.neighbor.holdTime;
    return {
      passive: this.neighbor.passive,
      connectRetryTime: connectRetryDelay(
        this.neighbor.connectRetry,
        this.counters.connectRetryCounter,
        this.#rng,
      ),
      holdTime: hold,
      keepaliveTime: keepaliveInterval(hold),
    };
  }

  /** Runs one FSM step on `conn` (undefined: the peer before any connection exists). */
  #dispatch(conn: Connection | undefined, ev: FsmEvent): void {
    const primary = conn === undefined || conn === this.#primary;
    if (!primary && conn !== this.#secondary) return; // a dumped connection's late event
    const from = primary ? this.#state : conn!.state;
    const target = primary ? this.#primary : conn;
    const { state: to, actions } = transition(from, ev, this.#ctx(target));
    if (target) target.state = to;
    if (primary) this.#state = to;
    for (const a of actions) this.#perform(a, target, primary);
    if (!primary) {
      if (to !== 'OpenSent' && to !== 'OpenConfirm' && this.#secondary === conn) {
        this.#secondary = undefined;
        void conn!.close();
      }
      return;
    }
    if (from !== to) this.#changed(from, to);
    this.#adoptOrphan();
  }

  /** The primary went away (back to Active/Connect) while a second connection lives on: use it. */
  #adoptOrphan(): void {
    const s = this.#secondary;
    if (this.#primary || !s || (this.#state !== 'Active' && this.#state !== 'Connect')) return;
    this.#connectRetry.stop();
    this.#primary = s;
    this.#secondary = undefined;
    const from = this.#state;
    this.#state = s.state;
    if (from !== s.state) this.#changed(from, s.state);
  }

  #changed(from: State, to: State): void {
    this.#log.info({ from, to }, `state ${from} → ${to}`);
    if (to === 'Idle') {
      this.#abortConnect();
      if (this.#secondary) {
        void this.#secondary.close();
        this.#secondary = undefined;
      }
      if (this.#primary) {
        void this.#primary.close();
        this.#primary = undefined;
      }
      this.#reason = undefined;
      if (this.#started) {
        // Automatic restart, listening first; the ConnectRetry backoff decides when we dial.
        // A hold-down (max-prefix restart) keeps us Idle, refusing connections, until it ends.
        const wait = Math.max(0, this.#holdDownUntil - Date.now());
        this.#restart = setTimeout(() => {
          this.#restart = undefined;
          if (this.#started && this.#state === 'Idle') {
            this.#dispatch(undefined, { type: 'AutomaticStart_with_PassiveTcpEstablishment' });
          }
        }, wait);
      }
    }
    this.emit('state', from, to);
  }

  #perform(a: Action, conn: Connection | undefined, primary: boolean): void {
    switch (a.type) {
      case 'connect':
        if (primary) this.#startConnect();
        return;
      case 'close':
        if (conn) {
          void conn.close();
          if (conn === this.#primary) this.#primary = undefined;
        } else if (primary) {
          this.#abortConnect();
        }
        return;
      case 'sendOpen':
        if (conn) {
          conn.write(this.#openBytes());
          this.counters.messagesOut.open++;
        }
        return;
      case 'sendKeepalive':
        if (conn) {
          conn.write(KEEPALIVE);
          this.counters.messagesOut.keepalive++;
        }
        return;
      case 'sendNotification':
        if (conn) this.#notify(conn, { code: a.code, subcode: a.subcode, data: a.data });
        return;
      case 'startTimer':
      case 'stopTimer': {
        const timer =
          a.timer === 'connectRetry' ? (primary ? this.#connectRetry : undefined) : conn?.[a.timer];
        if (a.type === 'startTimer') timer?.start(a.secs);
        else timer?.stop();
        return;
      }
      case 'incrementRetryCounter':
        if (primary) this.counters.connectRetryCounter++;
        return;
      case 'resetRetryCounter':
        if (primary) this.counters.connectRetryCounter = 0;
        return;
      case 'established':
        if (conn && primary) this.#up(conn);
        return;
      case 'down':
        if (primary) this.#down(this.#reason ?? a.reason, a.graceful);
        return;
      case 'deliverUpdate':
        if (this.#currentUpdate) this.#batch.push(this.#currentUpdate);
        this.#currentUpdate = undefined;
        return;
      case 'deliverRouteRefresh':
        this.#routeRefresh();
        return;
    }
  }

  #notify(conn: Connection, n: NotificationMessage): void {
    const text = describeNotification(n);
    this.#log.warn({ code: n.code, subcode: n.subcode }, `sent NOTIFICATION: ${text}`);
    this.counters.lastError = `sent: ${text}`;
    this.#lastSent = { code: n.code, subcode: n.subcode, text, at: Date.now() };
    this.#reason ??= `sent NOTIFICATION: ${text}`;
    conn.write(encodeNotification(n));
    this.counters.messagesOut.notification++;
    countNotification(this.counters.notificationsOut, n.code, n.subcode);
  }

  #up(conn: Connection): void {
    const neg = conn.negotiated!;
    const info: SessionInfo = {
      peerAs: neg.peerAs,
      peerRouterId: neg.peerRouterId,
      peerAddress: conn.remoteAddress,
      localAddress: conn.localAddress,
      ebgp: neg.ebgp,
      as4: neg.as4,
      extendedMessage: neg.extendedMessage,
      families: neg.families,
      remoteCapabilities: neg.remoteCapabilities,
    };
    this.#info = info;
    this.#since = Date.now();
    this.#reason = undefined;
    this.counters.establishedCount++;
    this.#stable = setTimeout(() => {
      this.counters.connectRetryCounter = 0;
    }, this.#stableAfter * 1000);
    this.#stable.unref();
    this.#log.info(
      { peerAs: info.peerAs, families: info.families, holdTime: neg.holdTime, as4: info.as4 },
      'session established',
    );
    const sink: OutboundSink = {
      ...socketSink(conn, () => conn === this.#primary, this.counters.messagesOut),
      close: (subcode, data, reason, holdDownSeconds) => {
        if (conn !== this.#primary || this.#state !== 'Established') return;
        this.#automaticStop(subcode, data, reason, holdDownSeconds);
      },
    };
    this.#rib('up', () => this.#channel.up(info, sink));
  }

  /** RFC 4271 §8.1.2 event 8 with a Cease (RFC 4486) and a hold-down before the next start. */
  #automaticStop(subcode: number, data: Uint8Array, reason: string, holdDownSeconds: number): void {
    this.#holdDownUntil = Date.now() + holdDownSeconds * 1000;
    this.#log.warn({ reason, holdDownSeconds }, 'automatic stop: session held down');
    this.#reason = reason;
    this.#dispatch(this.#primary, { type: 'AutomaticStop', code: 6, subcode, data });
  }

  #down(reason: string, graceful: boolean): void {
    this.#flush();
    if (this.#stable) clearTimeout(this.#stable);
    this.#stable = undefined;
    this.#info = undefined;
    this.#log.info({ reason, graceful }, 'session down');
    this.#rib('down', () => this.#channel.down(reason, { graceful }));
  }

  /** Our OPEN as it goes out now: the config's, with the daemon's restart state (R and F bits). */
  #openBytes(): Uint8Array {
    const r = this.#restartState?.(this.counters.establishedCount > 0);
    if (r === undefined || !this.#neighbor.gracefulRestart.enabled) return this.#oursBytes;
    return encodeOpen(buildOpen(this.#neighbor, this.#localAs, this.#routerId, r));
  }

  /** Graceful restart negotiated on the Established session: both sides advertised it. */
  #gracefulRestart(): boolean {
    return (
      this.#neighbor.gracefulRestart.enabled && this.#info?.remoteCapabilities.gracefulRestart !== undefined
    );
  }

  /**
   * RFC 4724 §4.2: an OPEN from the neighbor on a new connection, with the Restart State bit set,
   * while the old session is still Established here: the neighbor restarted before we noticed.
   * The old session ends as a lost connection does (no NOTIFICATION, routes kept as stale) and
   * the new connection carries on as the session's.
   */
  #restarted(conn: Connection): void {
    this.#log.info(
      'OPEN with the Restart State bit on a new connection: the neighbor restarted (RFC 4724 §4.2); the old session ends, its routes kept as stale',
    );
    // Leaving Established must not close the new connection with the old one.
    this.#secondary = undefined;
    this.#reason = 'neighbor restarted (new connection, RFC 4724 §4.2)';
    this.#dispatch(this.#primary, { type: 'TcpConnectionFails' });
    if (this.#restart) clearTimeout(this.#restart);
    this.#restart = undefined;
    this.#dispatch(undefined, { type: 'AutomaticStart_with_PassiveTcpEstablishment' });
    this.#secondary = conn;
    this.#adoptOrphan();
  }

  #flush(): void {
    if (this.#batch.length === 0) return;
    const batch = this.#batch;
    this.#batch = [];
    this.#rib('updates', () => this.#channel.updates(batch));
  }

  #routeRefresh(): void {
    const r = this.#currentRefresh;
    this.#currentRefresh = undefined;
    if (!r) return;
    const family = familyOf(r.afi, r.safi);
    // RFC 2918 §4: ignore a request for an AFI/SAFI we did not negotiate; RFC 7313 §5: ignore
    // unknown subtypes. BoRR/EoRR from the peer need no action here.
    if (family === undefined || !this.#info?.families.includes(family)) {
      this.#log.debug({ afi: r.afi, safi: r.safi }, 'ignored ROUTE-REFRESH for a family not negotiated');
      return;
    }
    if (r.subtype !== 0) return;
    this.#flush();
    this.#rib('routeRefresh', () => this.#channel.routeRefresh(family));
  }

  /** A bug in the RIB must not take the session's socket handling down with it: log it loudly. */
  #rib(hook: string, call: () => void): void {
    try {
      call();
    } catch (err) {
      this.#log.error({ err }, `channel.${hook} threw`);
    }
  }

  // --- receiving

  /** Handles every complete message buffered on `conn`, yielding in big batches. */
  #drain(conn: Connection): void {
    while (!conn.closing) {
      const f = conn.framer.next();
      if (f === undefined) break;
      if (f.kind === 'error') {
        this.#flush();
        this.#dispatch(conn, {
          type: 'BGPHeaderErr',
          code: f.error.code,
          subcode: f.error.subcode,
          data: f.error.data,
        });
        break;
      }
      const kind = MESSAGE_KIND[f.type];
      if (kind) this.counters.messagesIn[kind]++;
      this.#message(conn, f.type, f.body);
      if (this.#batch.length >= BATCH_YIELD) {
        // A full-table load must not starve other sessions' timers and keepalives.
        this.#flush();
        if (conn.closing) return;
        conn.pause();
        setImmediate(() => {
          conn.resume();
          this.#drain(conn);
        });
        return;
      }
    }
    this.#flush();
  }

  #message(conn: Connection, type: number, body: Uint8Array): void {
    const m = classify(
      conn.state,
      type,
      body,
      this.#expect,
      conn === this.#primary ? conn.negotiated : undefined,
    );
    if (m.event.type !== 'UpdateMsg' && m.event.type !== 'KeepAliveMsg') this.#flush();
    if (m.notification) {
      const text = describeNotification(m.notification);
      this.#log.warn(
        { code: m.notification.code, subcode: m.notification.subcode },
        `received NOTIFICATION: ${text}`,
      );
      this.counters.lastError = `received: ${text}`;
      countNotification(this.counters.notificationsIn, m.notification.code, m.notification.subcode);
      this.#lastReceived = {
        code: m.notification.code,
        subcode: m.notification.subcode,
        text,
        at: Date.now(),
      };
      if (conn === this.#primary) this.#reason = `received NOTIFICATION: ${text}`;
    } else if (m.error) {
      const level = m.event.type === 'UpdateMsg' ? 'debug' : 'warn';
      this.#log[level](
        { err: m.error.message, action: m.error.action },
        `bad ${MESSAGE_KIND[type] ?? 'message'}`,
      );
      if (level === 'debug') this.counters.attributesDiscarded++;
    } else if (m.open) {
      conn.remoteOpen = m.open.message;
      conn.negotiated = m.open.negotiated;
      if (!this.#resolveCollision(conn)) return;
      conn.framer.maxLength = conn.negotiated.extendedMessage
        ? MAX_EXTENDED_MESSAGE_LENGTH
        : MAX_MESSAGE_LENGTH;
    } else if (m.update) {
      const u = m.update;
      this.counters.updatesReceived++;
      if (u.treatAsWithdraw !== undefined) {
        this.counters.updatesTreatedAsWithdraw++;
        this.#log.debug({ reason: u.treatAsWithdraw }, 'UPDATE treated as withdraw (RFC 7606)');
      }
      if (u.discarded !== undefined && u.discarded.length > 0) {
        this.counters.attributesDiscarded += u.discarded.length;
        this.#log.debug({ discarded: u.discarded }, 'attributes discarded (RFC 7606)');
      }
      this.#currentUpdate = u;
    } else if (m.refresh) {
      this.#currentRefresh = m.refresh;
    }
    m.event.messageType = type;
    this.#dispatch(conn, m.event);
  }

  /**
   * §6.8 on a valid OPEN: when another connection exists, keep the one initiated by the speaker
   * with the larger BGP identifier; the other gets Cease 6/7. Returns false when `conn` lost.
   */
  #resolveCollision(conn: Connection): boolean {
    const other = conn === this.#primary ? this.#secondary : this.#primary;
    if (other === undefined || other.closing) return true;
    const neg = conn.negotiated!;
    let loser: Connection;
    if (
      other.state === 'Established' &&
      other === this.#primary &&
      this.#gracefulRestart() &&
      neg.remoteCapabilities.gracefulRestart?.restarting === true
    ) {
      this.#restarted(conn);
      return true;
    } else if (other.state === 'Established') {
      loser = conn;
    } else if (other.direction === conn.direction) {
      loser = other; // two connections the same way: the peer has given up on the older one
    } else {
      const keepOutgoing = localWinsCollision(this.#routerId, neg.peerRouterId, this.#localAs, neg.peerAs);
      loser = (conn.direction === 'out') === keepOutgoing ? other : conn;
    }
    this.#log.info(
      { kept: loser === conn ? other.direction : conn.direction, peerId: neg.peerRouterId },
      'connection collision resolved',
    );
    if (loser === this.#secondary) {
      this.#dispatch(loser, { type: 'OpenCollisionDump' });
      return loser !== conn;
    }
    // The primary loses: dump it and promote the secondary, which carries on in its own FSM.
    const old = this.#primary!;
    const from = this.#state;
    this.#notify(old, ceaseNotification(7));
    this.#reason = undefined;
    void old.close();
    this.#primary = this.#secondary;
    this.#secondary = undefined;
    this.#state = this.#primary!.state;
    if (from !== this.#state) this.#changed(from, this.#state);
    return this.#primary === conn;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
