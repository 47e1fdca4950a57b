#!/usr/bin/env node
/**
 * gredged entry point: wiring only (arguments → config → daemon → signals).
 *   gredged --config FILE [--check] [--log-level LEVEL]
 * Exit codes: 0 clean stop, 1 start-up failure, 2 bad arguments or bad config.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from './config/load.js';
import { printConfig } from './config/print.js';
import { Daemon } from './daemon/daemon.js';
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
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(file);
  } catch (err) {
    process.stderr.write(`gredged: invalid config\n${(err as Error).message}\n`);
    return 2;
  }
  if (args.values.check) {
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
  const stop = (signal: string) => {
    log.info({ signal }, 'stopping');
    notify.stopping();
    clearInterval(alive);
    daemon.stop().then(
      () => log.flush(() => process.exit(0)),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  // Reload the same --config file; signals during a reload queue one more (daemon/reload.ts).
  process.on('SIGHUP', () => {
    log.info('SIGHUP: reloading the config');
    daemon.reloader.hangup();
  });
  try {
    await daemon.start();
  } catch (err) {
    const code = err instanceof GredgeError ? err.code : 'ERR_START';
    log.fatal({ code, err }, (err as Error).message);
    process.stderr.write(`gredged: ${(err as Error).message}\n`);
    notify.status(`start-up failed: ${(err as Error).message}`);
    clearInterval(alive);
    await daemon.stop().catch(() => {});
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
