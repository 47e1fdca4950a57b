/**
 * What the lab's neighbors announce, and from it what gredged's FIB must hold: per prefix the
 * best path (shortest AS path; the lab never ties) for the full table, and the best one that is
 * not no-resale (the peer's, or an internal route tagged 65000:1:3) for the resale table.
 * Customer routes point into the TUN, every other route at its BGP next hop; the tunnels' inner
 * subnets are in both tables. Tests update it whenever they change an announcement.
 */
import { FULL, RESALE, TUN } from './plan.js';

export interface Path {
  from: string;
  /** AS_PATH length as gredged sees it. */
  len: number;
  /** The gateway, or 'tunnel' for a customer route (into the TUN). */
  via: string;
  noResale: boolean;
}

export class Model {
  readonly #paths = new Map<string, Path[]>();
  readonly #static = new Set<string>();

  /** A route into the TUN that is always there (a tunnel's inner subnet). */
  addStatic(prefix: string): void {
    this.#static.add(prefix);
  }

  announce(prefix: string, p: Path): void {
    const list = (this.#paths.get(prefix) ?? []).filter((x) => x.from !== p.from);
    list.push(p);
    this.#paths.set(prefix, list);
  }

  withdraw(prefix: string, from: string): void {
    const list = (this.#paths.get(prefix) ?? []).filter((x) => x.from !== from);
    if (list.length > 0) this.#paths.set(prefix, list);
    else this.#paths.delete(prefix);
  }

  /** Every prefix `from` announces. */
  prefixesOf(from: string): string[] {
    return [...this.#paths].filter(([, ps]) => ps.some((p) => p.from === from)).map(([k]) => k);
  }

  best(prefix: string, resale: boolean): Path | undefined {
    let best: Path | undefined;
    for (const p of this.#paths.get(prefix) ?? []) {
      if (resale && p.noResale) continue;
      if (!best || p.len < best.len) best = p;
    }
    return best;
  }

  /** The kernel tables as kernel.ts's fibTables() prints them. */
  expectedTables(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [table, resale] of [
      [FULL, false],
      [RESALE, true],
    ] as const) {
      const rows = [...this.#static].map((p) => `${p} dev ${TUN}`);
      for (const prefix of this.#paths.keys()) {
        const b = this.best(prefix, resale);
        if (b) rows.push(b.via === 'tunnel' ? `${prefix} dev ${TUN}` : `${prefix} via ${b.via}`);
      }
      out[table] = rows.sort();
    }
    return out;
  }
}
