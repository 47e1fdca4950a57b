/**
 * A small stand-in for gredged in the lab: loads a gredged YAML config, starts the data plane
 * from it (`startDataplane`, src/dataplane/from-config.ts) and answers JSON-line requests on
 * stdin (counters, tunnel add/remove, routes) so that tests can read drop counters and change
 * tunnels while traffic flows. Logs go to stderr; stdout carries only JSON lines.
 *
 *   node dist/test/lab/dp-runner.js --config FILE
 *   → {"event":"ready","pid":N}
 *   ← {"id":1,"op":"counters"}            → {"id":1,"ok":true,"result":{...}}
 */
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observe/log.js';

// The data plane module is imported by path at run time so that this file builds before
// src/dataplane exists; the shape used here is the one agreed for src/dataplane/index.ts.
interface DataplaneLike {
  addTunnel(spec: unknown): unknown;
  removeTunnel(name: string): unknown;
  addRoutes(routes: Array<{ prefix: string; tunnel: string }>): unknown;
  removeRoutes(routes: unknown[]): unknown;
  counters(): unknown;
  tunnelCounters(name: string): unknown;
  on?(event: string, fn: (...a: unknown[]) => void): unknown;
  close(): unknown;
}

type Request = { id: number; op: string; args?: unknown };

function out(obj: unknown): void {
  process.stdout.write(
    `${JSON.stringify(obj, (_k, v) => (typeof v === 'bigint' ? Number(v) : v instanceof Map ? Object.fromEntries(v) : v))}\n`,
  );
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--config');
  const file = i >= 0 ? process.argv[i + 1] : undefined;
  if (!file) {
    process.stderr.write('usage: dp-runner --config FILE\n');
    process.exit(2);
  }
  const cfg = loadConfig(file);
  const log = createLogger(cfg.log.level, pino.destination({ dest: 2, sync: true }));
  const modPath = new URL('../../src/dataplane/from-config.js', import.meta.url).href;
  const mod = (await import(modPath)) as {
    startDataplane(cfg: unknown, log: unknown): Promise<unknown> | unknown;
  };
  const started = await mod.startDataplane(cfg, log);
  // startDataplane may hand back the Dataplane itself or a wrapper holding it.
  const dp = (
    started && typeof (started as DataplaneLike).counters === 'function'
      ? started
      : (started as { dataplane: unknown }).dataplane
  ) as DataplaneLike;
  dp.on?.('tunnel-state', (...a: unknown[]) => out({ event: 'tunnel-state', args: a }));

  let closing = false;
  const shutdown = async (code: number) => {
    if (closing) return;
    closing = true;
    try {
      await dp.close();
    } catch (e) {
      process.stderr.write(`dp-runner: close failed: ${String(e)}\n`);
      code = code || 1;
    }
    process.exit(code);
  };
  process.on('SIGTERM', () => void shutdown(0));
  process.on('SIGINT', () => void shutdown(0));

  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    void (async () => {
      let req: Request;
      try {
        req = JSON.parse(line) as Request;
      } catch {
        out({ ok: false, error: 'bad request line' });
        return;
      }
      try {
        const a = req.args as never;
        let result: unknown;
        switch (req.op) {
          case 'counters':
            result = await dp.counters();
            break;
          case 'tunnel-counters':
            result = await dp.tunnelCounters(a);
            break;
          case 'add-tunnel':
            result = await dp.addTunnel(a);
            break;
          case 'remove-tunnel':
            result = await dp.removeTunnel(a);
            break;
          case 'add-routes':
            result = await dp.addRoutes(a);
            break;
          case 'remove-routes':
            result = await dp.removeRoutes(a);
            break;
          case 'memory':
            result = process.memoryUsage();
            break;
          default:
            throw new Error(`unknown op ${req.op}`);
        }
        out({ id: req.id, ok: true, result: result ?? null });
      } catch (e) {
        const err = e as { code?: string; message?: string };
        out({ id: req.id, ok: false, error: err.message ?? String(e), code: err.code });
      }
    })();
  });
  rl.on('close', () => void shutdown(0));
  out({ event: 'ready', pid: process.pid });
}

main().catch((e) => {
  const err = e as { code?: string; message?: string };
  out({ event: 'failed', error: err.message ?? String(e), code: err.code });
  process.stderr.write(`dp-runner: ${String((e as Error).stack ?? e)}\n`);
  process.exit(1);
});
