/**
 * Seeded generator of hostile input for Established sessions: random bytes, valid UPDATEs with
 * flipped bits, truncated bodies, corrupted length fields, bad markers and types, odd but valid
 * UPDATEs (IPv6 MP attributes, AS_SET, unknown optional attributes, End-of-RIB, default route),
 * ROUTE-REFRESH of every shape, out-of-state OPENs. Each message comes with the action the RFCs
 * require of the session, decided by the codec's header and body checks (the session's job under
 * test is to carry that decision out: NOTIFICATION code/subcode and close, or carry on).
 */
import {
  type CodecContext,
  decodeRouteRefresh,
  decodeUpdate,
  encodeOpen,
  MessageType,
  parseHeader,
} from '../../src/bgp/wire/index.js';
import { fakeOpen } from '../fakes/fake-peer.js';

export type Expect =
  | { kind: 'ok'; refresh?: boolean } // no reset; refresh: a ROUTE-REFRESH the channel must see
  | { kind: 'reset'; code: number; subcode: number }
  | { kind: 'peer-notification' }; // we sent a NOTIFICATION: the session ends quietly

export interface Generated {
  bytes: Uint8Array;
  expect: Expect;
  label: string;
  /** Whether extended messages were negotiated in the context the expectation was made for. */
  extended: boolean;
}

/** mulberry32: small, fast, good enough for fuzzing, reproducible from a 32-bit seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

export class SessionFuzzer {
  readonly #r: () => number;
  ctx: CodecContext;
  constructor(seed: number, ctx: CodecContext) {
    this.#r = prng(seed);
    this.ctx = ctx;
  }

  #int(n: number): number {
    return Math.floor(this.#r() * n);
  }
  #pick<T>(xs: readonly T[]): T {
    return xs[this.#int(xs.length)]!;
  }
  #bytes(n: number): number[] {
    const b: number[] = [];
    for (let i = 0; i < n; i++) b.push(this.#int(256));
    return b;
  }

  get maxLength(): number {
    return this.ctx.extendedMessage ? 65535 : 4096;
  }

  /** One message and its expected outcome. */
  next(): Generated {
    const x = this.#r();
    let g: { bytes: Uint8Array; label: string };
    // Weights keep about one message in six session-resetting: each reset costs a reconnection.
    if (x < 0.55) g = { bytes: this.#validUpdate(), label: 'odd-but-valid UPDATE' };
    else if (x < 0.67) g = { bytes: this.#flip(this.#validUpdate()), label: 'bit-flipped UPDATE' };
    else if (x < 0.7) g = { bytes: this.#truncate(this.#validUpdate()), label: 'truncated UPDATE' };
    else if (x < 0.72)
      g = { bytes: this.#wrongInnerLength(this.#validUpdate()), label: 'wrong inner length' };
    else if (x < 0.735)
      g = { bytes: this.#framed(2, this.#bytes(this.#int(60))), label: 'random UPDATE body' };
    else if (x < 0.84) g = { bytes: this.#framed(4, []), label: 'KEEPALIVE' };
    else if (x < 0.95) g = { bytes: this.#routeRefresh(), label: 'ROUTE-REFRESH' };
    else if (x < 0.965) g = { bytes: this.#badHeader(), label: 'bad header' };
    else if (x < 0.975)
      g = { bytes: Uint8Array.from(this.#bytes(19 + this.#int(40))), label: 'random bytes' };
    else if (x < 0.985)
      g = { bytes: encodeOpen(fakeOpen({ asn: 65001, bgpId: '127.0.0.52' })), label: 'OPEN' };
    else if (x < 0.987) g = { bytes: this.#framed(3, [6, this.#int(11)]), label: 'NOTIFICATION' };
    else g = { bytes: this.#framed(2, this.#bytes(this.#int(8))), label: 'short random UPDATE' };
    return { ...g, expect: this.oracle(g.bytes), extended: this.ctx.extendedMessage };
  }

  /** The RFC action for one framed message (its header length equals its size, or is invalid). */
  oracle(m: Uint8Array): Expect {
    const h = parseHeader(m, 0, this.maxLength);
    if (!h.ok) return { kind: 'reset', code: h.error.code, subcode: h.error.subcode };
    const body = m.subarray(19, h.value.length);
    switch (h.value.type) {
      case MessageType.UPDATE: {
        const r = decodeUpdate(body, this.ctx);
        if (!r.ok && r.error.action === 'session-reset') {
          return { kind: 'reset', code: r.error.code, subcode: r.error.subcode };
        }
        return { kind: 'ok' };
      }
      case MessageType.OPEN:
        return { kind: 'reset', code: 5, subcode: 3 }; // RFC 6608: OPEN in Established
      case MessageType.NOTIFICATION:
        return { kind: 'peer-notification' };
      case MessageType.ROUTE_REFRESH: {
        const r = decodeRouteRefresh(body);
        if (!r.ok) return { kind: 'reset', code: r.error.code, subcode: r.error.subcode };
        const v = r.value;
        const known = v.safi === 1 && (v.afi === 1 || v.afi === 2) && v.subtype === 0;
        return { kind: 'ok', refresh: known };
      }
      default:
        return { kind: 'ok' };
    }
  }

  #framed(type: number, body: number[] | Uint8Array): Uint8Array {
    const len = 19 + body.length;
    const m = new Uint8Array(len);
    m.fill(0xff, 0, 16);
    m[16] = (len >>> 8) & 0xff;
    m[17] = len & 0xff;
    m[18] = type;
    m.set(body, 19);
    return m;
  }

  #prefix4(): number[] {
    const len = this.#pick([0, 8, 16, 20, 24, 24, 24, 28, 32]);
    const bytes = this.#bytes(Math.ceil(len / 8));
    if (len % 8 !== 0 && bytes.length > 0) bytes[bytes.length - 1]! &= (0xff << (8 - (len % 8))) & 0xff;
    return [len, ...bytes];
  }

  #prefix6(): number[] {
    const len = this.#pick([32, 48, 64, 128]);
    return [len, 0x20, 0x01, 0x0d, 0xb8, ...this.#bytes(len / 8 - 4)];
  }

  #attr(flags: number, code: number, value: number[]): number[] {
    if (value.length > 255 || this.#r() < 0.1) {
      return [flags | 0x10, code, (value.length >> 8) & 0xff, value.length & 0xff, ...value];
    }
    return [flags & ~0x10, code, value.length, ...value];
  }

  #asPath(): number[] {
    const segs: number[] = [];
    const nseg = 1 + this.#int(2);
    for (let s = 0; s < nseg; s++) {
      const n = 1 + this.#int(5);
      segs.push(s === 1 ? 1 : 2, n);
      for (let i = 0; i < n; i++) {
        const asn = i === 0 && s === 0 ? 65001 : 64496 + this.#int(1000);
        segs.push((asn >>> 24) & 0xff, (asn >>> 16) & 0xff, (asn >>> 8) & 0xff, asn & 0xff);
      }
    }
    return segs;
  }

  /** A valid UPDATE, varied: withdraw-only, End-of-RIB, IPv4, IPv6 MP, optional attributes. */
  #validUpdate(): Uint8Array {
    const kind = this.#r();
    const withdrawn: number[] = [];
    const nlri: number[] = [];
    const attrs: number[] = [];
    if (kind < 0.05) return this.#framed(2, [0, 0, 0, 0]); // End-of-RIB IPv4
    if (kind < 0.15) {
      for (let i = 1 + this.#int(10); i > 0; i--) withdrawn.push(...this.#prefix4());
    } else {
      attrs.push(...this.#attr(0x40, 1, [this.#int(3)]));
      attrs.push(...this.#attr(0x40, 2, this.#asPath()));
      const v6 = kind > 0.8;
      if (!v6) attrs.push(...this.#attr(0x40, 3, [192, 0, 2, 1 + this.#int(250)]));
      if (this.#r() < 0.4) attrs.push(...this.#attr(0x80, 4, this.#bytes(4)));
      if (this.#r() < 0.2) attrs.push(...this.#attr(0x40, 5, this.#bytes(4)));
      if (this.#r() < 0.1) attrs.push(...this.#attr(0x40, 6, []));
      if (this.#r() < 0.3) attrs.push(...this.#attr(0xc0, 8, this.#bytes(4 * (1 + this.#int(4)))));
      if (this.#r() < 0.3) attrs.push(...this.#attr(0xc0, 32, this.#bytes(12 * (1 + this.#int(3)))));
      if (this.#r() < 0.1) attrs.push(...this.#attr(0xc0, 200 + this.#int(50), this.#bytes(this.#int(20))));
      if (this.#r() < 0.05) attrs.push(...this.#attr(0x80, 220 + this.#int(20), this.#bytes(this.#int(20))));
      if (v6) {
        const nl: number[] = [];
        for (let i = 1 + this.#int(5); i > 0; i--) nl.push(...this.#prefix6());
        const nh = [0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 1];
        attrs.push(...this.#attr(0x80, 14, [0, 2, 1, 16, ...nh, 0, ...nl]));
        if (this.#r() < 0.3) attrs.push(...this.#attr(0x80, 15, [0, 2, 1, ...this.#prefix6()]));
      } else {
        for (let i = 1 + this.#int(20); i > 0; i--) nlri.push(...this.#prefix4());
      }
      if (this.#r() < 0.2) for (let i = this.#int(5); i > 0; i--) withdrawn.push(...this.#prefix4());
    }
    return this.#framed(2, [
      (withdrawn.length >> 8) & 0xff,
      withdrawn.length & 0xff,
      ...withdrawn,
      (attrs.length >> 8) & 0xff,
      attrs.length & 0xff,
      ...attrs,
      ...nlri,
    ]);
  }

  /** Flip 1–3 bits of the body (the header stays consistent). */
  #flip(m: Uint8Array): Uint8Array {
    if (m.length <= 19) return m;
    for (let i = 1 + this.#int(3); i > 0; i--) {
      const at = 19 + this.#int(m.length - 19);
      m[at]! ^= 1 << this.#int(8);
    }
    return m;
  }

  /** Cut the body short and fix the header length to match. */
  #truncate(m: Uint8Array): Uint8Array {
    const keep = this.#int(m.length - 19);
    const body = m.subarray(19, 19 + keep);
    const min = keep < 4 ? Array.from(body).concat([0, 0, 0, 0]).slice(0, 4) : body;
    return this.#framed(2, min);
  }

  /** Corrupt the withdrawn-routes or the total-attribute length field. */
  #wrongInnerLength(m: Uint8Array): Uint8Array {
    const wlen = (m[19]! << 8) | m[20]!;
    const at = this.#r() < 0.5 ? 19 : 21 + wlen;
    if (at + 1 >= m.length) return m;
    const v = this.#int(0x200);
    m[at] = v >> 8;
    m[at + 1] = v & 0xff;
    return m;
  }

  #routeRefresh(): Uint8Array {
    const r = this.#r();
    if (r < 0.6)
      return this.#framed(5, [
        0,
        this.#pick([1, 2, 3, 25]),
        this.#pick([0, 0, 0, 1, 2, 7]),
        this.#pick([1, 1, 2, 128]),
      ]);
    return this.#framed(5, this.#bytes(this.#int(10)));
  }

  #badHeader(): Uint8Array {
    const m = this.#framed(4, []);
    const r = this.#r();
    if (r < 0.3) m[this.#int(16)] = this.#int(255);
    else if (r < 0.6) m[18] = this.#pick([0, 6, 7, 100, 255]);
    else if (r < 0.8) {
      m[16] = 0;
      m[17] = this.#int(19);
    } else {
      const big = this.maxLength + 1 + this.#int(100);
      m[16] = (big >> 8) & 0xff;
      m[17] = big & 0xff;
      m[18] = 2;
      if (big > 65535) m[16] = 0xff;
    }
    // A length that the header check accepts but the bytes do not match would desynchronise the
    // stream; keep only corruptions that the header check rejects.
    return parseHeader(m, 0, this.maxLength).ok ? this.#framed(9, []) : m;
  }
}
