/**
 * Checks between fields and entries of the merged config (main file and includes), which the
 * per-field schema cannot make: remote-as against local-as, keys that apply to some roles only,
 * a neighbor's tunnel and its inner addresses, tunnels against the underlay, and the
 * duplicates and overlaps that would make two entries fight over one thing (names, neighbor
 * addresses, GRE remote+key, inner subnets, customers' prefixes).
 *
 * Each check reads the fields it needs one by one through the schema, so it runs on every part
 * that is valid even while other parts are not: an operator sees every problem at once.
 */
import { OverlapIndex, StringTable } from '../net/overlap.js';
import { MASK4, parseIpv4 as wireIpv4 } from '../bgp/wire/prefix.js';
import { parsePrefixRule, type PrefixRule, rulesOverlap } from '../policy/prefix-set.js';
import {
  type Cidr,
  canonicalIpFast,
  formatIpFast,
  type Ip,
  parseCidrFast,
  parseIpFast,
  plainIpv6,
} from '../net/ip.js';
import { LIMITS, NAME_RE, ROLES } from './limits.js';
import { type ProvisioningInput, provisioningIssues } from './provisioning.js';
import { provisioningShape } from './schema.js';
import type { Path, PathIssue } from './reader.js';
import {
  fibShape,
  mainShape,
  neighborShape,
  ROLE_KEYS,
  type Role,
  rpkiShape,
  rtrServerSchema,
  tunnelShape,
} from './schema.js';

const U = undefined;

type Shape = Record<string, { safeParse(v: unknown): { success: boolean; data?: unknown } }>;

/** A field's parsed value (defaults applied), or undefined when it is not valid. */
function field<T>(shape: Shape, raw: unknown, key: string): T | undefined {
  if (!isRecord(raw)) return undefined;
  const schema = shape[key]!;
  const v = raw[key];
  const quick = QUICK.get(schema);
  if (quick) {
    const r = quick(v);
    if (r !== ASK) return r as T;
  }
  const r = schema.safeParse(v);
  return r.success ? (r.data as T) : undefined;
}

// ---- quick readings ----
// A zod parse per field was most of the time crossCheck took on 10,000 tunnels and neighbors
// (each IPv6 address parsed three times through ipaddr.js on the way). The fields read for every
// entry have a quick reading here: it takes the ordinary valid values only, and gives exactly
// what the schema gives for them (the canonical address text, the prefault of `inner`);
// anything else, valid or not, it leaves to the schema (ASK). test/config/checks-scale.test.ts
// holds every reading against its schema, so a change to one of those schemas that a reading
// does not follow fails there.

/** The quick reading cannot tell: ask the schema. */
const ASK: unique symbol = Symbol('ask the schema');
type Quick = (v: unknown) => unknown;

const optional =
  (q: Quick): Quick =>
  (v) =>
    v === undefined ? undefined : q(v);

/** name(): a string of NAME_RE (a YAML number, taken as its text, is left to the schema). */
const quickName: Quick = (v) => (typeof v === 'string' && NAME_RE.test(v) ? v : ASK);

/** int(min, max). */
const quickInt =
  ([min, max]: readonly [number, number]): Quick =>
  (v) =>
    typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : ASK;

/** ip(): a string is valid exactly when it parses, and its value is the canonical text. */
const quickIp: Quick = (v) => (typeof v === 'string' ? canonicalIpFast(v) : ASK);

const quickRole: Quick = (v) => (typeof v === 'string' && (ROLES as readonly string[]).includes(v) ? v : ASK);

const quickBool: Quick = (v) => (typeof v === 'boolean' ? v : ASK);

/** list(rule()): every item a valid rule; the value is a copy of the list. */
const quickRules: Quick = (v) => (quickRuleList(v) === ASK ? ASK : (v as unknown[]).slice());

/** Every item of `v` read by quickRule, or ASK when any of them (or `v` itself) is not plain. */
function quickRuleList(v: unknown): PrefixRule[] | typeof ASK {
  if (!Array.isArray(v)) return ASK;
  const rules: PrefixRule[] = new Array(v.length);
  for (let k = 0; k < v.length; k++) {
    const item: unknown = v[k];
    const rule = typeof item === 'string' ? quickRule(item) : ASK;
    if (rule === ASK) return ASK;
    rules[k] = rule;
  }
  return rules;
}
/**
 * parsePrefixRule's rule for the plain forms (`PREFIX/LEN`, then `ge N`, `le N` or `ge N le M`,
 * one space apart, none around; IPv6 in the plain forms ip.ts reads by hand); ASK for any other
 * text, valid or not. parsePrefixRule (regular expressions, a split per group) was the largest
 * part of checking a customer.
 */
function quickRule(text: string): PrefixRule | typeof ASK {
  const sp = text.indexOf(' ');
  const prefix = sp < 0 ? text : text.slice(0, sp);
  const slash = prefix.indexOf('/');
  if (slash < 0) return ASK;
  const len = digits(prefix, slash + 1, prefix.length);
  if (len < 0) return ASK;
  const addr = prefix.slice(0, slash);
  const v4 = wireIpv4(addr);
  const v6 = v4 === U ? plainIpv6(addr) : U;
  if (v4 === U && v6 === U) return ASK;
  const max = v4 !== U ? 32 : 128;
  let ge = len;
  let le = len;
  if (sp >= 0) {
    // ' ge N', ' le N' or ' ge N le M'
    const words = text.slice(sp + 1).split(' ');
    if (words.length === 2 && words[0] === 'le') le = digits(words[1]!, 0, words[1]!.length);
    else if (words.length === 2 && words[0] === 'ge') {
      ge = digits(words[1]!, 0, words[1]!.length);
      le = max;
    } else if (words.length === 4 && words[0] === 'ge' && words[2] === 'le') {
      ge = digits(words[1]!, 0, words[1]!.length);
      le = digits(words[3]!, 0, words[3]!.length);
    } else return ASK;
    if (ge < 0 || le < 0) return ASK;
  }
  if (len > max || ge < len || ge > max || le > max || le < ge) return ASK;
  const net6 = new Uint8Array(16);
  if (v4 !== U) {
    if ((v4 & ~MASK4[len]!) !== 0) return ASK;
  } else {
    for (let i = 0; i < 16; i++) {
      const bits = len - i * 8;
      const mask = bits >= 8 ? 0xff : bits <= 0 ? 0 : (0xff << (8 - bits)) & 0xff;
      if ((v6![i]! & ~mask & 0xff) !== 0) return ASK;
    }
    net6.set(v6!);
  }
  return { text, family: v4 !== U ? 4 : 6, len, ge, le, net4: v4 ?? 0, net6 };
}

/** `\d{1,3}` from `from` to `to` of `s`, as a number; -1 when it is not. */
function digits(s: string, from: number, to: number): number {
  if (to - from < 1 || to - from > 3) return -1;
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    n = n * 10 + (c - 48);
  }
  return n;
}

/** The inner section: `local` (IPv4 /30, /31), `local6` (IPv6 /64, /127), canonical; absent: {}. */
const INNER: Record<string, { v6: boolean; lengths: readonly string[] }> = {
  local: { v6: false, lengths: ['30', '31'] },
  local6: { v6: true, lengths: ['64', '127'] },
};
const quickInner: Quick = (v) => {
  if (v === undefined) return {}; // prefault({})
  if (!isRecord(v)) return ASK;
  const out: Record<string, string> = {};
  for (const k of Object.keys(v)) {
    const want = k === 'local' || k === 'local6' ? INNER[k]! : undefined;
    const text = v[k];
    if (!want || typeof text !== 'string') return ASK;
    // parseCidr's length is LENGTH_RE's digits: these lengths are exactly these texts.
    const slash = text.indexOf('/');
    const length = slash < 0 ? '' : text.slice(slash + 1);
    const ip = want.lengths.includes(length) ? canonicalIpFast(text.slice(0, slash)) : U;
    if (ip === U || ip.includes(':') !== want.v6) return ASK; // canonical IPv6 text has a ':'
    out[k] = `${ip}/${length}`;
  }
  return out;
};

/** The quick reading of each field schema that has one (keyed by the schema itself). */
const QUICK = new Map<unknown, Quick>([
  [tunnelShape.name, quickName],
  [tunnelShape.remote, quickIp],
  [tunnelShape.local, optional(quickIp)],
  [tunnelShape.key, quickInt(LIMITS.greKey)],
  [tunnelShape.inner, quickInner],
  [neighborShape.name, quickName],
  [neighborShape.address, quickIp],
  [neighborShape['remote-as'], quickInt(LIMITS.asn)],
  [neighborShape.role, quickRole],
  [neighborShape.tunnel, optional(quickName)],
  [neighborShape.prefixes, optional(quickRules)],
  [neighborShape['role-strict'], optional(quickBool)],
]);

/** For tests: quickRule's rule for `text`, or `'ask'` when it leaves the text to parsePrefixRule. */
export function quickRuleOf(text: string): PrefixRule | 'ask' {
  const r = quickRule(text);
  return r === ASK ? 'ask' : r;
}

/**
 * For tests: the quick reading of `shape[key]` for `value`, or `'ask'` when it leaves the value
 * to the schema.
 */
export function quickField(shape: Shape, key: string, value: unknown): { value: unknown } | 'ask' {
  const q = QUICK.get(shape[key]);
  const r = q ? q(value) : ASK;
  return r === ASK ? 'ask' : { value: r };
}

/** The schema objects that have a quick reading, by shape and key (for tests). */
export const QUICK_FIELDS = {
  tunnel: ['name', 'remote', 'local', 'key', 'inner'],
  neighbor: ['name', 'address', 'remote-as', 'role', 'tunnel', 'prefixes', 'role-strict'],
} as const;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Names another entry in a message: `tunnels[0] (conf.d/a.yaml:3:5)`. */
export type Ref = (path: Path) => string;

/**
 * What the checks read of one tunnel entry (each field undefined when not valid). A function of
 * the entry alone, which is what lets an incremental load (incremental.ts) keep it, by the
 * entry's text, and read again only the entries whose text changed.
 */
export interface TunnelReading {
  /** The entry is a mapping; nothing else is read of one that is not. */
  rec: boolean;
  name?: string;
  remote?: string;
  key?: number;
  inner?: { local?: string; local6?: string };
  /** `local`, when it is written and valid. */
  local?: string;
  /** `keepalive` is written. */
  keepalive?: boolean;
}

/** What the checks read of one neighbor entry (each field undefined when not valid). */
export interface NeighborReading {
  rec: boolean;
  name?: string;
  address?: string;
  remoteAs?: number;
  role?: Role;
  /** The keys of ROLE_KEYS that are written, in ROLE_KEYS order. */
  roleKeys?: string[];
  /** `role-strict`, when it is written and valid. */
  roleStrict?: boolean;
  /** `tunnel`, when it is written and valid. */
  tunnel?: string;
  /** When `prefixes` is written: each valid rule with its index in the list (none when the list is not valid). */
  prefixes?: Array<[number, PrefixRule]>;
}

/** What the checks read of every entry of the merged lists, in config order. */
export interface Readings {
  tunnels: TunnelReading[];
  neighbors: NeighborReading[];
}

export function readTunnel(t: unknown): TunnelReading {
  if (!isRecord(t)) return { rec: false };
  const tshape = tunnelShape as Shape;
  const r: TunnelReading = {
    rec: true,
    name: field<string>(tshape, t, 'name'),
    remote: field<string>(tshape, t, 'remote'),
    key: field<number>(tshape, t, 'key'),
    inner: field<TunnelReading['inner']>(tshape, t, 'inner'),
  };
  if (t.local !== U) r.local = field<string>(tshape, t, 'local');
  if (t.keepalive !== U) r.keepalive = true;
  return r;
}

export function readNeighbor(n: unknown): NeighborReading {
  if (!isRecord(n)) return { rec: false };
  const nshape = neighborShape as Shape;
  const r: NeighborReading = {
    rec: true,
    name: field<string>(nshape, n, 'name'),
    address: field<string>(nshape, n, 'address'),
    remoteAs: field<number>(nshape, n, 'remote-as'),
    role: field<Role>(nshape, n, 'role'),
  };
  const written = ROLE_KEY_NAMES.filter((k) => n[k] !== U);
  if (written.length > 0) r.roleKeys = written;
  if (n['role-strict'] !== U) r.roleStrict = field<boolean>(nshape, n, 'role-strict');
  if (n.tunnel !== U) r.tunnel = field<string>(nshape, n, 'tunnel');
  if (n.prefixes !== U) {
    // The plain forms read by hand (the schema's value is then the list as it is); any
    // other list goes through the schema and parsePrefixRule, as crossCheck always did.
    const quick = quickRuleList(n.prefixes);
    const prefixes: Array<[number, PrefixRule]> = [];
    if (quick !== ASK) for (let k = 0; k < quick.length; k++) prefixes.push([k, quick[k]!]);
    else {
      const texts = field<string[]>(nshape, n, 'prefixes') ?? [];
      for (let k = 0; k < texts.length; k++) {
        const rule = parsePrefixRule(texts[k]!);
        if (typeof rule !== 'string') prefixes.push([k, rule]);
      }
    }
    r.prefixes = prefixes;
  }
  return r;
}

export function readEntries(raw: Record<string, unknown>): Readings {
  const tunnels = Array.isArray(raw.tunnels) ? (raw.tunnels as unknown[]) : [];
  const neighbors = Array.isArray(raw.neighbors) ? (raw.neighbors as unknown[]) : [];
  return { tunnels: tunnels.map(readTunnel), neighbors: neighbors.map(readNeighbor) };
}

/**
 * A reading as compact JSON (a tuple, undefined as null), for the memo of an incremental load;
 * undefined when JSON would not give it back exactly (a non-finite number, -0: none of these is
 * in a valid entry's reading, and such an entry is then simply not memoized). `tuple` and
 * `readingOf` are each other's inverse; test/config/reload-fast.test.ts holds them so.
 */
export function readingJson(
  kind: 'tunnels' | 'neighbors',
  r: TunnelReading | NeighborReading,
): string | undefined {
  const t = kind === 'tunnels' ? tunnelTuple(r as TunnelReading) : neighborTuple(r as NeighborReading);
  return exactNumbers(t) ? JSON.stringify(t) : U;
}

/** The reading a readingJson tuple (parsed) stands for. */
export function readingOf(kind: 'tunnels' | 'neighbors', t: unknown[]): TunnelReading | NeighborReading {
  return kind === 'tunnels' ? tunnelOf(t) : neighborOf(t);
}

const nil = <T>(v: T | undefined): T | null => (v === U ? null : v);
const def = <T>(v: T | null): T | undefined => (v === null ? U : v);

function tunnelTuple(r: TunnelReading): unknown[] {
  if (!r.rec) return [0];
  return [
    1,
    nil(r.name),
    nil(r.remote),
    nil(r.key),
    r.inner === U ? 0 : 1,
    nil(r.inner?.local),
    nil(r.inner?.local6),
    'local' in r ? 1 : 0,
    nil(r.local),
    r.keepalive ? 1 : 0,
  ];
}

function tunnelOf(t: unknown[]): TunnelReading {
  if (t[0] === 0) return { rec: false };
  const r: TunnelReading = {
    rec: true,
    name: def(t[1] as string | null),
    remote: def(t[2] as string | null),
    key: def(t[3] as number | null),
  };
  if (t[4] === 1) {
    const inner: { local?: string; local6?: string } = {};
    if (t[5] !== null) inner.local = t[5] as string;
    if (t[6] !== null) inner.local6 = t[6] as string;
    r.inner = inner;
  } else r.inner = U;
  if (t[7] === 1) r.local = def(t[8] as string | null);
  if (t[9] === 1) r.keepalive = true;
  return r;
}

function neighborTuple(r: NeighborReading): unknown[] {
  if (!r.rec) return [0];
  return [
    1,
    nil(r.name),
    nil(r.address),
    nil(r.remoteAs),
    nil(r.role),
    nil(r.roleKeys),
    'roleStrict' in r ? 1 : 0,
    nil(r.roleStrict),
    'tunnel' in r ? 1 : 0,
    nil(r.tunnel),
    r.prefixes === U
      ? null
      : r.prefixes.map(([k, p]) => [k, p.text, p.family, p.len, p.ge, p.le, p.net4, hex(p.net6)]),
  ];
}

function neighborOf(t: unknown[]): NeighborReading {
  if (t[0] === 0) return { rec: false };
  const r: NeighborReading = {
    rec: true,
    name: def(t[1] as string | null),
    address: def(t[2] as string | null),
    remoteAs: def(t[3] as number | null),
    role: def(t[4] as Role | null),
  };
  if (t[5] !== null) r.roleKeys = t[5] as string[];
  if (t[6] === 1) r.roleStrict = def(t[7] as boolean | null);
  if (t[8] === 1) r.tunnel = def(t[9] as string | null);
  if (t[10] !== null)
    r.prefixes = (t[10] as unknown[][]).map(
      ([k, text, family, len, ge, le, net4, net6]): [number, PrefixRule] => [
        k as number,
        {
          text: text as string,
          family: family as 4 | 6,
          len: len as number,
          ge: ge as number,
          le: le as number,
          net4: net4 as number,
          net6: unhex(net6 as string),
        },
      ],
    );
  return r;
}

const HEX = '0123456789abcdef';

/** 16 bytes as hex; all zeros (an IPv4 rule's) as ''. */
function hex(b: Uint8Array): string {
  let out = '';
  let zero = true;
  for (let i = 0; i < b.length; i++) {
    if (b[i] !== 0) zero = false;
    out += HEX[b[i]! >> 4]! + HEX[b[i]! & 15]!;
  }
  return zero && b.length === 16 ? '' : out;
}

function unhex(s: string): Uint8Array {
  const b = new Uint8Array(16);
  for (let i = 0; i < s.length >> 1; i++)
    b[i] = (nibble(s.charCodeAt(2 * i)) << 4) | nibble(s.charCodeAt(2 * i + 1));
  return b;
}

/** A hex digit's value (hex() writes lowercase only). */
function nibble(c: number): number {
  return c <= 57 ? c - 48 : c - 87;
}

/** Every number in `v` is finite and not -0 (JSON gives them back exactly). */
function exactNumbers(v: unknown): boolean {
  if (typeof v === 'number') return Number.isFinite(v) && !Object.is(v, -0);
  if (Array.isArray(v)) {
    for (const x of v) if (!exactNumbers(x)) return false;
  }
  return true;
}

const ROLE_KEY_NAMES = Object.keys(ROLE_KEYS);

/** The index of a tunnel reading in its list, for messages and subnet numbers. */
type Tunnel = TunnelReading & { i: number };

const INNER_KEYS = ['local', 'local6'] as const;

/** The family of a valid address's canonical text (IPv6 text always has a ':', IPv4 never). */
function familyOf(canonical: string): 4 | 6 {
  return canonical.includes(':') ? 6 : 4;
}

/** A prefix's network in a message (formatCidr of the masked bytes, without ipaddr.js). */
function cidrText(c: Cidr): string {
  return `${formatIpFast(network(c).bytes)}/${c.length}`;
}

/** The network of a prefix, host bits cleared (a copy). */
function network(c: Cidr): Cidr {
  const bytes = c.bytes.slice();
  for (let i = c.length >> 3; i < bytes.length; i++) {
    const bits = c.length - i * 8;
    bytes[i] = bits <= 0 ? 0 : bytes[i]! & (0xff00 >> bits);
  }
  return { family: c.family, bytes, length: c.length };
}

/** ip.ts `contains(net, ip)` for one address, without masked copies. */
function holds(net: Cidr, ip: Ip): boolean {
  if (net.family !== ip.family) return false;
  const full = net.length >> 3;
  for (let i = 0; i < full; i++) if (net.bytes[i] !== ip.bytes[i]) return false;
  const bits = net.length & 7;
  const mask = (0xff00 >> bits) & 0xff;
  return bits === 0 || (ip.bytes[full]! & mask) === (net.bytes[full]! & mask);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function crossCheck(raw: unknown, ref: Ref): PathIssue[] {
  if (!isRecord(raw)) return [];
  return checkReadings(raw, readEntries(raw), ref);
}

/**
 * crossCheck on entries already read (`entries`, in the order of the merged lists): what it says
 * is crossCheck's for the config whose entries read so. Of `raw` only the keys other than the
 * lists are read (an incremental load hands in placeholders for its unchanged entries).
 */
export function checkReadings(raw: Record<string, unknown>, entries: Readings, ref: Ref): PathIssue[] {
  const out: PathIssue[] = [];
  const add = (path: Path, message: string) => out.push({ path, message });
  const top = <T>(key: string) => (key in raw ? field<T>(mainShape as Shape, raw, key) : U);

  const localAs = top<number>('local-as');
  const underlay = top<{ local?: string; local6?: string }>('underlay');
  const tunnelItems = entries.tunnels;
  const neighborItems = entries.neighbors;

  // ---- underlay and tunnels ----
  if (underlay && underlay.local === U && underlay.local6 === U)
    add(['underlay'], 'needs local (IPv4) and/or local6 (IPv6)');
  if (tunnelItems.length > 0 && raw.underlay === U)
    add(['underlay'], 'is required when tunnels are configured');

  const tunnels: Tunnel[] = new Array(tunnelItems.length);
  for (let i = 0; i < tunnelItems.length; i++) tunnels[i] = { ...tunnelItems[i]!, i };
  for (const t of tunnels) {
    if (t.remote === U || !t.rec) continue;
    const family = familyOf(t.remote);
    const local = t.local;
    if (local !== U && familyOf(local) !== family)
      add(['tunnels', t.i, 'local'], `'${local}' is not an IPv${family} address like remote ${t.remote}`);
    if (underlay && local === U && !(family === 4 ? underlay.local : underlay.local6))
      add(
        ['tunnels', t.i, 'remote'],
        `an IPv${family} remote needs underlay.${family === 4 ? 'local' : 'local6'}`,
      );
    if (family === 6 && t.keepalive)
      add(
        ['tunnels', t.i, 'keepalive'],
        'keepalives need an IPv4 underlay (Cisco GRE keepalives are IPv4 only)',
      );
  }
  duplicates(
    'tunnels',
    'name',
    tunnels.map((t) => t.name),
    (first) => `duplicates the name of ${ref(first)}`,
    add,
  );
  duplicates(
    'tunnels',
    'key',
    tunnels.map((t) => (t.remote !== U && t.key !== U ? `${t.remote} key ${t.key}` : U)),
    (first, k) => `remote ${k} is already ${ref(first)}: one tunnel per remote and GRE key`,
    add,
  );
  // Inner subnets: a packet to one address must belong to one tunnel. The first subnet (in
  // config order) that a later one overlaps is the one named. Subnet `s` is tunnel s >> 1's
  // inner.local (s even) or inner.local6 (s odd): config order is the order of the numbers,
  // and the index holds numbers, not an object per subnet.
  const nets: Array<Cidr | undefined> = new Array(tunnels.length * 2);
  const lengths = new Lengths();
  for (const t of tunnels) {
    for (let k = 0; k < 2; k++) {
      const text = t.inner?.[INNER_KEYS[k]!];
      const c = text === U ? U : parseCidrFast(text);
      if (c) lengths.add(c.family, c.length);
      nets[t.i * 2 + k] = c;
    }
  }
  // The index reads a prefix's bytes up to its length only: host bits need no clearing.
  const subnets = new OverlapIndex<number>(lengths.list, nets.length);
  let clash = -1;
  const earliest = (s: number) => {
    if (clash < 0 || s < clash) clash = s;
  };
  for (let s = 0; s < nets.length; s++) {
    const net = nets[s];
    if (!net) continue;
    clash = -1;
    subnets.forEachOverlapping(net, earliest);
    if (clash < 0) {
      subnets.add(net, s);
      continue;
    }
    const theirs = nets[clash]!;
    const at = ref(['tunnels', clash >> 1, 'inner', INNER_KEYS[clash & 1]!]);
    const mine = cidrText(net);
    add(
      ['tunnels', s >> 1, 'inner', INNER_KEYS[s & 1]!],
      theirs.length === net.length
        ? `the same inner subnet (${mine}) as ${at}`
        : `inner subnet ${mine} overlaps ${cidrText(theirs)} of ${at}`,
    );
  }

  // ---- neighbors ----
  // A name given twice: the last tunnel of that name (its duplicate is reported above).
  const byName = new StringTable(tunnels.length);
  for (const t of tunnels) if (t.name !== U) byName.set(t.name, t.i);
  const names: Array<string | undefined> = new Array(neighborItems.length);
  const addresses: Array<string | undefined> = new Array(neighborItems.length);
  // Customers' rules, numbered in config order (customer, then rule), one array per field.
  const rules: Rules = { rule: [], k: [], neighbor: [], as: [], customer: [] };
  const customerStart: number[] = []; // customer c's rules: customerStart[c] to customerStart[c + 1]
  for (let i = 0; i < neighborItems.length; i++) {
    const n = neighborItems[i];
    if (!n.rec) continue; // nothing of it is valid: no name, no address
    const { role, remoteAs, address } = n;
    names[i] = n.name;
    addresses[i] = address;
    if (role && remoteAs !== U && localAs !== U) {
      if (role === 'internal' && remoteAs !== localAs)
        add(
          ['neighbors', i, 'remote-as'],
          `an internal neighbor must have remote-as = local-as (${localAs})`,
        );
      else if (role !== 'internal' && remoteAs === localAs)
        add(['neighbors', i, 'role'], `remote-as equals local-as (${localAs}): use role internal`);
    }
    if (role && n.roleKeys) {
      for (const key of n.roleKeys) {
        const only = ROLE_KEYS[key]!;
        if (only.roles.includes(role)) continue;
        // role-strict: false says nothing for an internal neighbor; true asks for what cannot be.
        if (key === 'role-strict' && n.roleStrict !== true) continue;
        add(['neighbors', i, key], only.message);
      }
    }
    const tunnelName = n.tunnel;
    if (tunnelName !== U) {
      const at = byName.get(tunnelName);
      if (at < 0) add(['neighbors', i, 'tunnel'], `no tunnel named '${tunnelName}' in tunnels`);
      else if (address !== U) insideTunnel(address, tunnels[at]!, nets, i, ref, add);
    }
    if (role === 'customer' && remoteAs !== U && n.prefixes !== U) {
      const customer = customerStart.length;
      customerStart.push(rules.rule.length);
      for (const [k, rule] of n.prefixes) {
        rules.rule.push(rule);
        rules.k.push(k);
        rules.neighbor.push(i);
        rules.as.push(remoteAs);
        rules.customer.push(customer);
      }
    }
  }
  customerStart.push(rules.rule.length);
  duplicates('neighbors', 'name', names, (first) => `duplicates the name of ${ref(first)}`, add);
  duplicates('neighbors', 'address', addresses, (first) => `duplicates the address of ${ref(first)}`, add);
  claimChecks(rules, customerStart, ref, add);

  // ---- fib ----
  if (isRecord(raw.fib)) {
    const fibRaw = raw.fib;
    // Equal tables are a problem even while either is invalid for another reason (254).
    const table = (key: string) =>
      fibRaw[key] === U
        ? field<number>(fibShape as Shape, fibRaw, key)
        : Number.isInteger(fibRaw[key])
          ? (fibRaw[key] as number)
          : U;
    const full = table('full-table');
    const resale = table('resale-table');
    if (full !== U && full === resale) {
      const key = fibRaw['resale-table'] !== U ? 'resale-table' : 'full-table';
      const other = key === 'resale-table' ? 'full-table' : 'resale-table';
      add(['fib', key], `must differ from fib.${other} (${full})`);
    }
  }
  // ---- rpki ----
  if (isRecord(raw.rpki)) rpkiChecks(raw.rpki, ref, add);
  // ---- provisioning (config/provisioning.ts) ----
  if (isRecord(raw.provisioning)) {
    const prov = raw.provisioning;
    const pf = (key: string) => field<string>(provisioningShape as Shape, prov, key);
    const provisioning: ProvisioningInput['provisioning'] = {
      keyRange: pf('key-range'),
      innerPool4: pf('inner-pool4'),
      innerPool6: pf('inner-pool6'),
      directory: pf('directory'),
    };
    for (const i of provisioningIssues({
      provisioning,
      include: raw.include,
      written: { dataplane: raw.dataplane !== U, underlay: raw.underlay !== U, listen: raw.listen !== U },
      tunnels: tunnels.map((t) => ({
        i: t.i,
        key: t.key,
        ...(t.inner ? { inner: t.inner } : {}),
      })),
    }))
      add(i.path, i.message);
  }
  return out;
}

/** RTR caches named once each; RFC 8210 §6: expire longer than refresh and retry. */
function rpkiChecks(
  rpki: Record<string, unknown>,
  ref: Ref,
  add: (path: Path, message: string) => void,
): void {
  const items = Array.isArray(rpki.servers) ? (rpki.servers as unknown[]) : [];
  const seen = new Map<string, Path>();
  items.forEach((item, i) => {
    const r = rtrServerSchema.safeParse(item);
    if (!r.success) return;
    const key = `${r.data.address} port ${r.data.port}`;
    const first = seen.get(key);
    if (first) add(['rpki', 'servers', i], `${key} is already ${ref(first)}`);
    else seen.set(key, ['rpki', 'servers', i]);
  });
  const expire = rpki.expire !== U ? field<number>(rpkiShape as Shape, rpki, 'expire') : U;
  if (expire === U) return;
  for (const key of ['refresh', 'retry'] as const) {
    const v = rpki[key] !== U ? field<number>(rpkiShape as Shape, rpki, key) : U;
    if (v !== U && expire <= v)
      add(['rpki', 'expire'], `must be longer than rpki.${key} (${v}) (RFC 8210 §6)`);
  }
}

/** A session inside a tunnel runs between the tunnel's inner addresses (fib/targets.ts). */
function insideTunnel(
  address: string,
  t: Tunnel,
  nets: ReadonlyArray<Cidr | undefined>,
  i: number,
  ref: Ref,
  add: (path: Path, message: string) => void,
): void {
  const ip = parseIpFast(address);
  if (!ip) return;
  const key = ip.family === 4 ? 'local' : 'local6';
  if (t.inner && t.inner[key] === U) {
    add(
      ['neighbors', i, 'tunnel'],
      `tunnel '${t.name}' (${ref(['tunnels', t.i])}) has no inner.${key}: an IPv${ip.family} session inside it needs one`,
    );
    return;
  }
  const ours = nets[t.i * 2 + (ip.family === 4 ? 0 : 1)];
  if (!ours) return;
  if (sameBytes(ours.bytes, ip.bytes))
    add(['neighbors', i, 'address'], `${address} is our own inner address in tunnel '${t.name}'`);
  else if (!holds(ours, ip))
    add(
      ['neighbors', i, 'address'],
      `${address} is not inside the inner subnet ${cidrText(ours)} of tunnel '${t.name}'`,
    );
}

/** Customers' valid prefix rules, numbered in config order: the fields of rule r at [r]. */
interface Rules {
  rule: PrefixRule[];
  /** The rule's index in its neighbor's `prefixes`. */
  k: number[];
  neighbor: number[];
  as: number[];
  customer: number[];
}

/**
 * Two customers (two ASes) may not claim the same space: each prefix has one owner. Sessions of
 * one AS (two circuits of one customer) may repeat their prefixes. The first earlier customer
 * (in config order) with an overlapping rule is named, with its first such rule: the lowest rule
 * number. Rules are found by prefix (OverlapIndex, which holds rule numbers), then checked whole
 * (ge/le).
 */
function claimChecks(
  rules: Rules,
  customerStart: readonly number[],
  ref: Ref,
  add: (path: Path, message: string) => void,
): void {
  const lengths = new Lengths();
  for (const r of rules.rule) lengths.add(r.family, r.len);
  const claims = new OverlapIndex<number>(lengths.list, rules.rule.length);
  const at = ruleCidr4();
  let hit = -1;
  let as = 0;
  let rule: PrefixRule;
  const visit = (o: number) => {
    if (rules.as[o] === as || !rulesOverlap(rules.rule[o]!, rule)) return;
    if (hit < 0 || o < hit) hit = o;
  };
  for (let c = 0; c + 1 < customerStart.length; c++) {
    const from = customerStart[c]!;
    const to = customerStart[c + 1]!;
    for (let r = from; r < to; r++) {
      rule = rules.rule[r]!;
      as = rules.as[r]!;
      hit = -1;
      claims.forEachOverlapping(at(rule), visit);
      if (hit >= 0)
        add(
          ['neighbors', rules.neighbor[r]!, 'prefixes', rules.k[r]!],
          `'${rule.text}' overlaps '${rules.rule[hit]!.text}' of another customer, ${ref(['neighbors', rules.neighbor[hit]!, 'prefixes', rules.k[hit]!])} (AS ${rules.as[hit]})`,
        );
    }
    for (let r = from; r < to; r++) claims.add(at(rules.rule[r]!), r);
  }
}

/**
 * ruleCidr without an object per call: the prefix of a rule as one Cidr that is rewritten for
 * each rule (the index reads it during the call only).
 */
function ruleCidr4(): (r: PrefixRule) => Cidr {
  const v4 = new Uint8Array(4);
  const c: Cidr = { family: 4, bytes: v4, length: 0 };
  return (r) => {
    c.family = r.family;
    c.length = r.len;
    if (r.family === 6) c.bytes = r.net6;
    else {
      v4[0] = r.net4 >>> 24;
      v4[1] = (r.net4 >>> 16) & 0xff;
      v4[2] = (r.net4 >>> 8) & 0xff;
      v4[3] = r.net4 & 0xff;
      c.bytes = v4;
    }
    return c;
  };
}

/** The distinct (family, length) pairs an OverlapIndex is built for. */
class Lengths {
  readonly list: Array<{ family: 4 | 6; length: number }> = [];
  readonly #seen = new Set<number>();
  add(family: 4 | 6, length: number): void {
    const k = family * 256 + length;
    if (this.#seen.has(k)) return;
    this.#seen.add(k);
    this.list.push({ family, length });
  }
}

/**
 * The entries of `section` whose key (by index; undefined: none) an earlier one already has:
 * each is reported at `[section, i, field]`, naming the first entry with that key.
 */
function duplicates(
  section: string,
  fieldName: string,
  keys: ReadonlyArray<string | undefined>,
  message: (first: Path, key: string) => string,
  add: (path: Path, message: string) => void,
): void {
  const seen = new StringTable(keys.length);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    if (key === U) continue;
    const first = seen.claim(key, i);
    if (first >= 0) add([section, i, fieldName], message([section, first], key));
  }
}

// ---- what an incremental load needs to check a few entries against all the others ----

/**
 * One key per entry, all in one string: entry i's key is text[at[i], at[i + 1] - 1) (each key
 * is followed by a '\n', which no name or address holds; an entry without one has ''). A memo
 * holds these instead of an object per entry: it is read back at the cost of a copy.
 */
export interface Joined {
  text: string;
  at: Int32Array;
}

/** What the checks between entries compare, of every entry of a config, by index. */
export interface EntryKeys {
  tunnels: {
    names: Joined;
    /** `REMOTE key KEY`, the duplicates check's key. */
    remoteKeys: Joined;
    /** Per tunnel two slots (inner.local, inner.local6) of SLOT bytes: family (0: none), length, 0, 0, 16 bytes. */
    nets: Uint8Array;
  };
  neighbors: {
    names: Joined;
    addresses: Joined;
    tunnels: Joined;
    /** Every rule of every neighbor's prefixes, SLOT bytes each: family, len, ge, le, 16 bytes. */
    rules: Uint8Array;
    ruleOwner: Int32Array;
  };
}

const SLOT = 20;

function joined(keys: ReadonlyArray<string | undefined>): Joined {
  const at = new Int32Array(keys.length + 1);
  let n = 0;
  const parts: string[] = new Array(keys.length);
  for (let i = 0; i < keys.length; i++) {
    at[i] = n;
    const k = keys[i] ?? '';
    parts[i] = k;
    n += k.length + 1;
  }
  at[keys.length] = n;
  return { text: parts.length ? `${parts.join('\n')}\n` : '', at };
}

/** The entries whose key is `key` (a non-empty key without '\n'). */
function lookup(j: Joined, key: string, found: (i: number) => void): void {
  if (key === '' || key.includes('\n')) return;
  let from = 0;
  for (;;) {
    const p = j.text.indexOf(`${key}\n`, from);
    if (p < 0) return;
    from = p + 1;
    // Whole keys only: at an entry's start.
    let lo = 0;
    let hi = j.at.length - 2;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (j.at[mid]! <= p) lo = mid;
      else hi = mid - 1;
    }
    if (j.at[lo] === p && j.at[lo + 1]! - 1 - p === key.length) found(lo);
  }
}

function keyOf(j: Joined, i: number): string {
  return j.text.slice(j.at[i]!, j.at[i + 1]! - 1);
}

function putSlot(
  b: Uint8Array,
  at: number,
  family: number,
  len: number,
  ge: number,
  le: number,
  bytes: Uint8Array,
): void {
  b[at] = family;
  b[at + 1] = len;
  b[at + 2] = ge;
  b[at + 3] = le;
  b.set(bytes.subarray(0, 16), at + 4);
}

/** Whether the prefixes in two slots overlap (the shorter one holds the other). */
function slotsOverlap(a: Uint8Array, i: number, b: Uint8Array, k: number): boolean {
  if (a[i] === 0 || a[i] !== b[k]) return false;
  const len = Math.min(a[i + 1]!, b[k + 1]!);
  const full = len >> 3;
  for (let x = 0; x < full; x++) if (a[i + 4 + x] !== b[k + 4 + x]) return false;
  const bits = len & 7;
  if (bits === 0) return true;
  const mask = (0xff00 >> bits) & 0xff;
  return (a[i + 4 + full]! & mask) === (b[k + 4 + full]! & mask);
}

function ruleBytes(r: PrefixRule): Uint8Array {
  if (r.family === 6) return r.net6;
  return Uint8Array.of(r.net4 >>> 24, (r.net4 >>> 16) & 0xff, (r.net4 >>> 8) & 0xff, r.net4 & 0xff);
}

/**
 * EntryKeys made entry by entry, in order: each entry from its reading, or copied from the keys
 * of another config (an entry kept from it: no reading made again).
 */
export class KeysBuilder {
  readonly #t = {
    names: [] as Array<string | undefined>,
    remoteKeys: [] as Array<string | undefined>,
    nets: [] as Uint8Array[],
  };
  readonly #n = {
    names: [] as Array<string | undefined>,
    addresses: [] as Array<string | undefined>,
    tunnels: [] as Array<string | undefined>,
    rules: [] as Uint8Array[],
    owner: [] as number[],
  };

  tunnel(t: TunnelReading): void {
    const nets = new Uint8Array(2 * SLOT);
    for (let k = 0; k < 2; k++) {
      const text = t.inner?.[INNER_KEYS[k]!];
      const c = text === U ? U : parseCidrFast(text);
      if (c) putSlot(nets, k * SLOT, c.family, c.length, 0, 0, c.bytes);
    }
    this.#t.names.push(t.name);
    this.#t.remoteKeys.push(remoteKey(t));
    this.#t.nets.push(nets);
  }

  copyTunnel(from: EntryKeys, i: number): void {
    const T = from.tunnels;
    this.#t.names.push(keyOf(T.names, i));
    this.#t.remoteKeys.push(keyOf(T.remoteKeys, i));
    this.#t.nets.push(T.nets.subarray(i * 2 * SLOT, (i + 1) * 2 * SLOT));
  }

  neighbor(n: NeighborReading): void {
    const i = this.#n.names.length;
    this.#n.names.push(n.name);
    this.#n.addresses.push(n.address);
    this.#n.tunnels.push(n.tunnel);
    for (const [, rule] of n.prefixes ?? []) {
      const slot = new Uint8Array(SLOT);
      putSlot(slot, 0, rule.family, rule.len, rule.ge, rule.le, ruleBytes(rule));
      this.#n.rules.push(slot);
      this.#n.owner.push(i);
    }
  }

  copyNeighbor(from: EntryKeys, i: number): void {
    const N = from.neighbors;
    const at = this.#n.names.length;
    this.#n.names.push(keyOf(N.names, i));
    this.#n.addresses.push(keyOf(N.addresses, i));
    this.#n.tunnels.push(keyOf(N.tunnels, i));
    // Rules are in owner order: the first of owner i, then while the owner is i.
    let lo = 0;
    let hi = N.ruleOwner.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (N.ruleOwner[mid]! < i) lo = mid + 1;
      else hi = mid;
    }
    for (let r = lo; r < N.ruleOwner.length && N.ruleOwner[r] === i; r++) {
      this.#n.rules.push(N.rules.subarray(r * SLOT, (r + 1) * SLOT));
      this.#n.owner.push(at);
    }
  }

  build(): EntryKeys {
    const concat = (parts: Uint8Array[]) => {
      const out = new Uint8Array(parts.length * (parts[0]?.length ?? 0));
      let at = 0;
      for (const p of parts) {
        out.set(p, at);
        at += p.length;
      }
      return out;
    };
    return {
      tunnels: {
        names: joined(this.#t.names),
        remoteKeys: joined(this.#t.remoteKeys),
        nets: concat(this.#t.nets),
      },
      neighbors: {
        names: joined(this.#n.names),
        addresses: joined(this.#n.addresses),
        tunnels: joined(this.#n.tunnels),
        rules: concat(this.#n.rules),
        ruleOwner: Int32Array.from(this.#n.owner),
      },
    };
  }
}

/** The duplicates check's key of a tunnel. */
function remoteKey(t: TunnelReading): string | undefined {
  return t.remote !== U && t.key !== U ? `${t.remote} key ${t.key}` : U;
}

/**
 * The entries of a config (`keys`, by index) that the checks between entries could set against
 * `changed` entries (readings of entries that were not in that config), or against tunnels of it
 * that are gone (`goneTunnels`, their indexes): same names, addresses, remotes and keys,
 * overlapping inner subnets or rules, a tunnel named by a neighbor either way. With the
 * tunnels the neighbors found name. What it gives is more than enough: a config that passed
 * every check, with `changed` added and the gone entries left out, passes them all exactly when
 * `changed` and these entries do (checkReadings on just them), given the same head.
 */
export function related(
  keys: EntryKeys,
  changed: Readings,
  goneTunnels: readonly number[],
): { tunnels: Set<number>; neighbors: Set<number> } {
  const tunnels = new Set<number>();
  const neighbors = new Set<number>();
  const T = keys.tunnels;
  const N = keys.neighbors;
  const addT = (i: number) => tunnels.add(i);
  const addN = (i: number) => neighbors.add(i);
  const slot = new Uint8Array(SLOT);
  for (const t of changed.tunnels) {
    if (t.name !== U) {
      lookup(T.names, t.name, addT);
      lookup(N.tunnels, t.name, addN);
    }
    const rk = remoteKey(t);
    if (rk !== U) lookup(T.remoteKeys, rk, addT);
    for (const k of INNER_KEYS) {
      const text = t.inner?.[k];
      const c = text === U ? U : parseCidrFast(text);
      if (!c) continue;
      putSlot(slot, 0, c.family, c.length, 0, 0, c.bytes);
      for (let s = 0; s < T.nets.length; s += SLOT)
        if (slotsOverlap(slot, 0, T.nets, s)) tunnels.add((s / SLOT) >> 1);
    }
  }
  for (const i of goneTunnels) lookup(N.tunnels, keyOf(T.names, i), addN);
  for (const n of changed.neighbors) {
    if (n.name !== U) lookup(N.names, n.name, addN);
    if (n.address !== U) lookup(N.addresses, n.address, addN);
    if (n.tunnel !== U) lookup(T.names, n.tunnel, addT);
    for (const [, rule] of n.prefixes ?? []) {
      putSlot(slot, 0, rule.family, rule.len, rule.ge, rule.le, ruleBytes(rule));
      for (let s = 0, r = 0; s < N.rules.length; s += SLOT, r++)
        if (slotsOverlap(slot, 0, N.rules, s)) neighbors.add(N.ruleOwner[r]!);
    }
  }
  // The tunnels the neighbors found name (an entry's checks read the tunnel it names).
  for (const i of neighbors) {
    const name = keyOf(N.tunnels, i);
    if (name !== '') lookup(T.names, name, addT);
  }
  return { tunnels, neighbors };
}
