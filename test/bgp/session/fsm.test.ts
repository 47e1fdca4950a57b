/**
 * Table tests of the RFC 4271 §8.2.2 FSM (src/bgp/session/fsm.ts): one row per (state, event)
 * transition the section describes, with the exact actions expected.
 */
import t from 'tap';
import {
  type Action,
  type EventName,
  type FsmContext,
  type State,
  transition,
} from '../../../src/bgp/session/fsm.js';

const ctx: FsmContext = { passive: false, connectRetryTime: 30, holdTime: 90, keepaliveTime: 30 };
const passive: FsmContext = { ...ctx, passive: true };
const noHold: FsmContext = { ...ctx, holdTime: 0, keepaliveTime: 0 };

function fmt(a: Action): string {
  switch (a.type) {
    case 'sendNotification':
      return `notify ${a.code}/${a.subcode}${a.data.length ? ` [${a.data.join(',')}]` : ''}`;
    case 'startTimer':
      return `start ${a.timer} ${a.secs}`;
    case 'stopTimer':
      return `stop ${a.timer}`;
    case 'incrementRetryCounter':
      return 'retry++';
    case 'resetRetryCounter':
      return 'retry=0';
    case 'down':
      // Graceful: the session ended without a NOTIFICATION (RFC 4724 §4.2 may keep its routes).
      return a.graceful ? 'down graceful' : 'down';
    default:
      return a.type;
  }
}

const TEAR = ['stop connectRetry', 'stop hold', 'stop keepalive', 'close'];
const TEAR_INC = [...TEAR, 'retry++'];
const TEAR_RESET = [...TEAR, 'retry=0'];

interface R {
  from: State;
  ev: EventName;
  to: State;
  actions: string[];
  ctx?: FsmContext;
  code?: number;
  subcode?: number;
  data?: number[];
  messageType?: number;
}

const rows: R[] = [
  // --- Idle
  {
    from: 'Idle',
    ev: 'ManualStart',
    to: 'Connect',
    actions: ['retry=0', 'start connectRetry 30', 'connect'],
  },
  { from: 'Idle', ev: 'AutomaticStart', to: 'Connect', actions: ['start connectRetry 30', 'connect'] },
  {
    from: 'Idle',
    ev: 'ManualStart',
    to: 'Active',
    actions: ['retry=0', 'start connectRetry 30'],
    ctx: passive,
  },
  {
    from: 'Idle',
    ev: 'ManualStart_with_PassiveTcpEstablishment',
    to: 'Active',
    actions: ['retry=0', 'start connectRetry 30'],
  },
  {
    from: 'Idle',
    ev: 'AutomaticStart_with_PassiveTcpEstablishment',
    to: 'Active',
    actions: ['start connectRetry 30'],
  },
  { from: 'Idle', ev: 'ManualStop', to: 'Idle', actions: [] },
  { from: 'Idle', ev: 'AutomaticStop', to: 'Idle', actions: [] },
  { from: 'Idle', ev: 'ConnectRetryTimer_Expires', to: 'Idle', actions: [] },
  { from: 'Idle', ev: 'HoldTimer_Expires', to: 'Idle', actions: [] },
  { from: 'Idle', ev: 'TcpConnectionConfirmed', to: 'Idle', actions: [] },
  { from: 'Idle', ev: 'BGPOpen', to: 'Idle', actions: [] },
  { from: 'Idle', ev: 'UpdateMsg', to: 'Idle', actions: [] },
  { from: 'Idle', ev: 'NotifMsg', to: 'Idle', actions: [] },
];

// --- Connect and Active share most of §8.2.2's text.
for (const s of ['Connect', 'Active'] as const) {
  rows.push(
    { from: s, ev: 'ManualStart', to: s, actions: [] },
    { from: s, ev: 'AutomaticStart', to: s, actions: [] },
    { from: s, ev: 'ManualStop', to: 'Idle', actions: TEAR_RESET },
    {
      from: s,
      ev: 'ConnectRetryTimer_Expires',
      to: 'Connect',
      actions: [...(s === 'Connect' ? ['close'] : []), 'start connectRetry 30', 'connect'],
    },
    {
      from: s,
      ev: 'Tcp_CR_Acked',
      to: 'OpenSent',
      actions: ['stop connectRetry', 'sendOpen', 'start hold 240'],
    },
    {
      from: s,
      ev: 'TcpConnectionConfirmed',
      to: 'OpenSent',
      actions: ['stop connectRetry', 'sendOpen', 'start hold 240'],
    },
    { from: s, ev: 'TcpConnectionFails', to: 'Idle', actions: TEAR_INC },
    { from: s, ev: 'BGPHeaderErr', to: 'Idle', actions: TEAR_INC, code: 1, subcode: 1 },
    { from: s, ev: 'BGPOpenMsgErr', to: 'Idle', actions: TEAR_INC, code: 2, subcode: 2 },
    { from: s, ev: 'NotifMsgVerErr', to: 'Idle', actions: TEAR_INC },
    // "Any other event (8, 10-11, 13, 19, 23, 25-28)"
    { from: s, ev: 'AutomaticStop', to: 'Idle', actions: TEAR_INC },
    { from: s, ev: 'HoldTimer_Expires', to: 'Idle', actions: TEAR_INC },
    { from: s, ev: 'KeepaliveTimer_Expires', to: 'Idle', actions: TEAR_INC },
    { from: s, ev: 'BGPOpen', to: 'Idle', actions: TEAR_INC },
    { from: s, ev: 'OpenCollisionDump', to: 'Idle', actions: TEAR_INC },
    { from: s, ev: 'NotifMsg', to: 'Idle', actions: TEAR_INC },
    { from: s, ev: 'KeepAliveMsg', to: 'Idle', actions: TEAR_INC },
    { from: s, ev: 'UpdateMsg', to: 'Idle', actions: TEAR_INC },
    { from: s, ev: 'UpdateMsgErr', to: 'Idle', actions: TEAR_INC },
  );
}
rows.push({
  from: 'Active',
  ev: 'ConnectRetryTimer_Expires',
  to: 'Active',
  actions: ['start connectRetry 30'],
  ctx: passive,
});

// --- OpenSent
rows.push(
  { from: 'OpenSent', ev: 'ManualStart', to: 'OpenSent', actions: [] },
  { from: 'OpenSent', ev: 'TcpConnectionConfirmed', to: 'OpenSent', actions: [] },
  { from: 'OpenSent', ev: 'Tcp_CR_Acked', to: 'OpenSent', actions: [] },
  { from: 'OpenSent', ev: 'ManualStop', to: 'Idle', actions: ['notify 6/2', ...TEAR_RESET] },
  {
    from: 'OpenSent',
    ev: 'ManualStop',
    to: 'Idle',
    actions: ['notify 6/2 [3,98,121,101]', ...TEAR_RESET],
    code: 6,
    subcode: 2,
    data: [3, 98, 121, 101],
  },
  { from: 'OpenSent', ev: 'AutomaticStop', to: 'Idle', actions: ['notify 6/0', ...TEAR_INC] },
  { from: 'OpenSent', ev: 'HoldTimer_Expires', to: 'Idle', actions: ['notify 4/0', ...TEAR_INC] },
  {
    from: 'OpenSent',
    ev: 'TcpConnectionFails',
    to: 'Active',
    actions: ['stop hold', 'stop keepalive', 'close', 'start connectRetry 30'],
  },
  {
    from: 'OpenSent',
    ev: 'BGPOpen',
    to: 'OpenConfirm',
    actions: ['stop connectRetry', 'sendKeepalive', 'start hold 90', 'start keepalive 30'],
  },
  {
    from: 'OpenSent',
    ev: 'BGPOpen',
    to: 'OpenConfirm',
    actions: ['stop connectRetry', 'sendKeepalive', 'stop hold', 'stop keepalive'],
    ctx: noHold,
  },
  {
    from: 'OpenSent',
    ev: 'BGPHeaderErr',
    to: 'Idle',
    actions: ['notify 1/2 [0,5]', ...TEAR_INC],
    code: 1,
    subcode: 2,
    data: [0, 5],
  },
  {
    from: 'OpenSent',
    ev: 'BGPOpenMsgErr',
    to: 'Idle',
    actions: ['notify 2/6', ...TEAR_INC],
    code: 2,
    subcode: 6,
  },
  { from: 'OpenSent', ev: 'OpenCollisionDump', to: 'Idle', actions: ['notify 6/7', ...TEAR_INC] },
  { from: 'OpenSent', ev: 'NotifMsgVerErr', to: 'Idle', actions: TEAR },
  // other events (9, 11-13, 20, 25-28) → RFC 6608 5/1
  { from: 'OpenSent', ev: 'ConnectRetryTimer_Expires', to: 'Idle', actions: ['notify 5/1', ...TEAR_INC] },
  { from: 'OpenSent', ev: 'KeepaliveTimer_Expires', to: 'Idle', actions: ['notify 5/1', ...TEAR_INC] },
  { from: 'OpenSent', ev: 'NotifMsg', to: 'Idle', actions: ['notify 5/1', ...TEAR_INC] },
  { from: 'OpenSent', ev: 'KeepAliveMsg', to: 'Idle', actions: ['notify 5/1', ...TEAR_INC] },
  { from: 'OpenSent', ev: 'UpdateMsg', to: 'Idle', actions: ['notify 5/1', ...TEAR_INC] },
  { from: 'OpenSent', ev: 'UpdateMsg', to: 'Idle', actions: ['notify 5/1 [2]', ...TEAR_INC], messageType: 2 },
  {
    from: 'OpenConfirm',
    ev: 'RouteRefreshMsg',
    to: 'Idle',
    actions: ['notify 5/2 [5]', ...TEAR_INC],
    messageType: 5,
  },
  {
    from: 'Established',
    ev: 'BGPOpen',
    to: 'Idle',
    actions: ['notify 5/3 [1]', ...TEAR_INC, 'down'],
    messageType: 1,
  },
  { from: 'OpenSent', ev: 'UpdateMsgErr', to: 'Idle', actions: ['notify 5/1', ...TEAR_INC] },
  { from: 'OpenSent', ev: 'RouteRefreshMsg', to: 'Idle', actions: ['notify 5/1', ...TEAR_INC] },
);

// --- OpenConfirm
rows.push(
  { from: 'OpenConfirm', ev: 'ManualStart', to: 'OpenConfirm', actions: [] },
  { from: 'OpenConfirm', ev: 'TcpConnectionConfirmed', to: 'OpenConfirm', actions: [] },
  { from: 'OpenConfirm', ev: 'ManualStop', to: 'Idle', actions: ['notify 6/2', ...TEAR_RESET] },
  { from: 'OpenConfirm', ev: 'AutomaticStop', to: 'Idle', actions: ['notify 6/0', ...TEAR_INC] },
  { from: 'OpenConfirm', ev: 'HoldTimer_Expires', to: 'Idle', actions: ['notify 4/0', ...TEAR_INC] },
  {
    from: 'OpenConfirm',
    ev: 'KeepaliveTimer_Expires',
    to: 'OpenConfirm',
    actions: ['sendKeepalive', 'start keepalive 30'],
  },
  { from: 'OpenConfirm', ev: 'TcpConnectionFails', to: 'Idle', actions: TEAR_INC },
  { from: 'OpenConfirm', ev: 'NotifMsg', to: 'Idle', actions: TEAR_INC },
  { from: 'OpenConfirm', ev: 'NotifMsgVerErr', to: 'Idle', actions: TEAR },
  { from: 'OpenConfirm', ev: 'OpenCollisionDump', to: 'Idle', actions: ['notify 6/7', ...TEAR_INC] },
  {
    from: 'OpenConfirm',
    ev: 'BGPHeaderErr',
    to: 'Idle',
    actions: ['notify 1/1', ...TEAR_INC],
    code: 1,
    subcode: 1,
  },
  {
    from: 'OpenConfirm',
    ev: 'BGPOpenMsgErr',
    to: 'Idle',
    actions: ['notify 2/3', ...TEAR_INC],
    code: 2,
    subcode: 3,
  },
  { from: 'OpenConfirm', ev: 'KeepAliveMsg', to: 'Established', actions: ['start hold 90', 'established'] },
  { from: 'OpenConfirm', ev: 'KeepAliveMsg', to: 'Established', actions: ['established'], ctx: noHold },
  // other events (9, 12-13, 20, 27-28) → RFC 6608 5/2
  { from: 'OpenConfirm', ev: 'ConnectRetryTimer_Expires', to: 'Idle', actions: ['notify 5/2', ...TEAR_INC] },
  { from: 'OpenConfirm', ev: 'BGPOpen', to: 'Idle', actions: ['notify 5/2', ...TEAR_INC] },
  { from: 'OpenConfirm', ev: 'UpdateMsg', to: 'Idle', actions: ['notify 5/2', ...TEAR_INC] },
  { from: 'OpenConfirm', ev: 'UpdateMsgErr', to: 'Idle', actions: ['notify 5/2', ...TEAR_INC] },
  { from: 'OpenConfirm', ev: 'RouteRefreshMsg', to: 'Idle', actions: ['notify 5/2', ...TEAR_INC] },
);

// --- Established
rows.push(
  { from: 'Established', ev: 'ManualStart', to: 'Established', actions: [] },
  { from: 'Established', ev: 'TcpConnectionConfirmed', to: 'Established', actions: [] },
  { from: 'Established', ev: 'ManualStop', to: 'Idle', actions: ['notify 6/2', ...TEAR_RESET, 'down'] },
  { from: 'Established', ev: 'AutomaticStop', to: 'Idle', actions: ['notify 6/0', ...TEAR_INC, 'down'] },
  {
    from: 'Established',
    ev: 'AutomaticStop',
    to: 'Idle',
    actions: ['notify 6/1', ...TEAR_INC, 'down'],
    code: 6,
    subcode: 1,
  },
  { from: 'Established', ev: 'HoldTimer_Expires', to: 'Idle', actions: ['notify 4/0', ...TEAR_INC, 'down'] },
  {
    from: 'Established',
    ev: 'KeepaliveTimer_Expires',
    to: 'Established',
    actions: ['sendKeepalive', 'start keepalive 30'],
  },
  { from: 'Established', ev: 'TcpConnectionFails', to: 'Idle', actions: [...TEAR_INC, 'down graceful'] },
  { from: 'Established', ev: 'NotifMsg', to: 'Idle', actions: [...TEAR_INC, 'down'] },
  { from: 'Established', ev: 'NotifMsgVerErr', to: 'Idle', actions: [...TEAR_INC, 'down'] },
  { from: 'Established', ev: 'OpenCollisionDump', to: 'Idle', actions: ['notify 6/7', ...TEAR_INC, 'down'] },
  { from: 'Established', ev: 'KeepAliveMsg', to: 'Established', actions: ['start hold 90'] },
  { from: 'Established', ev: 'KeepAliveMsg', to: 'Established', actions: [], ctx: noHold },
  { from: 'Established', ev: 'UpdateMsg', to: 'Established', actions: ['start hold 90', 'deliverUpdate'] },
  { from: 'Established', ev: 'UpdateMsg', to: 'Established', actions: ['deliverUpdate'], ctx: noHold },
  {
    from: 'Established',
    ev: 'RouteRefreshMsg',
    to: 'Established',
    actions: ['start hold 90', 'deliverRouteRefresh'],
  },
  {
    from: 'Established',
    ev: 'UpdateMsgErr',
    to: 'Idle',
    actions: ['notify 3/1', ...TEAR_INC, 'down'],
    code: 3,
    subcode: 1,
  },
  {
    from: 'Established',
    ev: 'BGPHeaderErr',
    to: 'Idle',
    actions: ['notify 1/3 [9]', ...TEAR_INC, 'down'],
    code: 1,
    subcode: 3,
    data: [9],
  },
  // other events (9, 12-13, 20-22) → RFC 6608 5/3
  {
    from: 'Established',
    ev: 'ConnectRetryTimer_Expires',
    to: 'Idle',
    actions: ['notify 5/3', ...TEAR_INC, 'down'],
  },
  { from: 'Established', ev: 'BGPOpen', to: 'Idle', actions: ['notify 5/3', ...TEAR_INC, 'down'] },
  { from: 'Established', ev: 'BGPOpenMsgErr', to: 'Idle', actions: ['notify 5/3', ...TEAR_INC, 'down'] },
);

t.test('RFC 4271 §8.2.2 transitions', async (t) => {
  for (const r of rows) {
    const ev = {
      messageType: r.messageType,
      type: r.ev,
      code: r.code,
      subcode: r.subcode,
      data: r.data ? Uint8Array.from(r.data) : undefined,
    };
    const got = transition(r.from, ev, r.ctx ?? ctx);
    const label = `${r.from} × ${r.ev}${r.ctx === passive ? ' (passive)' : r.ctx === noHold ? ' (hold 0)' : ''}`;
    t.same({ state: got.state, actions: got.actions.map(fmt) }, { state: r.to, actions: r.actions }, label);
  }
});

t.test('every state × event pair yields a defined state and never throws', async (t) => {
  const states: State[] = ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'];
  const events = [...new Set(rows.map((r) => r.ev))];
  for (const s of states) {
    for (const e of events) {
      const r = transition(s, { type: e }, ctx);
      t.ok(states.includes(r.state), `${s} × ${e}`);
    }
  }
  // Only Established emits `down`, and it always does when it leaves.
  for (const e of events) {
    const r = transition('Established', { type: e }, ctx);
    t.equal(
      r.actions.some((a) => a.type === 'down'),
      r.state !== 'Established',
      `Established × ${e}`,
    );
  }
});
