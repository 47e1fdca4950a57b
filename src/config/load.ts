/**
 * YAML → validated `Config`. Every problem is reported as `file:line:column: field: message`,
 * all of them at once; the loader applies nothing (the daemon does).
 */
import { readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { LineCounter, type Node, type Pair, parseDocument } from 'yaml';
import type { Family } from '../bgp/wire/types.js';
import { GredgeError } from '../errors.js';
import { parsePrefixRule } from '../policy/prefix-set.js';
import { checkInterfaceAddress, checkIp, checkIpv4, checkIpv6, checkPrefix } from './addr.js';
import { type ConfigIssue, describe, Reader } from './reader.js';
import type {
  Config,
  ControlConfig,
  DataplaneConfig,
  FibConfig,
  NeighborConfig,
  Role,
  TunnelConfig,
} from './types.js';

const TOP_KEYS = [
  'router-id',
  'local-as',
  'listen',
  'neighbors',
  'dataplane',
  'underlay',
  'tunnels',
  'log',
  'own-prefixes',
  'bogons',
  'fib',
  'control',
] as const;
const NEIGHBOR_KEYS = [
  'name',
  'address',
  'remote-as',
  'role',
  'passive',
  'port',
  'local-address',
  'next-hop6',
  'hold-time',
  'connect-retry',
  'families',
  'next-hop-self',
  'graceful-restart',
  'description',
  'resale',
  'no-resale',
  'tunnel',
  'prefixes',
  'max-prefix',
  'role-strict',
] as const;
const TUNNEL_KEYS = [
  'name',
  'remote',
  'local',
  'key',
  'mtu',
  'inner',
  'allowed-sources',
  'routes',
  'mss-clamp',
  'sequence',
  'checksum',
  'keepalive',
] as const;
const ROLES: readonly Role[] = ['customer', 'peer', 'transit', 'internal'];
const FAMILIES: readonly Family[] = ['ipv4-unicast', 'ipv6-unicast'];
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const IFNAME_RE = /^[A-Za-z0-9_.-]{1,15}$/;

type Pairs = Map<string, Pair<Node, Node>>;
const val = (m: Pairs | undefined, key: string): Node | undefined => m?.get(key)?.value ?? undefined;

export class ConfigError extends GredgeError {
  readonly issues: ConfigIssue[];
  constructor(source: string, issues: ConfigIssue[]) {
    issues.sort((a, b) => a.line - b.line || a.column - b.column);
    const lines = issues.map(
      (i) => `${source}:${i.line}:${i.column}: ${i.path ? `${i.path}: ` : ''}${i.message}`,
    );
    super('ERR_CONFIG_INVALID', lines.join('\n'));
    this.issues = issues;
  }
}

export function loadConfig(path: string): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new GredgeError('ERR_CONFIG_READ', `${path}: cannot read config: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return parseConfig(text, path);
}

export function parseConfig(text: string, source: string): Config {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  const r = new Reader(lines);
  if (doc.errors.length > 0) {
    for (const e of doc.errors) {
      // prettyErrors: false leaves linePos unset: place the error with our own line counter.
      const pos = e.linePos?.[0] ?? lines.linePos(e.pos[0]);
      r.issues.push({
        line: pos.line,
        column: pos.col,
        path: '',
        message: `YAML syntax: ${e.message.split('\n')[0]}`,
      });
    }
    throw new ConfigError(source, r.issues);
  }
  const top = r.map(doc.contents as Node, '', TOP_KEYS);
  const cfg = readTop(r, top, source);
  if (r.issues.length > 0 || !cfg) throw new ConfigError(source, r.issues);
  return cfg;
}

function readTop(r: Reader, top: Pairs | undefined, source: string): Config | undefined {
  if (!top) return undefined;
  const need = (key: string) => {
    if (!top.has(key)) r.error(undefined, key, 'is required');
  };
  need('router-id');
  need('local-as');
  const routerId = top.has('router-id')
    ? r.checked(val(top, 'router-id'), 'router-id', checkIpv4)
    : undefined;
  const localAs = top.has('local-as') ? r.int(val(top, 'local-as'), 'local-as', 1, 4294967295) : undefined;

  const underlay = top.has('underlay') ? readUnderlay(r, val(top, 'underlay')) : undefined;
  const tunnels: TunnelConfig[] = [];
  if (top.has('tunnels')) {
    const read = readList(r, val(top, 'tunnels'), 'tunnels', (node, path) =>
      readTunnel(r, node, path, underlay),
    );
    checkUnique(r, read, 'tunnels', (t) => t.name, 'name');
    checkUnique(r, read, 'tunnels', (t) => `${t.remote} key ${t.key}`, 'key');
    tunnels.push(...read.map((x) => x.item));
  }

  const neighbors: NeighborConfig[] = [];
  if (top.has('neighbors')) {
    const read = readList(r, val(top, 'neighbors'), 'neighbors', (node, path) =>
      readNeighbor(r, node, path, localAs, tunnels),
    );
    checkUnique(r, read, 'neighbors', (n) => n.name, 'name');
    checkUnique(r, read, 'neighbors', (n) => n.address, 'address');
    neighbors.push(...read.map((x) => x.item));
  }

  let listen: Config['listen'] = neighbors.length > 0 ? { address: '0.0.0.0', port: 179 } : null;
  if (top.has('listen')) listen = readListen(r, val(top, 'listen'));

  let dataplane: DataplaneConfig | undefined;
  if (top.has('dataplane')) dataplane = readDataplane(r, val(top, 'dataplane'));
  else if (tunnels.length > 0)
    dataplane = { tun: 'gredge0', workers: 2, persistent: false, offload: true, directTx: true };
  if (tunnels.length > 0 && !underlay)
    r.error(undefined, 'underlay', 'is required when tunnels are configured');

  let log: Config['log'] = { level: 'info' };
  if (top.has('log')) {
    const m = r.map(val(top, 'log'), 'log', ['level']);
    const level = m?.has('level') ? r.oneOf(val(m, 'level'), 'log.level', LOG_LEVELS) : 'info';
    if (level) log = { level };
  }
  const ownPrefixes = top.has('own-prefixes')
    ? readStrings(r, val(top, 'own-prefixes'), 'own-prefixes', (x) => checkPrefix(x))
    : [];
  const bogons = top.has('bogons') ? readStrings(r, val(top, 'bogons'), 'bogons', checkRule) : undefined;
  const fib = top.has('fib') ? readFib(r, val(top, 'fib')) : { ...FIB_DEFAULTS };
  const control = top.has('control') ? readControl(r, val(top, 'control')) : { ...CONTROL_DEFAULTS };
  if (routerId === undefined || localAs === undefined) return undefined;
  const cfg: Config = {
    source,
    routerId,
    localAs,
    listen,
    neighbors,
    tunnels,
    log,
    ownPrefixes,
    fib,
    control,
  };
  if (bogons !== undefined) cfg.bogons = bogons;
  if (dataplane) cfg.dataplane = dataplane;
  if (underlay) cfg.underlay = underlay;
  return cfg;
}

function readListen(r: Reader, node: Node | undefined): Config['listen'] {
  if (node && 'value' in node && (node.value === false || node.value === null)) return null;
  const m = r.map(node, 'listen', ['address', 'port']);
  const address = m?.has('address') ? r.checked(val(m, 'address'), 'listen.address', checkIp) : '0.0.0.0';
  const port = m?.has('port') ? r.int(val(m, 'port'), 'listen.port', 1, 65535) : 179;
  return { address: address ?? '0.0.0.0', port: port ?? 179 };
}

function readDataplane(r: Reader, node: Node | undefined): DataplaneConfig {
  const m = r.map(node, 'dataplane', ['tun', 'workers', 'persistent', 'offload', 'direct-tx']);
  const tun = m?.has('tun')
    ? r.checked(val(m, 'tun'), 'dataplane.tun', (s) =>
        IFNAME_RE.test(s) ? undefined : `'${s}' is not a valid interface name (1-15 of A-Z a-z 0-9 _ . -)`,
      )
    : 'gredge0';
  const workers = m?.has('workers') ? r.int(val(m, 'workers'), 'dataplane.workers', 1, 64) : 2;
  const persistent = m?.has('persistent') ? r.bool(val(m, 'persistent'), 'dataplane.persistent') : false;
  const offload = m?.has('offload') ? r.bool(val(m, 'offload'), 'dataplane.offload') : true;
  const directTx = m?.has('direct-tx') ? r.bool(val(m, 'direct-tx'), 'dataplane.direct-tx') : true;
  return {
    tun: tun ?? 'gredge0',
    workers: workers ?? 2,
    persistent: persistent ?? false,
    offload: offload ?? true,
    directTx: directTx ?? true,
  };
}

export const FIB_DEFAULTS: Readonly<FibConfig> = {
  fullTable: 201,
  resaleTable: 202,
  protocol: 250,
  rulePriority: 1000,
  kernel: true,
};

/** The kernel's own tables: default (253), main (254), local (255); 0 is "unspecified". */
function checkTable(n: number): string | undefined {
  if (n === 253 || n === 254 || n === 255)
    return `${n} is one of the kernel's own tables (253 default, 254 main, 255 local)`;
  return undefined;
}

function readFib(r: Reader, node: Node | undefined): FibConfig | null {
  if (node && 'value' in node && node.value === false) return null;
  const m = r.map(node, 'fib', ['full-table', 'resale-table', 'protocol', 'rule-priority', 'kernel']);
  const table = (key: string, dflt: number) => {
    if (!m?.has(key)) return dflt;
    const n = r.int(val(m, key), `fib.${key}`, 1, 4294967295);
    if (n === undefined) return dflt;
    const why = checkTable(n);
    if (why) r.error(val(m, key), `fib.${key}`, why);
    return n;
  };
  const fullTable = table('full-table', FIB_DEFAULTS.fullTable);
  const resaleTable = table('resale-table', FIB_DEFAULTS.resaleTable);
  if (fullTable === resaleTable) {
    const key = m?.has('resale-table') ? 'resale-table' : 'full-table';
    const other = key === 'resale-table' ? 'full-table' : 'resale-table';
    r.error(m ? val(m, key) : node, `fib.${key}`, `must differ from fib.${other} (${fullTable})`);
  }
  // 0-4 are the kernel's own (unspec, redirect, kernel, boot, static): never ours to remove.
  const protocol = m?.has('protocol') ? r.int(val(m, 'protocol'), 'fib.protocol', 5, 255) : undefined;
  // The five rules sit at PRIORITY..PRIORITY+4, before the main table's rule (32766).
  const rulePriority = m?.has('rule-priority')
    ? r.int(val(m, 'rule-priority'), 'fib.rule-priority', 1, 32761)
    : undefined;
  const kernel = m?.has('kernel') ? r.bool(val(m, 'kernel'), 'fib.kernel') : undefined;
  return {
    fullTable,
    resaleTable,
    protocol: protocol ?? FIB_DEFAULTS.protocol,
    rulePriority: rulePriority ?? FIB_DEFAULTS.rulePriority,
    kernel: kernel ?? FIB_DEFAULTS.kernel,
  };
}

export const CONTROL_DEFAULTS: Readonly<ControlConfig> = {
  socket: '/run/gredge/gredge.sock',
  mode: 0o660,
};

/** sockaddr_un.sun_path holds 108 bytes with the terminating NUL. */
const MAX_SOCKET_PATH = 107;
const GROUP_RE = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$/;

function readControl(r: Reader, node: Node | undefined): ControlConfig | null {
  if (node && 'value' in node && node.value === false) return null;
  const m = r.map(node, 'control', ['socket', 'mode', 'group']);
  const socket = m?.has('socket')
    ? r.checked(val(m, 'socket'), 'control.socket', (s) => {
        if (!s.startsWith('/')) return `'${s}' must be an absolute path`;
        if (s.endsWith('/')) return `'${s}' names a directory, not a socket file`;
        if (Buffer.byteLength(s) > MAX_SOCKET_PATH)
          return `'${s}' is longer than ${MAX_SOCKET_PATH} bytes (the limit of a Unix socket path)`;
        return undefined;
      })
    : CONTROL_DEFAULTS.socket;
  const mode = m?.has('mode') ? readMode(r, val(m, 'mode'), 'control.mode') : CONTROL_DEFAULTS.mode;
  const group = m?.has('group')
    ? r.checked(val(m, 'group'), 'control.group', (s) =>
        GROUP_RE.test(s) ? undefined : `'${s}' is not a valid group name`,
      )
    : undefined;
  const out: ControlConfig = {
    socket: socket ?? CONTROL_DEFAULTS.socket,
    mode: mode ?? CONTROL_DEFAULTS.mode,
  };
  if (group !== undefined) out.group = group;
  return out;
}

/**
 * A file mode: YAML 1.2 reads `0660` as the decimal 660 and `0o660` as octal 432, so the
 * number's decimal digits are taken as octal (660 → 0o660) when they are all octal digits;
 * a string ('0660', '660', '0o660') is read as octal. Owner, group and other bits only.
 */
function readMode(r: Reader, node: Node | undefined, path: string): number | undefined {
  const scalar = node && 'value' in node ? (node as { value: unknown }).value : undefined;
  let mode: number | undefined;
  if (typeof scalar === 'number' && Number.isInteger(scalar) && scalar >= 0) {
    const digits = String(scalar);
    const text = (node as { source?: string }).source ?? digits;
    // 0o660 or 0x1b0 in the YAML: already the right number; 660 or 0660: octal digits.
    mode = /^0[ox]/i.test(text) ? scalar : /^[0-7]+$/.test(digits) ? Number.parseInt(digits, 8) : undefined;
  } else if (typeof scalar === 'string' && /^(0o?)?[0-7]{1,4}$/i.test(scalar)) {
    mode = Number.parseInt(scalar.replace(/^0o/i, ''), 8);
  }
  if (mode === undefined || mode > 0o777) {
    r.error(node, path, `must be a file mode in octal, 0 to 0777 (e.g. 0660), got ${describe(node)}`);
    return undefined;
  }
  if ((mode & 0o600) !== 0o600) {
    r.error(node, path, `${formatMode(mode)} would keep gredged's own user out: include 0600`);
    return undefined;
  }
  return mode;
}

export function formatMode(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}

function readUnderlay(r: Reader, node: Node | undefined): Config['underlay'] {
  const m = r.map(node, 'underlay', ['local', 'local6']);
  const out: NonNullable<Config['underlay']> = {};
  if (m?.has('local')) {
    const v = r.checked(val(m, 'local'), 'underlay.local', checkIpv4);
    if (v) out.local = v;
  }
  if (m?.has('local6')) {
    const v = r.checked(val(m, 'local6'), 'underlay.local6', checkIpv6);
    if (v) out.local6 = v;
  }
  if (m && !m.has('local') && !m.has('local6'))
    r.error(node, 'underlay', 'needs local (IPv4) and/or local6 (IPv6)');
  return out;
}

function readNeighbor(
  r: Reader,
  node: Node,
  path: string,
  localAs: number | undefined,
  tunnels: TunnelConfig[],
): NeighborConfig | undefined {
  const m = r.map(node, path, NEIGHBOR_KEYS);
  if (!m) return undefined;
  for (const key of ['name', 'address', 'remote-as', 'role']) {
    if (!m.has(key)) r.error(node, `${path}.${key}`, 'is required');
  }
  const f = (key: string) => val(m, key);
  const p = (key: string) => `${path}.${key}`;
  const name = m.has('name') ? r.checked(f('name'), p('name'), checkName) : undefined;
  const address = m.has('address') ? r.checked(f('address'), p('address'), checkIp) : undefined;
  const remoteAs = m.has('remote-as') ? r.int(f('remote-as'), p('remote-as'), 1, 4294967295) : undefined;
  const role = m.has('role') ? r.oneOf(f('role'), p('role'), ROLES) : undefined;
  if (role && remoteAs !== undefined && localAs !== undefined) {
    if (role === 'internal' && remoteAs !== localAs) {
      r.error(
        f('remote-as'),
        p('remote-as'),
        `an internal neighbor must have remote-as = local-as (${localAs})`,
      );
    } else if (role !== 'internal' && remoteAs === localAs) {
      r.error(f('role'), p('role'), `remote-as equals local-as (${localAs}): use role internal`);
    }
  }
  const holdTime = m.has('hold-time') ? r.int(f('hold-time'), p('hold-time'), 0, 65535) : 90;
  if (holdTime === 1 || holdTime === 2)
    r.error(f('hold-time'), p('hold-time'), 'must be 0 or at least 3 (RFC 4271 §4.2)');
  let families: Family[] = ['ipv4-unicast', 'ipv6-unicast'];
  if (m.has('families')) {
    const items = r.seq(f('families'), p('families')) ?? [];
    families = [];
    items.forEach((item, i) => {
      const fam = r.oneOf(item, `${p('families')}[${i}]`, FAMILIES);
      if (fam && !families.includes(fam)) families.push(fam);
    });
    if (items.length === 0) r.error(f('families'), p('families'), 'must name at least one family');
  }
  const gr = { enabled: false, restartTime: 120 };
  if (m.has('graceful-restart')) {
    const g = f('graceful-restart');
    if (g && 'value' in g && typeof g.value === 'boolean') gr.enabled = g.value;
    else {
      const gm = r.map(g, p('graceful-restart'), ['enabled', 'restart-time']);
      gr.enabled =
        (gm?.has('enabled') ? r.bool(val(gm, 'enabled'), `${p('graceful-restart')}.enabled`) : true) ?? false;
      if (gm?.has('restart-time')) {
        gr.restartTime =
          r.int(val(gm, 'restart-time'), `${p('graceful-restart')}.restart-time`, 1, 4095) ?? 120;
      }
    }
  }
  const bool = (key: string, dflt: boolean) => (m.has(key) ? (r.bool(f(key), p(key)) ?? dflt) : dflt);
  const resale = bool('resale', true);
  const noResale = bool('no-resale', false);
  if (m.has('resale') && role && role !== 'customer')
    r.error(f('resale'), p('resale'), 'applies to customers only');
  if (m.has('no-resale') && role && role !== 'peer')
    r.error(f('no-resale'), p('no-resale'), 'applies to peers only');
  const n: NeighborConfig = {
    name: name ?? '',
    address: address ?? '',
    remoteAs: remoteAs ?? 0,
    role: role ?? 'peer',
    passive: bool('passive', false),
    port: m.has('port') ? (r.int(f('port'), p('port'), 1, 65535) ?? 179) : 179,
    holdTime: holdTime ?? 90,
    connectRetry: m.has('connect-retry')
      ? (r.int(f('connect-retry'), p('connect-retry'), 1, 3600) ?? 30)
      : 30,
    families,
    nextHopSelf: bool('next-hop-self', role !== 'internal'),
    gracefulRestart: gr,
    resale,
    noResale,
  };
  if (m.has('local-address')) {
    const v = r.checked(f('local-address'), p('local-address'), checkIp);
    if (v) n.localAddress = v;
  }
  if (m.has('next-hop6')) {
    const v = r.checked(f('next-hop6'), p('next-hop6'), checkIpv6);
    if (v) n.nextHop6 = v;
  }
  if (m.has('description')) {
    const v = r.string(f('description'), p('description'));
    if (v !== undefined) n.description = v;
  }
  if (m.has('tunnel')) {
    const v = r.string(f('tunnel'), p('tunnel'));
    if (v !== undefined && !tunnels.some((t) => t.name === v)) {
      r.error(f('tunnel'), p('tunnel'), `no tunnel named '${v}' in tunnels`);
    } else if (v !== undefined) n.tunnel = v;
  }
  if (m.has('prefixes')) {
    if (role && role !== 'customer') r.error(f('prefixes'), p('prefixes'), 'applies to customers only');
    else n.prefixes = readStrings(r, f('prefixes'), p('prefixes'), checkRule);
  }
  if (m.has('max-prefix')) {
    const mp = p('max-prefix');
    const mm = r.map(f('max-prefix'), mp, ['limit', 'action', 'restart-after']);
    if (mm && !mm.has('limit')) r.error(f('max-prefix'), `${mp}.limit`, 'is required');
    const limit = mm?.has('limit') ? r.int(val(mm, 'limit'), `${mp}.limit`, 1, 100_000_000) : undefined;
    const action = mm?.has('action')
      ? r.oneOf(val(mm, 'action'), `${mp}.action`, MAX_PREFIX_ACTIONS)
      : 'warn';
    const restartAfter = mm?.has('restart-after')
      ? r.int(val(mm, 'restart-after'), `${mp}.restart-after`, 1, 86_400)
      : 60;
    if (limit !== undefined && action !== undefined && restartAfter !== undefined)
      n.maxPrefix = { limit, action, restartAfter };
  }
  if (m.has('role-strict')) {
    n.roleStrict = r.bool(f('role-strict'), p('role-strict')) ?? false;
    if (n.roleStrict && role === 'internal')
      r.error(f('role-strict'), p('role-strict'), 'RFC 9234 roles apply to eBGP neighbors only');
  }
  return name && address && remoteAs !== undefined && role ? n : undefined;
}

const MAX_PREFIX_ACTIONS = ['warn', 'restart'] as const;

/** A prefix rule as route filters write it: PREFIX/LEN [ge N] [le N]. */
function checkRule(s: string): string | undefined {
  const rule = parsePrefixRule(s);
  return typeof rule === 'string' ? rule : undefined;
}

/** A list of strings, each checked; the valid ones. */
function readStrings(
  r: Reader,
  node: Node | undefined,
  path: string,
  check: (s: string) => string | undefined,
): string[] {
  const out: string[] = [];
  (r.seq(node, path) ?? []).forEach((item, i) => {
    const s = r.checked(item, `${path}[${i}]`, check);
    if (s !== undefined) out.push(s);
  });
  return out;
}

function readTunnel(
  r: Reader,
  node: Node,
  path: string,
  underlay: Config['underlay'],
): TunnelConfig | undefined {
  const m = r.map(node, path, TUNNEL_KEYS);
  if (!m) return undefined;
  for (const key of ['name', 'remote', 'key']) {
    if (!m.has(key)) r.error(node, `${path}.${key}`, 'is required');
  }
  const f = (key: string) => val(m, key);
  const p = (key: string) => `${path}.${key}`;
  const name = m.has('name') ? r.checked(f('name'), p('name'), checkName) : undefined;
  const remote = m.has('remote') ? r.checked(f('remote'), p('remote'), checkIp) : undefined;
  const v4 = remote === undefined || isIPv4(remote);
  if (remote && underlay && !(v4 ? underlay.local : underlay.local6)) {
    r.error(f('remote'), p('remote'), `an IPv${v4 ? 4 : 6} remote needs underlay.${v4 ? 'local' : 'local6'}`);
  }
  const key = m.has('key') ? r.int(f('key'), p('key'), 0, 4294967295) : undefined;
  const mtu = m.has('mtu') ? r.int(f('mtu'), p('mtu'), 1280, 9000) : v4 ? 1472 : 1452;
  const bool = (k: string, dflt: boolean) => (m.has(k) ? (r.bool(f(k), p(k)) ?? dflt) : dflt);
  const prefixes = (k: string): string[] =>
    m.has(k) ? readStrings(r, f(k), p(k), (x) => checkPrefix(x)) : [];
  const inner: TunnelConfig['inner'] = {};
  if (m.has('inner')) {
    const im = r.map(f('inner'), p('inner'), ['local', 'local6']);
    if (im?.has('local')) {
      const s = r.checked(val(im, 'local'), `${p('inner')}.local`, (x) =>
        checkInterfaceAddress(x, 4, [30, 31]),
      );
      if (s) inner.local = s;
    }
    if (im?.has('local6')) {
      const s = r.checked(val(im, 'local6'), `${p('inner')}.local6`, (x) =>
        checkInterfaceAddress(x, 6, [64, 127]),
      );
      if (s) inner.local6 = s;
    }
    if (inner.local6 && mtu !== undefined && mtu < 1280) {
      r.error(f('mtu'), p('mtu'), 'must be at least 1280 for IPv6 inside the tunnel (RFC 8200)');
    }
  }
  const t: TunnelConfig = {
    name: name ?? '',
    remote: remote ?? '',
    key: key ?? 0,
    mtu: mtu ?? 1472,
    inner,
    allowedSources: prefixes('allowed-sources'),
    routes: prefixes('routes'),
    mssClamp: bool('mss-clamp', true),
    sequence: bool('sequence', false),
    checksum: bool('checksum', false),
  };
  if (m.has('local')) {
    const s = r.checked(f('local'), p('local'), checkIp);
    if (s) t.local = s;
  }
  if (m.has('keepalive')) {
    const km = r.map(f('keepalive'), p('keepalive'), ['interval', 'retries']);
    const interval = km?.has('interval')
      ? r.int(val(km, 'interval'), `${p('keepalive')}.interval`, 1, 3600)
      : 10;
    const retries = km?.has('retries') ? r.int(val(km, 'retries'), `${p('keepalive')}.retries`, 1, 255) : 3;
    t.keepalive = { interval: interval ?? 10, retries: retries ?? 3 };
  }
  return name && remote && key !== undefined ? t : undefined;
}

function checkName(s: string): string | undefined {
  return NAME_RE.test(s) ? undefined : `'${s}' is not a valid name (letters, digits, _ . -, at most 63)`;
}

interface Read<T> {
  node: Node;
  path: string;
  item: T;
}

function readList<T>(
  r: Reader,
  node: Node | undefined,
  path: string,
  readItem: (node: Node, path: string) => T | undefined,
): Read<T>[] {
  const out: Read<T>[] = [];
  (r.seq(node, path) ?? []).forEach((itemNode, i) => {
    const itemPath = `${path}[${i}]`;
    const item = readItem(itemNode, itemPath);
    if (item) out.push({ node: itemNode, path: itemPath, item });
  });
  return out;
}

function checkUnique<T>(
  r: Reader,
  read: Read<T>[],
  what: string,
  key: (t: T) => string,
  field: string,
): void {
  const seen = new Map<string, string>();
  for (const { node, path, item } of read) {
    const k = key(item);
    const first = seen.get(k);
    if (first !== undefined) r.error(node, `${path}.${field}`, `duplicates ${first} (${what}: ${k})`);
    else seen.set(k, path);
  }
}
