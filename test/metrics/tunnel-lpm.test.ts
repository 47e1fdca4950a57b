/**
 * Fib.tunnelRoutesOf, what `gredge_tunnel_lpm_routes` adds to a tunnel's configured routes: the
 * prefixes the FIB put into each tunnel's LPM, following best paths into the tunnel, out of it
 * (a better path elsewhere, a withdrawal) and the session going down. Checked against the LPM
 * records the FIB handed the (fake) data plane.
 */
import t from 'tap';
import { formatPrefix4 } from '../../src/bgp/wire/index.js';
import { Fib } from '../../src/fib/fib.js';
import { Rib } from '../../src/rib/rib.js';
import { attrs, DecodingSink, LOCAL_AS, neighbor, p4, recordingLog, sessionInfo } from '../rib/helpers.js';

t.test('per-tunnel LPM counts follow the best paths', async (t) => {
  const rib = new Rib({ localAs: LOCAL_AS, routerId: 1, log: recordingLog().log, bogons: [] });
  const nbrs = [
    neighbor('transit', 'transit', 64496, '192.0.2.2'),
    neighbor('a', 'customer', 64498, '198.51.100.2', { tunnel: 'ta', prefixes: ['203.0.113.0/24 le 28'] }),
    neighbor('b', 'customer', 64499, '198.51.100.6', { tunnel: 'tb', prefixes: ['203.0.113.0/24 le 28'] }),
  ];
  const ch = new Map(
    nbrs.map((n, i) => {
      const c = rib.addNeighbor(n);
      const info = sessionInfo(n, 10 + i);
      c.up(info, new DecodingSink({ ebgp: info.ebgp, peerAs: LOCAL_AS, localAs: n.remoteAs }));
      return [n.name, c] as const;
    }),
  );
  const index: Record<string, number> = { ta: 1, tb: 2 };
  const lpm = new Map<string, number>();
  const tunnel = (name: string, inner: string) => ({
    name,
    remote: '192.0.2.50',
    key: index[name]!,
    mtu: 1472,
    inner: { local: inner },
    allowedSources: ['203.0.113.0/24'],
    routes: [],
    mssClamp: true,
    sequence: false,
    checksum: false,
  });
  const fib = new Fib({
    config: {
      neighbors: nbrs,
      tunnels: [tunnel('ta', '198.51.100.1/30'), tunnel('tb', '198.51.100.5/30')],
      fib: { fullTable: 201, resaleTable: 202, protocol: 250, rulePriority: 1000, kernel: false },
    },
    rib,
    dataplane: {
      tun: 'gredge0',
      tunnelIndex: (name) => index[name],
      applyRoutes(records, add) {
        const dv = new DataView(records.buffer, records.byteOffset);
        for (let o = 0; o < records.length; o += 24) {
          const key = formatPrefix4(dv.getUint32(o + 8, false) * 64 + records[o + 1]!);
          if (add) lpm.set(key, dv.getUint32(o + 4, true));
          else lpm.delete(key);
        }
        return records.length / 24;
      },
    },
    log: recordingLog().log,
  });
  await fib.start();
  const announce = (who: string, nextHop: number, prefixes: string[], path: number[]) =>
    ch.get(who)!.updates([
      {
        withdrawn4: [],
        withdrawn6: [],
        nlri6: [],
        nlri4: prefixes.map(p4),
        attrs: attrs(path, { nextHop }),
      },
    ]);
  const settle = async () => {
    await rib.idle();
    await fib.idle();
  };
  /** What the fake data plane holds per tunnel, as tunnelRoutesOf counts it. */
  const held = (name: string) => ({ v4: [...lpm.values()].filter((i) => i === index[name]).length, v6: 0 });
  const check = (what: string) => {
    for (const name of ['ta', 'tb']) t.same(fib.tunnelRoutesOf(name), held(name), `${what}: ${name}`);
  };

  check('nothing yet');
  announce('a', 0xc6336402, ['203.0.113.0/26', '203.0.113.64/26', '203.0.113.128/26'], [64498, 64498, 64498]);
  announce('b', 0xc6336406, ['203.0.113.192/26'], [64499]);
  announce('transit', 0xc0000202, ['198.51.100.128/25'], [64496]);
  await settle();
  t.same(fib.tunnelRoutesOf('ta'), { v4: 3, v6: 0 }, 'ta: 3');
  t.same(fib.tunnelRoutesOf('tb'), { v4: 1, v6: 0 }, 'tb: 1');
  check('announced');
  // b announces one of a's prefixes with a shorter AS path: it moves from ta to tb.
  announce('b', 0xc6336406, ['203.0.113.0/26'], [64499]);
  await settle();
  t.same(fib.tunnelRoutesOf('ta'), { v4: 2, v6: 0 }, 'moved out of ta');
  t.same(fib.tunnelRoutesOf('tb'), { v4: 2, v6: 0 }, 'into tb');
  check('moved');
  ch.get('a')!.updates([{ withdrawn4: [p4('203.0.113.64/26')], withdrawn6: [], nlri4: [], nlri6: [] }]);
  await settle();
  check('withdrawn');
  ch.get('b')!.down('test');
  await settle();
  t.same(fib.tunnelRoutesOf('tb'), { v4: 0, v6: 0 }, 'tb: none once b is down');
  t.same(fib.tunnelRoutesOf('ta'), { v4: 2, v6: 0 }, 'ta: its own /26 is back with b gone');
  check('session down');
  t.same(fib.tunnelRoutesOf('nope'), { v4: 0, v6: 0 }, 'an unknown tunnel: 0');
  t.equal(fib.stats().tunnelRoutes, 2, 'the total agrees');
  await fib.stop();
});
