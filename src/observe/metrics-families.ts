/**
 * The series that grow with the box, one set per neighbor and per tunnel, written by hand in the
 * exposition format (metrics-text.ts) a slice at a time. Values are read at scrape time from
 * what the modules already count (Peer.counters, Rib.stats, Dataplane.tunnelCounters); nothing
 * here runs per packet or per prefix.
 */
import type { PeerCounters } from '../bgp/session/counters.js';
import type { RpkiStatusResult } from '../control/target.js';
import type { TunnelCounters } from '../dataplane/counters.js';
import { DROP_REASONS } from '../dataplane/counters.js';
import { REFUSALS } from '../policy/import.js';
import type { NeighborStats, RovCounts } from '../rib/rib.js';
import { escapeLabel, type Family, formatValue } from './metrics-text.js';

/** What the collector reads of a session (src/bgp/session/peer.ts Peer has all of it). */
export interface MetricsPeer {
  readonly neighbor: {
    readonly name: string;
    readonly address: string;
    readonly remoteAs: number;
    readonly role: string;
  };
  readonly state: string;
  readonly enabled: boolean;
  /** ms since the epoch, while Established. */
  readonly establishedSince: number | undefined;
  readonly counters: Readonly<PeerCounters>;
}

/** RFC 4271 §8.2.2 states, in order: the one-hot `gredge_bgp_neighbor_state` has them all. */
export const BGP_STATES = ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'] as const;

/** Message kinds as label values (snake_case, as Prometheus labels usually are). */
const MESSAGE_TYPES = [
  ['open', 'open'],
  ['update', 'update'],
  ['notification', 'notification'],
  ['keepalive', 'keepalive'],
  ['routeRefresh', 'route_refresh'],
] as const;

const FAMILIES = [
  ['ipv4-unicast', 'ipv4_unicast'],
  ['ipv6-unicast', 'ipv6_unicast'],
] as const;

/** Drop reasons as label values (`badChecksum` → `bad_checksum`). */
export const DROP_LABELS: Readonly<Record<string, string>> = Object.fromEntries(
  DROP_REASONS.map((r) => [r, r.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)]),
);

/** Refusal reasons as label values (`not-own-prefix` → `not_own_prefix`). */
const REFUSAL_LABELS = REFUSALS.map((r) => [r, r.replace(/-/g, '_')] as const);

export interface NeighborRow {
  /** `neighbor="NAME"`, escaped. */
  l: string;
  peer: MetricsPeer;
  stats: NeighborStats | undefined;
  /** Routes by RPKI state; undefined while origin validation is off. */
  rov: RovCounts | undefined;
  /** The scrape's clock (ms since the epoch). */
  now: number;
}

export interface TunnelRow {
  /** `tunnel="NAME"`, escaped. */
  l: string;
  c: TunnelCounters;
  /** As the data plane's keepalives last said; undefined: never said (no keepalives). */
  up: boolean | undefined;
  /** Routes in the LPM that lead into this tunnel, by family; undefined: not known. */
  lpm: { v4: number; v6: number } | undefined;
}

export function neighborLabel(name: string): string {
  return `neighbor="${escapeLabel(name)}"`;
}

export function tunnelLabel(name: string): string {
  return `tunnel="${escapeLabel(name)}"`;
}

const v = formatValue;

function perFamily(
  name: string,
  r: NeighborRow,
  count: (f: 'ipv4-unicast' | 'ipv6-unicast') => number,
): string {
  let s = '';
  for (const [f, label] of FAMILIES) s += `${name}{${r.l},family="${label}"} ${v(count(f))}\n`;
  return s;
}

function notifications(name: string, r: NeighborRow, m: ReadonlyMap<number, number>): string {
  let s = '';
  for (const k of [...m.keys()].sort((a, b) => a - b))
    s += `${name}{${r.l},code="${k >> 8}",subcode="${k & 0xff}"} ${v(m.get(k)!)}\n`;
  return s;
}

function messages(name: string, r: NeighborRow, m: Readonly<Record<string, number>>): string {
  let s = '';
  for (const [k, label] of MESSAGE_TYPES) s += `${name}{${r.l},type="${label}"} ${v(m[k] ?? 0)}\n`;
  return s;
}

export const NEIGHBOR_FAMILIES: readonly Family<NeighborRow>[] = [
  {
    name: 'gredge_bgp_neighbor_info',
    type: 'gauge',
    help: 'Configured BGP neighbors (always 1): address, remote AS and role as labels.',
    rows: (r) => {
      const n = r.peer.neighbor;
      return `gredge_bgp_neighbor_info{${r.l},address="${escapeLabel(n.address)}",remote_as="${n.remoteAs}",role="${escapeLabel(n.role)}"} 1\n`;
    },
  },
  {
    name: 'gredge_bgp_neighbor_state',
    type: 'gauge',
    help: 'BGP session state (RFC 4271 8.2.2), one-hot: 1 for the current state, 0 for the others.',
    rows: (r) => {
      let s = '';
      for (const st of BGP_STATES)
        s += `gredge_bgp_neighbor_state{${r.l},state="${st}"} ${r.peer.state === st ? 1 : 0}\n`;
      return s;
    },
  },
  {
    name: 'gredge_bgp_neighbor_enabled',
    type: 'gauge',
    help: '0 while the neighbor is administratively disabled (gredgectl neighbor disable), else 1.',
    rows: (r) => `gredge_bgp_neighbor_enabled{${r.l}} ${r.peer.enabled ? 1 : 0}\n`,
  },
  {
    name: 'gredge_bgp_neighbor_uptime_seconds',
    type: 'gauge',
    help: 'Seconds since the session reached Established; 0 while it is not.',
    rows: (r) => {
      const since = r.peer.establishedSince;
      const up = since === undefined ? 0 : Math.max(0, (r.now - since) / 1000);
      return `gredge_bgp_neighbor_uptime_seconds{${r.l}} ${v(Math.floor(up))}\n`;
    },
  },
  {
    name: 'gredge_bgp_neighbor_established_total',
    type: 'counter',
    help: 'Times the session reached Established.',
    rows: (r) => `gredge_bgp_neighbor_established_total{${r.l}} ${v(r.peer.counters.establishedCount)}\n`,
  },
  {
    name: 'gredge_bgp_prefixes_received',
    type: 'gauge',
    help: "Prefixes in the neighbor's Adj-RIB-In now, accepted and refused.",
    rows: (r) =>
      perFamily(
        'gredge_bgp_prefixes_received',
        r,
        (f) => (r.stats?.prefixesIn[f] ?? 0) + (r.stats?.prefixesRefused[f] ?? 0),
      ),
  },
  {
    name: 'gredge_bgp_prefixes_accepted',
    type: 'gauge',
    help: 'Prefixes from the neighbor that passed the import policy (eligible for best path).',
    rows: (r) => perFamily('gredge_bgp_prefixes_accepted', r, (f) => r.stats?.prefixesIn[f] ?? 0),
  },
  {
    name: 'gredge_bgp_prefixes_refused',
    type: 'gauge',
    help: 'Prefixes from the neighbor held as refused by the import policy now.',
    rows: (r) => perFamily('gredge_bgp_prefixes_refused', r, (f) => r.stats?.prefixesRefused[f] ?? 0),
  },
  {
    name: 'gredge_bgp_prefixes_advertised',
    type: 'gauge',
    help: 'Prefixes advertised to the neighbor (its Adj-RIB-Out).',
    rows: (r) => perFamily('gredge_bgp_prefixes_advertised', r, (f) => r.stats?.prefixesOut[f] ?? 0),
  },
  {
    name: 'gredge_bgp_import_refusals_total',
    type: 'counter',
    help: 'Routes refused on import, by reason, since the neighbor was configured (a prefix refused twice counts twice).',
    rows: (r) => {
      let s = '';
      for (const [reason, label] of REFUSAL_LABELS)
        s += `gredge_bgp_import_refusals_total{${r.l},reason="${label}"} ${v(r.stats?.refused[reason] ?? 0)}\n`;
      return s;
    },
  },
  {
    name: 'gredge_bgp_rpki_prefixes',
    type: 'gauge',
    help: 'Routes from the neighbor by RPKI origin validation state (RFC 6811): accepted ones by the state they carry, refused rpki-invalid ones as invalid; absent while rpki is off.',
    rows: (r) => {
      const c = r.rov;
      if (c === undefined) return '';
      return (
        `gredge_bgp_rpki_prefixes{${r.l},state="valid"} ${v(c.valid)}\n` +
        `gredge_bgp_rpki_prefixes{${r.l},state="invalid"} ${v(c.invalid)}\n` +
        `gredge_bgp_rpki_prefixes{${r.l},state="not_found"} ${v(c.notFound)}\n`
      );
    },
  },
  {
    name: 'gredge_bgp_max_prefix_exceeded_total',
    type: 'counter',
    help: 'Times the neighbor went over its max-prefix limit.',
    rows: (r) => `gredge_bgp_max_prefix_exceeded_total{${r.l}} ${v(r.stats?.maxPrefixExceeded ?? 0)}\n`,
  },
  {
    name: 'gredge_bgp_messages_received_total',
    type: 'counter',
    help: 'BGP messages received, by type.',
    rows: (r) => messages('gredge_bgp_messages_received_total', r, r.peer.counters.messagesIn),
  },
  {
    name: 'gredge_bgp_messages_sent_total',
    type: 'counter',
    help: 'BGP messages sent, by type.',
    rows: (r) => messages('gredge_bgp_messages_sent_total', r, r.peer.counters.messagesOut),
  },
  {
    name: 'gredge_bgp_notifications_received_total',
    type: 'counter',
    help: 'NOTIFICATIONs received, by error code and subcode (RFC 4271 4.5); a pair appears once counted.',
    rows: (r) => notifications('gredge_bgp_notifications_received_total', r, r.peer.counters.notificationsIn),
  },
  {
    name: 'gredge_bgp_notifications_sent_total',
    type: 'counter',
    help: 'NOTIFICATIONs sent, by error code and subcode (RFC 4271 4.5); a pair appears once counted.',
    rows: (r) => notifications('gredge_bgp_notifications_sent_total', r, r.peer.counters.notificationsOut),
  },
  {
    name: 'gredge_bgp_updates_treated_as_withdraw_total',
    type: 'counter',
    help: 'UPDATEs with a malformed attribute treated as a withdrawal (RFC 7606).',
    rows: (r) =>
      `gredge_bgp_updates_treated_as_withdraw_total{${r.l}} ${v(r.peer.counters.updatesTreatedAsWithdraw)}\n`,
  },
];

export const TUNNEL_FAMILIES: readonly Family<TunnelRow>[] = [
  {
    name: 'gredge_tunnel_up',
    type: 'gauge',
    help: 'GRE keepalive state: 1 up, 0 down; absent for tunnels without keepalives.',
    rows: (r) => (r.up === undefined ? '' : `gredge_tunnel_up{${r.l}} ${r.up ? 1 : 0}\n`),
  },
  {
    name: 'gredge_tunnel_receive_packets_total',
    type: 'counter',
    help: 'Packets received from the tunnel (decapsulated toward the TUN).',
    rows: (r) => `gredge_tunnel_receive_packets_total{${r.l}} ${v(r.c.rxPackets)}\n`,
  },
  {
    name: 'gredge_tunnel_receive_bytes_total',
    type: 'counter',
    help: 'Bytes received from the tunnel.',
    rows: (r) => `gredge_tunnel_receive_bytes_total{${r.l}} ${v(r.c.rxBytes)}\n`,
  },
  {
    name: 'gredge_tunnel_transmit_packets_total',
    type: 'counter',
    help: 'Packets sent into the tunnel (encapsulated).',
    rows: (r) => `gredge_tunnel_transmit_packets_total{${r.l}} ${v(r.c.txPackets)}\n`,
  },
  {
    name: 'gredge_tunnel_transmit_bytes_total',
    type: 'counter',
    help: 'Bytes sent into the tunnel.',
    rows: (r) => `gredge_tunnel_transmit_bytes_total{${r.l}} ${v(r.c.txBytes)}\n`,
  },
  {
    name: 'gredge_tunnel_lpm_routes',
    type: 'gauge',
    help: "Routes in the LPM that lead into the tunnel, by family: its config's (inner subnets, routes) and the FIB's (best paths into it); a family appears once it has one.",
    rows: (r) => {
      const c = r.lpm;
      if (c === undefined) return '';
      let s = '';
      if (c.v4 > 0) s += `gredge_tunnel_lpm_routes{${r.l},family="ipv4"} ${v(c.v4)}\n`;
      if (c.v6 > 0) s += `gredge_tunnel_lpm_routes{${r.l},family="ipv6"} ${v(c.v6)}\n`;
      return s;
    },
  },
  {
    name: 'gredge_tunnel_dropped_packets_total',
    type: 'counter',
    help: 'Packets of the tunnel dropped, by reason; a reason appears once it counted a packet (gredge_dataplane_dropped_packets_total has every reason).',
    rows: (r) => {
      let s = '';
      for (const reason of DROP_REASONS) {
        const n = r.c.drops[reason];
        if (n > 0)
          s += `gredge_tunnel_dropped_packets_total{${r.l},reason="${DROP_LABELS[reason]}"} ${v(n)}\n`;
      }
      return s;
    },
  },
];

/** What one scrape read of RPKI: the cache's state and the VRPs by family. */
export interface RpkiRow {
  status: RpkiStatusResult;
  vrps: { v4: number; v6: number };
}

/** The RTR client's connection and data states (src/rpki/rtr.ts), one-hot in the scrape. */
const RTR_CONNECTION = ['idle', 'connecting', 'syncing', 'established', 'down', 'stopped'] as const;
const RTR_DATA = ['none', 'current', 'expired'] as const;

/**
 * The RPKI cache's state, written like the other families (one entity, or none while `rpki` is
 * off: then no gredge_rpki_* series at all, where prom-client would print 0 for a gauge).
 */
export const RPKI_FAMILIES: readonly Family<RpkiRow>[] = [
  {
    name: 'gredge_rpki_cache_up',
    type: 'gauge',
    help: '1 while an RTR session with a cache is established, else 0.',
    rows: (r) => `gredge_rpki_cache_up ${r.status.connection === 'established' ? 1 : 0}\n`,
  },
  {
    name: 'gredge_rpki_connection_state',
    type: 'gauge',
    help: 'RTR client connection state, one-hot.',
    rows: (r) => {
      let s = '';
      for (const st of RTR_CONNECTION)
        s += `gredge_rpki_connection_state{state="${st}"} ${r.status.connection === st ? 1 : 0}\n`;
      return s;
    },
  },
  {
    name: 'gredge_rpki_data_state',
    type: 'gauge',
    help: 'VRP data state, one-hot: none (never synced), current, expired (validation then says NotFound).',
    rows: (r) => {
      let s = '';
      for (const st of RTR_DATA)
        s += `gredge_rpki_data_state{state="${st}"} ${r.status.data === st ? 1 : 0}\n`;
      return s;
    },
  },
  {
    name: 'gredge_rpki_cache_info',
    type: 'gauge',
    help: 'Always 1: the cache in use and the RTR version as labels; absent while no cache is in use.',
    rows: (r) =>
      r.status.cache === null
        ? ''
        : `gredge_rpki_cache_info{cache="${escapeLabel(r.status.cache)}",version="${r.status.version ?? ''}"} 1\n`,
  },
  {
    name: 'gredge_rpki_session_id',
    type: 'gauge',
    help: "The cache's RTR session id; absent before the first sync.",
    rows: (r) => (r.status.sessionId === null ? '' : `gredge_rpki_session_id ${v(r.status.sessionId)}\n`),
  },
  {
    name: 'gredge_rpki_serial',
    type: 'gauge',
    help: "Serial of the cache's data held; absent before the first sync.",
    rows: (r) => (r.status.serial === null ? '' : `gredge_rpki_serial ${v(r.status.serial)}\n`),
  },
  {
    name: 'gredge_rpki_last_update_timestamp_seconds',
    type: 'gauge',
    help: 'When the VRP table last changed from the cache (Unix time); 0 before the first sync.',
    rows: (r) => {
      const at = r.status.lastUpdate === null ? 0 : Date.parse(r.status.lastUpdate) / 1000;
      return `gredge_rpki_last_update_timestamp_seconds ${v(at)}\n`;
    },
  },
  {
    name: 'gredge_rpki_vrps',
    type: 'gauge',
    help: 'Validated ROA payloads held, by family.',
    rows: (r) =>
      `gredge_rpki_vrps{family="ipv4"} ${v(r.vrps.v4)}\ngredge_rpki_vrps{family="ipv6"} ${v(r.vrps.v6)}\n`,
  },
];
