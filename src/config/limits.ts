/**
 * The config's limits and fixed vocabularies, apart from the schema (schema.ts) so that the
 * modules of the running daemon (the data plane's argument checks, the metrics exporter) share
 * them without loading the schema library, which the daemon keeps out of its heap
 * (isolated.ts).
 */
import { canonicalIp } from '../net/ip.js';
import { checkIpv4, checkIpv6 } from './addr.js';

const U32 = 4294967295;

/** Ranges shared with the data plane (src/dataplane), so both accept the same values. */
export const LIMITS = {
  asn: [1, U32],
  port: [1, 65535],
  holdTime: [0, 65535],
  connectRetry: [1, 3600],
  restartTime: [1, 4095],
  /** graceful restart: stale routes wait this long for End-of-RIB (s); the wait for all (s) */
  staleTime: [1, 86_400],
  selectionDeferral: [1, 3600],
  maxPrefix: [1, 100_000_000],
  restartAfter: [1, 86_400],
  greKey: [0, U32],
  mtu: [1280, 9000],
  /** seconds, decimals allowed (the data plane keeps milliseconds) */
  keepaliveInterval: [0.1, 3600],
  keepaliveRetries: [1, 255],
  /** native/src/fastpath.h kMaxWorkers */
  workers: [1, 32],
  table: [1, U32],
  /** 0-4 are the kernel's own (unspec, redirect, kernel, boot, static): never ours to remove */
  fibProtocol: [5, 255],
  /** the five rules sit at PRIORITY..PRIORITY+4, before the main table's rule (32766) */
  rulePriority: [1, 32761],
  /** RFC 8210 §6 ranges, seconds */
  rpkiRefresh: [1, 86_400],
  rpkiRetry: [1, 7_200],
  rpkiExpire: [600, 172_800],
  rpkiPreference: [0, 255],
  rpkiServers: [1, 16],
} as const satisfies Record<string, readonly [number, number]>;

/** Neighbor and tunnel names. */
export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
/** Linux interface names (IFNAMSIZ 16 with the NUL). */
export const IFNAME_RE = /^[A-Za-z0-9_.-]{1,15}$/;
export const ROLES = ['customer', 'peer', 'transit', 'internal'] as const;
export const FAMILIES = ['ipv4-unicast', 'ipv6-unicast'] as const;
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
export const METRICS_LISTEN = '127.0.0.1:9475';

/**
 * `ADDR:PORT` for an IPv4 address, `[ADDR]:PORT` for IPv6 (as in a URL), split; undefined
 * when it is neither. The schema canonicalizes the address; src/observe/metrics.ts binds it.
 */
export function parseHostPort(s: string): { address: string; port: number } | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([0-9.]+)):([0-9]{1,5})$/.exec(s);
  if (!m) return undefined;
  const address = m[1] ?? m[2]!;
  const port = Number(m[3]);
  if ((m[1] !== undefined ? checkIpv6(address) : checkIpv4(address)) !== undefined) return undefined;
  if (port < LIMITS.port[0] || port > LIMITS.port[1]) return undefined;
  return { address: canonicalIp(address), port };
}

/** The `fib:` defaults (the schema's defaults are these; the daemon removes leftovers with them). */
export const FIB_DEFAULTS = Object.freeze({
  fullTable: 201,
  resaleTable: 202,
  protocol: 250,
  rulePriority: 1000,
  kernel: true,
});
