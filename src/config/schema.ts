/**
 * The one declaration of the config: keys (kebab-case, as written in YAML), types, limits,
 * defaults and per-field validation, in zod 4. Everything else is derived from it: the
 * TypeScript types (types.ts, camelCase), the validation of a file (load.ts), the normalized
 * print (print.ts walks the JSON Schema in this order), the published JSON Schema for editors
 * (config/gredge.schema.json, `npm run schema`), and the data plane's argument checks (LIMITS).
 *
 * A field is checked here on its own; relations between fields and entries (remote-as against
 * local-as, duplicate keys, overlapping prefixes, ...) are checks.ts's, which runs them on every
 * part that is valid, so an operator sees every problem at once.
 */
import { z } from 'zod';
import { canonicalIp } from '../net/ip.js';
import { parsePrefixRule } from '../policy/prefix-set.js';
import { checkInterfaceAddress, checkIp, checkIpv4, checkIpv6, checkPrefix } from './addr.js';
import { checkDirectory, checkPool, parseKeyRange } from './provisioning.js';
import { describeValue } from './reader.js';
import {
  FIB_DEFAULTS,
  FAMILIES,
  IFNAME_RE,
  LIMITS,
  LOG_LEVELS,
  METRICS_LISTEN,
  NAME_RE,
  parseHostPort,
  ROLES,
} from './limits.js';

const GROUP_RE = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$/;
/** sockaddr_un.sun_path holds 108 bytes with the terminating NUL. */
const MAX_SOCKET_PATH = 107;

const MAX_PREFIX_ACTIONS = ['warn', 'restart'] as const;

/**
 * Neighbor keys that apply to some roles only: set for another role they are an error
 * (checks.ts), and the normalized print shows them, with their default, for these roles only.
 */
export const ROLE_KEYS: Readonly<
  Record<string, { roles: readonly Role[]; print: unknown; message: string }>
> = {
  resale: { roles: ['customer'], print: true, message: 'applies to customers only' },
  'no-resale': { roles: ['peer'], print: false, message: 'applies to peers only' },
  prefixes: { roles: ['customer'], print: [], message: 'applies to customers only' },
  'role-strict': {
    roles: ['customer', 'peer', 'transit'],
    print: false,
    message: 'RFC 9234 roles apply to eBGP neighbors only',
  },
};

// ---- building blocks: each carries its messages, so every error reads the same ----

type Issue = { input?: unknown; code?: string };
const expect =
  (what: string) =>
  (iss: Issue): string | undefined =>
    iss.code === 'unrecognized_keys'
      ? undefined
      : iss.input === undefined
        ? 'is required'
        : `${what}, got ${describeValue(iss.input)}`;

function int(min: number, max: number) {
  const range = (iss: Issue) => `must be between ${min} and ${max}, got ${describeValue(iss.input)}`;
  return z
    .int({ error: expect(`must be an integer between ${min} and ${max}`) })
    .min(min, { error: range })
    .max(max, { error: range });
}

function decimal(min: number, max: number) {
  const range = (iss: Issue) => `must be between ${min} and ${max}, got ${describeValue(iss.input)}`;
  return z
    .number({ error: expect(`must be a number between ${min} and ${max}`) })
    .min(min, { error: range })
    .max(max, { error: range });
}

const bool = () => z.boolean({ error: expect('must be true or false') });

/** A string; a YAML number is taken as its text (`name: 42`). */
const text = () => z.union([z.string(), z.number().transform(String)], { error: expect('must be a string') });

/** A string that `check` accepts (it returns an error message, or undefined when valid). */
function checked<T extends z.ZodType<string>>(base: T, check: (s: string) => string | undefined): T {
  return base.check((ctx) => {
    const problem = check(ctx.value);
    if (problem !== undefined) ctx.issues.push({ code: 'custom', message: problem, input: ctx.value });
  }) as T;
}

const str = () => z.string({ error: expect('must be a string') });

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, {
    error: (iss) =>
      iss.input === undefined
        ? 'is required'
        : `must be one of ${values.join(', ')}, got ${describeValue(iss.input)}`,
  });
}

function list<T extends z.ZodType>(item: T) {
  return z.array(item, { error: expect('must be a list') });
}

type Camel<S extends string> = S extends `${infer H}-${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S;
/** YAML's kebab-case keys as the camelCase the code reads (`remote-as` → `remoteAs`). */
export type Camelized<T> = { [K in keyof T as K extends string ? Camel<K> : K]: T[K] };

export function camelKey(k: string): string {
  return k.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

export function kebabKey(k: string): string {
  return k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function camelize<T extends object>(o: T): Camelized<T> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[camelKey(k)] = v;
  return out as Camelized<T>;
}

/** A mapping with exactly these keys; the code gets it with camelCase keys. */
function section<S extends z.core.$ZodLooseShape>(shape: S) {
  return z
    .strictObject(shape, { error: expect('must be a mapping (key: value)') })
    .transform((o) => camelize(o));
}

// ---- values ----

const ip = () => checked(str(), checkIp).transform(canonical).describe('an IPv4 or IPv6 address');
const ipv4 = () => checked(str(), checkIpv4).meta({ format: 'ipv4' });
const ipv6 = () => checked(str(), checkIpv6).transform(canonical).meta({ format: 'ipv6' });
const prefix = () => checked(str(), (s) => checkPrefix(s)).transform(canonicalCidr);
const rule = () =>
  checked(str(), (s) => {
    const r = parsePrefixRule(s);
    return typeof r === 'string' ? r : undefined;
  }).describe('PREFIX/LEN [ge N] [le N]');
const name = () =>
  checked(text(), (s) =>
    NAME_RE.test(s) ? undefined : `'${s}' is not a valid name (letters, digits, _ . -, at most 63)`,
  );

function canonical(s: string): string {
  return canonicalIp(s);
}

function canonicalCidr(s: string): string {
  const slash = s.indexOf('/');
  return `${canonicalIp(s.slice(0, slash))}${s.slice(slash)}`;
}

/** The kernel's own tables: default (253), main (254), local (255); 0 is "unspecified". */
const table = () =>
  int(...LIMITS.table).check((ctx) => {
    const n = ctx.value;
    if (n === 253 || n === 254 || n === 255)
      ctx.issues.push({
        code: 'custom',
        input: n,
        message: `${n} is one of the kernel's own tables (253 default, 254 main, 255 local)`,
      });
  });

/**
 * A file mode: YAML 1.2 reads `0660` as the decimal 660, so a number's decimal digits are
 * taken as octal (660 → 0o660) when they are all octal digits; a string ('0660', '660',
 * '0o660') is read as octal (the loader passes a YAML `0o660` or `0x1b0` on as such a string).
 * Owner, group and other bits only, and never without the owner's read and write.
 */
const mode = () =>
  z
    .union([z.int(), z.string()], { error: expect('must be a file mode in octal, 0 to 0777 (e.g. 0660)') })
    .transform((v, ctx) => {
      let m: number | undefined;
      if (typeof v === 'number' && v >= 0 && /^[0-7]+$/.test(String(v))) m = Number.parseInt(String(v), 8);
      else if (typeof v === 'string' && /^(0o?)?[0-7]{1,4}$/i.test(v))
        m = Number.parseInt(v.replace(/^0o/i, ''), 8);
      if (m === undefined || m > 0o777) {
        ctx.issues.push({
          code: 'custom',
          input: v,
          message: `must be a file mode in octal, 0 to 0777 (e.g. 0660), got ${describeValue(v)}`,
        });
        return z.NEVER;
      }
      if ((m & 0o600) !== 0o600) {
        ctx.issues.push({
          code: 'custom',
          input: v,
          message: `${formatMode(m)} would keep gredged's own user out: include 0600`,
        });
        return z.NEVER;
      }
      return m;
    })
    .meta({ description: 'octal file mode, e.g. 0660; must include 0600' });

export function formatMode(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}

// ---- sections ----

const GR_RESTART_TIME = 120;
/** As FRR's and BIRD's helpers: how long stale routes wait for End-of-RIB once the neighbor is back. */
const GR_STALE_TIME = 360;

const gracefulRestart = z
  .union(
    [
      bool(),
      section({
        enabled: bool().default(true),
        'restart-time': int(...LIMITS.restartTime)
          .default(GR_RESTART_TIME)
          .describe('seconds advertised: how long the neighbor keeps our routes while we restart'),
        'stale-time': int(...LIMITS.staleTime)
          .default(GR_STALE_TIME)
          .describe("seconds the neighbor's stale routes wait for its End-of-RIB once it is back"),
      }),
    ],
    { error: expect('must be true, false or a mapping (enabled, restart-time, stale-time)') },
  )
  .default(false)
  .transform((g) =>
    typeof g === 'boolean' ? { enabled: g, restartTime: GR_RESTART_TIME, staleTime: GR_STALE_TIME } : g,
  )
  .describe('RFC 4724 (docs/graceful-restart.md): true, or {enabled, restart-time, stale-time}');

/** Daemon-wide graceful restart: how gredged restarts (docs/graceful-restart.md). */
const gracefulRestartDaemon = section({
  'selection-deferral': int(...LIMITS.selectionDeferral)
    .default(240)
    .describe(
      'after a restart, seconds gredged waits at most for End-of-RIB from its graceful-restart neighbors before it exports (RFC 4724 §4.1)',
    ),
});

const maxPrefix = section({
  limit: int(...LIMITS.maxPrefix),
  action: oneOf(MAX_PREFIX_ACTIONS).default('warn'),
  'restart-after': int(...LIMITS.restartAfter).default(60),
}).describe('prefixes the neighbor may send (accepted or refused) and what happens beyond');

export const neighborShape = {
  name: name(),
  address: ip(),
  'remote-as': int(...LIMITS.asn),
  role: oneOf(ROLES).describe('internal: iBGP, remote-as = local-as'),
  passive: bool().default(false).describe('only accept, never connect'),
  port: int(...LIMITS.port)
    .default(179)
    .describe('remote port to connect to'),
  'local-address': ip().optional().describe('source address for outgoing connections'),
  'next-hop6': ipv6().optional().describe('IPv6 next hop announced when the session runs over IPv4'),
  'hold-time': int(...LIMITS.holdTime)
    .check((ctx) => {
      if (ctx.value === 1 || ctx.value === 2)
        ctx.issues.push({
          code: 'custom',
          input: ctx.value,
          message: 'must be 0 or at least 3 (RFC 4271 §4.2)',
        });
    })
    .default(90)
    .meta({ not: { enum: [1, 2] }, description: '0 or 3-65535 s; keepalive = hold/3' }),
  'connect-retry': int(...LIMITS.connectRetry)
    .default(30)
    .describe('base of the back-off, s'),
  families: list(oneOf(FAMILIES))
    .min(1, { error: 'must name at least one family' })
    .transform((fs) => [...new Set(fs)])
    .default([...FAMILIES]),
  'next-hop-self': bool().optional().describe('default: true for eBGP, false for internal'),
  'graceful-restart': gracefulRestart,
  resale: bool()
    .default(true)
    .describe('customers: may resell what they receive (no-resale routes are withheld)'),
  'no-resale': bool()
    .default(false)
    .describe("peers: never export this peer's routes to reselling customers"),
  prefixes: list(rule())
    .optional()
    .describe('customers only: what they may announce (PREFIX, PREFIX le N, PREFIX ge N [le M])'),
  'max-prefix': maxPrefix.optional(),
  'role-strict': bool()
    .optional()
    .describe('RFC 9234: refuse a session whose peer sends no BGP Role (default false)'),
  tunnel: name().optional().describe("the tunnel this customer's session runs inside"),
  description: text().optional(),
};

export const neighborSchema = section(neighborShape).transform(({ nextHopSelf, ...n }) => ({
  ...n,
  // eBGP neighbors get us as next hop unless told otherwise; iBGP keeps the next hop.
  nextHopSelf: nextHopSelf ?? n.role !== 'internal',
}));

const innerSchema = section({
  local: checked(str(), (s) => checkInterfaceAddress(s, 4, [30, 31]))
    .transform(canonicalCidr)
    .optional()
    .describe('our inner IPv4 address, /30 or /31'),
  local6: checked(str(), (s) => checkInterfaceAddress(s, 6, [64, 127]))
    .transform(canonicalCidr)
    .optional()
    .describe('our inner IPv6 address, /64 or /127'),
});

export const tunnelShape = {
  name: name(),
  remote: ip().describe("far end's underlay address"),
  local: ip().optional().describe('underlay source (default underlay.local / local6 by family)'),
  key: int(...LIMITS.greKey).describe('GRE key (RFC 2890)'),
  mtu: int(...LIMITS.mtu)
    .optional()
    .describe('inner MTU; default 1472 (IPv4 underlay), 1452 (IPv6)'),
  inner: innerSchema.prefault({}),
  'allowed-sources': list(prefix())
    .default([])
    .describe('anti-spoofing prefixes on decap (inner subnets added)'),
  routes: list(prefix()).default([]).describe('static routes into the tunnel'),
  'mss-clamp': bool().default(true),
  sequence: bool().default(false).describe('RFC 2890 sequence numbers'),
  checksum: bool().default(false).describe('RFC 2784 checksum'),
  keepalive: section({
    interval: decimal(...LIMITS.keepaliveInterval)
      .default(10)
      .describe('seconds'),
    retries: int(...LIMITS.keepaliveRetries).default(3),
  })
    .optional()
    .describe('Cisco-style GRE keepalives (IPv4 underlay): mark down after `retries` misses'),
};

export const tunnelSchema = section(tunnelShape).transform(({ mtu, ...t }) => {
  const out = { ...t, mtu: mtu ?? (t.remote.includes(':') ? 1452 : 1472) };
  // Keep the declared order (name, remote, local, key, mtu, ...) for whoever iterates keys.
  return Object.fromEntries(
    [
      'name',
      'remote',
      'local',
      'key',
      'mtu',
      'inner',
      'allowedSources',
      'routes',
      'mssClamp',
      'sequence',
      'checksum',
      'keepalive',
    ]
      .filter((k) => (out as Record<string, unknown>)[k] !== undefined)
      .map((k) => [k, (out as Record<string, unknown>)[k]]),
  ) as typeof out;
});

const dataplaneSchema = section({
  tun: checked(text(), (s) =>
    IFNAME_RE.test(s) ? undefined : `'${s}' is not a valid interface name (1-15 of A-Z a-z 0-9 _ . -)`,
  )
    .default('gredge0')
    .describe('TUN device'),
  workers: int(...LIMITS.workers)
    .default(2)
    .describe('worker threads'),
  persistent: bool().default(false).describe('keep the TUN on exit'),
  offload: bool().default(true).describe('TUN offloads (TSO/GRO in the workers)'),
  'direct-tx': bool().default(true).describe('send GRE through AF_PACKET on the underlay device'),
});

const underlaySchema = section({
  local: ipv4().optional().describe('GRE underlay source, IPv4'),
  local6: ipv6().optional().describe('GRE underlay source, IPv6'),
});

export const fibShape = {
  'full-table': table().default(FIB_DEFAULTS.fullTable).describe('kernel table of every best path'),
  'resale-table': table().default(FIB_DEFAULTS.resaleTable).describe('kernel table without no-resale routes'),
  protocol: int(...LIMITS.fibProtocol)
    .default(FIB_DEFAULTS.protocol)
    .describe('route and rule protocol marking what gredged owns'),
  'rule-priority': int(...LIMITS.rulePriority)
    .default(FIB_DEFAULTS.rulePriority)
    .describe('the first of the five ip rule priorities'),
  kernel: bool().default(FIB_DEFAULTS.kernel).describe('false: tunnel LPMs only, no kernel routes or rules'),
};
const fibSchema = section(fibShape);

const controlSchema = section({
  socket: checked(str(), (s) => {
    if (!s.startsWith('/')) return `'${s}' must be an absolute path`;
    if (s.endsWith('/')) return `'${s}' names a directory, not a socket file`;
    if (Buffer.byteLength(s) > MAX_SOCKET_PATH)
      return `'${s}' is longer than ${MAX_SOCKET_PATH} bytes (the limit of a Unix socket path)`;
    return undefined;
  })
    .default('/run/gredge/gredge.sock')
    .describe('the control socket gredgectl talks to'),
  mode: mode().default(0o660),
  group: checked(text(), (s) => (GROUP_RE.test(s) ? undefined : `'${s}' is not a valid group name`))
    .optional()
    .describe("the group owning the socket (default: gredged's own)"),
});

/** What an RPKI-invalid route from an eBGP neighbor gets (src/rpki, docs/rpki.md). */
export const RPKI_INVALID = ['reject', 'keep'] as const;

/** One RTR cache (RFC 8210 over plain TCP, port 323 by IANA). */
export const rtrServerSchema = section({
  address: ip(),
  port: int(...LIMITS.port)
    .default(323)
    .describe('rpki-rtr, IANA port 323'),
  preference: int(...LIMITS.rpkiPreference)
    .default(100)
    .describe('lower is preferred (RFC 8210 §10); equal ones in the order written'),
});

export const rpkiShape = {
  servers: list(rtrServerSchema)
    .min(LIMITS.rpkiServers[0], { error: 'must name at least one RTR cache' })
    .max(LIMITS.rpkiServers[1], { error: `at most ${LIMITS.rpkiServers[1]} RTR caches` }),
  refresh: int(...LIMITS.rpkiRefresh)
    .optional()
    .describe("seconds between Serial Queries; default: the cache's (End of Data), else 3600"),
  retry: int(...LIMITS.rpkiRetry)
    .optional()
    .describe("seconds before trying again after a failure; default: the cache's, else 600"),
  expire: int(...LIMITS.rpkiExpire)
    .optional()
    .describe("seconds VRPs stay usable without a successful update; default: the cache's, else 7200"),
  invalid: oneOf(RPKI_INVALID)
    .default('reject')
    .describe('reject: RPKI-invalid eBGP routes are refused (rpki-invalid); keep: only measured'),
};
const rpkiSchema = section(rpkiShape);

/** The Prometheus exporter's default address (9475: unassigned in Prometheus's port list). */
const hostPort = () =>
  checked(str(), (s) =>
    parseHostPort(s)
      ? undefined
      : `'${s}' is not ADDRESS:PORT (IPv4 as 127.0.0.1:9475, IPv6 in brackets as [::1]:9475, port 1-65535)`,
  ).transform((s) => {
    const hp = parseHostPort(s)!;
    return hp.address.includes(':') ? `[${hp.address}]:${hp.port}` : `${hp.address}:${hp.port}`;
  });

const metricsSchema = section({
  listen: hostPort()
    .default(METRICS_LISTEN)
    .describe(
      'HTTP address of GET /metrics (Prometheus), ADDRESS:PORT or [IPv6]:PORT; default 127.0.0.1:9475',
    ),
  'per-tunnel': bool()
    .default(true)
    .describe('per-tunnel series (false on boxes with very many tunnels: totals only)'),
});

const off = <T extends z.ZodType>(s: T, what: string) =>
  z.union([z.literal(false), s], { error: expect(`must be false or a mapping (${what})`) });

/** `gredgectl customer add` (src/provision, docs/provisioning.md): where keys and addresses come from. */
export const provisioningShape = {
  'key-range': checked(str(), (s) => {
    const r = parseKeyRange(s);
    return typeof r === 'string' ? r : undefined;
  })
    .transform((s) => s.replace(/\s+/g, ''))
    .describe('GRE keys customer add takes from, LOW-HIGH (inclusive): the lowest free one for that remote'),
  'inner-pool4': checked(str(), (s) => checkPool(s, 4))
    .transform(canonicalCidr)
    .describe("IPv4 prefix the customers' inner /30s are taken from (ours .1, theirs .2)"),
  'inner-pool6': checked(str(), (s) => checkPool(s, 6))
    .transform(canonicalCidr)
    .optional()
    .describe("IPv6 prefix the customers' inner /127s (RFC 6164) are taken from; without it, IPv4 only"),
  directory: checked(str(), checkDirectory).describe(
    'where customer add writes NAME.yaml; include: must name DIRECTORY/*.yaml, written the same way',
  ),
};
const provisioningSchema = section(provisioningShape);

/** `include:` a glob, or a list of them, relative to the main file's directory. */
const includeSchema = z
  .union([str(), list(str())], { error: expect('must be a file pattern or a list of them') })
  .describe('files whose neighbors and tunnels are added, e.g. conf.d/*.yaml (sorted by name)');

/** The keys of the main file, in the order the normalized print shows them. */
export const mainShape = {
  include: includeSchema.optional(),
  'router-id': ipv4().describe('IPv4 BGP identifier'),
  'local-as': int(...LIMITS.asn),
  listen: z
    .union(
      [
        z.literal(false),
        z.null(),
        section({
          address: ip().default('0.0.0.0'),
          port: int(...LIMITS.port).default(179),
        }),
      ],
      { error: expect('must be false or a mapping (address, port)') },
    )
    .optional()
    .describe('BGP listener (default 0.0.0.0 port 179 when there are neighbors); false: none'),
  log: section({ level: oneOf(LOG_LEVELS).default('info') }).prefault({}),
  'graceful-restart': gracefulRestartDaemon.prefault({}),
  'own-prefixes': list(prefix())
    .default([])
    .describe("the provider's own space: nothing inside it is accepted from eBGP"),
  bogons: list(rule())
    .optional()
    .describe('prefix rules refused from every eBGP neighbor; replaces the default list'),
  neighbors: list(neighborSchema).default([]),
  dataplane: dataplaneSchema.optional().describe('present with tunnels even when not written'),
  fib: off(fibSchema, 'full-table, resale-table, protocol, rule-priority, kernel').prefault({}),
  control: off(controlSchema, 'socket, mode, group').prefault({}),
  metrics: off(metricsSchema, 'listen, per-tunnel').prefault({}),
  underlay: underlaySchema.optional(),
  tunnels: list(tunnelSchema).default([]),
  rpki: off(rpkiSchema, 'servers, refresh, retry, expire, invalid')
    .optional()
    .describe('RPKI origin validation (RFC 6811) from RTR caches (RFC 8210); false or absent: off'),
  provisioning: provisioningSchema.optional().describe('one-command customers: gredgectl customer add'),
};

export const CONTROL_DEFAULTS = Object.freeze(controlSchema.parse({}));

/** The main config file's shape: every key checked, nothing derived yet (see toConfig). */
export const configShapeSchema = z.strictObject(mainShape, {
  error: expect('must be a mapping (key: value)'),
});

/**
 * A checked main file → the `Config` every module is handed (without `source`). Entries of
 * `neighbors` and `tunnels` pass through as they are: each is checked on its own (its schema
 * reads nothing around it), which is what lets an incremental reload (incremental.ts) check
 * only the entries whose text changed and keep the others.
 */
export function toConfig(c: z.output<typeof configShapeSchema>) {
  const out = {
    routerId: c['router-id'],
    localAs: c['local-as'],
    listen:
      c.listen === undefined
        ? c.neighbors.length > 0
          ? { address: '0.0.0.0', port: 179 }
          : null
        : c.listen === false
          ? null
          : c.listen,
    log: c.log,
    gracefulRestart: c['graceful-restart'],
    ownPrefixes: c['own-prefixes'],
    bogons: c.bogons,
    neighbors: c.neighbors,
    // Tunnels need a data plane: its defaults when the section is not written.
    dataplane: c.dataplane ?? (c.tunnels.length > 0 ? dataplaneSchema.parse({}) : undefined),
    fib: c.fib === false ? null : c.fib,
    control: c.control === false ? null : c.control,
    metrics: c.metrics === false ? null : c.metrics,
    underlay: c.underlay,
    tunnels: c.tunnels,
    // Off (absent or false) is no key at all: nothing to print, nothing to start.
    rpki: c.rpki === false ? undefined : c.rpki,
    provisioning: c.provisioning,
  };
  for (const k of ['bogons', 'dataplane', 'underlay', 'rpki', 'provisioning'] as const)
    if (out[k] === undefined) delete out[k];
  return out as Omit<typeof out, 'bogons' | 'dataplane' | 'underlay' | 'rpki' | 'provisioning'> & {
    bogons?: string[];
    dataplane?: NonNullable<typeof out.dataplane>;
    underlay?: NonNullable<typeof out.underlay>;
    rpki?: NonNullable<typeof out.rpki>;
    provisioning?: NonNullable<typeof out.provisioning>;
  };
}

/** The main config file; the output is the `Config` every module is handed (without `source`). */
export const configSchema = configShapeSchema.transform(toConfig);

/** What an included file may hold: more neighbors and tunnels (say, one customer's). */
export const includeFileSchema = z.strictObject(
  { neighbors: mainShape.neighbors, tunnels: mainShape.tunnels },
  { error: expect('must be a mapping (key: value)') },
);

export type Role = (typeof ROLES)[number];
