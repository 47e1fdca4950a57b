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
import { type ListKey, resolveReuse } from './reuse.js';
import type { ConfigIssue } from './reader.js';
import type { Config } from './types.js';

export interface LoadRequest {
  path: string;
  /** The memo of the config the load starts from (incremental.ts). */
  memo?: Uint8Array;
}

export type LoadReply =
  | { ok: true; config: Config; memo?: Uint8Array; reuse?: Record<ListKey, Int32Array> }
  | { ok: false; kind: 'config'; source: string; issues: ConfigIssue[] }
  | { ok: false; kind: 'gredge'; code: GredgeErrorCode; message: string }
  | { ok: false; kind: 'internal'; message: string };

/** A config that takes longer than this to read is refused (a hung file system, say). */
const LOAD_TIMEOUT_MS = 60_000;

/**
 * Each loaded config's memo (incremental.ts), for as long as the config lives: the running one,
 * and the one a `--confirm-within` reload would roll back to.
 */
const memos = new WeakMap<Config, Uint8Array>();

export interface IsolatedOptions {
  timeoutMs?: number;
  /**
   * The config this load starts from (the running one): its unchanged neighbors and tunnels
   * are taken from it, the same objects, instead of being read and checked again.
   */
  previous?: Config;
}

/** How many entries a load took from the config it started from (for a reload's log line). */
const reused = new WeakMap<Config, { neighbors: number; tunnels: number }>();

export function reusedIn(config: Config): { neighbors: number; tunnels: number } | undefined {
  return reused.get(config);
}

export async function loadConfigIsolated(path: string, o: IsolatedOptions | number = {}): Promise<Config> {
  const opts = typeof o === 'number' ? { timeoutMs: o } : o;
  const memo = opts.previous ? memos.get(opts.previous) : undefined;
  const r = await loadIn(path, opts.timeoutMs ?? LOAD_TIMEOUT_MS, memo);
  if (r.reuse && opts.previous) {
    try {
      resolveReuse(r.config, r.reuse, opts.previous);
      const n = { neighbors: 0, tunnels: 0 };
      for (const k of ['neighbors', 'tunnels'] as const) for (const i of r.reuse[k]) if (i >= 0) n[k]++;
      reused.set(r.config, n);
    } catch {
      // Not expected (the memo belongs to `previous`); the full load is always right.
      return loadConfigIsolated(path, { timeoutMs: opts.timeoutMs ?? LOAD_TIMEOUT_MS });
    }
  } else if (r.reuse) {
    return loadConfigIsolated(path, { timeoutMs: opts.timeoutMs ?? LOAD_TIMEOUT_MS });
  }
  if (r.memo) memos.set(r.config, r.memo);
  return r.config;
}

function loadIn(
  path: string,
  timeoutMs: number,
  memo: Uint8Array | undefined,
): Promise<{ config: Config; memo?: Uint8Array; reuse?: Record<ListKey, Int32Array> }> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(new URL('./load-worker.js', import.meta.url)), [], {
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
        if (r.ok) resolve(r);
        else if (r.kind === 'config') reject(new ConfigError(r.source, r.issues));
        else if (r.kind === 'gredge') reject(new GredgeError(r.code, r.message));
        else reject(new Error(`config loader failed: ${r.message}`));
      }),
    );
    child.once('error', (err) => settle(() => reject(err)));
    child.send({ path, ...(memo ? { memo } : {}) } satisfies LoadRequest);
    child.once('exit', (code, signal) =>
      settle(() => reject(new Error(`config loader ended (${signal ?? `exit ${code}`}) before answering`))),
    );
  });
}
