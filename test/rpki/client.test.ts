/**
 * The RTR client against a scripted fake cache on loopback: a full sync and an incremental one
 * through Serial Notify, Cache Reset, version negotiation (v1 → v0), Router Keys ignored, every
 * hostile behaviour answered by an Error Report of the right code with the last good table kept
 * and a reconnect, the flood limit, expiry to NotFound, and failover between caches by
 * preference. Every wait polls with a deadline.
 */
import t, { type Test } from 'tap';
import { encodePdu, type Pdu, PduType, RtrErrorCode } from '../../src/rpki/pdu.js';
import { RtrClient, type RtrClientOptions, type RtrUpdate } from '../../src/rpki/rtr.js';
import { parsePrefix } from '../../src/rpki/text.js';
import { FakeCache, fullResponse, until } from './fake-cache.js';
import { A, B, C, errorsSent, hostileCases, SESSION, serve } from './hostile-cases.js';

const P = (s: string) => parsePrefix(s)!;

function client(t: Test, caches: FakeCache[], opts: Partial<RtrClientOptions> = {}): RtrClient {
  const c = new RtrClient({
    servers: caches.map((k, i) => ({ address: '127.0.0.1', port: k.port, preference: i + 1 })),
    retry: 0.1,
    connectTimeout: 2,
    ...opts,
  });
  t.teardown(() => c.stop());
  return c;
}

async function cache(t: Test): Promise<FakeCache> {
  const k = await FakeCache.start();
  t.teardown(() => k.close());
  return k;
}

t.test('full sync, then Serial Notify → Serial Query → incremental update', async (t) => {
  const k = await cache(t);
  serve(k, [A, B], (p, c) => {
    c.send(
      { type: 3, version: 1, sessionId: SESSION },
      { type: 4, version: 1, announce: true, vrp: C },
      { type: 4, version: 1, announce: false, vrp: A },
      {
        type: 7,
        version: 1,
        sessionId: SESSION,
        serial: p.serial + 1,
        timers: { refresh: 3600, retry: 600, expire: 7200 },
      },
    );
  });
  const c = client(t, [k]);
  const updates: RtrUpdate[] = [];
  c.on('update', (u) => updates.push(u));
  c.start();
  await until('first sync', () => updates.length === 1);
  t.same(k.received[0], { type: PduType.RESET_QUERY, version: 1 }, 'starts with a version 1 Reset Query');
  t.equal(c.validate(P('192.0.2.0/24'), 64500), 'valid');
  t.equal(c.validate(P('2001:db8:1::/48'), 64501), 'valid');
  t.equal(c.validate(P('198.51.100.0/24'), 64502), 'not-found');
  const s = c.state();
  t.match(s, {
    connection: 'established',
    data: 'current',
    sessionId: SESSION,
    serial: 1,
    vrps: 2,
    version: 1,
  });
  t.equal(updates[0]!.full, true);
  t.equal(updates[0]!.announced, 2);

  k.last!.send({ type: 0, version: 1, sessionId: SESSION, serial: 2 });
  await until('incremental update', () => updates.length === 2);
  t.same(
    k.received[1],
    { type: PduType.SERIAL_QUERY, version: 1, sessionId: SESSION, serial: 1 },
    'Serial Query carries session and serial',
  );
  t.match(updates[1], { full: false, announced: 1, withdrawn: 1, vrps: 2, serial: 2 });
  t.ok(updates[1]!.affected.covers(P('192.0.2.128/25')), 'the withdrawn VRP affects its more specifics');
  t.ok(updates[1]!.affected.covers(P('198.51.100.0/24')));
  t.notOk(updates[1]!.affected.covers(P('2001:db8::/32')), 'an unchanged VRP affects nothing');
  t.equal(c.validate(P('192.0.2.0/24'), 64500), 'not-found');
  t.equal(c.validate(P('198.51.100.0/24'), 64502), 'valid');
  t.equal(c.state().serial, 2);
  t.equal(k.conns.length, 1, 'one connection throughout');
});

t.test('Cache Reset answers a Serial Query: the client starts over with a Reset Query', async (t) => {
  const k = await cache(t);
  let full = [A];
  serve(k, [A], (_p, c) => c.send({ type: 8, version: 1 }));
  k.onPdu = (p, c) => {
    if (p.type === PduType.RESET_QUERY) c.send(...fullResponse(1, SESSION + 1, 9, full));
    else if (p.type === PduType.SERIAL_QUERY) c.send({ type: 8, version: 1 });
  };
  const c = client(t, [k]);
  c.start();
  await until('first sync', () => c.state().serial === 9);
  full = [B, C];
  k.last!.send({ type: 0, version: 1, sessionId: SESSION + 1, serial: 10 });
  await until('second full sync', () => c.table.size === 2 && c.table.has(C));
  t.same(
    k.received.map((p) => p.type),
    [PduType.RESET_QUERY, PduType.SERIAL_QUERY, PduType.RESET_QUERY],
  );
  t.notOk(c.table.has(A), 'the full set replaced the old one');
});

t.test('version negotiation: a version 0 cache', async (t) => {
  await t.test('Error Report 4 in version 0 and a close: reconnect in version 0', async (t) => {
    const k = await cache(t);
    k.onPdu = (p, c) => {
      if (p.version === 1) {
        c.send({ type: 10, version: 0, code: 4, pdu: encodePdu(p), text: 'version 0 only' });
        c.socket.end();
      } else if (p.type === PduType.RESET_QUERY) {
        c.send(...fullResponse(0, 77, 3, [A, B]));
      }
    };
    const c = client(t, [k]);
    c.start();
    await until('sync in version 0', () => c.table.size === 2);
    t.equal(c.state().version, 0);
    t.same(
      k.received.map((p) => [p.type, p.version]),
      [
        [2, 1],
        [2, 0],
      ],
    );
    t.same(errorsSent(k), [], 'no Error Report about an Error Report');
    const s = c.state();
    t.equal(s.refresh, 3600, 'version 0 carries no timers: RFC 8210 §6 defaults');
  });
  await t.test('a version 0 Cache Response to a version 1 query: carry on in version 0', async (t) => {
    const k = await cache(t);
    k.onPdu = (p, c) => {
      if (p.type === PduType.RESET_QUERY) c.send(...fullResponse(0, 78, 3, [A]));
      if (p.type === PduType.SERIAL_QUERY) c.send(...fullResponse(0, 78, 4, []).filter((x) => x.type !== 4));
    };
    const c = client(t, [k]);
    c.start();
    await until('sync in version 0', () => c.table.size === 1);
    k.last!.send({ type: 0, version: 0, sessionId: 78, serial: 4 });
    await until('serial query in version 0', () => c.state().serial === 4);
    t.same(k.received[1], { type: 1, version: 0, sessionId: 78, serial: 3 });
    t.equal(k.conns.length, 1);
  });
});

t.test('Router Key PDUs are parsed and ignored', async (t) => {
  const k = await cache(t);
  k.onPdu = (p, c) => {
    if (p.type !== PduType.RESET_QUERY) return;
    const [head, ...rest] = fullResponse(1, SESSION, 1, [A]);
    c.send(
      head!,
      {
        type: 9,
        version: 1,
        announce: true,
        ski: new Uint8Array(20).fill(1),
        asn: 64500,
        spki: new Uint8Array(91),
      },
      ...rest,
    );
  };
  const c = client(t, [k]);
  c.start();
  await until('sync', () => c.table.size === 1);
  t.same(errorsSent(k), []);
});

/**
 * A cache that serves [A, B] at first, then on the Serial Query that a Serial Notify provokes
 * sends `hostile`. Expected: one Error Report with `code`, the table still [A, B], a new
 * connection with a Reset Query, and the good set again.
 */
async function hostile(
  t: Test,
  name: string,
  code: number,
  bytes: () => (Pdu | Uint8Array)[],
  opts: Partial<RtrClientOptions> = {},
) {
  await t.test(`${name} → Error Report ${code}`, async (t) => {
    const k = await cache(t);
    serve(k, [A, B], (_p, conn) => conn.send(...bytes()));
    const c = client(t, [k], opts);
    c.start();
    await until('first sync', () => c.state().serial === 1 && c.table.size === 2);
    k.last!.send({ type: 0, version: 1, sessionId: SESSION, serial: 2 });
    await until('an Error Report', () => errorsSent(k).length > 0);
    t.same(errorsSent(k), [code], 'the right code, once');
    t.equal(c.validate(P('192.0.2.0/24'), 64500), 'valid', 'last good table kept');
    t.equal(c.table.size, 2, 'nothing of the bad response committed');
    await until(
      'a reconnect and a fresh sync',
      () => k.conns.length >= 2 && c.state().connection === 'established',
    );
    t.equal(k.conns[1]!.received[0]!.type, PduType.RESET_QUERY, 'a new session starts with a Reset Query');
    t.equal(c.table.size, 2);
  });
}

t.test('hostile caches', async (t) => {
  for (const h of hostileCases())
    await hostile(t, h.name, h.code, h.bytes, h.maxVrps ? { maxVrps: h.maxVrps } : {});
});

t.test('first answer in version 2 → Error Report 4', async (t) => {
  const k = await cache(t);
  k.onPdu = (p, c) => {
    if (p.type !== PduType.RESET_QUERY) return;
    const b = encodePdu({ type: 3, version: 1, sessionId: 1 });
    b[0] = 2;
    c.send(b);
  };
  const c = client(t, [k], { retry: 5 });
  c.start();
  await until('an Error Report', () => errorsSent(k).length > 0);
  t.same(errorsSent(k), [RtrErrorCode.UNSUPPORTED_PROTOCOL_VERSION]);
  t.equal(c.state().data, 'none');
});

t.test('a cache that goes silent: data expires to NotFound', async (t) => {
  const k = await cache(t);
  let answered = 0;
  k.onPdu = (p, c) => {
    if (p.type === PduType.RESET_QUERY && answered++ === 0) c.send(...fullResponse(1, SESSION, 1, [A, B]));
  };
  const c = client(t, [k], { expire: 0.5, refresh: 3600 });
  const updates: RtrUpdate[] = [];
  c.on('update', (u) => updates.push(u));
  c.start();
  await until('sync', () => c.table.size === 2);
  t.equal(c.validate(P('192.0.2.0/24'), 64999), 'invalid');
  await until('expiry', () => c.state().data === 'expired');
  t.equal(c.validate(P('192.0.2.0/24'), 64999), 'not-found', 'Invalid became NotFound, not stale');
  t.equal(c.validate(P('192.0.2.0/24'), 64500), 'not-found', 'Valid became NotFound');
  t.match(updates[updates.length - 1], { full: true, withdrawn: 2, vrps: 0 });
  t.ok(updates[updates.length - 1]!.affected.all, 'every route must be re-validated');
});

t.test('failover by preference, and back to the preferred cache', async (t) => {
  const best = await cache(t);
  const second = await cache(t);
  let bestConns = 0;
  best.onPdu = (p, c) => {
    if (p.type !== PduType.RESET_QUERY) return;
    // No data on the first connection (§12 code 2), a full set afterwards.
    if (bestConns++ === 0)
      c.send({ type: 10, version: 1, code: 2, pdu: new Uint8Array(0), text: 'warming up' });
    else c.send(...fullResponse(1, 1, 1, [A]));
  };
  serve(second, [B]);
  const c = client(t, [second, best].reverse(), { retry: 0.2 });
  c.start();
  await until('synced from the second cache', () => c.table.has(B));
  t.equal(c.state().cache?.port, second.port);
  await until('back on the preferred cache', () => c.state().cache?.port === best.port && c.table.has(A));
  t.notOk(c.table.has(B), "the preferred cache's set replaced the other");
  // The preferred cache fails: the second takes over, data kept meanwhile.
  await best.stopListening();
  await until('on the second cache again', () => c.state().cache?.port === second.port && c.table.has(B));
  t.equal(c.state().connection, 'established');
});
