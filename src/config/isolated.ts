/**
 * The daemon reads its config in a short-lived child process (load-worker.ts) and gets back the
 * validated Config as plain data (structured-clone IPC: the config is JSON-like by design). Why:
 * the schema library and the schema built with it cost ~16 MB of resident memory that a
 * long-running daemon would carry for nothing between reloads; on a box whose budget is a full
 * table in about BIRD's memory, that is worth a process start (~0.1-0.3 s) per start and
 * reload. A worker thread would not do: its allocations stay in the daemon's malloc arenas
 * after it ends. The result, and every error, is exactly what loadConfig gives in-process (the
 * same ConfigError with every position, the same GredgeError codes).
 *
 * A reload starts from the running config (incremental.ts): the loader reads the memo file the
 * loader of that config left, and what did not change comes back as the running config's own
 * objects.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GredgeError, type GredgeErrorCode } from '../errors.js';
import { ConfigError } from './error.js';
import { type ListKey, resolveReuse } from './reuse.js';
import type { ConfigIssue } from './reader.js';
import type { Config } from './types.js';

export interface LoadRequest {
  path: string;
  /** The file holding the memo of the config the load starts from (incremental.ts). */
  memoIn?: string;
  /** Where to write the memo of this load (after the answer). */
  memoOut?: string;
}

export type LoadReply =
  | {
      ok: true;
      config: Config;
      /** A memo is being written to `memoOut`. */
      memo: boolean;
      reuse?: Record<ListKey, Int32Array>;
    }
  | { ok: false; kind: 'config'; source: string; issues: ConfigIssue[] }
  | { ok: false; kind: 'gredge'; code: GredgeErrorCode; message: string }
  | { ok: false; kind: 'internal'; message: string };

/** A config that takes longer than this to read is refused (a hung file system, say). */
const LOAD_TIMEOUT_MS = 60_000;

/**
 * Each loaded config's memo file, for as long as the config lives (the running one, and the one
 * a `--confirm-within` reload would roll back to), in a directory of this process's own. The
 * memo of 10,000 customers is ~7 MB: the daemon holds none of it, and sent through the IPC
 * channel both ways it cost ~0.4 s a reload. A memo that is gone only means a full load.
 */
const memos = new WeakMap<Config, string>();
const unlinkWhenGone = new FinalizationRegistry<string>((file) => forget(file));
let memoDir: string | undefined;
let loadSeq = 0;
/** The last loader's end: it writes its memo after answering, and the next load reads it. */
let lastLoader: Promise<unknown> = Promise.resolve();
/** How long a load waits for the last loader to finish its memo (a full load if it does not). */
const MEMO_WAIT_MS = 10_000;

function memoFile(id: number): string | undefined {
  try {
    if (memoDir === undefined) {
      memoDir = mkdtempSync(join(tmpdir(), 'gredged-config-'));
      const dir = memoDir;
      process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    }
    return join(memoDir, `${id}.memo`);
  } catch {
    return undefined; // no memo file: the next load is a full one
  }
}

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
  const timeoutMs = opts.timeoutMs ?? LOAD_TIMEOUT_MS;
  const memoIn = opts.previous ? memos.get(opts.previous) : undefined;
  if (memoIn !== undefined) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([lastLoader, new Promise((r) => (timer = setTimeout(r, MEMO_WAIT_MS)))]);
    clearTimeout(timer);
  }
  const memoOut = memoFile(++loadSeq);
  const req: LoadRequest = { path, ...(memoIn ? { memoIn } : {}), ...(memoOut ? { memoOut } : {}) };
  let r: Extract<LoadReply, { ok: true }>;
  try {
    r = await loadIn(path, timeoutMs, req);
  } catch (err) {
    forget(memoOut);
    throw err;
  }
  if (r.reuse) {
    try {
      if (!opts.previous) throw new Error('nothing to take entries from');
      resolveReuse(r.config, r.reuse, opts.previous);
      const n = { neighbors: 0, tunnels: 0 };
      for (const k of ['neighbors', 'tunnels'] as const) for (const i of r.reuse[k]) if (i >= 0) n[k]++;
      reused.set(r.config, n);
    } catch {
      // Not expected (the memo belongs to `previous`); the full load is always right.
      forget(memoOut);
      return loadConfigIsolated(path, { timeoutMs });
    }
  }
  if (r.memo && memoOut) {
    memos.set(r.config, memoOut);
    unlinkWhenGone.register(r.config, memoOut);
  } else forget(memoOut);
  return r.config;
}

function forget(file: string | undefined): void {
  if (file === undefined) return;
  for (const f of [file, `${file}.part`]) {
    try {
      unlinkSync(f);
    } catch {}
  }
}

function loadIn(
  path: string,
  timeoutMs: number,
  req: LoadRequest,
): Promise<Extract<LoadReply, { ok: true }>> {
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
    child.once('exit', (code, signal) =>
      settle(() => reject(new Error(`config loader ended (${signal ?? `exit ${code}`}) before answering`))),
    );
    lastLoader = new Promise((r) => child.once('exit', r));
    child.send(req);
  });
}
