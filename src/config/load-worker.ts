/**
 * Runs as a short-lived child process (isolated.ts, forked with structured-clone IPC): reads and
 * validates one config file and sends the result back as plain data. The schema library and the
 * schema live and die with this process, so the daemon's own memory never holds them.
 *
 * The request comes as one IPC message `{ path, memo? }`. With the memo of the running config
 * the load is incremental (incremental.ts): unchanged entries come back as `null`, with where
 * the daemon finds them in `reuse`. Without one, or when anything needs the full path, the load
 * is the full one (load.ts), which also gives every error.
 */
import { GredgeError } from '../errors.js';
import { ConfigError } from './error.js';
import { loadIncremental, memoOfFull } from './incremental.js';
import type { LoadReply, LoadRequest } from './isolated.js';
import { loadConfig, type TracedFile } from './load.js';

function reply(req: LoadRequest): LoadReply {
  try {
    if (req.memo) {
      const inc = loadIncremental(req.path, req.memo);
      if (inc) return { ok: true, config: inc.config, memo: inc.memo, reuse: inc.reuse };
    }
    const trace: TracedFile[] = [];
    const config = loadConfig(req.path, { trace });
    return { ok: true, config, ...memo(trace) };
  } catch (err) {
    if (err instanceof ConfigError)
      return { ok: false, kind: 'config', source: err.source, issues: err.issues };
    if (err instanceof GredgeError)
      return { ok: false, kind: 'gredge', code: err.code, message: err.message };
    return { ok: false, kind: 'internal', message: (err as Error)?.stack ?? String(err) };
  }
}

/** The memo of a full load; none (the next load is a full one again) if it cannot be made. */
function memo(trace: TracedFile[]): { memo?: Buffer } {
  try {
    return { memo: memoOfFull(trace) };
  } catch (err) {
    process.stderr.write(`config loader: no memo for the next reload: ${(err as Error).message}\n`);
    return {};
  }
}

if (process.send) {
  process.once('message', (req: LoadRequest) => {
    process.send!(reply(req), () => process.disconnect());
  });
}
