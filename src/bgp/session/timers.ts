/**
 * Session timers: ConnectRetry backoff, hold-time negotiation and a cheaply restartable timer.
 *
 * RFC 4271 §4.2 (hold time: 0 or ≥ 3, negotiated as the smaller of both), §10 (KeepaliveTime is
 * a third of the hold time; ConnectRetryTime jitter), §8 (the large hold time in OpenSent lives
 * in fsm.ts). The backoff doubling replaces §8.1.1's optional peer oscillation damping.
 */

/** Upper bound of the ConnectRetry backoff, seconds. */
export const MAX_CONNECT_RETRY = 300;

/**
 * ConnectRetryTime after `failures` consecutive failures: the base for the first retry, doubling
 * with each further failure up to 300 s, then ±25 % jitter so that many sessions do not reconnect
 * in lockstep (§10).
 */
export function connectRetryDelay(base: number, failures: number, rng: () => number = Math.random): number {
  const b = Math.max(base, 0.05);
  const raw = Math.min(b * 2 ** Math.min(Math.max(failures - 1, 0), 30), Math.max(MAX_CONNECT_RETRY, b));
  return raw * (0.75 + 0.5 * rng());
}

/** §4.2: the hold time of a session is the smaller of ours and theirs. */
export function negotiateHoldTime(ours: number, theirs: number): number {
  return Math.min(ours, theirs);
}

/** §10: KeepaliveTime = a third of the hold time; 0 when timers are disabled. */
export function keepaliveInterval(holdTime: number): number {
  return holdTime === 0 ? 0 : Math.max(1, Math.floor(holdTime / 3));
}

/** §4.2 / §6.2: a peer's hold time must be 0 or at least 3 s; 1 and 2 get NOTIFICATION 2/6. */
export function isAcceptableHoldTime(h: number): boolean {
  return h === 0 || (h >= 3 && h <= 65535);
}

/**
 * A one-shot timer whose restart is cheap: restarting only moves a deadline, and the underlying
 * setTimeout re-arms itself when it fires early. Every received message restarts the hold timer,
 * so a full-table load would otherwise churn through hundreds of thousands of setTimeouts.
 */
export class SessionTimer {
  #handle: NodeJS.Timeout | undefined;
  #deadline = 0;
  #fireAt = 0;
  readonly #onExpire: () => void;

  constructor(onExpire: () => void) {
    this.#onExpire = onExpire;
  }

  get running(): boolean {
    return this.#deadline !== 0;
  }

  /** (Re)start: expires `secs` seconds from now. */
  start(secs: number): void {
    const now = Date.now();
    this.#deadline = now + Math.max(0, secs * 1000);
    if (this.#handle === undefined || this.#fireAt > this.#deadline) this.#arm(now);
  }

  stop(): void {
    this.#deadline = 0;
    if (this.#handle !== undefined) {
      clearTimeout(this.#handle);
      this.#handle = undefined;
    }
  }

  #arm(now: number): void {
    if (this.#handle !== undefined) clearTimeout(this.#handle);
    this.#fireAt = this.#deadline;
    this.#handle = setTimeout(() => this.#fire(), Math.max(0, this.#deadline - now));
  }

  #fire(): void {
    this.#handle = undefined;
    if (this.#deadline === 0) return;
    const now = Date.now();
    if (now < this.#deadline) {
      this.#arm(now);
      return;
    }
    this.#deadline = 0;
    this.#onExpire();
  }
}
