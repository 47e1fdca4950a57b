/**
 * What the edge's kernel holds of gredged's FIB: the routes of protocol 250 in the full and
 * resale tables and the ip rules of protocol 250, both families, read with `ip -j` and put in a
 * canonical text form (`DST via GW`, `DST dev DEV`; `-4 PREF iif X from S lookup T`) so that a
 * test compares them with what it expects and reports the difference.
 */
import type { NrLab } from './lab.js';
import { FULL, PROTO, RESALE, TUN } from './plan.js';

type Fam = '-4' | '-6';

interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  type?: string;
  nexthops?: { gateway?: string; dev?: string }[];
}

interface IpRule {
  priority: number;
  src?: string;
  srclen?: number;
  iif?: string;
  table?: string;
  action?: string;
  protocol?: string;
  suppress_prefixlen?: number;
}

function canonDst(dst: string, fam: Fam): string {
  if (dst === 'default') return fam === '-4' ? '0.0.0.0/0' : '::/0';
  return dst.includes('/') ? dst : `${dst}/${fam === '-4' ? 32 : 128}`;
}

function canonRoute(r: IpRoute, fam: Fam): string {
  const dst = canonDst(r.dst, fam);
  const type = r.type && r.type !== 'unicast' ? `${r.type} ` : '';
  if (r.nexthops)
    return `${type}${dst} multipath ${r.nexthops.map((n) => n.gateway ?? `dev ${n.dev}`).join(',')}`;
  if (r.gateway) return `${type}${dst} via ${r.gateway}`;
  return `${type}${dst} dev ${r.dev}`;
}

/** `table`'s routes of protocol 250, one family, canonical, sorted (duplicates kept). */
export async function tableRoutes(lab: NrLab, role: string, fam: Fam, table: number): Promise<string[]> {
  const out = await lab.ip(role, fam, '-j', 'route', 'show', 'table', String(table), 'proto', String(PROTO));
  const rs = (out.trim() ? JSON.parse(out) : []) as IpRoute[];
  return rs.map((r) => canonRoute(r, fam)).sort();
}

/** Both tables, both families: `{ '201': [...v4, ...v6], '202': [...] }`. */
export async function fibTables(lab: NrLab, role = 'edge'): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const t of [FULL, RESALE]) {
    out[t] = [...(await tableRoutes(lab, role, '-4', t)), ...(await tableRoutes(lab, role, '-6', t))].sort();
  }
  return out;
}

/** The ip rules of protocol 250, both families, canonical (`-4 1000 iif gredge0 from S lookup 201`). */
export async function fibRules(lab: NrLab, role = 'edge'): Promise<string[]> {
  const out: string[] = [];
  for (const fam of ['-4', '-6'] as const) {
    const text = await lab.ip(role, fam, '-j', 'rule', 'show');
    for (const r of (text.trim() ? JSON.parse(text) : []) as IpRule[]) {
      if (r.protocol !== String(PROTO)) continue;
      const parts = [fam, String(r.priority)];
      if (r.iif) parts.push(`iif ${r.iif}`);
      if (r.src && r.src !== 'all') parts.push(`from ${r.src}/${r.srclen ?? (fam === '-4' ? 32 : 128)}`);
      parts.push(r.action && r.action !== 'to_tbl' ? r.action : `lookup ${r.table}`);
      if (r.suppress_prefixlen !== undefined) parts.push(`suppress_prefixlength ${r.suppress_prefixlen}`);
      out.push(parts.join(' '));
    }
  }
  return out.sort();
}

/**
 * The rules gredged must hold (README "Forwarding"): resale:false sources → full; the TUN →
 * resale, then `main` without its default route, then unreachable; everything else → full.
 */
export function expectedRules(noResaleSources: string[], base = 1000): string[] {
  const out: string[] = [];
  for (const fam of ['-4', '-6'] as const) {
    const v6 = fam === '-6';
    for (const s of noResaleSources.filter((x) => x.includes(':') === v6))
      out.push(`${fam} ${base} iif ${TUN} from ${s} lookup ${FULL}`);
    out.push(
      `${fam} ${base + 1} iif ${TUN} lookup ${RESALE}`,
      `${fam} ${base + 2} iif ${TUN} lookup main suppress_prefixlength 0`,
      `${fam} ${base + 3} iif ${TUN} unreachable`,
      `${fam} ${base + 4} lookup ${FULL}`,
    );
  }
  return out.sort();
}

/** What differs between two sorted lists (as multisets): missing from `got`, extra in `got`. */
export function listDiff(got: string[], want: string[]): { missing: string[]; extra: string[] } {
  const count = new Map<string, number>();
  for (const w of want) count.set(w, (count.get(w) ?? 0) + 1);
  const extra: string[] = [];
  for (const g of got) {
    const n = count.get(g) ?? 0;
    if (n > 0) count.set(g, n - 1);
    else extra.push(g);
  }
  const missing: string[] = [];
  for (const [k, n] of count) for (let i = 0; i < n; i++) missing.push(k);
  return { missing, extra };
}

/** Destinations present more than once in one table (a duplicate the FIB must never leave). */
export function duplicates(routes: string[]): string[] {
  const seen = new Map<string, number>();
  for (const r of routes) {
    const dst = r.replace(/^(unreachable|blackhole|prohibit) /, '').split(' ')[0]!;
    seen.set(dst, (seen.get(dst) ?? 0) + 1);
  }
  return [...seen].filter(([, n]) => n > 1).map(([d, n]) => `${d} ×${n}`);
}

/** A short text of a difference, for assertion messages. */
export function showDiff(d: { missing: string[]; extra: string[] }, max = 8): string {
  const part = (name: string, xs: string[]) =>
    xs.length === 0
      ? ''
      : `${name} ${xs.length}: ${xs.slice(0, max).join('; ')}${xs.length > max ? ' …' : ''}`;
  return [part('missing', d.missing), part('extra', d.extra)].filter(Boolean).join(' | ') || 'none';
}
