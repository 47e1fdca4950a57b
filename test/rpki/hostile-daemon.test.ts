/**
 * Done-means 4 of issue 12 against a running gredged: a hostile RTR cache (test/rpki/fake-cache.ts
 * scripted with every malformed PDU kind of test/rpki/hostile-cases.ts, the flood included) while
 * gredged holds BGP sessions with a customer and a transit (test/fakes/fake-peer.ts, hold time
 * 3 s). Each time: one Error Report of the right code, a reconnect with a Reset Query and a fresh
 * sync, the daemon still running, and the BGP sessions untouched (no NOTIFICATION, the same
 * session, the customer's routes still exported with the verdicts they had). Every wait polls
 * against a deadline.
 */
import t from 'tap';
import { MessageType } from '../../src/bgp/wire/index.js';
import { PduType } from '../../src/rpki/pdu.js';
import { asPath4, nextHop, ORIGIN_IGP, rawUpdate } from '../bgp/session/helpers.js';
import { freePort } from '../ports.js';
import { RpkiDaemon, told, waitFor } from './daemon.js';
import { FakeCache } from './fake-cache.js';
import { A, B, errorsSent, FLOOD_LIMIT, hostileCases, SESSION, serve } from './hostile-cases.js';

const DAEMON = '127.0.77.1';
const CUST = '127.0.77.2';
const UP = '127.0.77.3';

t.test('a hostile cache against a running gredged', async (t) => {
  const cache = await FakeCache.start();
  t.teardown(() => cache.close());
  serve(cache, [A, B]);
  const port = await freePort(DAEMON);
  const g = new RpkiDaemon({
    tag: 'rpki-hostile',
    address: DAEMON,
    port,
    localAs: 65000,
    neighbors: [
      `- { name: cust, address: ${CUST}, remote-as: 64500, role: customer, passive: true, hold-time: 3, prefixes: ["192.0.2.0/24 le 25"] }`,
      `- { name: up, address: ${UP}, remote-as: 65001, role: transit, passive: true, hold-time: 3 }`,
    ],
    rpki: `{ servers: [{ address: 127.0.0.1, port: ${cache.port} }], retry: 1, refresh: 3600, expire: 7200 }`,
    env: { GREDGE_RPKI_MAX_VRPS: String(FLOOD_LIMIT) },
  });
  t.teardown(() => g.close());
  const daemon = await g.start();
  await waitFor(async () => (await g.json(['status'])).rpki?.vrps === 2, 20_000, 'the first sync');

  const up = await g.speaker(UP, 65001);
  const cust = await g.speaker(CUST, 64500);
  // 192.0.2.0/24 from AS 64500: Valid (A); the /25 is past A's maxLength: Invalid, refused.
  cust.send(
    rawUpdate(
      [],
      [...ORIGIN_IGP, ...asPath4([64500]), ...nextHop(127, 0, 77, 2)],
      [24, 192, 0, 2, 25, 192, 0, 2, 128],
    ),
  );
  await waitFor(() => told(up, '192.0.2.0/24'), 15_000, 'the Valid route exported');
  const counts = { valid: 1, invalid: 1, notFound: 0, unverified: 0, refused: 1 };
  t.same((await g.json(['show', 'neighbor', 'cust'])).rpki, counts, 'verdicts before');
  const sessions = await g.sessions(['cust', 'up']);
  const bgp = () => up.ofType(MessageType.NOTIFICATION).length + cust.ofType(MessageType.NOTIFICATION).length;

  for (const h of hostileCases()) {
    await t.test(`${h.name} → Error Report ${h.code}`, async (t) => {
      const conns = cache.conns.length;
      const errors = errorsSent(cache).length;
      serve(cache, [A, B], (_p, c) => c.send(...h.bytes()));
      cache.last!.send({ type: PduType.SERIAL_NOTIFY, version: 1, sessionId: SESSION, serial: 2 });
      await waitFor(() => errorsSent(cache).length > errors, 15_000, 'an Error Report');
      t.same(errorsSent(cache).slice(errors), [h.code], 'one Error Report, the right code');
      // The next session must sync well; it starts afresh (a protocol error resumes nothing).
      serve(cache, [A, B]);
      await waitFor(
        async () =>
          cache.conns.length > conns && (await g.json(['status'])).rpki.connection === 'established',
        15_000,
        'a reconnect and a fresh sync',
      );
      t.equal(
        cache.last!.received[0]?.type,
        PduType.RESET_QUERY,
        'the new session starts with a Reset Query',
      );
      t.ok(daemon.running, 'gredged still running');
      const s = (await g.json(['status'])).rpki;
      t.match(s, { data: 'current', vrps: 2 }, 'the table as before: nothing of the bad answer committed');
      t.equal(bgp(), 0, 'no NOTIFICATION either way');
      t.notOk(up.isClosed || cust.isClosed, 'BGP sessions open');
      t.same(await g.sessions(['cust', 'up']), sessions, 'the same BGP sessions');
      t.ok(
        told(up, '192.0.2.0/24') && !told(up, '192.0.2.128/25'),
        'routes and verdicts unchanged at the transit',
      );
      t.same((await g.json(['show', 'neighbor', 'cust'])).rpki, counts, 'verdicts unchanged');
    });
  }
  t.match(daemon.output, /"module":"rpki"/, 'the RTR client logged its state changes');
});
