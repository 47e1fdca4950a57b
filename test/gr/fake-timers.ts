/**
 * A clock and timers the tests move by hand (the RIB's RibTimers): graceful restart's restart,
 * stale and selection-deferral timers fire exactly when a test says, never on the wall clock.
 */
import type { RibTimers } from '../../src/rib/graceful.js';

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
}

export class FakeTimers implements RibTimers {
  #now = 1_700_000_000_000;
  #seq = 0;
  readonly #pending = new Map<number, Pending>();

  set(fn: () => void, ms: number): unknown {
    const seq = ++this.#seq;
    this.#pending.set(seq, { at: this.#now + ms, seq, fn });
    return seq;
  }

  clear(handle: unknown): void {
    this.#pending.delete(handle as number);
  }

  now(): number {
    return this.#now;
  }

  /** Timers armed and not yet fired or cleared. */
  get armed(): number {
    return this.#pending.size;
  }

  /** Moves the clock `ms` on, firing every timer due on the way, in order. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let next: Pending | undefined;
      for (const p of this.#pending.values())
        if (p.at <= end && (next === undefined || p.at < next.at || (p.at === next.at && p.seq < next.seq)))
          next = p;
      if (next === undefined) break;
      this.#pending.delete(next.seq);
      this.#now = next.at;
      next.fn();
    }
    this.#now = end;
  }
}
