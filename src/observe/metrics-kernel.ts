/**
 * Route counts of the kernel tables gredge writes (`fib.full-table`, `fib.resale-table`), for
 * `gredge_fib_kernel_routes`. The FIB does not keep a copy of what the kernel holds (a 1M-route
 * table twice over would cost tens of MB for a gauge), so the kernel is asked:
 * /proc/net/fib_triestat has a "Prefixes:" line per IPv4 table, ~70 ms of kernel time at 1M
 * routes, read through libuv's thread pool so the event loop never waits for it (a dump of the
 * table, as `ip route show table N | wc -l` does, costs ~1.8 s of a core at 1M). IPv6 has no
 * per-table count short of such a dump, so only IPv4 is counted.
 */
import { readFile } from 'node:fs/promises';

const TRIESTAT = '/proc/net/fib_triestat';
/** Table ids /proc/net/fib_triestat names instead of numbering (RT_TABLE_MAIN, RT_TABLE_LOCAL). */
const NAMED: Readonly<Record<string, number>> = { Main: 254, Local: 255 };

/** IPv4 prefixes per table id, as /proc/net/fib_triestat's text tells them. */
export function parseTriestat(text: string): Map<number, number> {
  const out = new Map<number, number>();
  let table: number | undefined;
  for (const line of text.split('\n')) {
    const head = /^(?:Id (\d+)|(Main|Local)):\s*$/.exec(line);
    if (head) {
      table = head[1] !== undefined ? Number(head[1]) : NAMED[head[2]!];
      continue;
    }
    const m = /^\s+Prefixes:\s+(\d+)/.exec(line);
    if (m && table !== undefined) {
      out.set(table, Number(m[1]));
      table = undefined;
    }
  }
  return out;
}

/**
 * IPv4 routes in each of `tables` (a table the kernel has not created yet holds 0), or
 * undefined when the file cannot be read (no /proc, a kernel without it).
 */
export async function kernelRoutes4(
  tables: Readonly<Record<string, number>>,
  path = TRIESTAT,
): Promise<Record<string, number> | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  const counts = parseTriestat(text);
  const out: Record<string, number> = {};
  for (const [name, id] of Object.entries(tables)) out[name] = counts.get(id) ?? 0;
  return out;
}
