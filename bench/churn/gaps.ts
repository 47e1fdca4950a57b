/**
 * Keepalive-gap accounting for a customer session with hold time H: the daemon must send a
 * KEEPALIVE or an UPDATE at least every H seconds (RFC 4271 §4.4, §6.5; it sends one every H/3),
 * else the customer's hold timer expires and the session drops. The customer notes the arrival
 * time of every chunk of bytes from the daemon; the largest interval between two arrivals (and
 * the one still open at the end) is the gap the daemon left. A gap of H or more is a missed
 * keepalive even when the session happened to survive it.
 */
export class GapTracker {
  #last: number;
  /** Largest interval between two arrivals (ms). */
  maxGapMs = 0;
  /** When the largest gap ended (ms, on the caller's clock). */
  maxGapAt = 0;
  arrivals = 0;

  /** `startMs`: when the session became Established (the first interval starts there). */
  constructor(startMs: number) {
    this.#last = startMs;
  }

  /** Bytes from the daemon arrived at `nowMs`. */
  note(nowMs: number): void {
    const gap = nowMs - this.#last;
    if (gap > this.maxGapMs) {
      this.maxGapMs = gap;
      this.maxGapAt = nowMs;
    }
    this.#last = nowMs;
    this.arrivals++;
  }

  /** The largest gap including the one open at `nowMs` (nothing received since the last arrival). */
  maxAt(nowMs: number): number {
    return Math.max(this.maxGapMs, nowMs - this.#last);
  }
}

export interface GapVerdict {
  sessions: number;
  /** Largest gap over every session (s). */
  maxGapS: number;
  /** Sessions whose largest gap reached the hold time. */
  missed: number;
  /** Sessions that closed (NOTIFICATION, reset) during the measurement. */
  dropped: number;
  ok: boolean;
}

/** Judges every session: none may have a gap of `holdS` or more, and none may have dropped. */
export function judgeGaps(
  sessions: Array<{ maxGapMs: number; closed?: string | undefined }>,
  holdS: number,
): GapVerdict {
  let maxGapS = 0;
  let missed = 0;
  let dropped = 0;
  for (const s of sessions) {
    maxGapS = Math.max(maxGapS, s.maxGapMs / 1000);
    if (s.maxGapMs >= holdS * 1000) missed++;
    if (s.closed !== undefined) dropped++;
  }
  return { sessions: sessions.length, maxGapS, missed, dropped, ok: missed === 0 && dropped === 0 };
}
