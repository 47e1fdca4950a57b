/**
 * FIB targets: a route from a session inside a tunnel goes into that tunnel; a route whose next
 * hop is the far end of a tunnel's inner subnet (/30, /31, /64, /127) too, but not one via our
 * own inner address; everything else goes to its BGP next hop; a route without one goes nowhere.
 */
import t from 'tap';
import { parseIpv4, parseIpv6 } from '../../src/bgp/wire/prefix.js';
import type { PathAttributes } from '../../src/bgp/wire/types.js';
import type { TunnelConfig } from '../../src/config/types.js';
import { sameTarget, TargetResolver } from '../../src/fib/targets.js';
import { neighbor } from '../rib/helpers.js';

function tunnel(name: string, inner: TunnelConfig['inner']): TunnelConfig {
  return {
    name,
    remote: '198.51.100.2',
    key: 1,
    mtu: 1472,
    inner,
    allowedSources: [],
    routes: [],
    mssClamp: true,
    sequence: false,
    checksum: false,
  };
}

const r = new TargetResolver({
  neighbors: [
    neighbor('cust-a', 'customer', 65010, '192.0.2.130', { tunnel: 'a' }),
    neighbor('tr', 'transit', 65020, '203.0.113.1'),
  ],
  tunnels: [
    tunnel('a', { local: '192.0.2.129/30', local6: '2001:db8:ff::1/127' }),
    tunnel('b', { local: '192.0.2.132/31', local6: '2001:db8:ff:1::1/64' }),
  ],
});
const v4 = (nh: string): PathAttributes => ({
  origin: 0,
  asPath: [],
  atomicAggregate: false,
  nextHop: parseIpv4(nh)!,
});
const v6 = (nh: string): PathAttributes => ({
  origin: 0,
  asPath: [],
  atomicAggregate: false,
  nextHop6: { global: parseIpv6(nh)! },
});

t.same(
  r.resolve('ipv4-unicast', 'cust-a', v4('203.0.113.9')),
  { kind: 'tunnel', tunnel: 'a' },
  'session in tunnel a',
);
t.same(
  r.resolve('ipv6-unicast', 'cust-a', v6('2001:db8::9')),
  { kind: 'tunnel', tunnel: 'a' },
  'both families',
);
t.same(
  r.resolve('ipv4-unicast', 'core', v4('192.0.2.130')),
  { kind: 'tunnel', tunnel: 'a' },
  'far end of a /30',
);
t.same(
  r.resolve('ipv4-unicast', 'core', v4('192.0.2.133')),
  { kind: 'tunnel', tunnel: 'b' },
  'far end of a /31',
);
t.same(
  r.resolve('ipv6-unicast', 'core', v6('2001:db8:ff::')),
  { kind: 'tunnel', tunnel: 'a' },
  'far end of a /127',
);
t.same(
  r.resolve('ipv6-unicast', 'core', v6('2001:db8:ff:1::77')),
  { kind: 'tunnel', tunnel: 'b' },
  'in a /64',
);
const viaUs = r.resolve('ipv4-unicast', 'core', v4('192.0.2.129'));
t.equal(viaUs.kind, 'gateway', 'our own inner address is not the customer');
t.same(r.resolve('ipv4-unicast', 'tr', v4('203.0.113.1')), {
  kind: 'gateway',
  family: 'ipv4-unicast',
  address: Uint8Array.of(203, 0, 113, 1),
});
t.equal(
  r.resolve('ipv4-unicast', 'core', v4('192.0.2.128')).kind,
  'tunnel',
  'the whole /30 (the resolver does not judge)',
);
t.equal(r.resolve('ipv4-unicast', 'core', v4('192.0.2.136')).kind, 'gateway', 'just outside');
t.same(r.resolve('ipv6-unicast', 'tr', { origin: 0, asPath: [], atomicAggregate: false }), { kind: 'none' });
t.ok(sameTarget({ kind: 'tunnel', tunnel: 'a' }, { kind: 'tunnel', tunnel: 'a' }));
t.notOk(sameTarget({ kind: 'tunnel', tunnel: 'a' }, { kind: 'tunnel', tunnel: 'b' }));
t.ok(
  sameTarget(
    { kind: 'gateway', family: 'ipv4-unicast', address: Uint8Array.of(1, 2, 3, 4) },
    { kind: 'gateway', family: 'ipv4-unicast', address: Uint8Array.of(1, 2, 3, 4) },
  ),
);
t.notOk(sameTarget({ kind: 'none' }, undefined));
t.ok(sameTarget(undefined, undefined));
