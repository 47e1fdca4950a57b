/**
 * The daemon reads its config in a short-lived child process (load-worker.ts) and gets back the
 * validated Config as plain data (structured-clone IPC: the config is JSON-like by design). Why:
 * the schema library and the schema built with it cost ~16 MB of resident memory that a
 * long-running daemon would carry for nothing between reloads; on a box whose budget is a full
 * table in about BIRD's memory, that is worth a process start (~0.1-0.3 s) per start and
 * reload. A worker thread would not do: its allocations stay in the daemon's malloc arenas
 * after it ends. The result, and every error, is exactly what loadConfig gives in-process (the
 * same ConfigError with every position, the same GredgeError codes).
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { GredgeError, type GredgeErrorCode } from '../errors.js';
import { ConfigError } from './error.js';
import type { ConfigIssue } from './reader.js';
import type { Config } from './types.js';

export type LoadReply =
  | { ok: true; config: Config }
  | { ok: false; kind: 'config'; source: string; issues: ConfigIssue[] }
  | { ok: false; kind: 'gredge'; code: GredgeErrorCode; message: string }
  | { ok: false; kind: 'internal'; message: string };

/** A config that takes longer than this to read is refused (a hung file system, say). */
const LOAD_TIMEOUT_MS = 60_000;

export function loadConfigIsolated(path: string, timeoutMs = LOAD_TIMEOUT_MS): Promise<Config> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(new URL('./load-worker.js', import.meta.url)), [path], {
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      // The daemon's own flags (an inspector, a heap size) are not the loader's.
      execArgv: [],
    });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const timer = setTimeout(() => {
      settle(() =>
        reject(new GredgeError('ERR_CONFIG_READ', `${path}: config not read within ${timeoutMs} ms`)),
      );
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('message', (r: LoadReply) =>
      settle(() => {
        if (r.ok) resolve(r.config);
        else if (r.kind === 'config') reject(new ConfigError(r.source, r.issues));
        else if (r.kind === 'gredge') reject(new GredgeError(r.code, r.message));
        else reject(new Error(`config loader failed: ${r.message}`));
      }),
    );
    child.once('error', (err) => settle(() => reject(err)));
    child.once('exit', (code, signal) =>
      settle(() => reject(new Error(`config loader ended (${signal ?? `exit ${code}`}) before answering`))),
    );
  });
}
