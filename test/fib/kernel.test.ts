/**
 * The FIB against a real kernel, in a namespace this test creates and removes: the RIB's best
 * paths land in the full and resale tables (the no-resale peer's route only in full), customer
 * prefixes point into the TUN and fill the tunnel LPM, the policy rules are there once, an
 * unreachable next hop is counted and retried until it resolves, withdrawals and a 20,000-route
 * load with a withdrawal storm leave the tables equal to the RIB, a crashed instance's routes
 * and rules are reconciled by the next one, and an orderly stop leaves nothing of ours behind.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { cannotRun } from '../must-run.js';

const CHILD = fileURLToPath(new URL('./fib-child.js', import.meta.url));
const NS = `gredge-fib-${process.pid}`;

function missing(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (a network namespace, kernel routes and rules)';
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch {
    return 'needs iproute2 (ip)';
  }
  return undefined;
}

function ip(args: string[], allowFail = false): string {
  try {
    return execFileSync('ip', args, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 256 * 1024 * 1024,
    });
  } catch (e) {
    if (allowFail) return '';
    throw e;
  }
}

interface KRoute {
  dst: string;
  gateway?: string;
  dev?: string;
}

function routes(table: number, family: 4 | 6): KRoute[] {
  const rows = JSON.parse(
    ip(['-n', NS, '-j', `-${family}`, 'route', 'show', 'table', String(table), 'proto', '250']),
  ) as KRoute[];
  return rows.map((r) => ({
    dst: r.dst,
    ...(r.gateway ? { gateway: r.gateway } : {}),
    ...(r.dev ? { dev: r.dev } : {}),
  }));
}

function byDst(list: KRoute[]): Record<string, string> {
  return Object.fromEntries(list.map((r) => [r.dst, r.gateway ?? `dev ${r.dev}`]));
}

function rules(family: 4 | 6): string[] {
  return ip(['-n', NS, `-${family}`, 'rule', 'show', 'protocol', '250'])
    .trim()
    .split('\n')
    .map((l) => l.replace(/\s+/g, ' ').trim())
    .filter((l) => l.endsWith(' proto 250')); // this iproute2 ignores the protocol filter
}

/** The table sizes from /proc/net/fib_triestat (fast at any size), IPv4. */
function triestat(): Record<number, number> {
  const text = ip(['netns', 'exec', NS, 'cat', '/proc/net/fib_triestat']);
  const out: Record<number, number> = {};
  let id = -1;
  for (const line of text.split('\n')) {
    // "Id N:" heads a table's section; "Main:", "Local:" and the rest are not ours.
    if (/^\S/.test(line)) id = Number(/^Id (\d+):/.exec(line)?.[1] ?? -1);
    const p = /Prefixes:\s*(\d+)/.exec(line);
    if (p && id >= 0) out[id] = (out[id] ?? 0) + Number(p[1]);
  }
  return out;
}

class Child {
  readonly proc: ChildProcess;
  #buf = '';
  #id = 1;
  #waiters = new Map<number, (v: { ok: boolean; result?: unknown; error?: string }) => void>();
  ready: Promise<Record<string, unknown>>;
  stderr = '';

  constructor(cfg: unknown) {
    this.proc = spawn('ip', ['netns', 'exec', NS, process.execPath, CHILD, JSON.stringify(cfg)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let onReady: (v: Record<string, unknown>) => void = () => {};
    this.ready = new Promise((res, rej) => {
      onReady = res;
      this.proc.once('exit', (code) => rej(new Error(`fib child exited (${code}): ${this.stderr}`)));
    });
    this.proc.once('exit', (code) => {
      for (const w of this.#waiters.values())
        w({ ok: false, error: `fib child exited (${code}): ${this.stderr}` });
      this.#waiters.clear();
    });
    this.proc.stderr!.on('data', (d) => {
      this.stderr += String(d);
    });
    this.proc.stdout!.on('data', (d) => {
      this.#buf += String(d);
      for (let i = this.#buf.indexOf('\n'); i >= 0; i = this.#buf.indexOf('\n')) {
        const msg = JSON.parse(this.#buf.slice(0, i)) as Record<string, unknown>;
        this.#buf = this.#buf.slice(i + 1);
        if (msg.event === 'ready') onReady(msg);
        else {
          this.#waiters.get(msg.id as number)?.(msg as never);
          this.#waiters.delete(msg.id as number);
        }
      }
    });
  }

  async req<T = unknown>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.#id++;
    if (this.proc.exitCode !== null) throw new Error(`${op}: the fib child has exited: ${this.stderr}`);
    // An exit meanwhile answers every waiter with an error (see the constructor).
    const p = new Promise<{ ok: boolean; result?: unknown; error?: string }>((res) =>
      this.#waiters.set(id, res),
    );
    this.proc.stdin!.write(`${JSON.stringify({ id, op, ...args })}\n`);
    const r = await p;
    if (!r.ok) throw new Error(`${op}: ${r.error}`);
    return r.result as T;
  }

  exited(): Promise<number | null> {
    if (this.proc.exitCode !== null) return Promise.resolve(this.proc.exitCode);
    return new Promise((res) => this.proc.once('exit', (code) => res(code)));
  }

  kill(): void {
    if (this.proc.exitCode === null && this.proc.pid !== undefined) this.proc.kill('SIGKILL');
  }
}

interface IdleResult {
  stats: { unresolved: number; failed: Record<string, number>; staleRemoved: number; noNextHop: number };
  lpm: Record<string, string>;
}

const NEIGHBORS = [
  { name: 'transit', role: 'transit', remoteAs: 64496, address: '192.0.2.2' },
  { name: 'peer', role: 'peer', remoteAs: 64497, address: '192.0.2.3', noResale: true },
  { name: 'core', role: 'internal', remoteAs: 65000, address: '192.0.2.4' },
  {
    name: 'cust-n',
    role: 'customer',
    remoteAs: 64498,
    address: '198.51.100.2',
    resale: false,
    tunnel: 'cust-n',
    prefixes: ['203.0.113.64/26 le 28', '2001:db8:64::/48'],
  },
];

const TUNNELS = [
  {
    name: 'cust-n',
    remote: '192.0.2.50',
    key: 7,
    mtu: 1472,
    inner: { local: '198.51.100.1/30' },
    allowedSources: ['203.0.113.64/26', '2001:db8:64::/48'],
    routes: ['203.0.113.128/27'],
    mssClamp: true,
    sequence: false,
    checksum: false,
  },
];

const why = missing();
if (why) {
  cannotRun(t, why);
} else {
  t.before(() => {
    ip(['netns', 'add', NS]);
    ip(['-n', NS, 'link', 'set', 'lo', 'up']);
    ip(['-n', NS, 'link', 'add', 'gup', 'type', 'veth', 'peer', 'name', 'gtun']);
    ip(['-n', NS, 'addr', 'add', '192.0.2.1/24', 'dev', 'gup']);
    ip(['-n', NS, 'addr', 'add', '2001:db8::1/64', 'dev', 'gup', 'nodad']);
    ip(['-n', NS, 'link', 'set', 'gup', 'up']);
    ip(['-n', NS, 'link', 'set', 'gtun', 'up']);
    // What the data plane does for a tunnel: our inner address on the TUN, no subnet route.
    ip(['-n', NS, 'addr', 'add', '198.51.100.1/30', 'dev', 'gtun', 'noprefixroute']);
  });
  const children: Child[] = [];
  const cleanup = () => {
    for (const c of children) c.kill();
    ip(['netns', 'del', NS], true);
  };
  t.teardown(cleanup);
  // tap ends a file that runs too long with SIGTERM: the namespace goes then too.
  process.on('exit', cleanup);
  process.once('SIGTERM', () => {
    cleanup();
    process.exit(143);
  });
  const start = async () => {
    const c = new Child({ tun: 'gtun', retryMs: 200, neighbors: NEIGHBORS, tunnels: TUNNELS });
    children.push(c);
    await c.ready;
    return c;
  };

  t.test('best paths into both tables, the TUN and the LPM; rules once', async (t) => {
    const c = await start();
    const expectRules4 = [
      '1000: from 203.0.113.64/26 iif gtun lookup 201 proto 250',
      '1001: from all iif gtun lookup 202 proto 250',
      '1002: from all iif gtun lookup main suppress_prefixlength 0 proto 250',
      '1003: from all iif gtun unreachable proto 250',
      '1004: from all lookup 201 proto 250',
    ];
    t.same(
      rules(4),
      expectRules4,
      'IPv4 rules: resale:false sources → full, TUN → resale, main without default, unreachable; all → full',
    );
    t.same(rules(6), [
      '1000: from 2001:db8:64::/48 iif gtun lookup 201 proto 250',
      '1001: from all iif gtun lookup 202 proto 250',
      '1002: from all iif gtun lookup main suppress_prefixlength 0 proto 250',
      '1003: from all iif gtun unreachable proto 250',
      '1004: from all lookup 201 proto 250',
    ]);
    t.same(
      byDst(routes(201, 4)),
      { '198.51.100.0/30': 'dev gtun', '203.0.113.128/27': 'dev gtun' },
      'static: inner subnet and routes',
    );
    const inner = JSON.parse(
      ip(['-n', NS, '-j', 'route', 'show', 'table', '201', '198.51.100.0/30']),
    ) as Array<{ prefsrc?: string; metrics?: Array<{ mtu?: number }> }>;
    t.equal(inner[0]?.prefsrc, '198.51.100.1', 'the inner subnet keeps our inner address as source');
    t.equal(
      inner[0]?.metrics?.[0]?.mtu,
      1472,
      'and the tunnel MTU (a session to the far end gets a fitting MSS)',
    );

    // A path one AS longer than the peer's: the peer's route is the better one in full.
    await c.req('announce', {
      neighbor: 'transit',
      nextHop: '192.0.2.2',
      path: [64496, 64511],
      v4: ['198.51.100.128/25', '203.0.113.0/26'],
    });
    await c.req('announce', {
      neighbor: 'peer',
      nextHop: '192.0.2.3',
      v4: ['203.0.113.0/26', '203.0.113.192/26'],
    });
    await c.req('announce', {
      neighbor: 'cust-n',
      nextHop: '198.51.100.2',
      nextHop6: '2001:db8::9',
      v4: ['203.0.113.64/27'],
      v6: ['2001:db8:64::/48'],
    });
    await c.req('announce', {
      neighbor: 'transit',
      nextHop: '192.0.2.2',
      nextHop6: '2001:db8::2',
      v6: ['2001:db8:100::/48'],
    });
    const idle = await c.req<IdleResult>('idle');
    t.same(
      byDst(routes(201, 4)),
      {
        '198.51.100.0/30': 'dev gtun',
        '198.51.100.128/25': '192.0.2.2',
        '203.0.113.0/26': '192.0.2.3',
        '203.0.113.64/27': 'dev gtun',
        '203.0.113.128/27': 'dev gtun',
        '203.0.113.192/26': '192.0.2.3',
      },
      'full: the peer wins 203.0.113.0/26 over the transit, the customer goes into the TUN',
    );
    t.same(
      byDst(routes(202, 4)),
      {
        '198.51.100.0/30': 'dev gtun',
        '198.51.100.128/25': '192.0.2.2',
        '203.0.113.0/26': '192.0.2.2',
        '203.0.113.64/27': 'dev gtun',
        '203.0.113.128/27': 'dev gtun',
      },
      'resale: no route of the no-resale peer; the transit carries 203.0.113.0/26',
    );
    t.same(byDst(routes(201, 6)), { '2001:db8:64::/48': 'dev gtun', '2001:db8:100::/48': '2001:db8::2' });
    t.same(byDst(routes(202, 6)), { '2001:db8:64::/48': 'dev gtun', '2001:db8:100::/48': '2001:db8::2' });
    t.same(
      idle.lpm,
      { '203.0.113.64/27': 'cust-n', '2001:db8:64::/48': 'cust-n' },
      'customer routes in its tunnel LPM',
    );

    await c.req('withdraw', { neighbor: 'peer', v4: ['203.0.113.0/26', '203.0.113.192/26'] });
    await c.req('withdraw', { neighbor: 'cust-n', v4: ['203.0.113.64/27'], v6: ['2001:db8:64::/48'] });
    const after = await c.req<IdleResult>('idle');
    t.equal(byDst(routes(201, 4))['203.0.113.0/26'], '192.0.2.2', 'the transit takes over in full');
    t.notOk('203.0.113.192/26' in byDst(routes(201, 4)), 'withdrawn from full');
    t.notOk('203.0.113.64/27' in byDst(routes(202, 4)), 'customer route withdrawn from resale');
    t.same(after.lpm, {}, 'and from the LPM');
    t.same(after.stats.failed, {}, 'the kernel refused nothing');
    await c.req('stop');
    await c.exited();
    t.same(rules(4), [], 'stop: no rule of ours left');
    t.same(rules(6), []);
    t.same(routes(201, 4), [], 'stop: no route of ours left');
    t.same(routes(202, 6), []);
  });

  t.test('an unreachable next hop is counted and retried until it resolves', async (t) => {
    const c = await start();
    await c.req('announce', { neighbor: 'transit', nextHop: '203.0.113.9', v4: ['198.51.100.64/26'] });
    const idle = await c.req<IdleResult>('idle');
    t.equal(idle.stats.unresolved, 1, 'counted as unresolved');
    t.equal(idle.stats.failed.ENETUNREACH, 2, 'both tables refused it (ENETUNREACH)');
    t.same(
      routes(201, 4).filter((r) => r.dst === '198.51.100.64/26'),
      [],
    );
    ip(['-n', NS, 'addr', 'add', '203.0.113.1/24', 'dev', 'gup']);
    t.teardown(() => ip(['-n', NS, 'addr', 'del', '203.0.113.1/24', 'dev', 'gup'], true));
    const deadline = Date.now() + 5000;
    let got: Record<string, string> = {};
    while (Date.now() < deadline && !(got = byDst(routes(202, 4)))['198.51.100.64/26'])
      await new Promise((r) => setTimeout(r, 50));
    t.equal(got['198.51.100.64/26'], '203.0.113.9', 'installed once the gateway is reachable');
    t.equal((await c.req<IdleResult>('idle')).stats.unresolved, 0, 'nothing left to retry');
    await c.req('stop');
    await c.exited();
  });

  t.test(
    'a load and a withdrawal storm leave the tables equal to the RIB; a crash is reconciled',
    async (t) => {
      const c = await start();
      // The transit's paths are one AS longer: the peer's 5,000 win in full.
      await c.req('bulk', {
        neighbor: 'transit',
        nextHop: '192.0.2.2',
        path: [64496, 64511],
        count: 20000,
        base: '20.0.0.0',
      });
      await c.req('bulk', { neighbor: 'peer', nextHop: '192.0.2.3', count: 5000, base: '20.0.0.0' });
      await c.req('idle');
      let ts = triestat();
      t.equal(ts[201], 20000 + 2, 'full: 20,000 + the 2 static');
      t.equal(ts[202], 20000 + 2, 'resale: the same prefixes');
      t.equal(
        routes(201, 4).filter((r) => r.gateway === '192.0.2.3').length,
        5000,
        'the peer wins its 5,000 in full',
      );
      t.equal(routes(202, 4).filter((r) => r.gateway === '192.0.2.3').length, 0, 'and none in resale');
      // The storm: the transit withdraws the first half, the peer all of its own.
      await c.req('bulk', { neighbor: 'transit', count: 10000, base: '20.0.0.0', withdraw: true });
      await c.req('bulk', { neighbor: 'peer', count: 5000, base: '20.0.0.0', withdraw: true });
      await c.req('idle');
      ts = triestat();
      t.equal(ts[201], 10000 + 2, 'full after the storm');
      t.equal(ts[202], 10000 + 2, 'resale after the storm');
      t.equal(routes(201, 4).filter((r) => r.gateway === '192.0.2.3').length, 0, "none of the peer's left");
      // kill -9: everything stays in the kernel; the next instance removes it and rebuilds.
      await c.req('announce', { neighbor: 'peer', nextHop: '192.0.2.3', v4: ['198.51.100.192/26'] });
      await c.req('idle');
      c.kill();
      await c.exited();
      t.equal(triestat()[201], 10000 + 3, 'a crashed instance leaves its routes');
      const again = await start();
      const ready = (await again.ready) as { stats: { staleRemoved: number } };
      t.ok(
        ready.stats.staleRemoved >= 20000,
        `the next instance removed ${ready.stats.staleRemoved} stale routes`,
      );
      t.same(rules(4).length, 5, 'rules reconciled in place, not duplicated');
      const fresh = await again.req<IdleResult>('idle');
      t.same(fresh.stats.failed, {}, 'nothing refused');
      ts = triestat();
      t.equal(ts[201], 2, 'only the static routes until the RIB fills again');
      await again.req('stop');
      await again.exited();
      ts = triestat();
      t.notOk(ts[201], 'stop: table 201 empty');
      t.notOk(ts[202], 'stop: table 202 empty');
    },
  );
}
