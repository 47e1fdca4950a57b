/**
 * The control protocol, version 1: the one place that says what a request may contain.
 *
 * One JSON object per line (UTF-8, `\n`-terminated, at most MAX_LINE bytes) each way:
 *   → { "v": 1, "id": 7, "cmd": "show routes", "args": { "prefix": "192.0.2.0/24" } }
 *   ← { "v": 1, "id": 7, "ok": true, "result": { ... } }
 *   ← { "v": 1, "id": 7, "ok": false, "error": { "code": "not-found", "message": "..." } }
 * `id` (a string or an integer, chosen by the client) comes back unchanged so that a client may
 * send several requests on one connection before the answers arrive; answers may come back in
 * any order. `args` may be left out when a command takes none. Every request is validated here
 * before any module sees it: a command not in COMMANDS, an argument it does not declare, or a
 * value of the wrong type or range is refused with a clear error and touches nothing.
 *
 * Adding a command: a line in COMMANDS (its name, its arguments' validators, a summary), a case
 * in the server's dispatch (server.ts), and a line in gredgectl's command table.
 */
import { parsePrefix4, parsePrefix6 } from '../bgp/wire/index.js';
import { parseIp } from '../net/ip.js';
import { parsePrefixRule } from '../policy/prefix-set.js';
import type { CustomerAddArgs } from '../provision/types.js';
import type { Family } from '../bgp/wire/types.js';

export const PROTOCOL_VERSION = 1;
/** The longest request line the server reads (bytes); a longer one ends the connection. */
export const MAX_LINE = 64 * 1024;
export const DEFAULT_SOCKET = '/run/gredge/gredge.sock';
export const DEFAULT_ROUTE_LIMIT = 1000;
export const MAX_ROUTE_LIMIT = 100_000;
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type ErrorCode =
  /** The line is not JSON, or not a JSON object. */
  | 'bad-json'
  /** The line is longer than MAX_LINE: the connection is closed after this answer. */
  | 'too-long'
  /** A request without a valid v, id or cmd. */
  | 'bad-request'
  | 'unsupported-version'
  | 'unknown-command'
  /** An argument the command does not take, or a value it cannot take. */
  | 'bad-args'
  /** No such neighbor, tunnel or route. */
  | 'not-found'
  /** The request is valid but this neighbor or box cannot do it (e.g. no route refresh). */
  | 'unsupported'
  /** The command exists in the protocol but not in this build (reload). */
  | 'not-available'
  /** The daemon is stopping, or too much is queued, or (reload) a rollback is pending. */
  | 'busy'
  /** reload: the config file has errors (each with file:line:column); nothing was applied. */
  | 'invalid-config'
  /** reload: the config changes something only a restart of gredged applies; nothing was applied. */
  | 'needs-restart'
  /** customer add: a customer, neighbor, tunnel or file of that name exists already. */
  | 'exists'
  /** customer add: no GRE key of the key range, or no subnet of a pool, is free. */
  | 'exhausted'
  | 'internal';

export type RequestId = string | number;

export interface ErrorBody {
  code: ErrorCode;
  message: string;
}

export type Response =
  | { v: 1; id: RequestId | null; ok: true; result: unknown }
  | { v: 1; id: RequestId | null; ok: false; error: ErrorBody };

/** What a route query may ask (`show routes`). */
export interface RoutesArgs {
  /** An exact prefix, or an address (its longest match). */
  prefix?: string;
  table: 'full' | 'resale';
  neighbor?: string;
  refused: boolean;
  limit: number;
}

export interface ReloadArgs {
  check: boolean;
  confirm: boolean;
  confirmWithin?: number;
}

/** Each command's validated arguments. */
export interface CommandArgs {
  status: Record<string, never>;
  'show neighbors': Record<string, never>;
  'show neighbor': { neighbor: string };
  'show routes': RoutesArgs;
  'show tunnels': Record<string, never>;
  'show tunnel': { tunnel: string };
  'neighbor enable': { neighbor: string };
  'neighbor disable': { neighbor: string; message?: string };
  'neighbor reset': { neighbor: string; soft: boolean; message?: string };
  'log level': { level: LogLevel };
  reload: ReloadArgs;
  'customer add': CustomerAddArgs;
  'customer remove': { name: string };
  'customer list': Record<string, never>;
  'graceful-restart': Record<string, never>;
}

export type CommandName = keyof CommandArgs;

export type Request = {
  [C in CommandName]: { v: 1; id: RequestId; cmd: C; args: CommandArgs[C] };
}[CommandName];

/** A validator: the value, or a message saying what is wrong with it. */
type Check<T> = (v: unknown, name: string) => T | { invalid: string };
type ArgSpec = Record<string, { check: Check<unknown>; required?: boolean; default?: unknown }>;

const isInvalid = (x: unknown): x is { invalid: string } =>
  typeof x === 'object' && x !== null && 'invalid' in x && Object.keys(x).length === 1;

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

const str =
  (max: number): Check<string> =>
  (v, name) =>
    typeof v === 'string' && v.length > 0 && v.length <= max
      ? v
      : { invalid: `${name} must be a non-empty string of at most ${max} characters` };

const bool: Check<boolean> = (v, name) =>
  typeof v === 'boolean' ? v : { invalid: `${name} must be true or false` };

const int =
  (min: number, max: number): Check<number> =>
  (v, name) =>
    typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max
      ? v
      : { invalid: `${name} must be an integer from ${min} to ${max}` };

const oneOf =
  <T extends string>(values: readonly T[]): Check<T> =>
  (v, name) =>
    typeof v === 'string' && (values as readonly string[]).includes(v)
      ? (v as T)
      : { invalid: `${name} must be one of ${values.join(', ')}` };

/** A neighbor by name or by address (IPv4 or IPv6). */
const neighborRef: Check<string> = (v, name) => {
  if (typeof v === 'string' && (NAME_RE.test(v) || parseAddress(v) !== undefined)) return v;
  return { invalid: `${name} must be a neighbor name or address` };
};

const tunnelName: Check<string> = (v, name) =>
  typeof v === 'string' && NAME_RE.test(v) ? v : { invalid: `${name} must be a tunnel name` };

/** A prefix with its host bits zero, or a bare address. */
const prefixOrAddress: Check<string> = (v, name) => {
  if (typeof v !== 'string' || v.length > 64) return { invalid: `${name} must be a prefix or an address` };
  if (v.includes('/')) {
    if (parsePrefix4(v) !== undefined || parsePrefix6(v) !== undefined) return v;
    const [addr] = v.split('/');
    if (parseAddress(addr!) !== undefined)
      return { invalid: `${name} '${v}' has host bits set or a bad length (e.g. 192.0.2.0/24)` };
    return { invalid: `${name} '${v}' is not a prefix` };
  }
  return parseAddress(v) !== undefined ? v : { invalid: `${name} '${v}' is not a prefix or an address` };
};

const message = str(255);

/** A customer's name: a neighbor and tunnel name, and the file DIRECTORY/NAME.yaml. */
const customerName: Check<string> = (v, name) =>
  typeof v === 'string' && NAME_RE.test(v)
    ? v
    : { invalid: `${name} must be a name of letters, digits, _ . - (a letter or digit first, at most 63)` };

const address: Check<string> = (v, name) =>
  typeof v === 'string' && v.length <= 64 && parseAddress(v) !== undefined
    ? v
    : { invalid: `${name} must be an IPv4 or IPv6 address` };

/** 1-64 prefix rules (`P`, `P le N`, `P ge N [le M]`), host bits zero. */
const prefixRules: Check<string[]> = (v, name) => {
  if (!Array.isArray(v) || v.length === 0 || v.length > 64)
    return { invalid: `${name} must be a list of 1 to 64 prefixes` };
  for (const p of v) {
    if (typeof p !== 'string' || p.length > 80) return { invalid: `${name}: each must be a prefix` };
    const r = parsePrefixRule(p);
    if (typeof r === 'string') return { invalid: `${name}: ${r}` };
  }
  return v as string[];
};

export const COMMANDS: { readonly [C in CommandName]: { args: ArgSpec; summary: string } } = {
  status: { args: {}, summary: 'the daemon: version, uptime, sessions, routes, tunnels' },
  'show neighbors': { args: {}, summary: 'every neighbor: state, uptime, prefixes' },
  'show neighbor': {
    args: { neighbor: { check: neighborRef, required: true } },
    summary: 'one neighbor in detail',
  },
  'show routes': {
    args: {
      prefix: { check: prefixOrAddress },
      table: { check: oneOf(['full', 'resale'] as const), default: 'full' },
      neighbor: { check: neighborRef },
      refused: { check: bool, default: false },
      limit: { check: int(1, MAX_ROUTE_LIMIT), default: DEFAULT_ROUTE_LIMIT },
    },
    summary: 'best paths, a neighbor’s Adj-RIB-In, or refused routes',
  },
  'show tunnels': { args: {}, summary: 'every tunnel: state and traffic' },
  'show tunnel': { args: { tunnel: { check: tunnelName, required: true } }, summary: 'one tunnel in detail' },
  'neighbor enable': {
    args: { neighbor: { check: neighborRef, required: true } },
    summary: 'start a session',
  },
  'neighbor disable': {
    args: { neighbor: { check: neighborRef, required: true }, message: { check: message } },
    summary: 'Cease 6/2 and keep the session down',
  },
  'neighbor reset': {
    args: {
      neighbor: { check: neighborRef, required: true },
      soft: { check: bool, default: false },
      message: { check: message },
    },
    summary: 'Cease 6/4 and reconnect, or (soft) route refresh both ways',
  },
  'log level': {
    args: { level: { check: oneOf(LOG_LEVELS), required: true } },
    summary: 'change the log level',
  },
  reload: {
    args: {
      check: { check: bool, default: false },
      confirm: { check: bool, default: false },
      confirmWithin: { check: int(1, 3600) },
    },
    summary: 're-read the config',
  },
  'customer add': {
    args: {
      name: { check: customerName, required: true },
      asn: { check: int(1, 4294967295), required: true },
      remote: { check: address, required: true },
      prefixes: { check: prefixRules, required: true },
      resale: { check: bool, default: true },
    },
    summary: 'provision a customer: GRE key and inner addresses from the pools, file, reload',
  },
  'customer remove': {
    args: { name: { check: customerName, required: true } },
    summary: 'remove a provisioned customer: session, tunnel, routes and file',
  },
  'customer list': { args: {}, summary: 'the provisioned customers and what is left in the pools' },
  'graceful-restart': {
    args: {},
    summary:
      'planned restart: kernel routes, rules and the TUN stay, sessions close without a NOTIFICATION, exit 75',
  },
};

export type Parsed = { ok: true; request: Request } | { ok: false; id: RequestId | null; error: ErrorBody };

const fail = (id: RequestId | null, code: ErrorCode, msg: string): Parsed => ({
  ok: false,
  id,
  error: { code, message: msg },
});

/** One request line (without its newline) → a validated request, or the error to answer. */
export function parseRequest(line: string): Parsed {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch (err) {
    return fail(null, 'bad-json', `not JSON: ${(err as Error).message}`);
  }
  return validateRequest(raw);
}

export function validateRequest(raw: unknown): Parsed {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return fail(null, 'bad-json', 'a request is a JSON object: {"v":1,"id":...,"cmd":"...","args":{...}}');
  const o = raw as Record<string, unknown>;
  const id = o.id;
  const validId =
    (typeof id === 'string' && id.length > 0 && id.length <= 128) ||
    (typeof id === 'number' && Number.isSafeInteger(id));
  const rid = validId ? (id as RequestId) : null;
  for (const k of Object.keys(o)) {
    if (k !== 'v' && k !== 'id' && k !== 'cmd' && k !== 'args')
      return fail(rid, 'bad-request', `unknown field '${k}' (a request has v, id, cmd, args)`);
  }
  if (o.v !== PROTOCOL_VERSION) {
    if (typeof o.v === 'number' && Number.isInteger(o.v))
      return fail(
        rid,
        'unsupported-version',
        `protocol version ${o.v} is not supported (this daemon speaks 1)`,
      );
    return fail(rid, 'bad-request', 'v must be the protocol version, 1');
  }
  if (!validId) return fail(null, 'bad-request', 'id must be a string of 1-128 characters or an integer');
  if (typeof o.cmd !== 'string') return fail(rid, 'bad-request', 'cmd must be a string');
  if (!Object.hasOwn(COMMANDS, o.cmd))
    return fail(rid, 'unknown-command', `unknown command '${o.cmd.slice(0, 64)}'`);
  const cmd = o.cmd as CommandName;
  const args = validateArgs(cmd, o.args);
  if (typeof args === 'string') return fail(rid, 'bad-args', `${cmd}: ${args}`);
  return { ok: true, request: { v: 1, id: rid!, cmd, args } as Request };
}

/** The command's arguments with defaults filled in, or what is wrong with them. */
function validateArgs(cmd: CommandName, raw: unknown): Record<string, unknown> | string {
  const spec = COMMANDS[cmd].args;
  if (raw === undefined) raw = {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'args must be an object';
  const given = raw as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(given)) {
    if (!Object.hasOwn(spec, k)) {
      const known = Object.keys(spec);
      return `unknown argument '${k.slice(0, 64)}'${known.length ? ` (takes ${known.join(', ')})` : ' (takes none)'}`;
    }
  }
  for (const [k, a] of Object.entries(spec)) {
    const v = given[k];
    if (v === undefined) {
      if (a.required) return `${k} is required`;
      if (a.default !== undefined) out[k] = a.default;
      continue;
    }
    const r = a.check(v, k);
    if (isInvalid(r)) return r.invalid;
    out[k] = r;
  }
  if (cmd === 'reload') {
    const n = [out.check === true, out.confirm === true, out.confirmWithin !== undefined].filter(
      Boolean,
    ).length;
    if (n > 1) return 'check, confirm and confirmWithin exclude each other';
  }
  return out;
}

/** An IPv4 address as a uint32 or an IPv6 one as 16 bytes, with its family; undefined if neither. */
export function parseAddress(s: string): { family: Family; addr: number | Uint8Array } | undefined {
  // Request text is an edge: parsed by the one address module (src/net/ip.ts).
  const ip = parseIp(s);
  if (ip === undefined) return undefined;
  if (ip.family === 6) return { family: 'ipv6-unicast', addr: ip.bytes };
  const b = ip.bytes;
  return { family: 'ipv4-unicast', addr: ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0 };
}

export function okResponse(id: RequestId | null, result: unknown): Response {
  return { v: 1, id, ok: true, result };
}

export function errorResponse(id: RequestId | null, code: ErrorCode, msg: string): Response {
  return { v: 1, id, ok: false, error: { code, message: msg } };
}

/** An error a ControlTarget throws to answer with a given code (not-found, unsupported, ...). */
export class ControlError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, msg: string) {
    super(msg);
    this.code = code;
  }
}
