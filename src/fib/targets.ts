/**
 * Where a best path sends packets: into a customer's tunnel (the route came from the BGP session
 * that runs inside that tunnel, or its next hop is the far end of the tunnel's inner subnet), or
 * to a gateway (the BGP next hop of a peer, transit or internal route). Pure: built once from the
 * config, asked once per best-path change; the FIB turns targets into tunnel-LPM entries and
 * kernel routes.
 */
import { parseIpv4, parseIpv6 } from '../bgp/wire/prefix.js';
import type { Family, PathAttributes } from '../bgp/wire/types.js';
import type { Config } from '../config/types.js';

export type Target =
  | { kind: 'tunnel'; tunnel: string }
  | { kind: 'gateway'; family: Family; address: Uint8Array }
  /** No usable next hop: the route cannot be forwarded (counted by the FIB). */
  | { kind: 'none' };

type TunnelConfig = Config['tunnels'][number];

interface Subnet {
  tunnel: string;
  bytes: Uint8Array;
  len: number;
  /** Our own address in it: a route "via" us is not a route into the tunnel. */
  ours: Uint8Array;
}

function inSubnet(a: Uint8Array, s: Subnet): boolean {
  if (a.length !== s.bytes.length) return false;
  const whole = s.len >> 3;
  for (let i = 0; i < whole; i++) if (a[i] !== s.bytes[i]) return false;
  const rest = s.len & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (a[whole]! & mask) === (s.bytes[whole]! & mask);
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function v4Bytes(n: number): Uint8Array {
  return Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

function nextHopOf(family: Family, a: Readonly<PathAttributes>): Uint8Array | undefined {
  if (family === 'ipv4-unicast') return a.nextHop !== undefined ? v4Bytes(a.nextHop) : undefined;
  return a.nextHop6?.global;
}

/** `addr/len` of an interface address (config-checked): its bytes, length and network. */
function subnetOf(tunnel: string, cidr: string): Subnet | undefined {
  const [addr, lenText] = cidr.split('/') as [string, string];
  const len = Number(lenText);
  const v4 = parseIpv4(addr);
  const ours = v4 !== undefined ? v4Bytes(v4) : parseIpv6(addr);
  if (ours === undefined) return undefined;
  return { tunnel, bytes: ours, len, ours };
}

/** Same tunnel, address and length: what told two subnets apart when they were compared as text. */
function sameSubnet(a: Subnet | undefined, b: Subnet | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.tunnel === b.tunnel && a.len === b.len && equal(a.bytes, b.bytes);
}

/**
 * `a`'s first `len` bits as a map key: a number for 4 bytes, a string otherwise. An address in a
 * subnet of length `len` gets the subnet's key (a key shared by an address of another size or
 * outside the subnet is weeded out by inSubnet).
 */
function netKey(a: Uint8Array, len: number): number | string {
  if (a.length === 4) {
    const n = ((a[0]! << 24) | (a[1]! << 16) | (a[2]! << 8) | a[3]!) >>> 0;
    if (len >= 32) return n;
    return len <= 0 ? 0 : (n & (~0 << (32 - len))) >>> 0;
  }
  const whole = Math.min(len >> 3, a.length);
  let s = String.fromCharCode(a.length);
  for (let i = 0; i < whole; i++) s += String.fromCharCode(a[i]!);
  const rest = len & 7;
  if (rest !== 0 && whole < a.length) s += String.fromCharCode(a[whole]! & ((0xff << (8 - rest)) & 0xff));
  return s;
}

/**
 * The inner subnets of one family, found by next hop without a scan of them all: per prefix
 * length present (a handful: /30, /31, /64, /127), the subnets by network, so a next hop is
 * masked and looked up once per length. Of several subnets holding it (overlapping inner
 * subnets, which the config checks refuse) the first in config order wins, as it did when every
 * best path scanned the list.
 */
class SubnetIndex {
  readonly #byLen = new Map<number, Map<number | string, Subnet[]>>();
  /** The lengths present, longest first. */
  #lens: number[] = [];

  add(s: Subnet): void {
    let m = this.#byLen.get(s.len);
    if (m === undefined) {
      this.#byLen.set(s.len, (m = new Map()));
      this.#lens = [...this.#byLen.keys()].sort((a, b) => b - a);
    }
    const k = netKey(s.bytes, s.len);
    const list = m.get(k);
    if (list === undefined) m.set(k, [s]);
    else list.push(s);
  }

  remove(s: Subnet): void {
    const m = this.#byLen.get(s.len);
    const k = netKey(s.bytes, s.len);
    const list = m?.get(k);
    const i = list?.indexOf(s) ?? -1;
    if (m === undefined || list === undefined || i < 0) return;
    list.splice(i, 1);
    if (list.length > 0) return;
    m.delete(k);
    if (m.size > 0) return;
    this.#byLen.delete(s.len);
    this.#lens = [...this.#byLen.keys()].sort((a, b) => b - a);
  }

  /** The subnet holding `nh` other than as our own address; of several, the least `orderOf`. */
  find(nh: Uint8Array, orderOf: (s: Subnet) => number): Subnet | undefined {
    let best: Subnet | undefined;
    for (const len of this.#lens) {
      const list = this.#byLen.get(len)!.get(netKey(nh, len));
      if (list === undefined) continue;
      for (const s of list) {
        if (!inSubnet(nh, s) || equal(nh, s.ours)) continue;
        if (best === undefined || orderOf(s) < orderOf(best)) best = s;
      }
    }
    return best;
  }

  get size(): number {
    let n = 0;
    for (const m of this.#byLen.values()) for (const l of m.values()) n += l.length;
    return n;
  }
}

/** One entry of a NamedList: the item as last taken, what was made of it, and where it stood. */
export interface Slot<T, E> {
  item: T;
  value: E;
  /** Its position in the list last taken. */
  order: number;
  /** The take that last met it by name. */
  seen: number;
}

/** A new, changed (both) or removed (`was` only) item of a NamedList.take. */
export interface Change<T, E> {
  was?: Slot<T, E>;
  now?: Slot<T, E>;
}

/**
 * A config list (tunnels, neighbors) as a module last took it, per name, with what the module
 * made of each item (parsed prefixes, rules, subnets), brought to a reloaded version at a cost
 * that follows what changed. An item is first compared with the one at the same position: the
 * very same object (the config loader hands back unchanged entries as they were) costs one
 * comparison and is not touched; else it is looked up by name and compared by the fields that
 * matter to the owner (`same`); only a new or changed one is made again (`make`). Names are
 * unique (the config checks see to it; a repeated name is skipped).
 */
export class NamedList<T extends { readonly name: string }, E> {
  readonly #byName = new Map<string, Slot<T, E>>();
  /** The list last taken (a copy, so that the caller may reuse its array) and its slots. */
  #items: readonly T[] = [];
  #slots: Array<Slot<T, E> | undefined> = [];
  #gen = 0;

  get(name: string): Slot<T, E> | undefined {
    return this.#byName.get(name);
  }

  get size(): number {
    return this.#byName.size;
  }

  /** Every slot, in the order of the list last taken. */
  slots(): Array<Slot<T, E>> {
    return this.#slots.filter((s): s is Slot<T, E> => s !== undefined && this.#byName.get(s.item.name) === s);
  }

  /**
   * Takes `next`: returns the new and changed items in its order, then the removed ones.
   * `same(slot, item)`: whether `item` changes nothing the slot's value was made of (it may
   * then update the value's references); `make(item, was)`: the value of a new or changed item.
   */
  take(
    next: readonly T[],
    same: (was: Slot<T, E>, item: T) => boolean,
    make: (item: T, was?: Slot<T, E>) => E,
  ): Array<Change<T, E>> {
    const gen = ++this.#gen;
    const prevItems = this.#items;
    const prevSlots = this.#slots;
    const slots = new Array<Slot<T, E> | undefined>(next.length);
    const changes: Array<Change<T, E>> = [];
    const had = this.#byName.size;
    let met = 0;
    for (let i = 0; i < next.length; i++) {
      const item = next[i]!;
      let s = prevSlots[i];
      if (s !== undefined && prevItems[i] === item) {
        slots[i] = s; // the same object where it was: nothing to do
        met++;
        continue;
      }
      if (s === undefined || s.item.name !== item.name) s = this.#byName.get(item.name);
      // A name met before in this list (by name, or as an unchanged object earlier in it).
      if (s !== undefined && (s.seen === gen || (s.order < i && next[s.order] === s.item))) continue;
      if (s !== undefined) {
        met++;
        if (same(s, item)) {
          s.item = item;
          s.order = i;
          s.seen = gen;
          slots[i] = s;
          continue;
        }
      }
      const now: Slot<T, E> = { item, value: make(item, s), order: i, seen: gen };
      this.#byName.set(item.name, now);
      slots[i] = now;
      changes.push(s !== undefined ? { was: s, now } : { now });
    }
    if (met < had) {
      for (const [name, s] of this.#byName) {
        if (s.seen === gen || next[s.order] === s.item) continue;
        this.#byName.delete(name);
        changes.push({ was: s });
      }
    }
    this.#items = next.slice();
    this.#slots = slots;
    return changes;
  }

  /** Gives `name` a new value made now (its item unchanged); returns the change, if it is there. */
  remake(name: string, make: (item: T, was: Slot<T, E>) => E): Change<T, E> | undefined {
    const was = this.#byName.get(name);
    if (was === undefined) return undefined;
    const now: Slot<T, E> = { item: was.item, value: make(was.item, was), order: was.order, seen: was.seen };
    this.#byName.set(name, now);
    if (this.#slots[was.order] === was) this.#slots[was.order] = now;
    return { was, now };
  }
}

/** Whether the target of a best path (its family, neighbor and attributes) may have changed. */
export type Retarget = (family: Family, neighbor: string, a: Readonly<PathAttributes>) => boolean;

type NeighborConfig = Config['neighbors'][number];

/**
 * Reloads of a resolver that its owner drives: the owner compares the config lists (one pass
 * each, shared with what else it makes of them) and hands over the changed entries.
 */
export interface ResolverChanges {
  /** Neighbors new, changed (their `tunnel` among others) or removed. */
  neighbors: ReadonlyArray<Change<Pick<NeighborConfig, 'name' | 'tunnel'>, unknown>>;
  /** Tunnels new, changed (their inner addresses among others) or removed. */
  tunnels: ReadonlyArray<Change<Pick<TunnelConfig, 'name' | 'inner'>, unknown>>;
}

export class TargetResolver {
  /** Neighbor name → the tunnel its session runs inside. */
  readonly #sessionTunnel = new Map<string, string>();
  /** Tunnel name → its inner subnets; and the subnets indexed by next hop, per family. */
  readonly #subnets = new Map<string, { s4: Subnet | undefined; s6: Subnet | undefined }>();
  readonly #index4 = new SubnetIndex();
  readonly #index6 = new SubnetIndex();
  /** Built from configs: the lists it compares them with (driven by its owner: none). */
  readonly #lists:
    | { neighbors: NamedList<NeighborConfig, undefined>; tunnels: NamedList<TunnelConfig, undefined> }
    | undefined;
  readonly #orderOf: (s: Subnet) => number;

  /**
   * From a config (reloaded with reconfigure), or, with `order` (a tunnel's position in its
   * owner's config) and no config, driven by its owner through update().
   */
  constructor(
    cfg: Pick<Config, 'neighbors' | 'tunnels'> | undefined,
    order?: (tunnel: string) => number | undefined,
  ) {
    const lists =
      order === undefined
        ? {
            neighbors: new NamedList<NeighborConfig, undefined>(),
            tunnels: new NamedList<TunnelConfig, undefined>(),
          }
        : undefined;
    this.#lists = lists;
    const at = order ?? ((name: string) => lists!.tunnels.get(name)?.order);
    this.#orderOf = (s) => at(s.tunnel) ?? Number.POSITIVE_INFINITY;
    if (cfg !== undefined) this.reconfigure(cfg);
  }

  /** The target of a best path learned from `neighbor` with attributes `a`. */
  resolve(family: Family, neighbor: string, a: Readonly<PathAttributes>): Target {
    const tunnel = this.#sessionTunnel.get(neighbor);
    if (tunnel !== undefined) return { kind: 'tunnel', tunnel };
    const nh = nextHopOf(family, a);
    if (nh === undefined) return { kind: 'none' };
    const s = (nh.length === 4 ? this.#index4 : this.#index6).find(nh, this.#orderOf);
    if (s !== undefined) return { kind: 'tunnel', tunnel: s.tunnel };
    // An IPv4 route whose next hop came in MP_REACH as IPv4-mapped IPv6 is still an IPv4 gateway.
    return { kind: 'gateway', family: nh.length === 4 ? 'ipv4-unicast' : 'ipv6-unicast', address: nh };
  }

  /** How many inner subnets the resolver holds, per family. */
  get subnets(): { v4: number; v6: number } {
    return { v4: this.#index4.size, v6: this.#index6.size };
  }

  /**
   * Takes a reloaded config. Returns undefined when no target can have changed, else which
   * best paths may have: those of a neighbor that moved into, out of or between tunnels, and
   * those whose next hop lies in an inner subnet that was added, removed or changed (old or
   * new). Everything else resolves as before, so a reload that adds one customer re-resolves
   * that customer's routes, not the full table. The cost follows what changed (NamedList):
   * only a changed tunnel's addresses are parsed again.
   */
  reconfigure(cfg: Pick<Config, 'neighbors' | 'tunnels'>): Retarget | undefined {
    const lists = this.#lists;
    if (lists === undefined) throw new Error('TargetResolver: driven by its owner (update)');
    return this.update({
      neighbors: lists.neighbors.take(
        cfg.neighbors,
        (was, n) => was.item.tunnel === n.tunnel,
        () => undefined,
      ),
      tunnels: lists.tunnels.take(
        cfg.tunnels,
        (was, t) => was.item.inner.local === t.inner.local && was.item.inner.local6 === t.inner.local6,
        () => undefined,
      ),
    });
  }

  /** reconfigure() for an owner that compared the lists itself (Fib.reconfigure). */
  update(changes: ResolverChanges): Retarget | undefined {
    const moved = new Set<string>();
    for (const { was, now } of changes.neighbors) {
      const name = (now ?? was)!.item.name;
      const tunnel = now?.item.tunnel;
      if (this.#sessionTunnel.get(name) === tunnel) continue;
      moved.add(name);
      if (tunnel !== undefined) this.#sessionTunnel.set(name, tunnel);
      else this.#sessionTunnel.delete(name);
    }
    const subnets: Subnet[] = [];
    for (const { was, now } of changes.tunnels) {
      const name = (now ?? was)!.item.name;
      const old = this.#subnets.get(name);
      const t = now?.item;
      const s4 = t?.inner.local !== undefined ? subnetOf(name, t.inner.local) : undefined;
      const s6 = t?.inner.local6 !== undefined ? subnetOf(name, t.inner.local6) : undefined;
      // Another spelling of the same address is no change (the subnet object stays).
      const next = {
        s4: sameSubnet(old?.s4, s4) ? old?.s4 : s4,
        s6: sameSubnet(old?.s6, s6) ? old?.s6 : s6,
      };
      for (const [index, a, b] of [
        [this.#index4, old?.s4, next.s4],
        [this.#index6, old?.s6, next.s6],
      ] as const) {
        if (a === b) continue;
        if (a !== undefined) {
          index.remove(a);
          subnets.push(a);
        }
        if (b !== undefined) {
          index.add(b);
          subnets.push(b);
        }
      }
      if (t !== undefined) this.#subnets.set(name, next);
      else this.#subnets.delete(name);
    }
    if (moved.size === 0 && subnets.length === 0) return undefined;
    return (family, neighbor, a) => {
      if (moved.has(neighbor)) return true;
      if (subnets.length === 0) return false;
      const nh = nextHopOf(family, a);
      return nh !== undefined && subnets.some((s) => inSubnet(nh, s));
    };
  }
}

export function sameTarget(a: Target | undefined, b: Target | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.kind !== b.kind) return false;
  if (a.kind === 'tunnel') return a.tunnel === (b as typeof a).tunnel;
  if (a.kind === 'gateway') return equal(a.address, (b as typeof a).address);
  return true;
}
