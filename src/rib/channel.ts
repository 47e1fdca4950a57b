/**
 * The one narrow interface between a BGP session and the RIB (BIRD calls it a channel).
 * The session calls the import hooks with decoded batches; the RIB sends through the
 * `OutboundSink` the session hands it, respecting its back-pressure. Neither side reaches
 * into the other.
 */
import type { Capabilities, Family, UpdateMessage } from '../bgp/wire/types.js';

/** What the session learned at Established and the RIB needs for import/export. */
export interface SessionInfo {
  peerAs: number;
  peerRouterId: number; // uint32 BGP identifier
  peerAddress: string; // remote IP of the TCP connection
  localAddress: string; // our IP of the TCP connection (next-hop self uses it)
  ebgp: boolean;
  as4: boolean;
  extendedMessage: boolean; // max message size 65535 instead of 4096
  families: Family[]; // negotiated address families
  remoteCapabilities: Capabilities;
}

/** Where the RIB writes encoded messages for one neighbor. */
export interface OutboundSink {
  /** Queue whole BGP messages. Returns false when the socket buffer is full: stop until drain. */
  send(messages: Uint8Array[]): boolean;
  /** Called once when the sink can take more after `send` returned false. */
  onDrain(cb: () => void): void;
  /**
   * Optional: called when everything re-sent for `routeRefresh(family)` has been handed to
   * `send`, so the session can follow with the RFC 7313 End-of-RIB-Refresh (EoRR) marker.
   */
  refreshed?(family: Family): void;
  /**
   * Optional: ends the session with NOTIFICATION Cease `subcode` (RFC 4486, e.g. 1 "maximum
   * number of prefixes reached", with `data`) and keeps it down, refusing connections too, for
   * `holdDownSeconds` (RFC 4271 §8.1.2 AutomaticStop). `reason` goes to the logs.
   */
  close?(subcode: number, data: Uint8Array, reason: string, holdDownSeconds: number): void;
}

/** Implemented by the RIB for each neighbor; called by the session. */
export interface PeerChannel {
  /** The session reached Established; the RIB starts the initial export to `sink`. */
  up(info: SessionInfo, sink: OutboundSink): void;
  /** A batch of decoded, validated UPDATEs, in arrival order. */
  updates(batch: UpdateMessage[]): void;
  /** The peer asked for our routes again (RFC 2918 / RFC 7313). */
  routeRefresh(family: Family): void;
  /**
   * The session left Established: the neighbor's routes are withdrawn, unless `graceful` (the
   * connection was lost without a NOTIFICATION) and graceful restart was negotiated: then they
   * are kept as stale until the neighbor is back and sends End-of-RIB (RFC 4724 §4.2).
   */
  down(reason: string, opts?: { graceful?: boolean }): void;
  /**
   * Optional: the session was stopped by the operator or the config (disabled, reset, removed):
   * routes still kept as stale from a graceful restart go now, whatever state the session is in.
   */
  flush?(reason: string): void;
}
