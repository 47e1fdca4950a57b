/**
 * The fuzz tests' oracle: what the RFCs require of a BGP speaker for one message received in
 * Established, and what an accepted UPDATE does to the Adj-RIB-In; also the OPEN checks for the
 * OPEN fuzz. Written from the RFC text and independent of the codec: it imports nothing from src/,
 * so a codec bug cannot become the expectation.
 *
 * Header: RFC 4271 §4.1, §6.1, RFC 8654 §4. OPEN in Established: RFC 6608. NOTIFICATION: RFC 4271
 * §6.4. ROUTE-REFRESH: RFC 2918 §3–4, RFC 7313 §5. UPDATE: RFC 4271 §4.3, §5, §6.3 as revised by
 * RFC 7606 §3 (items a–j), §4, §5, §7; RFC 4760 §3–4, §7 (MP_REACH/MP_UNREACH), RFC 2545 §3 (IPv6
 * next hop), RFC 6793 §4.2.3, §6 (AS4_PATH, AS4_AGGREGATOR), RFC 7607 (AS 0), RFC 5065 §5
 * (confederation segments), RFC 8092 §6 (LARGE_COMMUNITY), RFC 9234 §5 (OTC). OPEN: RFC 4271 §6.2,
 * RFC 5492, RFC 6286 §2.2, RFC 6793, RFC 7607, RFC 9072, RFC 9234 §4.2.
 *
 * Where the RFCs leave room, the choice is written next to the rule as "Reading:". Where they give
 * several errors no order, a reset accepts any of the NOTIFICATIONs (a set); §3 g is the exception.
 */

// --- results

/** A NOTIFICATION the speaker may send; `data` (hex) only where an RFC fixes it. */
export interface Notif {
  code: number;
  subcode: number;
  data?: string;
}

export type Family = 'ipv4-unicast' | 'ipv6-unicast';

/** The effect of an accepted UPDATE on the Adj-RIB-In (prefixes as "a.b.c.d/n", "8 hex groups/n"). */
export interface UpdateEffect {
  /** Removed: Withdrawn Routes, MP_UNREACH_NLRI, and with treat-as-withdraw the announced ones. */
  withdraw4: string[];
  withdraw6: string[];
  announce4: string[];
  announce6: string[];
  /** The path attributes the announced routes carry, as `digest` strings (see attrDigest). */
  attrs4?: string;
  attrs6?: string;
  /** Set when the UPDATE is treat-as-withdraw: which rule. */
  treatAsWithdraw?: string;
  /** Attributes dropped by attribute discard or as later duplicates (§3 g). */
  discarded: string[];
}

export type Verdict =
  | { kind: 'accept'; update?: UpdateEffect; refresh?: Family }
  | { kind: 'reset'; acceptable: Notif[]; why: string }
  | { kind: 'peer-notification' };

/** What the session negotiated (RFC 6793 4-octet AS, RFC 8654 extended messages, eBGP or iBGP). */
export interface Negotiated {
  as4: boolean;
  ebgp: boolean;
  extended: boolean;
  families: Family[];
}

// --- small helpers

export function toHex(b: ArrayLike<number>): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += (b[i]! & 0xff).toString(16).padStart(2, '0');
  return s;
}

function u16(b: Uint8Array, p: number): number {
  return (b[p]! << 8) | b[p + 1]!;
}

function u32(b: Uint8Array, p: number): number {
  return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
}

function dotted(b: Uint8Array, p: number): string {
  return `${b[p]}.${b[p + 1]}.${b[p + 2]}.${b[p + 3]}`;
}

/** Canonical prefix text: address bits beyond the length are "irrelevant" (RFC 4271 §4.3). */
export function prefixText(afi: 1 | 2, len: number, bytes: ArrayLike<number>): string {
  const octet = (i: number): number => {
    const bits = len - i * 8;
    if (bits <= 0) return 0;
    const v = bytes[i] ?? 0;
    return bits >= 8 ? v & 0xff : v & (0xff << (8 - bits)) & 0xff;
  };
  if (afi === 1) return `${octet(0)}.${octet(1)}.${octet(2)}.${octet(3)}/${len}`;
  let s = ((octet(0) << 8) | octet(1)).toString(16);
  for (let i = 2; i < 16; i += 2) s += `:${((octet(i) << 8) | octet(i + 1)).toString(16)}`;
  return `${s}/${len}`;
}

/**
 * "length, prefix" pairs (RFC 4271 §4.3; RFC 4760 §5 for MP): false on a syntax error — a length
 * beyond the address size, or a prefix running past the field (RFC 7606 §5.3).
 */
function prefixes(b: Uint8Array, p: number, end: number, afi: 1 | 2, out: string[]): boolean {
  const max = afi === 1 ? 32 : 128;
  while (p < end) {
    const len = b[p]!;
    if (len > max) return false;
    const n = (len + 7) >> 3;
    if (p + 1 + n > end) return false;
    out.push(prefixText(afi, len, b.subarray(p + 1, p + 1 + n)));
    p += 1 + n;
  }
  return true;
}

// --- path attributes

interface Segment {
  type: number;
  asns: number[];
}

/** What the attribute walk keeps of valid attributes, for the digest. */
interface Parsed {
  origin?: number;
  asPath?: Segment[];
  nextHop?: string;
  med?: number;
  localPref?: number;
  atomic: boolean;
  aggregator?: { asn: number; address: string };
  communities?: number[];
  large?: number[];
  otc?: number;
  unknown: { code: number; value: string }[];
  as4Path?: Segment[];
  as4Aggregator?: { asn: number; address: string };
  mpNextHop4?: string;
  mpNextHop6?: string;
}

const AS_TRANS = 23456; // RFC 6793 §2

/**
 * AS_PATH segments (RFC 4271 §4.3): malformed per RFC 7606 §7.2 — an unknown segment type (1–4 are
 * defined, RFC 5065 §3 adds 3 and 4), a segment overrunning the attribute, a single octet left,
 * a zero segment length — or AS 0 anywhere (RFC 7607 §2). A reason string when malformed.
 */
function segments(v: Uint8Array, asSize: 2 | 4): Segment[] | string {
  const out: Segment[] = [];
  let p = 0;
  while (p < v.length) {
    if (v.length - p < 2) return 'one octet left (underrun)';
    const type = v[p]!;
    const count = v[p + 1]!;
    if (type < 1 || type > 4) return `segment type ${type}`;
    if (count === 0) return 'zero segment length';
    p += 2;
    if (p + count * asSize > v.length) return 'segment overrun';
    const asns: number[] = [];
    for (let i = 0; i < count; i++, p += asSize) asns.push(asSize === 4 ? u32(v, p) : u16(v, p));
    if (asns.includes(0)) return 'AS 0 (RFC 7607)';
    out.push({ type, asns });
  }
  return out;
}

/** Adjacent AS_SEQUENCE segments are one sequence (a segment holds at most 255, RFC 4271 §5.1.2). */
function canonicalPath(segs: Segment[]): string {
  const out: Segment[] = [];
  for (const s of segs) {
    const last = out[out.length - 1];
    if (s.type === 2 && last !== undefined && last.type === 2) last.asns.push(...s.asns);
    else out.push({ type: s.type, asns: [...s.asns] });
  }
  return out.map((s) => `${s.type}:${s.asns.join(',')}`).join(' ');
}

/** RFC 4271 §9.1.2.2 a: an AS_SET counts as one; RFC 5065 §5.3: confederation segments as none. */
function pathCount(segs: Segment[]): number {
  let n = 0;
  for (const s of segs) n += s.type === 2 ? s.asns.length : s.type === 1 ? 1 : 0;
  return n;
}

/**
 * RFC 6793 §4.2.3: a NEW speaker rebuilding the path from an OLD one. AS4_PATH longer than
 * AS_PATH: ignored. Otherwise as many ASes (and segments) as needed from the front of AS_PATH,
 * then AS4_PATH, so that the count is that of AS_PATH.
 */
function mergeAs4(asPath: Segment[], as4Path: Segment[]): Segment[] {
  let need = pathCount(asPath) - pathCount(as4Path);
  if (need < 0) return asPath;
  const out: Segment[] = [];
  for (const s of asPath) {
    if (need <= 0) break;
    if (s.type === 2) {
      const take = Math.min(need, s.asns.length);
      out.push({ type: 2, asns: s.asns.slice(0, take) });
      need -= take;
    } else {
      out.push(s);
      if (s.type === 1) need -= 1;
    }
  }
  return [...out, ...as4Path];
}

/**
 * The attribute digest the fuzz compares with what the session hands the RIB: one line per
 * attribute value that matters to routing, absent ones as '-'. The test builds the same string
 * from the decoded attributes.
 */
export interface DigestInput {
  origin: number;
  asPath: Segment[];
  nextHop: string; // "a.b.c.d" or the IPv6 next hop(s) in hex, "-" when none
  med?: number;
  localPref?: number;
  atomic: boolean;
  aggregator?: { asn: number; address: string };
  communities?: number[];
  large?: number[];
  otc?: number;
  unknown: { code: number; value: string }[];
}

export function attrDigest(a: DigestInput): string {
  const opt = (v: number | undefined): string => (v === undefined ? '-' : String(v));
  const list = (v: number[] | undefined): string => (v === undefined ? '-' : v.join(','));
  const unknown = [...a.unknown]
    .sort((x, y) => x.code - y.code)
    .map((u) => `${u.code}:${u.value}`)
    .join(',');
  return [
    `o=${a.origin}`,
    `p=${canonicalPath(a.asPath)}`,
    `nh=${a.nextHop}`,
    `med=${opt(a.med)}`,
    `lp=${opt(a.localPref)}`,
    `aa=${a.atomic ? 1 : 0}`,
    `ag=${a.aggregator === undefined ? '-' : `${a.aggregator.asn}@${a.aggregator.address}`}`,
    `c=${list(a.communities)}`,
    `lc=${list(a.large)}`,
    `otc=${opt(a.otc)}`,
    `u=${unknown}`,
  ].join(' ');
}

const WELL_KNOWN = 0x40;
const OPT_TRANS = 0xc0;
const OPT_NON_TRANS = 0x80;

/**
 * The attributes this speaker recognises, with their Optional/Transitive bits (RFC 4271 §5,
 * RFC 1997, RFC 4760 §3–4, RFC 6793 §3, RFC 8092 §3, RFC 9234 §5). Any other type code is
 * unrecognised: optional ones are passed on (transitive) or quietly ignored (non-transitive),
 * well-known ones are an error (RFC 4271 §5, §6.3). Which attributes an implementation recognises
 * is its choice (not the codec's logic): gredge implements these and not, e.g., ORIGINATOR_ID,
 * CLUSTER_LIST or extended communities, so RFC 7606 §7.9/7.10/7.14 do not apply to it.
 */
const RECOGNISED: Record<number, { name: string; flags: number }> = {
  1: { name: 'ORIGIN', flags: WELL_KNOWN },
  2: { name: 'AS_PATH', flags: WELL_KNOWN },
  3: { name: 'NEXT_HOP', flags: WELL_KNOWN },
  4: { name: 'MULTI_EXIT_DISC', flags: OPT_NON_TRANS },
  5: { name: 'LOCAL_PREF', flags: WELL_KNOWN },
  6: { name: 'ATOMIC_AGGREGATE', flags: WELL_KNOWN },
  7: { name: 'AGGREGATOR', flags: OPT_TRANS },
  8: { name: 'COMMUNITIES', flags: OPT_TRANS },
  14: { name: 'MP_REACH_NLRI', flags: OPT_NON_TRANS },
  15: { name: 'MP_UNREACH_NLRI', flags: OPT_NON_TRANS },
  17: { name: 'AS4_PATH', flags: OPT_TRANS },
  18: { name: 'AS4_AGGREGATOR', flags: OPT_TRANS },
  32: { name: 'LARGE_COMMUNITY', flags: OPT_TRANS },
  35: { name: 'OTC', flags: OPT_TRANS },
};

/** One error found in an UPDATE, with the RFC 7606 §2 approach it calls for. */
interface Fault {
  approach: 'session-reset' | 'treat-as-withdraw' | 'attribute-discard';
  /** RFC 4271 §6.3 subcodes any of which fits this error (for a reset). */
  subcodes: number[];
  data?: string;
  why: string;
}

/**
 * NEXT_HOP must be "a valid IP host address" (RFC 4271 §6.3; RFC 7606 §7.3: otherwise malformed,
 * treat-as-withdraw). Not host addresses: 0.0.0.0 (RFC 1122 §3.2.1.3 "this host", a source
 * address only), 224/4 multicast, 240/4 reserved and the limited broadcast (RFC 1112, RFC 1122).
 * Reading: the rest of 0/8 ("this network") is left to the semantic checks RFC 4271 §6.3 makes
 * the route's business (ignored, no error) — the codec's own tests use 0.0.0.1 as a placeholder —
 * and so is 127/8: the test lab speaks BGP over loopback addresses.
 */
function hostAddress(v: Uint8Array): boolean {
  return (v[0]! | v[1]! | v[2]! | v[3]!) !== 0 && v[0]! < 224;
}

class UpdateReader {
  readonly s: Negotiated;
  readonly faults: Fault[] = [];
  readonly discarded: string[] = [];
  readonly a: Parsed = { atomic: false, unknown: [] };
  readonly seen = new Set<number>();
  mpHeaders = { reach: 0, unreach: 0 };
  reach4: string[] = [];
  reach6: string[] = [];
  unreach4: string[] = [];
  unreach6: string[] = [];

  constructor(s: Negotiated) {
    this.s = s;
  }

  fault(approach: Fault['approach'], subcodes: number[], why: string, data?: Uint8Array): void {
    this.faults.push({ approach, subcodes, why, ...(data ? { data: toHex(data) } : {}) });
  }

  withdraw(subcodes: number[], why: string, whole: Uint8Array): void {
    this.fault('treat-as-withdraw', subcodes, why, whole);
  }

  discard(why: string): void {
    this.discarded.push(why);
  }

  /** One attribute with a value inside the field; `whole` is flags..value (RFC 4271 §6.3 data). */
  attribute(flags: number, code: number, v: Uint8Array, whole: Uint8Array): void {
    const spec = RECOGNISED[code];
    const s = this.s;
    if (spec === undefined) {
      // RFC 7606 §3 g: later copies of an attribute, "whether recognized or unrecognized", are
      // discarded. Reading: unexamined, so a copy flagged well-known is discarded too.
      if (this.seen.has(code)) {
        this.discard(`duplicate attribute ${code}`);
        return;
      }
      this.seen.add(code);
      // RFC 4271 §6.3: an unrecognised well-known attribute is 3/2, data the attribute; RFC 7606
      // leaves this a session reset.
      if ((flags & 0x80) === 0) {
        this.fault('session-reset', [2], `unrecognised well-known attribute ${code}`, whole);
        return;
      }
      // RFC 4271 §5: optional transitive unrecognised → passed on; non-transitive → ignored.
      // Reading: RFC 7606 §4's "length zero is a syntax error" is for attributes whose
      // specification we know; an unrecognised one is passed on as it came.
      if ((flags & 0x40) !== 0) this.a.unknown.push({ code, value: toHex(v) });
      return;
    }
    if (this.seen.has(code)) {
      // RFC 7606 §3 g: MP_REACH/MP_UNREACH twice is counted from the headers (see update());
      // any other attribute: the first is used, the rest discarded unexamined.
      if (code !== 14 && code !== 15) this.discard(`duplicate ${spec.name}`);
      return;
    }
    this.seen.add(code);
    const name = spec.name;

    // RFC 7606 §3 c: an Optional or Transitive bit in conflict with the specification → malformed,
    // treat-as-withdraw, "unless the specification for the attribute mandates different handling
    // for incorrect Attribute Flags". The Partial bit and the four low bits are not compared
    // (§3 c names only Optional and Transitive; RFC 4271 §4.3: low bits "MUST be ignored").
    if ((flags & 0xc0) !== spec.flags) {
      const why = `${name}: flags 0x${flags.toString(16)} (RFC 7606 §3 c)`;
      if (code === 14 || code === 15) {
        // RFC 7606 §5.3: flags inconsistent with RFC 4760 make MP_* malformed → §3 j session
        // reset; RFC 4271 §6.3 calls it Attribute Flags Error, RFC 4760 §7 Optional Attribute Error.
        this.fault('session-reset', [4, 9], why, whole);
      } else if (code === 5 && s.ebgp) {
        // Reading: RFC 7606 §7.5 discards LOCAL_PREF from an external peer whatever it holds; an
        // attribute never used cannot withdraw routes through its flags.
        this.discard(`${why}; from an external peer (RFC 7606 §7.5)`);
      } else if ((code === 17 || code === 18) && s.as4) {
        // Reading: likewise RFC 6793 §6 — from a NEW speaker these "MUST" be discarded.
        this.discard(`${why}; from a 4-octet speaker (RFC 6793 §6)`);
      } else {
        // Reading: also for ATOMIC_AGGREGATE and AGGREGATOR (RFC 7606 §7.6, §7.7 make their
        // length errors attribute discard but say nothing of flags; §3 f covers only cases still
        // "specified as session reset", which a flags error no longer is after §3 c), and for
        // AS4_PATH/AS4_AGGREGATOR from an OLD speaker (RFC 6793 §6 does not address flags).
        this.withdraw([4], why, whole);
      }
      return;
    }

    const n = v.length;
    switch (code) {
      case 1: // RFC 7606 §7.1: length ≠ 1 or an undefined value → treat-as-withdraw.
        if (n !== 1) {
          this.withdraw([5, 6], `ORIGIN length ${n} (RFC 7606 §7.1)`, whole);
          return;
        }
        if (v[0]! > 2) {
          this.withdraw([6], `ORIGIN value ${v[0]} (RFC 7606 §7.1)`, whole);
          return;
        }
        this.a.origin = v[0]!;
        return;
      case 2: {
        // RFC 7606 §7.2 (and RFC 7607): malformed → treat-as-withdraw, 3/11.
        const segs = segments(v, s.as4 ? 4 : 2);
        if (typeof segs === 'string') {
          this.withdraw([11], `AS_PATH ${segs} (RFC 7606 §7.2)`, whole);
          return;
        }
        // RFC 5065 §5: confederation segments from a neighbor outside our confederation are a
        // malformed AS_PATH. We are in no confederation, so every external neighbor is outside.
        // Reading: from an internal neighbor they are accepted (§5 does not cover that case).
        if (s.ebgp && segs.some((x) => x.type === 3 || x.type === 4)) {
          this.withdraw([11], 'AS_PATH confederation segment from eBGP (RFC 5065 §5)', whole);
          return;
        }
        // Reading: RFC 4271 §6.3's check of the leftmost AS is a MAY: not required here.
        this.a.asPath = segs;
        return;
      }
      case 3: // RFC 7606 §7.3, RFC 4271 §6.3.
        if (n !== 4) {
          this.withdraw([5, 8], `NEXT_HOP length ${n} (RFC 7606 §7.3)`, whole);
          return;
        }
        if (!hostAddress(v)) {
          this.withdraw([8], `NEXT_HOP ${dotted(v, 0)} (RFC 7606 §7.3)`, whole);
          return;
        }
        this.a.nextHop = dotted(v, 0);
        return;
      case 4: // RFC 7606 §7.4.
        if (n !== 4) {
          this.withdraw([5, 9], `MULTI_EXIT_DISC length ${n} (RFC 7606 §7.4)`, whole);
          return;
        }
        this.a.med = u32(v, 0);
        return;
      case 5:
        // RFC 7606 §7.5: from an external peer "it SHALL be discarded"; from an internal one,
        // length ≠ 4 is malformed → treat-as-withdraw.
        if (s.ebgp) {
          this.discard('LOCAL_PREF from an external peer (RFC 7606 §7.5)');
          return;
        }
        if (n !== 4) {
          this.withdraw([5], `LOCAL_PREF length ${n} (RFC 7606 §7.5)`, whole);
          return;
        }
        this.a.localPref = u32(v, 0);
        return;
      case 6: // RFC 7606 §7.6: length ≠ 0 → attribute discard.
        if (n !== 0) {
          this.discard(`ATOMIC_AGGREGATE length ${n} (RFC 7606 §7.6)`);
          return;
        }
        this.a.atomic = true;
        return;
      case 7: {
        // RFC 7606 §7.7: length ≠ 6 (2-octet session) / ≠ 8 (4-octet) → attribute discard;
        // RFC 7607 §2: AS 0 is malformed, handled by RFC 7606 → the same discard.
        const want = s.as4 ? 8 : 6;
        if (n !== want) {
          this.discard(`AGGREGATOR length ${n} (RFC 7606 §7.7)`);
          return;
        }
        const asn = s.as4 ? u32(v, 0) : u16(v, 0);
        if (asn === 0) {
          this.discard('AGGREGATOR AS 0 (RFC 7607)');
          return;
        }
        this.a.aggregator = { asn, address: dotted(v, want - 4) };
        return;
      }
      case 8: {
        // RFC 7606 §7.8: length 0 or not a multiple of 4 → treat-as-withdraw.
        if (n === 0 || n % 4 !== 0) {
          this.withdraw([5, 9], `COMMUNITIES length ${n} (RFC 7606 §7.8)`, whole);
          return;
        }
        const c: number[] = [];
        for (let i = 0; i < n; i += 4) c.push(u32(v, i));
        this.a.communities = c;
        return;
      }
      case 14:
        this.mpReachNlri(v, whole);
        return;
      case 15:
        this.mpUnreachNlri(v, whole);
        return;
      case 17: {
        // RFC 6793 §6: from a NEW speaker discarded; from an OLD one malformed (length < 6 or odd,
        // a zero or inconsistent segment length, an undefined type; AS 0 by RFC 7607) → attribute
        // discard; confederation segments are dropped and the rest used.
        if (s.as4) {
          this.discard('AS4_PATH from a 4-octet speaker (RFC 6793 §6)');
          return;
        }
        if (n < 6 || n % 2 !== 0) {
          this.discard(`AS4_PATH length ${n} (RFC 6793 §6)`);
          return;
        }
        const segs = segments(v, 4);
        if (typeof segs === 'string') {
          this.discard(`AS4_PATH ${segs} (RFC 6793 §6)`);
          return;
        }
        const kept = segs.filter((x) => x.type === 1 || x.type === 2);
        if (kept.length !== segs.length) this.discard('AS4_PATH confederation segments (RFC 6793 §6)');
        this.a.as4Path = kept;
        return;
      }
      case 18:
        // RFC 6793 §6: from a NEW speaker discarded; length ≠ 8 (or AS 0, RFC 7607) → discard.
        if (s.as4) {
          this.discard('AS4_AGGREGATOR from a 4-octet speaker (RFC 6793 §6)');
          return;
        }
        if (n !== 8) {
          this.discard(`AS4_AGGREGATOR length ${n} (RFC 6793 §6)`);
          return;
        }
        if (u32(v, 0) === 0) {
          this.discard('AS4_AGGREGATOR AS 0 (RFC 7607)');
          return;
        }
        this.a.as4Aggregator = { asn: u32(v, 0), address: dotted(v, 4) };
        return;
      case 32: {
        // RFC 8092 §6: length not a non-zero multiple of 12 → treat-as-withdraw.
        if (n === 0 || n % 12 !== 0) {
          this.withdraw([5, 9], `LARGE_COMMUNITY length ${n} (RFC 8092 §6)`, whole);
          return;
        }
        const c: number[] = [];
        for (let i = 0; i < n; i += 4) c.push(u32(v, i));
        this.a.large = c;
        return;
      }
      case 35:
        // RFC 9234 §5: length ≠ 4 → treat-as-withdraw. (Its route-leak rules are RIB policy.)
        if (n !== 4) {
          this.withdraw([5, 9], `OTC length ${n} (RFC 9234 §5)`, whole);
          return;
        }
        this.a.otc = u32(v, 0);
        return;
    }
  }

  /**
   * MP_REACH_NLRI (RFC 4760 §3): AFI, SAFI, next hop length and address, a reserved octet
   * ("SHOULD be ignored upon receipt"), NLRI. Malformed (RFC 7606 §5.3, §7.11: length < 5, a next
   * hop length not that of the family, NLRI syntax) → session reset (§3 j; we do not implement
   * AFI/SAFI disable); RFC 4760 §7 names Optional Attribute Error, RFC 4271 §6.3 Attribute Length
   * Error / Invalid Network Field.
   */
  mpReachNlri(v: Uint8Array, whole: Uint8Array): void {
    const n = v.length;
    if (n < 5) {
      this.fault('session-reset', [9, 5], `MP_REACH_NLRI length ${n} (RFC 7606 §5.3)`, whole);
      return;
    }
    const afi = u16(v, 0);
    const safi = v[2]!;
    const nhLen = v[3]!;
    if (4 + nhLen + 1 > n) {
      this.fault('session-reset', [9, 5], 'MP_REACH_NLRI next hop overrun', whole);
      return;
    }
    const fam = family(afi, safi);
    if (fam === undefined || !this.s.families.includes(fam)) {
      // Reading: an AFI/SAFI not negotiated is not ours to parse (RFC 4760 §6 advertises the
      // families); its attribute is ignored, and its NLRI do not count as reachable for §5.2.
      this.discard(`MP_REACH_NLRI for AFI ${afi} SAFI ${safi}`);
      return;
    }
    // RFC 7606 §7.11: a next hop length inconsistent with the family is malformed. IPv6: 16, or
    // 32 with a link-local address (RFC 2545 §3); IPv4: 4 (RFC 8950's 16 is not negotiated).
    const okLen = afi === 1 ? nhLen === 4 : nhLen === 16 || nhLen === 32;
    if (!okLen) {
      this.fault('session-reset', [9], `MP_REACH_NLRI next hop length ${nhLen} (RFC 7606 §7.11)`, whole);
      return;
    }
    // Reading: RFC 7606 §7.11 checks only the length of the MP next hop, not the address.
    if (afi === 1) this.a.mpNextHop4 = dotted(v, 4);
    else this.a.mpNextHop6 = toHex(v.subarray(4, 4 + nhLen));
    const out = afi === 1 ? this.reach4 : this.reach6;
    if (!prefixes(v, 5 + nhLen, n, afi as 1 | 2, out)) {
      this.fault('session-reset', [9, 10], 'MP_REACH_NLRI invalid prefix (RFC 7606 §5.3)');
    }
  }

  /** MP_UNREACH_NLRI (RFC 4760 §4): AFI, SAFI, withdrawn routes; malformed as for MP_REACH. */
  mpUnreachNlri(v: Uint8Array, whole: Uint8Array): void {
    const n = v.length;
    if (n < 3) {
      this.fault('session-reset', [9, 5], `MP_UNREACH_NLRI length ${n} (RFC 7606 §5.3)`, whole);
      return;
    }
    const afi = u16(v, 0);
    const fam = family(afi, v[2]!);
    if (fam === undefined || !this.s.families.includes(fam)) {
      this.discard(`MP_UNREACH_NLRI for AFI ${afi} SAFI ${v[2]}`);
      return;
    }
    const out = afi === 1 ? this.unreach4 : this.unreach6;
    if (!prefixes(v, 3, n, afi as 1 | 2, out)) {
      this.fault('session-reset', [9, 10], 'MP_UNREACH_NLRI invalid prefix (RFC 7606 §5.3)');
    }
  }
}

function family(afi: number, safi: number): Family | undefined {
  if (safi !== 1) return undefined;
  return afi === 1 ? 'ipv4-unicast' : afi === 2 ? 'ipv6-unicast' : undefined;
}

const reset = (acceptable: Notif[], why: string): Verdict => ({ kind: 'reset', acceptable, why });

function union(faults: Fault[], code: number): Notif[] {
  const out: Notif[] = [];
  for (const f of faults) {
    for (const sub of f.subcodes) {
      // RFC 4271 §6.3 fixes the data only for attribute errors that name "the erroneous
      // attribute"; of those we check it for 3/2 (unrecognised well-known attribute).
      const n: Notif =
        sub === 2 && f.data !== undefined ? { code, subcode: sub, data: f.data } : { code, subcode: sub };
      if (!out.some((o) => o.subcode === n.subcode && o.data === n.data)) out.push(n);
    }
  }
  return out;
}

/** The RFC outcome of an UPDATE body (after the 19-octet header). */
export function classifyUpdate(b: Uint8Array, s: Negotiated): Verdict {
  const len = b.length;
  // RFC 7606 §3 b (RFC 4271 §6.3 unchanged): Withdrawn Routes Length or Total Attribute Length
  // too large → 3/1. Nothing else can be parsed then.
  const wlen = u16(b, 0);
  if (4 + wlen > len)
    return reset([{ code: 3, subcode: 1 }], 'withdrawn routes length overrun (RFC 7606 §3 b)');
  const alen = u16(b, 2 + wlen);
  const aStart = 4 + wlen;
  const aEnd = aStart + alen;
  if (aEnd > len) return reset([{ code: 3, subcode: 1 }], 'total attribute length overrun (RFC 7606 §3 b)');

  const r = new UpdateReader(s);
  // RFC 7606 §3 i: the Withdrawn Routes are checked like the NLRI field; §5.3 and §3 j: a syntax
  // error there is a session reset, Invalid Network Field (RFC 4271 §6.3).
  const withdrawn: string[] = [];
  if (!prefixes(b, 2, 2 + wlen, 1, withdrawn))
    r.fault('session-reset', [10], 'withdrawn routes syntax (RFC 7606 §3 i)');
  const nlri: string[] = [];
  if (!prefixes(b, aEnd, len, 1, nlri)) r.fault('session-reset', [10], 'NLRI syntax (RFC 7606 §5.3)');

  // The attribute walk.
  let p = aStart;
  while (p < aEnd) {
    const left = aEnd - p;
    const ext = (b[p]! & 0x10) !== 0;
    if (left < 3 || (ext && left < 4)) {
      // RFC 7606 §4, second case: not enough left for an attribute header → treat-as-withdraw
      // (the Total Attribute Length still locates the NLRI). Reading: if the cut header is
      // MP_REACH/MP_UNREACH, those cannot be parsed, and §3 j makes that a session reset.
      const code = left >= 2 ? b[p + 1]! : -1;
      if (code === 14 || code === 15)
        r.fault('session-reset', [9, 1, 5], `MP attribute ${code} header cut (RFC 7606 §3 j)`);
      else r.fault('treat-as-withdraw', [1, 5], 'attribute header underrun (RFC 7606 §4)');
      break;
    }
    const flags = b[p]!;
    const code = b[p + 1]!;
    const hdr = ext ? 4 : 3;
    const vlen = ext ? u16(b, p + 2) : b[p + 2]!;
    if (code === 14 && ++r.mpHeaders.reach === 2)
      r.fault('session-reset', [1], 'MP_REACH_NLRI twice (RFC 7606 §3 g)');
    if (code === 15 && ++r.mpHeaders.unreach === 2)
      r.fault('session-reset', [1], 'MP_UNREACH_NLRI twice (RFC 7606 §3 g)');
    if (p + hdr + vlen > aEnd) {
      // RFC 7606 §4, first case: the last attribute overruns the field → treat-as-withdraw;
      // MP_REACH/MP_UNREACH: session reset as above (§3 j).
      if (code === 14 || code === 15)
        r.fault('session-reset', [9, 1, 5], `MP attribute ${code} overruns (RFC 7606 §3 j)`);
      else r.fault('treat-as-withdraw', [1, 5], `attribute ${code} overruns the attributes (RFC 7606 §4)`);
      break;
    }
    r.attribute(flags, code, b.subarray(p + hdr, p + hdr + vlen), b.subarray(p, p + hdr + vlen));
    p += hdr + vlen;
  }

  // §3 g: "If the MP_REACH_NLRI attribute or the MP_UNREACH_NLRI attribute appears more than once
  // in the UPDATE message, then a NOTIFICATION message MUST be sent with the Error Subcode
  // 'Malformed Attribute List'" — whatever else is wrong with it.
  if (r.mpHeaders.reach > 1 || r.mpHeaders.unreach > 1) {
    return reset([{ code: 3, subcode: 1 }], 'MP_REACH_NLRI/MP_UNREACH_NLRI more than once (RFC 7606 §3 g)');
  }
  // §3 h: the strongest approach wins; between several resets the RFCs give no order.
  const resets = r.faults.filter((f) => f.approach === 'session-reset');
  if (resets.length > 0) return reset(union(resets, 3), resets.map((f) => f.why).join('; '));

  const reach4 = [...nlri, ...r.reach4];
  const reachable = reach4.length > 0 || r.reach6.length > 0;
  let withdraws = r.faults.filter((f) => f.approach === 'treat-as-withdraw');
  // §5.2: path attributes (other than MP_UNREACH_NLRI) but no reachable NLRI: any error other than
  // attribute discard → session reset, since §3 j's parse of the NLRI cannot be trusted. (A
  // withdraw-class error always comes from an attribute other than MP_UNREACH_NLRI.) The
  // subcode is that of the error (RFC 4271 §6.3).
  if (!reachable && withdraws.length > 0) {
    return reset(
      union(withdraws, 3),
      `no reachable NLRI (RFC 7606 §5.2): ${withdraws.map((f) => f.why).join('; ')}`,
    );
  }
  if (reachable && withdraws.length === 0) {
    // §3 d: a missing well-known mandatory attribute → treat-as-withdraw. Mandatory with NLRI:
    // ORIGIN, AS_PATH, and NEXT_HOP only for NLRI in the NLRI field (RFC 4760 §3, §3 d's note).
    const why = !r.seen.has(1)
      ? 'ORIGIN'
      : !r.seen.has(2)
        ? 'AS_PATH'
        : nlri.length > 0 && !r.seen.has(3)
          ? 'NEXT_HOP'
          : undefined;
    if (why !== undefined) {
      withdraws = [{ approach: 'treat-as-withdraw', subcodes: [3], why: `missing ${why} (RFC 7606 §3 d)` }];
    }
  }

  const effect: UpdateEffect = {
    withdraw4: [...withdrawn, ...r.unreach4],
    withdraw6: [...r.unreach6],
    announce4: [],
    announce6: [],
    discarded: r.discarded,
  };
  if (withdraws.length > 0) {
    // RFC 7606 §2: treat-as-withdraw — the announced routes are withdrawn.
    effect.withdraw4.push(...reach4);
    effect.withdraw6.push(...r.reach6);
    effect.treatAsWithdraw = withdraws.map((f) => f.why).join('; ');
    return { kind: 'accept', update: effect };
  }
  effect.announce4 = reach4;
  effect.announce6 = r.reach6;
  if (!reachable) return { kind: 'accept', update: effect };

  const a = r.a;
  let asPath = a.asPath ?? [];
  let aggregator = a.aggregator;
  if (!s.as4) {
    // RFC 6793 §4.2.3: an AGGREGATOR with an AS other than AS_TRANS means AS4_PATH and
    // AS4_AGGREGATOR are ignored; otherwise AS4_AGGREGATOR replaces it and AS4_PATH is merged.
    // Reading: an AS4_AGGREGATOR without an AGGREGATOR replaces nothing.
    if (aggregator === undefined || aggregator.asn === AS_TRANS) {
      if (aggregator !== undefined && a.as4Aggregator !== undefined) aggregator = a.as4Aggregator;
      if (a.as4Path !== undefined) asPath = mergeAs4(asPath, a.as4Path);
    }
  }
  const base = {
    origin: a.origin ?? 0,
    asPath,
    med: a.med,
    localPref: a.localPref,
    atomic: a.atomic,
    aggregator,
    communities: a.communities,
    large: a.large,
    otc: a.otc,
    unknown: a.unknown,
  };
  // The IPv4 routes of the NLRI field use NEXT_HOP; those of an IPv4 MP_REACH_NLRI its next hop
  // (RFC 4760 §3). The generator never sends both in one UPDATE.
  if (reach4.length > 0) effect.attrs4 = attrDigest({ ...base, nextHop: a.mpNextHop4 ?? a.nextHop ?? '-' });
  if (r.reach6.length > 0) effect.attrs6 = attrDigest({ ...base, nextHop: a.mpNextHop6 ?? '-' });
  return { kind: 'accept', update: effect };
}

/** ROUTE-REFRESH (RFC 2918 §3: AFI, reserved/subtype, SAFI; RFC 7313 §3 subtypes, §5 errors). */
function classifyRouteRefresh(m: Uint8Array, len: number, s: Negotiated): Verdict {
  const body = m.subarray(19, len);
  const lenField = toHex(m.subarray(16, 18));
  const subtype = body.length >= 3 ? body[2]! : -1;
  if (body.length !== 4) {
    // RFC 7313 §5: subtype 1 or 2 (BoRR, EoRR) with a length other than 4 → 7/1, data the
    // complete message. Otherwise a wrong length is Bad Message Length with the Length field
    // (RFC 4271 §6.1). Reading: below 23 octets the header check of the type's length may come
    // first, so 1/2 is also accepted there.
    const borr: Notif = { code: 7, subcode: 1, data: toHex(m.subarray(0, len)) };
    const bad: Notif = { code: 1, subcode: 2, data: lenField };
    if (subtype === 1 || subtype === 2)
      return reset(body.length < 4 ? [borr, bad] : [borr], 'RFC 7313 §5 length');
    return reset([bad], 'ROUTE-REFRESH length (RFC 4271 §6.1)');
  }
  const fam = family(u16(body, 0), body[3]!);
  // RFC 2918 §4: an AFI/SAFI not advertised is ignored; RFC 7313 §5: subtypes other than 0, 1, 2
  // are ignored, and BoRR/EoRR from the peer only mark its own re-advertisement.
  if (fam === undefined || !s.families.includes(fam) || subtype !== 0) return { kind: 'accept' };
  return { kind: 'accept', refresh: fam };
}

/** What the session must do with one whole message received in Established. */
export function classify(m: Uint8Array, s: Negotiated): Verdict {
  // RFC 4271 §6.1, in no particular order: marker not all ones → 1/1; Length below 19, above the
  // maximum (4096, or 65535 once RFC 8654 is negotiated), or wrong for the type → 1/2 with the
  // Length field; an unknown type → 1/3 with the Type field.
  const faults: Notif[] = [];
  for (let i = 0; i < 16; i++) {
    if (m[i] !== 0xff) {
      faults.push({ code: 1, subcode: 1 });
      break;
    }
  }
  const len = u16(m, 16);
  const type = m[18]!;
  const lenField = toHex(m.subarray(16, 18));
  const max = s.extended ? 65535 : 4096;
  const badLength = (): void => {
    if (!faults.some((f) => f.subcode === 2)) faults.push({ code: 1, subcode: 2, data: lenField });
  };
  if (len < 19 || len > max) badLength();
  if (type < 1 || type > 5) faults.push({ code: 1, subcode: 3, data: toHex([type]) });
  // Per type: OPEN 29–4096 (RFC 8654 §4: OPEN and KEEPALIVE are never extended), UPDATE ≥ 23,
  // NOTIFICATION ≥ 21, KEEPALIVE exactly 19. ROUTE-REFRESH lengths: classifyRouteRefresh.
  if (type === 1 && (len < 29 || len > 4096)) badLength();
  if (type === 2 && len < 23) badLength();
  if (type === 3 && len < 21) badLength();
  if (type === 4 && len !== 19) badLength();
  if (type === 5 && len < 19 + 3 && !faults.some((f) => f.subcode === 2)) {
    // Too short to hold a subtype: only the length can be wrong (RFC 4271 §6.1).
    badLength();
  }
  if (faults.length > 0) {
    // RFC 6608: an OPEN in Established is an FSM error; with a bad length either applies.
    if (type === 1 && faults.every((f) => f.subcode === 2)) faults.push({ code: 5, subcode: 3 });
    return reset(faults, 'message header (RFC 4271 §6.1)');
  }
  switch (type) {
    case 1:
      return reset([{ code: 5, subcode: 3 }], 'OPEN in Established (RFC 6608)');
    case 2:
      return classifyUpdate(m.subarray(19, len), s);
    case 3:
      // RFC 4271 §6.4: the session ends; no NOTIFICATION is sent back.
      return { kind: 'peer-notification' };
    case 4:
      return { kind: 'accept' };
    default:
      return classifyRouteRefresh(m, len, s);
  }
}

// --- the Adj-RIB-In as the RFCs define it (RFC 4271 §3.2, §9)

interface RibEntry {
  digest: string | undefined; // undefined: withdrawn
  seq: number; // the message that last announced or withdrew it
  at: number; // index in `keys` while announced, else -1
}

/** One family's routes, with O(1) random pick (the generator re-announces and withdraws them). */
export class Routes {
  readonly keys: string[] = [];
  readonly #entries = new Map<string, RibEntry>();

  get size(): number {
    return this.keys.length;
  }
  has(k: string): boolean {
    const e = this.#entries.get(k);
    return e !== undefined && e.at >= 0;
  }
  digest(k: string): string | undefined {
    return this.#entries.get(k)?.digest;
  }
  /** The message that last announced or withdrew `k`. */
  touched(k: string): number | undefined {
    return this.#entries.get(k)?.seq;
  }
  set(k: string, digest: string, seq: number): void {
    const e = this.#entries.get(k);
    if (e === undefined) {
      this.#entries.set(k, { digest, seq, at: this.keys.length });
      this.keys.push(k);
      return;
    }
    e.digest = digest;
    e.seq = seq;
    if (e.at < 0) {
      e.at = this.keys.length;
      this.keys.push(k);
    }
  }
  drop(k: string, seq: number): void {
    const e = this.#entries.get(k);
    if (e === undefined) {
      this.#entries.set(k, { digest: undefined, seq, at: -1 });
      return;
    }
    e.digest = undefined;
    e.seq = seq;
    if (e.at < 0) return;
    const last = this.keys.pop()!;
    if (last !== k) {
      this.keys[e.at] = last;
      this.#entries.get(last)!.at = e.at;
    }
    e.at = -1;
  }
  clear(): void {
    this.keys.length = 0;
    this.#entries.clear();
  }
}

/**
 * The routes one session's accepted UPDATEs leave, with the attribute digest and the message that
 * last set or withdrew each prefix (to name the culprit of a difference). Within one UPDATE
 * withdrawals come first: RFC 4271 §4.3 — a prefix in both Withdrawn Routes and NLRI is treated
 * "as though the WITHDRAWN ROUTES do not contain the address prefix".
 */
export class AdjRibIn {
  readonly v4 = new Routes();
  readonly v6 = new Routes();

  apply(e: UpdateEffect, seq: number): void {
    for (const p of e.withdraw4) this.v4.drop(p, seq);
    for (const p of e.withdraw6) this.v6.drop(p, seq);
    for (const p of e.announce4) this.v4.set(p, e.attrs4!, seq);
    for (const p of e.announce6) this.v6.set(p, e.attrs6!, seq);
  }

  clear(): void {
    this.v4.clear();
    this.v6.clear();
  }
}

// --- OPEN (for the OPEN fuzz: the session in OpenSent)

export interface OpenConfig {
  remoteAs: number;
  localAs: number;
  localId: number;
  /** Our RFC 9234 role toward the neighbor, when one is configured. */
  localRole?: number;
}

/** RFC 9234 §4.2 table 2: the correct (local, remote) role pairs. */
function rolesFit(local: number, remote: number): boolean {
  const pairs: [number, number][] = [
    [0, 3],
    [3, 0],
    [1, 2],
    [2, 1],
    [4, 4],
  ];
  return pairs.some(([l, r]) => l === local && r === remote);
}

/**
 * The NOTIFICATIONs an OPEN may get (any of them: RFC 4271 §6.2 orders none), or 'ok'. Header
 * (RFC 4271 §6.1), then §6.2: version ≠ 4 → 2/1 with data the version we support (2 octets,
 * "the largest locally-supported version number less than the version the remote BGP peer bid,
 * or ... the smallest", i.e. 4); an unacceptable AS → 2/2 (AS 0: RFC 7607 §2; with the 4-octet
 * AS capability the peer's AS is the capability's, RFC 6793 §4.2.1); Hold Time 1 or 2 → 2/6;
 * BGP Identifier 0, or ours from an internal peer → 2/3 (RFC 6286 §2.2); an optional parameter
 * not understood → 2/4; a recognised one (capabilities, RFC 5492) malformed → 2/0 "Unspecific";
 * roles that do not fit or disagree → 2/11 (RFC 9234 §4.2). RFC 9072: a non-extended length of
 * 255 with a first parameter type of 255 announces 2-octet parameter lengths.
 */
export function classifyOpen(m: Uint8Array, c: OpenConfig): Notif[] | 'ok' {
  const out: Notif[] = [];
  const add = (n: Notif): void => {
    if (!out.some((o) => o.code === n.code && o.subcode === n.subcode)) out.push(n);
  };
  for (let i = 0; i < 16; i++) if (m[i] !== 0xff) return [{ code: 1, subcode: 1 }];
  const len = u16(m, 16);
  if (len < 29 || len > 4096 || len !== m.length)
    return [{ code: 1, subcode: 2, data: toHex(m.subarray(16, 18)) }];
  const b = m.subarray(19);
  const version = b[0]!;
  const myAs = u16(b, 1);
  const hold = u16(b, 3);
  const id = u32(b, 5);
  if (version !== 4) add({ code: 2, subcode: 1, data: '0004' });
  if (hold === 1 || hold === 2) add({ code: 2, subcode: 6 });
  if (id === 0) add({ code: 2, subcode: 3 });

  let as4: number | undefined;
  const roles: number[] = [];
  let p = 10;
  let optLen = b[9]!;
  let extended = false;
  if (optLen === 255 && b.length > 10 && b[10] === 255) {
    // RFC 9072 §2: Non-Ext OP Type 255 → the next two octets are the parameters' length.
    if (b.length < 13) add({ code: 2, subcode: 0 });
    else {
      extended = true;
      optLen = u16(b, 11);
      p = 13;
    }
  }
  if (p + optLen !== b.length) {
    // Reading: an Optional Parameters Length that does not match the message is a malformed
    // optional parameters field (2/0); a length check could also call it 1/2.
    add({ code: 2, subcode: 0 });
    add({ code: 1, subcode: 2 });
  } else {
    const hlen = extended ? 3 : 2;
    while (p < b.length) {
      if (b.length - p < hlen) {
        add({ code: 2, subcode: 0 });
        break;
      }
      const type = b[p]!;
      const plen = extended ? u16(b, p + 1) : b[p + 1]!;
      p += hlen;
      if (p + plen > b.length) {
        add({ code: 2, subcode: 0 });
        break;
      }
      if (type !== 2) add({ code: 2, subcode: 4 });
      else {
        const caps = capabilities(b.subarray(p, p + plen));
        if (caps === 'malformed') add({ code: 2, subcode: 0 });
        else {
          if (caps.as4 !== undefined) as4 = caps.as4;
          roles.push(...caps.roles);
        }
      }
      p += plen;
    }
  }
  const peerAs = as4 ?? myAs;
  if (myAs === 0 || as4 === 0 || peerAs !== c.remoteAs) add({ code: 2, subcode: 2 });
  if (peerAs === c.localAs && id === c.localId >>> 0) add({ code: 2, subcode: 3 });
  if (roles.length > 0) {
    if (roles.some((r) => r !== roles[0])) add({ code: 2, subcode: 11 });
    else if (c.localRole !== undefined && !rolesFit(c.localRole, roles[0]!)) add({ code: 2, subcode: 11 });
  }
  return out.length === 0 ? 'ok' : out;
}

/**
 * Capabilities (RFC 5492 §4: code, length, value), malformed when a header or value overruns the
 * parameter or a known capability has the wrong length: multiprotocol 4 (RFC 4760 §8), route
 * refresh 0 (RFC 2918 §2), extended message 0 (RFC 8654 §3), role 1 (RFC 9234 §4.1), graceful
 * restart 2 + 4n (RFC 4724 §3), 4-octet AS 4 (RFC 6793 §3), enhanced route refresh 0 (RFC 7313 §3).
 * Unknown capabilities are ignored (RFC 5492 §3).
 */
function capabilities(v: Uint8Array): { as4?: number; roles: number[] } | 'malformed' {
  const roles: number[] = [];
  let as4: number | undefined;
  let p = 0;
  while (p < v.length) {
    if (v.length - p < 2) return 'malformed';
    const code = v[p]!;
    const n = v[p + 1]!;
    p += 2;
    if (p + n > v.length) return 'malformed';
    const fixed: Record<number, number> = { 1: 4, 2: 0, 6: 0, 9: 1, 65: 4, 70: 0 };
    const want = fixed[code];
    if (want !== undefined && n !== want) return 'malformed';
    if (code === 64 && (n < 2 || (n - 2) % 4 !== 0)) return 'malformed';
    if (code === 9) roles.push(v[p]!);
    if (code === 65) as4 = u32(v, p);
    p += n;
  }
  return as4 === undefined ? { roles } : { as4, roles };
}
