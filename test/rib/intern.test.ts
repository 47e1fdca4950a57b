// Interning: equal sets share one id whatever their object identity, LOCAL_PREF override is
// part of the identity, refcounts free sets and ids are reused, across table growth.
import t from 'tap';
import type { PathAttributes } from '../../src/bgp/wire/index.js';
import { AttrStore } from '../../src/rib/intern.js';

function set(i: number, extra: Partial<PathAttributes> = {}): PathAttributes {
  return {
    origin: i % 3,
    asPath: [{ type: 2, asns: [65001, 64500 + (i % 11), i] }],
    atomicAggregate: false,
    nextHop: 0xc0000201,
    ...extra,
  };
}

t.test('dedupe across growth, then free everything', async (t) => {
  const st = new AttrStore();
  const ids = new Map<number, number>();
  for (let i = 0; i < 20000; i++) ids.set(i, st.intern(set(i), 2));
  t.equal(st.size, 20000);
  let same = 0;
  for (let i = 0; i < 20000; i++) if (st.intern(set(i), 1) === ids.get(i)) same++;
  t.equal(same, 20000, 'fresh equal objects find their set after the bucket table grew');
  t.equal(st.size, 20000);
  for (let i = 0; i < 20000; i++) st.unref(ids.get(i)!, 3);
  t.equal(st.size, 0);
  t.throws(() => st.unref(ids.get(0)!), /below zero/);
});

t.test('what is part of the identity', async (t) => {
  const st = new AttrStore();
  const a = st.intern(set(1), 1);
  t.not(st.intern(set(1), 1, 200), a, 'LOCAL_PREF override makes another set');
  t.equal(st.intern(set(1, { localPref: 200 }), 1), st.intern(set(1), 1, 200));
  t.not(st.intern(set(1, { med: 0 }), 1), a, 'MED 0 differs from no MED on the wire');
  t.equal(st.intern(set(1, { communities: [] }), 1), a, 'an empty list is no attribute');
  t.not(st.intern(set(1, { communities: [1] }), 1), st.intern(set(1, { largeCommunities: [1] }), 1));
  const u1 = st.intern(set(1, { unknown: [{ flags: 0xe0, code: 99, value: new Uint8Array([1]) }] }), 1);
  const u2 = st.intern(set(1, { unknown: [{ flags: 0xe0, code: 99, value: new Uint8Array([2]) }] }), 1);
  t.not(u1, u2);
  const g = new Uint8Array(16).fill(7);
  t.equal(
    st.intern(set(1, { nextHop6: { global: g } }), 1),
    st.intern(set(1, { nextHop6: { global: g.slice() } }), 1),
  );
  t.equal(st.localPref[a], 100, 'default LOCAL_PREF for the decision');
  t.equal(st.pathLen[a], 3);
});

t.test('well-known community flags', async (t) => {
  const st = new AttrStore();
  // Intern first: the typed arrays are replaced when they grow.
  const ids = [[0xffffff01], [0xffffff03], [5, 0xffffff02]].map((communities) =>
    st.intern(set(1, { communities }), 1),
  );
  t.same(
    ids.map((id) => st.flags[id]),
    [1, 1, 2],
  );
});

t.test('get returns what was interned, every field, after the arena compacts', async (t) => {
  const st = new AttrStore();
  const full = (i: number): PathAttributes => ({
    origin: 2,
    asPath: [
      { type: 2, asns: [65001, 4200000000 + i] },
      { type: 1, asns: [64500, 64501] },
    ],
    nextHop: 0xc0000201,
    nextHop6: { global: new Uint8Array(16).fill(0x20), linkLocal: new Uint8Array(16).fill(0xfe) },
    med: 0,
    localPref: 4294967295,
    atomicAggregate: true,
    aggregator: { asn: 4200000001, address: 0xc6336401 },
    communities: [0xffffff01, i],
    largeCommunities: [65000, 1, i],
    otc: 65001,
    unknown: [{ flags: 0xe0, code: 99, value: Uint8Array.of(1, 2, 3, 4, 5) }],
  });
  const strip = (a: PathAttributes) =>
    Object.fromEntries(Object.entries(a).filter(([, v]) => v !== undefined)) as PathAttributes;
  // Churn: intern and free many sets so that the arena is compacted several times.
  const keep = new Map<number, number>();
  for (let i = 0; i < 5000; i++) {
    const id = st.intern(full(i), 1);
    if (i % 10 === 0) keep.set(i, id);
    else st.unref(id);
  }
  t.equal(st.size, 500);
  let ok = 0;
  for (const [i, id] of keep) {
    if (t.same(strip(st.get(id)), full(i), `set ${i}`, { diagnostic: false })) ok++;
    if (st.intern(full(i), 1) === id) ok++;
  }
  t.equal(ok, 1000, 'every kept set decodes intact and is found again');
  t.equal(st.get(keep.get(0)!).unknown![0]!.value.length, 5, 'odd-length unknown value kept exactly');
  const bare = st.intern(set(3), 1);
  const g = st.get(bare);
  t.equal(g.communities, undefined);
  t.equal(g.med, undefined);
  t.equal(g.nextHop6, undefined);
});

t.test('the import overlay (tag, OTC) interns exactly what ImportPolicy.rewrite describes', async (t) => {
  const { ImportPolicy } = await import('../../src/policy/import.js');
  const { PrefixSet } = await import('../../src/policy/prefix-set.js');
  const { neighbor } = await import('./helpers.js');
  const g = { localAs: 65000, ownPrefixes: PrefixSet.of([]), bogons: PrefixSet.of([]) };
  const st = new AttrStore(65000);
  const inputs: PathAttributes[] = [
    set(1),
    set(2, { largeCommunities: [65000, 1, 1, 64500, 7, 7, 65000, 1, 3] }),
    set(3, { largeCommunities: [65000, 2, 9] }),
    set(4, { otc: 64999 }),
    set(5, { largeCommunities: [65000, 1, 4] }),
  ];
  for (const role of ['customer', 'peer', 'transit'] as const) {
    for (const noResale of role === 'peer' ? [false, true] : [false]) {
      const pol = new ImportPolicy(neighbor('n', role, 65010, '127.0.0.9', { noResale }), g);
      for (const a of inputs) {
        const viaOverlay = st.intern(a, 1, 100, pol.cls, pol.otcToAdd(a, 65010));
        const viaObject = st.intern(pol.rewrite(a, 65010), 1, 100);
        t.equal(viaOverlay, viaObject, `${role}${noResale ? ' (no-resale)' : ''}: one set either way`);
        t.equal(st.cls[viaOverlay], pol.cls, 'its class is the tag');
        t.same(
          st.get(viaOverlay),
          { ...pol.rewrite(a, 65010), localPref: 100 },
          'and it reads back as rewritten',
        );
      }
    }
  }
  t.equal(
    st.cls[st.intern(set(9, { largeCommunities: [65000, 1, 3] }), 1)],
    3,
    'a stored tag read back as class',
  );
});
