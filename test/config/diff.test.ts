/**
 * config/diff: what a reload would change, from two configs parsed by the real loader — by
 * neighbor and tunnel name, with the changed fields in the YAML's spelling, and for neighbors
 * whether the change applies in place (policy) or needs a session reset.
 */
import t from 'tap';
import { diffConfig, formatDiff, sameValue } from '../../src/config/diff.js';
import { parseConfig } from '../../src/config/load.js';

const BASE = `
router-id: 192.0.2.1
local-as: 65000
bogons: []
underlay: { local: 198.51.100.1 }
neighbors:
  - { name: transit, address: 192.0.2.2, remote-as: 64496, role: transit }
  - { name: cust-a, address: 192.0.2.130, remote-as: 64497, role: customer, tunnel: a, prefixes: [203.0.113.0/26] }
  - { name: cust-b, address: 192.0.2.134, remote-as: 64498, role: customer }
tunnels:
  - { name: a, remote: 198.51.100.10, key: 1, inner: { local: 192.0.2.129/30 } }
  - { name: b, remote: 198.51.100.11, key: 2, inner: { local: 192.0.2.133/30 } }
`;

function cfg(text: string) {
  return parseConfig(text, 'test.yaml');
}

t.test('the same text is no change', async (t) => {
  const d = diffConfig(cfg(BASE), cfg(BASE));
  t.ok(d.same);
  t.same(formatDiff(d), ['no change']);
});

t.test('policy changes apply in place, session changes reset only that neighbor', async (t) => {
  const now = BASE.replace(
    'role: customer, tunnel: a, prefixes: [203.0.113.0/26] }',
    'role: customer, tunnel: a, prefixes: [203.0.113.0/26, 203.0.113.64/26], resale: false }',
  ).replace(
    '{ name: transit, address: 192.0.2.2, remote-as: 64496, role: transit }',
    '{ name: transit, address: 192.0.2.2, remote-as: 64496, role: transit, hold-time: 30 }',
  );
  const d = diffConfig(cfg(BASE), cfg(now));
  t.notOk(d.same);
  t.same(d.neighbors.changed, [
    { name: 'transit', fields: ['hold-time'], apply: 'reset' },
    { name: 'cust-a', fields: ['prefixes', 'resale'], apply: 'in-place' },
  ]);
  t.same(d.neighbors.added, []);
  t.same(d.tunnels, { added: [], removed: [], changed: [] }, 'tunnels untouched');
  t.same(d.keys, []);
});

t.test('added and removed neighbors and tunnels, changed tunnels and top-level keys', async (t) => {
  const now = `${BASE.replace(/ {2}- \{ name: cust-b.*\n/, '')
    .replace(/ {2}- \{ name: b, .*\n/, '')
    .replace('key: 1,', 'key: 7,')}
fib: { full-table: 301, resale-table: 302 }
`
    .replace(
      'tunnels:\n',
      'tunnels:\n  - { name: c, remote: 198.51.100.12, key: 3, inner: { local: 192.0.2.137/30 } }\n',
    )
    .replace(
      'neighbors:\n',
      'neighbors:\n  - { name: cust-c, address: 192.0.2.138, remote-as: 64499, role: customer, tunnel: c }\n',
    );
  const d = diffConfig(cfg(BASE), cfg(now));
  t.same(d.neighbors.added, ['cust-c']);
  t.same(d.neighbors.removed, ['cust-b']);
  t.same(d.tunnels.added, ['c']);
  t.same(d.tunnels.removed, ['b']);
  t.same(d.tunnels.changed, [{ name: 'a', fields: ['key'] }]);
  t.same(d.keys, ['fib']);
  t.same(formatDiff(d), [
    '~ fib',
    '+ neighbor cust-c',
    '- neighbor cust-b',
    '+ tunnel c',
    '- tunnel b',
    '~ tunnel a: key',
  ]);
});

t.test('sameValue is deep and ignores absent versus undefined', async (t) => {
  t.ok(sameValue({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] }));
  t.notOk(sameValue({ a: [1, 2] }, { a: [2, 1] }), 'order matters in lists');
  t.ok(sameValue({ a: 1, b: undefined }, { a: 1 }));
  t.notOk(sameValue({ a: 1 }, { a: '1' }));
  t.notOk(sameValue([1], { 0: 1 }));
});

t.test('a role change resets (BGP Role is in the OPEN); connect-retry applies in place', async (t) => {
  const now = BASE.replace(
    '{ name: transit, address: 192.0.2.2, remote-as: 64496, role: transit }',
    '{ name: transit, address: 192.0.2.2, remote-as: 64496, role: peer }',
  ).replace(
    '{ name: cust-b, address: 192.0.2.134, remote-as: 64498, role: customer }',
    '{ name: cust-b, address: 192.0.2.134, remote-as: 64498, role: customer, connect-retry: 10 }',
  );
  const d = diffConfig(cfg(BASE), cfg(now));
  t.same(d.neighbors.changed, [
    { name: 'transit', fields: ['role'], apply: 'reset' },
    { name: 'cust-b', fields: ['connect-retry'], apply: 'in-place' },
  ]);
  t.same(d.restart, []);
});

t.test('what only a restart applies is named, with the sub-field', async (t) => {
  const now = BASE.replace('local-as: 65000', 'local-as: 65001').replace(
    'underlay: { local: 198.51.100.1 }',
    'underlay: { local: 198.51.100.2 }\ndataplane: { workers: 4 }',
  );
  const d = diffConfig(cfg(BASE), cfg(now));
  t.same(d.restart, ['dataplane.workers', 'local-as', 'underlay.local']);
  t.equal(formatDiff(d)[0], '! needs a restart: dataplane.workers, local-as, underlay.local');
  t.same(
    diffConfig(cfg(BASE), cfg(`${BASE}fib: { full-table: 301, resale-table: 302 }\n`)).restart,
    [],
    'fib: not a restart of gredged',
  );
});
