// The initial export and route refresh read the table with a sweep (adj-out.ts), interleaved
// with the changes that keep arriving, and the output is served to every neighbor in turn
// within one slice (rib.ts #pump). Whatever the interleaving, each customer ends holding exactly
// the table as it is, End-of-RIB comes after the initial table, and coming up walks nothing.
// Re-run a failure with RIB_SEED=<seed>.
import t from 'tap';
import { formatPrefix4, type PathAttributes } from '../../src/bgp/wire/index.js';
import type { PeerChannel } from '../../src/rib/channel.js';
import { prng } from '../prng.js';
import {
  announce,
  asPathOf,
  attrs,
  type Harness,
  harness,
  neighbor,
  turns,
  until,
  withdraw,
} from './helpers.js';

const seed = Number(process.env.RIB_SEED ?? Math.floor(Math.random() * 2 ** 31));
t.comment(`seed ${seed} (RIB_SEED=${seed} to replay)`);

/** The i-th /24 from 10.0.0.0 on. */
const prefix = (i: number): string => `${10 + ((i >> 16) & 255)}.${(i >> 8) & 255}.${i & 255}.0/24`;

/** Prefixes [from, to) announced by `feed`, ten to an UPDATE; the k-th UPDATE's path is 65001 asOf(k). */
function announceRange(
  feed: { ch: PeerChannel },
  from: number,
  to: number,
  asOf: (k: number) => number,
): void {
  for (let s = from; s < to; s += 10)
    feed.ch.updates([
      announce(
        attrs([65001, asOf((s - from) / 10)]),
        Array.from({ length: 10 }, (_, i) => prefix(s + i)),
      ),
    ]);
}

/** Pins on IPv4 entries: one per route sent to a neighbor, one per entry queued for one. */
const pinned = (h: Harness): number => h.rib.t4.pins.reduce((a, b) => a + b, 0);

t.test(`a sweep under churn ends with exactly the table (seed ${seed})`, async (t) => {
  const rnd = prng(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  // Small chunks: the sweep of 3,000 entries takes hundreds of chunks, changes land in between.
  const h = harness({ chunk: 16 });
  const feed = h.up(neighbor('t1', 'transit', 65001, '127.0.0.2'), 1);
  const table = new Map<string, PathAttributes>();
  const put = (ps: string[], a: PathAttributes) => {
    feed.ch.updates([announce(a, ps)]);
    for (const p of ps) table.set(p, a);
  };
  for (let s = 0; s < 300; s++)
    put(
      Array.from({ length: 10 }, (_, i) => prefix(s * 10 + i)),
      attrs([65001, 64500 + (s % 7)]),
    );
  await h.settle();
  const custs = [0, 1, 2].map((i) => {
    const c = h.up(neighbor(`c${i}`, 'customer', 65010 + i, `127.0.0.${5 + i}`), 5 + i);
    // Push back often: the sweep stops and resumes where it was.
    c.sink.budget = 1 + int(3);
    return c;
  });
  let refreshed = 0;
  for (let step = 0; step < 400; step++) {
    const op = int(10);
    if (op < 3) {
      // Withdraw some (entries freed, their ids reused by what comes next).
      const ps = Array.from({ length: 1 + int(20) }, () => prefix(int(4000)));
      feed.ch.updates([withdraw(ps)]);
      for (const p of ps) table.delete(p);
    } else if (op < 7) {
      put(
        Array.from({ length: 1 + int(20) }, () => prefix(int(4000))),
        attrs([65001, 64500 + int(9)]),
      );
    } else if (op === 7 && refreshed < 3) {
      custs[int(3)]!.ch.routeRefresh('ipv4-unicast');
      refreshed++;
    }
    for (const c of custs) if (c.sink.waitingForDrain && int(2) === 0) c.sink.release(1 + int(4));
    await turns(1 + int(3));
  }
  for (const c of custs) c.sink.release();
  await h.settle();
  for (const [i, c] of custs.entries()) {
    const got = [...c.sink.routes.keys()].sort();
    t.same(got, [...table.keys()].sort(), `c${i} holds exactly the table (${table.size} routes)`);
    const wrong = got.filter(
      (p) => asPathOf(c.sink.routes.get(p)!).join(' ') !== [65000, ...asPathOf(table.get(p)!)].join(' '),
    );
    t.same(wrong, [], `c${i}: every route with its current attributes`);
    const eor = c.sink.decoded.findIndex((u) => u.endOfRib === 'ipv4-unicast');
    t.ok(eor >= 0, `c${i}: End-of-RIB sent`);
    t.equal(c.sink.eor.filter((f) => f === 'ipv4-unicast').length, 1, `c${i}: End-of-RIB sent once`);
  }
});

t.test('End-of-RIB comes after the whole initial table, however small the chunks', async (t) => {
  const h = harness({ chunk: 8 });
  const feed = h.up(neighbor('t1', 'transit', 65001, '127.0.0.2'), 1);
  const all = Array.from({ length: 2000 }, (_, i) => prefix(i));
  announceRange(feed, 0, all.length, (k) => 64500 + k);
  await h.settle();
  const c = h.up(neighbor('c1', 'customer', 65010, '127.0.0.5'), 5);
  c.sink.budget = 2;
  while (await until(() => c.sink.waitingForDrain, 50)) c.sink.release(2);
  await h.settle();
  const eor = c.sink.decoded.findIndex((u) => u.endOfRib === 'ipv4-unicast');
  t.ok(eor > 0, 'End-of-RIB sent');
  const before = new Set(c.sink.decoded.slice(0, eor).flatMap((u) => u.nlri4.map(formatPrefix4)));
  t.equal(before.size, all.length, 'every route of the table went out before End-of-RIB');
});

t.test('a session coming up walks nothing: the table is read as its socket takes routes', async (t) => {
  const h = harness({ chunk: 64 });
  const feed = h.up(neighbor('t1', 'transit', 65001, '127.0.0.2'), 1);
  announceRange(feed, 0, 5000, (k) => 64500 + k);
  await h.settle();
  const pins = (): number => pinned(h);
  const held = pins();
  const idle: ReturnType<typeof h.up>[] = [];
  for (let i = 0; i < 20; i++) {
    const c = h.up(neighbor(`c${i}`, 'customer', 65100 + i, `127.0.1.${i + 1}`), 100 + i);
    c.sink.budget = 1;
    idle.push(c);
  }
  t.equal(pins(), held, 'twenty sessions up: no entry pinned, none queued');
  t.equal(
    h.rib.stats().neighbors.find((n) => n.name === 'c3')!.pendingOut,
    5000,
    'the table is pending for each',
  );
  // Each takes one chunk, then its socket is full: one chunk's worth held each, not the table.
  await until(() => idle.every((c) => c.sink.waitingForDrain));
  t.ok(
    idle.every((c) => c.sink.routes.size === 64),
    'each was sent one chunk before its socket filled',
  );
  t.equal(pins() - held, 20 * 64, 'what is held is what was sent');
  for (const c of idle) c.sink.release();
  await h.settle();
  t.ok(
    idle.every((c) => c.sink.routes.size === 5000),
    'then each gets the whole table',
  );
});

t.test('a table arriving for a customer that holds little is swept, not queued', async (t) => {
  const h = harness();
  const feed = h.up(neighbor('t1', 'transit', 65001, '127.0.0.2'), 1);
  const c = h.up(neighbor('c1', 'customer', 65010, '127.0.0.5'), 5);
  await h.settle();
  c.sink.budget = 1; // its socket takes one chunk, then is full until released
  const pins = (): number => pinned(h);
  const held = pins();
  // 100,000 prefixes, more than a queue is allowed (QUEUE_SWEEP) for a neighbor sent nothing.
  const n = 100_000;
  announceRange(feed, 0, n, (k) => 64500 + (k % 50));
  await until(() => h.rib.t4.dirtyCount === 0 && c.sink.waitingForDrain);
  const sent = c.sink.routes.size;
  t.ok(sent < n, `the customer took ${sent} routes before its socket filled`);
  t.ok(pins() - held <= sent + 65536, `entries held for it: ${pins() - held}, not the table's ${n}`);
  c.sink.release();
  await h.settle();
  t.equal(c.sink.routes.size, n, 'then it holds the whole table');
  t.equal(pins() - held, n, 'and exactly what it holds is held for it');
});

t.test('a long queue becomes a sweep only when that re-sends no more than was queued', async (t) => {
  const h = harness();
  const feed = h.up(neighbor('t1', 'transit', 65001, '127.0.0.2'), 1);
  const c = h.up(neighbor('c1', 'customer', 65010, '127.0.0.5'), 5);
  const n = 240_000;
  const load = (from: number, to: number, as: number) => announceRange(feed, from, to, () => as);
  load(0, n, 64500);
  await h.settle();
  t.equal(c.sink.routes.size, n);
  const pins = (): number => pinned(h);
  const held = pins();
  // Every third route changes while the customer's socket is full: a queue of 80,000 spread
  // over the whole table. A sweep would send the other 160,000 again: it stays a queue.
  c.sink.budget = 1;
  c.sink.release(1);
  const before = c.sink.decoded.reduce((a, u) => a + u.nlri4.length, 0);
  const changed: string[] = [];
  for (let i = 0; i < n; i += 3) changed.push(prefix(i));
  for (let i = 0; i < changed.length; i += 10)
    feed.ch.updates([announce(attrs([65001, 64501]), changed.slice(i, i + 10))]);
  await until(() => h.rib.t4.dirtyCount === 0);
  t.ok(pins() - held >= 65536, `the changes are queued (held) for it: ${pins() - held}`);
  c.sink.release();
  await h.settle();
  const sent = c.sink.decoded.reduce((a, u) => a + u.nlri4.length, 0) - before;
  t.equal(
    sent,
    changed.length,
    `exactly the ${changed.length} changed routes were sent again, nothing twice`,
  );
  t.equal(pins(), held, 'nothing held once sent');
  // Then 100,000 new routes at the end of the table while its socket is full: a sweep from the
  // first of them reads nothing it would not have queued.
  c.sink.budget = 1;
  c.sink.release(1);
  const before2 = c.sink.decoded.reduce((a, u) => a + u.nlri4.length, 0);
  load(n, n + 100_000, 64502);
  await until(() => h.rib.t4.dirtyCount === 0);
  // One chunk (4,096) went out before the socket filled; what is held beyond is the queue.
  t.ok(pins() - held <= 4096 + 65536, `held for it: ${pins() - held}, not the 100,000 new routes`);
  c.sink.release();
  await h.settle();
  t.equal(c.sink.routes.size, n + 100_000, 'it holds the whole table');
  const sent2 = c.sink.decoded.reduce((a, u) => a + u.nlri4.length, 0) - before2;
  t.equal(sent2, 100_000, 'each new route was sent once');
});
