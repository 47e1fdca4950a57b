/**
 * The default bogon list: prefixes no eBGP neighbor may announce to us. Special-purpose ranges
 * of the IANA registries that RFC 6890 set up (not globally reachable), the documentation ranges
 * (a test or lab config replaces the list to use them as customer space), multicast and the
 * reserved classes, and anything more specific than the usual acceptance limits (IPv4 /24,
 * IPv6 /48), which would let one neighbor punch holes in everybody's routes. The top-level
 * config key `bogons` replaces the whole list.
 */
export const DEFAULT_BOGONS: readonly { rule: string; why: string }[] = [
  { rule: '0.0.0.0/8 le 32', why: '"this network" (RFC 791, RFC 6890)' },
  { rule: '10.0.0.0/8 le 32', why: 'private use (RFC 1918)' },
  { rule: '100.64.0.0/10 le 32', why: 'shared address space (RFC 6598)' },
  { rule: '127.0.0.0/8 le 32', why: 'loopback (RFC 1122)' },
  { rule: '169.254.0.0/16 le 32', why: 'link local (RFC 3927)' },
  { rule: '172.16.0.0/12 le 32', why: 'private use (RFC 1918)' },
  { rule: '192.0.0.0/24 le 32', why: 'IETF protocol assignments (RFC 6890)' },
  { rule: '192.0.2.0/24 le 32', why: 'documentation TEST-NET-1 (RFC 5737)' },
  { rule: '192.88.99.0/24 le 32', why: '6to4 relay anycast, deprecated (RFC 7526)' },
  { rule: '192.168.0.0/16 le 32', why: 'private use (RFC 1918)' },
  { rule: '198.18.0.0/15 le 32', why: 'benchmarking (RFC 2544)' },
  { rule: '198.51.100.0/24 le 32', why: 'documentation TEST-NET-2 (RFC 5737)' },
  { rule: '203.0.113.0/24 le 32', why: 'documentation TEST-NET-3 (RFC 5737)' },
  { rule: '224.0.0.0/4 le 32', why: 'multicast (RFC 5771)' },
  { rule: '240.0.0.0/4 le 32', why: 'reserved, and the limited broadcast address (RFC 1112, RFC 919)' },
  { rule: '0.0.0.0/0 ge 25', why: 'IPv4 more specific than /24' },
  { rule: '::/8 le 128', why: 'unspecified, loopback, IPv4-mapped and -compatible (RFC 4291)' },
  { rule: '100::/64 le 128', why: 'discard only (RFC 6666)' },
  { rule: '2001:2::/48 le 128', why: 'benchmarking (RFC 5180)' },
  { rule: '2001:10::/28 le 128', why: 'ORCHID, deprecated (RFC 4843)' },
  { rule: '2001:db8::/32 le 128', why: 'documentation (RFC 3849)' },
  { rule: '2002::/16 le 128', why: '6to4 (RFC 3056): not to be routed as a native prefix' },
  { rule: '3ffe::/16 le 128', why: 'former 6bone (RFC 3701)' },
  { rule: 'fc00::/7 le 128', why: 'unique local (RFC 4193)' },
  { rule: 'fe80::/10 le 128', why: 'link local (RFC 4291)' },
  { rule: 'fec0::/10 le 128', why: 'site local, deprecated (RFC 3879)' },
  { rule: 'ff00::/8 le 128', why: 'multicast (RFC 4291)' },
  { rule: '::/0 ge 49', why: 'IPv6 more specific than /48' },
];
