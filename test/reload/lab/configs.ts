/**
 * gredged YAML of the reload lab: the edge's config in the shapes the tests reload (which
 * customers have a tunnel and a neighbor, which of them resell) and the CPEs' tunnel-only data
 * planes. Block style, one key per line, so that a test can point at a line and column.
 */
import { AS, BOGONS, CPE_ROUTES, type Cust, EDGE_UNDERLAY, PEER } from './plan.js';

const q = (s: string) => JSON.stringify(s);
const list = (xs: readonly string[]) => `[${xs.map(q).join(', ')}]`;

export interface EdgeShape {
  /** The customers with a tunnel and a neighbor, in this order. */
  customers: readonly Cust[];
  /** Names of the customers that may not resell (`resale: false`). */
  noResale: readonly string[];
  /** The edge's control socket. */
  socket: string;
}

export function edgeYaml(s: EdgeShape): string {
  const lines = [
    '# lab: the reload edge (test/reload/lab)',
    `router-id: ${EDGE_UNDERLAY}`,
    `local-as: ${AS.edge}`,
    'log: { level: info }',
    `control: { socket: ${q(s.socket)} }`,
    'metrics: false',
    'dataplane: { tun: gredge0, workers: 2 }',
    `underlay: { local: ${q(EDGE_UNDERLAY)} }`,
    `bogons: ${list(BOGONS)}`,
    'tunnels:',
  ];
  for (const c of s.customers)
    lines.push(
      `  - name: ${c.name}`,
      `    remote: ${q(c.link.cpe)}`,
      `    key: ${c.key}`,
      `    inner: { local: ${q(`${c.inner.edge}/30`)}, local6: ${q(`${c.inner.edge6}/127`)} }`,
      `    allowed-sources: ${list([c.prefix4, c.prefix6, c.inner.net4, c.inner.net6])}`,
    );
  lines.push('neighbors:');
  for (const c of s.customers)
    lines.push(
      `  - name: ${c.name}`,
      `    address: ${q(c.inner.cpe)}`,
      `    remote-as: ${c.as}`,
      '    role: customer',
      `    resale: ${!s.noResale.includes(c.name)}`,
      '    passive: true',
      `    tunnel: ${c.name}`,
      '    hold-time: 9',
      `    next-hop6: ${q(c.inner.edge6)}`,
      `    prefixes: ${list([c.prefix4, c.prefix6])}`,
    );
  lines.push(
    '  - name: peer',
    `    address: ${q(PEER.addr)}`,
    `    remote-as: ${AS.peer}`,
    '    role: peer',
    '    no-resale: true',
    '    passive: true',
    '    hold-time: 30',
    `    next-hop6: ${q(PEER.edge6)}`,
  );
  return `${lines.join('\n')}\n`;
}

/** A CPE: a tunnel-only gredged (BGP is BIRD's, inside the tunnel), its control socket at `socket`. */
export function cpeYaml(c: Cust, socket: string): string {
  return [
    `# lab: ${c.name}'s CPE, a tunnel-only gredged`,
    `router-id: ${c.link.cpe}`,
    `local-as: ${c.as}`,
    'log: { level: info }',
    'dataplane: { tun: gredge0, workers: 1 }',
    'fib: false',
    `control: { socket: ${q(socket)} }`,
    'metrics: false',
    `underlay: { local: ${q(c.link.cpe)} }`,
    'tunnels:',
    '  - name: to-edge',
    `    remote: ${q(EDGE_UNDERLAY)}`,
    `    key: ${c.key}`,
    `    inner: { local: ${q(`${c.inner.cpe}/30`)}, local6: ${q(`${c.inner.cpe6}/127`)} }`,
    `    allowed-sources: ${list(['0.0.0.0/0', '::/0'])}`,
    `    routes: ${list(CPE_ROUTES)}`,
    '',
  ].join('\n');
}

/**
 * `text` with the first line containing `find` changed by `edit`, and where that line is
 * (1-based) — the position a refusal must name.
 */
export function breakLine(
  text: string,
  find: string,
  edit: (line: string) => string,
): { text: string; line: number; original: string } {
  const lines = text.split('\n');
  const i = lines.findIndex((l) => l.includes(find));
  if (i < 0) throw new Error(`no line with ${find}`);
  const original = lines[i]!;
  lines[i] = edit(original);
  return { text: lines.join('\n'), line: i + 1, original };
}
