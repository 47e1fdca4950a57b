/**
 * One fresh network namespace per daemon pass: `lo` up (the sessions run on 127.0.0.1–3) and a
 * veth pair with both ends inside (the kernel here has no dummy driver), 192.0.2.1/24 on one
 * end, both up, so that the feeder's NEXT_HOP 192.0.2.2 is on a connected subnet: a kernel
 * route via it is accepted without a neighbour entry, and nothing ever leaves the namespace.
 * The namespace is deleted by `close()`, or by the cleanup hooks on exit, error or signal.
 */
import { execFileSync } from 'node:child_process';
import { atCleanup } from './cleanup.js';

export const LINK = { device: 'fib0', peer: 'fib1', address: '192.0.2.1/24', nextHop: '192.0.2.2' };

export class Netns {
  readonly name: string;
  readonly #undo: () => void;

  private constructor(name: string) {
    this.name = name;
    this.#undo = atCleanup(() => ip(['netns', 'del', name], true));
  }

  /** Creates `gfib-TAG-PID` with lo and the veth subnet; throws (after deleting it) on failure. */
  static create(tag: string): Netns {
    const name = `gfib-${tag}-${process.pid}`;
    ip(['netns', 'del', name], true); // a leftover of this very PID cannot exist, but be sure
    ip(['netns', 'add', name]);
    const ns = new Netns(name);
    try {
      ip(['-n', name, 'link', 'set', 'lo', 'up']);
      ip(['-n', name, 'link', 'add', LINK.device, 'type', 'veth', 'peer', 'name', LINK.peer]);
      ip(['-n', name, 'addr', 'add', LINK.address, 'dev', LINK.device]);
      ip(['-n', name, 'link', 'set', LINK.device, 'up']);
      ip(['-n', name, 'link', 'set', LINK.peer, 'up']);
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
