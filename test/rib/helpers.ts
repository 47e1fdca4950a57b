/**
 * Shared fakes for the RIB tests: neighbor configs, session infos, attribute sets, and a sink
 * that decodes every UPDATE it is sent (with the real codec) into the neighbor's view of our
 * Adj-RIB-Out, with switchable back-pressure.
 */
import {
  type CodecContext,
  decodeUpdate,
  type Family,
  formatIpv4,
  formatIpv6,
  formatPrefix4,
  formatPrefix6,
  HEADER_LENGTH,
  type PathAttributes,
  parseIpv4,
  parsePrefix4,
  parsePrefix6,
  type Prefix4,
  type Prefix6,
  type UpdateMessage,
} from '../../src/bgp/wire/index.js';
import type { NeighborConfig, Role } from '../../src/config/types.js';
import { type Logger, silentLogger } from '../../src/observe/log.js';
import type { OutboundSink, PeerChannel, SessionInfo } from '../../src/rib/channel.js';
import { Rib, type RibOptions } from '../../src/rib/rib.js';

export const LOCAL_AS = 65000;

export function neighbor(
  name: string,
  role: Role,
  remoteAs: number,
  address: string,
  extra: Partial<NeighborConfig> = {},
): NeighborConfig {
  return {
    name,
    address,
    remoteAs,
    role,
    passive: false,
    port: 179,
    holdTime: 90,
    connectRetry: 30,
    families: ['ipv4-unicast', 'ipv6-unicast'],
    nextHopSelf: role !== 'internal',
    gracefulRestart: { enabled: false, restartTime: 120, staleTime: 360 },
    resale: true,
    noResale: false,
    ...extra,
  };
}

export function sessionInfo(
  n: NeighborConfig,
  routerId: number,
  localAddress = '127.0.0.1',
  extra: Partial<SessionInfo> = {},
): SessionInfo {
  return {
    peerAs: n.remoteAs,
    peerRouterId: routerId,
    peerAddress: n.address,
    localAddress,
    ebgp: n.remoteAs !== LOCAL_AS,
    as4: true,
    extendedMessage: false,
    families: ['ipv4-unicast', 'ipv6-unicast'],
    remoteCapabilities: {
      multiprotocol: [],
      routeRefresh: true,
      extendedMessage: false,
      enhancedRouteRefresh: false,
      unknown: [],
    },
    ...extra,
  };
}

export function attrs(path: number[], extra: Partial<PathAttributes> = {}): PathAttributes {
  return {
    origin: 0,
    asPath: path.length > 0 ? [{ type: 2, asns: path }] : [],
    atomicAggregate: false,
    nextHop: parseIpv4('192.0.2.1')!,
    ...extra,
  };
}

export function p4(s: string): Prefix4 {
  return parsePrefix4(s)!;
}

export function p6(s: string): Prefix6 {
  return parsePrefix6(s)!;
}

export function announce(a: PathAttributes, nlri4: string[], nlri6: string[] = []): UpdateMessage {
  return { withdrawn4: [], nlri4: nlri4.map(p4), withdrawn6: [], nlri6: nlri6.map(p6), attrs: a };
}

export function withdraw(w4: string[], w6: string[] = []): UpdateMessage {
  return { withdrawn4: w4.map(p4), nlri4: [], withdrawn6: w6.map(p6), nlri6: [] };
}

/** What a neighbor holds after applying everything we sent it. */
export class DecodingSink implements OutboundSink {
  readonly routes = new Map<string, PathAttributes>();
  readonly messages: Uint8Array[] = [];
  readonly decoded: UpdateMessage[] = [];
  readonly eor: Family[] = [];
  /** send() calls accepted before one returns false; Infinity = never push back. */
  budget = Number.POSITIVE_INFINITY;
  sendCalls = 0;
  readonly refreshedFamilies: Family[] = [];
  #drain: (() => void) | undefined;
  readonly #ctx: CodecContext;

  constructor(ctx: Partial<CodecContext> = {}) {
    this.#ctx = { as4: true, extendedMessage: false, ebgp: true, localAs: 65002, peerAs: LOCAL_AS, ...ctx };
  }

  send(messages: Uint8Array[]): boolean {
    this.sendCalls++;
    for (const m of messages) {
      if (m.length > 4096) throw new Error(`message of ${m.length} bytes`);
      this.messages.push(m);
      const r = decodeUpdate(m.subarray(HEADER_LENGTH), this.#ctx);
      if (!r.ok) throw new Error(`undecodable UPDATE: ${r.error.message}`);
      const u = r.value;
      this.decoded.push(u);
      if (u.endOfRib !== undefined) {
        this.eor.push(u.endOfRib);
        continue;
      }
      for (const p of u.withdrawn4) this.routes.delete(formatPrefix4(p));
      for (const p of u.withdrawn6) this.routes.delete(formatPrefix6(p));
      for (const p of u.nlri4) this.routes.set(formatPrefix4(p), u.attrs!);
      for (const p of u.nlri6) this.routes.set(formatPrefix6(p), u.attrs!);
    }
    this.budget -= 1;
    return this.budget > 0;
  }

  onDrain(cb: () => void): void {
    this.#drain = cb;
  }

  refreshed(family: Family): void {
    this.refreshedFamilies.push(family);
  }

  /** Lets the RIB send again. */
  release(budget = Number.POSITIVE_INFINITY): void {
    this.budget = budget;
    const d = this.#drain;
    this.#drain = undefined;
    d?.();
  }

  get waitingForDrain(): boolean {
    return this.#drain !== undefined;
  }
}

export interface Harness {
  rib: Rib;
  add(n: NeighborConfig): PeerChannel;
  /** Adds a neighbor and brings it up with a decoding sink. */
  up(
    n: NeighborConfig,
    routerId: number,
    opts?: { localAddress?: string; info?: Partial<SessionInfo> },
  ): { ch: PeerChannel; sink: DecodingSink };
  settle(): Promise<void>;
}

/**
 * A RIB with the import policy opened up, as a lab config does: no bogons, customers without a
 * `prefixes` list may announce anything. These tests are about best paths and export; the import
 * policy has its own (test/rib/import.test.ts, test/policy/import.test.ts) with the defaults.
 */
export function harness(opts: Partial<RibOptions> = {}): Harness {
  const rib = new Rib({
    localAs: LOCAL_AS,
    routerId: parseIpv4('127.0.0.1')!,
    log: silentLogger(),
    bogons: [],
    ...opts,
  });
  const open = (n: NeighborConfig): NeighborConfig =>
    n.role === 'customer' && n.prefixes === undefined && opts.bogons === undefined
      ? { ...n, prefixes: ['0.0.0.0/0 le 32', '::/0 le 128'] }
      : n;
  return {
    rib,
    add: (n) => rib.addNeighbor(open(n)),
    up(n, routerId, opts = {}) {
      const ch = rib.addNeighbor(open(n));
      const info = sessionInfo(n, routerId, opts.localAddress, opts.info);
      const sink = new DecodingSink({ ebgp: info.ebgp, peerAs: LOCAL_AS, localAs: n.remoteAs });
      ch.up(info, sink);
      return { ch, sink };
    },
    settle: () => rib.idle(),
  };
}

export function asPathOf(a: PathAttributes): number[] {
  return a.asPath.flatMap((s) => s.asns);
}

export { formatIpv4, formatIpv6 };

/** Turns the event loop until `cond` holds (deterministic where a timeout would be flaky). */
export async function until(cond: () => boolean, turns = 10000): Promise<boolean> {
  for (let i = 0; i < turns && !cond(); i++) await new Promise((r) => setImmediate(r));
  return cond();
}

/** Turns the event loop `n` times. */
export async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

/**
 * A logger that keeps warn lines (the RIB logs each refusal reason once per session) and info
 * lines (the FIB's `fib: reconfigured in place`), each with its `msg`.
 */
export function recordingLog(): {
  log: Logger;
  warns: Array<Record<string, unknown> & { msg: string }>;
  infos: Array<Record<string, unknown> & { msg: string }>;
} {
  const warns: Array<Record<string, unknown> & { msg: string }> = [];
  const infos: Array<Record<string, unknown> & { msg: string }> = [];
  const noop = () => {};
  const log = {
    warn: (o: Record<string, unknown>, msg: string) => warns.push({ ...o, msg }),
    info: (o: Record<string, unknown>, msg: string) => infos.push({ ...o, msg }),
    debug: noop,
    error: noop,
    trace: noop,
    fatal: noop,
    child: () => log,
  } as unknown as Logger;
  return { log, warns, infos };
}
