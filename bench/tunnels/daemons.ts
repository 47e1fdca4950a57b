/**
 * Starting the tunnels bench's daemons inside their `gt-` namespace and asking them things:
 * gredged from config.ts's YAML (ready = its "gredged started" line, which main.ts logs just
 * before it sends READY=1 to systemd, and `status` then counting every tunnel in the data plane),
 * BIRD from the same customers (ready = `birdc show status` up and `show protocols` listing
 * every customer protocol). Both control sockets are Unix paths, reachable from the root
 * namespace; commands are timed end to end, as an operator runs them.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAIN, ROOT } from '../../test/interop/harness/gredged.js';
import { Daemon } from '../../test/interop/harness/proc.js';
import { atCleanup } from '../fib/cleanup.js';
import { birdConf, type Customer, gredgedYaml } from './config.js';

export const CTL = join(ROOT, 'dist/src/control/cli/gredgectl.js');
export const PORT = 179;
export const METRICS_PORT = 9475;

export interface Started {
  which: 'gredged' | 'bird';
  daemon: Daemon;
  /** gredged's control socket or BIRD's. */
  socket: string;
  conf: string;
  /** Spawn to ready (s). */
  startS: number;
  stop(): Promise<void>;
}

function track(daemon: Daemon, graceMs: number): () => Promise<void> {
  const undo = atCleanup(() => daemon.killNow());
  return async () => {
    await daemon.stop(graceMs);
    undo();
  };
}

export interface RunResult {
  code: number;
  out: string;
  ms: number;
}

/** Runs a command, timing it end to end (ms); never rejects. */
export function timed(argv: string[], timeoutMs = 600_000): Promise<RunResult> {
  const t0 = performance.now();
  return new Promise((resolve) =>
    execFile(
      argv[0]!,
      argv.slice(1),
      { timeout: timeoutMs, maxBuffer: 512 * 1024 * 1024 },
      (err, stdout, stderr) =>
        resolve({
          code: err ? (typeof err.code === 'number' ? err.code : 1) : 0,
          out: `${stdout}${stderr}`,
          ms: performance.now() - t0,
        }),
    ),
  );
}

export const gredgectl = (socket: string, ...args: string[]) =>
  timed([process.execPath, CTL, '--socket', socket, ...args]);
export const birdc = (socket: string, ...args: string[]) => timed(['birdc', '-s', socket, ...args]);

async function until<T>(what: string, f: () => Promise<T | undefined>, deadline: number): Promise<T> {
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not by the deadline`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface GredgedStartOptions {
  perTunnel: boolean;
  deadlineMs: number;
}

export function writeGredgedConf(dir: string, cs: Customer[], perTunnel: boolean, changed?: number): string {
  const conf = join(dir, 'gredge-tunnels.yaml');
  const socket = join(dir, 'gredge-tunnels.sock');
  writeFileSync(
    conf,
    gredgedYaml(cs, {
      dir,
      port: PORT,
      metricsPort: METRICS_PORT,
      socket,
      perTunnel,
      ...(changed !== undefined ? { changed } : {}),
    }),
  );
  return conf;
}

export async function startGredged(
  ns: string,
  dir: string,
  cs: Customer[],
  o: GredgedStartOptions,
): Promise<Started> {
  const conf = writeGredgedConf(dir, cs, o.perTunnel);
  const socket = join(dir, 'gredge-tunnels.sock');
  const t0 = performance.now();
  const daemon = new Daemon('gredged', [process.execPath, MAIN, '--config', conf], { netns: ns });
  const stop = track(daemon, 60_000);
  try {
    await daemon.waitFor(/gredged started/, o.deadlineMs);
    const startS = (performance.now() - t0) / 1000;
    const st = await gredgectl(socket, '--json', 'status');
    const configured =
      (JSON.parse(st.out) as { tunnels?: { configured?: number } | null }).tunnels?.configured ?? 0;
    if (configured !== cs.length)
      throw new Error(`gredged started with ${configured} tunnels in its data plane, not ${cs.length}`);
    return { which: 'gredged', daemon, socket, conf, startS, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export function writeBirdConf(dir: string, cs: Customer[], changed?: number): string {
  const conf = join(dir, 'bird-tunnels.conf');
  writeFileSync(conf, birdConf(cs, PORT, changed));
  return conf;
}

/** BIRD protocols named c0, c1, … as `birdc show protocols` lists them: name → state and since. */
export function birdProtocols(out: string): Map<string, { state: string; since: string; info: string }> {
  const m = new Map<string, { state: string; since: string; info: string }>();
  for (const line of out.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 5 && /^c\d+$/.test(f[0]!) && f[1] === 'BGP')
      m.set(f[0]!, { state: f[3]!, since: `${f[4]} ${f[5] ?? ''}`.trim(), info: f.slice(6).join(' ') });
  }
  return m;
}

export async function startBird(
  ns: string,
  dir: string,
  cs: Customer[],
  deadlineMs: number,
): Promise<Started> {
  const conf = writeBirdConf(dir, cs);
  const socket = join(dir, 'bird-tunnels.ctl');
  const t0 = performance.now();
  const daemon = new Daemon('bird', ['bird', '-f', '-c', conf, '-s', socket, '-P', join(dir, 'bird.pid')], {
    netns: ns,
  });
  const stop = track(daemon, 60_000);
  try {
    await until(
      'BIRD up with every customer protocol',
      async () => {
        if (!daemon.running) throw new Error(`bird exited: ${daemon.output.slice(-2000)}`);
        const r = await birdc(socket, 'show', 'protocols');
        return r.code === 0 && birdProtocols(r.out).size === cs.length ? true : undefined;
      },
      Date.now() + deadlineMs,
    );
    return { which: 'bird', daemon, socket, conf, startS: (performance.now() - t0) / 1000, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** VmRSS of a process (bytes). */
export function rssBytes(pid: number): number {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
  if (!m) throw new Error(`no VmRSS for PID ${pid}`);
  return Number(m[1]) * 1024;
}
