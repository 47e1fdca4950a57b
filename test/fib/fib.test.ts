/**
 * The FIB's decisions, against a fake kernel writer (no root needed): which record goes to which
 * table for which best path, what enters and leaves the tunnel LPM, that configured static
 * prefixes win over BGP, and that a route refused for its next hop is retried with what the RIB
 * says at retry time (never with the stale record), logged once.
 */
import t from 'tap';
import { formatPrefix4 } from '../../src/bgp/wire/index.js';
import { Fib, type FibRib } from '../../src/fib/fib.js';
import { FIB_RECORD, OP_ROUTE_DEL, OP_ROUTE_SET, OP_RULE_ADD, readRecord } from '../../src/fib/records.js';
import type { KernelWriter, WriteResult } from '../../src/fib/writer.js';
import type { Prefix4, Prefix6 } from '../../src/bgp/wire/types.js';
import { type BestChange, type ChangedPrefixes, Rib } from '../../src/rib/rib.js';
import { attrs, DecodingSink, LOCAL_AS, neighbor, p4, recordingLog, sessionInfo } from '../rib/helpers.js';

const ENETUNREACH = 101;

interface Written {
  op: number;
  table: number;
  dst: string;
  via: string;
  oif: number;
}

/** A kernel that records every record and refuses gateways in `unreachable`. */
class FakeKernel implements KernelWriter {
  readonly log: Written[] = [];
  readonly rules: Written[] = [];
  unreachable = new Set<string>();
  async write(records: Uint8Array): Promise<WriteResult> {
    const n = records.length / FIB_RECORD;
    const results = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const r = readRecord(records, i);
      const via = r.gwFamily === 4 ? [...r.gw.subarray(0, 4)].join('.') : '';
      const w = {
        op: r.op,
        table: r.table,
        dst: r.family === 4 ? `${[...r.dst].join('.')}/${r.len}` : `v6/${r.len}`,
        via,
        oif: r.oif,
      };
      if (r.op === OP_RULE_ADD) this.rules.push(w);
      else this.log.push(w);
      if (r.op === OP_ROUTE_SET && this.unreachable.has(via)) results[i] = ENETUNREACH;
    }
    return {
      results,
      messages: results.some((x) => x) ? [[ENETUNREACH, 'Nexthop has invalid gateway']] : [],
    };
  }
  async dumpRoutes(): Promise<Uint8Array> {
    return new Uint8Array(0);
  }
  async dumpRules(): Promise<Uint8Array> {
    return new Uint8Array(0);
  }
  close(): void {}
  /** The last record written per table and prefix: what the kernel holds. */
  state(table: number): Record<string, string> {
    const out: Record<string, string> = {};
    for (const w of this.log) {
      if (w.table !== table) continue;
      if (w.op === OP_ROUTE_DEL) delete out[w.dst];
      else out[w.dst] = w.via || `dev ${w.oif}`;
    }
    return out;
  }
}

function world(opts: { retryMs?: number; wrapRib?: (rib: Rib) => FibRib } = {}) {
  const rib = new Rib({ localAs: LOCAL_AS, routerId: 1, log: recordingLog().log, bogons: [] });
  const nbrs = [
    neighbor('transit', 'transit', 64496, '192.0.2.2'),
    neighbor('peer', 'peer', 64497, '192.0.2.3', { noResale: true }),
    neighbor('cust', 'customer', 64498, '198.51.100.2', {
      tunnel: 'cust',
      prefixes: ['203.0.113.0/24 le 28'],
    }),
  ];
  const ch = new Map(
    nbrs.map((n, i) => {
      const c = rib.addNeighbor(n);
      const info = sessionInfo(n, 10 + i);
      c.up(info, new DecodingSink({ ebgp: info.ebgp, peerAs: LOCAL_AS, localAs: n.remoteAs }));
      return [n.name, c] as const;
    }),
  );
  const kernel = new FakeKernel();
  const lpm = new Map<string, number>();
  const dataplane = {
    tun: 'gredge0',
    tunnelIndex: (name: string) => (name === 'cust' ? 7 : undefined),
    applyRoutes(records: Uint8Array, add: boolean) {
      const dv = new DataView(records.buffer, records.byteOffset);
      for (let o = 0; o < records.length; o += 24) {
        const key = formatPrefix4(dv.getUint32(o + 8, false) * 64 + records[o + 1]!);
        if (add) lpm.set(key, dv.getUint32(o + 4, true));
        else lpm.delete(key);
      }
      return records.length / 24;
    },
  };
  const { log, warns } = recordingLog();
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
        routes: ['203.0.113.240/28'],
        mssClamp: true,
        sequence: false,
        checksum: false,
      },
    ],
    fib: { fullTable: 201, resaleTable: 202, protocol: 250, rulePriority: 1000, kernel: true },
  };
  const fib = new Fib({
    config,
    rib: opts.wrapRib ? opts.wrapRib(rib) : rib,
    dataplane,
    log,
    writer: kernel,
    tunIfindex: 9,
    retryMs: opts.retryMs ?? 20,
  });
  const announce = (who: string, nextHop: string, prefixes: string[], path?: number[]) => {
    const n = nbrs.find((x) => x.name === who)!;
    const [a, b, c, d] = nextHop.split('.').map(Number) as [number, number, number, number];
    ch.get(who)!.updates([
      {
        withdrawn4: [],
        withdrawn6: [],
        nlri6: [],
        nlri4: prefixes.map(p4),
        attrs: attrs(path ?? [n.remoteAs], { nextHop: ((a << 24) | (b << 16) | (c << 8) | d) >>> 0 }),
      },
    ]);
  };
  const withdraw = (who: string, prefixes: string[]) =>
    ch.get(who)!.updates([{ withdrawn4: prefixes.map(p4), withdrawn6: [], nlri4: [], nlri6: [] }]);
  const settle = async () => {
    await rib.idle();
    await fib.idle();
  };
  return { rib, fib, kernel, lpm, warns, announce, withdraw, settle, config };
}

t.test('full and resale tables, the TUN, the LPM and the rules', async (t) => {
  const w = world();
  await w.fib.start();
  t.same(
    w.kernel.state(201),
    { '198.51.100.0/30': 'dev 9', '203.0.113.240/28': 'dev 9' },
    'static routes first',
  );
  t.same(
    w.kernel.rules.map((r) => `${r.table}`),
    ['202', '254', '0', '201', '202', '254', '0', '201'],
    'per family: TUN → resale, → main without its default, → unreachable; all → full (no resale:false customer here)',
  );
  w.announce('transit', '192.0.2.2', ['198.51.100.128/25', '203.0.113.0/26'], [64496, 64511]);
  w.announce('peer', '192.0.2.3', ['198.51.100.128/25']);
  w.announce('cust', '198.51.100.2', ['203.0.113.0/26', '203.0.113.240/28']);
  await w.settle();
  t.same(w.kernel.state(201), {
    '198.51.100.0/30': 'dev 9',
    '203.0.113.240/28': 'dev 9',
    '198.51.100.128/25': '192.0.2.3',
    '203.0.113.0/26': 'dev 9',
  });
  t.same(w.kernel.state(202), {
    '198.51.100.0/30': 'dev 9',
    '203.0.113.240/28': 'dev 9',
    '198.51.100.128/25': '192.0.2.2',
    '203.0.113.0/26': 'dev 9',
  });
  t.same(
    [...w.lpm],
    [['203.0.113.0/26', 7]],
    'the customer route in its tunnel; the static /28 left to the config',
  );
  w.withdraw('cust', ['203.0.113.0/26', '203.0.113.240/28']);
  await w.settle();
  t.equal(w.kernel.state(201)['203.0.113.0/26'], '192.0.2.2', 'the transit takes over');
  t.equal(w.kernel.state(201)['203.0.113.240/28'], 'dev 9', 'the static route stays');
  t.same([...w.lpm], [], 'the LPM entry goes with the customer route');
  await w.fib.stop();
});

t.test('an unreachable next hop is retried with the current best, logged once', async (t) => {
  const w = world({ retryMs: 10 });
  await w.fib.start();
  w.kernel.unreachable.add('192.0.2.9');
  w.announce('transit', '192.0.2.9', ['198.51.100.0/26', '198.51.100.64/26']);
  await w.settle();
  t.equal(w.fib.stats().unresolved, 2, 'two prefixes wait for their next hop');
  // Both tables refused both prefixes (and a retry may already have been refused again).
  t.ok((w.fib.stats().failed.ENETUNREACH ?? 0) >= 4, 'refused in both tables, counted');
  // Meanwhile the route changes: the retry must write the new next hop, not the refused one.
  w.announce('transit', '192.0.2.2', ['198.51.100.0/26']);
  w.withdraw('transit', ['198.51.100.64/26']);
  await w.settle();
  const before = w.kernel.log.length;
  const deadline = Date.now() + 2000;
  while (w.fib.stats().unresolved > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  await w.fib.idle();
  t.equal(w.fib.stats().unresolved, 0, 'nothing left to retry');
  t.same(w.kernel.state(201), {
    '198.51.100.0/30': 'dev 9',
    '203.0.113.240/28': 'dev 9',
    '198.51.100.0/26': '192.0.2.2',
  });
  t.ok(
    w.kernel.log.slice(before).every((x) => x.via !== '192.0.2.9'),
    'the refused next hop is never written again',
  );
  t.equal(w.warns.filter((m) => String(m.msg).includes('next hop not reachable')).length, 1, 'logged once');
  await w.fib.stop();
});

t.test(
  'a backlog of batches ends in the newest state of every prefix, a withdrawal storm top down',
  async (t) => {
    const w = world();
    await w.fib.start();
    // Several RIB flushes before the FIB's turn: the same prefixes flap between next hops and
    // go away; only each prefix's last state may reach the kernel.
    const prefixes = Array.from({ length: 40 }, (_, i) => `198.51.100.${i}/32`);
    w.announce('transit', '192.0.2.2', prefixes);
    await w.rib.idle();
    w.announce('transit', '192.0.2.4', prefixes);
    await w.rib.idle();
    w.withdraw('transit', prefixes.slice(0, 20));
    await w.rib.idle();
    w.announce('transit', '192.0.2.5', prefixes.slice(30));
    await w.settle();
    const state = w.kernel.state(201);
    for (const p of prefixes.slice(0, 20)) t.notOk(p in state, `${p} withdrawn`);
    for (const p of prefixes.slice(20, 30)) t.equal(state[p], '192.0.2.4', `${p} via its newest next hop`);
    for (const p of prefixes.slice(30)) t.equal(state[p], '192.0.2.5', `${p} via its newest next hop`);
    await w.fib.stop();
  },
);

t.test('deletions go to the kernel longest prefix first, then from the highest address down', async (t) => {
  const w = world();
  await w.fib.start();
  // /24s with a covering /22 on every fourth, as a dense full table has them (bogons are off).
  const prefixes: string[] = [];
  for (let i = 0; i < 64; i++) prefixes.push(`11.${i >> 4}.${(i & 15) * 4}.0/22`);
  for (let i = 0; i < 64; i++)
    for (let j = 1; j < 4; j++) prefixes.push(`11.${i >> 4}.${(i & 15) * 4 + j}.0/24`);
  w.announce('transit', '192.0.2.2', prefixes);
  await w.settle();
  t.equal(Object.keys(w.kernel.state(202)).length, prefixes.length + 2, 'all in the resale table');
  const from = w.kernel.log.length;
  w.withdraw('transit', prefixes);
  await w.settle();
  for (const table of [201, 202]) {
    const dels = w.kernel.log.slice(from).filter((x) => x.table === table && x.op === OP_ROUTE_DEL);
    const key = (d: string) => {
      const [a, l] = d.split('/') as [string, string];
      const n = a.split('.').reduce((x, o) => x * 256 + Number(o), 0);
      return [Number(l), n] as const;
    };
    const want = [...prefixes].sort((x, y) => {
      const [lx, nx] = key(x);
      const [ly, ny] = key(y);
      return ly - lx || ny - nx;
    });
    t.same(
      dels.map((d) => d.dst),
      want,
      `table ${table}: the ${want.length} deletions, /24s from the top down, then the /22s`,
    );
  }
  t.equal(w.fib.stats().deletesHeld, 0, 'none held once idle');
  await w.fib.stop();
});

t.test(
  'a held deletion and a later route set of the same prefix: the kernel ends with the newer',
  async (t) => {
    let hand: ((c: ChangedPrefixes) => void) | undefined;
    // What bestOf answers for a prefix, call after call (then the RIB's own answer).
    const script = new Map<Prefix4 | Prefix6, BestChange[]>();
    const w = world({
      wrapRib: (rib) => ({
        onPrefixChange(listener) {
          hand = listener;
          return () => {};
        },
        rehand: () => {},
        bestOf: (f, p) => script.get(p)?.shift() ?? rib.bestOf(f, p),
      }),
    });
    await w.fib.start();
    w.announce('transit', '192.0.2.2', ['198.51.100.0/26', '198.51.100.64/26']);
    await w.rib.idle();
    const [a, b] = ['198.51.100.0/26', '198.51.100.64/26'].map((p) => w.rib.bestOf('ipv4-unicast', p4(p)));
    const gone = (c: BestChange): BestChange => ({ family: c.family, prefix: c.prefix });
    script.set(a!.prefix, [gone(a!), a!]);
    script.set(b!.prefix, [b!, gone(b!)]);
    const from = w.kernel.log.length;
    // Handed before the FIB's turn: a withdrawn then back, b set then withdrawn.
    hand!({ v4: [a!.prefix as Prefix4], v6: [] });
    hand!({ v4: [a!.prefix as Prefix4, b!.prefix as Prefix4], v6: [] });
    hand!({ v4: [b!.prefix as Prefix4], v6: [] });
    t.equal(w.fib.stats().queued, 4, 'queued for the FIB turn');
    await w.fib.idle();
    const log = w.kernel.log
      .slice(from)
      .map((x) => `${x.op === OP_ROUTE_DEL ? 'del' : 'set'} ${x.table} ${x.dst}`);
    t.same(
      log.filter((x) => x.endsWith('198.51.100.0/26')),
      ['set 201 198.51.100.0/26', 'set 202 198.51.100.0/26'],
      'a: its held deletion is cancelled by the route set',
    );
    t.same(
      log.filter((x) => x.endsWith('198.51.100.64/26')),
      [
        'set 201 198.51.100.64/26',
        'set 202 198.51.100.64/26',
        'del 201 198.51.100.64/26',
        'del 202 198.51.100.64/26',
      ],
      'b: set, then deleted after',
    );
    t.equal(w.kernel.state(201)['198.51.100.0/26'], '192.0.2.2');
    t.notOk('198.51.100.64/26' in w.kernel.state(201));
    await w.fib.stop();
  },
);

t.test('stop with keep (graceful restart) writes the held deletions before it returns', async (t) => {
  const w = world();
  await w.fib.start();
  const prefixes = Array.from({ length: 10 }, (_, i) => `198.51.100.${i * 8}/29`);
  w.announce('transit', '192.0.2.2', prefixes);
  await w.settle();
  w.withdraw('transit', prefixes.slice(0, 6));
  await w.rib.idle(); // handed to the FIB, not yet necessarily written
  await w.fib.stop({ keep: true });
  const state = w.kernel.state(201);
  t.same(
    prefixes.filter((p) => p in state),
    prefixes.slice(6),
    'the kernel keeps exactly the routes the RIB still has',
  );
});

t.test('a reload re-resolves only the best paths whose target can have changed', async (t) => {
  const w = world();
  await w.fib.start();
  // A table's worth of transit routes, and one customer route inside the customer's tunnel.
  const many = Array.from({ length: 3000 }, (_, i) => `100.${64 + (i >> 8)}.${i & 255}.0/24`);
  w.announce('transit', '192.0.2.2', many, [64496, 64511]);
  w.announce('cust', '198.51.100.2', ['203.0.113.0/26']);
  await w.settle();
  t.equal(w.kernel.state(201)['203.0.113.0/26'], 'dev 9', 'the customer route goes into the TUN');
  const routeWrites = (from: number) =>
    w.kernel.log.slice(from).map((x) => `${x.op}|${x.table}|${x.dst}|${x.via}`);

  // Nothing that moves a target (a timer): nothing written again.
  let from = w.kernel.log.length;
  const same = { ...w.config, neighbors: w.config.neighbors.map((n) => ({ ...n, holdTime: 30 })) };
  t.ok(await w.fib.reconfigure(w.config, same));
  await w.settle();
  t.same(routeWrites(from), [], 'a reload that moves no target writes no route');

  // The customer's session leaves its tunnel and the tunnel's inner subnet moves away from the
  // customer's next hop: the customer's route now goes to its next hop as a gateway.
  from = w.kernel.log.length;
  const moved = {
    ...same,
    neighbors: same.neighbors.map((n) => (n.name === 'cust' ? { ...n, tunnel: undefined } : n)),
    tunnels: same.tunnels.map((x) => ({ ...x, inner: { local: '198.51.100.5/30' } })),
  };
  t.ok(await w.fib.reconfigure(same, moved));
  await w.settle();
  const written = routeWrites(from);
  t.same(
    written.filter((x) => x.includes('203.0.113.0/26')).sort(),
    [`${OP_ROUTE_SET}|201|203.0.113.0/26|198.51.100.2`, `${OP_ROUTE_SET}|202|203.0.113.0/26|198.51.100.2`],
    'the customer route is written again, to its gateway, in both tables',
  );
  t.notOk(
    written.some((x) => x.includes('|100.')),
    `none of the ${many.length} transit routes is written again (${written.length} writes in all)`,
  );
  t.equal(w.kernel.state(201)['198.51.100.4/30'], 'dev 9', 'the new inner subnet is routed into the TUN');
  t.notOk('198.51.100.0/30' in w.kernel.state(201), 'the old one is gone');
  t.same([...w.lpm], [], 'the customer route leaves the tunnel LPM');

  // And back: the session into its tunnel again.
  from = w.kernel.log.length;
  t.ok(await w.fib.reconfigure(moved, same));
  await w.settle();
  t.equal(w.kernel.state(201)['203.0.113.0/26'], 'dev 9', 'into the TUN again');
  t.same([...w.lpm], [['203.0.113.0/26', 7]], 'and into the tunnel LPM');
  t.notOk(
    routeWrites(from).some((x) => x.includes('|100.')),
    'still no transit route written again',
  );
  await w.fib.stop();
});
