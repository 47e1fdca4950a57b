/**
 * Keepalive timing does not depend on direct transmit's route lookups (issue 11): with 3,000
 * tunnels whose paths the paths thread keeps looking up (2,048 lookups a periodic round) and
 * every lookup made slow by 2,000 policy rules that the kernel walks for each one, the
 * keepalives of a tunnel (every 250 ms) still leave on time. Spacing is measured by tcpdump's
 * kernel timestamps at the far end, not by a timer in a loaded test process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Child, makePair, nsx, rootSkip, sh } from './ns.js';

const skip = process.env.GREDGE_TEST_STRICT === '1' ? false : rootSkip();
const INTERVAL_MS = 250;
const SLACK_MS = 400; // scheduling on a loaded 2-CPU box; a lookup round takes seconds here
const RULES = 2000;
const WANT = 24; // keepalives to look at (6 s of them)

t.test(
  'keepalives keep their interval while the paths thread does slow route lookups',
  { skip, timeout: 120_000 },
  async (t) => {
    const pair = makePair('kt');
    let dp: Child | undefined;
    let cap: ChildProcess | undefined;
    const batch = join(tmpdir(), `gredge-kt-${process.pid}.batch`);
    t.teardown(async () => {
      if (cap && cap.exitCode === null && cap.signalCode === null) cap.kill('SIGKILL');
      await dp?.close();
      pair.destroy();
      sh(['rm', '-f', batch], true);
    });

    // Each rule points at an empty table: every route lookup in a walks all of them.
    writeFileSync(
      batch,
      Array.from({ length: RULES }, (_, i) => `rule add pref ${1000 + i} lookup ${1000 + i}`).join('\n'),
    );
    nsx(pair.a, ['ip', '-batch', batch]);
    const gets = join(tmpdir(), `gredge-kt-${process.pid}.gets`);
    writeFileSync(gets, Array.from({ length: 200 }, () => 'route get 198.51.100.2').join('\n'));
    const t0 = process.hrtime.bigint();
    nsx(pair.a, ['ip', '-batch', gets]);
    const perLookup = Number(process.hrtime.bigint() - t0) / 1e6 / 200;
    sh(['rm', '-f', gets], true);
    t.comment(`a route lookup in a takes ~${perLookup.toFixed(2)} ms with ${RULES} rules`);

    let out = '';
    let err = '';
    cap = spawn('ip', [
      'netns',
      'exec',
      pair.b,
      'tcpdump',
      '-i',
      'ub',
      '-n',
      '-tt',
      '-l',
      '-p',
      'ip proto 47 and src host 198.51.100.1',
    ]);
    cap.stdout!.setEncoding('utf8');
    cap.stderr!.setEncoding('utf8');
    cap.stdout!.on('data', (d: string) => {
      out += d;
    });
    cap.stderr!.on('data', (d: string) => {
      err += d;
    });
    for (let end = Date.now() + 10_000; !/listening on/.test(err); ) {
      if (Date.now() > end) throw new Error(`tcpdump did not start: ${err}`);
      await new Promise((r) => setTimeout(r, 20));
    }

    dp = new Child(pair.a, {
      open: { tun: 'gkta0', workers: 1, underlay: { local: '198.51.100.1' } },
      tunnels: [
        {
          name: 'ka',
          remote: '198.51.100.2',
          key: 7,
          keepalive: { interval: INTERVAL_MS / 1000, retries: 250 },
        },
      ],
    });
    // A minute: under ThreadSanitizer (scripts/tsan.sh) a start takes long on a loaded box.
    const ready = await dp.event((e) => e.event === 'ready' || e.event === 'failed', 60_000);
    t.equal(ready.event, 'ready', `data plane up (${String(ready.message ?? '')})`);
    // Tunnels for the paths thread to look up (no keepalives, no traffic of their own).
    await dp.ok('bulkTunnels', 3000, '198.51.100.2');

    // Keepalives of the one tunnel for a few periodic path rounds.
    const times = (): number[] =>
      out
        .split('\n')
        .map((l) => Number.parseFloat(l))
        .filter((x) => Number.isFinite(x));
    const start = times().length;
    const window = (WANT * INTERVAL_MS * 3) / 2;
    for (let end = Date.now() + window; times().length - start < WANT && Date.now() < end; )
      await new Promise((r) => setTimeout(r, 100));
    const ts = times().slice(start);
    t.ok(ts.length >= WANT, `${WANT} keepalives within ${window} ms (${ts.length})`);
    const gaps = ts.slice(1).map((x, i) => Math.round((x - ts[i]!) * 1000));
    const worst = Math.max(...gaps);
    t.comment(`keepalive gaps (ms): ${gaps.join(' ')}`);
    t.ok(worst <= INTERVAL_MS + SLACK_MS, `largest gap ${worst} ms <= ${INTERVAL_MS + SLACK_MS} ms`);
    const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    t.ok(Math.abs(mean - INTERVAL_MS) < 60, `mean gap ${mean.toFixed(1)} ms is the interval`);
  },
);
