/**
 * The resolver's subnet index and its per-name reloads, held to the linear code they replaced
 * (kept here as the reference): a scan of every inner subnet in config order, first match wins,
 * never our own address; reloads compared whole, subnets as text. Over seeded random sequences
 * of configs (subnets of several lengths in both families, overlapping ones included, so that
 * config order decides; sessions moved into, out of and between tunnels), an incrementally
 * reloaded resolver resolves thousands of next hops as the reference does, and says which best
 * paths may have moved exactly as the reference's whole comparison does.
 */
import t from 'tap';
import { parseIpv4, parseIpv6 } from '../../src/bgp/wire/prefix.js';
import type { Family, PathAttributes } from '../../src/bgp/wire/types.js';
import type { Config, NeighborConfig, TunnelConfig } from '../../src/config/types.js';
import { type Retarget, sameTarget, type Target, TargetResolver } from '../../src/fib/targets.js';
import { prng as rng } from '../prng.js';

type Cfg = Pick<Config, 'neighbors' | 'tunnels'>;

// ------------------------------------------------------------------ the reference

interface RefSubnet {
  tunnel: string;
  bytes: Uint8Array;
  len: number;
}

function bytesOf(addr: string): Uint8Array | undefined {
  const v4 = parseIpv4(addr);
  return v4 !== undefined
    ? Uint8Array.of(v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255)
    : parseIpv6(addr);
}

function refSubnet(tunnel: string, cidr: string): RefSubnet | undefined {
  const [addr, len] = cidr.split('/') as [string, string];
  const bytes = bytesOf(addr);
  return bytes && { tunnel, bytes, len: Number(len) };
}

function inside(a: Uint8Array, s: RefSubnet): boolean {
  if (a.length !== s.bytes.length) return false;
  for (let bit = 0; bit < s.len; bit++) {
    const m = 0x80 >> (bit & 7);
    if ((a[bit >> 3]! & m) !== (s.bytes[bit >> 3]! & m)) return false;
  }
  return true;
}

const v4 = (n: number | undefined) =>
  n === undefined ? undefined : Uint8Array.of(n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);

const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

class Reference {
  readonly sessions = new Map<string, string>();
  readonly s4: RefSubnet[] = [];
  readonly s6: RefSubnet[] = [];
  constructor(cfg: Cfg) {
    for (const n of cfg.neighbors) if (n.tunnel !== undefined) this.sessions.set(n.name, n.tunnel);
    for (const x of cfg.tunnels) {
      const a = x.inner.local !== undefined ? refSubnet(x.name, x.inner.local) : undefined;
      const b = x.inner.local6 !== undefined ? refSubnet(x.name, x.inner.local6) : undefined;
      if (a) this.s4.push(a);
      if (b) this.s6.push(b);
    }
  }
  resolve(family: Family, neighbor: string, a: Readonly<PathAttributes>): Target {
    const tunnel = this.sessions.get(neighbor);
    if (tunnel !== undefined) return { kind: 'tunnel', tunnel };
    const nh = family === 'ipv4-unicast' ? v4(a.nextHop) : a.nextHop6?.global;
    if (nh === undefined) return { kind: 'none' };
    for (const s of nh.length === 4 ? this.s4 : this.s6)
      if (inside(nh, s) && !same(nh, s.bytes)) return { kind: 'tunnel', tunnel: s.tunnel };
    return { kind: 'gateway', family: nh.length === 4 ? 'ipv4-unicast' : 'ipv6-unicast', address: nh };
  }
  /** The whole comparison of two configs: moved sessions, and subnets that differ as text. */
  static retarget(a: Reference, b: Reference): Retarget | undefined {
    const moved = new Set<string>();
    for (const [n, x] of a.sessions) if (b.sessions.get(n) !== x) moved.add(n);
    for (const [n, x] of b.sessions) if (a.sessions.get(n) !== x) moved.add(n);
    const text = (s: RefSubnet) => `${s.tunnel}|${s.bytes.join('.')}|${s.len}`;
    const diff = (x: RefSubnet[], y: RefSubnet[]) => {
      const inY = new Set(y.map(text));
      return x.filter((s) => !inY.has(text(s)));
    };
    const subnets = [...diff(a.s4, b.s4), ...diff(b.s4, a.s4), ...diff(a.s6, b.s6), ...diff(b.s6, a.s6)];
    if (moved.size === 0 && subnets.length === 0) return undefined;
    return (family, neighbor, attrs) => {
      if (moved.has(neighbor)) return true;
      // In a changed subnet, our own address included.
      const nh = family === 'ipv4-unicast' ? v4(attrs.nextHop) : attrs.nextHop6?.global;
      return nh !== undefined && subnets.some((s) => inside(nh, s));
    };
  }
}

// ------------------------------------------------------------------ random configs

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

/** Inner addresses in a small space, so that they often overlap (config order decides). */
function local4(r: () => number): string {
  const len = pick(r, [30, 31, 29, 24, 32]);
  return `10.0.${Math.floor(r() * 2)}.${Math.floor(r() * 16)}/${len}`;
}

function local6(r: () => number): string {
  const len = pick(r, [64, 127, 126, 120, 128]);
  return `2001:db8:0:${Math.floor(r() * 2)}::${Math.floor(r() * 8).toString(16)}/${len}`;
}

function tunnel(r: () => number, name: string): TunnelConfig {
  const inner: TunnelConfig['inner'] = {};
  if (r() < 0.8) inner.local = local4(r);
  if (r() < 0.6) inner.local6 = local6(r);
  return {
    name,
    remote: '192.0.2.1',
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

const nb = (name: string, tunnelName?: string) =>
  ({
    name,
    role: 'customer',
    ...(tunnelName !== undefined ? { tunnel: tunnelName } : {}),
  }) as unknown as NeighborConfig;

function mutate(r: () => number, cfg: Cfg, serial: { n: number }): Cfg {
  const tunnels = [...cfg.tunnels];
  const neighbors = [...cfg.neighbors];
  for (let e = 1 + Math.floor(r() * 3); e > 0; e--) {
    const i = Math.floor(r() * tunnels.length);
    const k = Math.floor(r() * neighbors.length);
    switch (Math.floor(r() * 9)) {
      case 0:
        tunnels.splice(Math.floor(r() * (tunnels.length + 1)), 0, tunnel(r, `t${serial.n++}`));
        break;
      case 1:
        if (tunnels[i]) tunnels.splice(i, 1);
        break;
      case 2:
        if (tunnels[i]) tunnels[i] = { ...tunnels[i]!, inner: { ...tunnels[i]!.inner, local: local4(r) } };
        break;
      case 3:
        if (tunnels[i]) tunnels[i] = { ...tunnels[i]!, inner: r() < 0.5 ? {} : { local6: local6(r) } };
        break;
      case 4: {
        const j = Math.floor(r() * tunnels.length);
        if (tunnels[i] && tunnels[j]) [tunnels[i], tunnels[j]] = [tunnels[j]!, tunnels[i]!];
        break;
      }
      case 5:
        if (tunnels[i]) tunnels[i] = { ...tunnels[i]!, name: `t${serial.n++}` };
        break;
      case 6:
        neighbors.splice(k, 0, nb(`n${serial.n++}`, r() < 0.5 && tunnels[i] ? tunnels[i]!.name : undefined));
        break;
      case 7:
        if (neighbors[k]) neighbors.splice(k, 1);
        break;
      default:
        if (neighbors[k])
          neighbors[k] = nb(neighbors[k]!.name, r() < 0.7 && tunnels[i] ? tunnels[i]!.name : undefined);
    }
  }
  return { tunnels, neighbors };
}

/** Next hops worth asking about: every subnet's addresses around it, and random ones. */
function nextHops(r: () => number, cfgs: Cfg[]): Array<[Family, PathAttributes]> {
  const out: Array<[Family, PathAttributes]> = [];
  const base = { origin: 0 as const, asPath: [], atomicAggregate: false };
  for (let i = 0; i < 40; i++)
    out.push(['ipv4-unicast', { ...base, nextHop: ((10 << 24) | Math.floor(r() * 512)) >>> 0 }]);
  for (let i = 0; i < 64; i++) {
    const g = parseIpv6(`2001:db8:0:${Math.floor(r() * 2)}::${Math.floor(r() * 8).toString(16)}`)!;
    if (r() < 0.3) g[15] = Math.floor(r() * 256);
    out.push(['ipv6-unicast', { ...base, nextHop6: { global: g } }]);
  }
  for (const c of cfgs)
    for (const x of c.tunnels) {
      if (x.inner.local) {
        const b = bytesOf(x.inner.local.split('/')[0]!)!;
        const n = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
        for (const d of [-1, 0, 1, 2, 3]) out.push(['ipv4-unicast', { ...base, nextHop: (n + d) >>> 0 }]);
      }
    }
  out.push(['ipv4-unicast', { ...base }], ['ipv6-unicast', { ...base }]);
  out.push(['ipv6-unicast', { ...base, nextHop6: { global: Uint8Array.of(10, 0, 0, 2) } }]);
  return out;
}

t.test('index and incremental reloads resolve as the linear scan of the whole config', async (t) => {
  let compared = 0;
  let tunnelsFound = 0;
  let retargets = 0;
  for (let seed = 1; seed <= 20; seed++) {
    const r = rng(seed * 104729);
    const serial = { n: 0 };
    const tunnels = Array.from({ length: 6 }, () => tunnel(r, `t${serial.n++}`));
    let cfg: Cfg = {
      tunnels,
      neighbors: Array.from({ length: 6 }, (_, i) =>
        nb(`n${serial.n++}`, i % 2 ? tunnels[i]!.name : undefined),
      ),
    };
    const resolver = new TargetResolver(cfg);
    let ref = new Reference(cfg);
    for (let step = 0; step < 30; step++) {
      let next = mutate(r, cfg, serial);
      if (r() < 0.3) next = structuredClone(next);
      const nextRef = new Reference(next);
      const got = resolver.reconfigure(next);
      const want = Reference.retarget(ref, nextRef);
      const where = `seed ${seed} step ${step}`;
      t.equal(got === undefined, want === undefined, `${where}: whether anything may have moved`);
      const hops = nextHops(r, [cfg, next]);
      const names = ['transit', ...next.neighbors.map((n) => n.name), ...cfg.neighbors.map((n) => n.name)];
      for (const [family, attrs] of hops) {
        for (const neighbor of [pick(r, names), 'transit']) {
          const a = resolver.resolve(family, neighbor, attrs);
          const b = nextRef.resolve(family, neighbor, attrs);
          if (!sameTarget(a, b) || a.kind !== b.kind) {
            t.fail(
              `${where}: ${neighbor} via ${JSON.stringify(attrs.nextHop ?? [...(attrs.nextHop6?.global ?? [])])}`,
              {
                got: a,
                want: b,
              },
            );
            return;
          }
          if (got && want && got(family, neighbor, attrs) !== want(family, neighbor, attrs)) {
            t.fail(`${where}: retarget differs for ${neighbor}`, { attrs });
            return;
          }
          compared++;
          if (a.kind === 'tunnel' && neighbor === 'transit') tunnelsFound++;
        }
      }
      if (got) retargets++;
      const v4 = nextRef.s4.length;
      const v6 = nextRef.s6.length;
      t.same(resolver.subnets, { v4, v6 }, `${where}: subnets held`);
      cfg = next;
      ref = nextRef;
    }
  }
  t.ok(compared > 10_000, `${compared} next hops compared`);
  t.ok(tunnelsFound > 500, `${tunnelsFound} of them into a tunnel by next hop`);
  t.ok(retargets > 100, `${retargets} reloads that may move targets`);
});

t.test('of two subnets holding a next hop, the first in config order wins', async (t) => {
  const tn = (name: string, local: string): TunnelConfig =>
    ({ name, inner: { local }, allowedSources: [], routes: [], mtu: 1472 }) as unknown as TunnelConfig;
  const attrs = (nh: string): PathAttributes => ({
    origin: 0,
    asPath: [],
    atomicAggregate: false,
    nextHop: parseIpv4(nh)!,
  });
  const wide = tn('wide', '10.0.0.6/24');
  const narrow = tn('narrow', '10.0.0.5/30');
  const r = new TargetResolver({ neighbors: [], tunnels: [wide, narrow] });
  const at = (nh: string) => r.resolve('ipv4-unicast', 'x', attrs(nh));
  t.same(at('10.0.0.7'), { kind: 'tunnel', tunnel: 'wide' }, 'not the longest: the first');
  t.same(at('10.0.0.6'), { kind: 'tunnel', tunnel: 'narrow' }, 'our own address in the first: the next');
  t.same(at('10.0.0.5'), { kind: 'tunnel', tunnel: 'wide' }, "the next one's own address: the first");
  t.same(at('10.0.1.5').kind, 'gateway');
  // The same objects in the other order: nothing is parsed again or re-resolved (no subnet
  // changed); the next lookup follows the new order. (The checks refuse overlapping inner
  // subnets: only such a config can tell the orders apart.)
  t.equal(r.reconfigure({ neighbors: [], tunnels: [narrow, wide] }), undefined, 'a reorder moves no subnet');
  t.same(at('10.0.0.7'), { kind: 'tunnel', tunnel: 'narrow' });
  t.same(at('10.0.0.5'), { kind: 'tunnel', tunnel: 'wide' });
});
