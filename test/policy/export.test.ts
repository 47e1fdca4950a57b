// The export role matrix, communities and the eBGP/iBGP attribute transforms as pure functions.
import t from 'tap';
import type { Role } from '../../src/config/types.js';
import {
  allowMask,
  classSource,
  communitiesAllow,
  exportTable,
  mayExport,
  sourceClass,
} from '../../src/policy/export.js';
import { exportAttributes4, exportAttributes6, prependAs } from '../../src/policy/transform.js';

const ROLES: Role[] = ['customer', 'peer', 'transit', 'internal'];

t.test('role matrix', async (t) => {
  const expect: Record<Role, Role[]> = {
    customer: ['customer', 'peer', 'transit', 'internal'],
    peer: ['customer', 'internal'],
    transit: ['customer', 'internal'],
    internal: ['customer', 'peer', 'transit'],
  };
  for (const from of ROLES) {
    for (const to of ROLES) {
      t.equal(
        mayExport({ role: from, noResale: false }, { role: to, resale: true }),
        expect[from].includes(to),
        `${from} → ${to}`,
      );
    }
  }
});

t.test('no-resale routes reach internal neighbors and non-reselling customers only', async (t) => {
  const nr = { role: 'peer' as Role, noResale: true };
  t.ok(mayExport(nr, { role: 'internal', resale: true }));
  t.ok(mayExport(nr, { role: 'customer', resale: false }));
  t.notOk(mayExport(nr, { role: 'customer', resale: true }));
  t.notOk(mayExport(nr, { role: 'peer', resale: true }));
  t.notOk(mayExport(nr, { role: 'transit', resale: false }));
  t.equal(exportTable({ role: 'customer', resale: true }), 'resale');
  t.equal(exportTable({ role: 'customer', resale: false }), 'full');
  t.equal(exportTable({ role: 'internal', resale: true }), 'full');
});

t.test('allowMask agrees with mayExport for every source class', async (t) => {
  for (const to of ROLES) {
    for (const resale of [true, false]) {
      const m = allowMask({ role: to, resale });
      for (let c = 0; c < 8; c++) {
        t.equal((m & (1 << c)) !== 0, mayExport(classSource(c), { role: to, resale }));
      }
    }
  }
  t.equal(sourceClass({ role: 'transit', noResale: true }), 6);
});

t.test('well-known communities', async (t) => {
  t.ok(communitiesAllow(undefined, true));
  t.ok(communitiesAllow([65000 * 65536 + 1], true));
  t.notOk(communitiesAllow([0xffffff02], false), 'NO_ADVERTISE: not even iBGP');
  t.notOk(communitiesAllow([0xffffff01], true), 'NO_EXPORT: not eBGP');
  t.ok(communitiesAllow([0xffffff01], false), 'NO_EXPORT: iBGP fine');
  t.notOk(communitiesAllow([0xffffff03], true), 'NO_EXPORT_SUBCONFED: not eBGP');
});

t.test('AS_PATH prepend', async (t) => {
  t.same(prependAs([], 65000), [{ type: 2, asns: [65000] }]);
  t.same(prependAs([{ type: 2, asns: [1, 2] }], 65000), [{ type: 2, asns: [65000, 1, 2] }]);
  t.same(prependAs([{ type: 1, asns: [1, 2] }], 65000), [
    { type: 2, asns: [65000] },
    { type: 1, asns: [1, 2] },
  ]);
  const full = Array.from({ length: 255 }, (_, i) => i + 1);
  t.same(
    prependAs([{ type: 2, asns: full }], 65000)[0],
    { type: 2, asns: [65000] },
    'a full segment is not grown',
  );
  t.same(
    prependAs(
      [
        { type: 3, asns: [64512] },
        { type: 2, asns: [7] },
      ],
      65000,
    ),
    [{ type: 2, asns: [65000, 7] }],
    'confederation segments removed toward eBGP',
  );
});

t.test('transforms do not mutate the interned input', async (t) => {
  const a = {
    origin: 0,
    asPath: [{ type: 2, asns: [1] }],
    atomicAggregate: false,
    nextHop: 5,
    med: 3,
    localPref: 200,
  };
  const copy = structuredClone(a);
  const e = exportAttributes4(a, { localAs: 65000, ebgp: true, nextHopSelf: true, nextHop4: 9 })!;
  t.same(a, copy);
  t.equal(e.nextHop, 9);
  t.equal(e.med, undefined);
  t.equal(e.localPref, undefined);
  const i = exportAttributes4(a, { localAs: 65000, ebgp: false, nextHopSelf: false, nextHop4: 9 })!;
  t.equal(i.nextHop, 5);
  t.equal(i.localPref, 200);
  t.equal(i.med, 3);
  t.equal(i.asPath, a.asPath, 'iBGP shares the AS_PATH');
  t.equal(
    exportAttributes4({ ...a, nextHop: undefined }, { localAs: 1, ebgp: true, nextHopSelf: true }),
    undefined,
  );
  t.equal(
    exportAttributes6(a, { localAs: 1, ebgp: true, nextHopSelf: true }),
    undefined,
    'no IPv6 next hop at all',
  );
  const ll = { global: new Uint8Array(16).fill(1), linkLocal: new Uint8Array(16).fill(2) };
  const v6 = exportAttributes6({ ...a, nextHop6: ll }, { localAs: 1, ebgp: false, nextHopSelf: false })!;
  t.same(v6.nextHop, { global: ll.global }, 'link-local dropped when passed on');
});
