/**
 * Runs as a child process (isolated.ts, forked with structured-clone IPC): reads and validates
 * config files and sends each result back as plain data. The schema library and the schema live
 * and die with this process, so the daemon's own memory never holds them.
 *
 * Each request is one IPC message (`LoadRequest`). With the memo of the config a load starts
 * from, the load is incremental (incremental.ts): unchanged entries come back as `null`, with
 * where the daemon finds them in `reuse`. Without one, or when anything needs the full path,
 * the load is the full one (load.ts), which also gives every error. The memo of each load is
 * written to `memoOut` after the answer, for the next load whichever process makes it.
 *
 * The answer goes first; the memo is made and its file written after it (off the path of a
 * start-up or reload), whole or not at all. A loader is a new process every time, on purpose: one kept resident between reloads
 * answered in 0.3 s instead of 1 s at 10,000 customers, but held 130-170 MB doing nothing.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { GredgeError } from '../errors.js';
import { ConfigError } from './error.js';
import type { Memo } from './incremental.js';
import type { LoadReply, LoadRequest } from './isolated.js';
import type { TracedFile } from './load.js';
import type { Config } from './types.js';

/**
 * The loading modules (the schema library, the YAML parser: most of a loader's start), imported
 * when the request is in, so that the memo file is read meanwhile, off this thread.
 */
type Modules = typeof import('./incremental.js') & typeof import('./load.js');
async function modules(): Promise<Modules> {
  const [inc, load] = await Promise.all([import('./incremental.js'), import('./load.js')]);
  return { ...inc, ...load };
}

/** A load's answer, and how to make its memo (after the answer: a full load's costs ~0.2 s at 10k). */
function load(
  req: LoadRequest,
  m: Modules,
  memoBytes: Uint8Array | undefined,
): { reply: LoadReply; memo?: () => Memo | undefined } {
  const { decodeMemo, loadConfig, loadIncremental, memoOfFull } = m;
  try {
    const before = memoBytes !== undefined ? decodeMemo(memoBytes) : undefined;
    if (before) {
      const inc = loadIncremental(req.path, before);
      if (inc) return { reply: ok(inc.config, inc.reuse), memo: () => memoOf(() => inc.memo) };
    }
    const trace: TracedFile[] = [];
    const config = loadConfig(req.path, { trace });
    return { reply: ok(config), memo: () => memoOf(() => memoOfFull(trace)) };
  } catch (err) {
    if (err instanceof ConfigError)
      return { reply: { ok: false, kind: 'config', source: err.source, issues: err.issues } };
    if (err instanceof GredgeError)
      return { reply: { ok: false, kind: 'gredge', code: err.code, message: err.message } };
    return { reply: { ok: false, kind: 'internal', message: (err as Error)?.stack ?? String(err) } };
  }
}

function ok(config: Config, reuse?: Record<'neighbors' | 'tunnels', Int32Array>): LoadReply {
  return { ok: true, config, memo: false, ...(reuse ? { reuse } : {}) };
}

/** A load's memo; none (the next load is a full one again) if it cannot be made. */
function memoOf(make: () => Memo): Memo | undefined {
  try {
    return make();
  } catch (err) {
    process.stderr.write(`config loader: no memo for the next reload: ${(err as Error).message}\n`);
    return undefined;
  }
}

/** Writes the memo whole or not at all (a memo that is not there means a full load next time). */
function writeMemo(file: string, memo: Memo, encodeMemo: Modules['encodeMemo']): void {
  try {
    writeFileSync(`${file}.part`, encodeMemo(memo), { mode: 0o600 });
    renameSync(`${file}.part`, file);
  } catch (err) {
    // ENOENT: the daemon has gone, and its directory with it.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      process.stderr.write(`config loader: memo not written: ${(err as Error).message}\n`);
  }
}

if (process.send) {
  process.once('message', async (req: LoadRequest) => {
    // A memo that cannot be read is none: a full load.
    const [m, memoBytes] = await Promise.all([
      modules(),
      req.memoIn !== undefined ? readFile(req.memoIn).catch(() => undefined) : undefined,
    ]);
    const { reply, memo } = load(req, m, memoBytes);
    if (reply.ok && memo && req.memoOut !== undefined) reply.memo = true;
    process.send!(reply, () => {
      // The answer first: the memo (made now) and its file are for the next load; one that
      // cannot be made is no file, which the next load reads as "load in full".
      const made = reply.ok && req.memoOut !== undefined ? memo?.() : undefined;
      if (made) writeMemo(req.memoOut!, made, m.encodeMemo);
      process.disconnect();
    });
  });
}
