/**
 * Runs as a short-lived child process (isolated.ts, forked with structured-clone IPC): reads and
 * validates one config file and sends the result back as plain data. The schema library and the
 * schema live and die with this process, so the daemon's own memory never holds them.
 */
import { GredgeError } from '../errors.js';
import { ConfigError } from './error.js';
import type { LoadReply } from './isolated.js';
import { loadConfig } from './load.js';

function reply(path: string): LoadReply {
  try {
    return { ok: true, config: loadConfig(path) };
  } catch (err) {
    if (err instanceof ConfigError)
      return { ok: false, kind: 'config', source: err.source, issues: err.issues };
    if (err instanceof GredgeError)
      return { ok: false, kind: 'gredge', code: err.code, message: err.message };
    return { ok: false, kind: 'internal', message: (err as Error)?.stack ?? String(err) };
  }
}

if (process.send) {
  process.send(reply(process.argv[2] ?? ''), () => process.disconnect());
}
