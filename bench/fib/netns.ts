/**
 * One fresh network namespace per daemon pass: `lo` up (the sessions run on 127.0.0.1–3) and a
 * veth pair with both ends inside (the kernel here has no dummy driver), 192.0.2.1/24 on one
 * end, both up, so that the feeder's NEXT_HOP 192.0.2.2 is on a connected subnet: a kernel
 * route via it is accepted without a neighbour entry, and nothing ever leaves the namespace.
 * The namespace is deleted by `close()`, or by the cleanup hooks on exit, error or signal.
 * Other benches (tunnels, churn) make theirs here too, with their own name prefix, link names
 * and routes onto the link.
 */
import { execFileSync } from 'node:child_process';
import { atCleanup } from './cleanup.js';

export interface NetnsLink {
  device: string;
  peer: string;
  address: string;
  nextHop: string;
}

export const LINK: NetnsLink = {
  device: 'fib0',
  peer: 'fib1',
  address: '192.0.2.1/24',
  nextHop: '192.0.2.2',
};

export interface NetnsOptions {
  /** The name is `PREFIX-TAG-PID` (default `gfib`). */
  prefix?: string;
  /** The veth pair and its subnet (default LINK). */
  link?: NetnsLink;
  /** Destinations routed onto the link's device (default none). */
  routes?: string[];
}

export class Netns {
  readonly name: string;
  readonly #undo: () => void;

  private constructor(name: string) {
    this.name = name;
    this.#undo = atCleanup(() => ip(['netns', 'del', name], true));
  }

  /** Creates `gfib-TAG-PID` with lo and the veth subnet; throws (after deleting it) on failure. */
  static create(tag: string, o: NetnsOptions = {}): Netns {
    const link = o.link ?? LINK;
    const name = `${o.prefix ?? 'gfib'}-${tag}-${process.pid}`;
    if (name.length > 60) throw new Error(`namespace name too long: ${name}`);
    ip(['netns', 'del', name], true); // a leftover of this very PID cannot exist, but be sure
    ip(['netns', 'add', name]);
    const ns = new Netns(name);
    try {
      ns.ip(['link', 'set', 'lo', 'up']);
      ns.ip(['link', 'add', link.device, 'type', 'veth', 'peer', 'name', link.peer]);
      ns.ip(['addr', 'add', link.address, 'dev', link.device]);
      ns.ip(['link', 'set', link.device, 'up']);
      ns.ip(['link', 'set', link.peer, 'up']);
      for (const net of o.routes ?? []) ns.ip(['route', 'add', net, 'dev', link.device]);
    } catch (err) {
      ns.close();
      throw err;
    }
    return ns;
  }

  /** `ip -n NAME ARGS…` */
  ip(args: string[]): string {
    return ip(['-n', this.name, ...args]);
  }

  /** Runs `argv` inside the namespace and returns its stdout. */
  exec(argv: string[], timeoutMs = 60_000): string {
    return execFileSync('ip', ['netns', 'exec', this.name, ...argv], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
      maxBuffer: 256 * 1024 * 1024,
    });
  }

  /** Deletes the namespace; call after every process in it has ended. */
  close(): void {
    this.#undo();
  }
}

function ip(args: string[], allowFail = false): string {
  try {
    return execFileSync('ip', args, { encoding: 'utf8', stdio: 'pipe', timeout: 30_000 });
  } catch (err) {
    if (allowFail) return '';
    throw new Error(`ip ${args.join(' ')}: ${(err as { stderr?: string }).stderr ?? err}`);
  }
}
