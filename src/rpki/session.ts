/**
 * One RTR session with one cache over plain TCP (RFC 8210 §8 "transport", the plain-TCP case):
 * the query/response exchange of §8.1–8.4, version negotiation (§7), Serial Notify (§5.2),
 * Cache Reset (§5.9), Error Reports both ways (§5.11, §12), and the delta of one response built
 * and checked as it arrives. It commits nothing: at End of Data it hands the checked delta to
 * its owner (`RtrClient`), which applies it atomically. Any protocol error sends one Error Report
 * (never in answer to an Error Report) and ends the session; its owner decides when to reconnect
 * and to which cache.
 */
import { createConnection, type Socket } from 'node:net';
import {
  decodePdu,
  encodePdu,
  errorReport,
  HEADER_LENGTH,
  type Pdu,
  PduFramer,
  PduType,
  pduTypeName,
  type RtrError,
  RtrErrorCode,
  rtrErrorName,
} from './pdu.js';
import { vrpText } from './text.js';
import type { Vrp } from './types.js';
import { VrpTable } from './vrp-table.js';

export interface CacheAddress {
  address: string;
  port: number;
}

export interface SessionOptions extends CacheAddress {
  /** Version to ask for: 1 (RFC 8210), or 0 (RFC 6810) once a cache refused 1. */
  version: 0 | 1;
  /** Resume with a Serial Query (same cache, data not expired) instead of a Reset Query. */
  resume?: { sessionId: number; serial: number } | undefined;
  /** The committed table, read only: withdrawals and announcements are checked against it. */
  has(vrp: Vrp): boolean;
  committedSize(): number;
  maxPduLength: number;
  /** Most VRPs the table may hold after a commit; more is refused (a flooding cache). */
  maxVrps: number;
  connectTimeoutMs: number;
  /** From a query to its End of Data. */
  syncTimeoutMs: number;
  /** Least time between two Serial Queries triggered by Serial Notify. */
  notifyGapMs: number;
}

/** A response checked up to its End of Data: what the owner commits. */
export interface SyncResult {
  /** Answer to a Reset Query: `announced` is the whole new set. */
  full: boolean;
  version: 0 | 1;
  sessionId: number;
  serial: number;
  timers: { refresh: number; retry: number; expire: number } | undefined;
  announced: VrpTable;
  withdrawn: VrpTable;
}

export type SessionEndReason =
  | 'connect-failed' // TCP did not connect
  | 'closed' // the cache closed the connection
  | 'error-sent' // we found a protocol error and sent an Error Report
  | 'error-received' // the cache sent a fatal Error Report
  | 'timeout' // no End of Data in time
  | 'downgrade' // the cache speaks only version 0: reconnect with it
  | 'stopped'; // our owner closed the session

export interface SessionEnd {
  reason: SessionEndReason;
  message: string;
  /** The Error Report code sent or received. */
  code?: number;
}

export interface SessionHooks {
  connected(): void;
  /** A checked response; the owner commits it and returns the refresh interval in ms. */
  synced(r: SyncResult): number;
  /** Error Report "No Data Available" (§12, not fatal): the owner may wait or try another cache. */
  noData(text: string): void;
  /** Called exactly once. */
  ended(e: SessionEnd): void;
}

type State = 'connecting' | 'query-sent' | 'receiving' | 'idle' | 'ended';

export class RtrSession {
  readonly opts: SessionOptions;
  #hooks: SessionHooks;
  #socket: Socket;
  #framer: PduFramer;
  #state: State = 'connecting';
  #version: 0 | 1;
  #negotiated = false;
  #sessionId: number | undefined;
  #serial: number | undefined;
  // The response being received.
  #full = false;
  #responseSession = 0;
  #announced: VrpTable | undefined;
  #withdrawn: VrpTable | undefined;
  // Timers.
  #connectTimer: NodeJS.Timeout | undefined;
  #syncTimer: NodeJS.Timeout | undefined;
  #refreshTimer: NodeJS.Timeout | undefined;
  #notifyTimer: NodeJS.Timeout | undefined;
  #lastSerialQuery = 0;
  #notifyPending = false;

  constructor(opts: SessionOptions, hooks: SessionHooks) {
    this.opts = opts;
    this.#hooks = hooks;
    this.#version = opts.version;
    this.#framer = new PduFramer(opts.maxPduLength);
    if (opts.resume) {
      this.#sessionId = opts.resume.sessionId;
      this.#serial = opts.resume.serial;
    }
    this.#socket = createConnection({ host: opts.address, port: opts.port });
    this.#socket.setNoDelay(true);
    this.#connectTimer = setTimeout(
      () => this.#end({ reason: 'connect-failed', message: `no connection in ${opts.connectTimeoutMs} ms` }),
      opts.connectTimeoutMs,
    );
    this.#socket.once('connect', () => {
      clearTimeout(this.#connectTimer);
      this.#connectTimer = undefined;
      if (this.#state === 'ended') return;
      this.#hooks.connected();
      if (this.#sessionId !== undefined && this.#serial !== undefined) this.#serialQuery();
      else this.#resetQuery();
    });
    this.#socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    this.#socket.on('error', (err: NodeJS.ErrnoException) => {
      const connected = this.#state !== 'connecting';
      this.#end({ reason: connected ? 'closed' : 'connect-failed', message: err.code ?? err.message });
    });
    this.#socket.on('close', () =>
      this.#end({ reason: 'closed', message: 'connection closed by the cache' }),
    );
  }

  get version(): 0 | 1 {
    return this.#version;
  }

  get ended(): boolean {
    return this.#state === 'ended';
  }

  /** True between a query and its End of Data. */
  get syncing(): boolean {
    return this.#state === 'query-sent' || this.#state === 'receiving';
  }

  /** Closes the session without an Error Report (shutdown, failover to a better cache). */
  close(message = 'closed by the router'): void {
    this.#end({ reason: 'stopped', message });
  }

  /** Sends a Serial Query now when idle (the refresh timer, or the owner's wish). */
  refresh(): void {
    if (this.#state !== 'idle') return;
    if (this.#sessionId !== undefined && this.#serial !== undefined) this.#serialQuery();
    else this.#resetQuery();
  }

  // --- sending ---

  #resetQuery(): void {
    this.#full = true;
    this.#send(encodePdu({ type: PduType.RESET_QUERY, version: this.#version }));
    this.#querySent();
  }

  #serialQuery(): void {
    this.#full = false;
    this.#lastSerialQuery = Date.now();
    this.#send(
      encodePdu({
        type: PduType.SERIAL_QUERY,
        version: this.#version,
        sessionId: this.#sessionId!,
        serial: this.#serial!,
      }),
    );
    this.#querySent();
  }

  #querySent(): void {
    this.#state = 'query-sent';
    clearTimeout(this.#refreshTimer);
    clearTimeout(this.#syncTimer);
    this.#syncTimer = setTimeout(
      () => this.#end({ reason: 'timeout', message: `no End of Data within ${this.opts.syncTimeoutMs} ms` }),
      this.opts.syncTimeoutMs,
    );
  }

  #send(b: Uint8Array): void {
    if (!this.#socket.destroyed) this.#socket.write(b);
  }

  // --- receiving ---

  #onData(chunk: Buffer): void {
    if (this.#state === 'ended') return;
    this.#framer.push(chunk);
    for (;;) {
      const next = this.#framer.next();
      if (next === undefined) return;
      if (!(next instanceof Uint8Array)) {
        this.#protocolError(next.error, next.header);
        return;
      }
      this.#onPdu(next);
      if (this.ended) return;
    }
  }

  #onPdu(b: Uint8Array): void {
    const version = b[0]!;
    if (this.#negotiated && version !== this.#version) {
      // §7: once agreed, every PDU must carry the version.
      return void this.#protocolError(
        {
          code: RtrErrorCode.UNEXPECTED_PROTOCOL_VERSION,
          message: `version ${version} PDU in a version ${this.#version} session`,
        },
        b,
      );
    }
    if (!this.#negotiated && version > this.#version) {
      return void this.#protocolError(
        {
          code: RtrErrorCode.UNSUPPORTED_PROTOCOL_VERSION,
          message: `version ${version} PDU, we asked for ${this.#version}`,
        },
        b,
      );
    }
    const r = decodePdu(b);
    if (!r.ok) {
      if (b[1] === PduType.ERROR_REPORT) {
        // §5.11: never an Error Report about an Error Report.
        return void this.#end({
          reason: 'error-received',
          message: `malformed Error Report: ${r.error.message}`,
        });
      }
      return void this.#protocolError(r.error, b);
    }
    const pdu = r.value;
    if (!this.#negotiated) {
      if (pdu.type === PduType.ERROR_REPORT && pdu.code === RtrErrorCode.UNSUPPORTED_PROTOCOL_VERSION) {
        if (this.#version > 0 && version < this.#version) {
          return void this.#end({
            reason: 'downgrade',
            message: pdu.text || 'unsupported protocol version',
            code: 4,
          });
        }
      }
      // §7: a version 0 answer to a version 1 query: carry on in version 0.
      this.#version = version as 0 | 1;
      this.#negotiated = true;
    }
    this.#handle(pdu, b);
  }

  #handle(pdu: Pdu, raw: Uint8Array): void {
    switch (pdu.type) {
      case PduType.SERIAL_NOTIFY:
        return void this.#onNotify(pdu.sessionId, pdu.serial);
      case PduType.CACHE_RESPONSE: {
        if (this.#state !== 'query-sent') return void this.#unexpected(raw);
        if (!this.#full && pdu.sessionId !== this.#sessionId) {
          return void this.#protocolError(
            {
              code: RtrErrorCode.CORRUPT_DATA,
              message: `Cache Response for session ${pdu.sessionId}, ours is ${this.#sessionId}`,
            },
            raw,
          );
        }
        this.#responseSession = pdu.sessionId;
        this.#announced = new VrpTable();
        this.#withdrawn = new VrpTable();
        this.#state = 'receiving';
        return;
      }
      case PduType.IPV4_PREFIX:
      case PduType.IPV6_PREFIX:
        if (this.#state !== 'receiving') return void this.#unexpected(raw);
        return void this.#onPrefix(pdu.announce, pdu.vrp, raw);
      case PduType.ROUTER_KEY:
        // BGPsec router keys (RFC 8210 §5.10): we do not validate paths; parsed and dropped.
        if (this.#state !== 'receiving') return void this.#unexpected(raw);
        return;
      case PduType.END_OF_DATA:
        if (this.#state !== 'receiving') return void this.#unexpected(raw);
        if (pdu.sessionId !== this.#responseSession) {
          return void this.#protocolError(
            {
              code: RtrErrorCode.CORRUPT_DATA,
              message: `End of Data for session ${pdu.sessionId}, response was ${this.#responseSession}`,
            },
            raw,
          );
        }
        return void this.#onEndOfData(pdu.serial, pdu.timers);
      case PduType.CACHE_RESET:
        // §5.9: the cache cannot answer our Serial Query incrementally: start over.
        if (this.#state !== 'query-sent' || this.#full) return void this.#unexpected(raw);
        this.#sessionId = undefined;
        this.#serial = undefined;
        return void this.#resetQuery();
      case PduType.ERROR_REPORT:
        if (pdu.code === RtrErrorCode.NO_DATA_AVAILABLE) {
          // §12: not fatal. The query is over; the owner decides when to ask again.
          clearTimeout(this.#syncTimer);
          this.#state = 'idle';
          this.#announced = undefined;
          this.#withdrawn = undefined;
          this.#hooks.noData(pdu.text);
          return;
        }
        return void this.#end({
          reason: 'error-received',
          message: `${rtrErrorName(pdu.code)}${pdu.text ? `: ${pdu.text}` : ''}`,
          code: pdu.code,
        });
      default:
        // Serial Query and Reset Query go router → cache only.
        return void this.#protocolError(
          { code: RtrErrorCode.UNSUPPORTED_PDU_TYPE, message: `${pduTypeName(pdu.type)} sent by a cache` },
          raw,
        );
    }
  }

  #onNotify(sessionId: number, serial: number): void {
    if (this.#state !== 'idle') {
      this.#notifyPending = true;
      return;
    }
    if (sessionId === this.#sessionId && serial === this.#serial) return;
    // A flood of notifies must not become a flood of queries.
    const wait = this.#lastSerialQuery + this.opts.notifyGapMs - Date.now();
    if (wait > 0) {
      if (this.#notifyTimer === undefined) {
        this.#notifyTimer = setTimeout(() => {
          this.#notifyTimer = undefined;
          this.refresh();
        }, wait);
      }
      return;
    }
    if (sessionId !== this.#sessionId) this.#resetQuery();
    else this.#serialQuery();
  }

  #onPrefix(announce: boolean, vrp: Vrp, raw: Uint8Array): void {
    const add = this.#announced!;
    const del = this.#withdrawn!;
    // The delta is checked against the committed table (Serial Query) or the empty set (Reset
    // Query), so what is committed at End of Data cannot fail.
    const inBase = !this.#full && this.opts.has(vrp);
    if (announce) {
      if (del.remove(vrp)) return; // withdrawn then announced again in one response
      if (inBase || add.has(vrp)) {
        return void this.#protocolError(
          { code: RtrErrorCode.DUPLICATE_ANNOUNCEMENT, message: `duplicate announcement of ${vrpText(vrp)}` },
          raw,
        );
      }
      const total = add.size + (this.#full ? 0 : this.opts.committedSize() - del.size);
      if (total >= this.opts.maxVrps) {
        return void this.#protocolError(
          { code: RtrErrorCode.INTERNAL_ERROR, message: `more than ${this.opts.maxVrps} VRPs` },
          raw,
        );
      }
      add.add(vrp);
      return;
    }
    if (add.remove(vrp)) return; // announced then withdrawn in one response
    if (!inBase || del.has(vrp)) {
      return void this.#protocolError(
        { code: RtrErrorCode.WITHDRAWAL_OF_UNKNOWN_RECORD, message: `withdrawal of unknown ${vrpText(vrp)}` },
        raw,
      );
    }
    del.add(vrp);
  }

  #onEndOfData(serial: number, timers: SyncResult['timers']): void {
    clearTimeout(this.#syncTimer);
    this.#sessionId = this.#responseSession;
    this.#serial = serial;
    const result: SyncResult = {
      full: this.#full,
      version: this.#version,
      sessionId: this.#responseSession,
      serial,
      timers,
      announced: this.#announced!,
      withdrawn: this.#withdrawn!,
    };
    this.#announced = undefined;
    this.#withdrawn = undefined;
    this.#state = 'idle';
    const refreshMs = this.#hooks.synced(result);
    if (this.#state !== 'idle') return; // the owner closed us
    if (this.#notifyPending) {
      this.#notifyPending = false;
      this.#serialQuery();
      return;
    }
    this.#refreshTimer = setTimeout(() => this.refresh(), refreshMs);
  }

  #unexpected(raw: Uint8Array): void {
    this.#protocolError(
      { code: RtrErrorCode.CORRUPT_DATA, message: `unexpected ${pduTypeName(raw[1]!)} while ${this.#state}` },
      raw,
    );
  }

  /** Sends the Error Report (§5.11), then ends the session: every code we send is fatal. */
  #protocolError(e: RtrError, pdu: Uint8Array): void {
    if (this.#state === 'ended') return;
    const version = this.#negotiated ? this.#version : this.opts.version;
    const bytes = pdu.length >= HEADER_LENGTH ? pdu : pdu.subarray(0, pdu.length);
    this.#send(errorReport(version, e.code, bytes, e.message));
    this.#end({ reason: 'error-sent', message: `${rtrErrorName(e.code)}: ${e.message}`, code: e.code });
  }

  #end(e: SessionEnd): void {
    if (this.#state === 'ended') return;
    this.#state = 'ended';
    clearTimeout(this.#connectTimer);
    clearTimeout(this.#syncTimer);
    clearTimeout(this.#refreshTimer);
    clearTimeout(this.#notifyTimer);
    this.#announced = undefined;
    this.#withdrawn = undefined;
    // end() flushes an Error Report written just before; destroy() after a grace period in
    // case the cache never reads.
    this.#socket.end();
    const s = this.#socket;
    setTimeout(() => s.destroy(), 1000).unref();
    this.#hooks.ended(e);
  }
}
