/**
 * A PeerChannel for tests: records every call and keeps the neighbor's routes like a tiny
 * Adj-RIB-In (IPv4 and IPv6 prefix keys), dropping them on `down` as the RIB would.
 */
import type { Family, UpdateMessage } from '../../src/bgp/wire/types.js';
import type { OutboundSink, PeerChannel, SessionInfo } from '../../src/rib/channel.js';

export class RecordingChannel implements PeerChannel {
  readonly events: string[] = [];
  readonly routes4 = new Set<number>();
  readonly routes6 = new Set<string>();
  readonly batches: number[] = []; // sizes of the update batches received
  readonly refreshes: Family[] = [];
  info: SessionInfo | undefined;
  sink: OutboundSink | undefined;
  updates_ = 0;
  ups = 0;
  downs: string[] = [];
  /** When set to an array, every UPDATE handed to `updates` is also appended to it, in order. */
  keep: UpdateMessage[] | undefined;
  #waiters: (() => void)[] = [];

  up(info: SessionInfo, sink: OutboundSink): void {
    this.info = info;
    this.sink = sink;
    this.ups++;
    this.events.push('up');
    this.#wake();
  }

  updates(batch: UpdateMessage[]): void {
    this.batches.push(batch.length);
    for (const u of batch) {
      this.updates_++;
      this.keep?.push(u);
      for (const p of u.withdrawn4) this.routes4.delete(p);
      for (const p of u.withdrawn6) this.routes6.delete(p);
      for (const p of u.nlri4) this.routes4.add(p);
      for (const p of u.nlri6) this.routes6.add(p);
    }
    this.#wake();
  }

  routeRefresh(family: Family): void {
    this.refreshes.push(family);
    this.events.push(`refresh ${family}`);
    this.#wake();
  }

  down(reason: string): void {
    this.downs.push(reason);
    this.events.push(`down ${reason}`);
    this.info = undefined;
    this.sink = undefined;
    this.routes4.clear();
    this.routes6.clear();
    this.#wake();
  }

  /** Resolves once `cond()` holds (checked after every call), or rejects after `timeoutMs`. */
  until(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`recording channel: ${what} not met within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const check = (): void => {
        if (cond()) {
          clearTimeout(t);
          resolve();
        } else this.#waiters.push(check);
      };
      this.#waiters.push(check);
    });
  }

  /**
   * Resolves true once `cond()` holds, or false when `stop` settles first or after `timeoutMs`;
   * unlike `until` it leaves no timer running behind it (for races against another event).
   */
  waitUnless(cond: () => boolean, stop: Promise<unknown>, timeoutMs = 5000): Promise<boolean> {
    return new Promise((resolve) => {
      let done = false;
      const finish = (v: boolean): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(v);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      stop.then(
        () => finish(false),
        () => finish(false),
      );
      const check = (): void => {
        if (done) return;
        if (cond()) finish(true);
        else this.#waiters.push(check);
      };
      check();
    });
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }
}
