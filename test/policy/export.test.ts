// The export role matrix, communities and the eBGP/iBGP attribute transforms as pure functions.
import t from 'tap';
import type { Role } from '../../src/config/types.js';
import {
  allowMask,
  communitiesAllow,
  EXPORT_KEYS,
  exportKey,
  exportTable,
  keySource,
  mayExport,
  neverToReseller,
  otcAdds,
  otcBlocks,
} from '../../src/policy/export.js';
import { RouteClass } from '../../src/policy/import.js';
import { exportAttributes4, exportAttributes6, prependAs } from '../../src/policy/transform.js';

const ROLES: Role[] = ['customer', 'peer', 'transit', 'internal'];
type Cls = keyof typeof RouteClass;

t.test('role matrix over route classes (learned over eBGP)', async (t) => {
  const expect: Record<Cls, Role[]> = {
    OWN: ['customer', 'peer', 'transit', 'internal'],
    CUSTOMER: ['customer', 'peer', 'transit', 'internal'],
    PEER: ['customer', 'internal'],
    TRANSIT: ['customer', 'internal'],
    NO_RESALE_PEER: ['internal'],
  };
  for (const cls of Object.keys(expect) as Cls[]) {
    for (const to of ROLES) {
      t.equal(
        mayExport({ cls: RouteClass[cls], viaIbgp: false }, { role: to, resale: true }),
        expect[cls].includes(to),
        `${cls} → ${to} (reselling)`,
      );
    }
  }
});

t.test('iBGP split horizon, whatever the class', async (t) => {
  for (const cls of Object.values(RouteClass)) {
    t.notOk(
      mayExport({ cls, viaIbgp: true }, { role: 'internal', resale: true }),
      `class ${cls} not back to iBGP`,
    );
  }
  t.ok(
    mayExport({ cls: RouteClass.OWN, viaIbgp: true }, { role: 'transit', resale: true }),
    'own routes to transit',
  );
  t.ok(mayExport({ cls: RouteClass.CUSTOMER, viaIbgp: true }, { role: 'peer', resale: true }));
  t.notOk(
    mayExport({ cls: RouteClass.PEER, viaIbgp: true }, { role: 'transit', resale: true }),
    'a peer route learned at another edge is still a peer route',
  );
});

t.test('no-resale routes reach internal neighbors and non-reselling customers only', async (t) => {
  for (const viaIbgp of [false, true]) {
    const nr = { cls: RouteClass.NO_RESALE_PEER, viaIbgp };
    t.equal(mayExport(nr, { role: 'internal', resale: true }), !viaIbgp);
    t.ok(mayExport(nr, { role: 'customer', resale: false }));
    t.notOk(mayExport(nr, { role: 'customer', resale: true }));
    t.notOk(mayExport(nr, { role: 'peer', resale: true }));
    t.notOk(mayExport(nr, { role: 'transit', resale: false }));
  }
  t.equal(exportTable({ role: 'customer', resale: true }), 'resale');
  t.equal(exportTable({ role: 'customer', resale: false }), 'full');
  t.equal(exportTable({ role: 'internal', resale: true }), 'full');
  t.ok(neverToReseller({ role: 'customer', resale: true }));
  t.notOk(neverToReseller({ role: 'customer', resale: false }));
});

t.test('allowMask agrees with mayExport for every export key', async (t) => {
  t.equal(EXPORT_KEYS, 10);
  t.equal(exportKey(RouteClass.TRANSIT, true), 9);
  t.same(keySource(8), { cls: RouteClass.NO_RESALE_PEER, viaIbgp: true });
  for (const to of ROLES) {
    for (const resale of [true, false]) {
      const m = allowMask({ role: to, resale });
      for (let k = 0; k < EXPORT_KEYS; k++) {
        t.equal((m & (1 << k)) !== 0, mayExport(keySource(k), { role: to, resale }), `${to} key ${k}`);
      }
      t.equal(m >>> EXPORT_KEYS, 0, 'no bit beyond the keys');
    }
  }
});

t.test('RFC 9234 §5 egress roles', async (t) => {
  t.same(
    ROLES.map((role) => otcBlocks({ role, resale: true })),
    [false, true, true, false],
    'OTC routes stop at peers and providers',
  );
  t.same(
    ROLES.map((role) => otcAdds({ role, resale: true })),
    [true, true, false, false],
    'OTC added toward customers and peers',
  );
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

t.test('tags stay inside the AS; OTC added where RFC 9234 says', async (t) => {
  const a = {
    origin: 0,
    asPath: [{ type: 2, asns: [1] }],
    atomicAggregate: false,
    nextHop: 5,
    largeCommunities: [65000, 1, 3, 64500, 1, 3, 65000, 7, 7],
  };
  const e = exportAttributes4(a, {
    localAs: 65000,
    ebgp: true,
    nextHopSelf: true,
    nextHop4: 9,
    addOtc: true,
  })!;
  t.same(e.largeCommunities, [64500, 1, 3, 65000, 7, 7], 'our LOCAL-AS:1:* gone toward eBGP, others kept');
  t.equal(e.otc, 65000, 'OTC = our AS');
  const kept = exportAttributes4(
    { ...a, otc: 64999 },
    { localAs: 65000, ebgp: true, nextHopSelf: true, nextHop4: 9, addOtc: true },
  )!;
  t.equal(kept.otc, 64999, 'an OTC already there is not replaced');
  const tr = exportAttributes4(a, {
    localAs: 65000,
    ebgp: true,
    nextHopSelf: true,
    nextHop4: 9,
    addOtc: false,
  })!;
  t.equal(tr.otc, undefined, 'no OTC added toward a provider');
  const i = exportAttributes4(a, { localAs: 65000, ebgp: false, nextHopSelf: false })!;
  t.same(i.largeCommunities, a.largeCommunities, 'tags go to internal neighbors');
  const only = exportAttributes4(
    { ...a, largeCommunities: [65000, 1, 1] },
    { localAs: 65000, ebgp: true, nextHopSelf: true, nextHop4: 9 },
  )!;
  t.equal(only.largeCommunities, undefined, 'no empty LARGE_COMMUNITY attribute');
});
