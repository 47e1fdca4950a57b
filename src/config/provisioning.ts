/**
 * The `provisioning:` section's own rules (issue 10, "One-command provisioning"): what a key
 * range and the inner pools may be, and the checks against the rest of the merged config that
 * checks.ts runs (crossCheck hands in the parts it already read). Pure: no I/O; the schema
 * (schema.ts) and the provisioner (src/provision) read the same helpers, so the two agree.
 *
 * Allocation units: an IPv4 /30 (RFC 1878's point-to-point /30: ours .1, theirs .2) and an IPv6
 * /127 (RFC 6164: a /127 between routers, ours the even address, theirs the odd one).
 */
import { basename, dirname, isAbsolute, normalize } from 'node:path';
import {
  type Cidr,
  containsFast,
  formatCidr,
  hostBitsZero,
  maskBytes,
  overlapsFast,
  parseCidr,
  parseCidrFast,
} from '../net/ip.js';
import type { Path, PathIssue } from './reader.js';

/** The inner subnet length `customer add` takes from each pool. */
export const UNIT = { 4: 30, 6: 127 } as const;
const U32 = 4294967295;

export interface KeyRange {
  low: number;
  high: number;
}

/** `LOW-HIGH` (inclusive, 0 ≤ LOW ≤ HIGH ≤ 4294967295) → the range, or what is wrong with it. */
export function parseKeyRange(s: string): KeyRange | string {
  const m = /^\s*(\d{1,10})\s*-\s*(\d{1,10})\s*$/.exec(s);
  if (!m) return `'${s}' is not a GRE key range LOW-HIGH (e.g. 1000-1999)`;
  const low = Number(m[1]);
  const high = Number(m[2]);
  if (low > U32 || high > U32) return `'${s}': GRE keys are 0 to ${U32}`;
  if (low > high) return `'${s}': ${low} is above ${high}`;
  return { low, high };
}

/** A pool of `family` from which /30s (/127s) are taken: a prefix, host bits zero, room for one. */
export function checkPool(s: string, family: 4 | 6): string | undefined {
  const c = parseCidr(s);
  if (!c || c.family !== family) return `'${s}' is not an IPv${family} prefix (address/length)`;
  if (!hostBitsZero(c.bytes, c.length)) return `'${s}' has host bits set beyond /${c.length}`;
  if (c.length > UNIT[family]) return `'${s}' is smaller than one /${UNIT[family]}`;
  return undefined;
}

/** A directory: a path (relative to the main file's directory, or absolute). */
export function checkDirectory(s: string): string | undefined {
  if (s.trim() === '' || s.includes('\0')) return 'must be a directory path';
  if (/[*?[\]{}]/.test(s)) return `'${s}' is a directory, not a pattern: no wildcards`;
  return undefined;
}

/** The pattern of `include:` that takes in every `NAME.yaml` of `directory`, or undefined. */
export function includePatternFor(include: unknown, directory: string): string | undefined {
  const patterns = typeof include === 'string' ? [include] : Array.isArray(include) ? include : [];
  const want = normalize(directory).replace(/\/+$/, '') || '/';
  for (const p of patterns) {
    if (typeof p !== 'string') continue;
    const dir = normalize(dirname(p)).replace(/\/+$/, '') || '/';
    if (dir !== want || isAbsolute(p) !== isAbsolute(directory)) continue;
    const file = basename(p);
    if (file === '*.yaml' || file === '*') return p;
  }
  return undefined;
}

/** What crossCheck read of the config, each part only when it is valid. */
export interface ProvisioningInput {
  /** Each field only when it is valid (undefined: its own error is reported by the schema). */
  provisioning: { keyRange?: string; innerPool4?: string; innerPool6?: string; directory?: string };
  include: unknown;
  /** Top-level keys written in the main file. */
  written: { dataplane: boolean; underlay: boolean; listen: boolean };
  tunnels: Array<{ i: number; key?: number; inner?: { local?: string; local6?: string } }>;
}

/**
 * The relations of `provisioning:` to the rest of the config:
 * - `directory` must be one that `include:` takes in, as `DIRECTORY/*.yaml`, written the same way
 *   (both relative to the main file's directory, or both absolute): a written customer is then
 *   loaded by every reload and start, like any included file;
 * - `dataplane`, `underlay` and `listen` must be written out: their defaults depend on whether
 *   tunnels and neighbors exist, so the first customer added (or the last one removed) would
 *   change them, and they only change with a restart;
 * - the pools are the provisioned customers' own: a tunnel whose inner subnet overlaps a pool
 *   must be one of them, i.e. exactly one /30 (/127) of the pool and its key in key-range.
 */
export function provisioningIssues(x: ProvisioningInput): PathIssue[] {
  const out: PathIssue[] = [];
  const p = x.provisioning;
  if (p.directory !== undefined && includePatternFor(x.include, p.directory) === undefined) {
    const pattern = `${p.directory.replace(/\/+$/, '')}/*.yaml`;
    out.push({
      path: ['provisioning', 'directory'],
      message: `'${p.directory}' is not included: the main file needs \`include: ${pattern}\` (written the same way: relative to the main file's directory, or absolute), or customers written there would never be loaded`,
    });
  }
  const missing = (['dataplane', 'underlay', 'listen'] as const).filter((k) => !x.written[k]);
  if (missing.length > 0)
    out.push({
      path: ['provisioning'],
      message: `needs ${missing.length > 1 ? `${missing.slice(0, -1).join(', ')} and ${missing.at(-1)}` : missing[0]} written in the main file: their defaults depend on whether tunnels and neighbors exist, so adding the first customer or removing the last would need a restart`,
    });
  const range = p.keyRange === undefined ? 'invalid' : parseKeyRange(p.keyRange);
  const pools: Array<{ family: 4 | 6; key: 'inner-pool4' | 'inner-pool6'; cidr: Cidr }> = [];
  for (const [family, key, text] of [
    [4, 'inner-pool4', p.innerPool4],
    [6, 'inner-pool6', p.innerPool6],
  ] as const) {
    const cidr = text === undefined ? undefined : parseCidr(text);
    if (cidr) pools.push({ family, key, cidr });
  }
  for (const t of x.tunnels) {
    for (const k of ['local', 'local6'] as const) {
      // The fast helpers give parseCidr's, overlaps' and contains' answers without ipaddr.js or
      // masked copies: a 10,000-tunnel config runs this for every tunnel. The comparisons mask
      // as they go, so the inner address needs no masked copy but for the message.
      const net = t.inner?.[k] === undefined ? undefined : parseCidrFast(t.inner[k]!);
      if (!net) continue;
      const pool = pools.find((q) => overlapsFast(q.cidr, net));
      if (!pool) continue;
      const unit = UNIT[pool.family];
      // With no valid key-range, the key cannot be judged: its own error says what to fix.
      if (typeof range === 'string' && net.length === unit && containsFast(pool.cidr, net)) continue;
      const inRange =
        typeof range !== 'string' && t.key !== undefined && t.key >= range.low && t.key <= range.high;
      if (net.length === unit && containsFast(pool.cidr, net) && inRange) continue;
      const path: Path = ['tunnels', t.i, 'inner', k];
      const mine = formatCidr(maskBytes(net.bytes, net.length), net.length);
      const theirs = formatCidr(pool.cidr.bytes, pool.cidr.length);
      out.push({
        path,
        message: `inner subnet ${mine} overlaps provisioning.${pool.key} ${theirs}, which belongs to customers added with \`gredgectl customer add\` (one /${unit} each, key in ${p.keyRange ?? 'key-range'}): move the tunnel or the pool`,
      });
    }
  }
  return out;
}
