/**
 * The namespaces of the tunnels and churn benches (`gt-TAG-PID`), made by bench/fib's Netns:
 * `lo` up and a veth pair with both ends inside (no dummy driver here), 192.0.2.1/24 on one end
 * so that next hops such as 192.0.2.2 are on a connected subnet, and the documentation ranges
 * 198.51.100.0/24 and 203.0.113.0/24 routed onto it (the tunnels' underlay remotes): nothing
 * leaves the namespace. Deleted by `close()`, or by bench/fib's cleanup hooks on exit, error or
 * signal.
 */
import { execFileSync } from 'node:child_process';
import { Netns, type NetnsLink } from '../fib/netns.js';

export const LINK: NetnsLink = { device: 'gt0', peer: 'gt1', address: '192.0.2.1/24', nextHop: '192.0.2.2' };

const PREFIX = 'gt';

/** Creates `gt-TAG-PID`; throws (after deleting it) on failure. */
export function benchNs(tag: string): Netns {
  return Netns.create(tag, { prefix: PREFIX, link: LINK, routes: ['198.51.100.0/24', '203.0.113.0/24'] });
}

/** Every namespace this machine has whose name starts with `gt-` and ends with `-PID` of ours. */
export function leftoverNamespaces(pid = process.pid): string[] {
  const out = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith(`${PREFIX}-`) && n.endsWith(`-${pid}`));
}
