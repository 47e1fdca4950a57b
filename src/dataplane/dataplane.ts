/**
 * class Dataplane: the typed JS face of the native data plane (issue 4). It owns one native
 * handle (TUN gredge0 + worker threads), the name ↔ index map of tunnels, the kernel side of a
 * tunnel (inner addresses on the TUN, static routes via the TUN) and the counter reader.
 * Nothing here runs per packet; routes cross into C++ as one packed buffer per batch.
 */
import { EventEmitter } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { GredgeError } from '../errors.js';
import { IFNAME_RE, LIMITS } from '../config/limits.js';
import { FIB_RECORD, readRecord } from '../fib/records.js';
import { NetlinkWriter } from '../fib/writer.js';
import { type ParsedPrefix, formatPrefix, maskBytes, parseIp, parsePrefix } from './addr.js';
import { CounterReader, type GlobalCounters, type TunnelCounters } from './counters.js';
import { argError, call } from './errors.js';
import { loadNative, type NativeDataplaneHandle } from './native.js';
import { packPrefixList, packRouteEntries, ROUTE_RECORD } from './route-pack.js';
import { planTunnel, type TunnelPlan, type TunnelSpec } from './tunnels.js';

export interface DataplaneOptions {
  tun: string;
  workers: number;
  /** TUN MTU; default: 1500 (tunnel MTUs are enforced per tunnel) */
  mtu?: number;
  /** keep the TUN device when the data plane closes */
  persistent?: boolean;
  /** TUN offloads: read TCP super-packets and segment them, coalesce received segments (GRO)
   * into one TUN write. Default true; the data plane falls back to plain packets when the
   * kernel refuses (see `offload`). */
  offload?: boolean;
  /** Direct transmit: GRE packets leave through an AF_PACKET socket on the underlay device,
   * with headers built from the kernel's route and neighbour tables, instead of through the
   * kernel's IP output path per packet (which skips netfilter OUTPUT/POSTROUTING for them).
   * Default true; a tunnel whose next hop is not resolved yet uses the kernel's path. */
  directTx?: boolean;
  underlay: { local?: string; local6?: string };
}

export interface RouteEntry {
  prefix: string;
  tunnel: string;
}

export interface TunnelStateEvent {
  name: string;
  up: boolean;
}

export interface DataplaneCounters {
  global: GlobalCounters;
  tunnels: Record<string, TunnelCounters>;
}

interface TunnelEntry {
  index: number;
  spec: TunnelSpec;
  plan: TunnelPlan;
  baseline: number[];
}

/** The kernel's main routing table (RT_TABLE_MAIN). */
const MAIN_TABLE = 254;
/** RTPROT_STATIC: what the data plane's routes in `main` carry (native/src/tun_linux.cc). */
const RTPROT_STATIC = 4;

/** What removeLeftovers() found of an earlier instance and removed. */
export interface Leftovers {
  addresses: string[];
  routes: string[];
}

export class Dataplane extends EventEmitter<{ 'tunnel-state': [TunnelStateEvent] }> {
  readonly #h: NativeDataplaneHandle;
  readonly #opts: DataplaneOptions;
  readonly #byName = new Map<string, TunnelEntry>();
  readonly #byIndex = new Map<number, TunnelEntry>();
  readonly #counters: CounterReader;
  /** The TUN existed before open: an earlier instance's (persistent, or one that was killed). */
  readonly #adopted: boolean;
  #closed = false;

  private constructor(h: NativeDataplaneHandle, opts: DataplaneOptions, adopted: boolean) {
    super();
    this.#h = h;
    this.#opts = opts;
    this.#adopted = adopted;
    this.#counters = new CounterReader(call('counters', () => h.counters()));
  }

  /** Opens (creates) the TUN with one queue per worker, its raw GRE sockets and threads. */
  static open(opts: DataplaneOptions): Dataplane {
    if (typeof opts !== 'object' || opts === null) throw argError('Dataplane.open: options object required');
    if (typeof opts.tun !== 'string' || !IFNAME_RE.test(opts.tun))
      throw argError(`tun '${String(opts.tun)}': an interface name of 1-15 characters [A-Za-z0-9_.-]`);
    const [wMin, wMax] = LIMITS.workers;
    if (!Number.isInteger(opts.workers) || opts.workers < wMin || opts.workers > wMax)
      throw argError(`workers must be an integer ${wMin}..${wMax}`);
    const mtu = opts.mtu ?? 1500;
    if (!Number.isInteger(mtu) || mtu < 1280 || mtu > 65535) throw argError('mtu must be 1280..65535');
    const underlay = opts.underlay ?? {};
    const native: Parameters<typeof makeHandle>[0] = {
      tun: opts.tun,
      workers: opts.workers,
      mtu,
      persistent: opts.persistent ?? false,
      offload: opts.offload ?? true,
      directTx: opts.directTx ?? true,
    };
    if (underlay.local !== undefined) {
      const b = parseIp(underlay.local);
      if (!b || b.length !== 4) throw argError(`underlay.local '${underlay.local}' is not an IPv4 address`);
      native.local4 = b;
    }
    if (underlay.local6 !== undefined) {
      const b = parseIp(underlay.local6);
      if (!b || b.length !== 16)
        throw argError(`underlay.local6 '${underlay.local6}' is not an IPv6 address`);
      native.local6 = b;
    }
    // A TUN that is there already is attached to (TUNSETIFF on an existing name): its
    // addresses and routes are adopted, see removeLeftovers().
    const adopted = existsSync(`/sys/class/net/${opts.tun}`);
    let dp: Dataplane | undefined;
    const h = makeHandle(native, (index, up) => {
      if (dp) dp.#onState(index, up);
    });
    dp = new Dataplane(h, { ...opts, underlay }, adopted);
    return dp;
  }

  #onState(index: number, up: boolean): void {
    const e = this.#byIndex.get(index);
    if (e) this.emit('tunnel-state', { name: e.spec.name, up });
  }

  #live(): void {
    if (this.#closed) throw new GredgeError('ERR_DATAPLANE_CLOSED', 'the data plane is closed');
  }

  get tun(): string {
    return this.#opts.tun;
  }

  /** Whether TUN offloads (TSO in, GRO out) are in use. */
  get offload(): boolean {
    this.#live();
    return this.#h.info().offload;
  }

  /** Whether direct transmit (AF_PACKET on the underlay device) is available. */
  get directTx(): boolean {
    this.#live();
    return this.#h.info().directTx;
  }

  tunnelNames(): string[] {
    return [...this.#byName.keys()];
  }

  /** How many tunnels the data plane has. */
  get tunnelCount(): number {
    return this.#byName.size;
  }

  /** Whether the data plane has tunnel `name` (a constant-time test; tunnelNames() copies all). */
  hasTunnel(name: string): boolean {
    return this.#byName.has(name);
  }

  /** Adds a tunnel: GRE table entry, inner addresses on the TUN, inner subnets and static
   * routes into its LPM, and kernel routes for the static routes via the TUN. */
  addTunnel(t: TunnelSpec): void {
    this.#live();
    if (this.#byName.has(t?.name)) throw argError(`tunnel ${t.name} exists (use replaceTunnel)`);
    const plan = planTunnel(t, this.#opts.underlay);
    const index = call(`tunnel ${t.name}`, () => this.#h.addTunnel(plan.native));
    const entry: TunnelEntry = { index, spec: t, plan, baseline: this.#counters.tunnelRaw(index) };
    this.#byName.set(t.name, entry);
    this.#byIndex.set(index, entry);
    try {
      this.#applyKernel(plan, undefined, index);
    } catch (err) {
      this.removeTunnel(t.name);
      throw err;
    }
  }

  /** Changes a tunnel in place (same index, counters and sequence state kept). */
  replaceTunnel(t: TunnelSpec): void {
    this.#live();
    const old = this.#byName.get(t?.name);
    if (!old) throw argError(`no tunnel named ${String(t?.name)}`);
    const plan = planTunnel(t, this.#opts.underlay);
    call(`tunnel ${t.name}`, () => this.#h.replaceTunnel(old.index, plan.native));
    const oldPlan = old.plan;
    old.spec = t;
    old.plan = plan;
    this.#applyKernel(plan, oldPlan, old.index);
  }

  removeTunnel(name: string): void {
    this.#live();
    const e = this.#byName.get(name);
    if (!e) throw argError(`no tunnel named ${String(name)}`);
    // The addon drops every LPM route into the tunnel with it.
    call(`tunnel ${name}`, () => this.#h.removeTunnel(e.index));
    this.#byName.delete(name);
    this.#byIndex.delete(e.index);
    this.#undoKernel(e.plan, undefined);
  }

  #applyKernel(plan: TunnelPlan, old: TunnelPlan | undefined, index: number): void {
    const key = (p: ParsedPrefix) => `${p.bytes.join('.')}/${p.len}`;
    // Re-inserting an existing LPM entry is a no-op, so a replace simply adds them all.
    const lpm = [...plan.subnets, ...plan.routes];
    if (lpm.length) call('tunnel routes', () => this.#h.addRoutes(packRoutes(lpm.map((p) => [p, index]))));
    if (old) this.#undoKernel(old, plan);
    const oldAddr = new Set((old?.addresses ?? []).map(key));
    plan.addresses.forEach((a, i) => {
      if (!oldAddr.has(key(a)))
        call('TUN address', () => this.#h.address(true, a.family, a.bytes, a.len, true));
      // The inner subnet's kernel route carries the tunnel MTU (instead of the TUN's), so TCP to
      // the far end — the customer's BGP session — negotiates an MSS that fits the tunnel.
      const s = plan.subnets[i]!;
      call('kernel route', () =>
        this.#h.route(true, s.family, s.bytes, s.len, MAIN_TABLE, plan.native.mtu, a.bytes),
      );
    });
    const oldRoutes = new Set((old?.routes ?? []).map(key));
    for (const r of plan.routes)
      if (!oldRoutes.has(key(r))) call('kernel route', () => this.#h.route(true, r.family, r.bytes, r.len));
  }

  /** Undoes the kernel side and LPM entries of `plan` that `keep` does not also have. */
  #undoKernel(plan: TunnelPlan, keep: TunnelPlan | undefined): void {
    const key = (p: ParsedPrefix) => `${p.bytes.join('.')}/${p.len}`;
    const keepAddr = new Set((keep?.addresses ?? []).map(key));
    const keepPfx = new Set([...(keep?.subnets ?? []), ...(keep?.routes ?? [])].map(key));
    const keepRoutes = new Set((keep?.routes ?? []).map(key));
    if (keep) {
      const gone = [...plan.subnets, ...plan.routes].filter((p) => !keepPfx.has(key(p)));
      if (gone.length) call('tunnel routes', () => this.#h.removeRoutes(packRoutes(gone.map((p) => [p, 0]))));
    }
    for (const r of plan.routes)
      if (!keepRoutes.has(key(r))) call('kernel route', () => this.#h.route(false, r.family, r.bytes, r.len));
    plan.addresses.forEach((a, i) => {
      if (keepAddr.has(key(a))) return;
      const s = plan.subnets[i]!;
      call('kernel route', () => this.#h.route(false, s.family, s.bytes, s.len));
      call('TUN address', () => this.#h.address(false, a.family, a.bytes, a.len));
    });
  }

  /** Whether the TUN existed before open (an earlier instance's, adopted). */
  get adopted(): boolean {
    return this.#adopted;
  }

  /**
   * Crash safety for a TUN that outlived an earlier instance (`persistent`, or kill -9 of one
   * that was): once the configured tunnels are added (an address or route that exists already
   * is replaced by the kernel, never doubled), the addresses on the TUN and the routes through
   * it in `main` that no tunnel has any more are removed. Only what the data plane itself would
   * have made goes: IPv6 link-local addresses (the kernel's own) and routes of any protocol
   * other than RTPROT_STATIC (an operator's `ip route add … dev TUN`) stay. Does nothing on a
   * TUN this instance created. Returns what it removed.
   */
  async removeLeftovers(): Promise<Leftovers> {
    this.#live();
    const out: Leftovers = { addresses: [], routes: [] };
    if (!this.#adopted) return out;
    const key = (family: number, b: Uint8Array, len: number) => `${family}|${b.join('.')}/${len}`;
    const wantAddr = new Set<string>();
    const wantRoute = new Set<string>();
    for (const { plan } of this.#byName.values()) {
      for (const a of plan.addresses) wantAddr.add(key(a.family, a.bytes, a.len));
      for (const r of [...plan.subnets, ...plan.routes])
        wantRoute.add(key(r.family, maskBytes(r.bytes, r.len), r.len));
    }
    // The TUN is up with queues attached by now, which is what os.networkInterfaces() lists.
    for (const a of networkInterfaces()[this.#opts.tun] ?? []) {
      const p = parsePrefix(a.cidr ?? '', false);
      if (typeof p === 'string') continue;
      if (p.family === 6 && p.bytes[0] === 0xfe && (p.bytes[1]! & 0xc0) === 0x80) continue;
      if (wantAddr.has(key(p.family, p.bytes, p.len))) continue;
      call('TUN address', () => this.#h.address(false, p.family, p.bytes, p.len));
      out.addresses.push(a.cidr!);
    }
    const ifindex = tunIfindex(this.#opts.tun);
    const w = new NetlinkWriter(RTPROT_STATIC);
    try {
      for (const fam of [4, 6] as const) {
        const have = await w.dumpRoutes(fam, MAIN_TABLE);
        for (let i = 0; i < have.length / FIB_RECORD; i++) {
          const r = readRecord(have, i);
          if (ifindex === 0 || r.oif !== ifindex || wantRoute.has(key(fam, r.dst, r.len))) continue;
          call('kernel route', () => this.#h.route(false, fam, r.dst, r.len));
          out.routes.push(formatPrefix(r.dst, r.len));
        }
      }
    } finally {
      w.close();
    }
    return out;
  }

  /** Adds (or moves) routes into tunnels' LPM tables in one batch; returns how many. Does not
   * touch kernel routing tables (the FIB owns those). */
  addRoutes(routes: RouteEntry[]): number {
    this.#live();
    if (!Array.isArray(routes)) throw argError('addRoutes: expected an array of { prefix, tunnel }');
    const recs = packRouteEntries(routes, (n) => this.#byName.get(n)?.index, 'addRoutes');
    return call('addRoutes', () => this.#h.addRoutes(recs));
  }

  /** Removes routes from the LPM tables; returns how many existed. */
  removeRoutes(prefixes: string[]): number {
    this.#live();
    if (!Array.isArray(prefixes)) throw argError('removeRoutes: expected an array of prefixes');
    const recs = packPrefixList(prefixes, 'removeRoutes');
    return call('removeRoutes', () => this.#h.removeRoutes(recs));
  }

  /** The addon's index of a tunnel (the FIB packs it into LPM records), or undefined. */
  tunnelIndex(name: string): number | undefined {
    return this.#byName.get(name)?.index;
  }

  /**
   * LPM changes already packed as 24-byte records (route-pack.ts; the FIB builds them from the
   * RIB's prefix keys): `add` inserts or moves each prefix to its record's tunnel, otherwise
   * each prefix is removed. Returns how many were changed.
   */
  applyRoutes(records: Uint8Array, add: boolean): number {
    this.#live();
    if (records.length % ROUTE_RECORD !== 0) throw argError('applyRoutes: records must be 24 bytes each');
    if (records.length === 0) return 0;
    return call('applyRoutes', () => (add ? this.#h.addRoutes(records) : this.#h.removeRoutes(records)));
  }

  /** The tunnel the LPM picks for an inner destination, or undefined. */
  lookup(address: string): string | undefined {
    this.#live();
    const b = parseIp(address);
    if (!b) throw argError(`lookup: '${address}' is not an IP address`);
    const idx = this.#h.lookup(b);
    return idx < 0 ? undefined : this.#byIndex.get(idx)?.spec.name;
  }

  routeCount(): { v4: number; v6: number } {
    this.#live();
    return this.#h.routeCount();
  }

  /**
   * LPM routes into tunnel `name` that its config put there (inner subnets and `routes`), by
   * family; the FIB's routes into it are the FIB's to count (Fib.tunnelRoutesOf).
   */
  configRouteCount(name: string): { v4: number; v6: number } {
    const e = this.#byName.get(name);
    if (!e) throw argError(`no tunnel named ${String(name)}`);
    const c = { v4: 0, v6: 0 };
    for (const p of e.plan.subnets) p.family === 4 ? c.v4++ : c.v6++;
    for (const p of e.plan.routes) p.family === 4 ? c.v4++ : c.v6++;
    return c;
  }

  counters(): DataplaneCounters {
    this.#live();
    const tunnels: Record<string, TunnelCounters> = {};
    for (const [name, e] of this.#byName) tunnels[name] = this.#counters.tunnel(e.index, e.baseline);
    return { global: this.#counters.global(), tunnels };
  }

  /** The data plane's own counters without the per-tunnel ones (counters() reads every tunnel). */
  globalCounters(): GlobalCounters {
    this.#live();
    return this.#counters.global();
  }

  tunnelCounters(name: string): TunnelCounters {
    this.#live();
    const e = this.#byName.get(name);
    if (!e) throw argError(`no tunnel named ${String(name)}`);
    return this.#counters.tunnel(e.index, e.baseline);
  }

  /**
   * Makes the TUN persistent (or not) from now on, whatever the config said at open: a planned
   * graceful restart leaves the TUN, its addresses and the kernel routes into it to the next
   * start, which adopts them (and sets the flag back to what its config says).
   */
  setPersistent(persist: boolean): void {
    this.#live();
    this.#h.setPersistent(persist);
  }

  /** Stops the workers and closes the TUN (the kernel removes it unless persistent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#h.close();
    this.removeAllListeners();
  }
}

function tunIfindex(name: string): number {
  try {
    return Number(readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8').trim()) || 0;
  } catch {
    return 0;
  }
}

function makeHandle(
  opts: ConstructorParameters<ReturnType<typeof loadNative>['NativeDataplane']>[0],
  onEvent: (index: number, up: boolean) => void,
): NativeDataplaneHandle {
  const native = loadNative();
  return call(`open TUN ${opts.tun}`, () => new native.NativeDataplane(opts, onEvent));
}

function packRoutes(recs: [ParsedPrefix, number][]): Uint8Array {
  const out = new Uint8Array(recs.length * 24);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < recs.length; i++) {
    const [p, idx] = recs[i]!;
    const o = i * 24;
    out[o] = p.family;
    out[o + 1] = p.len;
    dv.setUint32(o + 4, idx, true);
    out.set(p.bytes, o + 8);
  }
  return out;
}

/** Sets TCP_MAXSEG on a connected or listening socket's fd (the BGP session inside a tunnel). */
export function setTcpMaxSeg(fd: number, mss: number): void {
  if (!Number.isInteger(fd) || fd < 0) throw argError('setTcpMaxSeg: fd must be a non-negative integer');
  if (!Number.isInteger(mss) || mss < 88 || mss > 65495)
    throw argError('setTcpMaxSeg: mss must be 88..65495');
  call('setTcpMaxSeg', () => loadNative().setTcpMaxSeg(fd, mss));
}
