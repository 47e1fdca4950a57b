/**
 * gredged as the device under test: writes its YAML config (the operator interface of
 * src/config/load.ts), starts `node dist/src/main.js --config FILE` (optionally in a namespace),
 * and watches its JSON-lines log. A gredged that does not start fails the test that started it:
 * interop skips only for a missing tool or missing root (harness/proc.ts `missing`).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Daemon } from './proc.js';

/** The repository root: this file runs from dist/test/interop/harness/. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
export const MAIN = join(ROOT, 'dist/src/main.js');

export interface GredgedNeighbor {
  name: string;
  address: string;
  remoteAs: number;
  role: 'customer' | 'peer' | 'transit' | 'internal';
  passive: boolean;
  holdTime?: number;
  localAddress?: string;
  nextHop6?: string;
  port?: number;
  /** Customers: the prefixes they may announce. */
  prefixes?: string[];
}

export interface GredgedOptions {
  dir: string;
  netns?: string | undefined;
  routerId: string;
  localAs: number;
  listen: { address: string; port: number } | null;
  neighbors: GredgedNeighbor[];
  logLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  /** Replaces the default bogon list (which holds the documentation ranges tests use). */
  bogons?: string[];
  /** `false`: no FIB (the propagation bench compares BGP work alone); default: the config's. */
  fib?: false;
  /** The control socket: default `DIR/gredge.sock` (never the system's default path); `false`: none. */
  control?: false | { socket: string };
  /** The Prometheus exporter's `ADDR:PORT`; default none (`metrics: false`: tests run side by side). */
  metrics?: string;
}

export function gredgedYaml(o: GredgedOptions): string {
  const lines = [
    '# written by test/interop/harness/gredged.ts',
    `router-id: ${o.routerId}`,
    `local-as: ${o.localAs}`,
  ];
  if (o.listen) lines.push(`listen: { address: ${o.listen.address}, port: ${o.listen.port} }`);
  lines.push(`log: { level: ${o.logLevel ?? 'info'} }`);
  if (o.bogons) lines.push(`bogons: [${o.bogons.map((b) => JSON.stringify(b)).join(', ')}]`);
  if (o.fib === false) lines.push('fib: false');
  // Tests run side by side: each gredged gets a control socket in its own directory.
  if (o.control === false) lines.push('control: false');
  else lines.push(`control: { socket: ${JSON.stringify(o.control?.socket ?? join(o.dir, 'gredge.sock'))} }`);
  lines.push(o.metrics ? `metrics: { listen: ${JSON.stringify(o.metrics)} }` : 'metrics: false');
  lines.push('neighbors:');
  for (const n of o.neighbors) {
    lines.push(
      `  - name: ${n.name}`,
      `    address: ${n.address}`,
      `    remote-as: ${n.remoteAs}`,
      `    role: ${n.role}`,
      `    passive: ${n.passive}`,
      `    hold-time: ${n.holdTime ?? 90}`,
      '    connect-retry: 1',
      '    families: [ipv4-unicast, ipv6-unicast]',
    );
    if (n.port !== undefined) lines.push(`    port: ${n.port}`);
    if (n.localAddress) lines.push(`    local-address: ${n.localAddress}`);
    if (n.nextHop6) lines.push(`    next-hop6: ${n.nextHop6}`);
    if (n.prefixes) lines.push(`    prefixes: [${n.prefixes.map((p) => JSON.stringify(p)).join(', ')}]`);
  }
  return `${lines.join('\n')}\n`;
}

export class Gredged {
  readonly opts: GredgedOptions;
  readonly confPath: string;
  daemon: Daemon | undefined;

  constructor(opts: GredgedOptions) {
    this.opts = opts;
    this.confPath = join(opts.dir, 'gredge.yaml');
  }

  async start(): Promise<Daemon> {
    writeFileSync(this.confPath, gredgedYaml(this.opts));
    const d = new Daemon('gredged', [process.execPath, MAIN, '--config', this.confPath], {
      netns: this.opts.netns,
    });
    this.daemon = d;
    await d.waitFor(/gredged started/, 15_000);
    return d;
  }

  /** Log lines (parsed JSON) whose text matches `re`. */
  logLines(re: RegExp): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    for (const line of (this.daemon?.output ?? '').split('\n')) {
      if (!re.test(line)) continue;
      try {
        out.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        out.push({ msg: line });
      }
    }
    return out;
  }
}

export function tempDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `gredge-${tag}-`));
}
