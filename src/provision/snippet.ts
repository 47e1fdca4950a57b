/**
 * The customer's side of a provisioned circuit as ready-to-paste config for a Linux router:
 * iproute2 commands for the GRE tunnel (RFC 2784 with an RFC 2890 key; `ip6gre` over an IPv6
 * underlay) with its MTU and inner addresses, and a BIRD 2 `protocol bgp` block for the session
 * inside it (their AS and ours, our inner address as neighbor, their prefixes exported, and
 * `local role customer`, RFC 9234, since gredged sends the BGP Role capability as provider).
 * Pure: the same circuit gives the same text.
 */
import { parsePrefixRule } from '../policy/prefix-set.js';
import type { CustomerCircuit, Snippet } from './types.js';

/** The name of their tunnel interface: `gre-NAME`, cut to IFNAMSIZ (15 characters). */
export function interfaceName(name: string): string {
  return `gre-${name}`.slice(0, 15);
}

/** A BIRD symbol (letters, digits, underscores; a letter first). */
export function birdName(name: string): string {
  return `gredge_${name.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

/** A prefix rule in BIRD's prefix-set syntax: `P`, or `P{GE,LE}`. */
export function birdPrefix(rule: string): string {
  const r = parsePrefixRule(rule);
  if (typeof r === 'string') throw new Error(r);
  const base = rule.trim().split(/\s+/)[0]!;
  return r.ge === r.len && r.le === r.len ? base : `${base}{${r.ge},${r.le}}`;
}

const isV6 = (rule: string) => rule.includes(':');

export function customerSnippet(c: CustomerCircuit): Snippet {
  const dev = c.interface;
  const v6Underlay = c.remote.includes(':');
  // A fixed TTL: the default (inherit) would copy the eBGP session's TTL of 1 onto the GRE
  // packets, which then die at the first router between the two ends.
  const tunnel = v6Underlay
    ? `ip -6 tunnel add ${dev} mode ip6gre key ${c.key} local ${c.remote} remote ${c.local} hoplimit 64 encaplimit none`
    : `ip tunnel add ${dev} mode gre key ${c.key} local ${c.remote} remote ${c.local} ttl 64`;
  const iproute2 = [
    tunnel,
    `ip link set ${dev} mtu ${c.mtu}`,
    `ip address add ${c.inner.v4.customer}/${c.inner.v4.length} dev ${dev}`,
    ...(c.inner.v6 ? [`ip -6 address add ${c.inner.v6.customer}/${c.inner.v6.length} dev ${dev}`] : []),
    `ip link set ${dev} up`,
  ];
  const v4 = c.prefixes.filter((p) => !isV6(p)).map(birdPrefix);
  const v6 = c.prefixes.filter(isV6).map(birdPrefix);
  const exportOf = (ps: string[]) =>
    ps.length === 0 ? 'export none;' : `export where net ~ [ ${ps.join(', ')} ];`;
  const bird = [
    `protocol bgp ${birdName(c.name)} {`,
    `  description "gredge AS${c.localAs}, circuit ${c.name}";`,
    `  local ${c.inner.v4.customer} as ${c.asn};`,
    `  neighbor ${c.inner.v4.provider} as ${c.localAs};`,
    '  local role customer;',
    '  ipv4 {',
    '    import all;',
    `    ${exportOf(v4)}`,
    '  };',
    ...(c.inner.v6
      ? [
          '  ipv6 {',
          '    import all;',
          `    ${exportOf(v6)}`,
          `    next hop address ${c.inner.v6.customer};`,
          '  };',
        ]
      : []),
    '}',
  ].join('\n');
  const text = [
    `# gredge circuit '${c.name}': AS${c.asn} (you) to AS${c.localAs} (us)`,
    `# GRE key ${c.key}, your underlay ${c.remote}, ours ${c.local}, inner MTU ${c.mtu}`,
    '',
    '# 1. The tunnel (as root; to keep it across reboots, put it in your network configuration):',
    ...iproute2,
    '',
    '# 2. BIRD 2 (bird.conf, then `birdc configure`). bird.conf also needs `protocol device`;',
    '#    your routes for the prefixes exported here must be in BIRD (protocol static or kernel).',
    bird,
    '',
  ].join('\n');
  return { iproute2, bird, text };
}
