/**
 * What changed between two validated configs, named the way an operator reads it and the way a
 * reload applies it: neighbors and tunnels by name (added, removed, changed with the fields that
 * changed), everything else by top-level key. Each neighbor change says what it costs, in the
 * manner of BIRD's reconfigure(): `in-place` (policy: routes are re-evaluated and the difference
 * is sent, no session reset) or `reset` (the session must be re-established: address, AS,
 * timers, families, role — anything the OPEN carries or checks, RFC 4271 §4.2, RFC 9234 §4).
 * Top-level keys a running daemon cannot change (router id, AS, listener, data plane, control
 * socket) are named in `restart`: a reload that changes one is refused. Pure: no I/O, no
 * knowledge of the running daemon.
 */
import { StringTable } from '../net/overlap.js';
import type { Config, NeighborConfig, TunnelConfig } from './types.js';

/** Neighbor fields whose change only re-evaluates routes (import or export policy). */
export const NEIGHBOR_IN_PLACE: ReadonlySet<keyof NeighborConfig> = new Set<keyof NeighborConfig>([
  // Not `role`: the BGP Role capability (RFC 9234) is in the OPEN, and so is the OTC marking
  // of routes already stored (their original form is not kept).
  'resale',
  'noResale',
  'prefixes',
  'maxPrefix',
  'roleStrict',
  'nextHopSelf',
  'nextHop6',
  'description',
  'passive',
  'connectRetry', // the next connection attempt's back-off; not negotiated
]);

/**
 * Top-level keys (kebab-case) that only a restart of gredged changes: the BGP identifier and AS
 * every session carries, the listener, the TUN and its workers, the underlay addresses, the
 * control socket. `fib` is not one: its module restarts in place (daemon/reload.ts). Nor is
 * `metrics`: the HTTP exporter is restarted on its new address in place (IN_PLACE_RESTART_KEYS).
 */
export const RESTART_KEYS: readonly string[] = [
  'router-id',
  'local-as',
  'listen',
  'dataplane',
  'underlay',
  'control',
];

/**
 * Top-level keys (kebab-case) whose module a reload restarts in place, without touching sessions
 * or tunnels: `fib` (its tables are rewritten) and `metrics` (the HTTP exporter binds the new
 * address before the old one is closed; a failed bind refuses the reload and keeps the old one).
 */
export const IN_PLACE_RESTART_KEYS: readonly string[] = ['fib', 'metrics'];

export interface NeighborChange {
  name: string;
  fields: string[];
  /** `reset`: the session is re-established; `in-place`: routes are re-evaluated only. */
  apply: 'in-place' | 'reset';
}

export interface TunnelChange {
  name: string;
  fields: string[];
}

/**
 * How a reload applies an `rpki` change (daemon/rpki.ts), all in place: `start` / `stop` the
 * validation, `caches` (servers or timers: a new RTR client syncs, then the RIB switches to
 * it), `policy` (`invalid`: stored routes re-evaluated).
 */
export interface RpkiChange {
  fields: string[];
  apply: 'start' | 'stop' | 'caches' | 'policy' | 'caches and policy';
}

export function rpkiChange(old: Config['rpki'], now: Config['rpki']): RpkiChange | undefined {
  if (sameValue(old, now)) return undefined;
  if (!old) return { fields: [], apply: 'start' };
  if (!now) return { fields: [], apply: 'stop' };
  const fields = changedFields(old, now).map(kebab);
  const policy = fields.includes('invalid');
  const caches = fields.some((f) => f !== 'invalid');
  return { fields, apply: caches && policy ? 'caches and policy' : caches ? 'caches' : 'policy' };
}

export interface ConfigDiff {
  /** Nothing at all changed. */
  same: boolean;
  /** Top-level keys other than neighbors and tunnels whose value changed (kebab-case). */
  keys: string[];
  /** Changed keys only a restart applies (RESTART_KEYS), with the sub-field when there is one
   * (`dataplane.workers`); a reload that has any is refused. */
  restart: string[];
  neighbors: { added: string[]; removed: string[]; changed: NeighborChange[] };
  tunnels: { added: string[]; removed: string[]; changed: TunnelChange[] };
  /** Present when `rpki` changed. */
  rpki?: RpkiChange;
}

/**
 * Deep equality of config values (plain data: objects, arrays, primitives); a key whose value is
 * undefined counts as absent. The same object on both sides is equal at once: the loader hands
 * back the objects of entries that did not change, so most of a reload's comparisons end there.
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const arrays = Array.isArray(a);
  if (arrays !== Array.isArray(b)) return false;
  if (arrays) {
    const aa = a as unknown[];
    const bb = b as unknown[];
    if (aa.length !== bb.length) return false;
    for (let i = 0; i < aa.length; i++) if (aa[i] !== bb[i] && !sameValue(aa[i], bb[i])) return false;
    return true;
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  // Every defined own value of a equals b's, and b defines as many: then b defines the same keys.
  // `for in` with hasOwn reads Object.keys' keys without making a list per object.
  let defined = 0;
  for (const k in ra) {
    if (!hasOwn.call(ra, k)) continue;
    const v = ra[k];
    if (v === undefined) continue;
    defined++;
    const w = rb[k];
    if (v !== w && !sameValue(v, w)) return false; // most values are equal primitives: no call
  }
  for (const k in rb) if (hasOwn.call(rb, k) && rb[k] !== undefined) defined--;
  return defined === 0;
}

const hasOwn = Object.prototype.hasOwnProperty;

function kebab(s: string): string {
  return s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** Field names (kebab-case, as in the YAML) whose values differ between two records. */
function changedFields<T extends object>(a: T, b: T): Array<keyof T & string> {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof T & string>;
  return [...keys].filter((k) => !sameValue(a[k], b[k])).sort();
}

/** Names only in the new list, only in the old one, and the entries in both (olds[i] ↔ nows[i]). */
interface Matched<T> {
  added: string[];
  removed: string[];
  olds: readonly T[];
  nows: readonly T[];
}

/**
 * Entries of two lists matched by name, as Maps by name would: a name given twice stands for
 * its last entry, in the place of its first; added and removed in that order, pairs in the new
 * list's order. A reload's lists are mostly the same names in the same order: that is checked
 * first, entry by entry, and a string table (net/overlap.ts) stands in for the Maps, which cost
 * most of a 10,000-entry diff.
 */
function byName<T extends { name: string }>(a: readonly T[], b: readonly T[]): Matched<T> {
  const old = indexByName(a);
  if (!old) return byNameInMaps(a, b);
  let same = a.length === b.length && old.size === a.length; // no name twice
  for (let i = 0; same && i < a.length; i++) same = a[i]!.name === b[i]!.name;
  if (same) return { added: [], removed: [], olds: a, nows: b };
  const now = indexByName(b);
  if (!now) return byNameInMaps(a, b);
  const added: string[] = [];
  const removed: string[] = [];
  const olds: T[] = [];
  const nows: T[] = [];
  for (const first of now.firsts) {
    const name = b[first]!.name;
    const o = old.last.get(name);
    if (o < 0) added.push(name);
    else {
      olds.push(a[o]!);
      nows.push(b[now.last.get(name)]!);
    }
  }
  for (const first of old.firsts) {
    const name = a[first]!.name;
    if (now.last.get(name) < 0) removed.push(name);
  }
  return { added, removed, olds, nows };
}

/**
 * Each name's last entry, and the first entry of each name in list order; undefined when a name
 * is not a string (not a validated config: byNameInMaps takes it).
 */
function indexByName(list: ReadonlyArray<{ name: string }>):
  | {
      last: StringTable;
      firsts: number[];
      size: number;
    }
  | undefined {
  const last = new StringTable(list.length);
  const firsts: number[] = [];
  for (let i = 0; i < list.length; i++) {
    const name: unknown = list[i]!.name;
    if (typeof name !== 'string') return undefined;
    if (last.put(name, i) < 0) firsts.push(i);
  }
  return { last, firsts, size: firsts.length };
}

/** byName with Maps, for names of any type. */
function byNameInMaps<T extends { name: string }>(a: readonly T[], b: readonly T[]): Matched<T> {
  const old = new Map(a.map((x) => [x.name, x]));
  const now = new Map(b.map((x) => [x.name, x]));
  const nows = [...now.values()].filter((x) => old.has(x.name));
  return {
    added: [...now.keys()].filter((n) => !old.has(n)),
    removed: [...old.keys()].filter((n) => !now.has(n)),
    olds: nows.map((x) => old.get(x.name)!),
    nows,
  };
}

/** The fields that differ (none when a and b are the same object, or deeply equal). */
function entryChanges<T extends object>(a: T, b: T): Array<keyof T & string> {
  if (a === b || sameValue(a, b)) return [];
  return changedFields(a, b);
}

export function diffConfig(old: Config, now: Config): ConfigDiff {
  const keys = new Set([...Object.keys(old), ...Object.keys(now)]);
  keys.delete('neighbors');
  keys.delete('tunnels');
  keys.delete('source'); // where it came from is not what it says
  const changedKeys = [...keys]
    .filter(
      (k) =>
        !sameValue(
          (old as unknown as Record<string, unknown>)[k],
          (now as unknown as Record<string, unknown>)[k],
        ),
    )
    .map(kebab)
    .sort();

  const n = byName<NeighborConfig>(old.neighbors, now.neighbors);
  const neighbors: ConfigDiff['neighbors'] = { added: n.added, removed: n.removed, changed: [] };
  for (let i = 0; i < n.nows.length; i++) {
    const b = n.nows[i]!;
    const fields = entryChanges(n.olds[i]!, b);
    if (fields.length === 0) continue;
    const apply = fields.every((f) => NEIGHBOR_IN_PLACE.has(f)) ? 'in-place' : 'reset';
    neighbors.changed.push({ name: b.name, fields: fields.map(kebab), apply });
  }

  const tn = byName<TunnelConfig>(old.tunnels, now.tunnels);
  const tunnels: ConfigDiff['tunnels'] = { added: tn.added, removed: tn.removed, changed: [] };
  for (let i = 0; i < tn.nows.length; i++) {
    const b = tn.nows[i]!;
    const fields = entryChanges(tn.olds[i]!, b);
    if (fields.length > 0) tunnels.changed.push({ name: b.name, fields: fields.map(kebab) });
  }

  const same =
    changedKeys.length === 0 &&
    neighbors.added.length + neighbors.removed.length + neighbors.changed.length === 0 &&
    tunnels.added.length + tunnels.removed.length + tunnels.changed.length === 0;
  const restart: string[] = [];
  for (const k of changedKeys) {
    if (!RESTART_KEYS.includes(k)) continue;
    const camel = k.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    const a = (old as unknown as Record<string, unknown>)[camel];
    const b = (now as unknown as Record<string, unknown>)[camel];
    if (isRecord(a) && isRecord(b)) {
      for (const f of changedFields(a, b)) restart.push(`${k}.${kebab(f)}`);
    } else restart.push(k);
  }
  const rpki = rpkiChange(old.rpki, now.rpki);
  return { same, keys: changedKeys, restart, neighbors, tunnels, ...(rpki ? { rpki } : {}) };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const RPKI_APPLY: Record<RpkiChange['apply'], string> = {
  start: 'origin validation starts',
  stop: 'origin validation stops: states dropped, Invalid routes accepted',
  caches: 'new caches synced, then used',
  policy: 'stored routes re-evaluated',
  'caches and policy': 'stored routes re-evaluated; new caches synced, then used',
};

/** The diff as lines a person reads (`gredgectl reload --check`, the reload log). */
export function formatDiff(d: ConfigDiff): string[] {
  if (d.same) return ['no change'];
  const out: string[] = [];
  if (d.restart.length > 0) out.push(`! needs a restart: ${d.restart.join(', ')}`);
  for (const k of d.keys) {
    if (k === 'rpki' && d.rpki)
      out.push(
        `~ rpki${d.rpki.fields.length ? `: ${d.rpki.fields.join(', ')}` : ''} (${RPKI_APPLY[d.rpki.apply]})`,
      );
    else out.push(`~ ${k}`);
  }
  for (const name of d.neighbors.added) out.push(`+ neighbor ${name}`);
  for (const name of d.neighbors.removed) out.push(`- neighbor ${name}`);
  for (const c of d.neighbors.changed)
    out.push(
      `~ neighbor ${c.name}: ${c.fields.join(', ')} (${c.apply === 'reset' ? 'session reset' : 'in place'})`,
    );
  for (const name of d.tunnels.added) out.push(`+ tunnel ${name}`);
  for (const name of d.tunnels.removed) out.push(`- tunnel ${name}`);
  for (const c of d.tunnels.changed) out.push(`~ tunnel ${c.name}: ${c.fields.join(', ')}`);
  return out;
}
