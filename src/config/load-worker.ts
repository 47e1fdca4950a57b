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
import { renameSync, readFileSync, writeFileSync } from 'node:fs';
import { GredgeError } from '../errors.js';
import { ConfigError } from './error.js';
import { decodeMemo, encodeMemo, loadIncremental, type Memo, memoOfFull } from './incremental.js';
import type { LoadReply, LoadRequest } from './isolated.js';
import { loadConfig, type TracedFile } from './load.js';
import type { Config } from './types.js';

/** A load's answer, and how to make its memo (after the answer: a full load's costs ~0.2 s at 10k). */
function load(req: LoadRequest): { reply: LoadReply; memo?: () => Memo | undefined } {
  try {
    const before = req.memoIn !== undefined ? readMemo(req.memoIn) : undefined;
    if (before) {
      const inc = loadIncremental(req.path, before);
      if (inc) return { reply: ok(inc.config, inc.reuse), memo: () => inc.memo };
    }
    const trace: TracedFile[] = [];
    const config = loadConfig(req.path, { trace });
    return { reply: ok(config), memo: () => memoOf(trace) };
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

/** The memo of a full load; none (the next load is a full one again) if it cannot be made. */
function memoOf(trace: TracedFile[]): Memo | undefined {
  try {
    return memoOfFull(trace);
  } catch (err) {
    process.stderr.write(`config loader: no memo for the next reload: ${(err as Error).message}\n`);
    return undefined;
  }
}

function readMemo(file: string): Memo | undefined {
  try {
    return decodeMemo(readFileSync(file));
  } catch {
    return undefined; // gone: a full load
  }
}

/** Writes the memo whole or not at all (a memo that is not there means a full load next time). */
function writeMemo(file: string, memo: Memo): void {
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
  process.once('message', (req: LoadRequest) => {
    const { reply, memo } = load(req);
    if (reply.ok && memo && req.memoOut !== undefined) reply.memo = true;
    process.send!(reply, () => {
      // The answer first: the memo (made now) and its file are for the next load; one that
      // cannot be made is no file, which the next load reads as "load in full".
      const m = reply.ok && req.memoOut !== undefined ? memo?.() : undefined;
      if (m) writeMemo(req.memoOut!, m);
      process.disconnect();
    });
  });
}
