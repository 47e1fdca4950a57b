/**
 * gredged configs (the operator's YAML, see issue 4) for the two ends of the lab's GRE path:
 * `edge` terminates the customer's tunnel (anti-spoofing on the customer's prefixes), `cpe` is a
 * tunnel-only gredged (no neighbors) whose tunnel carries everything toward the provider.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADDR, type Lab } from './topology.js';

export type Underlay = 'v4' | 'v6';

/** Inner (tunnel) addresses: a /30 and a /127 out of the documentation ranges. */
export const INNER = {
  edge: { v4: '192.0.2.129', v6: '2001:db8:ff::1' },
  cpe: { v4: '192.0.2.130', v6: '2001:db8:ff::' },
} as const;

export const KEY = 42;

export interface ExtraTunnel {
  name: string;
  remote: string;
  key: number;
  sequence?: boolean;
  checksum?: boolean;
  allowedSources?: string[];
  routes?: string[];
}

export interface LabConfigOptions {
  underlay: Underlay;
  key?: number;
  workers?: number;
  tun?: string;
  /** More tunnels on the edge side (forged-packet tests). */
  edgeExtra?: ExtraTunnel[];
  sequence?: boolean;
  checksum?: boolean;
  /** `dataplane.direct-tx` on both ends (default: the config default, on). */
  directTx?: boolean;
  /**
   * A BGP session inside the tunnel (ARCHITECTURE data flow 3): edge (AS 65000) sees cpe as a
   * customer (AS 65001) at cpe's inner address; `mtu` overrides the edge tunnel's MTU and
   * `mssClamp` its clamp, to check the session socket's own MSS.
   */
  bgp?: { mtu?: number; mssClamp?: boolean };
  /** The edge's control socket (a path in the lab's directory); default none. */
  control?: string;
  /** The edge's Prometheus exporter, `ADDR:PORT` in its namespace; default none. */
  metrics?: string;
}

function dataplaneYaml(o: LabConfigOptions): string {
  const dtx = o.directTx === undefined ? '' : `, direct-tx: ${o.directTx}`;
  return `dataplane: { tun: ${o.tun ?? 'gredge0'}, workers: ${o.workers ?? 2}${dtx} }`;
}

function mtuFor(u: Underlay): number {
  // 1500 - 20 (IPv4) or 40 (IPv6) - 8 (GRE with key)
  return u === 'v4' ? 1472 : 1452;
}

const q = (s: string) => JSON.stringify(s);
const list = (xs: string[]) => `[${xs.map(q).join(', ')}]`;

function tunnelYaml(t: {
  name: string;
  remote: string;
  key: number;
  mtu?: number;
  inner?: { local: string; local6: string };
  allowedSources: string[];
  routes: string[];
  sequence?: boolean;
  checksum?: boolean;
  mssClamp?: boolean;
}): string {
  const lines = [
    `  - name: ${t.name}`,
    `    remote: ${q(t.remote)}`,
    `    key: ${t.key}`,
    ...(t.mtu ? [`    mtu: ${t.mtu}`] : []),
    ...(t.inner ? [`    inner: { local: ${q(t.inner.local)}, local6: ${q(t.inner.local6)} }`] : []),
    `    allowed-sources: ${list(t.allowedSources)}`,
    `    routes: ${list(t.routes)}`,
    `    mss-clamp: ${t.mssClamp ?? true}`,
    ...(t.sequence ? ['    sequence: true'] : []),
    ...(t.checksum ? ['    checksum: true'] : []),
  ];
  return lines.join('\n');
}

export function edgeYaml(o: LabConfigOptions): string {
  const u = o.underlay;
  const tunnels = [
    tunnelYaml({
      name: 'cust-a',
      remote: ADDR.cpeUnder[u],
      key: o.key ?? KEY,
      mtu: o.bgp?.mtu ?? mtuFor(u),
      inner: { local: `${INNER.edge.v4}/30`, local6: `${INNER.edge.v6}/127` },
      allowedSources: [ADDR.custNet.v4, ADDR.custNet.v6, '192.0.2.128/30', '2001:db8:ff::/127'],
      routes: [ADDR.custNet.v4, ADDR.custNet.v6],
      sequence: o.sequence ?? false,
      checksum: o.checksum ?? false,
      mssClamp: o.bgp?.mssClamp ?? true,
    }),
    ...(o.edgeExtra ?? []).map((x) =>
      tunnelYaml({
        name: x.name,
        remote: x.remote,
        key: x.key,
        allowedSources: x.allowedSources ?? [ADDR.custNet.v4, ADDR.custNet.v6],
        routes: x.routes ?? [],
        sequence: x.sequence ?? false,
        checksum: x.checksum ?? false,
      }),
    ),
  ];
  return [
    '# lab: the provider edge, terminating the customer circuit',
    `router-id: ${ADDR.edgeUnder.v4}`,
    'local-as: 65000',
    dataplaneYaml(o),
    `underlay: { ${u === 'v4' ? 'local' : 'local6'}: ${q(ADDR.edgeUnder[u])} }`,
    'log: { level: info }',
    // Two gredged run at once (edge and CPE): neither may take the default control socket.
    o.control ? `control: { socket: ${q(o.control)} }` : 'control: false',
    o.metrics ? `metrics: { listen: ${q(o.metrics)} }` : 'metrics: false',
    'tunnels:',
    ...tunnels,
    ...(o.bgp
      ? [
          `listen: { address: ${q(INNER.edge.v4)}, port: 179 }`,
          'neighbors:',
          `  - { name: cust-a, address: ${q(INNER.cpe.v4)}, remote-as: 65001, role: customer, passive: true, tunnel: cust-a, hold-time: 30 }`,
        ]
      : []),
    '',
  ].join('\n');
}

export function cpeYaml(o: LabConfigOptions): string {
  const u = o.underlay;
  return [
    '# lab: the customer premises end, a tunnel-only gredged (no neighbors)',
    `router-id: ${ADDR.cpeUnder.v4}`,
    'local-as: 65001',
    dataplaneYaml(o),
    `underlay: { ${u === 'v4' ? 'local' : 'local6'}: ${q(ADDR.cpeUnder[u])} }`,
    'log: { level: info }',
    // Two gredged run at once (edge and CPE): neither may take the default control socket.
    'control: false',
    'metrics: false',
    'tunnels:',
    tunnelYaml({
      name: 'to-edge',
      remote: ADDR.edgeUnder[u],
      key: o.key ?? KEY,
      mtu: mtuFor(u),
      inner: { local: `${INNER.cpe.v4}/30`, local6: `${INNER.cpe.v6}/127` },
      // The provider may send anything toward the customer.
      allowedSources: ['0.0.0.0/0', '::/0'],
      routes: [ADDR.netNet.v4, ADDR.netNet.v6],
      sequence: o.sequence ?? false,
      checksum: o.checksum ?? false,
      mssClamp: o.bgp?.mssClamp ?? true,
    }),
    ...(o.bgp
      ? [
          `listen: { address: ${q(INNER.cpe.v4)}, port: 179 }`,
          'neighbors:',
          `  - { name: edge, address: ${q(INNER.edge.v4)}, remote-as: 65000, role: transit, tunnel: to-edge, hold-time: 30, connect-retry: 1 }`,
        ]
      : []),
    '',
  ].join('\n');
}

/** Write both configs into the lab's directory; returns their paths. */
export function writeLabConfigs(lab: Lab, o: LabConfigOptions): { cpe: string; edge: string } {
  const tag = `${o.underlay}-${o.key ?? KEY}`;
  const cpe = join(lab.dir, `cpe-${tag}.yaml`);
  const edge = join(lab.dir, `edge-${tag}.yaml`);
  writeFileSync(cpe, cpeYaml(o));
  writeFileSync(edge, edgeYaml(o));
  return { cpe, edge };
}

export function innerMtu(u: Underlay): number {
  return mtuFor(u);
}
