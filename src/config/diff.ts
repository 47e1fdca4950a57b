/**
 * What changed between two validated configs, named the way an operator reads it and the way a
 * reload applies it: neighbors and tunnels by name (added, removed, changed with the fields that
 * changed), everything else by top-level key. Each neighbor change says what it costs, in the
 * manner of BIRD's reconfigure(): `in-place` (policy: routes are re-evaluated and the difference
 * is sent, no session reset) or `reset` (the session must be re-established: address, AS,
 * timers, families, ...). Pure: no I/O, no knowledge of the running daemon.
 */
import type { Config, NeighborConfig, TunnelConfig } from './types.js';

/** Neighbor fields whose change only re-evaluates routes (import or export policy). */
const NEIGHBOR_IN_PLACE: ReadonlySet<keyof NeighborConfig> = new Set<keyof NeighborConfig>([
  'role',
  'resale',
  'noResale',
  'prefixes',
  'maxPrefix',
  'roleStrict',
  'nextHopSelf',
  'nextHop6',
  'description',
  'passive',
]);

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

export interface ConfigDiff {
  /** Nothing at all changed. */
  same: boolean;
  /** Top-level keys other than neighbors and tunnels whose value changed (kebab-case). */
  keys: string[];
  neighbors: { added: string[]; removed: string[]; changed: NeighborChange[] };
  tunnels: { added: string[]; removed: string[]; changed: TunnelChange[] };
}

/** Deep equality of config values (plain data: objects, arrays, primitives). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => sameValue(x, bb[i]));
  }
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

function kebab(s: string): string {
  return s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** Field names (kebab-case, as in the YAML) whose values differ between two records. */
function changedFields<T extends object>(a: T, b: T): Array<keyof T & string> {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof T & string>;
  return [...keys].filter((k) => !sameValue(a[k], b[k])).sort();
}

function byName<T extends { name: string }>(
  a: readonly T[],
  b: readonly T[],
): { added: string[]; removed: string[]; both: Array<[T, T]> } {
  const old = new Map(a.map((x) => [x.name, x]));
  const now = new Map(b.map((x) => [x.name, x]));
  return {
    added: [...now.keys()].filter((n) => !old.has(n)),
    removed: [...old.keys()].filter((n) => !now.has(n)),
    both: [...now.values()].filter((x) => old.has(x.name)).map((x) => [old.get(x.name)!, x]),
  };
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
  for (const [a, b] of n.both) {
    const fields = changedFields(a, b);
    if (fields.length === 0) continue;
    const apply = fields.every((f) => NEIGHBOR_IN_PLACE.has(f)) ? 'in-place' : 'reset';
    neighbors.changed.push({ name: b.name, fields: fields.map(kebab), apply });
  }

  const tn = byName<TunnelConfig>(old.tunnels, now.tunnels);
  const tunnels: ConfigDiff['tunnels'] = { added: tn.added, removed: tn.removed, changed: [] };
  for (const [a, b] of tn.both) {
    const fields = changedFields(a, b);
    if (fields.length > 0) tunnels.changed.push({ name: b.name, fields: fields.map(kebab) });
  }

  const same =
    changedKeys.length === 0 &&
    neighbors.added.length + neighbors.removed.length + neighbors.changed.length === 0 &&
    tunnels.added.length + tunnels.removed.length + tunnels.changed.length === 0;
  return { same, keys: changedKeys, neighbors, tunnels };
}

/** The diff as lines a person reads (`gredgectl reload --check`, the reload log). */
export function formatDiff(d: ConfigDiff): string[] {
  if (d.same) return ['no change'];
  const out: string[] = [];
  for (const k of d.keys) out.push(`~ ${k}`);
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
