/**
 * FIB programming latency without a hook in the FIB: the kernel writer the FIB is handed
 * (FibOptions.writer) wrapped so that each write batch's time, from hand-over to the kernel's
 * acknowledgement (what Fib.stats().lastWriteMs measures too), feeds the
 * `gredge_fib_write_duration_seconds` histogram. One observation per batch, never per route.
 */
import type { KernelWriter, WriteResult } from '../fib/writer.js';

export function timedWriter(w: KernelWriter, observe: (seconds: number) => void): KernelWriter {
  return {
    write(records: Uint8Array): Promise<WriteResult> {
      const t0 = performance.now();
      const done = (): void => observe((performance.now() - t0) / 1000);
      return w.write(records).finally(done);
    },
    dumpRoutes: (family, table) => w.dumpRoutes(family, table),
    dumpRules: (family) => w.dumpRules(family),
    close: () => w.close(),
  };
}
