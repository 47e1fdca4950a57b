/**
 * The one bounds-checked reader over a Uint8Array (OpenBGPD's ibuf_get_* idea) and a small
 * growable writer for the non-hot encoders. A read past `end` never throws and never reads
 * outside the window: it returns 0 (or an empty view) and sets `failed`, so a decoder can read a
 * whole structure and check once.
 */

export class ByteReader {
  readonly buf: Uint8Array;
  pos: number;
  end: number;
  failed = false;

  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start < 0 ? 0 : start;
    this.end = end > buf.length ? buf.length : end;
    if (this.pos > this.end) this.pos = this.end;
  }

  get left(): number {
    return this.end - this.pos;
  }

  has(n: number): boolean {
    return this.end - this.pos >= n;
  }

  u8(): number {
    if (this.pos + 1 > this.end) return this.#fail();
    return this.buf[this.pos++]!;
  }

  u16(): number {
    if (this.pos + 2 > this.end) return this.#fail();
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 2;
    return (b[p]! << 8) | b[p + 1]!;
  }

  u32(): number {
    if (this.pos + 4 > this.end) return this.#fail();
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
  }

  /** A view (not a copy) of the next n bytes. */
  view(n: number): Uint8Array {
    if (n < 0 || this.pos + n > this.end) {
      this.#fail();
      return this.buf.subarray(this.end, this.end);
    }
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** A copy of the next n bytes, safe to keep after the input buffer is reused. */
  bytes(n: number): Uint8Array {
    return this.view(n).slice();
  }

  skip(n: number): void {
    if (n < 0 || this.pos + n > this.end) {
      this.#fail();
      return;
    }
    this.pos += n;
  }

  #fail(): number {
    this.failed = true;
    this.pos = this.end;
    return 0;
  }
}

/** Growable writer for OPEN, NOTIFICATION, attributes; packers use exact-size buffers instead. */
export class ByteWriter {
  buf: Uint8Array;
  pos = 0;

  constructor(size = 256) {
    this.buf = new Uint8Array(size);
  }

  #room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  u8(v: number): void {
    this.#room(1);
    this.buf[this.pos++] = v & 0xff;
  }

  u16(v: number): void {
    this.#room(2);
    this.buf[this.pos++] = (v >>> 8) & 0xff;
    this.buf[this.pos++] = v & 0xff;
  }

  u32(v: number): void {
    this.#room(4);
    const b = this.buf;
    b[this.pos++] = (v >>> 24) & 0xff;
    b[this.pos++] = (v >>> 16) & 0xff;
    b[this.pos++] = (v >>> 8) & 0xff;
    b[this.pos++] = v & 0xff;
  }

  bytes(v: Uint8Array): void {
    this.#room(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }

  /** Overwrite a 16-bit field written earlier (a length known only afterwards). */
  patch16(at: number, v: number): void {
    this.buf[at] = (v >>> 8) & 0xff;
    this.buf[at + 1] = v & 0xff;
  }

  /** Exact-size copy of what was written. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}
