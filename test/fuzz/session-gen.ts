/**
 * Seeded generator of hostile input for Established sessions. UPDATEs are built from a model
 * (withdrawn routes, path attributes with flags/code/value, NLRI, MP_REACH/MP_UNREACH) and get at
 * most a few NAMED mutations that know what they broke — one per lettered item of RFC 7606 §3,
 * each attribute row of §7, §4, §5 — plus header, OPEN, NOTIFICATION and ROUTE-REFRESH cases,
 * bit flips and random bodies. Prefixes come from the session's Adj-RIB-In model where that makes
 * a difference (withdrawals, re-announcements, the NLRI of treat-as-withdraw UPDATEs), so a
 * withdrawal that is lost or a treat-as-withdraw that is ignored shows in the routes.
 *
 * The expected action for every message comes from rfc-oracle.ts (the RFCs, not the codec). A
 * named mutation also states what it expects by itself (`declared`); the fuzz test checks the two
 * agree, so a slip in either the oracle or the mutation table shows up as a disagreement.
 *
 * RFC 7606 §3 item by item: a — every withdraw/discard mutation must not reset; b — "withdrawn
 * routes length overrun", "total attribute length overrun"; c — "flags conflict on …"; d —
 * "missing …", "NLRI and no path attributes"; e — the ORIGIN, AS_PATH, NEXT_HOP, MED, LOCAL_PREF
 * rows; f — the ATOMIC_AGGREGATE and AGGREGATOR rows; g — "duplicate …" and the MP_REACH_NLRI /
 * MP_UNREACH_NLRI "twice" shapes (#duplicateMp); h — "treat-as-withdraw and attribute discard",
 * "reset and treat-as-withdraw", the "twice + …" shapes; i — "withdrawn prefix invalid"; j — "MP
 * attribute overruns the attribute field", the NLRI and MP_* syntax rows, and §5.2 (#fiftyTwo).
 */
import { prng } from '../prng.js';
import { AdjRibIn, classify, type Negotiated, type Routes, type Verdict } from './rfc-oracle.js';

/** What a mutation says it did to the message, in RFC 7606 §2 terms. */
export interface Declared {
  kind: 'ok' | 'withdraw' | 'discard' | 'reset' | 'peer-notification';
  /** For resets: the NOTIFICATION code/subcode the mutation is about. */
  code?: number;
  subcode?: number;
}

export interface Generated {
  bytes: Uint8Array;
  /** The mutation (or message kind): also the key of the per-label counts. */
  label: string;
  verdict: Verdict;
  declared?: Declared;
  /** The session the verdict was made for (extended messages matter for the header). */
  ctx: GenContext;
  /** Position in the generator's sequence (`Routes.touched` refers to it). */
  seq: number;
}

export interface GenContext extends Negotiated {
  localAs: number;
  peerAs: number;
}

// --- the UPDATE model

interface Attr {
  flags: number; // without the Extended Length bit; Partial and the low bits may be set
  code: number;
  value: number[];
  ext?: boolean; // Extended Length even when the value is short
  declared?: number; // an Attribute Length other than the value's
}

interface Update {
  withdrawn: number[]; // encoded "length, prefix" pairs
  attrs: Attr[];
  tail: number[]; // raw octets after the attributes, inside the attribute field
  nlri: number[];
  wlen?: number; // a Withdrawn Routes Length other than the field's
  alen?: number; // a Total Path Attribute Length other than the field's
  /** Reachable NLRI somewhere (NLRI field or MP_REACH_NLRI), as built. */
  reachable: boolean;
  /** NLRI in the NLRI field (NEXT_HOP is then mandatory). */
  field: boolean;
}

const ORIGIN = 1;
const AS_PATH = 2;
const NEXT_HOP = 3;
const MED = 4;
const LOCAL_PREF = 5;
const ATOMIC_AGGREGATE = 6;
const AGGREGATOR = 7;
const COMMUNITIES = 8;
const MP_REACH = 14;
const MP_UNREACH = 15;
const AS4_PATH = 17;
const AS4_AGGREGATOR = 18;
const LARGE_COMMUNITY = 32;
const OTC = 35;
const AS_TRANS = 23456;

/** The Optional/Transitive bits each attribute's specification fixes (see rfc-oracle RECOGNISED). */
const SPEC_FLAGS: Record<number, number> = {
  1: 0x40,
  2: 0x40,
  3: 0x40,
  4: 0x80,
  5: 0x40,
  6: 0x40,
  7: 0xc0,
  8: 0xc0,
  14: 0x80,
  15: 0x80,
  17: 0xc0,
  18: 0xc0,
  32: 0xc0,
  35: 0xc0,
};

/** Type codes this speaker does not recognise (ORIGINATOR_ID, CLUSTER_LIST, EXT_COMMUNITIES, …). */
const UNRECOGNISED = [0, 9, 10, 11, 16, 20, 22, 23, 25, 26, 29, 40, 99, 128, 200, 222, 240, 255];

function u16b(n: number): number[] {
  return [(n >>> 8) & 0xff, n & 0xff];
}

function u32b(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

function encodeAttr(a: Attr, out: number[]): void {
  const len = a.declared ?? a.value.length;
  const ext = a.ext === true || len > 255 || a.value.length > 255;
  if (ext) out.push((a.flags | 0x10) & 0xff, a.code, (len >>> 8) & 0xff, len & 0xff);
  else out.push(a.flags & 0xef, a.code, len);
  for (const x of a.value) out.push(x);
}

function encodeUpdate(u: Update): number[] {
  const attrs: number[] = [];
  for (const a of u.attrs) encodeAttr(a, attrs);
  for (const x of u.tail) attrs.push(x);
  const body: number[] = [];
  body.push(...u16b(u.wlen ?? u.withdrawn.length));
  for (const x of u.withdrawn) body.push(x);
  body.push(...u16b(u.alen ?? attrs.length));
  for (const x of attrs) body.push(x);
  for (const x of u.nlri) body.push(x);
  return body;
}

function frame(type: number, body: ArrayLike<number>, length?: number): Uint8Array {
  const m = new Uint8Array(19 + body.length);
  m.fill(0xff, 0, 16);
  const len = length ?? m.length;
  m[16] = (len >>> 8) & 0xff;
  m[17] = len & 0xff;
  m[18] = type;
  m.set(body, 19);
  return m;
}

/** "a.b.c.d/n" or "g:g:g:g:g:g:g:g/n" (rfc-oracle's prefix text) as "length, prefix" octets. */
function prefixWire(key: string): number[] {
  const [addr, l] = key.split('/') as [string, string];
  const len = Number(l);
  const bytes: number[] = [];
  if (addr.includes(':')) for (const g of addr.split(':')) bytes.push(...u16b(Number.parseInt(g, 16)));
  else for (const o of addr.split('.')) bytes.push(Number(o));
  return [len, ...bytes.slice(0, (len + 7) >> 3)];
}

interface Rand {
  int(n: number): number;
  pick<T>(xs: readonly T[]): T;
  bytes(n: number): number[];
}

interface Mutation {
  name: string;
  /** Weight among the mutations of its class. */
  weight: number;
  /** Whether it fits the session and the base message. */
  fits?: (u: Update, c: GenContext) => boolean;
  /** Mutates `u`; returns what it expects (and a label naming e.g. the attribute). */
  apply: (u: Update, c: GenContext, r: Rand) => Declared & { label?: string };
}

export class SessionFuzzer {
  readonly #r: () => number;
  ctx: GenContext;
  /** The Adj-RIB-In of the current long-lived session, as the oracle has it. */
  readonly rib = new AdjRibIn();
  seq = 0;

  readonly #rand: Rand = {
    int: (n) => this.#int(n),
    pick: (xs) => this.#pick(xs),
    bytes: (n) => this.#bytes(n),
  };

  constructor(seed: number, ctx: GenContext) {
    this.#r = prng(seed);
    this.ctx = ctx;
  }

  readonly #wires = new Map<string, number[]>();

  /** A new session: the routes of the old one are gone (RFC 4271 §8: the RIB drops them). */
  newSession(ctx: GenContext): void {
    this.ctx = ctx;
    this.rib.clear();
    this.#wires.clear();
  }

  /** A random route of the RIB as "length, prefix" octets. */
  #known(routes: Routes): number[] {
    const k = routes.keys[this.#int(routes.size)]!;
    let w = this.#wires.get(k);
    if (w === undefined) this.#wires.set(k, (w = prefixWire(k)));
    return w;
  }

  get maxLength(): number {
    return this.ctx.extended ? 65535 : 4096;
  }

  // --- randomness

  #int(n: number): number {
    return Math.floor(this.#r() * n);
  }
  #chance(p: number): boolean {
    return this.#r() < p;
  }
  #pick<T>(xs: readonly T[]): T {
    return xs[this.#int(xs.length)]!;
  }
  #bytes(n: number): number[] {
    const b: number[] = [];
    for (let i = 0; i < n; i++) b.push(this.#int(256));
    return b;
  }
  #weighted<T extends { weight: number }>(xs: readonly T[]): T {
    let total = 0;
    for (const x of xs) total += x.weight;
    let w = this.#r() * total;
    for (const x of xs) {
      w -= x.weight;
      if (w < 0) return x;
    }
    return xs[xs.length - 1]!;
  }

  // --- one message

  /** The next message with the RFC verdict; accepted UPDATEs update the Adj-RIB-In model. */
  next(): Generated {
    const seq = this.seq++;
    const x = this.#r();
    let g: { bytes: Uint8Array; label: string; declared?: Declared };
    // About 7 % of the messages reset the session (each on its own connection in the test).
    if (x < 0.4) g = this.#valid();
    else if (x < 0.68) g = this.#mutated(WITHDRAW_MUTATIONS);
    else if (x < 0.825) g = this.#mutated(DISCARD_MUTATIONS);
    else if (x < 0.85) g = { bytes: frame(4, []), label: 'KEEPALIVE', declared: { kind: 'ok' } };
    else if (x < 0.89) g = this.#routeRefresh();
    else if (x < 0.915) g = this.#flipped();
    else if (x < 0.919) g = this.#randomBody();
    else if (x < 0.93) g = this.#fiftyTwo();
    else if (x < 0.9325) g = this.#bigUpdate();
    else if (x < 0.955) g = this.#mutated(RESET_MUTATIONS);
    else if (x < 0.963) g = this.#duplicateMp();
    else if (x < 0.974) g = this.#badHeader();
    else if (x < 0.979) g = this.#badRouteRefresh();
    else if (x < 0.983) {
      g = {
        bytes: frame(1, [4, ...u16b(65001), 0, 90, 127, 0, 0, 52, 0]),
        label: 'OPEN in Established',
        declared: { kind: 'reset', code: 5, subcode: 3 },
      };
    } else if (x < 0.986) {
      g = {
        bytes: frame(3, [6, this.#int(11)]),
        label: 'NOTIFICATION',
        declared: { kind: 'peer-notification' },
      };
    } else g = this.#valid();
    const verdict = classify(g.bytes, this.ctx);
    if (verdict.kind === 'accept' && verdict.update !== undefined) this.rib.apply(verdict.update, seq);
    return { ...g, verdict, ctx: this.ctx, seq };
  }

  // --- prefixes

  #fresh4(): number[] {
    if (this.#chance(0.01)) return [0];
    const len = this.#pick([8, 12, 16, 19, 20, 22, 23, 24, 24, 24, 24, 25, 27, 28, 30, 31, 32]);
    const b = this.#bytes((len + 7) >> 3);
    return [len, ...b]; // host bits left as they fall: "irrelevant" (RFC 4271 §4.3)
  }

  #fresh6(): number[] {
    const len = this.#pick([29, 32, 40, 48, 48, 56, 64, 64, 64, 96, 127, 128]);
    const b = [0x20, 0x01, 0x0d, 0xb8, ...this.#bytes(12)].slice(0, (len + 7) >> 3);
    return [len, ...b];
  }

  /** Prefixes to announce: fresh ones, and with probability `known` ones in the RIB. */
  #announce(afi: 1 | 2, n: number, known = 0.2): number[] {
    const set = afi === 1 ? this.rib.v4 : this.rib.v6;
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      if (set.size > 0 && this.#chance(known)) out.push(...this.#known(set));
      else out.push(...(afi === 1 ? this.#fresh4() : this.#fresh6()));
    }
    return out;
  }

  /** Prefixes to withdraw: mostly routes in the RIB, so that losing the withdrawal shows. */
  #withdraw(afi: 1 | 2, n: number): number[] {
    const set = afi === 1 ? this.rib.v4 : this.rib.v6;
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      if (set.size > 0 && this.#chance(0.85)) out.push(...this.#known(set));
      else out.push(...(afi === 1 ? this.#fresh4() : this.#fresh6()));
    }
    return out;
  }

  // --- attributes

  #asn(): number {
    return this.#chance(0.3) ? 4200000000 + this.#int(90000000) : 64496 + this.#int(1000);
  }

  /** The AS path the peer sends, as AS_PATH (and AS4_PATH for an OLD speaker, RFC 6793 §4.2.2). */
  #paths(): { asPath: number[]; as4Path?: number[] } {
    const c = this.ctx;
    if (!c.ebgp && this.#chance(0.2)) return { asPath: [] }; // locally originated in the peer's AS
    const segs: { type: number; asns: number[] }[] = [];
    const first = [c.ebgp ? c.peerAs : this.#asn()];
    const long = this.#chance(0.01) ? 300 : 1 + this.#int(6);
    for (let i = 1; i < long; i++) first.push(this.#asn());
    segs.push({ type: 2, asns: first });
    if (this.#chance(0.15)) segs.push({ type: 1, asns: [this.#asn(), this.#asn()] });
    if (this.#chance(0.1)) segs.push({ type: 2, asns: [this.#asn()] });
    const enc = (size: 2 | 4, list: { type: number; asns: number[] }[]): number[] => {
      const out: number[] = [];
      for (const s of list) {
        for (let i = 0; i < s.asns.length; i += 255) {
          const chunk = s.asns.slice(i, i + 255);
          out.push(s.type, chunk.length);
          for (const a of chunk) out.push(...(size === 4 ? u32b(a) : u16b(a > 0xffff ? AS_TRANS : a)));
        }
      }
      return out;
    };
    if (c.as4) return { asPath: enc(4, segs) };
    const asPath = enc(2, segs);
    if (!segs.some((s) => s.asns.some((a) => a > 0xffff))) return { asPath };
    // AS4_PATH from where the path left 4-octet speakers: drop some leading ASes (or, rarely,
    // claim more than AS_PATH has, which the receiver ignores).
    const flat = segs.flatMap((s) => s.asns.map((a) => ({ type: s.type, a })));
    const drop = this.#chance(0.1) ? 0 : this.#int(Math.min(3, flat.length));
    const tail = flat.slice(drop);
    const extra = this.#chance(0.05) ? [{ type: 2, a: this.#asn() }] : [];
    const rebuilt: { type: number; asns: number[] }[] = [];
    for (const { type, a } of [...extra, ...tail]) {
      const last = rebuilt[rebuilt.length - 1];
      if (last && last.type === type) last.asns.push(a);
      else rebuilt.push({ type, asns: [a] });
    }
    return { asPath, as4Path: enc(4, rebuilt) };
  }

  #attr(code: number, value: number[]): Attr {
    return { flags: SPEC_FLAGS[code]!, code, value };
  }

  #nextHop(): number[] {
    return this.#pick([
      [192, 0, 2, 1 + this.#int(250)],
      [127, 0, 0, 52],
      [10, this.#int(256), this.#int(256), 1 + this.#int(254)],
      [198, 51, 100, this.#int(256)],
    ]);
  }

  /** Common attributes of a route (all well-formed for this session). */
  #routeAttrs(): Attr[] {
    const c = this.ctx;
    const list: Attr[] = [];
    const paths = this.#paths();
    list.push(this.#attr(ORIGIN, [this.#int(3)]));
    list.push(this.#attr(AS_PATH, paths.asPath));
    if (this.#chance(0.4)) list.push(this.#attr(MED, this.#bytes(4)));
    if (!c.ebgp && this.#chance(0.6)) list.push(this.#attr(LOCAL_PREF, this.#bytes(4)));
    if (this.#chance(0.1)) list.push(this.#attr(ATOMIC_AGGREGATE, []));
    if (this.#chance(0.2)) {
      const asn = 1 + this.#int(c.as4 ? 0xfffffffe : 0xfffe);
      if (c.as4) list.push(this.#attr(AGGREGATOR, [...u32b(asn), ...this.#nextHop()]));
      else {
        const trans = this.#chance(0.5);
        list.push(this.#attr(AGGREGATOR, [...u16b(trans ? AS_TRANS : asn), 192, 0, 2, 7]));
        if (trans || this.#chance(0.2)) {
          list.push(this.#attr(AS4_AGGREGATOR, [...u32b(4200000000 + this.#int(1000)), 192, 0, 2, 8]));
        }
      }
    }
    if (paths.as4Path !== undefined) list.push(this.#attr(AS4_PATH, paths.as4Path));
    if (this.#chance(0.3)) list.push(this.#attr(COMMUNITIES, this.#bytes(4 * (1 + this.#int(4)))));
    if (this.#chance(0.2)) list.push(this.#attr(LARGE_COMMUNITY, this.#bytes(12 * (1 + this.#int(3)))));
    if (this.#chance(0.1)) list.push(this.#attr(OTC, this.#bytes(4)));
    if (this.#chance(0.1)) {
      list.push({ flags: 0xc0, code: this.#pick(UNRECOGNISED), value: this.#bytes(this.#int(20)) });
    }
    if (this.#chance(0.05)) {
      list.push({ flags: 0x80, code: this.#pick(UNRECOGNISED), value: this.#bytes(this.#int(20)) });
    }
    // One attribute per type code (copies are a mutation of their own).
    return list.filter((a, i) => list.findIndex((b) => b.code === a.code) === i);
  }

  /** Harmless variations: Partial and low flag bits, Extended Length, any order (RFC 7606 §5.1). */
  #vary(u: Update): void {
    for (const a of u.attrs) {
      // RFC 7606 §3 c compares only Optional and Transitive; RFC 4271 §4.3: low bits ignored.
      if (this.#chance(0.04)) a.flags |= 0x20;
      if (this.#chance(0.04)) a.flags |= this.#int(16) & 0x0f;
      if (this.#chance(0.08)) a.ext = true;
    }
    if (this.#chance(0.25)) {
      for (let i = u.attrs.length - 1; i > 0; i--) {
        const j = this.#int(i + 1);
        [u.attrs[i], u.attrs[j]] = [u.attrs[j]!, u.attrs[i]!];
      }
    }
  }

  #mpReach6(prefixes: number[]): Attr {
    const nh = this.#chance(0.3)
      ? [
          0x20,
          0x01,
          0x0d,
          0xb8,
          ...new Array<number>(11).fill(0),
          1,
          0xfe,
          0x80,
          ...new Array<number>(13).fill(0),
          1,
        ]
      : [0x20, 0x01, 0x0d, 0xb8, ...this.#bytes(12)];
    // The reserved octet "SHOULD be ignored upon receipt" (RFC 4760 §3).
    const reserved = this.#chance(0.05) ? 1 + this.#int(255) : 0;
    return this.#attr(MP_REACH, [0, 2, 1, nh.length, ...nh, reserved, ...prefixes]);
  }

  /**
   * A well-formed UPDATE of one of these shapes: IPv4 in the NLRI field, IPv6 or IPv4 in
   * MP_REACH_NLRI, both (RFC 7606 §5.1: accepted in any combination), withdrawals only.
   */
  #base(shape?: 'v4' | 'v6' | 'v4mp' | 'mixed' | 'withdraw'): Update {
    const s = shape ?? this.#pick(['v4', 'v4', 'v4', 'v6', 'v6', 'v4mp', 'mixed', 'withdraw'] as const);
    const u: Update = { withdrawn: [], attrs: [], tail: [], nlri: [], reachable: true, field: false };
    if (s === 'withdraw') {
      u.reachable = false;
      if (this.#chance(0.7)) u.withdrawn = this.#withdraw(1, 1 + this.#int(5));
      if (this.#chance(0.4) || u.withdrawn.length === 0) {
        const afi = this.#chance(0.6) ? 2 : 1;
        u.attrs.push(this.#attr(MP_UNREACH, [0, afi, 1, ...this.#withdraw(afi, 1 + this.#int(4))]));
      }
      return u;
    }
    u.attrs = this.#routeAttrs();
    if (s === 'v4' || s === 'mixed') {
      u.field = true;
      u.attrs.splice(2, 0, this.#attr(NEXT_HOP, this.#nextHop()));
      u.nlri = this.#announce(1, 1 + this.#int(8));
      if (this.#chance(0.2)) u.withdrawn = this.#withdraw(1, 1 + this.#int(4));
    }
    if (s === 'v6' || s === 'mixed') {
      u.attrs.unshift(this.#mpReach6(this.#announce(2, 1 + this.#int(5))));
      if (this.#chance(0.2))
        u.attrs.push(this.#attr(MP_UNREACH, [0, 2, 1, ...this.#withdraw(2, 1 + this.#int(3))]));
    }
    if (s === 'v4mp') {
      u.attrs.unshift(
        this.#attr(MP_REACH, [0, 1, 1, 4, ...this.#nextHop(), 0, ...this.#announce(1, 1 + this.#int(5))]),
      );
      if (this.#chance(0.2))
        u.attrs.push(this.#attr(MP_UNREACH, [0, 1, 1, ...this.#withdraw(1, 1 + this.#int(3))]));
    }
    return u;
  }

  #valid(): { bytes: Uint8Array; label: string; declared: Declared } {
    const r = this.#r();
    if (r < 0.04)
      return { bytes: frame(2, [0, 0, 0, 0]), label: 'End-of-RIB IPv4', declared: { kind: 'ok' } };
    if (r < 0.08) {
      return {
        bytes: frame(2, [0, 0, 0, 6, 0x80, 15, 3, 0, 2, 1]),
        label: 'End-of-RIB IPv6',
        declared: { kind: 'ok' },
      };
    }
    const u = this.#base();
    this.#vary(u);
    // RFC 4271 §4.3: a prefix both withdrawn and announced is announced.
    if (u.field && this.#chance(0.05))
      u.withdrawn.push(...u.nlri.slice(0, 1 + (((u.nlri[0] ?? 0) + 7) >> 3)));
    // An unrecognised optional attribute of length zero is passed on (rfc-oracle "Reading").
    const code = this.#pick(UNRECOGNISED);
    if (this.#chance(0.03) && !u.attrs.some((a) => a.code === code))
      u.attrs.push({ flags: 0xc0, code, value: [] });
    return { bytes: frame(2, encodeUpdate(u)), label: 'valid UPDATE', declared: { kind: 'ok' } };
  }

  /** A base with reachable NLRI and one named mutation from `list` (that fits). */
  #mutated(list: readonly Mutation[]): { bytes: Uint8Array; label: string; declared: Declared } {
    for (;;) {
      const m = this.#weighted(list);
      const u = this.#base(this.#pick(['v4', 'v4', 'v6', 'v4mp', 'mixed'] as const));
      // Treat-as-withdraw of routes we have: an ignored withdraw leaves them standing.
      if (u.field && this.#chance(0.6)) u.nlri = this.#announceKnown(1, u.nlri);
      if (m.fits !== undefined && !m.fits(u, this.ctx)) continue;
      this.#vary(u);
      const d = m.apply(u, this.ctx, this.#rand);
      const bytes = frame(2, encodeUpdate(u));
      if (bytes.length > this.maxLength) continue;
      const { label, ...declared } = d;
      return { bytes, label: label ?? m.name, declared };
    }
  }

  #announceKnown(afi: 1 | 2, fallback: number[]): number[] {
    const set = afi === 1 ? this.rib.v4 : this.rib.v6;
    if (set.size === 0) return fallback;
    const out: number[] = [];
    for (let i = 1 + this.#int(5); i > 0; i--) out.push(...this.#known(set));
    return out;
  }

  /** RFC 7606 §5.2: a withdraw-class error in an UPDATE with attributes but no reachable NLRI. */
  #fiftyTwo(): { bytes: Uint8Array; label: string; declared: Declared } {
    for (;;) {
      const m = this.#weighted(WITHDRAW_MUTATIONS);
      const u = this.#base(this.#pick(['v4', 'v6'] as const));
      if (u.field) {
        // Withdrawals (or nothing) instead of NLRI; NEXT_HOP stays as sent.
        u.nlri = [];
        u.field = false;
        u.withdrawn = this.#chance(0.5) ? this.#withdraw(1, 1 + this.#int(4)) : [];
      } else {
        const mp = u.attrs.find((a) => a.code === MP_REACH)!;
        mp.value = mp.value.slice(0, 4 + mp.value[3]! + 1); // MP_REACH_NLRI with no prefixes
      }
      u.reachable = false;
      if (m.fits !== undefined && !m.fits(u, this.ctx)) continue;
      if (m.name.startsWith('missing')) continue; // nothing is mandatory without NLRI
      const d = m.apply(u, this.ctx, this.#rand);
      return {
        bytes: frame(2, encodeUpdate(u)),
        label: `no reachable NLRI + ${d.label ?? m.name} (RFC 7606 §5.2)`,
        declared: { kind: 'reset', code: 3 },
      };
    }
  }

  /** RFC 7606 §3 g in its shapes: twice MP_REACH_NLRI or MP_UNREACH_NLRI, plus other errors. */
  #duplicateMp(): { bytes: Uint8Array; label: string; declared: Declared } {
    const u = this.#base(this.#pick(['v6', 'v4mp', 'mixed', 'withdraw'] as const));
    const code = this.#chance(0.5) ? MP_REACH : MP_UNREACH;
    const twin: Attr =
      code === MP_REACH
        ? this.#mpReach6(this.#announce(2, 1 + this.#int(3)))
        : this.#attr(MP_UNREACH, [0, 2, 1]);
    u.attrs.splice(this.#int(u.attrs.length + 1), 0, twin);
    if (!u.attrs.some((a, i) => a.code === code && a !== twin && i >= 0)) {
      u.attrs.splice(this.#int(u.attrs.length + 1), 0, { ...twin, value: [...twin.value] });
    }
    const extra = this.#int(7);
    let what = 'twice';
    if (extra === 1) {
      twin.value = twin.value.slice(0, 2 + this.#int(2)); // the copy itself malformed
      what = 'twice, one malformed';
    } else if (extra === 2) {
      twin.flags = 0xc0;
      what = 'twice, one with a flags conflict';
    } else if (extra === 3) {
      u.nlri.push(33 + this.#int(200), 1, 2, 3, 4, 5);
      what = 'twice + invalid NLRI';
    } else if (extra === 4) {
      u.attrs.unshift({ flags: 0x40, code: 99, value: [1] });
      what = 'twice + unrecognised well-known attribute';
    } else if (extra === 5) {
      const origin = find(u, ORIGIN);
      if (origin !== undefined) origin.value = [9];
      else u.attrs.unshift({ flags: 0x40, code: ORIGIN, value: [9] });
      what = 'twice + invalid ORIGIN';
    } else if (extra === 6) {
      u.withdrawn.push(40, 1, 2, 3, 4, 5, 6);
      what = 'twice + invalid withdrawn prefix';
    }
    const name = code === MP_REACH ? 'MP_REACH_NLRI' : 'MP_UNREACH_NLRI';
    return {
      bytes: frame(2, encodeUpdate(u)),
      label: `${name} ${what} (RFC 7606 §3 g)`,
      declared: { kind: 'reset', code: 3, subcode: 1 },
    };
  }

  /** A valid UPDATE with 1–3 body bits flipped: the oracle reads what it became. */
  #flipped(): { bytes: Uint8Array; label: string } {
    const u = this.#base();
    this.#vary(u);
    const m = frame(2, encodeUpdate(u));
    for (let i = 1 + this.#int(3); i > 0; i--) m[19 + this.#int(m.length - 19)]! ^= 1 << this.#int(8);
    return { bytes: m, label: 'bit-flipped UPDATE' };
  }

  #randomBody(): { bytes: Uint8Array; label: string } {
    const n = 4 + this.#int(60);
    const body = this.#bytes(n);
    // Mostly small length fields, so that the parse gets somewhere.
    body[0] = 0;
    body[1] = this.#int(8);
    return { bytes: frame(2, body), label: 'random UPDATE body' };
  }

  /** Big UPDATEs: fine with RFC 8654 extended messages, a header error (1/2) without. */
  #bigUpdate(): { bytes: Uint8Array; label: string; declared: Declared } {
    const u = this.#base('v4');
    const n = 1030 + this.#int(200); // just over 4096 octets of /24s
    const nlri: number[] = [];
    for (let i = 0; i < n; i++) nlri.push(24, 100 + this.#int(100), this.#int(256), this.#int(256));
    u.nlri = nlri;
    const bytes = frame(2, encodeUpdate(u));
    return this.ctx.extended
      ? { bytes, label: 'UPDATE over 4096 with extended messages (RFC 8654)', declared: { kind: 'ok' } }
      : {
          bytes,
          label: 'UPDATE over 4096 without extended messages',
          declared: { kind: 'reset', code: 1, subcode: 2 },
        };
  }

  #routeRefresh(): { bytes: Uint8Array; label: string; declared: Declared } {
    const afi = this.#pick([1, 2, 1, 2, 3, 25, 0]);
    const safi = this.#pick([1, 1, 1, 2, 128]);
    const subtype = this.#pick([0, 0, 0, 1, 2, 3, 255]);
    return {
      bytes: frame(5, [0, afi, subtype, safi]),
      label: 'ROUTE-REFRESH',
      declared: { kind: 'ok' },
    };
  }

  #badRouteRefresh(): { bytes: Uint8Array; label: string; declared: Declared } {
    const subtype = this.#pick([0, 1, 2]);
    let n = this.#int(12);
    if (n === 4) n = 5;
    const body = [0, 1, subtype, 1, ...this.#bytes(8)].slice(0, n);
    if (n >= 3) body[2] = subtype;
    const borr = n >= 3 && (subtype === 1 || subtype === 2);
    return {
      bytes: frame(5, body),
      label: borr ? 'ROUTE-REFRESH BoRR/EoRR of wrong length (RFC 7313 §5)' : 'ROUTE-REFRESH of wrong length',
      declared: borr ? { kind: 'reset', code: 7, subcode: 1 } : { kind: 'reset', code: 1, subcode: 2 },
    };
  }

  #badHeader(): { bytes: Uint8Array; label: string; declared: Declared } {
    const r = this.#int(9);
    switch (r) {
      case 0: {
        const m = frame(4, []);
        m[this.#int(16)] = this.#int(255);
        return { bytes: m, label: 'marker not all ones', declared: { kind: 'reset', code: 1, subcode: 1 } };
      }
      case 1:
        return {
          bytes: frame(this.#pick([2, 4, 5]), [], this.#int(19)),
          label: 'length below 19',
          declared: { kind: 'reset', code: 1, subcode: 2 },
        };
      case 2: {
        if (this.ctx.extended) return this.#badHeader(); // 65535 is the most a Length can say
        return {
          bytes: frame(2, [], 4097 + this.#int(65535 - 4096)),
          label: 'length above the maximum',
          declared: { kind: 'reset', code: 1, subcode: 2 },
        };
      }
      case 3:
        return {
          bytes: frame(this.#pick([0, 6, 7, 64, 100, 255]), []),
          label: 'unknown message type',
          declared: { kind: 'reset', code: 1, subcode: 3 },
        };
      case 4:
        return {
          bytes: frame(4, this.#bytes(1 + this.#int(10))),
          label: 'KEEPALIVE longer than 19',
          declared: { kind: 'reset', code: 1, subcode: 2 },
        };
      case 5:
        return {
          bytes: frame(2, this.#bytes(this.#int(4))),
          label: 'UPDATE shorter than 23',
          declared: { kind: 'reset', code: 1, subcode: 2 },
        };
      case 6:
        return {
          bytes: frame(3, this.#bytes(this.#int(2))),
          label: 'NOTIFICATION shorter than 21',
          declared: { kind: 'reset', code: 1, subcode: 2 },
        };
      case 7:
        return {
          bytes: frame(1, this.#bytes(this.#int(10))),
          label: 'OPEN shorter than 29',
          declared: { kind: 'reset', code: 1, subcode: 2 },
        };
      default:
        return {
          bytes: Uint8Array.from(this.#bytes(19 + this.#int(40))),
          label: 'random bytes',
          declared: { kind: 'reset', code: 1 },
        };
    }
  }
}

// --- the named mutations (r: the fuzzer's seeded randomness for their details)

function find(u: Update, code: number): Attr | undefined {
  return u.attrs.find((a) => a.code === code);
}

function ensure(u: Update, code: number, value: number[]): Attr {
  let a = find(u, code);
  if (a === undefined) {
    a = { flags: SPEC_FLAGS[code]!, code, value };
    u.attrs.push(a);
  }
  return a;
}

function remove(u: Update, code: number): void {
  u.attrs = u.attrs.filter((a) => a.code !== code);
}

/** Another Optional/Transitive combination than the specification's, other bits kept. */
function conflict(a: Attr, r: Rand): void {
  const want = SPEC_FLAGS[a.code]!;
  const others = [0x00, 0x40, 0x80, 0xc0].filter((f) => f !== want);
  a.flags = (a.flags & 0x2f) | r.pick(others);
}

const reaching = (u: Update): boolean => u.reachable;
const ebgp = (_u: Update, c: GenContext): boolean => c.ebgp;
const ibgp = (_u: Update, c: GenContext): boolean => !c.ebgp;
const as4 = (_u: Update, c: GenContext): boolean => c.as4;
const old = (_u: Update, c: GenContext): boolean => !c.as4;

/** The last attribute of the field, made to overrun it (RFC 7606 §4, first case). */
function overrun(u: Update, r: Rand): void {
  // Not an MP attribute: one of those overrunning is a session reset (§3 j).
  const mp = u.attrs.filter((a) => a.code === MP_REACH || a.code === MP_UNREACH);
  u.attrs = [...mp, ...u.attrs.filter((a) => a.code !== MP_REACH && a.code !== MP_UNREACH)];
  if (u.attrs.length === mp.length) u.attrs.push({ flags: 0xc0, code: 200, value: [1, 2] });
  const last = u.attrs[u.attrs.length - 1]!;
  last.declared = last.value.length + 1 + r.int(300);
}

const WITHDRAW: Declared = { kind: 'withdraw' };
const DISCARD: Declared = { kind: 'discard' };

/** Errors that make an UPDATE with reachable NLRI treat-as-withdraw. */
const WITHDRAW_MUTATIONS: readonly Mutation[] = [
  {
    name: 'ORIGIN value (RFC 7606 §7.1)',
    weight: 3,
    apply: (u, _c, r) => {
      find(u, ORIGIN)!.value = [3 + r.int(253)];
      return WITHDRAW;
    },
  },
  {
    name: 'ORIGIN length (RFC 7606 §7.1)',
    weight: 2,
    apply: (u, _c, r) => {
      find(u, ORIGIN)!.value = r.pick([[], [0, 0], [1, 2, 3]]);
      return WITHDRAW;
    },
  },
  {
    name: 'AS_PATH segment overrun (RFC 7606 §7.2)',
    weight: 2,
    fits: (u) => find(u, AS_PATH)!.value.length > 0,
    apply: (u, c, r) => {
      // The last segment claims more ASes than follow (or, at 255, loses its last one).
      const v = find(u, AS_PATH)!.value;
      const size = c.as4 ? 4 : 2;
      let last = 0;
      for (let p = 0; p < v.length; p += 2 + v[p + 1]! * size) last = p;
      if (v[last + 1]! + 3 <= 255) v[last + 1]! += 1 + r.int(3);
      else v.length -= 1 + r.int(size);
      return WITHDRAW;
    },
  },
  {
    name: 'AS_PATH one octet left (RFC 7606 §7.2)',
    weight: 2,
    apply: (u) => {
      find(u, AS_PATH)!.value.push(2);
      return WITHDRAW;
    },
  },
  {
    name: 'AS_PATH zero-length segment (RFC 7606 §7.2)',
    weight: 2,
    apply: (u, _c, r) => {
      find(u, AS_PATH)!.value.push(r.pick([1, 2]), 0);
      return WITHDRAW;
    },
  },
  {
    name: 'AS_PATH undefined segment type (RFC 7606 §7.2)',
    weight: 2,
    fits: (u) => find(u, AS_PATH)!.value.length > 0,
    apply: (u, _c, r) => {
      find(u, AS_PATH)!.value[0] = r.pick([0, 5, 6, 100, 255]);
      return WITHDRAW;
    },
  },
  {
    name: 'AS_PATH with AS 0 (RFC 7607)',
    weight: 2,
    fits: (u) => find(u, AS_PATH)!.value.length > 0,
    apply: (u, c, r) => {
      const v = find(u, AS_PATH)!.value;
      const size = c.as4 ? 4 : 2;
      const i = r.int(v[1]!);
      for (let k = 0; k < size; k++) v[2 + i * size + k] = 0;
      return WITHDRAW;
    },
  },
  {
    name: 'AS_PATH confederation segment from eBGP (RFC 5065 §5)',
    weight: 1,
    fits: ebgp,
    apply: (u, c, r) => {
      find(u, AS_PATH)!.value.push(r.pick([3, 4]), 1, ...(c.as4 ? [0, 0, 0xfc, 0] : [0xfc, 0]));
      return WITHDRAW;
    },
  },
  {
    name: 'NEXT_HOP length (RFC 7606 §7.3)',
    weight: 2,
    fits: (u) => u.field,
    apply: (u, _c, r) => {
      find(u, NEXT_HOP)!.value = r.bytes(r.pick([0, 3, 5, 8, 16]));
      return WITHDRAW;
    },
  },
  {
    name: 'NEXT_HOP not a host address (RFC 7606 §7.3)',
    weight: 2,
    fits: (u) => u.field,
    apply: (u, _c, r) => {
      find(u, NEXT_HOP)!.value = r.pick([
        [0, 0, 0, 0],
        [224, 0, 0, 5],
        [239, 255, 255, 250],
        [240, 0, 0, 1],
        [255, 255, 255, 255],
      ]);
      return WITHDRAW;
    },
  },
  {
    name: 'MULTI_EXIT_DISC length (RFC 7606 §7.4)',
    weight: 2,
    apply: (u, _c, r) => {
      ensure(u, MED, []).value = r.bytes(r.pick([0, 1, 2, 3, 5, 8]));
      return WITHDRAW;
    },
  },
  {
    name: 'LOCAL_PREF length from iBGP (RFC 7606 §7.5)',
    weight: 2,
    fits: ibgp,
    apply: (u, _c, r) => {
      ensure(u, LOCAL_PREF, []).value = r.bytes(r.pick([0, 2, 3, 5, 8]));
      return WITHDRAW;
    },
  },
  {
    name: 'COMMUNITIES length (RFC 7606 §7.8)',
    weight: 2,
    apply: (u, _c, r) => {
      ensure(u, COMMUNITIES, []).value = r.bytes(r.pick([0, 1, 2, 3, 5, 6, 7, 9, 13]));
      return WITHDRAW;
    },
  },
  {
    name: 'LARGE_COMMUNITY length (RFC 8092 §6)',
    weight: 2,
    apply: (u, _c, r) => {
      ensure(u, LARGE_COMMUNITY, []).value = r.bytes(r.pick([0, 4, 8, 11, 13, 16, 20, 25]));
      return WITHDRAW;
    },
  },
  {
    name: 'OTC length (RFC 9234 §5)',
    weight: 1,
    apply: (u, _c, r) => {
      ensure(u, OTC, []).value = r.bytes(r.pick([0, 1, 2, 3, 5, 8]));
      return WITHDRAW;
    },
  },
  {
    name: 'flags conflict (RFC 7606 §3 c)',
    weight: 8,
    apply: (u, c, r) => {
      // Any recognised attribute but MP_* (session reset), LOCAL_PREF from eBGP and AS4_* from a
      // NEW speaker (discarded for their sender: see DISCARD_MUTATIONS).
      const codes = [ORIGIN, AS_PATH, MED, ATOMIC_AGGREGATE, AGGREGATOR, COMMUNITIES, LARGE_COMMUNITY, OTC];
      if (u.field) codes.push(NEXT_HOP);
      if (!c.ebgp) codes.push(LOCAL_PREF);
      if (!c.as4) codes.push(AS4_PATH, AS4_AGGREGATOR);
      const code = r.pick(codes);
      const value: Record<number, number[]> = {
        [MED]: [0, 0, 0, 1],
        [LOCAL_PREF]: [0, 0, 0, 100],
        [ATOMIC_AGGREGATE]: [],
        [AGGREGATOR]: c.as4 ? [0, 0, 0xfd, 0xe9, 192, 0, 2, 9] : [0xfd, 0xe9, 192, 0, 2, 9],
        [COMMUNITIES]: [0xfd, 0xe9, 0, 1],
        [LARGE_COMMUNITY]: [0, 0, 0xfd, 0xe9, 0, 0, 0, 1, 0, 0, 0, 2],
        [OTC]: [0, 0, 0xfd, 0xe9],
        [AS4_PATH]: [2, 1, 0xfa, 0x56, 0xea, 0x01],
        [AS4_AGGREGATOR]: [0xfa, 0x56, 0xea, 0x01, 192, 0, 2, 9],
      };
      const a = ensure(u, code, value[code] ?? []);
      conflict(a, r);
      return { ...WITHDRAW, label: `flags conflict on ${ATTR_NAMES[code]} (RFC 7606 §3 c)` };
    },
  },
  {
    name: 'missing ORIGIN (RFC 7606 §3 d)',
    weight: 1,
    apply: (u) => {
      remove(u, ORIGIN);
      return WITHDRAW;
    },
  },
  {
    name: 'missing AS_PATH (RFC 7606 §3 d)',
    weight: 1,
    apply: (u) => {
      remove(u, AS_PATH);
      return WITHDRAW;
    },
  },
  {
    name: 'missing NEXT_HOP with NLRI (RFC 7606 §3 d)',
    weight: 1,
    fits: (u) => u.field,
    apply: (u) => {
      remove(u, NEXT_HOP);
      return WITHDRAW;
    },
  },
  {
    name: 'NLRI and no path attributes (RFC 7606 §3 d)',
    weight: 1,
    fits: (u) => u.field,
    apply: (u) => {
      u.attrs = [];
      u.withdrawn = [];
      return WITHDRAW;
    },
  },
  {
    name: 'attribute overruns the attribute field (RFC 7606 §4)',
    weight: 2,
    apply: (u, _c, r) => {
      overrun(u, r);
      return WITHDRAW;
    },
  },
  {
    name: 'attribute header underrun (RFC 7606 §4)',
    weight: 2,
    apply: (u, _c, r) => {
      const n = 1 + r.int(3);
      u.tail = n === 3 ? [0xd0, 200, 0] : n === 2 ? [0xc0, r.pick([1, 4, 8, 200])] : [r.int(256)];
      return WITHDRAW;
    },
  },
  {
    name: 'treat-as-withdraw and attribute discard (RFC 7606 §3 h)',
    weight: 1,
    fits: reaching,
    apply: (u) => {
      ensure(u, ATOMIC_AGGREGATE, []).value = [1];
      find(u, ORIGIN)!.value = [5];
      return WITHDRAW;
    },
  },
];

const ATTR_NAMES: Record<number, string> = {
  1: 'ORIGIN',
  2: 'AS_PATH',
  3: 'NEXT_HOP',
  4: 'MULTI_EXIT_DISC',
  5: 'LOCAL_PREF',
  6: 'ATOMIC_AGGREGATE',
  7: 'AGGREGATOR',
  8: 'COMMUNITIES',
  17: 'AS4_PATH',
  18: 'AS4_AGGREGATOR',
  32: 'LARGE_COMMUNITY',
  35: 'OTC',
};

/** Errors that drop one attribute and keep the routes (attribute discard, §3 g duplicates). */
const DISCARD_MUTATIONS: readonly Mutation[] = [
  {
    name: 'ATOMIC_AGGREGATE length (RFC 7606 §7.6)',
    weight: 2,
    apply: (u, _c, r) => {
      ensure(u, ATOMIC_AGGREGATE, []).value = r.bytes(1 + r.int(4));
      return DISCARD;
    },
  },
  {
    name: 'AGGREGATOR length (RFC 7606 §7.7)',
    weight: 2,
    apply: (u, c, r) => {
      remove(u, AS4_AGGREGATOR);
      ensure(u, AGGREGATOR, []).value = r.bytes(r.pick(c.as4 ? [0, 4, 6, 7, 9] : [0, 4, 5, 7, 8]));
      return DISCARD;
    },
  },
  {
    name: 'AGGREGATOR with AS 0 (RFC 7607)',
    weight: 1,
    apply: (u, c) => {
      remove(u, AS4_AGGREGATOR);
      ensure(u, AGGREGATOR, []).value = c.as4 ? [0, 0, 0, 0, 192, 0, 2, 1] : [0, 0, 192, 0, 2, 1];
      return DISCARD;
    },
  },
  {
    name: 'LOCAL_PREF from eBGP (RFC 7606 §7.5)',
    weight: 2,
    fits: ebgp,
    apply: (u, _c, r) => {
      const a = ensure(u, LOCAL_PREF, []);
      const how = r.int(3);
      a.value = r.bytes(how === 1 ? r.pick([0, 3, 5]) : 4);
      if (how === 2) conflict(a, r); // flags do not matter either (rfc-oracle "Reading")
      return DISCARD;
    },
  },
  {
    name: 'AS4_PATH/AS4_AGGREGATOR from a 4-octet speaker (RFC 6793 §6)',
    weight: 2,
    fits: as4,
    apply: (u, _c, r) => {
      const code = r.pick([AS4_PATH, AS4_AGGREGATOR]);
      const a = ensure(u, code, []);
      a.value =
        code === AS4_PATH ? r.pick([[2, 1, 0xfa, 0x56, 0xea, 0x01], [2, 5, 1], []]) : r.bytes(r.pick([8, 3]));
      if (r.int(3) === 0) conflict(a, r);
      return DISCARD;
    },
  },
  {
    name: 'AS4_PATH malformed from a 2-octet speaker (RFC 6793 §6)',
    weight: 2,
    fits: old,
    apply: (u, _c, r) => {
      ensure(u, AS4_PATH, []).value = r.pick([
        [],
        [2, 1, 0, 0],
        [2, 2, 0xfa, 0x56, 0xea, 0x01],
        [2, 0, 2, 1, 0xfa, 0x56, 0xea, 0x01],
        [7, 1, 0xfa, 0x56, 0xea, 0x01],
        [2, 1, 0, 0, 0, 0],
        [2, 1, 0xfa, 0x56, 0xea, 0x01, 2],
      ]);
      return DISCARD;
    },
  },
  {
    name: 'AS4_PATH confederation segments from a 2-octet speaker (RFC 6793 §6)',
    weight: 1,
    fits: old,
    apply: (u, _c, r) => {
      const a = ensure(u, AS4_PATH, [2, 1, 0xfa, 0x56, 0xea, 0x01]);
      a.value = [
        ...(r.int(2) === 0 ? [3, 1, 0, 0, 0xfc, 0] : [4, 2, 0, 0, 0xfc, 0, 0, 0, 0xfc, 1]),
        ...a.value,
      ];
      return DISCARD;
    },
  },
  {
    name: 'AS4_AGGREGATOR malformed from a 2-octet speaker (RFC 6793 §6)',
    weight: 1,
    fits: old,
    apply: (u, _c, r) => {
      ensure(u, AS4_AGGREGATOR, []).value = r.pick([
        r.bytes(r.pick([0, 4, 6, 9])),
        [0, 0, 0, 0, 192, 0, 2, 1],
      ]);
      return DISCARD;
    },
  },
  {
    name: 'duplicate attribute (RFC 7606 §3 g)',
    weight: 4,
    apply: (u, _c, r) => {
      const codes = u.attrs
        .map((a) => a.code)
        .filter(
          (x) =>
            x !== MP_REACH && x !== MP_UNREACH && x !== LOCAL_PREF && x !== AS4_PATH && x !== AS4_AGGREGATOR,
        );
      const code = r.pick(codes);
      const first = find(u, code)!;
      // The copy may be malformed or badly flagged: later copies are discarded unexamined.
      const copy: Attr = {
        flags: first.flags,
        code,
        value: r.int(2) === 0 ? [...first.value] : r.bytes(r.int(9)),
      };
      if (r.int(3) === 0) conflict(copy, r);
      u.attrs.splice(u.attrs.indexOf(first) + 1 + r.int(u.attrs.length - u.attrs.indexOf(first)), 0, copy);
      return { ...DISCARD, label: `duplicate ${ATTR_NAMES[code] ?? `attribute ${code}`} (RFC 7606 §3 g)` };
    },
  },
  {
    name: 'duplicate unrecognised attribute (RFC 7606 §3 g)',
    weight: 1,
    apply: (u, _c, r) => {
      const code = r.pick([99, 200, 222]);
      u.attrs.push(
        { flags: 0xc0, code, value: [1, 2] },
        { flags: r.pick([0xc0, 0x80]), code, value: r.bytes(r.int(5)) },
      );
      return DISCARD;
    },
  },
  {
    name: 'MP_REACH_NLRI of a family not negotiated',
    weight: 1,
    fits: (u) => u.field && find(u, MP_REACH) === undefined,
    apply: (u, _c, r) => {
      const [afi, safi] = r.pick([
        [1, 2],
        [2, 128],
        [25, 65],
        [1, 133],
      ] as const);
      u.attrs.push({ flags: 0x80, code: MP_REACH, value: [0, afi, safi, 4, 10, 0, 0, 1, 0, 24, 10, 1, 2] });
      return DISCARD;
    },
  },
];

/** Errors that reset the session whatever else the UPDATE holds. */
const RESET_MUTATIONS: readonly Mutation[] = [
  {
    name: 'withdrawn routes length overrun (RFC 7606 §3 b)',
    weight: 2,
    apply: (u, _c, r) => {
      const total = encodeUpdate(u).length;
      u.wlen = Math.min(0xffff, total - 4 + 1 + r.int(200));
      return { kind: 'reset', code: 3, subcode: 1 };
    },
  },
  {
    name: 'total attribute length overrun (RFC 7606 §3 b)',
    weight: 2,
    apply: (u, _c, r) => {
      const total = encodeUpdate(u).length;
      u.alen = Math.min(0xffff, total - 4 - u.withdrawn.length + 1 + r.int(200));
      return { kind: 'reset', code: 3, subcode: 1 };
    },
  },
  {
    name: 'NLRI prefix length over 32 (RFC 7606 §5.3)',
    weight: 2,
    fits: (u) => u.field,
    apply: (u, _c, r) => {
      u.nlri.push(33 + r.int(223), ...r.bytes(4));
      return { kind: 'reset', code: 3, subcode: 10 };
    },
  },
  {
    name: 'NLRI prefix truncated (RFC 7606 §5.3)',
    weight: 2,
    fits: (u) => u.field,
    apply: (u, _c, r) => {
      u.nlri.push(r.pick([9, 17, 24, 32]), 10);
      return { kind: 'reset', code: 3, subcode: 10 };
    },
  },
  {
    name: 'withdrawn prefix invalid (RFC 7606 §3 i)',
    weight: 2,
    apply: (u, _c, r) => {
      u.withdrawn.push(
        ...r.pick([
          [33, 1, 2, 3, 4, 5],
          [24, 10, 1],
          [200, 1],
          [32, 1, 2, 3],
        ]),
      );
      return { kind: 'reset', code: 3, subcode: 10 };
    },
  },
  {
    name: 'unrecognised well-known attribute (RFC 4271 §6.3)',
    weight: 2,
    apply: (u, _c, r) => {
      const code = r.pick(UNRECOGNISED.filter((x) => !u.attrs.some((a) => a.code === x)));
      const at = r.int(u.attrs.length + 1);
      u.attrs.splice(at, 0, { flags: r.pick([0x40, 0x00, 0x60]), code, value: r.bytes(r.int(6)) });
      return { kind: 'reset', code: 3, subcode: 2 };
    },
  },
  {
    name: 'MP_REACH_NLRI shorter than 5 (RFC 7606 §5.3)',
    weight: 1,
    apply: (u, _c, r) => {
      remove(u, MP_REACH);
      u.attrs.push({ flags: 0x80, code: MP_REACH, value: [0, 2, 1, 16, 0].slice(0, r.int(5)) });
      return { kind: 'reset', code: 3 };
    },
  },
  {
    name: 'MP_REACH_NLRI next hop length (RFC 7606 §7.11)',
    weight: 2,
    apply: (u, _c, r) => {
      remove(u, MP_REACH);
      const v6 = r.int(2) === 0;
      const nh = r.pick(v6 ? [0, 4, 8, 15, 17, 24, 31, 33] : [0, 3, 5, 8, 16]);
      u.attrs.push({ flags: 0x80, code: MP_REACH, value: [0, v6 ? 2 : 1, 1, nh, ...r.bytes(nh), 0, 8, 10] });
      return { kind: 'reset', code: 3, subcode: 9 };
    },
  },
  {
    name: 'MP_REACH_NLRI next hop overrun (RFC 7606 §5.3)',
    weight: 1,
    apply: (u, _c, r) => {
      remove(u, MP_REACH);
      u.attrs.push({ flags: 0x80, code: MP_REACH, value: [0, 2, 1, 16, ...r.bytes(r.int(16))] });
      return { kind: 'reset', code: 3 };
    },
  },
  {
    name: 'MP_REACH_NLRI invalid prefix (RFC 7606 §5.3)',
    weight: 2,
    fits: (u) => find(u, MP_REACH) !== undefined,
    apply: (u, _c, r) => {
      const mp = find(u, MP_REACH)!;
      const v6 = mp.value[1] === 2;
      mp.value.push(
        ...r.pick(v6 ? [[129, 1], [64, 0x20, 1], [255]] : [[33, 1, 2, 3, 4, 5], [24, 10, 1], [255]]),
      );
      return { kind: 'reset', code: 3 };
    },
  },
  {
    name: 'MP_UNREACH_NLRI shorter than 3 (RFC 7606 §5.3)',
    weight: 1,
    apply: (u, _c, r) => {
      remove(u, MP_UNREACH);
      u.attrs.push({ flags: 0x80, code: MP_UNREACH, value: [0, 2, 1].slice(0, r.int(3)) });
      return { kind: 'reset', code: 3 };
    },
  },
  {
    name: 'MP_UNREACH_NLRI invalid prefix (RFC 7606 §5.3)',
    weight: 1,
    apply: (u, _c, r) => {
      remove(u, MP_UNREACH);
      const afi = r.pick([1, 2]);
      u.attrs.push({
        flags: 0x80,
        code: MP_UNREACH,
        value: [0, afi, 1, ...(afi === 1 ? [33, 1, 2, 3, 4, 5] : [130, 1])],
      });
      return { kind: 'reset', code: 3 };
    },
  },
  {
    name: 'flags conflict on MP_REACH_NLRI/MP_UNREACH_NLRI (RFC 7606 §5.3)',
    weight: 2,
    apply: (u, _c, r) => {
      const code = r.pick([MP_REACH, MP_UNREACH]);
      conflict(ensure(u, code, code === MP_REACH ? [0, 2, 1, 16, ...r.bytes(16), 0] : [0, 2, 1]), r);
      return { kind: 'reset', code: 3 };
    },
  },
  {
    name: 'MP attribute overruns the attribute field (RFC 7606 §3 j)',
    weight: 1,
    apply: (u, _c, r) => {
      const code = r.pick([MP_REACH, MP_UNREACH]);
      remove(u, code);
      u.attrs.push({ flags: 0x80, code, value: [0, 2, 1], declared: 4 + r.int(40) });
      return { kind: 'reset', code: 3 };
    },
  },
  {
    name: 'reset and treat-as-withdraw (RFC 7606 §3 h)',
    weight: 1,
    fits: (u) => u.field,
    apply: (u) => {
      find(u, ORIGIN)!.value = [4];
      u.nlri.push(40, 1, 2, 3, 4, 5);
      return { kind: 'reset', code: 3, subcode: 10 };
    },
  },
];

/**
 * Whether a named mutation's own expectation and the oracle's verdict agree; the reason when not.
 * A disagreement is a slip in the mutation table or the oracle, not in the code under test.
 */
export function disagreement(g: Generated): string | undefined {
  const d = g.declared;
  const v = g.verdict;
  if (d === undefined) return undefined;
  const u = v.kind === 'accept' ? v.update : undefined;
  let agree: boolean;
  switch (d.kind) {
    case 'reset':
      agree =
        v.kind === 'reset' &&
        (d.code === undefined ||
          v.acceptable.some(
            (n) => n.code === d.code && (d.subcode === undefined || n.subcode === d.subcode),
          ));
      break;
    case 'peer-notification':
      agree = v.kind === 'peer-notification';
      break;
    case 'withdraw':
      agree = u?.treatAsWithdraw !== undefined;
      break;
    case 'discard':
      agree = u !== undefined && u.treatAsWithdraw === undefined && u.discarded.length > 0;
      break;
    default:
      agree = v.kind === 'accept' && u?.treatAsWithdraw === undefined && (u?.discarded.length ?? 0) === 0;
  }
  return agree ? undefined : `declared ${JSON.stringify(d)}, oracle ${JSON.stringify(v).slice(0, 300)}`;
}

export { prng };
