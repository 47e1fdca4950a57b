/**
 * The address and AS plan of the no-resale lab. Only documentation space (RFC 5737, RFC 3849),
 * 127/8 (the load of test 5, never configured on an interface) and documentation / private ASNs.
 *
 *   cpe-r ══ur══╗                        ╔══pe══ peer (BIRD, AS 64496, no-resale)
 *   cpe-n ══un══╣  edge (gredged, 65000) ╠══tr══ transit (GoBGP, AS 64497)
 *               ║                        ╠══in══ int (GoBGP, iBGP AS 65000)
 *               ╚════════════════════════╩══ax══ aux (BIRD: max-prefix, role checks; the feeder)
 *
 * Each customer's GRE tunnel runs from its CPE's underlay address to the edge's 198.51.100.254
 * (on the edge's lo); the customer's BGP session (BIRD on the CPE) runs inside it, between the
 * tunnel's inner addresses.
 */

export const TUN = 'gredge0';
export const FULL = 201;
export const RESALE = 202;
export const PROTO = 250;

export const AS = {
  edge: 65000,
  custR: 65001,
  custN: 65002,
  peer: 64496,
  transit: 64497,
  mp: 64498,
  rsMismatch: 64499,
  rsMissing: 64500,
  rsGood: 64501,
  feeder: 64502,
  /** In front of the feeder's paths (one hop longer than the peer's). */
  feederUp: 64509,
  /** Behind the transit's route to the peer's prefix (one hop longer than the peer's). */
  transitUp: 64510,
  /** The foreign first AS of the cust-r route refused for first-as. */
  foreign: 64511,
} as const;

/** The edge's underlay address, on its lo: both tunnels end there. */
export const EDGE_UNDERLAY = '198.51.100.254';

export interface Customer {
  name: 'cust-r' | 'cust-n';
  role: 'cpe-r' | 'cpe-n';
  as: number;
  resale: boolean;
  key: number;
  /** veth: edge end, cpe end. */
  edgeIf: string;
  link: { edge: string; cpe: string; len: number; edge6: string; cpe6: string };
  inner: { edge: string; cpe: string; edge6: string; cpe6: string };
  prefix4: string;
  prefix6: string;
  /** The customer's host address (on the CPE's lo), inside its prefix. */
  host4: string;
  host6: string;
}

export const CUST_R: Customer = {
  name: 'cust-r',
  role: 'cpe-r',
  as: AS.custR,
  resale: true,
  key: 101,
  edgeIf: 'ur',
  link: {
    edge: '198.51.100.1',
    cpe: '198.51.100.2',
    len: 30,
    edge6: '2001:db8:100:1::1',
    cpe6: '2001:db8:100:1::2',
  },
  inner: { edge: '192.0.2.1', cpe: '192.0.2.2', edge6: '2001:db8:ff:1::1', cpe6: '2001:db8:ff:1::' },
  prefix4: '203.0.113.0/26',
  prefix6: '2001:db8:c1::/48',
  host4: '203.0.113.1',
  host6: '2001:db8:c1::1',
};

export const CUST_N: Customer = {
  name: 'cust-n',
  role: 'cpe-n',
  as: AS.custN,
  resale: false,
  key: 102,
  edgeIf: 'un',
  link: {
    edge: '198.51.100.5',
    cpe: '198.51.100.6',
    len: 30,
    edge6: '2001:db8:100:2::1',
    cpe6: '2001:db8:100:2::2',
  },
  inner: { edge: '192.0.2.5', cpe: '192.0.2.6', edge6: '2001:db8:ff:2::1', cpe6: '2001:db8:ff:2::' },
  prefix4: '203.0.113.64/26',
  prefix6: '2001:db8:c2::/48',
  host4: '203.0.113.65',
  host6: '2001:db8:c2::1',
};

export const CUSTOMERS = [CUST_R, CUST_N] as const;

/** The inner subnets of the tunnels (what gredged routes into them besides BGP routes). */
export function innerSubnets(c: Customer): { v4: string; v6: string } {
  const [a, b, cc, d] = c.inner.cpe.split('.').map(Number) as [number, number, number, number];
  return { v4: `${a}.${b}.${cc}.${d & ~3}/30`, v6: `${c.inner.cpe6}/127` };
}

/** Neighbors on veths of their own: edge end, far end. */
export const PEER = {
  edgeIf: 'pe',
  edge: '198.51.100.9',
  addr: '198.51.100.10',
  edge6: '2001:db8:100:3::1',
  addr6: '2001:db8:100:3::2',
  /** Announced only by the peer (tests 1 and 2), with an address inside that answers pings. */
  prefix4: '203.0.113.128/27',
  prefix6: '2001:db8:a1::/48',
  host4: '203.0.113.129',
  host6: '2001:db8:a1::1',
} as const;

export const TRANSIT = {
  edgeIf: 'tr',
  edge: '198.51.100.13',
  addr: '198.51.100.14',
  edge6: '2001:db8:100:4::1',
  addr6: '2001:db8:100:4::2',
  prefix4: '203.0.113.160/27',
  prefix6: '2001:db8:b1::/48',
  host4: '203.0.113.161',
  host6: '2001:db8:b1::1',
} as const;

export const INTERNAL = {
  edgeIf: 'in',
  edge: '198.51.100.17',
  addr: '198.51.100.18',
  edge6: '2001:db8:100:5::1',
  addr6: '2001:db8:100:5::2',
  /** The provider's own routes (untagged): everyone gets them. The internal network's hosts
   * are inside them (customers reach only what is in BGP: a packet from the TUN never falls
   * through to the main table). */
  own4: '192.0.2.192/26',
  own6: '2001:db8:f0::/48',
  host4: '192.0.2.193',
  host6: '2001:db8:f0::1',
  /** Learned from the no-resale peer at another edge (tagged 65000:1:3). */
  tagged4: '203.0.113.192/28',
  tagged6: '2001:db8:a9::/48',
} as const;

/** aux: a /29 with one address per helper neighbor. */
export const AUX = {
  edgeIf: 'ax',
  edge: '198.51.100.25',
  edge6: '2001:db8:100:6::1',
  len: 29,
  mp: '198.51.100.26',
  rsMismatch: '198.51.100.27',
  rsMissing: '198.51.100.28',
  rsGood: '198.51.100.29',
  /** The load feeder (feeder-main.ts). */
  feeder: '198.51.100.30',
} as const;

/** The max-prefix neighbor's routes: two fit the limit, the third crosses it. */
export const MP_ROUTES = ['2001:db8:e1::/48', '2001:db8:e2::/48', '2001:db8:e3::/48'] as const;
export const RS_GOOD_ROUTE = '2001:db8:e8::/48';

/** The provider's own space and the lab's bogon list (documentation space must pass). */
export const OWN_PREFIXES = ['192.0.2.0/24', '2001:db8:ff::/48'];
export const BOGONS = ['10.0.0.0/8 le 32', '0.0.0.0/0 ge 29', '::/0 ge 49'];

/** cust-r's refused announcements (test 3), one per import check, and the reason each must get. */
export const REFUSED = {
  default4: '0.0.0.0/0',
  default6: '::/0',
  bogon: '10.0.0.0/8',
  ownPrefix: '192.0.2.64/27',
  notOwn: '203.0.113.208/28',
  firstAs: '203.0.113.32/28',
  otc: '203.0.113.48/28',
  asLoop: '203.0.113.16/28',
} as const;
/** cust-r's routes announced after the refused ones: once the others hold it, gredged is past them. */
export const SENTINEL = '203.0.113.0/28';

/** The load of test 5: the i-th IPv4 /24 in 127.16/12, the i-th IPv6 /48 from 2001:db8:4000::. */
export function load4(i: number): string {
  return `127.${16 + (i >> 8)}.${i & 255}.0/24`;
}
export function load6(i: number): string {
  return `2001:db8:${(0x4000 + i).toString(16)}::/48`;
}
