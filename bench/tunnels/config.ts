/**
 * The tunnels bench's box, as an operator would write it: N customers, each with a GRE tunnel
 * (IPv4 underlay, remote+key distinct), an inner /127, a static /48 routed into the tunnel, and
 * a customer BGP neighbor allowed to announce that /48. The first `sessions` customers are real
 * BGP sessions over loopback (127.1.x.y, announcing 198.18.x.0/24 as well); the rest sit inside
 * their tunnel (passive, never connected: no CPE speaks GRE here). BIRD gets the same N
 * customer BGP protocols (it has no GRE): same addresses, AS numbers, hold times and prefixes.
 *
 * Addresses stay in the documentation ranges (underlay 192.0.2.1 → remotes in 198.51.100/24
 * and 203.0.113/24, keys make remote+key distinct; inner and routes under 2001:db8::/32) and
 * RFC 2544's 198.18.0.0/15 for the announced IPv4 /24s; so the default bogon list is replaced.
 */
export const UNDERLAY = { local: '192.0.2.1', device: 'gt0', peer: 'gt1', cidr: '192.0.2.1/24' };
export const LOCAL_AS = 65000;
export const ROUTER_ID = '192.0.2.1';
/** The 507 underlay remotes tunnels are spread over (key = customer index + 1). */
const REMOTES = [
  ...Array.from({ length: 253 }, (_, k) => `198.51.100.${k + 2}`),
  ...Array.from({ length: 254 }, (_, k) => `203.0.113.${k + 1}`),
];
/** Real sessions announce 198.18.i.0/24 (i < 512: RFC 2544's /15). */
export const MAX_SESSIONS = 512;

export interface Customer {
  i: number;
  name: string;
  tunnel: string;
  remote: string;
  key: number;
  /** Our inner /127 (2001:db8:1::2i) and the customer's side of it. */
  inner6: string;
  peer6: string;
  /** Static route into the tunnel, also the customer's allowed prefix (le 64). */
  route6: string;
  asn: number;
  /** The BGP neighbor's address: 127.1.x.y for real sessions, else the inner peer address. */
  address: string;
  real: boolean;
  /** IPv4 /24 a real session announces (also allowed in its `prefixes`). */
  route4?: string;
  holdTime: number;
}

export function customer(i: number, sessions: number, holdTime = 90): Customer {
  const real = i < sessions;
  const c: Customer = {
    i,
    name: `c${i}`,
    tunnel: `t${i}`,
    remote: REMOTES[i % REMOTES.length]!,
    key: i + 1,
    inner6: `2001:db8:1::${(2 * i).toString(16)}/127`,
    peer6: `2001:db8:1::${(2 * i + 1).toString(16)}`,
    route6: `2001:db8:${(0x8000 + i).toString(16)}::/48`,
    asn: 4_200_000_000 + i,
    address: real ? `127.1.${(i >> 8) & 255}.${(i & 255) + 1}` : `2001:db8:1::${(2 * i + 1).toString(16)}`,
    real,
    holdTime,
  };
  if (real) c.route4 = `198.${18 + (i >> 8)}.${i & 255}.0/24`;
  return c;
}

export function customers(n: number, sessions: number): Customer[] {
  if (n > 0x7fff) throw new Error(`at most ${0x7fff} tunnels (one /48 each under 2001:db8:8000::/33)`);
  if (sessions > MAX_SESSIONS) throw new Error(`at most ${MAX_SESSIONS} real sessions`);
  return Array.from({ length: n }, (_, i) => customer(i, Math.min(sessions, n)));
}

export interface GredgedBox {
  dir: string;
  port: number;
  metricsPort: number;
  socket: string;
  perTunnel: boolean;
  /** Customer whose `routes`/`prefixes` the reload changes (a second /48 added). */
  changed?: number;
}

function prefixesOf(c: Customer, changed: boolean): string[] {
  const p = [`${c.route6} le 64`];
  if (c.route4) p.push(c.route4);
  if (changed) p.push(extraRoute(c));
  return p;
}

/** The /48 the reload adds to one customer (under 2001:db8:4000::/34, clear of the others). */
export function extraRoute(c: Customer): string {
  return `2001:db8:${(0x4000 + c.i).toString(16)}::/48`;
}

export function gredgedYaml(cs: Customer[], o: GredgedBox): string {
  const L: string[] = [
    '# written by bench/tunnels/config.ts',
    `router-id: ${ROUTER_ID}`,
    `local-as: ${LOCAL_AS}`,
    `listen: { address: 127.0.0.1, port: ${o.port} }`,
    'log: { level: info }',
    // The documentation ranges and 198.18/15 are this bench's customers' space.
    'bogons: ["0.0.0.0/8 le 32", "224.0.0.0/4 le 32"]',
    `control: { socket: ${JSON.stringify(o.socket)} }`,
    `metrics: { listen: "127.0.0.1:${o.metricsPort}", per-tunnel: ${o.perTunnel} }`,
    // Tunnel LPMs only: the kernel tables are bench:fib's and bench:churn's subject.
    'fib: { kernel: false }',
    'dataplane: { tun: gtun0, workers: 1 }',
    `underlay: { local: ${UNDERLAY.local} }`,
    cs.length ? 'tunnels:' : 'tunnels: []',
  ];
  for (const c of cs) {
    const routes = [c.route6, ...(o.changed === c.i ? [extraRoute(c)] : [])];
    L.push(
      `  - { name: ${c.tunnel}, remote: ${c.remote}, key: ${c.key}, inner: { local6: "${c.inner6}" }, routes: [${routes.map((r) => `"${r}"`).join(', ')}] }`,
    );
  }
  L.push(cs.length ? 'neighbors:' : 'neighbors: []');
  for (const c of cs) {
    const tunnel = c.real ? '' : `, tunnel: ${c.tunnel}`;
    const fam = c.real ? 'ipv4-unicast' : 'ipv6-unicast';
    L.push(
      `  - { name: ${c.name}, address: "${c.address}", remote-as: ${c.asn}, role: customer, passive: true, hold-time: ${c.holdTime}, families: [${fam}]${tunnel}, prefixes: [${prefixesOf(
        c,
        o.changed === c.i,
      )
        .map((p) => `"${p}"`)
        .join(', ')}] }`,
    );
  }
  return `${L.join('\n')}\n`;
}

/** BIRD 2: the same N customers as `protocol bgp`, passive, on 127.0.0.1 of its namespace. */
export function birdConf(cs: Customer[], port: number, changed?: number): string {
  const L: string[] = [
    '# written by bench/tunnels/config.ts',
    `router id ${ROUTER_ID};`,
    'log stderr { warning, error, fatal, bug };',
    // Two words (date and time) in `show protocols`, which daemons.ts reads.
    'timeformat protocol iso long;',
    'ipv4 table nh4;',
    'protocol device {}',
    'protocol static nhs { ipv4 { table nh4; }; route 127.0.0.0/8 via "lo"; }',
  ];
  for (const c of cs) {
    const pfx = prefixesOf(c, changed === c.i);
    const v4 = pfx.filter((p) => !p.includes(':')).map((p) => p.replace(/ le (\d+)/, '{$1,$1}'));
    const v6 = pfx.filter((p) => p.includes(':')).map((p) => p.replace(/\/(\d+) le (\d+)/, '/$1{$1,$2}'));
    const f4 = v4.length ? `net ~ [ ${v4.join(', ')} ]` : 'false';
    const f6 = v6.length ? `net ~ [ ${v6.join(', ')} ]` : 'false';
    // Multihop: BIRD takes neither a 127/8 nor a tunnel-side address (no interface here) as direct.
    L.push(`protocol bgp ${c.name} {
  local ${c.real ? '127.0.0.1' : '::1'} port ${port} as ${LOCAL_AS}; neighbor ${c.address} as ${c.asn}; multihop; passive yes;
  strict bind yes; hold time ${c.holdTime}; graceful restart off;
  ${c.real ? 'ipv4' : 'ipv6'} { import where ${c.real ? f4 : f6}; export none;${c.real ? ' igp table nh4;' : ''} };
}`);
  }
  return `${L.join('\n')}\n`;
}
