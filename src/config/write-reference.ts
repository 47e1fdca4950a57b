/**
 * `npm run docs:config`: writes docs/config-reference.md, the reference of every config key,
 * from the same JSON Schema the loader and the printer walk (json-schema.ts, generated from
 * schema.ts) and from what a reload does with each key (diff.ts). Nothing here restates a type,
 * a default or a limit: a key added to schema.ts appears in the next generation, and
 * test/config/reference.test.ts fails while the committed file differs from what this writes.
 *
 * The one thing kept here is a sentence for keys whose schema entry has no description yet
 * (NO_DESCRIPTION_YET); generation fails when such a key gains one in schema.ts or leaves it,
 * so the list can only shrink.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IN_PLACE_RESTART_KEYS, NEIGHBOR_IN_PLACE, RESTART_KEYS, rpkiChange } from './diff.js';
import { configJsonSchema, type JsonSchema } from './json-schema.js';
import { camelKey, formatMode, mainShape, ROLE_KEYS } from './schema.js';
import type { Config } from './types.js';

/** One key of the config, as the reference lists it. */
export interface KeyRow {
  /** `neighbors[].hold-time`: `[]` stands for any entry of a list. */
  path: string;
  type: string;
  /** `required`, a default, or '' for an optional key with none. */
  default: string;
  limits: string;
  reload: string;
  description: string;
  /** True when it has no keys under it (a value, or a list of values). */
  leaf: boolean;
}

/**
 * Keys whose schema entry has no description (yet): what each means, in one sentence. Better
 * moved into schema.ts as `.describe()`; generation fails when one of these gets a description
 * there, or no longer exists, so an entry here cannot go stale.
 */
const NO_DESCRIPTION_YET: Readonly<Record<string, string>> = {
  'local-as': 'our AS number (4-octet ASNs allowed)',
  'listen.port': 'port the BGP listener binds',
  log: 'logging',
  'log.level': 'the lowest level logged (`gredgectl log level` changes it until a restart)',
  'graceful-restart': "gredged's own restart (RFC 4724); per neighbor: `neighbors[].graceful-restart`",
  neighbors: 'BGP neighbors: customers, peers, transits and internal (iBGP) neighbors',
  'neighbors[].name': 'unique name, used by gredgectl, logs and metrics',
  'neighbors[].remote-as': "the neighbor's AS number",
  'neighbors[].families': 'address families negotiated (RFC 4760)',
  'neighbors[].graceful-restart.enabled': 'graceful restart on for this neighbor',
  'neighbors[].max-prefix.limit': 'how many prefixes the neighbor may send, counted before filtering',
  'neighbors[].max-prefix.action':
    'beyond the limit: `warn` logs; `restart` sends Cease 6/1 (RFC 4486) and keeps the session down',
  'neighbors[].max-prefix.restart-after': 'seconds the session stays down after a max-prefix `restart`',
  'neighbors[].description': 'free text, shown by gredgectl',
  underlay: 'GRE underlay source addresses (required with tunnels, for their family)',
  fib: 'kernel forwarding: two routing tables and the policy rules; `false`: no FIB at all',
  control: 'the control socket gredgectl uses; `false`: none',
  metrics: 'Prometheus exporter; `false`: none',
  tunnels: "GRE circuits to customers' CPEs",
  'tunnels[].name': 'unique name, used by neighbors[].tunnel, gredgectl, logs and metrics',
  'tunnels[].inner': 'our addresses inside the tunnel',
  'tunnels[].mss-clamp': 'clamp the TCP MSS of SYNs to fit the tunnel MTU',
  'tunnels[].keepalive.retries': 'missed keepalives before the tunnel is marked down',
  'rpki.servers': 'RTR caches (RFC 8210 over TCP); the most preferred reachable one is used',
};

/** Values the code reads in another form than they are written (as print.ts shows them). */
const AS_WRITTEN: Readonly<Record<string, (v: unknown) => string>> = {
  'control.mode': (v) => formatMode(v as number),
};

/** What a reload does with a change of a top-level key not covered by diff.ts's lists. */
const RELOAD_OTHER: Readonly<Record<string, string>> = {
  include: "in place: files re-read; their neighbors and tunnels apply as those keys' rows say",
  log: 'in place: the new level applies',
  'graceful-restart': 'accepted; read at start only, so it applies at the next start',
  'own-prefixes': 'in place: stored routes (refused ones included) re-evaluated, no session reset',
  bogons: 'in place: stored routes (refused ones included) re-evaluated, no session reset',
  provisioning: 'in place: the next `gredgectl customer add` / `remove` uses it',
};

const RELOAD_MODULE: Readonly<Record<string, string>> = {
  fib: 'in place: the FIB module restarts and rewrites its routes and rules (sessions untouched)',
  metrics: 'in place: the exporter binds the new address before closing the old one',
};

const RESTART = 'restart: a reload that changes it is refused, nothing applied';

/** What a reload does when this key changes, from diff.ts (`[]` segments dropped). */
export function reloadEffect(keys: readonly string[]): string {
  const [top, field] = keys;
  if (top === undefined) throw new Error('reloadEffect: empty path');
  if (RESTART_KEYS.includes(top)) return RESTART;
  if (IN_PLACE_RESTART_KEYS.includes(top)) {
    const text = RELOAD_MODULE[top];
    if (!text) throw new Error(`write-reference: no reload text for the in-place module '${top}'`);
    return text;
  }
  if (top === 'neighbors') {
    if (field === undefined)
      return 'in place: added ones start; removed ones get Cease 6/3, routes withdrawn';
    // diff.ts matches neighbors by name: a renamed one is removed and added.
    if (field === 'name')
      return 'a new name is a new neighbor: the old one removed (Cease 6/3), the new one started';
    return NEIGHBOR_IN_PLACE.has(camelKey(field) as never)
      ? 'in place, no session reset'
      : 'that neighbor alone is reset (Cease 6/6)';
  }
  if (top === 'tunnels') {
    if (field === undefined) return 'in place: added, removed; other tunnels untouched';
    if (field === 'name') return 'a new name is a new tunnel: the old one removed, the new one added';
    return 'in place: that tunnel replaced (same index and counters); others untouched';
  }
  if (top === 'rpki') {
    if (field === undefined) return 'in place: validation starts or stops';
    // Ask diff.ts how it classes a change of this one field.
    const k = camelKey(field);
    const change = rpkiChange(
      { [k]: 1 } as unknown as Config['rpki'],
      { [k]: 2 } as unknown as Config['rpki'],
    );
    return change?.apply === 'policy'
      ? 'in place: stored routes re-evaluated, no session reset'
      : 'in place: the new caches sync, then replace the old';
  }
  const text = RELOAD_OTHER[top];
  if (!text) throw new Error(`write-reference: no reload text for the top-level key '${top}'`);
  return text;
}

function expand(s: JsonSchema): JsonSchema[] {
  return s.anyOf ? s.anyOf.flatMap(expand) : [s];
}

function code(v: unknown): string {
  return `\`${typeof v === 'string' ? v : JSON.stringify(v)}\``;
}

/** A type as an operator reads it: `integer`, `false or mapping`, `list of string`. */
function typeOf(s: JsonSchema): string {
  const parts: string[] = [];
  for (const alt of expand(s)) {
    let t: string;
    if (alt.const !== undefined) t = code(alt.const);
    else if (Array.isArray(alt.enum)) t = `${String(alt.type ?? 'value')}, one of Limits`;
    else if (alt.type === 'array') t = `list of ${alt.items ? typeOf(alt.items) : 'values'}`;
    else if (alt.type === 'object') t = 'mapping';
    else if (alt.type === 'null') t = '`null` (same as `false`)';
    else if (Array.isArray(alt.type)) t = alt.type.includes('string') ? 'string' : alt.type.join(' or ');
    else t = String(alt.type ?? 'any');
    if (alt.format) t += ` (${String(alt.format)})`;
    if (!parts.includes(t)) parts.push(t);
  }
  return parts.join(' or ');
}

/** Ranges, sizes and value lists the schema states. */
function limitsOf(s: JsonSchema): string {
  const out: string[] = [];
  for (const alt of expand(s)) {
    const min = alt.minimum as number | undefined;
    const max = alt.maximum as number | undefined;
    // An unbounded integer (the JSON Schema of z.int()) has no limit worth stating.
    if (min !== undefined && max !== undefined && max < Number.MAX_SAFE_INTEGER) out.push(`${min}–${max}`);
    if (Array.isArray(alt.enum)) out.push(alt.enum.map(code).join(', '));
    const not = (alt.not as JsonSchema | undefined)?.enum;
    if (Array.isArray(not)) out.push(`not ${not.join(', ')}`);
    if (alt.minItems !== undefined) out.push(`at least ${String(alt.minItems)}`);
    if (alt.maxItems !== undefined) out.push(`at most ${String(alt.maxItems)}`);
    if (alt.type === 'array' && alt.items) {
      const inner = limitsOf(alt.items);
      if (inner) out.push(`each: ${inner}`);
    }
  }
  return [...new Set(out)].join('; ');
}

/** The zod schema at a path of keys (`[]` for a list's entries), through wrappers and unions. */
type ZodLike = { _zod: { def: Record<string, unknown> } };
function zodDefault(shape: Record<string, unknown>, keys: readonly string[]): unknown {
  let here: ZodLike[] = [shape[keys[0]!] as ZodLike];
  for (const key of [...keys.slice(1), undefined]) {
    const next: ZodLike[] = [];
    const seen = new Set<ZodLike>();
    const visit = (z: ZodLike): void => {
      if (seen.has(z)) return;
      seen.add(z);
      const d = z._zod.def;
      if (key === undefined && (d.type === 'default' || d.type === 'prefault')) next.push(z);
      for (const inner of [d.innerType, d.in]) if (inner) visit(inner as ZodLike);
      if (Array.isArray(d.options)) for (const o of d.options) visit(o as ZodLike);
      if (key === '[]' && d.element) next.push(d.element as ZodLike);
      if (key !== undefined && key !== '[]' && d.shape) {
        const sub = (d.shape as Record<string, ZodLike>)[key];
        if (sub) next.push(sub);
      }
    };
    for (const z of here) visit(z);
    if (key === undefined) {
      const d = next[0]?._zod.def;
      return d ? d.defaultValue : undefined;
    }
    here = next;
  }
  return undefined;
}

function defaultOf(s: JsonSchema, keys: readonly string[], path: string, required: boolean): string {
  if (required) return 'required';
  let v: unknown = s.default;
  // A default the JSON Schema cannot show (given after a transform): the schema's own value.
  if (v === undefined) v = zodDefault(mainShape, keys);
  if (v === undefined) return '';
  const written = AS_WRITTEN[path];
  if (written) return code(written(v));
  // `{}`: a section whose keys take their own defaults.
  if (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0)
    return 'its keys’ defaults';
  return code(v);
}

function descriptionOf(s: JsonSchema, path: string, stale: string[]): string {
  const own = expand(s).find((a) => typeof a.description === 'string')?.description ?? s.description;
  const extra = NO_DESCRIPTION_YET[path];
  if (typeof own === 'string' && own !== '') {
    if (extra) stale.push(`${path} has a description in schema.ts now`);
    return own;
  }
  return extra ?? '';
}

function roleNote(keys: readonly string[]): string {
  if (keys.length !== 3 || keys[0] !== 'neighbors') return '';
  const only = ROLE_KEYS[keys[2]!];
  return only ? ` (roles: ${only.roles.join(', ')})` : '';
}

/** Every key of the main config file, depth first in the schema's order. */
export function configKeys(): KeyRow[] {
  const rows: KeyRow[] = [];
  const stale: string[] = [];
  const walk = (s: JsonSchema, keys: string[], path: string, required: boolean): void => {
    const alts = expand(s);
    const props = new Map<string, { schema: JsonSchema; required: boolean }>();
    let childPrefix = path;
    let childKeys = keys;
    for (const alt of alts) {
      // A list of mappings: its entries' keys are listed as `path[].key`.
      const obj = alt.type === 'array' && alt.items?.type === 'object' ? alt.items : alt;
      if (obj !== alt) {
        childPrefix = `${path}[]`;
        childKeys = [...keys, '[]'];
      }
      const req = new Set((obj.required as string[] | undefined) ?? []);
      for (const [k, sub] of Object.entries(obj.properties ?? {}))
        if (!props.has(k)) props.set(k, { schema: sub, required: req.has(k) });
    }
    if (path !== '') {
      rows.push({
        path,
        type: typeOf(s),
        default: defaultOf(s, keys, path, required),
        limits: limitsOf(s),
        reload: reloadEffect(keys.filter((k) => k !== '[]')),
        description: descriptionOf(s, path, stale) + roleNote(keys),
        leaf: props.size === 0,
      });
    }
    for (const [k, sub] of props) {
      const p = childPrefix === '' ? k : `${childPrefix}.${k}`;
      walk(sub.schema, [...childKeys, k], p, sub.required);
    }
  };
  walk(configJsonSchema(), [], '', false);
  for (const path of Object.keys(NO_DESCRIPTION_YET))
    if (!rows.some((r) => r.path === path)) stale.push(`${path} is no longer a config key`);
  if (stale.length > 0)
    throw new Error(`write-reference: remove from NO_DESCRIPTION_YET: ${stale.join('; ')}`);
  return rows;
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** docs/config-reference.md as `npm run docs:config` writes it. */
export function renderReference(): string {
  const rows = configKeys();
  const out: string[] = [
    '# Config reference',
    '',
    '<!-- Generated by `npm run docs:config` (src/config/write-reference.ts) from src/config/schema.ts',
    '     and src/config/diff.ts. Do not edit: test/config/reference.test.ts fails when this file',
    '     differs from what the generator writes. -->',
    '',
    'Every key of the main config file (YAML, kebab-case), generated from the schema gredged',
    'validates with, so it cannot drift from the code. An included file (`include:`) holds',
    '`neighbors` and `tunnels` only, with the same keys as below. `[]` stands for any entry of a',
    'list. How the file is read, includes and cross-checks between keys: `docs/config.md`.',
    '',
    '- **Default**: `required`, the value taken when the key is absent, or blank for an optional',
    '  key without one (the description says what its absence means).',
    '- **Limits**: what the schema checks on the value itself; relations between keys (two',
    '  neighbors with one address, overlapping customer prefixes, ...) are checked after',
    '  (`src/config/checks.ts`), and every problem is reported as `file:line:column: key: message`.',
    '- **Reload**: what `gredgectl reload` (or SIGHUP) does when the key changes',
    '  (`src/config/diff.ts`, `docs/reload.md`). "restart" means the reload is refused whole and',
    "  names the key: restart gredged to change it. A neighbor's row is diff.ts's class; the",
    '  session also compares the OPEN it would send now with the one it sent and resets when they',
    '  differ, and `role-strict` switched on for a neighbor that sent no BGP Role resets it.',
    '',
  ];
  const line = (r: KeyRow): string =>
    `| \`${r.path}\` | ${cell(r.type)} | ${cell(r.default)} | ${cell(r.limits)} | ${cell(r.reload)} | ${cell(r.description)} |`;
  const head = [
    '| key | type | default | limits | reload | description |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  const tops = rows.filter((r) => !r.path.includes('.') && !r.path.includes('[]'));
  // Top-level values together; each section or list with its keys under a heading of its own.
  out.push('## Top level', '', ...head, ...tops.filter((r) => r.leaf).map(line), '');
  for (const top of tops.filter((r) => !r.leaf)) {
    const under = (r: KeyRow) =>
      r.path === top.path || r.path.startsWith(`${top.path}.`) || r.path.startsWith(`${top.path}[]`);
    out.push(`## \`${top.path}\``, '', ...head, ...rows.filter(under).map(line), '');
  }
  return `${out.join('\n').trimEnd()}\n`;
}

export const REFERENCE_FILE = 'docs/config-reference.md';

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const path = process.argv[2] ?? join(import.meta.dirname, '../../..', REFERENCE_FILE);
  writeFileSync(path, renderReference());
  console.log(`wrote ${path}`);
}
