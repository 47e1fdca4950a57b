/**
 * What a customer or monitor was sent, counted cheaply from each UPDATE body (RFC 4271 §4.3,
 * RFC 4760 §3–4): IPv4 NLRI and withdrawn routes, IPv6 NLRI in MP_REACH_NLRI and withdrawals in
 * MP_UNREACH_NLRI. One loop step per prefix and no allocation, so a load generator with 1,000
 * sessions receiving a full table each stays cheap. Announcements are not deduplicated (a daemon
 * may send a prefix again, e.g. BIRD after resolving a recursive next hop): with a `Universe`,
 * the prefixes a bench knows it sent get one bit each, and `held` counts distinct ones.
 */

/**
 * Maps a prefix (NLRI at buf[p], length byte already read) to its index among the prefixes a bench
 * sent, or -1 for one it did not send.
 */
export interface Universe {
  size: number;
  index(buf: Buffer, p: number, plen: number, width: 4 | 16): number;
}
export class RouteCount {
  announced4 = 0;
  withdrawn4 = 0;
  announced6 = 0;
  withdrawn6 = 0;
  updates = 0;
  /** With a universe: distinct known prefixes held, and announcements of prefixes outside it. */
  held = 0;
  unknown = 0;
  readonly #u: Universe | undefined;
  readonly #bits: Uint8Array | undefined;
  #target = Number.POSITIVE_INFINITY;
  #done: (() => void) | undefined;

  constructor(universe?: Universe) {
    this.#u = universe;
    this.#bits = universe ? new Uint8Array((universe.size + 7) >>> 3) : undefined;
  }

  /** Announcements minus withdrawals, both families. */
  get net(): number {
    return this.announced4 - this.withdrawn4 + this.announced6 - this.withdrawn6;
  }

  get announced(): number {
    return this.announced4 + this.announced6;
  }

  /** Resolves once `announced` (or, with a universe, the distinct count) reaches `n`. */
  whenAt(n: number): Promise<void> {
    this.#target = n;
    return new Promise((resolve) => {
      this.#done = resolve;
      this.#check();
    });
  }

  get progress(): number {
    return this.#bits ? this.held : this.announced;
  }

  #check(): void {
    if (this.#done && this.progress >= this.#target) {
      const d = this.#done;
      this.#done = undefined;
      d();
    }
  }

  update(buf: Buffer, off: number, len: number): void {
    this.updates++;
    const end = off + len;
    const wlen = buf.readUInt16BE(off);
    let p = off + 2;
    this.withdrawn4 += this.#walk(buf, p, p + wlen, 4, false);
    p += wlen;
    const alen = buf.readUInt16BE(p);
    p += 2;
    const attrsEnd = p + alen;
    while (p + 3 <= attrsEnd) {
      const flags = buf[p]!;
      const type = buf[p + 1]!;
      const ext = (flags & 0x10) !== 0;
      const vlen = ext ? buf.readUInt16BE(p + 2) : buf[p + 2]!;
      const v = p + (ext ? 4 : 3);
      if ((type === 14 || type === 15) && buf.readUInt16BE(v) === 2 && buf[v + 2] === 1) {
        if (type === 14) {
          // AFI, SAFI, next hop length, next hop, reserved octet, then NLRI.
          const nlri = v + 4 + buf[v + 3]! + 1;
          this.announced6 += this.#walk(buf, nlri, v + vlen, 16, true);
        } else this.withdrawn6 += this.#walk(buf, v + 3, v + vlen, 16, false);
      }
      p = v + vlen;
    }
    this.announced4 += this.#walk(buf, attrsEnd, end, 4, true);
    this.#check();
  }

  /** Counts the prefixes in buf[p, end); with `held`, adds or removes each. */
  #walk(buf: Buffer, p: number, end: number, width: 4 | 16, add: boolean): number {
    let n = 0;
    const bits = this.#bits;
    while (p < end) {
      const plen = buf[p]!;
      const bytes = (plen + 7) >>> 3;
      if (bits) {
        const i = this.#u!.index(buf, p + 1, plen, width);
        if (i < 0) {
          if (add) this.unknown++;
        } else {
          const had = (bits[i >>> 3]! >>> (i & 7)) & 1;
          if (add && !had) {
            bits[i >>> 3]! |= 1 << (i & 7);
            this.held++;
          } else if (!add && had) {
            bits[i >>> 3]! &= ~(1 << (i & 7));
            this.held--;
          }
        }
      }
      p += 1 + bytes;
      n++;
    }
    return n;
  }
}
