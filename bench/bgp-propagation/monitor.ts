/**
 * The monitor's counter: holds the set of IPv4 prefixes it has been sent, by walking the
 * withdrawn-routes and NLRI fields of each UPDATE body (RFC 4271 §4.3) without decoding
 * attributes. /17–/24 live in one byte per /24 slot (a bit per length), anything else in a Set;
 * no allocation per prefix. Also keeps the first UPDATE's attributes for a sanity check.
 */
export class PrefixCounter {
  count = 0;
  updates = 0;
  withdrawn = 0;
  firstAttrs: Buffer | undefined;
  readonly #slots = new Uint8Array(1 << 24);
  readonly #other = new Set<number>();
  #target = Number.POSITIVE_INFINITY;
  #done: (() => void) | undefined;

  /** Resolves when `n` distinct prefixes are held. */
  whenHolding(n: number): Promise<void> {
    this.#target = n;
    return new Promise((resolve) => {
      this.#done = resolve;
      this.#check();
    });
  }

  #check(): void {
    if (this.count >= this.#target && this.#done) {
      const d = this.#done;
      this.#done = undefined;
      d();
    }
  }

  /** Body of one UPDATE: buf[off .. off+len). */
  update(buf: Buffer, off: number, len: number): void {
    this.updates++;
    const end = off + len;
    const wlen = buf.readUInt16BE(off);
    let p = off + 2;
    this.#walk(buf, p, p + wlen, false);
    p += wlen;
    const alen = buf.readUInt16BE(p);
    p += 2;
    if (!this.firstAttrs && alen > 0 && p + alen < end)
      this.firstAttrs = Buffer.from(buf.subarray(p, p + alen));
    p += alen;
    this.#walk(buf, p, end, true);
    this.#check();
  }

  #walk(buf: Buffer, p: number, end: number, add: boolean): void {
    while (p < end) {
      const plen = buf[p++]!;
      const nbytes = (plen + 7) >>> 3;
      let a = 0;
      for (let k = 0; k < 4; k++) a = a * 256 + (k < nbytes ? buf[p + k]! : 0);
      p += nbytes;
      if (!add) this.withdrawn++;
      if (plen >= 17 && plen <= 24) {
        const slot = a >>> 8;
        const bit = 1 << (plen - 17);
        const had = (this.#slots[slot]! & bit) !== 0;
        if (add && !had) {
          this.#slots[slot]! |= bit;
          this.count++;
        } else if (!add && had) {
          this.#slots[slot]! &= ~bit;
          this.count--;
        }
      } else {
        const key = a * 64 + plen;
        if (add && !this.#other.has(key)) {
          this.#other.add(key);
          this.count++;
        } else if (!add && this.#other.delete(key)) this.count--;
      }
    }
  }
}

/** AS_PATH ASNs and NEXT_HOP from an attribute block (4-octet AS session), for the sanity line. */
export function describeAttrs(a: Buffer): { asPath: number[]; nextHop: string } {
  let p = 0;
  const out = { asPath: [] as number[], nextHop: '' };
  while (p + 3 <= a.length) {
    const flags = a[p]!;
    const type = a[p + 1]!;
    const ext = (flags & 0x10) !== 0;
    const len = ext ? a.readUInt16BE(p + 2) : a[p + 2]!;
    const v = p + (ext ? 4 : 3);
    if (type === 2) {
      for (let q = v; q + 2 <= v + len; ) {
        const n = a[q + 1]!;
        for (let k = 0; k < n; k++) out.asPath.push(a.readUInt32BE(q + 2 + 4 * k));
        q += 2 + 4 * n;
      }
    } else if (type === 3 && len === 4) out.nextHop = [...a.subarray(v, v + 4)].join('.');
    p = v + len;
  }
  return out;
}
