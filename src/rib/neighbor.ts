/**
 * Per-neighbor RIB state: what the decision process and the export policy need to know about a
 * neighbor (from its config and, once Established, its SessionInfo), its Adj-RIB-Out per family
 * and its counters. Next-hop-self addresses follow RFC 4271 §5.1.3 and RFC 2545 §3 (IPv6 next
 * hop over an IPv4 session: configured next-hop6, else the IPv4-mapped local address).
 */
import { parseIpv4, parseIpv6 } from '../bgp/wire/index.js';
import type { CodecContext, Family, NextHop6, Prefix4, Prefix6 } from '../bgp/wire/types.js';
import { MAX_EXTENDED_MESSAGE_LENGTH, MAX_MESSAGE_LENGTH } from '../bgp/wire/types.js';
import type { NeighborConfig } from '../config/types.js';
import { allowMask, exportTable, neverToReseller, otcAdds, otcBlocks, targetOf } from '../policy/export.js';
import { type GlobalPolicy, ImportPolicy, REFUSALS } from '../policy/import.js';
import type { ExportContext } from '../policy/transform.js';
import type { OutboundSink, SessionInfo } from './channel.js';
import { AdjOut, type ExportPeer, type OutTarget } from './adj-out.js';
import type { LocRib } from './loc-rib.js';
import { unmapIpv4 } from '../net/ip.js';

/** Sortable address key: IPv4 before IPv6, then numeric (RFC 4271 §9.1.2.2 g). */
export function addressKey(a: string): string {
  a = unmapIpv4(a);
  const v4 = parseIpv4(a);
  if (v4 !== undefined) return `4${v4.toString(16).padStart(8, '0')}`;
  const v6 = parseIpv6(a);
  if (v6 !== undefined) return `6${Buffer.from(v6).toString('hex')}`;
  return `9${a}`;
}

function mapped(v4: number): Uint8Array {
  const b = new Uint8Array(16);
  b[10] = 0xff;
  b[11] = 0xff;
  b[12] = v4 >>> 24;
  b[13] = (v4 >>> 16) & 0xff;
  b[14] = (v4 >>> 8) & 0xff;
  b[15] = v4 & 0xff;
  return b;
}

export class NeighborState implements ExportPeer, OutTarget {
  readonly idx: number;
  /** Replaced only by `reconfigure` (a reload that applies in place). */
  config: NeighborConfig;
  readonly out4: AdjOut<Prefix4>;
  readonly out6: AdjOut<Prefix6>;
  // ExportPeer / DecisionPeer
  ebgp: boolean;
  routerId = 0;
  addrKey: string;
  // Import
  policy: ImportPolicy;
  /**
   * Refused routes (the ineligible part of the Adj-RIB-In): prefix key → attribute-set id × 16
   * + refusal code (policy/import.ts REFUSALS). The set is interned and referenced, so an
   * explanation can show what was refused.
   */
  readonly refused4 = new Map<Prefix4, number>();
  readonly refused6 = new Map<Prefix6, number>();
  /** Refusals by reason since the neighbor was added (index: refusal code); never reset. */
  readonly refusedCount = new Array<number>(REFUSALS.length).fill(0);
  /** Refusal codes already logged this session (each kind is logged once). */
  refusedLogged = 0;
  /** Above its max-prefix limit (a warning is logged once per crossing). */
  overLimit = false;
  maxPrefixExceeded = 0;
  // OutTarget
  allow: number;
  useResale: boolean;
  resaleCustomer: boolean;
  otcBlocked: boolean;
  /** RFC 9234 §5 egress: OTC added on routes toward this neighbor (customers, peers). */
  readonly addOtc: boolean;
  exportCtx: ExportContext;
  codecCtx: CodecContext;
  maxLength = MAX_MESSAGE_LENGTH;
  profile = '';
  // Session
  up = false;
  removed = false;
  /** Bumped on every up/down so callbacks of an old session are ignored. */
  generation = 0;
  info: SessionInfo | undefined;
  sink: OutboundSink | undefined;
  families = new Set<Family>();
  blocked = false;
  // Counters
  updatesIgnored = 0;
  eorReceived = new Set<Family>();

  constructor(
    idx: number,
    config: NeighborConfig,
    policy: GlobalPolicy,
    t4: LocRib<Prefix4>,
    t6: LocRib<Prefix6>,
    peers: (ExportPeer | undefined)[],
  ) {
    const localAs = policy.localAs;
    this.idx = idx;
    this.config = config;
    this.ebgp = config.role !== 'internal';
    this.addrKey = addressKey(config.address);
    this.policy = new ImportPolicy(config, policy);
    const target = targetOf(config);
    this.allow = allowMask(target);
    this.useResale = exportTable(target) === 'resale';
    this.resaleCustomer = neverToReseller(target);
    this.otcBlocked = otcBlocks(target);
    this.addOtc = otcAdds(target);
    this.exportCtx = { localAs, ebgp: this.ebgp, nextHopSelf: config.nextHopSelf, addOtc: this.addOtc };
    this.codecCtx = { as4: true, extendedMessage: false, ebgp: this.ebgp, localAs, peerAs: config.remoteAs };
    this.out4 = new AdjOut(t4, false, peers, this);
    this.out6 = new AdjOut(t6, true, peers, this);
  }

  get name(): string {
    return this.config.name;
  }

  /** Takes the facts of an Established session. */
  establish(info: SessionInfo, sink: OutboundSink, localAs: number): void {
    this.up = true;
    this.generation++;
    this.info = info;
    this.sink = sink;
    this.blocked = false;
    this.ebgp = info.ebgp;
    this.routerId = info.peerRouterId >>> 0;
    this.addrKey = addressKey(info.peerAddress);
    this.families = new Set(info.families);
    this.eorReceived.clear();
    this.maxLength = info.extendedMessage ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH;
    this.codecCtx = {
      as4: info.as4,
      extendedMessage: info.extendedMessage,
      ebgp: info.ebgp,
      localAs,
      peerAs: info.peerAs,
    };
    this.#deriveExport(info, localAs);
  }

  /**
   * The export context and encoding profile of an Established session: next hops (RFC 4271
   * §5.1.3; RFC 2545 §3 for IPv6 over an IPv4 session) and what makes two neighbors' encodings
   * byte-identical.
   */
  #deriveExport(info: SessionInfo, localAs: number): void {
    const local = unmapIpv4(info.localAddress);
    const cfgLocal = this.config.localAddress !== undefined ? unmapIpv4(this.config.localAddress) : undefined;
    const v4 = parseIpv4(local) ?? (cfgLocal !== undefined ? parseIpv4(cfgLocal) : undefined);
    let nh6: NextHop6 | undefined;
    const local6 = parseIpv6(local);
    const cfg6 = this.config.nextHop6 !== undefined ? parseIpv6(this.config.nextHop6) : undefined;
    if (local6 !== undefined && parseIpv4(local) === undefined) nh6 = { global: local6 };
    else if (cfg6 !== undefined) nh6 = { global: cfg6 };
    else if (v4 !== undefined) nh6 = { global: mapped(v4) };
    this.exportCtx = { localAs, ebgp: info.ebgp, nextHopSelf: this.config.nextHopSelf, addOtc: this.addOtc };
    if (v4 !== undefined) this.exportCtx.nextHop4 = v4;
    if (nh6 !== undefined) this.exportCtx.nextHop6 = nh6;
    const hex6 = nh6 !== undefined ? Buffer.from(nh6.global).toString('hex') : '';
    this.profile = `${info.as4 ? 4 : 2}|${info.ebgp ? 'e' : 'i'}|${this.config.nextHopSelf ? 's' : ''}|${this.exportCtx.addOtc ? 'o' : ''}|${v4 ?? ''}|${hex6}|${this.maxLength}`;
  }

  /**
   * Takes a changed config that applies in place (a reload: import and export policy, next-hop
   * settings, max-prefix), with the daemon-wide part of import policy. The caller re-evaluates
   * the Adj-RIB-In and re-considers the Adj-RIB-Out; what the session negotiated is untouched.
   */
  reconfigure(config: NeighborConfig, global: GlobalPolicy): void {
    this.config = config;
    this.policy = new ImportPolicy(config, global);
    const target = targetOf(config);
    this.allow = allowMask(target);
    this.useResale = exportTable(target) === 'resale';
    this.resaleCustomer = neverToReseller(target);
    this.otcBlocked = otcBlocks(target);
    if (this.up && this.info !== undefined) this.#deriveExport(this.info, global.localAs);
    else this.exportCtx = { ...this.exportCtx, nextHopSelf: config.nextHopSelf };
  }

  /** Leaves Established; the caller withdraws the Adj-RIB-In. */
  disestablish(): void {
    this.up = false;
    this.generation++;
    this.info = undefined;
    this.sink = undefined;
    this.blocked = false;
    this.out4.reset();
    this.out6.reset();
  }
}
