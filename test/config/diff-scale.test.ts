/**
 * diffConfig on large configs and its shortcuts: an entry that is the same object on both sides
 * is not looked into; lists matched by name keep the meaning of a Map by name (a name given
 * twice is its last entry, in the place of its first), in the fast case (same names, same order)
 * as in the general one.
 */
import t from 'tap';
import { diffConfig, sameValue } from '../../src/config/diff.js';
import type { Config, NeighborConfig, TunnelConfig } from '../../src/config/types.js';

function neighbor(name: string, holdTime = 90): NeighborConfig {
  return { name, address: '192.0.2.2', remoteAs: 64500, role: 'peer', holdTime } as unknown as NeighborConfig;
}

function tunnel(name: string, key = 1): TunnelConfig {
  return { name, remote: '198.51.100.2', key, routes: [] } as unknown as TunnelConfig;
}

function config(neighbors: NeighborConfig[], tunnels: TunnelConfig[]): Config {
  return { source: 'x.yaml', routerId: '192.0.2.1', localAs: 65000, neighbors, tunnels } as unknown as Config;
}

/** An entry that throws when anything but its name is read: only identity may compare it. */
function untouchable(name: string): NeighborConfig {
  const o = { name } as Record<string, unknown>;
  Object.defineProperty(o, 'holdTime', {
    enumerable: true,
    get() {
      throw new Error(`${name} was looked into`);
    },
  });
  return o as unknown as NeighborConfig;
}

t.test('the same entry object on both sides is not looked into', async (t) => {
  const shared = Array.from({ length: 1000 }, (_, i) => untouchable(`n${i}`));
  const old = config([...shared, neighbor('x', 90)], [tunnel('a')]);
  const now = config([...shared, neighbor('x', 30)], [tunnel('a', 2)]);
  const d = diffConfig(old, now);
  t.same(d.neighbors, {
    added: [],
    removed: [],
    changed: [{ name: 'x', fields: ['hold-time'], apply: 'reset' }],
  });
  t.same(d.tunnels.changed, [{ name: 'a', fields: ['key'] }]);
  t.throws(() => sameValue(untouchable('n0'), untouchable('n0')), /looked into/, 'a copy is looked into');
});

t.test('equal copies are no change; one changed entry among 10,000 is the one named', async (t) => {
  const names = Array.from({ length: 10000 }, (_, i) => `c${i}`);
  const old = config(
    names.map((n) => neighbor(n)),
    names.map((n, i) => tunnel(`t${n}`, i)),
  );
  const now = config(
    names.map((n, i) => neighbor(n, i === 7 ? 30 : 90)),
    names.map((n, i) => tunnel(`t${n}`, i)),
  );
  t.ok(diffConfig(old, structuredClone(old)).same);
  const d = diffConfig(old, now);
  t.same(d.neighbors.changed, [{ name: 'c7', fields: ['hold-time'], apply: 'reset' }]);
  t.same(d.tunnels, { added: [], removed: [], changed: [] });
});

t.test('names matched as a Map by name would, in order and with repeats', async (t) => {
  // Same names in the same order, one of them twice: the last entry of a name is compared.
  const repeated = config([neighbor('a'), neighbor('b', 30), neighbor('b', 60)], []);
  const d1 = diffConfig(repeated, config([neighbor('a'), neighbor('b', 60), neighbor('b', 30)], []));
  t.same(d1.neighbors.changed, [{ name: 'b', fields: ['hold-time'], apply: 'reset' }]);
  t.same(
    diffConfig(repeated, config([neighbor('a'), neighbor('b', 1), neighbor('b', 60)], [])).neighbors.changed,
    [],
  );
  // Reordered, added, removed: added in the new list's order, removed in the old one's, changes
  // in the new list's order.
  const old = config([neighbor('a'), neighbor('b'), neighbor('c'), neighbor('d')], []);
  const now = config(
    [neighbor('e'), neighbor('d', 30), neighbor('a', 30), neighbor('f'), neighbor('d', 31)],
    [],
  );
  const d2 = diffConfig(old, now);
  t.same(d2.neighbors.added, ['e', 'f']);
  t.same(d2.neighbors.removed, ['b', 'c']);
  t.same(
    d2.neighbors.changed.map((c) => c.name),
    ['d', 'a'],
  );
});
