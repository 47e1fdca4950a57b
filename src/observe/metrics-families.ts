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
import { escapeLabel, type Family, type Sink } from './metrics-text.js';

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

/**
 * The per-tunnel figures of one scrape, packed in one typed array: no object per tunnel lives
 * across the scrape's slices. 10,000 TunnelCounters kept for the length of a scrape were
 * promoted to the old generation by the scavenges they outlived, and each scrape then cost a
 * major GC that held the event loop for tens of ms (issue 11). Read once per tunnel, written out
 * family by family from here.
 */
export class TunnelTable {
  static readonly RX_PACKETS = 0;
  static readonly RX_BYTES = 1;
  static readonly TX_PACKETS = 2;
  static readonly TX_BYTES = 3;
  static readonly LPM4 = 4;
  static readonly LPM6 = 5;
  /** -1: no keepalive state; 0 down; 1 up. */
  static readonly UP = 6;
  /** 1 when the LPM counts are known. */
  static readonly LPM_KNOWN = 7;
  static readonly DROPS = 8;
  static readonly SLOTS = TunnelTable.DROPS + DROP_REASONS.length;

  /** `tunnel="NAME"`, escaped, per row. */
  readonly labels: string[] = [];
  readonly vals: Float64Array;

  constructor(capacity: number) {
    this.vals = new Float64Array(Math.max(1, capacity) * TunnelTable.SLOTS);
  }

  get length(): number {
    return this.labels.length;
  }

  /** The row's value in `slot`. */
  at(row: number, slot: number): number {
    return this.vals[row * TunnelTable.SLOTS + slot]!;
  }

  push(
    label: string,
    c: TunnelCounters,
    up: boolean | undefined,
    lpm: { v4: number; v6: number } | undefined,
  ): void {
    const o = this.labels.length * TunnelTable.SLOTS;
    const v = this.vals;
    v[o + TunnelTable.RX_PACKETS] = c.rxPackets;
    v[o + TunnelTable.RX_BYTES] = c.rxBytes;
    v[o + TunnelTable.TX_PACKETS] = c.txPackets;
    v[o + TunnelTable.TX_BYTES] = c.txBytes;
    v[o + TunnelTable.LPM4] = lpm?.v4 ?? 0;
    v[o + TunnelTable.LPM6] = lpm?.v6 ?? 0;
    v[o + TunnelTable.LPM_KNOWN] = lpm === undefined ? 0 : 1;
    v[o + TunnelTable.UP] = up === undefined ? -1 : up ? 1 : 0;
    for (let i = 0; i < DROP_REASONS.length; i++) v[o + TunnelTable.DROPS + i] = c.drops[DROP_REASONS[i]!];
    this.labels.push(label);
  }
}

export function neighborLabel(name: string): string {
  return `neighbor="${escapeLabel(name)}"`;
}

export function tunnelLabel(name: string): string {
  return `tunnel="${escapeLabel(name)}"`;
}

/** `family="ipv4_unicast"` and `family="ipv6_unicast"`, with the RIB's family names. */
const FAMILY_LABELS = FAMILIES.map(([f, l]) => [f, `family="${l}"`] as const);
const STATE_LABELS = BGP_STATES.map((st) => [st, `state="${st}"`] as const);
const MESSAGE_LABELS = MESSAGE_TYPES.map(([k, l]) => [k, `type="${l}"`] as const);
const REFUSAL_LABEL_SETS = REFUSAL_LABELS.map(([r, l]) => [r, `reason="${l}"`] as const);

function perFamily(
  o: Sink,
  name: string,
  r: NeighborRow,
  count: (f: 'ipv4-unicast' | 'ipv6-unicast') => number,
): void {
  for (const [f, label] of FAMILY_LABELS) o.sample2(name, r.l, label, count(f));
}

function notifications(o: Sink, name: string, r: NeighborRow, m: ReadonlyMap<number, number>): void {
  if (m.size === 0) return;
  for (const k of [...m.keys()].sort((a, b) => a - b))
    o.sample2(name, r.l, `code="${k >> 8}",subcode="${k & 0xff}"`, m.get(k)!);
}

function messages(o: Sink, name: string, r: NeighborRow, m: Readonly<Record<string, number>>): void {
  for (const [k, label] of MESSAGE_LABELS) o.sample2(name, r.l, label, m[k] ?? 0);
}

export const NEIGHBOR_FAMILIES: readonly Family<NeighborRow>[] = [
  {
    name: 'gredge_bgp_neighbor_info',
    type: 'gauge',
    help: 'Configured BGP neighbors (always 1): address, remote AS and role as labels.',
    write: (r, o) => {
      const n = r.peer.neighbor;
      o.sample2(
        'gredge_bgp_neighbor_info',
        r.l,
        `address="${escapeLabel(n.address)}",remote_as="${n.remoteAs}",role="${escapeLabel(n.role)}"`,
        1,
      );
    },
  },
  {
    name: 'gredge_bgp_neighbor_state',
    type: 'gauge',
    help: 'BGP session state (RFC 4271 8.2.2), one-hot: 1 for the current state, 0 for the others.',
    write: (r, o) => {
      for (const [st, label] of STATE_LABELS)
        o.sample2('gredge_bgp_neighbor_state', r.l, label, r.peer.state === st ? 1 : 0);
    },
  },
  {
    name: 'gredge_bgp_neighbor_enabled',
    type: 'gauge',
    help: '0 while the neighbor is administratively disabled (gredgectl neighbor disable), else 1.',
    write: (r, o) => o.sample('gredge_bgp_neighbor_enabled', r.l, r.peer.enabled ? 1 : 0),
  },
  {
    name: 'gredge_bgp_neighbor_uptime_seconds',
    type: 'gauge',
    help: 'Seconds since the session reached Established; 0 while it is not.',
    write: (r, o) => {
      const since = r.peer.establishedSince;
      const up = since === undefined ? 0 : Math.max(0, (r.now - since) / 1000);
      o.sample('gredge_bgp_neighbor_uptime_seconds', r.l, Math.floor(up));
    },
  },
  {
    name: 'gredge_bgp_neighbor_established_total',
    type: 'counter',
    help: 'Times the session reached Established.',
    write: (r, o) => o.sample('gredge_bgp_neighbor_established_total', r.l, r.peer.counters.establishedCount),
  },
  {
    name: 'gredge_bgp_prefixes_received',
    type: 'gauge',
    help: "Prefixes in the neighbor's Adj-RIB-In now, accepted and refused.",
    write: (r, o) =>
      perFamily(
        o,
        'gredge_bgp_prefixes_received',
        r,
        (f) => (r.stats?.prefixesIn[f] ?? 0) + (r.stats?.prefixesRefused[f] ?? 0),
      ),
  },
  {
    name: 'gredge_bgp_prefixes_accepted',
    type: 'gauge',
    help: 'Prefixes from the neighbor that passed the import policy (eligible for best path).',
    write: (r, o) => perFamily(o, 'gredge_bgp_prefixes_accepted', r, (f) => r.stats?.prefixesIn[f] ?? 0),
  },
  {
    name: 'gredge_bgp_prefixes_refused',
    type: 'gauge',
    help: 'Prefixes from the neighbor held as refused by the import policy now.',
    write: (r, o) => perFamily(o, 'gredge_bgp_prefixes_refused', r, (f) => r.stats?.prefixesRefused[f] ?? 0),
  },
  {
    name: 'gredge_bgp_prefixes_advertised',
    type: 'gauge',
    help: 'Prefixes advertised to the neighbor (its Adj-RIB-Out).',
    write: (r, o) => perFamily(o, 'gredge_bgp_prefixes_advertised', r, (f) => r.stats?.prefixesOut[f] ?? 0),
  },
  {
    name: 'gredge_bgp_import_refusals_total',
    type: 'counter',
    help: 'Routes refused on import, by reason, since the neighbor was configured (a prefix refused twice counts twice).',
    write: (r, o) => {
      for (const [reason, label] of REFUSAL_LABEL_SETS)
        o.sample2('gredge_bgp_import_refusals_total', r.l, label, r.stats?.refused[reason] ?? 0);
    },
  },
  {
    name: 'gredge_bgp_rpki_prefixes',
    type: 'gauge',
    help: 'Routes from the neighbor by RPKI origin validation state (RFC 6811): accepted ones by the state they carry, refused rpki-invalid ones as invalid; absent while rpki is off.',
    write: (r, o) => {
      const c = r.rov;
      if (c === undefined) return;
      o.sample2('gredge_bgp_rpki_prefixes', r.l, 'state="valid"', c.valid);
      o.sample2('gredge_bgp_rpki_prefixes', r.l, 'state="invalid"', c.invalid);
      o.sample2('gredge_bgp_rpki_prefixes', r.l, 'state="not_found"', c.notFound);
    },
  },
  {
    name: 'gredge_bgp_max_prefix_exceeded_total',
    type: 'counter',
    help: 'Times the neighbor went over its max-prefix limit.',
    write: (r, o) => o.sample('gredge_bgp_max_prefix_exceeded_total', r.l, r.stats?.maxPrefixExceeded ?? 0),
  },
  {
    name: 'gredge_bgp_messages_received_total',
    type: 'counter',
    help: 'BGP messages received, by type.',
    write: (r, o) => messages(o, 'gredge_bgp_messages_received_total', r, r.peer.counters.messagesIn),
  },
  {
    name: 'gredge_bgp_messages_sent_total',
    type: 'counter',
    help: 'BGP messages sent, by type.',
    write: (r, o) => messages(o, 'gredge_bgp_messages_sent_total', r, r.peer.counters.messagesOut),
  },
  {
    name: 'gredge_bgp_notifications_received_total',
    type: 'counter',
    help: 'NOTIFICATIONs received, by error code and subcode (RFC 4271 4.5); a pair appears once counted.',
    write: (r, o) =>
      notifications(o, 'gredge_bgp_notifications_received_total', r, r.peer.counters.notificationsIn),
  },
  {
    name: 'gredge_bgp_notifications_sent_total',
    type: 'counter',
    help: 'NOTIFICATIONs sent, by error code and subcode (RFC 4271 4.5); a pair appears once counted.',
    write: (r, o) =>
      notifications(o, 'gredge_bgp_notifications_sent_total', r, r.peer.counters.notificationsOut),
  },
  {
    name: 'gredge_bgp_updates_treated_as_withdraw_total',
    type: 'counter',
    help: 'UPDATEs with a malformed attribute treated as a withdrawal (RFC 7606).',
    write: (r, o) =>
      o.sample('gredge_bgp_updates_treated_as_withdraw_total', r.l, r.peer.counters.updatesTreatedAsWithdraw),
  },
];

const DROP_LABEL_SETS = DROP_REASONS.map((r) => `reason="${DROP_LABELS[r]}"`);

/** The per-tunnel families over one scrape's TunnelTable; a row is its index. */
export function tunnelFamilies(t: TunnelTable): readonly Family<number>[] {
  const T = TunnelTable;
  const one = (name: string, slot: number) => (i: number, o: Sink) =>
    o.sample(name, t.labels[i]!, t.at(i, slot));
  return [
    {
      name: 'gredge_tunnel_up',
      type: 'gauge',
      help: 'GRE keepalive state: 1 up, 0 down; absent for tunnels without keepalives.',
      write: (i, o) => {
        const up = t.at(i, T.UP);
        if (up >= 0) o.sample('gredge_tunnel_up', t.labels[i]!, up);
      },
    },
    {
      name: 'gredge_tunnel_receive_packets_total',
      type: 'counter',
      help: 'Packets received from the tunnel (decapsulated toward the TUN).',
      write: one('gredge_tunnel_receive_packets_total', T.RX_PACKETS),
    },
    {
      name: 'gredge_tunnel_receive_bytes_total',
      type: 'counter',
      help: 'Bytes received from the tunnel.',
      write: one('gredge_tunnel_receive_bytes_total', T.RX_BYTES),
    },
    {
      name: 'gredge_tunnel_transmit_packets_total',
      type: 'counter',
      help: 'Packets sent into the tunnel (encapsulated).',
      write: one('gredge_tunnel_transmit_packets_total', T.TX_PACKETS),
    },
    {
      name: 'gredge_tunnel_transmit_bytes_total',
      type: 'counter',
      help: 'Bytes sent into the tunnel.',
      write: one('gredge_tunnel_transmit_bytes_total', T.TX_BYTES),
    },
    {
      name: 'gredge_tunnel_lpm_routes',
      type: 'gauge',
      help: "Routes in the LPM that lead into the tunnel, by family: its config's (inner subnets, routes) and the FIB's (best paths into it); a family appears once it has one.",
      write: (i, o) => {
        if (t.at(i, T.LPM_KNOWN) === 0) return;
        const v4 = t.at(i, T.LPM4);
        const v6 = t.at(i, T.LPM6);
        if (v4 > 0) o.sample2('gredge_tunnel_lpm_routes', t.labels[i]!, 'family="ipv4"', v4);
        if (v6 > 0) o.sample2('gredge_tunnel_lpm_routes', t.labels[i]!, 'family="ipv6"', v6);
      },
    },
    {
      name: 'gredge_tunnel_dropped_packets_total',
      type: 'counter',
      help: 'Packets of the tunnel dropped, by reason; a reason appears once it counted a packet (gredge_dataplane_dropped_packets_total has every reason).',
      write: (i, o) => {
        for (let d = 0; d < DROP_REASONS.length; d++) {
          const n = t.at(i, T.DROPS + d);
          if (n > 0) o.sample2('gredge_tunnel_dropped_packets_total', t.labels[i]!, DROP_LABEL_SETS[d]!, n);
        }
      },
    },
  ];
}

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
    write: (r, o) => o.sample('gredge_rpki_cache_up', '', r.status.connection === 'established' ? 1 : 0),
  },
  {
    name: 'gredge_rpki_connection_state',
    type: 'gauge',
    help: 'RTR client connection state, one-hot.',
    write: (r, o) => {
      for (const st of RTR_CONNECTION)
        o.sample('gredge_rpki_connection_state', `state="${st}"`, r.status.connection === st ? 1 : 0);
    },
  },
  {
    name: 'gredge_rpki_data_state',
    type: 'gauge',
    help: 'VRP data state, one-hot: none (never synced), current, expired (validation then says NotFound).',
    write: (r, o) => {
      for (const st of RTR_DATA)
        o.sample('gredge_rpki_data_state', `state="${st}"`, r.status.data === st ? 1 : 0);
    },
  },
  {
    name: 'gredge_rpki_cache_info',
    type: 'gauge',
    help: 'Always 1: the cache in use and the RTR version as labels; absent while no cache is in use.',
    write: (r, o) => {
      if (r.status.cache !== null)
        o.sample(
          'gredge_rpki_cache_info',
          `cache="${escapeLabel(r.status.cache)}",version="${r.status.version ?? ''}"`,
          1,
        );
    },
  },
  {
    name: 'gredge_rpki_session_id',
    type: 'gauge',
    help: "The cache's RTR session id; absent before the first sync.",
    write: (r, o) => {
      if (r.status.sessionId !== null) o.sample('gredge_rpki_session_id', '', r.status.sessionId);
    },
  },
  {
    name: 'gredge_rpki_serial',
    type: 'gauge',
    help: "Serial of the cache's data held; absent before the first sync.",
    write: (r, o) => {
      if (r.status.serial !== null) o.sample('gredge_rpki_serial', '', r.status.serial);
    },
  },
  {
    name: 'gredge_rpki_last_update_timestamp_seconds',
    type: 'gauge',
    help: 'When the VRP table last changed from the cache (Unix time); 0 before the first sync.',
    write: (r, o) => {
      const at = r.status.lastUpdate === null ? 0 : Date.parse(r.status.lastUpdate) / 1000;
      o.sample('gredge_rpki_last_update_timestamp_seconds', '', at);
    },
  },
  {
    name: 'gredge_rpki_vrps',
    type: 'gauge',
    help: 'Validated ROA payloads held, by family.',
    write: (r, o) => {
      o.sample('gredge_rpki_vrps', 'family="ipv4"', r.vrps.v4);
      o.sample('gredge_rpki_vrps', 'family="ipv6"', r.vrps.v6);
    },
  },
];
