/**
 * TunnelSpec: the data plane's view of one GRE circuit (RFC 2784/2890), validated here in JS
 * and turned into the byte-level record the addon takes. A spec from the config has passed the
 * config schema already; these checks guard the API for every other caller, with the same
 * limits (src/config/schema.ts LIMITS, NAME_RE), so both accept exactly the same tunnels.
 */
import { LIMITS, NAME_RE } from '../config/limits.js';
import { argError } from './errors.js';
import type { TunnelSpecNative } from './native.js';
import { maskBytes, type ParsedPrefix, parseIp, parsePrefix } from './addr.js';

export interface TunnelSpec {
  name: string;
  /** underlay address of the far end, IPv4 or IPv6 */
  remote: string;
  /** underlay local address (defaults to the data plane's underlay.local / local6); needed for keepalives */
  local?: string;
  /** GRE key (RFC 2890 §2.1), uint32, required */
  key: number;
  /** inner MTU; default 1472 over IPv4, 1452 over IPv6 (1500-byte underlay, GRE with key) */
  mtu?: number;
  /** CIDRs put on the TUN (inner local addresses); their subnets route into the tunnel */
  inner?: { local?: string; local6?: string };
  /** inner source prefixes accepted on decap (anti-spoofing); the inner subnets are added */
  allowedSources?: string[];
  /** static routes into this tunnel: tunnel LPM + kernel route via the TUN */
  routes?: string[];
  mssClamp?: boolean; // default true
  sequence?: boolean; // default false
  checksum?: boolean; // default false
  /** originate Cisco-style keepalives every `interval` seconds, down after `retries` misses */
  keepalive?: { interval: number; retries: number };
}

/** What addTunnel derived from a spec, kept to undo it later. */
export interface TunnelPlan {
  native: TunnelSpecNative;
  addresses: ParsedPrefix[]; // inner local addresses (host bits kept)
  subnets: ParsedPrefix[]; // their networks: LPM entries into the tunnel
  routes: ParsedPrefix[]; // static routes: LPM + kernel
}

const [KEY_MIN, KEY_MAX] = LIMITS.greKey;
const [MTU_MIN, MTU_MAX] = LIMITS.mtu;
const [KA_MIN, KA_MAX] = LIMITS.keepaliveInterval;
const [RETRIES_MIN, RETRIES_MAX] = LIMITS.keepaliveRetries;

function prefixOrThrow(s: unknown, what: string, strict: boolean): ParsedPrefix {
  if (typeof s !== 'string') throw argError(`${what}: expected a CIDR string`);
  const p = parsePrefix(s, strict);
  if (typeof p === 'string') throw argError(`${what}: ${p}`);
  return p;
}

export function packPrefixes(list: ParsedPrefix[]): Uint8Array {
  const out = new Uint8Array(list.length * 18);
  list.forEach((p, i) => {
    out[i * 18] = p.family;
    out[i * 18 + 1] = p.len;
    out.set(p.bytes, i * 18 + 2);
  });
  return out;
}

export function planTunnel(t: TunnelSpec, underlay: { local?: string; local6?: string }): TunnelPlan {
  if (typeof t !== 'object' || t === null) throw argError('tunnel: expected an object');
  if (typeof t.name !== 'string' || !NAME_RE.test(t.name))
    throw argError(`tunnel name '${String(t.name)}': 1-63 characters of letters, digits, '.', '_', '-'`);
  const where = `tunnel ${t.name}`;
  const remote = typeof t.remote === 'string' ? parseIp(t.remote) : null;
  if (!remote) throw argError(`${where}: remote '${String(t.remote)}' is not an IP address`);
  const family = remote.length === 4 ? 4 : 6;
  const localText = t.local ?? (family === 4 ? underlay.local : underlay.local6);
  let local: Uint8Array | undefined;
  if (localText !== undefined) {
    local = parseIp(localText) ?? undefined;
    if (!local || local.length !== remote.length)
      throw argError(`${where}: local '${localText}' must be an address of the same family as remote`);
  }
  if (!Number.isInteger(t.key) || t.key < KEY_MIN || t.key > KEY_MAX)
    throw argError(`${where}: key must be a uint32`);
  const mtu = t.mtu ?? (family === 4 ? 1472 : 1452);
  if (!Number.isInteger(mtu) || mtu < MTU_MIN || mtu > MTU_MAX)
    throw argError(`${where}: mtu must be ${MTU_MIN}..${MTU_MAX}`);
  const addresses: ParsedPrefix[] = [];
  let inner4: Uint8Array | undefined;
  let inner6: Uint8Array | undefined;
  if (t.inner?.local !== undefined) {
    const p = prefixOrThrow(t.inner.local, `${where}: inner.local`, false);
    if (p.family !== 4) throw argError(`${where}: inner.local must be IPv4`);
    addresses.push(p);
    inner4 = p.bytes;
  }
  if (t.inner?.local6 !== undefined) {
    const p = prefixOrThrow(t.inner.local6, `${where}: inner.local6`, false);
    if (p.family !== 6) throw argError(`${where}: inner.local6 must be IPv6`);
    addresses.push(p);
    inner6 = p.bytes;
  }
  const subnets = addresses.map((a) => ({ family: a.family, len: a.len, bytes: maskBytes(a.bytes, a.len) }));
  const allowed = [
    ...(t.allowedSources ?? []).map((s) => prefixOrThrow(s, `${where}: allowed-sources`, true)),
    ...subnets,
  ];
  const routes = (t.routes ?? []).map((s) => prefixOrThrow(s, `${where}: routes`, true));
  let keepaliveMs = 0;
  let keepaliveRetries = 0;
  if (t.keepalive) {
    const { interval, retries } = t.keepalive;
    if (!Number.isFinite(interval) || interval < KA_MIN || interval > KA_MAX)
      throw argError(`${where}: keepalive interval must be ${KA_MIN}..${KA_MAX} seconds`);
    if (!Number.isInteger(retries) || retries < RETRIES_MIN || retries > RETRIES_MAX)
      throw argError(`${where}: keepalive retries must be ${RETRIES_MIN}..${RETRIES_MAX}`);
    if (family !== 4)
      throw argError(`${where}: keepalives need an IPv4 underlay (Cisco keepalives are IPv4 only)`);
    if (!local)
      throw argError(`${where}: keepalives need the underlay local address (local or underlay.local)`);
    keepaliveMs = Math.round(interval * 1000);
    keepaliveRetries = retries;
  }
  const native: TunnelSpecNative = {
    name: t.name,
    family,
    remote,
    key: t.key,
    mtu,
    sequence: t.sequence ?? false,
    checksum: t.checksum ?? false,
    mssClamp: t.mssClamp ?? true,
    allowed: packPrefixes(allowed),
    keepaliveMs,
    keepaliveRetries,
  };
  if (local) native.local = local;
  if (inner4) native.inner4 = inner4;
  if (inner6) native.inner6 = inner6;
  return { native, addresses, subnets, routes };
}
