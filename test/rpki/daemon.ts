/**
 * A real gredged (`node dist/src/main.js`) for the RPKI tests that need the whole daemon: its
 * config written with an `rpki:` block, its control socket asked with `gredgectl --json`, and
 * scripted BGP speakers (test/fakes/fake-peer.ts) kept alive, with what each was told. Processes
 * are ended by PID and the directory removed by `close()`, which callers put in teardown.
 */
import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeUpdate, formatPrefix4, MessageType } from '../../src/bgp/wire/index.js';
import { FakePeer } from '../fakes/fake-peer.js';
import { MAIN, ROOT, tempDir } from '../interop/harness/gredged.js';
import { Daemon } from '../interop/harness/proc.js';

const CTL = join(ROOT, 'dist/src/control/cli/gredgectl.js');

export interface RpkiDaemonOptions {
  tag: string;
  address: string;
  port: number;
  localAs: number;
  /** YAML lines of `neighbors:` entries (each `- { … }`). */
  neighbors: string[];
  /** The `rpki:` block's body as YAML flow (`{ servers: [...], … }`), or false. */
  rpki: string | false;
  env?: NodeJS.ProcessEnv;
}

export class RpkiDaemon {
  readonly dir: string;
  readonly file: string;
  readonly sock: string;
  readonly opts: RpkiDaemonOptions;
  daemon: Daemon | undefined;
  readonly fakes: FakePeer[] = [];
  readonly #timers: NodeJS.Timeout[] = [];

  constructor(opts: RpkiDaemonOptions) {
    this.opts = opts;
    this.dir = tempDir(opts.tag);
    this.file = join(this.dir, 'gredge.yaml');
    this.sock = join(this.dir, 'ctl.sock');
  }

  /** Writes the config (a reload reads it again): `rpki` replaces the block when given. */
  write(rpki: string | false = this.opts.rpki): void {
    const o = this.opts;
    const lines = [
      `router-id: ${o.address}`,
      `local-as: ${o.localAs}`,
      `listen: { address: ${o.address}, port: ${o.port} }`,
      'fib: false',
      'metrics: false',
      `control: { socket: ${JSON.stringify(this.sock)} }`,
      'bogons: []', // the tests announce documentation prefixes
    ];
    if (rpki !== false) lines.push(`rpki: ${rpki}`);
    lines.push('neighbors:', ...o.neighbors.map((n) => `  ${n}`));
    writeFileSync(this.file, `${lines.join('\n')}\n`);
  }

  async start(): Promise<Daemon> {
    this.write();
    const d = new Daemon(`gredged:${this.opts.tag}`, [process.execPath, MAIN, '--config', this.file], {
      env: { ...process.env, ...this.opts.env },
    });
    this.daemon = d;
    await d.waitFor(/gredged started/, 30_000);
    return d;
  }

  // biome-ignore lint/suspicious/noExplicitAny: answers are checked field by field
  json(args: string[]): Promise<any> {
    return new Promise((resolve, reject) =>
      execFile(
        process.execPath,
        [CTL, '--socket', this.sock, ...args, '--json'],
        { env: { ...process.env, NODE_OPTIONS: '', GREDGE_SOCKET: '' }, timeout: 30_000 },
        (err, stdout, stderr) =>
          err
            ? reject(new Error(`gredgectl ${args.join(' ')}: ${stderr}`))
            : resolve(JSON.parse(String(stdout))),
      ),
    );
  }

  /** `gredgectl reload` (text answer, exit code). */
  reload(): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) =>
      execFile(
        process.execPath,
        [CTL, '--socket', this.sock, 'reload'],
        { env: { ...process.env, NODE_OPTIONS: '', GREDGE_SOCKET: '' }, timeout: 60_000 },
        (err, stdout, stderr) =>
          resolve({
            code: err ? (typeof err.code === 'number' ? err.code : 99) : 0,
            stdout: String(stdout),
            stderr: String(stderr),
          }),
      ),
    );
  }

  /** A BGP speaker from `local` (AS `asn`), established and kept alive every second. */
  async speaker(local: string, asn: number, holdTime = 3): Promise<FakePeer> {
    const fp = await FakePeer.connect(this.opts.address, this.opts.port, local);
    this.fakes.push(fp);
    await fp.establish({ asn, bgpId: local, holdTime }, 15_000);
    this.#timers.push(setInterval(() => fp.isClosed || fp.sendKeepalive(), 1000));
    return fp;
  }

  /** Sessions established so far, per neighbor name (unchanged: no reset). */
  async sessions(names: string[]): Promise<number[]> {
    const out: number[] = [];
    for (const n of names) out.push((await this.json(['show', 'neighbor', n])).establishedCount as number);
    return out;
  }

  async close(): Promise<void> {
    for (const i of this.#timers) clearInterval(i);
    for (const f of this.fakes) f.destroy();
    await this.daemon?.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Whether an IPv4 prefix is announced to `fp` now (its last word on it). */
export function told(fp: FakePeer, prefix: string, ebgp = true): boolean {
  let state = false;
  for (const m of fp.received) {
    if (m.type !== MessageType.UPDATE) continue;
    const r = decodeUpdate(m.body, { as4: true, extendedMessage: true, ebgp, localAs: 1, peerAs: 2 });
    if (!r.ok) continue;
    for (const p of r.value.withdrawn4) if (formatPrefix4(p) === prefix) state = false;
    for (const p of r.value.nlri4) if (formatPrefix4(p) === prefix) state = true;
  }
  return state;
}

/** Polls `cond` (every 100 ms) until true; rejects after `ms` naming `what`. */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  ms: number,
  what: string,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
