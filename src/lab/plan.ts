/**
 * The lab's world (`npm run lab`, docs/lab.md): namespace names, addresses and AS numbers.
 * Only documentation space (RFC 5737) and documentation / private AS numbers; config/lab/edge.yaml
 * says the same of the edge, and the two must agree (the edge's file is what a newcomer reads).
 *
 *   cpe-r ══ to-r ══╗                      ╔══ to-peer ══ peer     (BIRD 2, AS 64496, no-resale)
 *   cpe-n ══ to-n ══╣  edge (gredged 65000) ╠══ to-tr ════ transit  (GoBGP, AS 64497)
 *   cpe-c ══ to-c ══╝                      ╚══ to-int ═══ internal (GoBGP, iBGP AS 65000)
 */
import { fileURLToPath } from 'node:url';

/** Every namespace of the lab starts with this; a second `npm run lab` replaces all of them. */
export const NS_PREFIX = 'gredge-lab-';
export const ns = (role: string) => `${NS_PREFIX}${role}`;

/** Where the lab keeps its state while it is up: configs, logs, sockets, the PID list. */
export const RUN_DIR = '/run/gredge-lab';
export const STATE_FILE = `${RUN_DIR}/state.json`;
export const SOCKET = `${RUN_DIR}/gredge.sock`;
export const CUSTOMERS_DIR = `${RUN_DIR}/customers`;
export const METRICS_URL = 'http://127.0.0.1:9475/metrics';

const here = (rel: string) => fileURLToPath(new URL(rel, import.meta.url));
/** The repository (dist/src/lab/ → three levels up). */
export const REPO = here('../../../');
export const EDGE_CONFIG = here('../../../config/lab/edge.yaml');
export const GREDGED = here('../main.js');
export const GREDGECTL = here('../control/cli/gredgectl.js');

export const EDGE_AS = 65000;
/** The edge's underlay address (on its lo): every customer's tunnel ends there. */
export const EDGE_UNDERLAY = '198.51.100.254';

export interface Customer {
  name: 'cust-r' | 'cust-n' | 'cust-c';
  role: string;
  as: number;
  resale: boolean;
  /** The edge's veth toward the CPE. */
  edgeIf: string;
  /** The /30 between edge and CPE: edge end, CPE end (the CPE's underlay address). */
  edge: string;
  cpe: string;
  prefix: string;
  /** An address of the customer's network, on the CPE's lo: pings leave from it. */
  host: string;
}

/** Configured in edge.yaml: GRE key and inner addresses (edge end, CPE end). */
export interface StaticCustomer extends Customer {
  key: number;
  innerEdge: string;
  innerCpe: string;
}

export const CUST_R: StaticCustomer = {
  name: 'cust-r',
  role: 'cpe-r',
  as: 65001,
  resale: true,
  edgeIf: 'to-r',
  edge: '198.51.100.1',
  cpe: '198.51.100.2',
  prefix: '203.0.113.0/26',
  host: '203.0.113.1',
  key: 101,
  innerEdge: '192.0.2.1',
  innerCpe: '192.0.2.2',
};

export const CUST_N: StaticCustomer = {
  name: 'cust-n',
  role: 'cpe-n',
  as: 65002,
  resale: false,
  edgeIf: 'to-n',
  edge: '198.51.100.5',
  cpe: '198.51.100.6',
  prefix: '203.0.113.64/26',
  host: '203.0.113.65',
  key: 102,
  innerEdge: '192.0.2.5',
  innerCpe: '192.0.2.6',
};

/** Provisioned live by the tour (`gredgectl customer add`): key and inner addresses come from gredged. */
export const CUST_C: Customer = {
  name: 'cust-c',
  role: 'cpe-c',
  as: 65003,
  resale: true,
  edgeIf: 'to-c',
  edge: '198.51.100.9',
  cpe: '198.51.100.10',
  prefix: '203.0.113.192/27',
  host: '203.0.113.193',
};

export interface Neighbor {
  role: string;
  as: number;
  edgeIf: string;
  edge: string;
  addr: string;
  prefix: string;
  host: string;
}

/** The no-resale peer: its prefix is the "peer-only" one (nobody else announces it). */
export const PEER: Neighbor = {
  role: 'peer',
  as: 64496,
  edgeIf: 'to-peer',
  edge: '198.51.100.13',
  addr: '198.51.100.14',
  prefix: '203.0.113.128/27',
  host: '203.0.113.129',
};

/** The transit: its prefix is the "transit-only" one, which every customer reaches. */
export const TRANSIT: Neighbor = {
  role: 'transit',
  as: 64497,
  edgeIf: 'to-tr',
  edge: '198.51.100.17',
  addr: '198.51.100.18',
  prefix: '203.0.113.160/27',
  host: '203.0.113.161',
};

/** The provider's internal network (iBGP): our own prefix. */
export const INTERNAL: Neighbor = {
  role: 'internal',
  as: EDGE_AS,
  edgeIf: 'to-int',
  edge: '198.51.100.21',
  addr: '198.51.100.22',
  prefix: '192.0.2.192/26',
  host: '192.0.2.193',
};

/** What a CPE sends into its tunnel (its data plane's static routes): the lab's destinations. */
export const CPE_ROUTES = ['203.0.113.0/24', INTERNAL.prefix];

/** Every namespace role, in the order they are made. */
export const ROLES = ['edge', CUST_R.role, CUST_N.role, CUST_C.role, PEER.role, TRANSIT.role, INTERNAL.role];
