/**
 * Route counts of the kernel's IPv4 tables inside a namespace, from /proc/net/fib_triestat
 * (one "Id N:" section per table, or "Main:"/"Local:", each with a "Prefixes:" line): ~70 ms
 * at 1M routes where `ip route show | wc -l` takes ~2 s. Read with `ip netns exec NS cat` in a
 * child process, so the kernel's walk of the tables never blocks this process; a table without
 * a section (never created) counts 0. The walk costs kernel time in the reader (~0.1–0.35 s
 * with 1M routes in each of two tables here), on a 2-CPU machine shared with the daemon: so
 * `pollUntil` waits max(gapMs, the last read's duration) after each read (the poller never
 * takes more than half a CPU) and reports the time at which the read that satisfied the
 * condition completed (an upper bound: the event happened after the previous read began).
 */
import { execFile } from 'node:child_process';
import { nowMs } from './protocol.js';

/** Table id → prefixes; Main is 254 and Local 255, as in rtnetlink. */
export function parseTriestat(text: string): Map<number, number> {
  const out = new Map<number, number>();
  let table: number | undefined;
  for (const line of text.split('\n')) {
    const head = /^(?:Id (\d+)|(Main)|(Local)):\s*$/.exec(line);
    if (head) {
      table = head[1] !== undefined ? Number(head[1]) : head[2] ? 254 : 255;
      continue;
    }
    const p = /^\s+Prefixes:\s+(\d+)/.exec(line);
    if (p && table !== undefined && !out.has(table)) out.set(table, Number(p[1]));
  }
  return out;
}

export interface TableRead {
  /** When the read completed (monotonic ms). */
  t: number;
  /** Prefixes per requested table, in the order asked. */
  counts: number[];
  /** How long the read took. */
  ms: number;
}

/** One read of the namespace's tables. */
export function readTables(ns: string, tables: readonly number[]): Promise<TableRead> {
  const t0 = nowMs();
  return new Promise((resolve, reject) => {
    execFile(
      'ip',
      ['netns', 'exec', ns, 'cat', '/proc/net/fib_triestat'],
      { encoding: 'utf8', timeout: 20_000, maxBuffer: 1 << 20 },
      (err, out) => {
        if (err) return reject(new Error(`reading fib_triestat in ${ns}: ${err.message}`));
        const t = nowMs();
        const all = parseTriestat(out);
        resolve({ t, counts: tables.map((id) => all.get(id) ?? 0), ms: t - t0 });
      },
    );
  });
}

export interface PollStats {
  reads: number;
  maxReadMs: number;
}

export class PollTimeout extends Error {
  readonly last: TableRead | undefined;
  constructor(message: string, last: TableRead | undefined) {
    super(message);
    this.last = last;
  }
}

/**
 * Reads until `done(counts)` holds, `deadline` (monotonic ms) passes (PollTimeout carrying the
 * last read) or `signal` aborts (another failure ended the pass).
 */
export async function pollUntil(
  ns: string,
  tables: readonly number[],
  done: (counts: number[]) => boolean,
  o: { deadline: number; gapMs: number; stats: PollStats; signal?: AbortSignal; what: string },
): Promise<TableRead> {
  let last: TableRead | undefined;
  for (;;) {
    if (o.signal?.aborted) throw new Error(`${o.what}: polling aborted`);
    last = await readTables(ns, tables);
    o.stats.reads++;
    o.stats.maxReadMs = Math.max(o.stats.maxReadMs, last.ms);
    if (done(last.counts)) return last;
    if (last.t > o.deadline) {
      const at = last.counts.map((c, i) => `table ${tables[i]}: ${c}`).join(', ');
      throw new PollTimeout(`${o.what} (${at})`, last);
    }
    await new Promise((r) => setTimeout(r, Math.max(o.gapMs, last!.ms)));
  }
}

/**
 * Proves the parser and the namespace on a small table before a pass: 3 routes into table
 * 201 and 1 into 202 via the veth next hop must read 3 and 1, and 0 and 0 after a flush.
 */
export async function checkCounter(ns: { name: string; ip(args: string[]): string }, nextHop: string) {
  const tables = [201, 202] as const;
  const add = (prefix: string, table: number) =>
    ns.ip(['route', 'add', prefix, 'via', nextHop, 'table', String(table)]);
  add('198.51.100.0/25', 201);
  add('198.51.100.128/25', 201);
  add('203.0.113.0/24', 201);
  add('203.0.113.0/25', 202);
  const full = await readTables(ns.name, tables);
  for (const t of tables) ns.ip(['route', 'flush', 'table', String(t)]);
  const empty = await readTables(ns.name, tables);
  const got = [...full.counts, ...empty.counts].join(',');
  if (got !== '3,1,0,0')
    throw new Error(
      `fib_triestat self-check in ${ns.name}: read ${got} for tables 201,202 (expected 3,1,0,0)`,
    );
}
