/**
 * Crash safety when the FIB does not run. The kernel routes and rules an earlier instance left
 * (kill -9 while `fib` was on) carry gredge's protocol number; a FIB that starts removes them
 * in its own start reconcile (fib.ts), and a start with `fib: false` or `fib.kernel: false`
 * removes them here: rules first (so that no packet meets a half-emptied table), then the
 * routes of both tables. Without a `fib` section the defaults say where to look.
 */
import type { FibConfig } from '../config/types.js';
import type { Logger } from '../observe/log.js';
import { FIB_RECORD, OP_ROUTE_DEL, OP_RULE_DEL, RecordBatch } from './records.js';
import { errnoName, type KernelWriter, NetlinkWriter } from './writer.js';

const ESRCH = 3;
const ENOENT = 2;

/** Removes what `fib`'s protocol has in its tables and rules; returns how many went. */
export async function removeFibLeftovers(
  fib: Pick<FibConfig, 'protocol' | 'fullTable' | 'resaleTable'>,
  log: Logger,
  writer?: KernelWriter,
): Promise<number> {
  let w: KernelWriter;
  try {
    w = writer ?? new NetlinkWriter(fib.protocol);
  } catch (err) {
    log.warn({ err }, 'fib off: cannot look for routes and rules an earlier instance left');
    return 0;
  }
  try {
    const del = new RecordBatch();
    for (const fam of [4, 6] as const) {
      const rules = await w.dumpRules(fam);
      for (let i = 0; i < rules.length / FIB_RECORD; i++) del.copy(rules, i, OP_RULE_DEL);
    }
    for (const fam of [4, 6] as const) {
      for (const table of new Set([fib.fullTable, fib.resaleTable])) {
        const have = await w.dumpRoutes(fam, table);
        // Highest prefix first, as the FIB removes them (fib.ts #removeAll).
        for (let i = have.length / FIB_RECORD - 1; i >= 0; i--) del.copy(have, i, OP_ROUTE_DEL);
      }
    }
    if (del.count === 0) return 0;
    const { results } = await w.write(del.bytes());
    const failed: Record<string, number> = {};
    for (const e of results)
      if (e !== 0 && e !== ESRCH && e !== ENOENT) failed[errnoName(e)] = (failed[errnoName(e)] ?? 0) + 1;
    log.warn(
      { removed: del.count, protocol: fib.protocol, ...(Object.keys(failed).length > 0 ? { failed } : {}) },
      'fib off: removed the kernel routes and rules an earlier instance left',
    );
    return del.count;
  } catch (err) {
    log.warn({ err }, 'fib off: removing routes and rules an earlier instance left failed');
    return 0;
  } finally {
    if (writer === undefined) w.close();
  }
}
