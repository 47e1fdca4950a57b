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
import { OverlapIndex } from '../net/overlap.js';
import { parsePrefixRule, type PrefixRule, ruleCidr, rulesOverlap } from '../policy/prefix-set.js';
import {
  type Cidr,
  contains,
  formatCidr,
  ipFamily,
  maskBytes,
  parseCidr,
  parseIp,
  sameBytes,
} from '../net/ip.js';
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

type Shape = Record<string, { safeParse(v: unknown): { success: boolean; data?: unknown } }>;

/** A field's parsed value (defaults applied), or undefined when it is not valid. */
function field<T>(shape: Shape, raw: unknown, key: string): T | undefined {
  if (!isRecord(raw)) return undefined;
  const r = shape[key]!.safeParse(raw[key]);
  return r.success ? (r.data as T) : undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Names another entry in a message: `tunnels[0] (conf.d/a.yaml:3:5)`. */
export type Ref = (path: Path) => string;

interface Tunnel {
  i: number;
  raw: unknown;
  name?: string;
  remote?: string;
  inner?: { local?: string; local6?: string };
}

const U = undefined;

export function crossCheck(raw: unknown, ref: Ref): PathIssue[] {
  if (!isRecord(raw)) return [];
  const out: PathIssue[] = [];
  const add = (path: Path, message: string) => out.push({ path, message });
  const top = <T>(key: string) => (key in raw ? field<T>(mainShape as Shape, raw, key) : U);

  const localAs = top<number>('local-as');
  const underlay = top<{ local?: string; local6?: string }>('underlay');
  const tunnelItems = Array.isArray(raw.tunnels) ? (raw.tunnels as unknown[]) : [];
  const neighborItems = Array.isArray(raw.neighbors) ? (raw.neighbors as unknown[]) : [];

  // ---- underlay and tunnels ----
  if (underlay && underlay.local === U && underlay.local6 === U)
    add(['underlay'], 'needs local (IPv4) and/or local6 (IPv6)');
  if (tunnelItems.length > 0 && raw.underlay === U)
    add(['underlay'], 'is required when tunnels are configured');

  const tunnels: Tunnel[] = tunnelItems.map((t, i) => {
    const x: Tunnel = { i, raw: t };
    const name = field<string>(tunnelShape as Shape, t, 'name');
    const remote = field<string>(tunnelShape as Shape, t, 'remote');
    const inner = field<Tunnel['inner']>(tunnelShape as Shape, t, 'inner');
    if (name !== U) x.name = name;
    if (remote !== U) x.remote = remote;
    if (inner !== U) x.inner = inner;
    return x;
  });
  for (const t of tunnels) {
    const p = (...rest: PropertyKey[]): Path => ['tunnels', t.i, ...rest];
    const family = t.remote === U ? 0 : ipFamily(t.remote);
    const local =
      isRecord(t.raw) && t.raw.local !== U ? field<string>(tunnelShape as Shape, t.raw, 'local') : U;
    if (family && local !== U && ipFamily(local) !== family)
      add(p('local'), `'${local}' is not an IPv${family} address like remote ${t.remote}`);
    if (family && underlay && local === U && !(family === 4 ? underlay.local : underlay.local6))
      add(p('remote'), `an IPv${family} remote needs underlay.${family === 4 ? 'local' : 'local6'}`);
    if (family === 6 && isRecord(t.raw) && t.raw.keepalive !== U)
      add(p('keepalive'), 'keepalives need an IPv4 underlay (Cisco GRE keepalives are IPv4 only)');
  }
  duplicates(
    tunnels.map((t) => ({ path: ['tunnels', t.i, 'name'], key: t.name })),
    (first) => `duplicates the name of ${ref(first)}`,
    add,
  );
  duplicates(
    tunnels.map((t) => {
      const key = field<number>(tunnelShape as Shape, t.raw, 'key');
      return {
        path: ['tunnels', t.i, 'key'],
        key: t.remote !== U && key !== U ? `${t.remote} key ${key}` : U,
      };
    }),
    (first, k) => `remote ${k} is already ${ref(first)}: one tunnel per remote and GRE key`,
    add,
  );
  // Inner subnets: a packet to one address must belong to one tunnel. The first subnet (in
  // config order) that a later one overlaps is the one named.
  const inner: Array<{ path: Path; net: Cidr }> = [];
  for (const t of tunnels) {
    for (const k of ['local', 'local6'] as const) {
      const text = t.inner?.[k];
      const c = text === U ? U : parseCidr(text);
      if (c)
        inner.push({
          path: ['tunnels', t.i, 'inner', k],
          net: { ...c, bytes: maskBytes(c.bytes, c.length) },
        });
    }
  }
  const subnets = new OverlapIndex<{ order: number; path: Path; cidr: Cidr }>(inner.map((x) => x.net));
  for (const [order, { path, net }] of inner.entries()) {
    let clash: { order: number; path: Path; cidr: Cidr } | undefined;
    for (const s of subnets.overlapping(net)) if (!clash || s.order < clash.order) clash = s;
    if (clash) {
      const theirs = formatCidr(clash.cidr.bytes, clash.cidr.length);
      const mine = formatCidr(net.bytes, net.length);
      add(
        path,
        clash.cidr.length === net.length
          ? `the same inner subnet (${mine}) as ${ref(clash.path)}`
          : `inner subnet ${mine} overlaps ${theirs} of ${ref(clash.path)}`,
      );
    } else subnets.add(net, { order, path, cidr: net });
  }

  // ---- neighbors ----
  const byName = new Map(tunnels.filter((t) => t.name !== U).map((t) => [t.name!, t]));
  const names: Array<{ path: Path; key: string | undefined }> = [];
  const addresses: Array<{ path: Path; key: string | undefined }> = [];
  const customers: Array<{
    i: number;
    as: number;
    rules: Array<{ k: number; rule: PrefixRule; cidr: Cidr }>;
  }> = [];
  neighborItems.forEach((n, i) => {
    const p = (...rest: PropertyKey[]): Path => ['neighbors', i, ...rest];
    const get = <T>(key: string) => field<T>(neighborShape as Shape, n, key);
    const has = (key: string) => isRecord(n) && n[key] !== U;
    const role = get<Role>('role');
    const remoteAs = get<number>('remote-as');
    const address = get<string>('address');
    names.push({ path: p('name'), key: get<string>('name') });
    addresses.push({ path: p('address'), key: address });
    if (role && remoteAs !== U && localAs !== U) {
      if (role === 'internal' && remoteAs !== localAs)
        add(p('remote-as'), `an internal neighbor must have remote-as = local-as (${localAs})`);
      else if (role !== 'internal' && remoteAs === localAs)
        add(p('role'), `remote-as equals local-as (${localAs}): use role internal`);
    }
    if (role) {
      for (const [key, only] of Object.entries(ROLE_KEYS)) {
        if (!has(key) || only.roles.includes(role)) continue;
        // role-strict: false says nothing for an internal neighbor; true asks for what cannot be.
        if (key === 'role-strict' && get<boolean>(key) !== true) continue;
        add(p(key), only.message);
      }
    }
    const tunnelName = has('tunnel') ? get<string>('tunnel') : U;
    if (tunnelName !== U) {
      const t = byName.get(tunnelName);
      if (!t) add(p('tunnel'), `no tunnel named '${tunnelName}' in tunnels`);
      else if (address !== U) insideTunnel(address, t, p, ref, add);
    }
    if (role === 'customer' && remoteAs !== U && has('prefixes')) {
      const rules = (get<string[]>('prefixes') ?? []).flatMap((text, k) => {
        const rule = parsePrefixRule(text);
        return typeof rule === 'string' ? [] : [{ k, rule, cidr: ruleCidr(rule) }];
      });
      customers.push({ i, as: remoteAs, rules });
    }
  });
  duplicates(names, (first) => `duplicates the name of ${ref(first)}`, add);
  duplicates(addresses, (first) => `duplicates the address of ${ref(first)}`, add);

  // Two customers (two ASes) may not claim the same space: each prefix has one owner. Sessions
  // of one AS (two circuits of one customer) may repeat their prefixes.
  // The first earlier customer (in config order) with an overlapping rule is named, with its
  // first such rule; rules are found by prefix (OverlapIndex), then checked whole (ge/le).
  type Claim = { ci: number; k: number; rule: PrefixRule; i: number; as: number };
  const claims = new OverlapIndex<Claim>(customers.flatMap((c) => c.rules.map((r) => r.cidr)));
  customers.forEach((c, ci) => {
    for (const { k, rule, cidr } of c.rules) {
      let hit: Claim | undefined;
      for (const o of claims.overlapping(cidr)) {
        if (o.as === c.as || !rulesOverlap(o.rule, rule)) continue;
        if (!hit || o.ci < hit.ci || (o.ci === hit.ci && o.k < hit.k)) hit = o;
      }
      if (hit)
        add(
          ['neighbors', c.i, 'prefixes', k],
          `'${rule.text}' overlaps '${hit.rule.text}' of another customer, ${ref(['neighbors', hit.i, 'prefixes', hit.k])} (AS ${hit.as})`,
        );
    }
    for (const { k, rule, cidr } of c.rules) claims.add(cidr, { ci, k, rule, i: c.i, as: c.as });
  });

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
        key: field<number>(tunnelShape as Shape, t.raw, 'key'),
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
  p: (...rest: PropertyKey[]) => Path,
  ref: Ref,
  add: (path: Path, message: string) => void,
): void {
  const ip = parseIp(address);
  if (!ip) return;
  const key = ip.family === 4 ? 'local' : 'local6';
  const inner = t.inner?.[key];
  if (t.inner && inner === U) {
    add(
      p('tunnel'),
      `tunnel '${t.name}' (${ref(['tunnels', t.i])}) has no inner.${key}: an IPv${ip.family} session inside it needs one`,
    );
    return;
  }
  const ours = inner === U ? U : parseCidr(inner);
  if (!ours) return;
  const net = formatCidr(maskBytes(ours.bytes, ours.length), ours.length);
  if (sameBytes(ours.bytes, ip.bytes))
    add(p('address'), `${address} is our own inner address in tunnel '${t.name}'`);
  else if (!contains(ours, ip))
    add(p('address'), `${address} is not inside the inner subnet ${net} of tunnel '${t.name}'`);
}

function duplicates(
  entries: ReadonlyArray<{ path: Path; key: string | undefined }>,
  message: (first: Path, key: string) => string,
  add: (path: Path, message: string) => void,
): void {
  const seen = new Map<string, Path>();
  for (const { path, key } of entries) {
    if (key === U) continue;
    const first = seen.get(key);
    if (first) add(path, message(first.slice(0, 2), key));
    else seen.set(key, path);
  }
}
