/**
 * The namespaces of the tunnels and churn benches (`gt-TAG-PID`): `lo` up and a veth pair with
 * both ends inside (no dummy driver here), 192.0.2.1/24 on one end so that next hops such as
 * 192.0.2.2 are on a connected subnet, and the documentation ranges 198.51.100.0/24 and
 * 203.0.113.0/24 routed onto it (the tunnels' underlay remotes): nothing leaves the namespace.
 * Deleted by `close()`, or by bench/fib's cleanup hooks on exit, error or signal.
 */
import { execFileSync } from 'node:child_process';
import { atCleanup } from '../fib/cleanup.js';

export const LINK = { device: 'gt0', peer: 'gt1', address: '192.0.2.1/24', nextHop: '192.0.2.2' };

export class BenchNs {
  readonly name: string;
  readonly #undo: () => void;

  private constructor(name: string) {
    this.name = name;
    this.#undo = atCleanup(() => ip(['netns', 'del', name], true));
  }

  /** Creates `gt-TAG-PID`; throws (after deleting it) on failure. */
  static create(tag: string): BenchNs {
    const name = `gt-${tag}-${process.pid}`;
    if (name.length > 60) throw new Error(`namespace name too long: ${name}`);
    ip(['netns', 'del', name], true);
    ip(['netns', 'add', name]);
    const ns = new BenchNs(name);
    try {
      ns.ip(['link', 'set', 'lo', 'up']);
      ns.ip(['link', 'add', LINK.device, 'type', 'veth', 'peer', 'name', LINK.peer]);
      ns.ip(['addr', 'add', LINK.address, 'dev', LINK.device]);
      ns.ip(['link', 'set', LINK.device, 'up']);
      ns.ip(['link', 'set', LINK.peer, 'up']);
      for (const net of ['198.51.100.0/24', '203.0.113.0/24'])
        ns.ip(['route', 'add', net, 'dev', LINK.device]);
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

/** Every namespace this machine has whose name starts with `gt-` and ends with `-PID` of ours. */
export function leftoverNamespaces(pid = process.pid): string[] {
  const out = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith('gt-') && n.endsWith(`-${pid}`));
}
