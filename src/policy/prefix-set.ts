/**
 * Prefix rules as operators write them in route filters: `PREFIX` (that prefix only),
 * `PREFIX le N` (it and its more specifics up to length N), `PREFIX ge N` (more specifics of
 * length N and longer), `PREFIX ge N le M`. A PrefixSet answers "does any rule match this prefix
 * key?" for the compact keys of src/bgp/wire (Prefix4 numbers, Prefix6 strings) without
 * formatting them: it runs once per imported prefix, a million times for a full table.
 */
import { MASK4, parseIpv4, parseIpv6, prefix4Addr, prefix4Len } from '../bgp/wire/prefix.js';
import type { Prefix4, Prefix6 } from '../bgp/wire/types.js';
import { type Cidr, overlaps } from '../net/ip.js';

export interface PrefixRule {
  /** As written, for messages and printing. */
  text: string;
  family: 4 | 6;
  /** The rule's own prefix length. */
  len: number;
  /** Lengths matched: ge .. le (both inclusive). */
  ge: number;
  le: number;
  /** IPv4 network (host bits zero). */
  net4: number;
  /** IPv6 network bytes (host bits zero). */
  net6: Uint8Array;
}

const RULE = /^\s*(\S+)\/(\d{1,3})(?:\s+ge\s+(\d{1,3}))?(?:\s+le\s+(\d{1,3}))?\s*$/;

/** A rule, or why the text is not one. */
export function parsePrefixRule(text: string): PrefixRule | string {
  const m = RULE.exec(text);
  if (m === null) return `'${text}' is not PREFIX/LEN [ge N] [le N]`;
  const [, addr, lenText, geText, leText] = m as unknown as [string, string, string, string?, string?];
  const len = Number(lenText);
  const v4 = parseIpv4(addr);
  const v6 = v4 === undefined ? parseIpv6(addr) : undefined;
  if (v4 === undefined && v6 === undefined) return `'${addr}' is not an IPv4 or IPv6 address`;
  const family = v4 !== undefined ? 4 : 6;
  const max = family === 4 ? 32 : 128;
  if (len > max) return `prefix length ${len} is longer than ${max}`;
  const ge = geText !== undefined ? Number(geText) : len;
  const le = leText !== undefined ? Number(leText) : geText !== undefined ? max : len;
  if (ge < len) return `ge ${ge} is shorter than the prefix length ${len}`;
  if (ge > max) return `ge ${ge} is longer than ${max}`;
  if (le > max) return `le ${le} is longer than ${max}`;
  if (le < ge)
    return `le ${le} is shorter than ${geText !== undefined ? `ge ${ge}` : `the prefix length ${len}`}`;
  const net6 = new Uint8Array(16);
  let net4 = 0;
  if (v4 !== undefined) {
    if ((v4 & ~MASK4[len]!) !== 0) return `'${addr}/${len}' has host bits set beyond /${len}`;
    net4 = v4;
  } else {
    for (let i = 0; i < 16; i++) {
      const bits = Math.max(0, Math.min(8, len - i * 8));
      const mask = bits === 0 ? 0 : (0xff << (8 - bits)) & 0xff;
      if ((v6![i]! & ~mask & 0xff) !== 0) return `'${addr}/${len}' has host bits set beyond /${len}`;
      net6[i] = v6![i]!;
    }
  }
  return { text: text.trim().replace(/\s+/g, ' '), family, len, ge, le, net4, net6 };
}

/** Shared by every octet no rule covers (never written to). */
const NONE: readonly PrefixRule[] = Object.freeze([]);

/**
 * Up to this many rules of a family are scanned in a row; more are looked up by first octet. A
 * customer's own prefixes are a handful of rules, and a box holds thousands of customers: a
 * 256-slot table per customer and family cost 1.5 s and megabytes at 10,000 customers, for
 * nothing a scan of four rules does not do as fast.
 */
const SCAN_MAX = 8;

/**
 * Rules by the first octet of the addresses they cover (a prefix is tested against its own
 * octet's), or, for a few rules, the rules themselves in one list.
 */
function byFirstOctet(
  rules: readonly PrefixRule[],
  first: (r: PrefixRule) => number,
): readonly PrefixRule[] | Array<readonly PrefixRule[]> {
  if (rules.length <= SCAN_MAX) return rules.length === 0 ? NONE : rules;
  const out: Array<readonly PrefixRule[]> = new Array(256).fill(NONE);
  for (const r of rules) {
    const span = r.len >= 8 ? 1 : 1 << (8 - r.len);
    const base = first(r) & ~(span - 1);
    for (let o = base; o < base + span; o++) {
      if (out[o] === NONE) out[o] = [];
      (out[o] as PrefixRule[]).push(r);
    }
  }
  return out;
}

export class PrefixSet {
  readonly rules: readonly PrefixRule[];
  /** byFirstOctet's table, or (a few rules) the rules to scan. */
  readonly #v4: readonly PrefixRule[] | Array<readonly PrefixRule[]>;
  readonly #v6: readonly PrefixRule[] | Array<readonly PrefixRule[]>;
  readonly #scan4: boolean;
  readonly #scan6: boolean;

  constructor(rules: readonly PrefixRule[]) {
    this.rules = rules;
    // A prefix inside a rule starts with an octet the rule covers, so only that octet's list
    // needs looking at: a full table against the default bogons tests one or two rules each.
    const v4 = rules.filter((r) => r.family === 4);
    const v6 = rules.filter((r) => r.family === 6);
    this.#v4 = byFirstOctet(v4, (r) => r.net4 >>> 24);
    this.#v6 = byFirstOctet(v6, (r) => r.net6[0]!);
    this.#scan4 = v4.length <= SCAN_MAX;
    this.#scan6 = v6.length <= SCAN_MAX;
  }

  /** From rule texts that are known to be valid (config already checked them). */
  static of(texts: readonly string[]): PrefixSet {
    return new PrefixSet(
      texts.map((t) => {
        const r = parsePrefixRule(t);
        if (typeof r === 'string') throw new Error(r);
        return r;
      }),
    );
  }

  get size(): number {
    return this.rules.length;
  }

  /** The first rule matching an IPv4 prefix key, or undefined. */
  match4(p: Prefix4): PrefixRule | undefined {
    const len = prefix4Len(p);
    const addr = prefix4Addr(p);
    const list = this.#scan4
      ? (this.#v4 as readonly PrefixRule[])
      : (this.#v4 as Array<readonly PrefixRule[]>)[addr >>> 24]!;
    for (let i = 0; i < list.length; i++) {
      const r = list[i]!;
      if (len < r.ge || len > r.le) continue;
      if ((addr & MASK4[r.len]!) >>> 0 === r.net4) return r;
    }
    return undefined;
  }

  /** The first rule matching an IPv6 prefix key (length char, then the prefix bytes). */
  match6(p: Prefix6): PrefixRule | undefined {
    const len = p.charCodeAt(0);
    const list = this.#scan6
      ? (this.#v6 as readonly PrefixRule[])
      : (this.#v6 as Array<readonly PrefixRule[]>)[p.length > 1 ? p.charCodeAt(1) : 0]!;
    for (let i = 0; i < list.length; i++) {
      const r = list[i]!;
      if (len < r.ge || len > r.le) continue;
      if (inside6(p, r.net6, r.len)) return r;
    }
    return undefined;
  }

  has4(p: Prefix4): boolean {
    return this.match4(p) !== undefined;
  }

  has6(p: Prefix6): boolean {
    return this.match6(p) !== undefined;
  }
}

/** Whether the first `len` bits of key `p` equal those of `net` (bytes the key lacks are 0). */
function inside6(p: Prefix6, net: Uint8Array, len: number): boolean {
  const whole = len >> 3;
  for (let i = 0; i < whole; i++) if ((i + 1 < p.length ? p.charCodeAt(i + 1) : 0) !== net[i]) return false;
  const rest = len & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  const b = whole + 1 < p.length ? p.charCodeAt(whole + 1) : 0;
  return (b & mask) === net[whole];
}

/** Rules match a common prefix: one's prefix contains the other's, and their lengths meet. */
export function rulesOverlap(a: PrefixRule, b: PrefixRule): boolean {
  if (a.family !== b.family) return false;
  const ca = ruleCidr(a);
  const cb = ruleCidr(b);
  if (!overlaps(ca, cb)) return false;
  return Math.max(a.ge, b.ge) <= Math.min(a.le, b.le);
}

/** The prefix a rule is about, as a CIDR. */
export function ruleCidr(r: PrefixRule): Cidr {
  const bytes =
    r.family === 4
      ? Uint8Array.of(r.net4 >>> 24, (r.net4 >>> 16) & 0xff, (r.net4 >>> 8) & 0xff, r.net4 & 0xff)
      : r.net6;
  return { family: r.family, bytes, length: r.len };
}
