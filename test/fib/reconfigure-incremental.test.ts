/**
 * Fib.reconfigure works per tunnel and per neighbor (only what changed is parsed, compared or
 * written). These tests hold it to the whole-config computation it replaced, kept here as the
 * reference (`reference` below is that code, reading whole configs): over seeded random
 * sequences of reloads (tunnels added, removed, renamed, reordered; routes, inner addresses,
 * MTUs and allowed sources changed; a prefix moved between tunnels; neighbors' resale, role and
 * tunnel flipped), with unchanged entries handed back as the same objects or as fresh copies,
 * the reload writes the very same records in the same order, hands the same prefixes back to
 * the RIB, logs the same counts, and leaves the same prefixes to the config (static). And at
 * 10,000 tunnels a one-tunnel change reads only that tunnel (counted, not timed).
 */
import t from 'tap';
import { prefix4, prefix6 } from '../../src/bgp/wire/prefix.js';
import type { Family, PathAttributes, Prefix4, Prefix6 } from '../../src/bgp/wire/types.js';
import type { FibConfig, NeighborConfig, TunnelConfig } from '../../src/config/types.js';
import { maskBytes, parsePrefix } from '../../src/dataplane/addr.js';
import { Fib, type FibDataplane, type FibOptions, type FibRib } from '../../src/fib/fib.js';
import {
  FIB_RECORD,
  OP_ROUTE_DEL,
  OP_ROUTE_SET,
  OP_RULE_ADD,
  OP_RULE_DEL,
  RecordBatch,
  recordKey,
} from '../../src/fib/records.js';
import type { KernelWriter, WriteResult } from '../../src/fib/writer.js';
import type { BestChange, ChangedPrefixes } from '../../src/rib/rib.js';
import { prng as rng } from '../prng.js';
import { recordingLog } from '../rib/helpers.js';

type FibCfg = FibOptions['config'];

const FIB: FibConfig = { fullTable: 201, resaleTable: 202, protocol: 250, rulePriority: 1000, kernel: true };
const IFINDEX = 9;
const TUN = 'gredge0';

// ------------------------------------------------------------------ the reference (whole configs)

interface RefStatic {
  family: 4 | 6;
  bytes: Uint8Array;
  len: number;
  tunnel: string;
  mtu: number;
  src?: Uint8Array;
}

function refStatics(tunnels: readonly TunnelConfig[]): RefStatic[] {
  const out: RefStatic[] = [];
  for (const t of tunnels) {
    const inner = [t.inner.local, t.inner.local6].filter((x): x is string => x !== undefined);
    for (const cidr of [...inner, ...t.routes]) {
      const parsed = parsePrefix(cidr, false);
      if (typeof parsed === 'string') continue;
      const isInner = inner.includes(cidr);
      out.push({
        family: parsed.family,
        bytes: maskBytes(parsed.bytes, parsed.len),
        len: parsed.len,
        tunnel: t.name,
        mtu: isInner ? t.mtu : 0,
        ...(isInner ? { src: parsed.bytes } : {}),
      });
    }
  }
  return out;
}

function refRules(cfg: FibCfg, tun: string | undefined): Uint8Array {
  const b = new RecordBatch();
  const base = FIB.rulePriority;
  for (const fam of [4, 6] as const) {
    if (tun !== undefined) {
      for (const n of cfg.neighbors) {
        if (n.role !== 'customer' || n.resale || n.tunnel === undefined) continue;
        const tn = cfg.tunnels.find((x) => x.name === n.tunnel);
        for (const src of tn?.allowedSources ?? []) {
          const p = parsePrefix(src, false);
          if (typeof p === 'string' || p.family !== fam) continue;
          b.rule(
            OP_RULE_ADD,
            fam,
            { bytes: maskBytes(p.bytes, p.len), len: p.len },
            FIB.fullTable,
            base,
            tun,
          );
        }
      }
      b.rule(OP_RULE_ADD, fam, undefined, FIB.resaleTable, base + 1, tun);
      b.rule(OP_RULE_ADD, fam, undefined, 254, base + 2, tun, 0);
      b.rule(OP_RULE_ADD, fam, undefined, 0, base + 3, tun);
    }
    b.rule(OP_RULE_ADD, fam, undefined, FIB.fullTable, base + 4, '');
  }
  return b.bytes();
}

const keyOf = (s: RefStatic) => (s.family === 4 ? prefix4(u32(s.bytes), s.len) : prefix6(s.bytes, s.len));

/** What the whole-config reconfigure wrote, handed back and logged for `prev` (statics) → `next`. */
function reference(
  prev: RefStatic[],
  oldCfg: FibCfg,
  newCfg: FibCfg,
  o: { kernel: boolean; writer: boolean; tun: string | undefined },
) {
  const statics = refStatics(newCfg.tunnels);
  const where = (s: RefStatic) => `${s.family}|${s.bytes.join('.')}/${s.len}`;
  const what = (s: RefStatic) => `${where(s)}|${s.tunnel}|${s.mtu}|${s.src?.join('.') ?? ''}`;
  const before = new Map(prev.map((s) => [what(s), s]));
  const after = new Map(statics.map((s) => [what(s), s]));
  const stays = new Set(statics.map(where));
  const batch = new RecordBatch();
  const handBack: ChangedPrefixes = { v4: [], v6: [] };
  const tables = [FIB.fullTable, FIB.resaleTable];
  for (const [k, s] of after) {
    if (before.has(k) || !o.kernel) continue;
    for (const table of tables) batch.deviceRoute(s.family, s.bytes, s.len, table, IFINDEX, s.mtu, s.src);
  }
  for (const [k, s] of before) {
    if (after.has(k) || stays.has(where(s))) continue;
    const key = keyOf(s);
    if (o.kernel) {
      for (const table of tables) {
        if (s.family === 4) batch.route4(OP_ROUTE_DEL, key as Prefix4, table, 0);
        else batch.route6(OP_ROUTE_DEL, key as Prefix6, table, 0);
      }
    }
    if (s.family === 4) handBack.v4.push(key as Prefix4);
    else handBack.v6.push(key as Prefix6);
  }
  const rulesBefore = refRules(oldCfg, o.tun);
  const rulesAfter = refRules(newCfg, o.tun);
  const keysOf = (b: Uint8Array) => {
    const m = new Map<string, number>();
    for (let i = 0; i < b.length / FIB_RECORD; i++) m.set(recordKey(b, i), i);
    return m;
  };
  const rb = keysOf(rulesBefore);
  const ra = keysOf(rulesAfter);
  if (o.writer) {
    for (const [k, i] of ra) if (!rb.has(k)) batch.copy(rulesAfter, i, OP_RULE_ADD);
    for (const [k, i] of rb) if (!ra.has(k)) batch.copy(rulesBefore, i, OP_RULE_DEL);
  }
  // Targets: a session that moved between tunnels, or an inner subnet that differs as text.
  const sessions = (c: FibCfg) =>
    JSON.stringify(
      c.neighbors
        .filter((n) => n.tunnel !== undefined)
        .map((n) => [n.name, n.tunnel])
        .sort(),
    );
  const subnets = (c: FibCfg) =>
    c.tunnels
      .flatMap((x) =>
        [x.inner.local, x.inner.local6].filter((a) => a !== undefined).map((a) => `${x.name}|${a}`),
      )
      .sort()
      .join(' ');
  return {
    statics,
    retarget: sessions(oldCfg) !== sessions(newCfg) || subnets(oldCfg) !== subnets(newCfg),
    batch: batch.bytes(),
    handBack,
    log: {
      staticsAdded: [...after.keys()].filter((k) => !before.has(k)).length,
      staticsRemoved: [...before.keys()].filter((k) => !after.has(k)).length,
      rules: batch.count,
    },
  };
}

function u32(b: Uint8Array): number {
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

// ------------------------------------------------------------------ a FIB with fakes all round

class Writer implements KernelWriter {
  readonly writes: Uint8Array[] = [];
  async write(records: Uint8Array): Promise<WriteResult> {
    this.writes.push(records.slice());
    return { results: new Int32Array(records.length / FIB_RECORD), messages: [] };
  }
  async dumpRoutes(): Promise<Uint8Array> {
    return new Uint8Array(0);
  }
  async dumpRules(): Promise<Uint8Array> {
    return new Uint8Array(0);
  }
  close(): void {}
}

/** A RIB whose every prefix has a best path to a gateway: a prefix the FIB writes is not static. */
class ProbeRib implements FibRib {
  listener: ((c: ChangedPrefixes) => void) | undefined;
  readonly asked: Array<Prefix4 | Prefix6> = [];
  rehands = 0;
  readonly #attrs: PathAttributes = { origin: 0, asPath: [], atomicAggregate: false, nextHop: 0xc0000202 };
  onPrefixChange(listener: (c: ChangedPrefixes) => void): () => void {
    this.listener = listener;
    return () => {
      this.listener = undefined;
    };
  }
  rehand(): void {
    this.rehands++;
  }
  bestOf(family: Family, prefix: Prefix4 | Prefix6): BestChange {
    this.asked.push(prefix);
    const attrs: PathAttributes =
      family === 'ipv4-unicast'
        ? this.#attrs
        : {
            ...this.#attrs,
            nextHop: undefined,
            nextHop6: { global: Uint8Array.of(0x20, 1, 0xd, 0xb8, ...new Array(11).fill(0), 1) },
          };
    const r = { neighbor: 'transit', attrs };
    return { family, prefix, full: r, resale: r };
  }
}

// ------------------------------------------------------------------ random configs

const V4_ROUTES = Array.from({ length: 24 }, (_, i) => `198.18.${i}.0/24`).concat([
  '203.0.113.0/25',
  '203.0.113.0/26',
]);
const V6_ROUTES = Array.from({ length: 12 }, (_, i) => `2001:db8:${(0x100 + i).toString(16)}::/48`);
const ROUTES = [...V4_ROUTES, ...V6_ROUTES];
/** Inner addresses, some of them in one subnet (the reference does not care; nor may we). */
const LOCAL4 = Array.from({ length: 12 }, (_, i) => `100.64.0.${i * 4 + 1}/30`).concat([
  '100.64.0.2/31',
  '100.64.0.1/31',
]);
const LOCAL6 = Array.from({ length: 8 }, (_, i) => `2001:db8:ff:${i}::1/64`).concat(['2001:db8:ff::2/127']);
const SOURCES = ['198.18.0.0/16', '203.0.113.0/24', '2001:db8:100::/40', '192.0.2.0/24', '2001:db8:ff::/48'];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

function some<T>(r: () => number, xs: readonly T[], max: number): T[] {
  const n = Math.floor(r() * (max + 1));
  return Array.from({ length: n }, () => pick(r, xs));
}

function makeTunnel(r: () => number, name: string): TunnelConfig {
  const inner: TunnelConfig['inner'] = {};
  if (r() < 0.8) inner.local = pick(r, LOCAL4);
  if (r() < 0.5) inner.local6 = pick(r, LOCAL6);
  return {
    name,
    remote: '192.0.2.50',
    key: 1,
    mtu: r() < 0.7 ? 1472 : 1400,
    inner,
    allowedSources: some(r, SOURCES, 2),
    routes: some(r, ROUTES, 3),
    mssClamp: true,
    sequence: false,
    checksum: false,
  };
}

function makeNeighbor(r: () => number, name: string, tunnels: readonly string[]): NeighborConfig {
  const role = r() < 0.7 ? 'customer' : pick(r, ['peer', 'transit', 'internal'] as const);
  return {
    name,
    role,
    resale: r() < 0.5,
    ...(r() < 0.8 ? { tunnel: r() < 0.9 ? pick(r, tunnels) : 'nowhere' } : {}),
  } as unknown as NeighborConfig;
}

/** One reload's worth of edits; unchanged entries stay the same objects, changed ones are new. */
function mutate(r: () => number, cfg: FibCfg, serial: { n: number }): FibCfg {
  const tunnels = [...cfg.tunnels];
  const neighbors = [...cfg.neighbors];
  const edits = 1 + Math.floor(r() * 3);
  const tunnelAt = () => Math.floor(r() * tunnels.length);
  for (let e = 0; e < edits; e++) {
    const kind = Math.floor(r() * 14);
    const i = tunnelAt();
    const tn = tunnels[i];
    if (tn === undefined && kind < 9) {
      tunnels.push(makeTunnel(r, `t${serial.n++}`));
      continue;
    }
    switch (kind) {
      case 0: // a route added
        tunnels[i] = { ...tn!, routes: [...tn!.routes, pick(r, ROUTES)] };
        break;
      case 1: // a route removed
        tunnels[i] = {
          ...tn!,
          routes: tn!.routes.filter((_, k) => k !== Math.floor(r() * tn!.routes.length)),
        };
        break;
      case 2: {
        // a prefix moved from one tunnel to another in one reload
        const j = tunnelAt();
        const p = tn!.routes[0];
        if (p === undefined || j === i) break;
        tunnels[i] = { ...tn!, routes: tn!.routes.slice(1) };
        tunnels[j] = { ...tunnels[j]!, routes: [...tunnels[j]!.routes, p] };
        break;
      }
      case 3: // inner addresses
        tunnels[i] = {
          ...tn!,
          inner: r() < 0.5 ? { ...tn!.inner, local: pick(r, LOCAL4) } : { local6: pick(r, LOCAL6) },
        };
        break;
      case 4:
        tunnels[i] = { ...tn!, mtu: tn!.mtu === 1472 ? 1400 : 1472 };
        break;
      case 5:
        tunnels[i] = { ...tn!, allowedSources: some(r, SOURCES, 3) };
        break;
      case 6:
        tunnels.splice(i, 1);
        break;
      case 7: // renamed (a neighbor may still name the old one)
        tunnels[i] = { ...tn!, name: `t${serial.n++}` };
        break;
      case 8: {
        // two tunnels swap places
        const j = tunnelAt();
        [tunnels[i], tunnels[j]] = [tunnels[j]!, tunnels[i]!];
        break;
      }
      case 9:
        tunnels.splice(Math.floor(r() * (tunnels.length + 1)), 0, makeTunnel(r, `t${serial.n++}`));
        break;
      default: {
        const k = Math.floor(r() * neighbors.length);
        const n = neighbors[k];
        const names = tunnels.map((x) => x.name);
        if (n === undefined || kind === 13) {
          neighbors.splice(k, 0, makeNeighbor(r, `n${serial.n++}`, names.length > 0 ? names : ['x']));
          break;
        }
        if (kind === 10) neighbors[k] = { ...n, resale: !n.resale };
        else if (kind === 11)
          neighbors[k] = { ...n, tunnel: names.length > 0 && r() < 0.8 ? pick(r, names) : undefined };
        else if (r() < 0.5) neighbors.splice(k, 1);
        else neighbors[k] = { ...n, role: n.role === 'customer' ? 'peer' : 'customer' };
      }
    }
  }
  return { ...cfg, tunnels, neighbors };
}

/** The same config as fresh objects throughout (what today's loader hands back). */
function copied(cfg: FibCfg): FibCfg {
  return structuredClone(cfg);
}

function initial(r: () => number, serial: { n: number }): FibCfg {
  const tunnels = Array.from({ length: 8 }, () => makeTunnel(r, `t${serial.n++}`));
  const names = tunnels.map((x) => x.name);
  const neighbors = Array.from({ length: 10 }, () => makeNeighbor(r, `n${serial.n++}`, names));
  return { tunnels, neighbors, fib: FIB };
}

/** Every prefix the generator uses, as the FIB's keys. */
const UNIVERSE: ChangedPrefixes = (() => {
  const v4 = new Set<Prefix4>();
  const v6 = new Set<Prefix6>();
  for (const cidr of [...ROUTES, ...LOCAL4, ...LOCAL6]) {
    const p = parsePrefix(cidr, false);
    if (typeof p === 'string') continue;
    const b = maskBytes(p.bytes, p.len);
    if (p.family === 4) v4.add(prefix4(u32(b), p.len));
    else v6.add(prefix6(b, p.len));
  }
  return { v4: [...v4], v6: [...v6] };
})();

// ------------------------------------------------------------------ the tests

const variants = [
  { name: 'kernel, TUN and rules', dataplane: true, ifindex: IFINDEX, writer: true },
  {
    name: 'no TUN ifindex (no static routes written; hand-back still)',
    dataplane: true,
    ifindex: 0,
    writer: true,
  },
  { name: 'no data plane (no source rules)', dataplane: false, ifindex: IFINDEX, writer: true },
];

for (const v of variants) {
  t.test(`reloads match the whole-config computation: ${v.name}`, async (t) => {
    let checked = 0;
    let written = 0;
    let handedBack = 0;
    let retargets = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const r = rng(seed * 7919 + (v.ifindex === 0 ? 1 : 0) + (v.dataplane ? 0 : 2));
      const serial = { n: 0 };
      let cfg = initial(r, serial);
      const writer = new Writer();
      const rib = new ProbeRib();
      const { log, infos } = recordingLog();
      const dataplane: FibDataplane | undefined = v.dataplane
        ? { tun: TUN, tunnelIndex: () => undefined, applyRoutes: () => 0 }
        : undefined;
      const fib = new Fib({
        config: cfg,
        rib,
        log,
        writer,
        tunIfindex: v.ifindex,
        ...(dataplane ? { dataplane } : {}),
      });
      await fib.start();
      await fib.idle();
      let prev = refStatics(cfg.tunnels);
      for (let step = 0; step < 40; step++) {
        let next = mutate(r, cfg, serial);
        if (r() < 0.4) next = copied(next);
        const want = reference(prev, cfg, next, {
          kernel: v.ifindex > 0,
          writer: true,
          tun: dataplane?.tun,
        });
        const w0 = writer.writes.length;
        const rehands = rib.rehands;
        rib.asked.length = 0;
        t.ok(await fib.reconfigure(cfg, next));
        const reload = writer.writes.length > w0 ? writer.writes[w0]! : new Uint8Array(0);
        await fib.idle();
        const where = `seed ${seed} step ${step}`;
        if (!Buffer.from(reload).equals(Buffer.from(want.batch))) {
          t.fail(`${where}: the reload's records differ`, {
            got: recordKeys(reload),
            want: recordKeys(want.batch),
          });
          return;
        }
        // The hand-back: the RIB is asked for exactly these, in this order (v4, then v6).
        t.same(rib.asked, [...want.handBack.v4, ...want.handBack.v6], `${where}: hand-back`);
        const info = infos.filter((x) => x.msg === 'fib: reconfigured in place').at(-1)!;
        t.same(
          { staticsAdded: info.staticsAdded, staticsRemoved: info.staticsRemoved, rules: info.rules },
          want.log,
          `${where}: log`,
        );
        t.equal(info.retarget, want.retarget, `${where}: targets may have moved`);
        t.equal(rib.rehands - rehands, want.retarget ? 1 : 0, `${where}: best paths handed over again`);
        if (want.retarget) retargets++;
        // Static prefixes: a probe of every prefix is written for exactly the non-static ones.
        const w1 = writer.writes.length;
        rib.listener!(UNIVERSE);
        await fib.idle();
        const probed = new Set(writer.writes.slice(w1).flatMap((b) => recordKeys(b)));
        const statics = new Set(want.statics.map((s) => keyOf(s)));
        const expected = new RecordBatch();
        for (const p of UNIVERSE.v4) {
          if (statics.has(p)) continue;
          for (const table of [FIB.fullTable, FIB.resaleTable])
            expected.route4(OP_ROUTE_SET, p, table, 0, Uint8Array.of(192, 0, 2, 2));
        }
        for (const p of UNIVERSE.v6) {
          if (statics.has(p)) continue;
          for (const table of [FIB.fullTable, FIB.resaleTable])
            expected.route6(
              OP_ROUTE_SET,
              p,
              table,
              0,
              Uint8Array.of(0x20, 1, 0xd, 0xb8, ...new Array(11).fill(0), 1),
            );
        }
        t.same(probed, new Set(recordKeys(expected.bytes())), `${where}: static prefixes`);
        checked++;
        written += want.batch.length / FIB_RECORD;
        handedBack += want.handBack.v4.length + want.handBack.v6.length;
        prev = want.statics;
        cfg = next;
      }
      await fib.stop({ keep: true });
    }
    // The sequences did exercise something (a generator that never changed anything would pass).
    t.ok(written > (v.ifindex > 0 ? 300 : 40), `${checked} reloads, ${written} records written`);
    t.ok(handedBack > 20, `${handedBack} prefixes handed back`);
    t.ok(retargets > 100, `${retargets} reloads that may move targets`);
  });
}

function recordKeys(b: Uint8Array): string[] {
  const out: string[] = [];
  for (let i = 0; i < b.length / FIB_RECORD; i++) out.push(`${b[i * FIB_RECORD]}:${recordKey(b, i)}`);
  return out;
}

t.test('a moved prefix stays: rewritten into its new tunnel, never deleted nor handed back', async (t) => {
  const tn = (name: string, routes: string[]): TunnelConfig => ({
    name,
    remote: '192.0.2.50',
    key: 1,
    mtu: 1472,
    inner: {},
    allowedSources: [],
    routes,
    mssClamp: true,
    sequence: false,
    checksum: false,
  });
  const a: FibCfg = {
    tunnels: [tn('x', ['198.18.0.0/24', '198.18.1.0/24']), tn('y', [])],
    neighbors: [],
    fib: FIB,
  };
  const b: FibCfg = { ...a, tunnels: [tn('x', ['198.18.1.0/24']), tn('y', ['198.18.0.0/24'])] };
  const writer = new Writer();
  const rib = new ProbeRib();
  const fib = new Fib({ config: a, rib, log: recordingLog().log, writer, tunIfindex: IFINDEX });
  t.ok(await fib.reconfigure(a, b));
  await fib.idle();
  t.same(
    writer.writes.flatMap(recordKeys).map((k) => k.split(':')[0]),
    [`${OP_ROUTE_SET}`, `${OP_ROUTE_SET}`],
    'two route sets (both tables), no delete',
  );
  t.same(rib.asked, [], 'nothing handed back');
  // And out of both: now it goes, and is handed back.
  const c: FibCfg = { ...b, tunnels: [b.tunnels[0]!, tn('y', [])] };
  t.ok(await fib.reconfigure(b, c));
  await fib.idle();
  const last = recordKeys(writer.writes[1]!).map((k) => Number(k.split(':')[0]));
  t.same(last, [OP_ROUTE_DEL, OP_ROUTE_DEL]);
  t.same(rib.asked, [prefix4(0xc6120000, 24)], 'handed back to the RIB');
  await fib.stop({ keep: true });
});

t.test('at 10,000 tunnels a reload that changes one reads only that one', async (t) => {
  const reads = new Map<string, number>();
  /** A tunnel whose routes, inner addresses and sources count their readers. */
  const counted = (i: number, routes: string[], sources?: string[]): TunnelConfig => {
    const name = `t${i}`;
    const base: TunnelConfig = {
      name,
      remote: '192.0.2.50',
      key: i + 1,
      mtu: 1472,
      inner: { local: `10.${(i >> 14) & 255}.${(i >> 6) & 255}.${(i & 63) * 4 + 1}/30` },
      allowedSources: sources ?? [`198.${18 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`],
      routes,
      mssClamp: true,
      sequence: false,
      checksum: false,
    };
    for (const k of ['routes', 'inner', 'allowedSources'] as const) {
      const value = base[k];
      Object.defineProperty(base, k, {
        enumerable: true,
        get() {
          reads.set(name, (reads.get(name) ?? 0) + 1);
          return value;
        },
      });
    }
    return base;
  };
  const N = 10_000;
  const tunnels = Array.from({ length: N }, (_, i) => counted(i, [`100.${64 + (i >> 8)}.${i & 255}.0/24`]));
  const neighbors = tunnels.map(
    (x, i) =>
      ({ name: `c${i}`, role: 'customer', resale: i % 2 === 0, tunnel: x.name }) as unknown as NeighborConfig,
  );
  const a: FibCfg = { tunnels, neighbors, fib: FIB };
  const writer = new Writer();
  const rib = new ProbeRib();
  const { log, infos } = recordingLog();
  const fib = new Fib({
    config: a,
    rib,
    log,
    writer,
    tunIfindex: IFINDEX,
    dataplane: { tun: TUN, tunnelIndex: () => undefined, applyRoutes: () => 0 },
  });
  // Tunnel 7's routes change; tunnel 9's allowed sources (its customer is resale: false, so its
  // rule is replaced); every other entry is handed back as the same object.
  const b: FibCfg = {
    ...a,
    tunnels: a.tunnels.map((x, i) =>
      i === 7
        ? counted(7, ['100.64.7.0/24', '198.51.100.0/24'])
        : i === 9
          ? counted(9, ['100.64.9.0/24'], ['198.19.0.0/16'])
          : x,
    ),
  };
  reads.clear();
  t.ok(await fib.reconfigure(a, b));
  await fib.idle();
  t.same(
    [...reads.keys()].sort(),
    ['t7', 't9'],
    'only the two changed tunnels are read (the others: one identity comparison each)',
  );
  const ops = recordKeys(writer.writes[0]!).map((k) => Number(k.split(':')[0]));
  t.same(
    ops,
    [OP_ROUTE_SET, OP_ROUTE_SET, OP_RULE_ADD, OP_RULE_DEL],
    'one new route in two tables, one rule replaced',
  );
  t.same(rib.asked, [], 'nothing handed back');
  t.same(rib.rehands, 0, 'no target can have moved: no best path handed over again');
  t.match(infos.at(-1), { staticsAdded: 1, staticsRemoved: 0, rules: 4, retarget: false });
  // The same config again, as fresh copies (today's loader): nothing written.
  reads.clear();
  const w = writer.writes.length;
  const fresh: FibCfg = {
    ...b,
    tunnels: b.tunnels.map((x) => ({ ...x })),
    neighbors: b.neighbors.map((n) => ({ ...n })),
  };
  t.ok(await fib.reconfigure(b, fresh));
  t.equal(writer.writes.length, w, 'a reload of equal copies writes nothing');
  t.same(rib.rehands, 0);
  await fib.stop({ keep: true });
});

t.test('reconfigure refuses a changed fib section and does nothing', async (t) => {
  const cfg: FibCfg = { tunnels: [], neighbors: [], fib: FIB };
  const writer = new Writer();
  const fib = new Fib({
    config: cfg,
    rib: new ProbeRib(),
    log: recordingLog().log,
    writer,
    tunIfindex: IFINDEX,
  });
  t.equal(await fib.reconfigure(cfg, { ...cfg, fib: { ...FIB, fullTable: 211 } }), false);
  t.same(writer.writes, []);
  await fib.stop({ keep: true });
});
