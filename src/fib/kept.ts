/**
 * Graceful restart, the restarting side (RFC 4724 §4.1; docs/graceful-restart.md): the routes an
 * earlier instance of gredged left in the kernel tables, kept where they are while the RIB
 * selects its best paths again. Read once from the start-up dump. While the restart lasts the
 * FIB asks, per prefix and table, whether the route there is still the earlier instance's; then
 * it leaves it alone (no churn toward an intermediate best path, and no deletion of a route not
 * yet learned again). When the restart is done every kept prefix is handed back whole: written
 * from the new RIB (a route replace: never absent meanwhile) or deleted.
 *
 * IPv4 keys sorted in a Float64Array with a byte of table bits each (9 bytes a prefix, binary
 * search; a full table is a million), IPv6 in a Map.
 */
import { prefix6 } from '../bgp/wire/prefix.js';
import type { Family, Prefix4, Prefix6 } from '../bgp/wire/types.js';
import type { ChangedPrefixes } from '../rib/rib.js';
import { FIB_RECORD } from './records.js';

/** One table's dump (records of the writer's layout) and the bit standing for that table. */
export interface KeptDump {
  bit: number;
  records: Uint8Array;
}

export class KeptRoutes {
  readonly #v4: Float64Array;
  readonly #bits4: Uint8Array;
  readonly #v6 = new Map<Prefix6, number>();
  /** Routes (prefix × table) kept. */
  readonly size: number;

  /** From the dumps of both tables, both families. */
  constructor(dumps: readonly KeptDump[]) {
    let n4 = 0;
    let size = 0;
    for (const d of dumps)
      for (let o = 0; o < d.records.length; o += FIB_RECORD) if (d.records[o + 1] !== 6) n4++;
    // IPv4: (address, length × 4 + table bit), radix-sorted (a comparison sort of 2M doubles
    // takes a second here), then one entry per prefix with its table bits.
    let addr: Uint32Array = new Uint32Array(n4);
    let lo: Uint8Array = new Uint8Array(n4);
    let i = 0;
    for (const d of dumps) {
      const r = d.records;
      for (let o = 0; o < r.length; o += FIB_RECORD) {
        const len = r[o + 2]!;
        size++;
        if (r[o + 1] === 6) {
          const key = prefix6(r.subarray(o + 16, o + 32), len);
          this.#v6.set(key, (this.#v6.get(key) ?? 0) | d.bit);
          continue;
        }
        addr[i] = ((r[o + 16]! << 24) | (r[o + 17]! << 16) | (r[o + 18]! << 8) | r[o + 19]!) >>> 0;
        lo[i++] = len * 4 + d.bit;
      }
    }
    [addr, lo] = radixSort(addr, lo);
    const keys = new Float64Array(n4);
    const bits = new Uint8Array(n4);
    let m = 0;
    for (let j = 0; j < n4; j++) {
      const key = addr[j]! * 64 + (lo[j]! >> 2);
      const bit = lo[j]! & 3;
      if (m > 0 && keys[m - 1] === key) bits[m - 1]! |= bit;
      else {
        keys[m] = key;
        bits[m++] = bit;
      }
    }
    this.#v4 = keys.subarray(0, m);
    this.#bits4 = bits.subarray(0, m);
    this.size = size;
  }

  /** The families with a kept route: those whose forwarding state survived (the F bit). */
  get families(): Family[] {
    const out: Family[] = [];
    if (this.#v4.length > 0) out.push('ipv4-unicast');
    if (this.#v6.size > 0) out.push('ipv6-unicast');
    return out;
  }

  /** Whether the earlier instance's route for `key` is in the table `bit` stands for. */
  has(v6: boolean, key: Prefix4 | Prefix6, bit: number): boolean {
    if (v6) return ((this.#v6.get(key as Prefix6) ?? 0) & bit) !== 0;
    const k = key as Prefix4;
    const a = this.#v4;
    let lo = 0;
    let hi = a.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = a[mid]!;
      if (v === k) return (this.#bits4[mid]! & bit) !== 0;
      if (v < k) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }

  /** Every kept prefix, once. */
  keys(): ChangedPrefixes {
    return { v4: Array.from(this.#v4), v6: [...this.#v6.keys()] };
  }
}

/** Sorts (addr, lo) pairs by addr, then lo: five stable counting passes, lo's byte first. */
function radixSort(addr: Uint32Array, lo: Uint8Array): [Uint32Array, Uint8Array] {
  const n = addr.length;
  let a = addr;
  let l = lo;
  let a2: Uint32Array = new Uint32Array(n);
  let l2: Uint8Array = new Uint8Array(n);
  const count = new Uint32Array(256);
  const digits = new Uint8Array(n);
  for (let pass = 0; pass < 5; pass++) {
    if (pass === 0) digits.set(l);
    else {
      const shift = (pass - 1) * 8;
      for (let j = 0; j < n; j++) digits[j] = a[j]! >>> shift;
    }
    count.fill(0);
    for (let j = 0; j < n; j++) count[digits[j]!]!++;
    let sum = 0;
    for (let d = 0; d < 256; d++) {
      const c = count[d]!;
      count[d] = sum;
      sum += c;
    }
    for (let j = 0; j < n; j++) {
      const k = count[digits[j]!]!++;
      a2[k] = a[j]!;
      l2[k] = l[j]!;
    }
    const ta = a;
    a = a2;
    a2 = ta;
    const tl = l;
    l = l2;
    l2 = tl;
  }
  return [a, l];
}
