/**
 * BGP message errors: the NOTIFICATION code/subcode/data a decoder wants sent, plus the RFC 7606
 * action. Constructors exist for every code/subcode of RFC 4271 §4.5 and §6, RFC 6608 (FSM),
 * RFC 4486 + RFC 8538 + RFC 9384 (Cease), RFC 7313 (ROUTE-REFRESH), RFC 9234 (role mismatch).
 * Decoders return `Result`; they never throw.
 */
import type { ErrorAction } from './types.js';

export const EMPTY = new Uint8Array(0);

export const ErrorCode = {
  MESSAGE_HEADER: 1,
  OPEN: 2,
  UPDATE: 3,
  HOLD_TIMER_EXPIRED: 4,
  FSM: 5,
  CEASE: 6,
  ROUTE_REFRESH: 7,
} as const;

export const HeaderSubcode = {
  CONNECTION_NOT_SYNCHRONIZED: 1,
  BAD_MESSAGE_LENGTH: 2,
  BAD_MESSAGE_TYPE: 3,
} as const;

export const OpenSubcode = {
  UNSPECIFIC: 0,
  UNSUPPORTED_VERSION: 1,
  BAD_PEER_AS: 2,
  BAD_BGP_IDENTIFIER: 3,
  UNSUPPORTED_OPTIONAL_PARAMETER: 4,
  UNACCEPTABLE_HOLD_TIME: 6,
  UNSUPPORTED_CAPABILITY: 7,
  ROLE_MISMATCH: 11,
} as const;

export const UpdateSubcode = {
  MALFORMED_ATTRIBUTE_LIST: 1,
  UNRECOGNIZED_WELL_KNOWN: 2,
  MISSING_WELL_KNOWN: 3,
  ATTRIBUTE_FLAGS: 4,
  ATTRIBUTE_LENGTH: 5,
  INVALID_ORIGIN: 6,
  INVALID_NEXT_HOP: 8,
  OPTIONAL_ATTRIBUTE: 9,
  INVALID_NETWORK_FIELD: 10,
  MALFORMED_AS_PATH: 11,
} as const;

/** RFC 6608. */
export const FsmSubcode = { UNSPECIFIED: 0, OPEN_SENT: 1, OPEN_CONFIRM: 2, ESTABLISHED: 3 } as const;

/** RFC 4486, RFC 8538 (hard reset), RFC 9384 (BFD down). */
export const CeaseSubcode = {
  MAX_PREFIXES: 1,
  ADMINISTRATIVE_SHUTDOWN: 2,
  PEER_DECONFIGURED: 3,
  ADMINISTRATIVE_RESET: 4,
  CONNECTION_REJECTED: 5,
  OTHER_CONFIGURATION_CHANGE: 6,
  CONNECTION_COLLISION: 7,
  OUT_OF_RESOURCES: 8,
  HARD_RESET: 9,
  BFD_DOWN: 10,
} as const;

const CODE_NAMES: Record<number, string> = {
  1: 'message header error',
  2: 'open message error',
  3: 'update message error',
  4: 'hold timer expired',
  5: 'finite state machine error',
  6: 'cease',
  7: 'route-refresh message error',
};

const SUBCODE_NAMES: Record<number, Record<number, string>> = {
  1: { 1: 'connection not synchronized', 2: 'bad message length', 3: 'bad message type' },
  2: {
    1: 'unsupported version number',
    2: 'bad peer AS',
    3: 'bad BGP identifier',
    4: 'unsupported optional parameter',
    5: 'authentication failure',
    6: 'unacceptable hold time',
    7: 'unsupported capability',
    11: 'role mismatch',
  },
  3: {
    1: 'malformed attribute list',
    2: 'unrecognized well-known attribute',
    3: 'missing well-known attribute',
    4: 'attribute flags error',
    5: 'attribute length error',
    6: 'invalid ORIGIN attribute',
    7: 'AS routing loop',
    8: 'invalid NEXT_HOP attribute',
    9: 'optional attribute error',
    10: 'invalid network field',
    11: 'malformed AS_PATH',
  },
  5: {
    1: 'unexpected message in OpenSent state',
    2: 'unexpected message in OpenConfirm state',
    3: 'unexpected message in Established state',
  },
  6: {
    1: 'maximum number of prefixes reached',
    2: 'administrative shutdown',
    3: 'peer de-configured',
    4: 'administrative reset',
    5: 'connection rejected',
    6: 'other configuration change',
    7: 'connection collision resolution',
    8: 'out of resources',
    9: 'hard reset',
    10: 'BFD down',
  },
  7: { 1: 'invalid message length' },
};

/** "hold timer expired", "open message error: bad peer AS", "notification 9/9". */
export function notificationName(code: number, subcode: number): string {
  const c = CODE_NAMES[code];
  if (c === undefined) return `notification ${code}/${subcode}`;
  if (subcode === 0) return c;
  const s = SUBCODE_NAMES[code]?.[subcode];
  return `${c}: ${s ?? `subcode ${subcode}`}`;
}

export class BgpMessageError extends Error {
  code: number;
  subcode: number;
  data: Uint8Array;
  action: ErrorAction;
  constructor(
    code: number,
    subcode: number,
    data: Uint8Array = EMPTY,
    action: ErrorAction = 'session-reset',
    detail?: string,
  ) {
    const name = notificationName(code, subcode);
    super(detail === undefined ? name : `${name}: ${detail}`);
    this.name = 'BgpMessageError';
    this.code = code;
    this.subcode = subcode;
    this.data = data;
    this.action = action;
  }
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: BgpMessageError };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail<T>(error: BgpMessageError): Result<T> {
  return { ok: false, error };
}

function u16(n: number): Uint8Array {
  return Uint8Array.of((n >>> 8) & 0xff, n & 0xff);
}

// --- RFC 4271 §6.1: message header errors
export const connectionNotSynchronized = (): BgpMessageError =>
  new BgpMessageError(1, 1, EMPTY, 'session-reset', 'marker is not all ones');
/** Data: the erroneous Length field. */
export const badMessageLength = (length: number): BgpMessageError =>
  new BgpMessageError(1, 2, u16(length), 'session-reset', `length ${length}`);
/** Data: the erroneous Type field. */
export const badMessageType = (type: number): BgpMessageError =>
  new BgpMessageError(1, 3, Uint8Array.of(type & 0xff), 'session-reset', `type ${type}`);

// --- RFC 4271 §6.2: OPEN message errors
export const openUnspecific = (detail: string): BgpMessageError =>
  new BgpMessageError(2, 0, EMPTY, 'session-reset', detail);
/** Data: the largest locally supported version number (4), 2 octets. */
export const unsupportedVersion = (version: number): BgpMessageError =>
  new BgpMessageError(2, 1, u16(4), 'session-reset', `version ${version}`);
export const badPeerAs = (asn: number): BgpMessageError =>
  new BgpMessageError(2, 2, EMPTY, 'session-reset', `AS ${asn}`);
export const badBgpIdentifier = (id: number): BgpMessageError =>
  new BgpMessageError(2, 3, EMPTY, 'session-reset', `identifier ${id >>> 0}`);
export const unsupportedOptionalParameter = (type: number): BgpMessageError =>
  new BgpMessageError(2, 4, EMPTY, 'session-reset', `parameter type ${type}`);
export const unacceptableHoldTime = (holdTime: number): BgpMessageError =>
  new BgpMessageError(2, 6, EMPTY, 'session-reset', `hold time ${holdTime}`);
/** RFC 5492 §5. Data: the capabilities (code, length, value) we require and the peer lacks. */
export const unsupportedCapability = (capabilities: Uint8Array): BgpMessageError =>
  new BgpMessageError(2, 7, capabilities, 'session-reset');
/** RFC 9234 §4.2. */
export const roleMismatch = (detail: string): BgpMessageError =>
  new BgpMessageError(2, 11, EMPTY, 'session-reset', detail);

// --- RFC 4271 §6.3: UPDATE message errors (session-reset unless RFC 7606 says otherwise)
export const updateError = (subcode: number, data: Uint8Array, detail: string): BgpMessageError =>
  new BgpMessageError(3, subcode, data, 'session-reset', detail);

// --- RFC 4271 §6.5, §6.6, RFC 6608; §6.7 + RFC 4486
export const holdTimerExpired = (): BgpMessageError => new BgpMessageError(4, 0);
/** RFC 6608 §4: data is the type of the unexpected message, 1 octet. */
export const fsmError = (subcode: number, messageType?: number): BgpMessageError =>
  new BgpMessageError(5, subcode, messageType === undefined ? EMPTY : Uint8Array.of(messageType & 0xff));
export const ceaseError = (subcode: number, data: Uint8Array = EMPTY): BgpMessageError =>
  new BgpMessageError(6, subcode, data);

// --- RFC 7313 §5: data is the complete ROUTE-REFRESH message
export const routeRefreshInvalidLength = (message: Uint8Array): BgpMessageError =>
  new BgpMessageError(7, 1, message, 'session-reset', `length ${message.length}`);
