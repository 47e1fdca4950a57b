/**
 * The test's side of the load feeder (feeder-main.ts, run in the aux namespace): `set()` gives
 * it the full prefix set to announce and resolves once it is written on the session.
 */
import { fileURLToPath } from 'node:url';
import type { LabProcess } from '../netns.js';
import type { NrLab } from './lab.js';

const MAIN = fileURLToPath(new URL('./feeder-main.js', import.meta.url));

export interface FeederOptions {
  local: string;
  remote: string;
  as: number;
  routerId: string;
  path: number[];
  nextHop4: string;
  nextHop6: string;
  holdTime: number;
}

export class Feeder {
  readonly proc: LabProcess;
  readonly events: { event: string; why?: string }[] = [];
  #id = 0;
  readonly #waiters = new Map<number, (r: { announced: number; withdrawn: number; live: boolean }) => void>();

  constructor(lab: NrLab, role: string, opts: FeederOptions) {
    this.proc = lab.spawn(role, 'feeder', [process.execPath, MAIN, JSON.stringify(opts)]);
    let buf = '';
    this.proc.child.stdout?.on('data', (d: string) => {
      buf += d;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const m = JSON.parse(line) as { id?: number; event?: string; why?: string };
        if (m.event) this.events.push({ event: m.event, ...(m.why ? { why: m.why } : {}) });
        else if (m.id !== undefined) {
          this.#waiters.get(m.id)?.(m as { announced: number; withdrawn: number; live: boolean });
          this.#waiters.delete(m.id);
        }
      }
    });
  }

  /** Announce exactly these prefixes (withdrawing the rest). */
  set(
    v4: string[],
    v6: string[],
    timeoutMs = 30_000,
  ): Promise<{ announced: number; withdrawn: number; live: boolean }> {
    if (!this.proc.running)
      return Promise.reject(new Error(`feeder exited: ${this.proc.stderr.slice(-1000)}`));
    const id = ++this.#id;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(id);
        reject(new Error(`feeder: no reply in ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      this.proc.child.stdin?.write(`${JSON.stringify({ id, v4, v6 })}\n`);
    });
  }
}
