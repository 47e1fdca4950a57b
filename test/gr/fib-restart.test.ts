/**
 * The FIB across a restart (RFC 4724 §4.1, src/fib/kept.ts), against a fake kernel that keeps
 * its tables between two FIB instances: with `restart` the routes an earlier instance left stay
 * (their families are what `kept` reports, the F bits), a kept route is never rewritten or
 * deleted while the RIB selects again (a prefix the kernel lacks is written at once, and the
 * tunnel LPM follows the RIB at once), and restartComplete() reconciles: every kept prefix
 * rewritten from its new best path (a replace: the route is never absent) or deleted, leaving
 * exactly the RIB's state. Without `restart` what an earlier instance left is removed at start.
 */
import t from 'tap';
import { formatPrefix4, formatPrefix6, parsePrefix6 } from '../../src/bgp/wire/index.js';
import type { Prefix4, Prefix6 } from '../../src/bgp/wire/types.js';
import { Fib } from '../../src/fib/fib.js';
import { FIB_RECORD, OP_ROUTE_DEL, OP_ROUTE_SET, RecordBatch, readRecord } from '../../src/fib/records.js';
import type { KernelWriter, WriteResult } from '../../src/fib/writer.js';
import { Rib } from '../../src/rib/rib.js';
import { attrs, DecodingSink, LOCAL_AS, neighbor, p4, recordingLog, sessionInfo } from '../rib/helpers.js';

interface Route {
  family: 4 | 6;
  len: number;
  dst: Uint8Array;
  gw?: Uint8Array;
  oif: number;
}

const text = (r: Route) =>
  r.family === 4
    ? formatPrefix4(
        (((r.dst[0]! << 24) | (r.dst[1]! << 16) | (r.dst[2]! << 8) | r.dst[3]!) >>> 0) * 64 + r.len,
      )
    : formatPrefix6(String.fromCharCode(r.len) + String.fromCharCode(...r.dst.subarray(0, (r.len + 7) >> 3)));

/** A kernel whose tables outlive the FIB instances writing to them (one protocol: ours). */
class Kernel implements KernelWriter {
  readonly tables = new Map<number, Map<string, Route>>();
  /** Every route write, in order: `SET|DEL table prefix`. */
  readonly writes: string[] = [];

  async write(records: Uint8Array): Promise<WriteResult> {
    const n = records.length / FIB_RECORD;
    for (let i = 0; i < n; i++) {
      const r = readRecord(records, i);
      if (r.op !== OP_ROUTE_SET && r.op !== OP_ROUTE_DEL) continue;
      const route: Route = {
        family: r.family,
        len: r.len,
        dst: r.dst,
        oif: r.oif,
        ...(r.gwFamily !== 0 ? { gw: r.gw.subarray(0, r.gwFamily === 4 ? 4 : 16) } : {}),
      };
      const key = text(route);
      let tab = this.tables.get(r.table);
      if (tab === undefined) this.tables.set(r.table, (tab = new Map()));
      this.writes.push(`${r.op === OP_ROUTE_SET ? 'SET' : 'DEL'} ${r.table} ${key}`);
      if (r.op === OP_ROUTE_SET) tab.set(key, route);
      else tab.delete(key);
    }
    return { results: new Int32Array(n), messages: [] };
  }

  async dumpRoutes(family: 4 | 6, table: number): Promise<Uint8Array> {
    const b = new RecordBatch();
    for (const r of this.tables.get(table)?.values() ?? [])
      if (r.family === family) b.route(OP_ROUTE_SET, r.family, r.dst, r.len, table, r.oif, r.gw);
    return b.bytes().slice();
  }

  async dumpRules(): Promise<Uint8Array> {
    return new Uint8Array(0);
  }

  close(): void {}

  /** A table as `prefix → via GW | dev N`. */
  state(table: number): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, r] of this.tables.get(table) ?? [])
      out[k] = r.gw ? (r.family === 4 ? `via ${[...r.gw].join('.')}` : 'via v6') : `dev ${r.oif}`;
    return out;
  }
}

const TUN = 9;
const nbrs = [
  neighbor('transit', 'transit', 64496, '192.0.2.2'),
  neighbor('cust', 'customer', 64498, '198.51.100.2', { tunnel: 'cust', prefixes: ['203.0.113.0/24 le 28'] }),
];
const config = {
  neighbors: nbrs,
  tunnels: [
    {
      name: 'cust',
      remote: '192.0.2.50',
      key: 1,
      mtu: 1472,
      inner: { local: '198.51.100.1/30' },
      allowedSources: ['203.0.113.0/24'],
      routes: [],
      mssClamp: true,
      sequence: false,
      checksum: false,
    },
  ],
  fib: { fullTable: 201, resaleTable: 202, protocol: 250, rulePriority: 1000, kernel: true },
};

/** A fresh instance (RIB, FIB, a data plane's LPM) on `kernel`. */
function instance(kernel: Kernel, restart: boolean) {
  const rib = new Rib({ localAs: LOCAL_AS, routerId: 1, log: recordingLog().log, bogons: [] });
  const ch = new Map(
    nbrs.map((n, i) => {
      const c = rib.addNeighbor(n);
      const info = sessionInfo(n, 10 + i);
      c.up(info, new DecodingSink({ ebgp: info.ebgp, peerAs: LOCAL_AS, localAs: n.remoteAs }));
      return [n.name, c] as const;
    }),
  );
  const lpm = new Set<string>();
  const dataplane = {
    tun: 'gredge0',
    tunnelIndex: (name: string) => (name === 'cust' ? 7 : undefined),
    applyRoutes(records: Uint8Array, add: boolean) {
      const dv = new DataView(records.buffer, records.byteOffset);
      for (let o = 0; o < records.length; o += 24) {
        const key = formatPrefix4(dv.getUint32(o + 8, false) * 64 + records[o + 1]!);
        if (add) lpm.add(key);
        else lpm.delete(key);
      }
      return records.length / 24;
    },
  };
  const fib = new Fib({
    config,
    rib,
    dataplane,
    log: recordingLog().log,
    writer: kernel,
    tunIfindex: TUN,
    restart,
  });
  const announce = (who: string, nextHop: number, v4: string[], v6: string[] = []) =>
    ch.get(who)!.updates([
      {
        withdrawn4: [],
        withdrawn6: [],
        nlri4: v4.map(p4),
        nlri6: v6.map((p) => parsePrefix6(p)!),
        attrs: attrs([nbrs.find((n) => n.name === who)!.remoteAs], {
          nextHop,
          nextHop6: { global: Uint8Array.from([0x20, 1, 0xd, 0xb8, ...new Array(11).fill(0), 2]) },
        }),
      },
    ]);
  const settle = async () => {
    await rib.idle();
    await fib.idle();
  };
  return { rib, fib, lpm, announce, settle };
}

const GW1 = 0xc0000202; // 192.0.2.2
const GW2 = 0xc0000203; // 192.0.2.3 (the same transit, a new next hop after the restart)

/** The earlier instance: programs a table and dies (kill -9: nothing removed). */
async function earlier(kernel: Kernel): Promise<void> {
  const e = instance(kernel, false);
  await e.fib.start();
  e.announce('transit', GW1, ['192.0.2.0/24', '198.51.100.128/25'], ['2001:db8:1::/48']);
  e.announce('cust', 0xc6336402, ['203.0.113.0/26']);
  await e.settle();
}

t.test('kept across the restart, untouched meanwhile, reconciled after', async (t) => {
  const kernel = new Kernel();
  await earlier(kernel);
  const before = kernel.state(201);
  t.same(
    before,
    {
      '198.51.100.0/30': `dev ${TUN}`,
      '192.0.2.0/24': 'via 192.0.2.2',
      '198.51.100.128/25': 'via 192.0.2.2',
      '2001:db8:1::/48': 'via v6',
      '203.0.113.0/26': `dev ${TUN}`,
    },
    'what the earlier instance left',
  );
  const w = instance(kernel, true);
  const writes0 = kernel.writes.length;
  await w.fib.start();
  t.same(w.fib.kept, ['ipv4-unicast', 'ipv6-unicast'], 'routes of both families kept: the F bits');
  t.equal(w.fib.stats().restartKept, 10, 'five prefixes in two tables');
  t.same(kernel.state(201), before, 'nothing removed at start');
  // The RIB selects again: the transit is back with a new next hop for one prefix, a new one,
  // and not (yet) the other; the customer is back.
  w.announce('transit', GW2, ['192.0.2.0/24', '192.0.2.128/25']);
  w.announce('cust', 0xc6336402, ['203.0.113.0/26']);
  await w.settle();
  t.same(w.lpm, new Set(['203.0.113.0/26']), 'the tunnel LPM follows the RIB at once');
  t.equal(
    kernel.state(201)['192.0.2.128/25'],
    'via 192.0.2.3',
    'a prefix the kernel lacks is written at once',
  );
  t.equal(kernel.state(201)['192.0.2.0/24'], 'via 192.0.2.2', 'a kept route is not rewritten meanwhile');
  t.equal(kernel.state(201)['198.51.100.128/25'], 'via 192.0.2.2', 'nor deleted while not learned again');
  const during = kernel.writes.slice(writes0).filter((x) => !x.includes('198.51.100.0/30'));
  t.same(
    during,
    ['SET 201 192.0.2.128/25', 'SET 202 192.0.2.128/25'],
    'the only route writes during the restart: the new prefix',
  );

  const mark = kernel.writes.length;
  w.fib.restartComplete();
  await w.settle();
  const want = {
    '198.51.100.0/30': `dev ${TUN}`,
    '192.0.2.0/24': 'via 192.0.2.3',
    '192.0.2.128/25': 'via 192.0.2.3',
    '203.0.113.0/26': `dev ${TUN}`,
  };
  t.same(kernel.state(201), want, 'full: exactly the new RIB, nothing stale');
  t.same(kernel.state(202), want, 'resale: the same');
  t.equal(w.fib.stats().restartKept, 0, 'nothing kept any more');
  const after = kernel.writes.slice(mark);
  t.notOk(
    after.some((x) => x.startsWith('DEL') && (x.endsWith(' 192.0.2.0/24') || x.endsWith(' 203.0.113.0/26'))),
    'a still-wanted route is replaced in place, never deleted first',
  );
  t.same(
    after.filter((x) => x.startsWith('DEL')).sort(),
    [
      'DEL 201 198.51.100.128/25',
      'DEL 201 2001:db8:1::/48',
      'DEL 202 198.51.100.128/25',
      'DEL 202 2001:db8:1::/48',
    ],
    'what the RIB no longer has is deleted',
  );
  w.announce('transit', GW2, ['198.51.100.128/25']);
  await w.settle();
  t.equal(kernel.state(201)['198.51.100.128/25'], 'via 192.0.2.3', 'then the FIB follows the RIB as usual');
  w.fib.restartComplete();
  t.pass('a second restartComplete is harmless');
});

t.test('without graceful restart, an earlier instance’s routes are removed at start', async (t) => {
  const kernel = new Kernel();
  await earlier(kernel);
  const w = instance(kernel, false);
  await w.fib.start();
  t.equal(w.fib.kept, undefined, 'nothing kept');
  t.same(kernel.state(201), { '198.51.100.0/30': `dev ${TUN}` }, 'only the static route, written again');
  t.equal(w.fib.stats().staleRemoved, 10);
});

t.test('a restart with an empty kernel is no restart', async (t) => {
  const w = instance(new Kernel(), true);
  await w.fib.start();
  t.equal(w.fib.kept, undefined);
});

t.test('KeptRoutes: a million IPv4 routes kept in two typed arrays', async (t) => {
  const { KeptRoutes } = await import('../../src/fib/kept.js');
  const N = 1 << 20;
  const b = new RecordBatch(N);
  for (let i = 0; i < N; i++) b.route4(OP_ROUTE_SET, ((0x0a000000 + i * 256) >>> 0) * 64 + 24, 201, 0);
  const t0 = performance.now();
  const rss0 = process.memoryUsage().rss;
  const k = new KeptRoutes([
    { bit: 1, records: b.bytes() },
    { bit: 2, records: b.bytes() },
  ]);
  const ms = performance.now() - t0;
  t.equal(k.size, 2 * N);
  t.ok(k.has(false, ((0x0a000000 + 5 * 256) >>> 0) * 64 + 24, 2), 'found, in the resale table');
  t.notOk(k.has(false, ((0x0a000000 + 5 * 256) >>> 0) * 64 + 23, 1), 'another length is another prefix');
  t.equal(k.keys().v4.length, N, 'each prefix once');
  t.comment(`built in ${Math.round(ms)} ms, RSS +${Math.round((process.memoryUsage().rss - rss0) / 1e6)} MB`);
  t.ok(ms < 5000, `built in ${Math.round(ms)} ms`);
  const key6 = parsePrefix6('2001:db8::/32') as Prefix6;
  const b6 = new RecordBatch();
  b6.route6(OP_ROUTE_SET, key6, 202, 0);
  const k6 = new KeptRoutes([{ bit: 2, records: b6.bytes() }]);
  t.ok(k6.has(true, key6, 2));
  t.notOk(k6.has(true, key6, 1));
  t.same(k6.families, ['ipv6-unicast']);
  t.same(k6.keys().v4 as Prefix4[], []);
});
