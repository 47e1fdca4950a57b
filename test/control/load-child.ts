/**
 * The load of the control test, in a process of its own so that parsing megabytes of answers
 * never delays the test's fake BGP peer (whose keepalives keep gredged's hold timer running):
 *   node load-child.js SOCKET CONNECTIONS PER_CONNECTION
 * Opens CONNECTIONS connections, sends PER_CONNECTION requests on each without waiting (every
 * request is in flight at once), and prints one JSON line: when the load started and ended
 * (ms since the epoch), and per command how many answers were ok and what they held.
 */
import { ControlClient } from '../../src/control/client.js';
import type { Response } from '../../src/control/protocol.js';

const [path, conns, per] = [process.argv[2]!, Number(process.argv[3]), Number(process.argv[4])];

/** The mix: route queries of several kinds (the expensive ones), status and neighbors. */
const MIX: { cmd: string; args: Record<string, unknown> }[] = [
  { cmd: 'show routes', args: { limit: 200 } },
  { cmd: 'status', args: {} },
  { cmd: 'show routes', args: {} },
  { cmd: 'show routes', args: { prefix: '20.1.2.3' } },
  { cmd: 'show neighbors', args: {} },
  { cmd: 'show routes', args: { limit: 50, neighbor: 'up' } },
  { cmd: 'status', args: {} },
  { cmd: 'show routes', args: { refused: true } },
  { cmd: 'show neighbor', args: { neighbor: 'up' } },
  { cmd: 'show routes', args: { limit: 200, table: 'resale' } },
];

interface Tally {
  ok: number;
  failed: string[];
  /** For route queries: `routes.length/total` of each answer, distinct values. */
  shapes: string[];
}

async function main(): Promise<void> {
  const clients = await Promise.all(Array.from({ length: conns }, () => ControlClient.connect(path, 30_000)));
  const tally: Record<string, Tally> = {};
  const start = Date.now();
  const all: Promise<void>[] = [];
  let n = 0;
  for (let round = 0; round < per; round++) {
    for (const c of clients) {
      const m = MIX[n++ % MIX.length]!;
      const key = `${m.cmd} ${JSON.stringify(m.args)}`;
      all.push(
        c.request(m.cmd, m.args, 120_000).then((r: Response) => {
          const t = (tally[key] ??= { ok: 0, failed: [], shapes: [] });
          if (!r.ok) {
            t.failed.push(`${r.error.code}: ${r.error.message}`);
            return;
          }
          t.ok++;
          const res = r.result as { routes?: unknown[]; total?: number; match?: string };
          if (res.routes !== undefined) {
            const shape = `${res.routes.length}/${res.total}${res.match ? ` ${res.match}` : ''}`;
            if (!t.shapes.includes(shape)) t.shapes.push(shape);
          }
        }),
      );
    }
  }
  await Promise.all(all);
  const end = Date.now();
  for (const c of clients) c.close();
  process.stdout.write(`${JSON.stringify({ start, end, requests: all.length, tally })}\n`);
}

main().catch((err) => {
  process.stderr.write(`load-child: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
