/**
 * Splits a TCP byte stream into BGP messages: accumulates chunks, checks each 19-byte header
 * (RFC 4271 §4.1 / §6.1 via the codec's parseHeader) and hands out message bodies without
 * copying when a message lies inside one chunk. The maximum length is 4096 until RFC 8654
 * extended messages are negotiated, then 65535.
 */
import { parseHeader } from '../wire/header.js';
import type { BgpMessageError } from '../wire/errors.js';
import { HEADER_LENGTH, MAX_MESSAGE_LENGTH } from '../wire/types.js';

export type Frame =
  | { kind: 'message'; type: number; body: Uint8Array }
  | { kind: 'error'; error: BgpMessageError };

export class Framer {
  maxLength = MAX_MESSAGE_LENGTH;
  #buf: Uint8Array = new Uint8Array(0);
  #pos = 0;
  #failed = false;

  /** Bytes received but not yet handed out. */
  get pending(): number {
    return this.#buf.length - this.#pos;
  }

  push(chunk: Uint8Array): void {
    if (this.#failed) return;
    const left = this.#buf.length - this.#pos;
    if (left === 0) {
      this.#buf = chunk;
    } else {
      const merged = new Uint8Array(left + chunk.length);
      merged.set(this.#buf.subarray(this.#pos), 0);
      merged.set(chunk, left);
      this.#buf = merged;
    }
    this.#pos = 0;
  }

  /** The next complete message, a header error (after which the framer stays failed), or undefined. */
  next(): Frame | undefined {
    if (this.#failed) return undefined;
    const buf = this.#buf;
    const pos = this.#pos;
    if (buf.length - pos < HEADER_LENGTH) return undefined;
    const h = parseHeader(buf, pos, this.maxLength);
    if (!h.ok) {
      this.#failed = true;
      return { kind: 'error', error: h.error };
    }
    const end = pos + h.value.length;
    if (end > buf.length) return undefined;
    this.#pos = end;
    return {
      kind: 'message',
      type: h.value.type,
      body: buf.subarray(pos + HEADER_LENGTH, end),
    };
  }
}
