/**
 * gredgectl's human output for `customer add / remove / list` (the answers are
 * src/provision/types.ts; `--json` prints them unchanged). `customer add` prints the customer's
 * side of the circuit first, as text to paste, then what the daemon did.
 */
import type { CustomerAddResult, CustomerListResult, CustomerRemoveResult } from '../../provision/types.js';
import { table } from './format.js';

export function customerAdd(r: CustomerAddResult): string {
  const v6 = r.inner.v6
    ? `, ${r.inner.v6.subnet} (ours ${r.inner.v6.provider}, theirs ${r.inner.v6.customer})`
    : '';
  return [
    r.snippet.text.trimEnd(),
    '',
    `# customer ${r.name} added: ${r.file}`,
    `#   GRE key ${r.key} to ${r.remote}, MTU ${r.mtu}; inner ${r.inner.v4.subnet} (ours ${r.inner.v4.provider}, theirs ${r.inner.v4.customer})${v6}`,
    `#   prefixes ${r.prefixes.join(', ')}; ${r.resale ? 'resale' : 'no resale'}`,
    ...r.warnings.map((w) => `# warning: ${w}`),
    ...r.diff.map((d) => `#   ${d}`),
  ].join('\n');
}

export function customerRemove(r: CustomerRemoveResult): string {
  return [`customer ${r.name} removed (${r.file})`, ...r.diff.map((d) => `  ${d}`)].join('\n');
}

export function customerList(r: CustomerListResult): string {
  const head = [
    `directory ${r.directory}; key-range ${r.keyRange}`,
    `inner-pool4 ${r.pools.v4.pool} (${r.pools.v4.free} free)${r.pools.v6 ? `; inner-pool6 ${r.pools.v6.pool} (${r.pools.v6.free} free)` : ''}`,
  ];
  if (r.customers.length === 0) return [...head, 'no provisioned customers'].join('\n');
  const rows = r.customers.map((c) => [
    c.name,
    c.asn ?? '-',
    c.remote ?? '-',
    c.key ?? '-',
    c.inner4 ?? '-',
    c.inner6 ?? '-',
    c.loaded ? (c.state ?? '-') : 'not loaded',
    c.resale === false ? 'no' : c.resale ? 'yes' : '-',
    (c.prefixes ?? []).join(' ') || '-',
  ]);
  return [
    ...head,
    '',
    table(['name', 'as', 'remote', 'key', 'inner4', 'inner6', 'state', 'resale', 'prefixes'], rows),
  ].join('\n');
}
