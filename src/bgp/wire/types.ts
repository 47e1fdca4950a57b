/**
 * Shared BGP wire types: the contract between bgp/wire (codec), bgp/session (FSM, TCP) and
 * rib (tables). Pure data, no behaviour. Prefixes are numbers/strings, never objects, so a
 * full table is not a graph of a million small objects.
 *
 * RFC 4271 (BGP-4), RFC 4760 (MP-BGP), RFC 6793 (4-octet AS), RFC 5492 (capabilities),
 * RFC 7606 (error handling), RFC 9234 (roles, OTC), RFC 8092 (large communities).
 */

export const AFI_IPV4 = 1;
export const AFI_IPV6 = 2;
export const SAFI_UNICAST = 1;

export type Family = 'ipv4-unicast' | 'ipv6-unicast';

export const MessageType = {
  OPEN: 1,
  UPDATE: 2,
  NOTIFICATION: 3,
  KEEPALIVE: 4,
  ROUTE_REFRESH: 5,
} as const;

export const HEADER_LENGTH = 19;
export const MAX_MESSAGE_LENGTH = 4096;
export const MAX_EXTENDED_MESSAGE_LENGTH = 65535; // RFC 8654

/** RFC 9234 role values carried in the Role capability (code 9). */
export const BgpRole = {
  PROVIDER: 0,
  RS: 1,
  RS_CLIENT: 2,
  CUSTOMER: 3,
  PEER: 4,
} as const;

/**
 * IPv4 prefix key: `address * 64 + length`, address as an unsigned 32-bit host-order integer,
 * host bits zero. Exact in a double (< 2^38); usable directly as a Map key.
 */
export type Prefix4 = number;

/**
 * IPv6 prefix key: a latin1 string, char 0 = prefix length, then ceil(length / 8) address
 * bytes with host bits zero. Canonical, so usable directly as a Map key.
 */
export type Prefix6 = string;

export const AsPathSegmentType = {
  AS_SET: 1,
  AS_SEQUENCE: 2,
  AS_CONFED_SEQUENCE: 3,
  AS_CONFED_SET: 4,
} as const;

export interface AsPathSegment {
  type: number;
  asns: number[];
}

export interface NextHop6 {
  global: Uint8Array; // 16 bytes
  linkLocal?: Uint8Array; // 16 bytes, RFC 2545
}

export interface UnknownAttribute {
  flags: number; // as to be sent: Partial bit already set for optional transitive ones
  code: number;
  value: Uint8Array;
}

/**
 * Decoded path attributes of one UPDATE. AS numbers are always 4-octet values here: toward a
 * 2-octet speaker the codec merges AS4_PATH/AS4_AGGREGATOR on decode and produces them on encode.
 */
export interface PathAttributes {
  origin: number; // 0 IGP, 1 EGP, 2 INCOMPLETE
  asPath: AsPathSegment[];
  nextHop?: number; // IPv4 NEXT_HOP (uint32), or the IPv4 next hop of an MP_REACH
  nextHop6?: NextHop6; // next hop of an IPv6 MP_REACH_NLRI
  med?: number;
  localPref?: number;
  atomicAggregate: boolean;
  aggregator?: { asn: number; address: number };
  communities?: number[]; // RFC 1997, uint32 each
  largeCommunities?: number[]; // RFC 8092, flattened triples [global, local1, local2, ...]
  otc?: number; // RFC 9234 Only-To-Customer
  unknown?: UnknownAttribute[];
}

export interface UpdateMessage {
  withdrawn4: Prefix4[];
  nlri4: Prefix4[];
  withdrawn6: Prefix6[]; // MP_UNREACH_NLRI, IPv6 unicast
  nlri6: Prefix6[]; // MP_REACH_NLRI, IPv6 unicast
  /** Absent when the UPDATE carries only withdrawals (or was treated as withdraw). */
  attrs?: PathAttributes;
  /** Set when the UPDATE is an End-of-RIB marker (RFC 4724 §2). */
  endOfRib?: Family;
  /** RFC 7606 outcomes that did not reset the session, for logging and counters. */
  treatAsWithdraw?: string;
  discarded?: string[];
}

export interface GracefulRestartCapability {
  restarting: boolean; // R bit
  notification: boolean; // N bit (RFC 8538)
  restartTime: number; // seconds, 12 bits
  families: { afi: number; safi: number; forwarding: boolean }[];
}

export interface Capabilities {
  multiprotocol: { afi: number; safi: number }[]; // RFC 4760, code 1
  routeRefresh: boolean; // RFC 2918, code 2
  extendedMessage: boolean; // RFC 8654, code 6
  role?: number; // RFC 9234, code 9
  gracefulRestart?: GracefulRestartCapability; // RFC 4724, code 64
  as4?: number; // RFC 6793, code 65
  enhancedRouteRefresh: boolean; // RFC 7313, code 70
  unknown: { code: number; value: Uint8Array }[];
}

export interface OpenMessage {
  version: number;
  myAs: number; // the 2-octet field as sent (AS_TRANS 23456 for 4-octet ASNs)
  holdTime: number;
  bgpId: number; // uint32
  capabilities: Capabilities;
}

export interface NotificationMessage {
  code: number;
  subcode: number;
  data: Uint8Array;
}

/** RFC 2918 / RFC 7313: subtype 0 = request, 1 = BoRR, 2 = EoRR. */
export interface RouteRefreshMessage {
  afi: number;
  subtype: number;
  safi: number;
}

/** What was negotiated for a session; decoders and encoders take it. */
export interface CodecContext {
  as4: boolean; // both sides sent the 4-octet AS capability
  extendedMessage: boolean; // both sides sent RFC 8654
  ebgp: boolean; // RFC 7606 treats some attributes differently on eBGP (e.g. LOCAL_PREF discarded)
  localAs: number;
  peerAs: number;
}

export type ErrorAction = 'session-reset' | 'treat-as-withdraw' | 'attribute-discard';
