/**
 * The BGP finite state machine of RFC 4271 §8.2.2 as one pure function: (state, event, ctx) →
 * (new state, actions). `peer.ts` performs the actions (sockets, timers, the RIB channel); this
 * file never does I/O, so every transition is checked by a table test.
 *
 * One FSM instance runs per TCP connection, as §6.8 and §8 describe ("the local system needs to
 * track the second connection"); the peer keeps the primary one and resolves collisions.
 *
 * Not modelled (optional in §8.1.1): DelayOpen, SendNOTIFICATIONwithoutOPEN, peer oscillation
 * damping (our ConnectRetry backoff in timers.ts plays that part), TcpConnection_Valid/Invalid.
 * FSM errors carry the RFC 6608 subcodes.
 */

export type State = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established';

/** RFC 4271 §8.1 event names (the ones we generate). */
export type EventName =
  | 'ManualStart' // 1
  | 'ManualStop' // 2
  | 'AutomaticStart' // 3
  | 'ManualStart_with_PassiveTcpEstablishment' // 4
  | 'AutomaticStart_with_PassiveTcpEstablishment' // 5
  | 'AutomaticStop' // 8
  | 'ConnectRetryTimer_Expires' // 9
  | 'HoldTimer_Expires' // 10
  | 'KeepaliveTimer_Expires' // 11
  | 'Tcp_CR_Acked' // 16: our outgoing connection completed
  | 'TcpConnectionConfirmed' // 17: an incoming connection was accepted
  | 'TcpConnectionFails' // 18
  | 'BGPOpen' // 19
  | 'BGPHeaderErr' // 21
  | 'BGPOpenMsgErr' // 22
  | 'OpenCollisionDump' // 23
  | 'NotifMsgVerErr' // 24
  | 'NotifMsg' // 25
  | 'KeepAliveMsg' // 26
  | 'UpdateMsg' // 27
  | 'UpdateMsgErr' // 28
  | 'RouteRefreshMsg'; // RFC 2918: not an RFC 4271 event; valid only in Established

export interface FsmEvent {
  type: EventName;
  /** NOTIFICATION to send for the *Err events, AutomaticStop and ManualStop (Cease subcode). */
  code?: number;
  subcode?: number;
  data?: Uint8Array;
  /** The type of the message that raised the event (RFC 6608 puts it in FSM error data). */
  messageType?: number;
}

export type TimerName = 'connectRetry' | 'hold' | 'keepalive';

export type Action =
  | { type: 'connect' } // initiate an outgoing TCP connection
  | { type: 'close' } // drop this connection's TCP (after flushing queued NOTIFICATIONs)
  | { type: 'sendOpen' }
  | { type: 'sendKeepalive' }
  | { type: 'sendNotification'; code: number; subcode: number; data: Uint8Array }
  | { type: 'startTimer'; timer: TimerName; secs: number }
  | { type: 'stopTimer'; timer: TimerName }
  | { type: 'incrementRetryCounter' }
  | { type: 'resetRetryCounter' }
  | { type: 'established' }
  /**
   * Left Established: the RIB drops the neighbor's routes, or with `graceful` (the connection
   * was lost, no NOTIFICATION either way) may keep them as stale (RFC 4724 §4.2).
   */
  | { type: 'down'; reason: string; graceful: boolean }
  | { type: 'deliverUpdate' }
  | { type: 'deliverRouteRefresh' };

export interface FsmContext {
  /** PassiveTcpEstablishment: never initiate connections. */
  passive: boolean;
  /** Current ConnectRetryTime in seconds (with backoff, see timers.ts). */
  connectRetryTime: number;
  /** Negotiated hold time (§4.2); set by the peer before it raises BGPOpen. 0 disables timers. */
  holdTime: number;
  /** Keepalive interval for the negotiated hold time. */
  keepaliveTime: number;
}

export interface Transition {
  state: State;
  actions: Action[];
}

/** §8.2.2: "a large value" for the HoldTimer in OpenSent; 4 minutes is suggested. */
export const LARGE_HOLD_TIME = 240;

export const ErrorCode = {
  HEADER: 1,
  OPEN: 2,
  UPDATE: 3,
  HOLD_TIMER_EXPIRED: 4,
  FSM: 5,
  CEASE: 6,
} as const;

/** RFC 4486 Cease subcodes. */
export const CeaseSubcode = {
  MAX_PREFIXES: 1,
  ADMIN_SHUTDOWN: 2,
  PEER_DECONFIGURED: 3,
  ADMIN_RESET: 4,
  CONNECTION_REJECTED: 5,
  OTHER_CONFIG_CHANGE: 6,
  COLLISION_RESOLUTION: 7,
  OUT_OF_RESOURCES: 8,
} as const;

/** RFC 6608 FSM error subcodes: an unexpected message in the given state. */
export const FsmSubcode: Partial<Record<State, number>> = {
  OpenSent: 1,
  OpenConfirm: 2,
  Established: 3,
};

const EMPTY = new Uint8Array(0);

function notify(code: number, subcode: number, data: Uint8Array = EMPTY): Action {
  return { type: 'sendNotification', code, subcode, data };
}

/** RFC 6608 §4: the data of an FSM error is the type of the unexpected message, if one caused it. */
function fsmErrorData(e: FsmEvent): Uint8Array {
  return e.messageType === undefined ? EMPTY : Uint8Array.of(e.messageType & 0xff);
}

const stop = (timer: TimerName): Action => ({ type: 'stopTimer', timer });
const start = (timer: TimerName, secs: number): Action => ({ type: 'startTimer', timer, secs });

/** Everything §8.2.2 lists when a connection is torn down: timers off, TCP dropped. */
function teardown(counter: 'increment' | 'reset' | 'keep'): Action[] {
  const a: Action[] = [stop('connectRetry'), stop('hold'), stop('keepalive'), { type: 'close' }];
  if (counter === 'increment') a.push({ type: 'incrementRetryCounter' });
  else if (counter === 'reset') a.push({ type: 'resetRetryCounter' });
  return a;
}

/** The NOTIFICATION an event brings with it (Cease for stops unless told otherwise). */
function eventNotification(e: FsmEvent, fallbackCode: number, fallbackSubcode: number): Action {
  return notify(e.code ?? fallbackCode, e.subcode ?? fallbackSubcode, e.data ?? EMPTY);
}

function toIdle(actions: Action[]): Transition {
  return { state: 'Idle', actions };
}

/** Hold and keepalive timers for a negotiated hold time (0 disables both, §4.2). */
function negotiatedTimers(ctx: FsmContext): Action[] {
  if (ctx.holdTime === 0) return [stop('hold'), stop('keepalive')];
  return [start('hold', ctx.holdTime), start('keepalive', ctx.keepaliveTime)];
}

function idle(e: FsmEvent, ctx: FsmContext): Transition {
  switch (e.type) {
    case 'ManualStart':
    case 'AutomaticStart': {
      const reset: Action[] = e.type === 'ManualStart' ? [{ type: 'resetRetryCounter' }] : [];
      if (ctx.passive)
        return { state: 'Active', actions: [...reset, start('connectRetry', ctx.connectRetryTime)] };
      return {
        state: 'Connect',
        actions: [...reset, start('connectRetry', ctx.connectRetryTime), { type: 'connect' }],
      };
    }
    case 'ManualStart_with_PassiveTcpEstablishment':
      return {
        state: 'Active',
        actions: [{ type: 'resetRetryCounter' }, start('connectRetry', ctx.connectRetryTime)],
      };
    case 'AutomaticStart_with_PassiveTcpEstablishment':
      return { state: 'Active', actions: [start('connectRetry', ctx.connectRetryTime)] };
    default:
      // §8.2.2 Idle: every other event is ignored (incoming connections are refused by the peer).
      return { state: 'Idle', actions: [] };
  }
}

function connectOrActive(state: 'Connect' | 'Active', e: FsmEvent, ctx: FsmContext): Transition {
  switch (e.type) {
    case 'ManualStart':
    case 'AutomaticStart':
    case 'ManualStart_with_PassiveTcpEstablishment':
    case 'AutomaticStart_with_PassiveTcpEstablishment':
      return { state, actions: [] };
    case 'ManualStop':
      return toIdle(teardown('reset'));
    case 'ConnectRetryTimer_Expires':
      if (ctx.passive) return { state: 'Active', actions: [start('connectRetry', ctx.connectRetryTime)] };
      // Connect: drop the attempt and try again; Active: go and try.
      return {
        state: 'Connect',
        actions: [
          ...(state === 'Connect' ? [{ type: 'close' } as Action] : []),
          start('connectRetry', ctx.connectRetryTime),
          { type: 'connect' },
        ],
      };
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
      return {
        state: 'OpenSent',
        actions: [stop('connectRetry'), { type: 'sendOpen' }, start('hold', LARGE_HOLD_TIME)],
      };
    case 'TcpConnectionFails':
      // Connect → Idle, Active → Idle (§8.2.2 without DelayOpen). We count the failure in both so
      // that a neighbor refusing connections backs off exponentially.
      return toIdle(teardown('increment'));
    case 'BGPHeaderErr':
    case 'BGPOpenMsgErr':
      // Without an OPEN sent we may not send a NOTIFICATION (SendNOTIFICATIONwithoutOPEN is off).
      return toIdle(teardown('increment'));
    case 'NotifMsgVerErr':
      return toIdle(teardown('increment'));
    default:
      return toIdle(teardown('increment'));
  }
}

/**
 * ManualStop, AutomaticStop, HoldTimer_Expires and OpenCollisionDump end a session the same
 * way in OpenSent, OpenConfirm and Established (§8.2.2): a NOTIFICATION, then teardown.
 */
function closing(e: FsmEvent): Action[] | undefined {
  switch (e.type) {
    case 'ManualStop':
      return [eventNotification(e, ErrorCode.CEASE, CeaseSubcode.ADMIN_SHUTDOWN), ...teardown('reset')];
    case 'AutomaticStop':
      return [eventNotification(e, ErrorCode.CEASE, 0), ...teardown('increment')];
    case 'HoldTimer_Expires':
      return [notify(ErrorCode.HOLD_TIMER_EXPIRED, 0), ...teardown('increment')];
    case 'OpenCollisionDump':
      return [
        eventNotification(e, ErrorCode.CEASE, CeaseSubcode.COLLISION_RESOLUTION),
        ...teardown('increment'),
      ];
    default:
      return undefined;
  }
}

const CLOSING_REASON: Partial<Record<FsmEvent['type'], string>> = {
  ManualStop: 'administrative shutdown',
  AutomaticStop: 'automatic stop',
  HoldTimer_Expires: 'hold timer expired',
  OpenCollisionDump: 'connection collision',
};

function openSent(e: FsmEvent, ctx: FsmContext): Transition {
  switch (e.type) {
    case 'ManualStart':
    case 'AutomaticStart':
    case 'ManualStart_with_PassiveTcpEstablishment':
    case 'AutomaticStart_with_PassiveTcpEstablishment':
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
      // A second connection is tracked by the peer (§6.8), not by this FSM.
      return { state: 'OpenSent', actions: [] };
    case 'ManualStop':
    case 'AutomaticStop':
    case 'HoldTimer_Expires':
    case 'OpenCollisionDump':
      return toIdle(closing(e)!);
    case 'TcpConnectionFails':
      return {
        state: 'Active',
        actions: [
          stop('hold'),
          stop('keepalive'),
          { type: 'close' },
          start('connectRetry', ctx.connectRetryTime),
        ],
      };
    case 'BGPOpen':
      return {
        state: 'OpenConfirm',
        actions: [stop('connectRetry'), { type: 'sendKeepalive' }, ...negotiatedTimers(ctx)],
      };
    case 'BGPHeaderErr':
    case 'BGPOpenMsgErr':
      return toIdle([eventNotification(e, ErrorCode.OPEN, 0), ...teardown('increment')]);
    case 'NotifMsgVerErr':
      return toIdle(teardown('keep'));
    default:
      return toIdle([notify(ErrorCode.FSM, FsmSubcode.OpenSent!, fsmErrorData(e)), ...teardown('increment')]);
  }
}

function openConfirm(e: FsmEvent, ctx: FsmContext): Transition {
  switch (e.type) {
    case 'ManualStart':
    case 'AutomaticStart':
    case 'ManualStart_with_PassiveTcpEstablishment':
    case 'AutomaticStart_with_PassiveTcpEstablishment':
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
      return { state: 'OpenConfirm', actions: [] };
    case 'ManualStop':
    case 'AutomaticStop':
    case 'HoldTimer_Expires':
    case 'OpenCollisionDump':
      return toIdle(closing(e)!);
    case 'KeepaliveTimer_Expires':
      return {
        state: 'OpenConfirm',
        actions: [{ type: 'sendKeepalive' }, start('keepalive', ctx.keepaliveTime)],
      };
    case 'TcpConnectionFails':
    case 'NotifMsg':
      return toIdle(teardown('increment'));
    case 'NotifMsgVerErr':
      return toIdle(teardown('keep'));
    case 'BGPHeaderErr':
    case 'BGPOpenMsgErr':
      return toIdle([eventNotification(e, ErrorCode.OPEN, 0), ...teardown('increment')]);
    case 'KeepAliveMsg':
      return {
        state: 'Established',
        actions: [...(ctx.holdTime === 0 ? [] : [start('hold', ctx.holdTime)]), { type: 'established' }],
      };
    default:
      // ConnectRetryTimer_Expires, a second OPEN, UPDATE, ROUTE-REFRESH, UpdateMsgErr: RFC 6608 5/2.
      return toIdle([
        notify(ErrorCode.FSM, FsmSubcode.OpenConfirm!, fsmErrorData(e)),
        ...teardown('increment'),
      ]);
  }
}

function established(e: FsmEvent, ctx: FsmContext): Transition {
  const down = (reason: string, graceful = false): Action => ({ type: 'down', reason, graceful });
  switch (e.type) {
    case 'ManualStart':
    case 'AutomaticStart':
    case 'ManualStart_with_PassiveTcpEstablishment':
    case 'AutomaticStart_with_PassiveTcpEstablishment':
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
      return { state: 'Established', actions: [] };
    case 'ManualStop':
    case 'AutomaticStop':
    case 'HoldTimer_Expires':
    case 'OpenCollisionDump':
      return toIdle([...closing(e)!, down(CLOSING_REASON[e.type]!)]);
    case 'KeepaliveTimer_Expires':
      return {
        state: 'Established',
        actions: [{ type: 'sendKeepalive' }, start('keepalive', ctx.keepaliveTime)],
      };
    case 'TcpConnectionFails':
      // The only way out of Established without a NOTIFICATION sent or received (RFC 4724 §4).
      return toIdle([...teardown('increment'), down('connection closed', true)]);
    case 'NotifMsgVerErr':
    case 'NotifMsg':
      return toIdle([...teardown('increment'), down('notification received')]);

    case 'KeepAliveMsg':
      return { state: 'Established', actions: ctx.holdTime === 0 ? [] : [start('hold', ctx.holdTime)] };
    case 'UpdateMsg':
      return {
        state: 'Established',
        actions: [...(ctx.holdTime === 0 ? [] : [start('hold', ctx.holdTime)]), { type: 'deliverUpdate' }],
      };
    case 'RouteRefreshMsg':
      return {
        state: 'Established',
        actions: [
          ...(ctx.holdTime === 0 ? [] : [start('hold', ctx.holdTime)]),
          { type: 'deliverRouteRefresh' },
        ],
      };
    case 'UpdateMsgErr':
      return toIdle([
        eventNotification(e, ErrorCode.UPDATE, 0),
        ...teardown('increment'),
        down('update error'),
      ]);
    case 'BGPHeaderErr':
      // §8.2.2 lists event 21 under "other events" (FSM error) here, but §6.1 dictates the
      // Message Header Error code for a bad header; like other implementations we follow §6.1.
      return toIdle([
        eventNotification(e, ErrorCode.HEADER, 0),
        ...teardown('increment'),
        down('header error'),
      ]);
    default:
      // ConnectRetryTimer_Expires, BGPOpen, BGPOpenMsgErr in Established: RFC 6608 5/3.
      return toIdle([
        notify(ErrorCode.FSM, FsmSubcode.Established!, fsmErrorData(e)),
        ...teardown('increment'),
        down('finite state machine error'),
      ]);
  }
}

/** RFC 4271 §8.2.2. Pure: same inputs, same output; no I/O, no clock. */
export function transition(state: State, event: FsmEvent, ctx: FsmContext): Transition {
  switch (state) {
    case 'Idle':
      return idle(event, ctx);
    case 'Connect':
    case 'Active':
      return connectOrActive(state, event, ctx);
    case 'OpenSent':
      return openSent(event, ctx);
    case 'OpenConfirm':
      return openConfirm(event, ctx);
    case 'Established':
      return established(event, ctx);
  }
}
