/**
 * Reloads of the config file (SIGHUP, `gredgectl reload`): read and validate the whole file,
 * diff it against the running config (config/diff.ts), and hand the difference to the daemon,
 * which lets each module apply its part (Daemon.reconfigure). One reload at a time: requests
 * queue behind the running one, and SIGHUPs that arrive meanwhile coalesce into one more.
 *
 * - An invalid file is refused whole: nothing changes, the caller and the log get every problem
 *   with its `file:line:column`, and `failed` is counted.
 * - A change only a restart applies (router id, AS, listener, data plane, control socket) is
 *   refused the same way, naming the fields ("needs a restart: local-as").
 * - `confirmWithin`: the previous config comes back unless `confirm` follows in time (the way
 *   to change a box one might cut oneself off from); until then other reloads are refused.
 */
import { type ConfigDiff, diffConfig, formatDiff } from '../config/diff.js';
import { ConfigError } from '../config/error.js';
import { loadConfigIsolated, reusedIn } from '../config/isolated.js';
import type { Config } from '../config/types.js';
import { ControlError, type ReloadArgs } from '../control/protocol.js';
import type { ReloadResult, ReloadStatus } from '../control/target.js';
import { GredgeError } from '../errors.js';
import type { Logger } from '../observe/log.js';

/**
 * What the service manager is told around a reload (observe/sdnotify.ts's SdNotify fits):
 * systemd's Type=notify-reload waits for RELOADING=1, then READY=1.
 */
export interface ReloadNotifier {
  /** RELOADING=1 with MONOTONIC_USEC=, before anything is read or applied. */
  reloading(): void;
  /** READY=1 once the reload is over, whether it applied, was refused or failed. */
  ready(): void;
}

/** What the reloader needs of the daemon. */
export interface Reconfigurable {
  readonly config: Config;
  /** Applies a validated config whose diff has no `restart` entries. */
  reconfigure(next: Config, diff: ConfigDiff): Promise<void>;
}

export interface ReloaderOptions {
  daemon: Reconfigurable;
  /** The config file (the one gredged was started with). */
  path: string;
  log: Logger;
  /**
   * Reads and validates a file; default config/isolated.ts loadConfigIsolated (a child
   * process), incremental from `previous`, the running config.
   */
  load?: (path: string, previous: Config) => Config | Promise<Config>;
}

interface Pending {
  previous: Config;
  until: number;
  timer: NodeJS.Timeout;
}

export class Reloader {
  readonly #daemon: Reconfigurable;
  readonly #path: string;
  readonly #log: Logger;
  readonly #load: (path: string, previous: Config) => Config | Promise<Config>;
  #tail: Promise<unknown> = Promise.resolve();
  #hupQueued = false;
  #pending: Pending | undefined;
  #closed = false;
  #notifier: ReloadNotifier | undefined;
  readonly #status: ReloadStatus = {
    ok: 0,
    failed: 0,
    lastAt: null,
    lastError: null,
    rollbackPendingUntil: null,
    rollbacks: 0,
    lastRollbackAt: null,
  };

  constructor(o: ReloaderOptions) {
    this.#daemon = o.daemon;
    this.#path = o.path;
    this.#log = o.log;
    this.#load = o.load ?? ((path, previous) => loadConfigIsolated(path, { previous }));
  }

  status(): ReloadStatus {
    return {
      ...this.#status,
      rollbackPendingUntil: this.#pending ? new Date(this.#pending.until).toISOString() : null,
    };
  }

  /** Tells `n` about every reload that may change the running config (not --check, not --confirm). */
  notifyWith(n: ReloadNotifier): void {
    this.#notifier = n;
  }

  /** SIGHUP: a reload of the file; while one runs, any number of signals queue one more. */
  hangup(): void {
    if (this.#hupQueued) return;
    this.#hupQueued = true;
    void this.#serial(() => {
      this.#hupQueued = false;
      return this.#notified(() => this.#reload({ check: false, confirm: false }));
    }).catch(() => {}); // logged and counted in #reload
  }

  /** `gredgectl reload [--check | --confirm-within S | --confirm]`. */
  request(args: ReloadArgs): Promise<ReloadResult> {
    if (args.confirm) return Promise.resolve(this.#confirm());
    if (args.check) return this.#serial(() => this.#reload(args));
    return this.#serial(() => this.#notified(() => this.#reload(args)));
  }

  /** RELOADING=1 … READY=1 around `job`, READY=1 also when it throws. */
  async #notified<T>(job: () => Promise<T>): Promise<T> {
    const n = this.#notifier;
    n?.reloading();
    try {
      return await job();
    } finally {
      n?.ready();
    }
  }

  /**
   * Runs `job` in the reload queue: no reload (SIGHUP, `gredgectl reload`) and no other job runs
   * meanwhile. `job` gets a reload of its own that does not queue behind itself — the normal
   * path (validate all, refuse whole, apply, count) — so that provisioning (src/provision) can
   * write a file, reload, and undo the file when the reload is refused, as one step.
   */
  exclusive<T>(job: (reload: () => Promise<ReloadResult>) => Promise<T>): Promise<T> {
    return this.#serial(() => job(() => this.#reload({ check: false, confirm: false })));
  }

  /** Stops waiting for a confirmation (gredged stopping): the running config stays. */
  close(): void {
    this.#closed = true;
    if (this.#pending) clearTimeout(this.#pending.timer);
    this.#pending = undefined;
  }

  #serial<T>(job: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(job, job);
    this.#tail = run.catch(() => {});
    return run;
  }

  async #reload(args: ReloadArgs): Promise<ReloadResult> {
    const what = args.check ? 'reload --check' : 'reload';
    const t0 = performance.now();
    let next: Config;
    try {
      next = await this.#load(this.#path, this.#daemon.config);
    } catch (err) {
      const msg = (err as Error).message;
      const issues = err instanceof ConfigError ? err.issues.length : undefined;
      this.#log.error({ file: this.#path, issues, errors: msg.split('\n') }, `${what}: config refused`);
      if (!args.check) this.#fail(msg);
      throw new ControlError(
        err instanceof ConfigError || err instanceof GredgeError ? 'invalid-config' : 'internal',
        `config refused, nothing applied:\n${msg}`,
      );
    }
    const old = this.#daemon.config;
    const t1 = performance.now();
    const diff = diffConfig(old, next);
    const lines = formatDiff(diff);
    // How long each step took, and how many entries an incremental load kept as they were.
    const ms = { load: Math.round(t1 - t0), diff: Math.round(performance.now() - t1), apply: 0 };
    const kept = reusedIn(next);
    if (diff.restart.length > 0) {
      const msg = `needs a restart: ${diff.restart.join(', ')} (nothing applied)`;
      this.#log.error({ file: this.#path, restart: diff.restart, diff: lines }, `${what}: refused: ${msg}`);
      if (!args.check) this.#fail(msg);
      throw new ControlError('needs-restart', msg);
    }
    if (args.check) {
      this.#log.info({ file: this.#path, diff: lines }, 'reload --check: config valid');
      return { applied: false, diff: lines, rollbackAt: null };
    }
    if (this.#pending) {
      const msg = `a reload is waiting for confirmation until ${new Date(this.#pending.until).toISOString()}: run \`gredgectl reload --confirm\` or let it roll back first`;
      this.#log.warn(`reload refused: ${msg}`);
      throw new ControlError('busy', msg);
    }
    if (!diff.same) {
      try {
        const t2 = performance.now();
        await this.#apply(next, diff, lines);
        ms.apply = Math.round(performance.now() - t2);
      } catch (err) {
        this.#fail((err as Error).message);
        throw new ControlError('internal', `reload failed: ${(err as Error).message}`);
      }
    } else this.#log.info({ file: this.#path, ms, kept }, 'reload: no change');
    if (!diff.same) this.#log.info({ file: this.#path, ms, kept }, 'reload: applied');
    this.#status.ok++;
    this.#status.lastAt = new Date().toISOString();
    let rollbackAt: string | null = null;
    if (args.confirmWithin !== undefined && !diff.same) {
      const until = Date.now() + args.confirmWithin * 1000;
      rollbackAt = new Date(until).toISOString();
      const timer = setTimeout(
        () => void this.#serial(() => this.#notified(() => this.#rollback())),
        args.confirmWithin * 1000,
      );
      this.#pending = { previous: old, until, timer };
      this.#log.warn(
        { rollbackAt, seconds: args.confirmWithin },
        'reload: rollback pending: run `gredgectl reload --confirm` to keep this config',
      );
    }
    return { applied: !diff.same, diff: lines, rollbackAt };
  }

  async #apply(next: Config, diff: ConfigDiff, lines: string[]): Promise<void> {
    this.#log.info({ file: this.#path, diff: lines }, 'reload: applying');
    const old = this.#daemon.config;
    try {
      await this.#daemon.reconfigure(next, diff);
    } catch (err) {
      // Validation passed but a module failed (the kernel refused a tunnel, say): back to the
      // previous config as well as it goes, so that the box runs one config, not half of two.
      this.#log.error({ err }, 'reload: applying failed; going back to the previous config');
      try {
        const cur = this.#daemon.config;
        await this.#daemon.reconfigure(old, diffConfig(cur, old));
      } catch (err2) {
        this.#log.error({ err: err2 }, 'reload: going back failed too');
      }
      throw err;
    }
  }

  #confirm(): ReloadResult {
    const p = this.#pending;
    if (!p) throw new ControlError('not-found', 'no reload is waiting for confirmation');
    clearTimeout(p.timer);
    this.#pending = undefined;
    this.#log.info('reload: confirmed; the rollback is cancelled');
    return { applied: false, diff: [], rollbackAt: null, confirmed: true };
  }

  async #rollback(): Promise<void> {
    const p = this.#pending;
    if (!p || this.#closed) return;
    this.#pending = undefined;
    const cur = this.#daemon.config;
    const diff = diffConfig(cur, p.previous);
    this.#log.warn(
      { diff: formatDiff(diff) },
      'reload: not confirmed in time: rolling back to the previous config (the file on disk is not changed)',
    );
    try {
      await this.#daemon.reconfigure(p.previous, diff);
      this.#status.rollbacks++;
      this.#status.lastRollbackAt = new Date().toISOString();
      this.#log.warn('reload: rolled back');
    } catch (err) {
      this.#fail(`rollback failed: ${(err as Error).message}`);
      this.#log.error({ err }, 'reload: rollback failed');
    }
  }

  #fail(msg: string): void {
    this.#status.failed++;
    this.#status.lastAt = new Date().toISOString();
    this.#status.lastError = msg;
  }
}
