/**
 * Reloading `rpki:` on a running gredged (docs/rpki.md "Reload"), by SIGHUP and by `gredgectl
 * reload`, with BGP sessions up and every change applied in place: `invalid: keep` → `reject`
 * withdraws the stored Invalid route from the transit, → `keep` brings it back, all without a
 * session reset; a cache server added to `rpki.servers` (preferred, serving a VRP that makes the
 * route Valid) takes over once synced, and removed again hands back to the first cache, whose
 * verdict (Invalid) applies again. The caches are scripted RTR servers (test/rpki/fake-cache.ts).
 * Every wait polls against a deadline.
 */
import t from 'tap';
import { MessageType } from '../../src/bgp/wire/index.js';
import { vrp } from '../../src/rpki/text.js';
import { asPath4, nextHop, ORIGIN_IGP, rawUpdate } from '../bgp/session/helpers.js';
import { freePort } from '../ports.js';
import { RpkiDaemon, told, waitFor } from './daemon.js';
import { FakeCache } from './fake-cache.js';
import { A, B, serve } from './hostile-cases.js';

const DAEMON = '127.0.78.1';
const CUST = '127.0.78.2';
const UP = '127.0.78.3';
/** The second cache's view: 64500 may originate up to /25 in 192.0.2.0/24. */
const A25 = vrp('192.0.2.0/24', 25, 64500)!;
const VALID = '192.0.2.0/24';
const INVALID = '192.0.2.128/25'; // past A's maxLength: Invalid with the first cache only

t.test('rpki reloads apply in place', async (t) => {
  const first = await FakeCache.start();
  t.teardown(() => first.close());
  serve(first, [A, B]);
  const second = await FakeCache.start();
  t.teardown(() => second.close());
  serve(second, [A25, B]);
  const port = await freePort(DAEMON);
  const servers = (both: boolean) =>
    both
      ? `[{ address: 127.0.0.1, port: ${first.port}, preference: 2 }, { address: 127.0.0.1, port: ${second.port}, preference: 1 }]`
      : `[{ address: 127.0.0.1, port: ${first.port}, preference: 2 }]`;
  const rpki = (invalid: string, both = false) =>
    `{ servers: ${servers(both)}, retry: 1, invalid: ${invalid} }`;
  const g = new RpkiDaemon({
    tag: 'rpki-reload',
    address: DAEMON,
    port,
    localAs: 65000,
    neighbors: [
      `- { name: cust, address: ${CUST}, remote-as: 64500, role: customer, passive: true, hold-time: 3, prefixes: ["192.0.2.0/24 le 25"] }`,
      `- { name: up, address: ${UP}, remote-as: 65001, role: transit, passive: true, hold-time: 3 }`,
    ],
    rpki: rpki('keep'),
  });
  t.teardown(() => g.close());
  const daemon = await g.start();
  await waitFor(async () => (await g.json(['status'])).rpki?.vrps === 2, 20_000, 'the first sync');
  const up = await g.speaker(UP, 65001);
  const cust = await g.speaker(CUST, 64500);
  cust.send(
    rawUpdate(
      [],
      [...ORIGIN_IGP, ...asPath4([64500]), ...nextHop(127, 0, 78, 2)],
      [24, 192, 0, 2, 25, 192, 0, 2, 128],
    ),
  );
  await waitFor(() => told(up, VALID) && told(up, INVALID), 15_000, 'both routes exported (keep)');
  const sessions = await g.sessions(['cust', 'up']);
  let reloads = (await g.json(['status'])).reload.ok as number;

  /** Applies `body` as the rpki block, by SIGHUP or gredgectl, and waits for the reload. */
  const reload = async (body: string, how: 'SIGHUP' | 'gredgectl') => {
    g.write(body);
    if (how === 'SIGHUP') daemon.signal('SIGHUP');
    else {
      const r = await g.reload();
      t.equal(r.code, 0, `gredgectl reload: ${r.stderr}`);
      t.match(r.stdout, /rpki/, 'the reload names the rpki change');
    }
    await waitFor(async () => (await g.json(['status'])).reload.ok > reloads, 15_000, `the ${how} reload`);
    reloads++;
  };
  const untouched = async (what: string) => {
    t.equal(
      up.ofType(MessageType.NOTIFICATION).length + cust.ofType(MessageType.NOTIFICATION).length,
      0,
      `${what}: no NOTIFICATION`,
    );
    t.same(await g.sessions(['cust', 'up']), sessions, `${what}: the same sessions`);
    t.ok(told(up, VALID), `${what}: the Valid route stays`);
  };

  await t.test('invalid: keep → reject → keep → reject', async (t) => {
    await reload(rpki('reject'), 'SIGHUP');
    await waitFor(() => !told(up, INVALID), 15_000, 'the Invalid route withdrawn');
    t.equal((await g.json(['status'])).rpki.invalid, 'reject');
    t.same((await g.json(['show', 'neighbor', 'cust'])).rpki, {
      valid: 1,
      invalid: 1,
      notFound: 0,
      unverified: 0,
      refused: 1,
    });
    await untouched('keep → reject');
    await reload(rpki('keep'), 'gredgectl');
    await waitFor(() => told(up, INVALID), 15_000, 'the Invalid route back');
    await untouched('reject → keep');
    await reload(rpki('reject'), 'gredgectl');
    await waitFor(() => !told(up, INVALID), 15_000, 'withdrawn again');
    await untouched('keep → reject again');
  });

  await t.test('a cache server added, then removed', async (t) => {
    await reload(rpki('reject', true), 'SIGHUP');
    await waitFor(
      async () => (await g.json(['status'])).rpki.cache === `127.0.0.1 port ${second.port}`,
      20_000,
      'the added (preferred) cache in use',
    );
    await waitFor(() => told(up, INVALID), 15_000, 'its VRP makes the /25 Valid: exported');
    t.equal((await g.json(['status'])).rpki.pending, null, 'no client left pending');
    await untouched('server added');
    await reload(rpki('reject'), 'gredgectl');
    await waitFor(
      async () => (await g.json(['status'])).rpki.cache === `127.0.0.1 port ${first.port}`,
      20_000,
      'back on the first cache',
    );
    await waitFor(() => !told(up, INVALID), 15_000, "the first cache's verdict again: withdrawn");
    await waitFor(() => second.conns.every((c) => c.socket.destroyed), 10_000, 'the removed cache let go');
    await untouched('server removed');
  });
});
