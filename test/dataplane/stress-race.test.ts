/**
 * Concurrency stress of the native data plane (issue 11, done-means 5): the JS thread adds,
 * replaces and removes tunnels and adds and removes LPM routes (stress-child.ts, seeded) while
 * two workers forward UDP floods both ways (encap toward b, decap from b's data plane), the
 * keepalive thread sends keepalives and marks tunnels, and the paths thread looks up routes
 * (underlay route changes here make it run route rounds). Asserts: no crash, the counters add up
 * across every slot ever used (per tunnel vs global), and the final tables are exactly the
 * model's (route counts, longest-match lookups, one exact flow).
 * Under ThreadSanitizer: `npm run test:tsan` (scripts/tsan.sh) runs this same file against a
 * TSAN build of the addon and fails on any report.
 * GREDGE_STRESS_MS: churn duration (default 8000); GREDGE_STRESS_SEED: the PRNG seed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { Child, makePair, nsx, rootSkip } from './ns.js';

const STRESS = fileURLToPath(new URL('./stress-child.js', import.meta.url));
const skip = process.env.GREDGE_TEST_STRICT === '1' ? false : rootSkip();
const MS = Number(process.env.GREDGE_STRESS_MS ?? 8000);
const SEED = Number(process.env.GREDGE_STRESS_SEED ?? Math.floor(Math.random() * 2 ** 31));
const KEYS = [1, 2, 3, 4, 5, 6, 7, 8];

interface Proc {
  proc: ChildProcess;
  lines: Record<string, unknown>[];
  stderr: string;
  exited: Promise<number | null>;
}

function run(ns: string, mode: string, cfg: unknown): Proc {
  const proc = spawn('ip', ['netns', 'exec', ns, process.execPath, STRESS, mode, JSON.stringify(cfg)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const p: Proc = {
    proc,
    lines: [],
    stderr: '',
    exited: new Promise((res) => proc.once('exit', (code) => res(code))),
  };
  let buf = '';
  proc.stdout!.setEncoding('utf8');
  proc.stderr!.setEncoding('utf8');
  proc.stdout!.on('data', (d: string) => {
    buf += d;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      p.lines.push(JSON.parse(buf.slice(0, nl)) as Record<string, unknown>);
      buf = buf.slice(nl + 1);
    }
  });
  proc.stderr!.on('data', (d: string) => {
    p.stderr += d;
  });
  return p;
}

function kill(p: Proc | undefined): void {
  if (p && p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill('SIGKILL');
}

async function withDeadline<T>(what: string, ms: number, pr: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const to = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`${what}: no answer in ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([pr, to]);
  } finally {
    clearTimeout(timer);
  }
}

t.test(
  'tunnels and routes change from JS while workers, keepalives and paths run',
  { skip, timeout: 180_000 },
  async (t) => {
    t.comment(`seed ${SEED} (GREDGE_STRESS_SEED=${SEED} repeats this run), churn ${MS} ms`);
    const pair = makePair('sr');
    const procs: Proc[] = [];
    let peer: Child | undefined;
    let churn: NodeJS.Timeout | undefined;
    t.teardown(async () => {
      if (churn) clearInterval(churn);
      for (const p of procs) kill(p);
      await peer?.close();
      pair.destroy();
    });

    // b: a plain data plane with one tunnel per key, each carrying a /27 of 192.0.2.0/24 back to a.
    peer = new Child(pair.b, {
      open: { tun: 'gsrb0', workers: 2, underlay: { local: '198.51.100.2' } },
      tunnels: KEYS.map((k) => ({
        name: `k${k}`,
        remote: '198.51.100.1',
        key: k,
        allowedSources: ['198.51.100.0/24', '2001:db8:100::/64'],
        routes: [`192.0.2.${(k - 1) * 32}/27`],
      })),
    });
    // A minute: under ThreadSanitizer (scripts/tsan.sh) a start takes long on a loaded box.
    const ready = await peer.event((e) => e.event === 'ready' || e.event === 'failed', 60_000);
    t.equal(ready.event, 'ready', `peer data plane up (${String(ready.message ?? '')})`);

    // Waits (up to `ms`) for a line of p matching `events`; fails early if p dies.
    const line = (p: Proc, events: string[], ms: number) =>
      withDeadline(
        `${events.join('/')} from a child`,
        ms,
        (async () => {
          for (;;) {
            const r = p.lines.find((l) => events.includes(String(l.event)));
            if (r) return r;
            if (p.proc.exitCode !== null || p.proc.signalCode !== null)
              throw new Error(
                `child died (exit ${p.proc.exitCode}, signal ${p.proc.signalCode}): ${p.stderr}`,
              );
            await new Promise((res) => setTimeout(res, 50));
          }
        })(),
      );

    const stress = run(pair.a, 'stress', { seed: SEED, ms: MS, tun: 'gsra0', workers: 2, keys: KEYS });
    procs.push(stress);
    const up = await line(stress, ['ready', 'failed'], 60_000);
    t.equal(up.event, 'ready', `stressed data plane up (${String(up.message ?? '')})`);
    // Floods for the churn's duration: a → b through whatever a's LPM says at the moment, and
    // b → a (decap on a while a's tunnels come and go).
    const dstA = [
      ...Array.from({ length: 16 }, (_, i) => `203.0.113.${i * 16 + 1}`),
      '2001:db8:ff::1',
      '2001:db8:ff:1::1',
      '2001:db8:ff:3:300::1',
    ];
    const dstB = Array.from({ length: 8 }, (_, i) => `192.0.2.${i * 32 + 5}`);
    const floods = [
      run(pair.a, 'flood', { dsts: dstA, batch: 32 }),
      run(pair.b, 'flood', { dsts: dstB, batch: 32 }),
    ];
    procs.push(...floods);
    for (const f of floods) await line(f, ['started'], 60_000);
    // Underlay route changes: the paths thread runs route rounds (a lookup per tunnel) meanwhile.
    let on = false;
    churn = setInterval(() => {
      on = !on;
      nsx(pair.a, ['ip', 'route', on ? 'replace' : 'del', '198.51.100.200/32', 'dev', 'ua'], true);
    }, 300);
    stress.proc.stdin!.write('go\n');
    await line(stress, ['churned', 'failed'], MS + 60_000);
    for (const f of floods) f.proc.stdin!.end();
    const sent = await Promise.all(floods.map((f) => line(f, ['done'], 30_000)));
    t.comment(`floods sent ${sent.map((d) => String(d.sent)).join(' and ')} datagrams (a → b, b → a)`);
    stress.proc.stdin!.end('final\n');
    const result = await line(stress, ['result', 'failed'], 120_000);
    clearInterval(churn);
    churn = undefined;
    t.equal(result.event, 'result', `stress ran to the end: ${String(result.message ?? '')}`);
    const code = await withDeadline('stress child exit', 15_000, stress.exited);
    t.equal(code, 0, `stress child exited cleanly (stderr: ${stress.stderr.slice(0, 2000)})`);

    const ops = result.ops as Record<string, number>;
    t.comment(
      `ops ${JSON.stringify(ops)} in ${String(result.steps)} steps; ${String(result.events)} state events`,
    );
    t.ok(ops.add! > 20 && ops.remove! > 10 && ops.replace! > 5, 'tunnels were added, removed and replaced');
    t.ok(ops.routesAdded! > 50 && ops.routesRemoved! > 10, 'routes were added and removed');
    t.ok(ops.reusedIndex! > 0, 'removed tunnels’ indices were reused');
    t.ok(result.settled, 'counters stood still after the floods');
    t.same(result.emptyCount, { v4: 0, v6: 0 }, 'removing every tunnel removed every route');
    t.same(result.routeCount, result.wantRouteCount, 'final route counts are exact');
    t.equal(result.tunnelCount, 4, 'four tunnels at the end');
    t.same(result.lookupErrors, [], 'every longest-match lookup agrees with the model');
    const flow = result.flow as { sent: number; tx: number };
    t.equal(
      flow.tx,
      flow.sent,
      'an exact flow through the final tables: every datagram went into its tunnel',
    );

    // Counters: sums over every tunnel index ever used against the global counters.
    const g = result.global as Record<string, number> & { drops: Record<string, number> };
    const s = result.sum as Record<string, number>;
    t.comment(`global ${JSON.stringify(g)}`);
    t.ok(
      g.txPackets! > 1000 && g.rxPackets! > 1000,
      `traffic both ways (tx ${g.txPackets}, rx ${g.rxPackets})`,
    );
    t.ok(g.keepaliveTx! > 0, 'keepalives were sent');
    t.equal(s.txPackets, g.txPackets! + g.drops.send!, 'tunnel tx = packets sent + send failures');
    for (const k of ['keepaliveTx', 'keepaliveRx', 'keepaliveReflected', 'mssClamped'])
      t.equal(s[k], g[k], `per-tunnel ${k} adds up to the global one`);
    for (const r of ['tunnelDown', 'sequence', 'spoofedSource', 'tooBig'])
      t.equal(s[`drops.${r}`], g.drops[r], `per-tunnel ${r} drops add up to the global ones`);
    t.equal(g.tsoSegments, 0, 'no super-packets (UDP only): one packet per TUN read');
    t.equal(
      g.tunReads,
      s.txPackets! +
        g.linkLocalMulticast! +
        g.drops.noRoute! +
        g.drops.tunnelDown! +
        g.drops.tooBig! +
        g.drops.badOffload! +
        g.drops.notIp! -
        s['drops.notIp']!,
      'every TUN read was tunnelled, kept on the link or dropped for one reason',
    );
    t.equal(
      g.rxPackets,
      g.drops.short! +
        g.drops.badFlags! +
        g.drops.badChecksum! +
        g.drops.unknownSource! +
        g.drops.unknownKey! +
        s.rxPackets! +
        s['drops.sequence']! +
        s['drops.spoofedSource']! +
        s['drops.notIp']! +
        s.keepaliveRx! +
        s.keepaliveReflected!,
      'every GRE packet received was delivered, answered or dropped for one reason',
    );
  },
);
