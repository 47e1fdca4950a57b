/**
 * removeFibLeftovers (src/fib/leftovers.ts), against a fake kernel: what an earlier instance left
 * in the configured tables and rules is deleted, rules first, routes highest first, both
 * families; nothing is written when nothing was left; a writer that cannot dump is a warning,
 * not a failed start. The real kernel: test/ops/crash.test.ts ("fib off").
 */
import t from 'tap';
import { prefix4 } from '../../src/bgp/wire/prefix.js';
import { removeFibLeftovers } from '../../src/fib/leftovers.js';
import {
  FIB_RECORD,
  OP_ROUTE_DEL,
  OP_ROUTE_SET,
  OP_RULE_ADD,
  OP_RULE_DEL,
  RecordBatch,
  readRecord,
} from '../../src/fib/records.js';
import type { KernelWriter, WriteResult } from '../../src/fib/writer.js';
import { recordingLog } from '../rib/helpers.js';

const FIB = { protocol: 250, fullTable: 201, resaleTable: 202 };

/** Holds routes per (family, table) and rules per family, as the native dumps return them. */
class LeftKernel implements KernelWriter {
  readonly routes = new Map<string, RecordBatch>();
  readonly rules = new Map<number, RecordBatch>();
  readonly written: Array<{ op: number; family: number; table: number; dst: string }> = [];
  failDump = false;
  addRoute(table: number, a: number, len: number): void {
    const k = `4|${table}`;
    if (!this.routes.has(k)) this.routes.set(k, new RecordBatch());
    this.routes.get(k)!.route4(OP_ROUTE_SET, prefix4(a, len), table, 0, new Uint8Array([203, 0, 113, 2]));
  }
  addRule(family: 4 | 6, table: number, prio: number): void {
    if (!this.rules.has(family)) this.rules.set(family, new RecordBatch());
    this.rules.get(family)!.rule(OP_RULE_ADD, family, undefined, table, prio, 'gredge0');
  }
  async write(records: Uint8Array): Promise<WriteResult> {
    const n = records.length / FIB_RECORD;
    for (let i = 0; i < n; i++) {
      const r = readRecord(records, i);
      this.written.push({
        op: r.op,
        family: r.family,
        table: r.table,
        dst: `${[...r.dst].join('.')}/${r.len}`,
      });
    }
    return { results: new Int32Array(n), messages: [] };
  }
  async dumpRoutes(family: 4 | 6, table: number): Promise<Uint8Array> {
    if (this.failDump) throw new Error('reading routes failed: EPERM');
    return this.routes.get(`${family}|${table}`)?.bytes() ?? new Uint8Array(0);
  }
  async dumpRules(family: 4 | 6): Promise<Uint8Array> {
    return this.rules.get(family)?.bytes() ?? new Uint8Array(0);
  }
  close(): void {}
}

t.test('what an earlier instance left goes: rules first, then routes highest first', async (t) => {
  const k = new LeftKernel();
  const ip = (a: number, b: number, c: number, d: number) => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
  k.addRoute(201, ip(192, 0, 2, 0), 26);
  k.addRoute(201, ip(192, 0, 2, 64), 27);
  k.addRoute(202, ip(192, 0, 2, 64), 27);
  k.addRule(4, 202, 1001);
  k.addRule(6, 201, 1004);
  const { log, warns } = recordingLog();
  const n = await removeFibLeftovers(FIB, log, k);
  t.equal(n, 5, 'five records removed');
  t.same(
    k.written.map((w) => w.op),
    [OP_RULE_DEL, OP_RULE_DEL, OP_ROUTE_DEL, OP_ROUTE_DEL, OP_ROUTE_DEL],
    'rules before routes',
  );
  t.same(
    k.written.filter((w) => w.op === OP_ROUTE_DEL).map((w) => `${w.table} ${w.dst}`),
    ['201 192.0.2.64/27', '201 192.0.2.0/26', '202 192.0.2.64/27'],
    'each table, highest prefix first',
  );
  t.match(warns, [{ removed: 5, protocol: 250, msg: /earlier instance left/ }], 'said once, with the count');
});

t.test('nothing left: nothing written, nothing said', async (t) => {
  const k = new LeftKernel();
  const { log, warns } = recordingLog();
  t.equal(await removeFibLeftovers(FIB, log, k), 0);
  t.same(k.written, [], 'no write');
  t.same(warns, [], 'no log line');
});

t.test('a kernel that cannot be read: a warning, the start goes on', async (t) => {
  const k = new LeftKernel();
  k.addRoute(201, 0xc0000200, 24);
  k.failDump = true;
  const { log, warns } = recordingLog();
  t.equal(await removeFibLeftovers(FIB, log, k), 0, 'resolves with 0');
  t.same(k.written, [], 'nothing written');
  t.match(warns, [{ msg: /failed/ }], 'the failure is logged');
});
