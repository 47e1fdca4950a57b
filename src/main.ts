#!/usr/bin/env node
/**
 * gredged entry point: wiring only (arguments → config → daemon → signals).
 *   gredged --config FILE [--check] [--log-level LEVEL]
 * Exit codes: 0 clean stop, 1 start-up failure, 2 bad arguments or bad config, 75 a planned
 * graceful restart (`gredgectl graceful-restart`: start gredged again).
 */
import { parseArgs } from 'node:util';
import { loadConfigIsolated } from './config/isolated.js';
import type { Config } from './config/types.js';
import { GRACEFUL_RESTART_EXIT } from './daemon/control.js';
import { Daemon, STOP_DEADLINE_MS } from './daemon/daemon.js';
import { GredgeError } from './errors.js';
import { createLogger } from './observe/log.js';
import { type SdNotify, statusOf, systemdNotifier } from './observe/sdnotify.js';

const USAGE = `usage: gredged --config FILE [--check] [--log-level trace|debug|info|warn|error]
  --config FILE   the YAML config (see config/gredge.example.yaml)
  --check         validate the config, print its normalized form and exit
  --log-level L   override log.level from the config`;

async function main(): Promise<number> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse();
  } catch (err) {
    process.stderr.write(`gredged: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (args.values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const file = args.values.config;
  if (!file) {
    process.stderr.write(`gredged: --config FILE is required\n${USAGE}\n`);
    return 2;
  }
  let config: Config;
  try {
    config = await loadConfigIsolated(file);
  } catch (err) {
    process.stderr.write(`gredged: invalid config\n${(err as Error).message}\n`);
    return 2;
  }
  if (args.values.check) {
    // Loaded only here: the printer needs the schema, which the running daemon never holds.
    const { printConfig } = await import('./config/print.js');
    process.stdout.write(printConfig(config));
    return 0;
  }
  const level = args.values['log-level'] ?? config.log.level;
  const log = createLogger(level);
  // sd_notify(3) when systemd started us (NOTIFY_SOCKET), else every call is a no-op.
  let notify: SdNotify;
  try {
    notify = systemdNotifier(log);
  } catch (err) {
    process.stderr.write(`gredged: ${(err as Error).message}\n`);
    return 1;
  }
  notify.startWatchdog();
  const daemon = new Daemon(config, log);
  // The data plane runs in native threads that hold no handle on the event loop, and a
  // tunnel-only CPE has no sockets either: this timer keeps gredged up until a signal.
  const alive = setInterval(() => {}, 1 << 30);
  // SIGTERM (systemd's stop) and SIGINT (a terminal's Ctrl-C) stop alike: Cease to every
  // neighbor, kernel routes, rules and TUN removed, exit 0, all within the stop deadline. A
  // signal during start-up waits for the start to finish (or fail) first, so that nothing it is
  // still setting up outlives the stop. A second signal while stopping is logged and changes
  // nothing: the stop is bounded already, and kill -9 stays the way not to wait (the next
  // start removes what is left).
  const deadlineMs = stopDeadline(log);
  let stopping: string | undefined;
  // `gredgectl graceful-restart` stops the same way but leaves routes, rules and the TUN and
  // closes sessions without a NOTIFICATION (Daemon.stop, `graceful`), then exits 75: the unit's
  // RestartForceExitStatus=75 has systemd start gredged again, which finds them and restarts
  // gracefully.
  const stop = (signal: string, graceful = false) => {
    if (stopping !== undefined) {
      log.warn({ signal, first: stopping }, 'already stopping; the stop goes on (bounded by its deadline)');
      return;
    }
    stopping = signal;
    const t0 = Date.now();
    log.info({ signal, deadlineMs, graceful }, graceful ? 'graceful restart: stopping' : 'stopping');
    notify.stopping();
    if (graceful) notify.status('graceful restart: routes kept, restarting');
    clearInterval(alive);
    // Last resort, should a phase of the stop not return at all (each is bounded already).
    setTimeout(() => {
      log.error({ deadlineMs }, 'stop did not finish within its deadline: exiting anyway');
      log.flush(() => process.exit(0));
    }, deadlineMs + HARD_EXIT_GRACE_MS).unref();
    void started
      .catch(() => {})
      // The deadline counts from the signal: a start still under way spends some of it.
      .then(() =>
        daemon.stop(undefined, { deadlineMs: Math.max(0, deadlineMs - (Date.now() - t0)), graceful }),
      )
      .then(
        () => log.flush(() => process.exit(graceful ? GRACEFUL_RESTART_EXIT : 0)),
        () => process.exit(1),
      );
  };
  let started: Promise<void> = Promise.resolve();
  daemon.onGracefulRestart(() => stop('gredgectl graceful-restart', true));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // Reload the same --config file; signals during a reload queue one more (daemon/reload.ts).
  process.on('SIGHUP', () => {
    log.info('SIGHUP: reloading the config');
    daemon.reloader.hangup();
  });
  try {
    started = daemon.start();
    await started;
  } catch (err) {
    const code = err instanceof GredgeError ? err.code : 'ERR_START';
    log.fatal({ code, err }, (err as Error).message);
    process.stderr.write(`gredged: ${(err as Error).message}\n`);
    notify.status(`start-up failed: ${(err as Error).message}`);
    clearInterval(alive);
    // A signal that came during the start stops the daemon itself (and exits 0).
    if (stopping === undefined) await daemon.stop(undefined, { deadlineMs }).catch(() => {});
    return 1;
  }
  // Up: data plane, FIB and listener. STATUS= refreshed every 2 s, sent only when it changed.
  notify.ready(statusOf(daemon));
  // From here on every reload (SIGHUP, gredgectl, a rollback) is RELOADING=1 … READY=1; not
  // before, or a SIGHUP during start-up would say READY=1 early.
  daemon.reloader.notifyWith(notify);
  if (notify.enabled) setInterval(() => notify.status(statusOf(daemon)), 2000).unref();
  return -1; // running: exit happens on a signal
}

/** What the last-resort exit timer allows beyond the stop's own deadline (ms). */
const HARD_EXIT_GRACE_MS = 2000;

/**
 * The stop deadline (ms): STOP_DEADLINE_MS, or GREDGE_STOP_DEADLINE_MS from the environment
 * (tests, and boxes whose kernel tables take longer to empty).
 */
function stopDeadline(log: ReturnType<typeof createLogger>): number {
  const v = process.env.GREDGE_STOP_DEADLINE_MS;
  if (v === undefined || v === '') return STOP_DEADLINE_MS;
  const n = Number(v);
  if (Number.isInteger(n) && n >= 0 && n <= 3_600_000) return n;
  log.warn(
    { GREDGE_STOP_DEADLINE_MS: v, using: STOP_DEADLINE_MS },
    'GREDGE_STOP_DEADLINE_MS is not 0..3600000 ms: ignored',
  );
  return STOP_DEADLINE_MS;
}

function parse() {
  return parseArgs({
    options: {
      config: { type: 'string', short: 'c' },
      check: { type: 'boolean', default: false },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
}

main().then((code) => {
  if (code >= 0) process.exitCode = code;
});
