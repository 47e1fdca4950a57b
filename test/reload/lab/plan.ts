/**
 * The address and AS plan of the reload lab (issue 10, done-means 1 and 2). Documentation space
 * only (RFC 5737, RFC 3849) and documentation ASNs.
 *
 *   cpe-a ══ua══╗                          ╔══pe══ peer (BIRD, AS 64496, no-resale)
 *   cpe-c ══uc══╣  edge (gredged, 65000)   ║
 *   cpe-d ══ud══╣                          ║
 *   cpe-e ══ue══╝──────────────────────────╝
 *
 * Each customer's GRE tunnel runs from its CPE's underlay address to the edge's 198.51.100.254
 * (on the edge's lo), with gredge's own data plane at both ends (this kernel has no GRE); the
 * customer's BGP session (BIRD on the CPE) runs inside it, between the tunnel's inner addresses.
 *
 *  - cust-a (`resale: false`) is never touched by a reload: its CPE pings the peer's host
 *    through the tunnel while the others change;
 *  - cust-c resells at first; the reload makes it `resale: false` (it then gets the peer's routes);
 *  - cust-d's tunnel and neighbor are removed by the reload (and, for 3 s, by a rollback test);
 *  - cust-e's tunnel and neighbor are added by the reload (its CPE and BIRD wait from the start).
 */

export const AS = { edge: 65000, peer: 64496 } as const;

/** The edge's underlay address, on its lo: every tunnel ends there. */
export const EDGE_UNDERLAY = '198.51.100.254';

export interface Cust {
  name: 'cust-a' | 'cust-c' | 'cust-d' | 'cust-e';
  /** The CPE's namespace role. */
  role: string;
  as: number;
  key: number;
  /** The edge's end of the underlay veth (the CPE's end is u0). */
  edgeIf: string;
  link: { edge: string; cpe: string };
  inner: { edge: string; cpe: string; edge6: string; cpe6: string; net4: string; net6: string };
  prefix4: string;
  prefix6: string;
  /** The customer's host address (on the CPE's lo), inside its prefix. */
  host4: string;
  host6: string;
}

function cust(name: Cust['name'], i: number): Cust {
  const letter = name.slice(-1);
  return {
    name,
    role: `cpe-${letter}`,
    as: 64500 + i,
    key: 200 + i,
    edgeIf: `u${letter}`,
    link: { edge: `198.51.100.${4 * i + 1}`, cpe: `198.51.100.${4 * i + 2}` },
    inner: {
      edge: `192.0.2.${4 * i + 1}`,
      cpe: `192.0.2.${4 * i + 2}`,
      net4: `192.0.2.${4 * i}/30`,
      edge6: `2001:db8:ff:${i}::1`,
      cpe6: `2001:db8:ff:${i}::`,
      net6: `2001:db8:ff:${i}::/127`,
    },
    prefix4: `203.0.113.${32 * i}/27`,
    prefix6: `2001:db8:c${i}::/48`,
    host4: `203.0.113.${32 * i + 1}`,
    host6: `2001:db8:c${i}::1`,
  };
}

export const CUST_A = cust('cust-a', 0);
export const CUST_C = cust('cust-c', 1);
export const CUST_D = cust('cust-d', 2);
export const CUST_E = cust('cust-e', 3);
export const ALL = [CUST_A, CUST_C, CUST_D, CUST_E] as const;

/** The no-resale peer on a veth of its own; its prefix answers pings at the peer. */
export const PEER = {
  edgeIf: 'pe',
  edge: '198.51.100.17',
  addr: '198.51.100.18',
  edge6: '2001:db8:100:3::1',
  addr6: '2001:db8:100:3::2',
  prefix4: '203.0.113.128/26',
  prefix6: '2001:db8:a1::/48',
  host4: '203.0.113.129',
  host6: '2001:db8:a1::1',
} as const;

/** Documentation space must pass the lab's bogon list (the defaults refuse it). */
export const BOGONS = ['10.0.0.0/8 le 32', '0.0.0.0/0 ge 29', '::/0 ge 49'];

/** The CPEs route the lab's destinations into their tunnel (never their own underlay). */
export const CPE_ROUTES = ['203.0.113.0/24', '2001:db8:a1::/48', '2001:db8:c0::/45'];
