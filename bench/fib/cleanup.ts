/**
 * What the FIB bench must undo whatever happens: processes it started (ended by PID) and
 * namespaces it made (deleted after the processes in them). Undo steps run newest first, once,
 * on normal exit, on an uncaught error and on SIGINT/SIGTERM.
 */
const steps = new Set<() => void>();
let hooked = false;

/** Registers an undo step; the returned function runs it now (and forgets it). */
export function atCleanup(step: () => void): () => void {
  hook();
  steps.add(step);
  return () => {
    if (!steps.delete(step)) return;
    step();
  };
}

/** Runs every registered step, newest first; each failure is ignored (best effort). */
export function runCleanup(): void {
  const all = [...steps].reverse();
  steps.clear();
  for (const s of all) {
    try {
      s();
    } catch {
      /* best effort: the rest must still run */
    }
  }
}

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', runCleanup);
  for (const [sig, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.on(sig, () => {
      console.error(`\n${sig}: ending the bench's processes and deleting its namespaces`);
      runCleanup();
      process.exit(code);
    });
  }
}
