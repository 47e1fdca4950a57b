/**
 * The service manager's side of gredged's life (sd_notify(3), systemd's Type=notify): READY=1
 * once the data plane is up and the listener bound, RELOADING=1 with MONOTONIC_USEC= and READY=1
 * around a reload, STOPPING=1 on SIGTERM, STATUS= lines for `systemctl status`, and WATCHDOG=1
 * from the event loop every WATCHDOG_USEC/2 (a loop blocked for WatchdogSec gets gredged
 * restarted). The protocol is one AF_UNIX datagram per message to $NOTIFY_SOCKET, a path or an
 * `@abstract` name; Node cannot send those, so the native addon's `sdNotify` does.
 * Without $NOTIFY_SOCKET (not started by systemd) every call does nothing.
 */
import { GredgeError } from '../errors.js';
import { loadNative } from '../dataplane/native.js';
import type { Logger } from './log.js';

/** Sends one datagram; throws (ERR_SD_NOTIFY, with `errno`) when it cannot. */
export type NotifySend = (address: string, message: string) => void;

export interface SdNotifyOptions {
  /** Where NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID come from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Failures to send are logged here, once per kind. */
  log?: Logger;
  /** Default: the native addon's sdNotify. */
  send?: NotifySend;
  /** Default: process.pid (compared with WATCHDOG_PID). */
  pid?: number;
}

export class SdNotify {
  /** The socket address ($NOTIFY_SOCKET), or undefined: every call is a no-op. */
  readonly address: string | undefined;
  /** Milliseconds between watchdog pings (half of WATCHDOG_USEC), or undefined: no watchdog. */
  readonly watchdogMs: number | undefined;
  readonly #send: NotifySend | undefined;
  readonly #log: Logger | undefined;
  readonly #failed = new Set<string>();
  #status: string | undefined;
  #stopping = false;
  #watchdog: NodeJS.Timeout | undefined;

  /** Throws ERR_NATIVE_LOAD when $NOTIFY_SOCKET is set and the addon cannot send to it. */
  constructor(opts: SdNotifyOptions = {}) {
    const env = opts.env ?? process.env;
    this.#log = opts.log;
    const address = env.NOTIFY_SOCKET;
    if (!address) return;
    // systemd 252 and older give a path or an abstract name; newer ones may give vsock:...,
    // which this daemon does not speak (it runs on the host, not in a VM).
    if (!/^[/@]./.test(address) || Buffer.byteLength(address) > 107) {
      this.#log?.warn(
        { notifySocket: address },
        'sd_notify: NOTIFY_SOCKET is not a Unix socket path or @name; not notifying',
      );
      return;
    }
    this.address = address;
    this.#send = opts.send ?? nativeSend();
    const usec = Number(env.WATCHDOG_USEC);
    const pid = env.WATCHDOG_PID;
    // sd_watchdog_enabled(3): the pings are for us unless WATCHDOG_PID names another process.
    if (
      Number.isSafeInteger(usec) &&
      usec > 0 &&
      (pid === undefined || pid === '' || Number(pid) === (opts.pid ?? process.pid))
    )
      this.watchdogMs = Math.max(1, Math.floor(usec / 2000));
  }

  get enabled(): boolean {
    return this.address !== undefined;
  }

  /** READY=1 (start-up or a reload done), with a STATUS= line when given. */
  ready(status?: string): void {
    if (this.#stopping) return; // a start-up or reload that ends after SIGTERM
    if (status !== undefined) this.#status = status;
    this.#notify(status !== undefined ? `READY=1\nSTATUS=${oneLine(status)}` : 'READY=1');
  }

  /**
   * RELOADING=1 with MONOTONIC_USEC= (CLOCK_MONOTONIC, the clock systemd compares it with);
   * call ready() when the reload is over, whether it worked or not.
   */
  reloading(): void {
    if (this.#stopping) return;
    this.#notify(`RELOADING=1\nMONOTONIC_USEC=${monotonicUsec()}`);
  }

  /** RELOADING=1 … READY=1 around `reload`, READY=1 even when it throws. */
  async around<T>(reload: () => Promise<T>): Promise<T> {
    this.reloading();
    try {
      return await reload();
    } finally {
      this.ready();
    }
  }

  /** STOPPING=1; from here on only watchdog pings go out (shutdown may take a while). */
  stopping(): void {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#notify('STOPPING=1');
  }

  /** STATUS=text, sent only when it differs from the last one. */
  status(text: string): void {
    if (text === this.#status || this.#stopping) return;
    this.#status = text;
    this.#notify(`STATUS=${oneLine(text)}`);
  }

  /** WATCHDOG=1 every watchdogMs from a timer on the event loop (it does not keep it alive). */
  startWatchdog(): void {
    if (this.watchdogMs === undefined || this.#watchdog) return;
    this.#notify('WATCHDOG=1');
    this.#watchdog = setInterval(() => this.#notify('WATCHDOG=1'), this.watchdogMs);
    this.#watchdog.unref();
  }

  close(): void {
    clearInterval(this.#watchdog);
    this.#watchdog = undefined;
  }

  #notify(message: string): void {
    if (this.address === undefined || this.#send === undefined) return;
    try {
      this.#send(this.address, message);
    } catch (err) {
      // Once per kind: a watchdog ping that keeps failing would otherwise log twice per WatchdogSec.
      const kind = String((err as { errno?: number }).errno ?? (err as Error).message);
      if (this.#failed.has(kind)) return;
      this.#failed.add(kind);
      this.#log?.error({ err, notifySocket: this.address }, (err as Error).message);
    }
  }
}

/** What gredged says in `systemctl status`: sessions and tunnels at a glance. */
export function statusLine(s: {
  neighbors: number;
  established: number;
  disabled: number;
  tunnels: number;
}): string {
  const disabled = s.disabled > 0 ? `, ${s.disabled} disabled` : '';
  return `${plural(s.neighbors, 'neighbor')}, ${s.established} established${disabled}; ${plural(s.tunnels, 'tunnel')}`;
}

/** The status line of a running daemon (structurally typed: observe/ imports no daemon code). */
export function statusOf(d: {
  peers: ReadonlyMap<string, { state: string; enabled: boolean }>;
  config: { tunnels: readonly unknown[] };
}): string {
  let established = 0;
  let disabled = 0;
  for (const p of d.peers.values()) {
    if (p.state === 'Established') established++;
    if (!p.enabled) disabled++;
  }
  return statusLine({ neighbors: d.peers.size, established, disabled, tunnels: d.config.tunnels.length });
}

let processNotifier: SdNotify | undefined;

/**
 * The notifier of this process, made from process.env on the first call (main.ts makes it, with
 * its logger, before anything else can): what the reload code calls around a reload.
 */
export function systemdNotifier(log?: Logger): SdNotify {
  processNotifier ??= new SdNotify(log ? { log } : {});
  return processNotifier;
}

/** CLOCK_MONOTONIC in microseconds: process.hrtime is libuv's uv_hrtime, that clock on Linux. */
export function monotonicUsec(): bigint {
  return process.hrtime.bigint() / 1000n;
}

function nativeSend(): NotifySend {
  return sendOf(loadNative());
}

/** The addon's sdNotify, or ERR_NATIVE_LOAD saying how to get a build that has it. */
export function sendOf(addon: { sdNotify?: NotifySend | undefined }): NotifySend {
  if (typeof addon.sdNotify !== 'function')
    throw new GredgeError(
      'ERR_NATIVE_LOAD',
      'the native addon was built before sd_notify support (NOTIFY_SOCKET is set, so systemd waits for READY=1): run npx node-gyp rebuild',
    );
  return addon.sdNotify;
}

/** A newline would start another KEY=value assignment. */
function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ');
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
