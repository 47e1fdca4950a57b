/**
 * The data plane in throw-away namespaces: TUN open/close, addresses and kernel routes, typed
 * errors (bad arguments, no CAP_NET_ADMIN), counters, and a two-namespace GRE path (IPv4 and
 * IPv6 inside, IPv4 and IPv6 underlay) with anti-spoofing, Packet Too Big, keepalives, and
 * table updates while a ping flood runs.
 */
import t from 'tap';
import { Child, makePair, nsx, rootSkip, sh } from './ns.js';
import { skipUnless } from '../must-run.js';

const skip = skipUnless(t, rootSkip());

const tunnelA = {
  name: 'to-b',
  remote: '198.51.100.2',
  key: 42,
  inner: { local: '192.0.2.1/30', local6: '2001:db8:ff::1/127' },
  allowedSources: ['192.0.2.0/30'],
  routes: ['203.0.113.0/25'],
  keepalive: { interval: 0.2, retries: 3 },
};
const tunnelB = {
  name: 'to-a',
  remote: '198.51.100.1',
  key: 42,
  inner: { local: '192.0.2.2/30', local6: '2001:db8:ff::/127' },
  allowedSources: ['203.0.113.0/25'],
  keepalive: { interval: 0.2, retries: 3 },
};
const tunnelA6 = {
  name: 'to-b6',
  remote: '2001:db8:100::2',
  key: 7,
  sequence: true,
  checksum: true,
  inner: { local: '192.0.2.5/30' },
};
const tunnelB6 = {
  name: 'to-a6',
  remote: '2001:db8:100::1',
  key: 7,
  sequence: true,
  checksum: true,
  inner: { local: '192.0.2.6/30' },
};
const openA = { tun: 'gdp0', workers: 2, underlay: { local: '198.51.100.1', local6: '2001:db8:100::1' } };
const openB = { tun: 'gdp0', workers: 2, underlay: { local: '198.51.100.2', local6: '2001:db8:100::2' } };

type Ctr = {
  global: Record<string, unknown> & { drops: Record<string, number> };
  tunnels: Record<string, Record<string, unknown> & { drops: Record<string, number> }>;
};

t.test('data plane in namespaces', { skip }, async (t) => {
  const pair = makePair('n');
  const kids: Child[] = [];
  t.teardown(async () => {
    for (const k of kids) await k.close();
    pair.destroy();
  });

  await t.test('bad arguments and missing capabilities give typed errors', async (t) => {
    const perm = new Child(pair.a, { open: openA }, 'perm', [
      'setpriv',
      '--inh-caps=-all',
      '--bounding-set=-all',
    ]);
    kids.push(perm);
    const r = await perm.ready();
    t.equal(r.code, 'ERR_TUN_PERMISSION', String(r.message));
    t.match(String(r.message), /CAP_NET_ADMIN/);
    const bad = new Child(pair.a, { open: { ...openA, tun: 'no spaces allowed' } }, 'perm');
    kids.push(bad);
    t.equal((await bad.ready()).code, 'ERR_DATAPLANE_ARG');
    const bad2 = new Child(pair.a, { open: { ...openA, workers: 0 } }, 'perm');
    kids.push(bad2);
    t.equal((await bad2.ready()).code, 'ERR_DATAPLANE_ARG');
  });

  const a = new Child(pair.a, { open: openA, tunnels: [tunnelA, tunnelA6] });
  const b = new Child(pair.b, { open: openB, tunnels: [tunnelB, tunnelB6] });
  kids.push(a, b);
  t.equal((await a.ready()).event, 'ready', a.stderr);
  t.equal((await b.ready()).event, 'ready', b.stderr);

  await t.test('TUN has the inner addresses and the kernel routes', async (t) => {
    const addrs = nsx(pair.a, ['ip', 'addr', 'show', 'dev', 'gdp0']);
    t.match(addrs, /inet 192\.0\.2\.1\/30/);
    t.match(addrs, /inet6 2001:db8:ff::1\/127/);
    t.match(nsx(pair.a, ['ip', 'route', 'show', 'dev', 'gdp0']), /203\.0\.113\.0\/25/);
    t.match(nsx(pair.a, ['ip', 'link', 'show', 'gdp0']), /mtu 1500.*UP|UP.*mtu 1500/);
    // The inner subnets' routes carry the tunnel MTU and the inner source address, so the
    // kernel's own TCP to the far end (a BGP session inside the tunnel) fits the tunnel.
    t.match(nsx(pair.a, ['ip', 'route', 'show', '192.0.2.0/30']), /dev gdp0 .*src 192\.0\.2\.1 .*mtu 1472/);
    t.match(nsx(pair.a, ['ip', '-6', 'route', 'show', '2001:db8:ff::/127']), /dev gdp0 .*mtu 1472/);
  });

  await t.test('argument errors on a live data plane', async (t) => {
    t.match(
      await a.call('addTunnel', { ...tunnelA, name: 'dup' }),
      { ok: false, code: 'ERR_DATAPLANE_ARG' },
      'same remote and key',
    );
    t.match(await a.call('addTunnel', { ...tunnelA, name: 'x', remote: '300.1.1.1' }), {
      ok: false,
      code: 'ERR_DATAPLANE_ARG',
    });
    t.match(await a.call('addRoutes', [{ prefix: '10.0.0.0/8', tunnel: 'nope' }]), {
      ok: false,
      code: 'ERR_DATAPLANE_ARG',
    });
    t.match(
      await a.call('addRoutes', [{ prefix: '10.0.0.1/8', tunnel: 'to-b' }]),
      { ok: false, code: 'ERR_DATAPLANE_ARG' },
      'host bits',
    );
    t.match(await a.call('removeTunnel', 'nope'), { ok: false, code: 'ERR_DATAPLANE_ARG' });
  });

  await t.test('ping through the tunnel: IPv4 and IPv6 inside, IPv4 and IPv6 underlay', async (t) => {
    t.match(nsx(pair.a, ['ping', '-c', '3', '-i', '0.2', '-W', '2', '192.0.2.2']), / 0% packet loss/);
    t.match(
      nsx(pair.a, ['ping', '-6', '-c', '3', '-i', '0.2', '-W', '2', '2001:db8:ff::']),
      / 0% packet loss/,
    );
    t.match(
      nsx(pair.a, ['ping', '-c', '3', '-i', '0.2', '-W', '2', '192.0.2.6']),
      / 0% packet loss/,
      'IPv6 underlay, seq+csum',
    );
    const c = (await a.ok('counters')) as Ctr;
    t.ok((c.tunnels['to-b']!.txPackets as number) >= 6, 'to-b counted tx');
    t.ok((c.tunnels['to-b6']!.rxPackets as number) >= 3, 'to-b6 counted rx');
    t.equal(c.tunnels['to-b6']!.drops.sequence, 0);
  });

  await t.test('anti-spoofing: an inner source outside allowed-sources is dropped', async (t) => {
    nsx(pair.a, ['ip', 'addr', 'add', '198.18.0.1/32', 'dev', 'gdp0']);
    const before = ((await b.ok('counters')) as Ctr).tunnels['to-a']!.drops.spoofedSource!;
    const out = nsx(
      pair.a,
      ['ping', '-c', '2', '-i', '0.2', '-W', '1', '-I', '198.18.0.1', '192.0.2.2'],
      true,
    );
    t.match(out, / 100% packet loss/);
    const after = ((await b.ok('counters')) as Ctr).tunnels['to-a']!.drops.spoofedSource!;
    t.equal(after - before, 2, 'two spoofed packets counted at the far end');
    // 203.0.113.0/25 is allowed at b and routed into the tunnel at a.
    nsx(pair.b, ['ip', 'addr', 'add', '203.0.113.1/32', 'dev', 'gdp0']);
    nsx(pair.b, ['ip', 'route', 'add', '192.0.2.0/30', 'dev', 'gdp0', 'src', '203.0.113.1'], true);
  });

  await t.test('too big with DF: ICMP Fragmentation Needed back through the TUN', async (t) => {
    // The inner subnet's own route knows the tunnel MTU (the kernel refuses locally), so go
    // through a static route into the tunnel: that packet reaches the data plane's MTU check.
    const local = nsx(pair.a, ['ping', '-c', '1', '-W', '1', '-M', 'do', '-s', '1472', '192.0.2.2'], true);
    t.match(local, /(\+1 errors|message too long|mtu = 1472)/i, 'the kernel knows the inner subnet MTU');
    const out = nsx(pair.a, ['ping', '-c', '1', '-W', '1', '-M', 'do', '-s', '1472', '203.0.113.1'], true);
    // ping prints the data plane's ICMP ("Frag needed … mtu = 1472"), or a local error once the
    // kernel has cached the path MTU that ICMP taught it; the counters below tell them apart.
    t.match(out, /(Frag needed|message too long|mtu = 1472|\+1 errors)/i);
    const c = (await a.ok('tunnelCounters', 'to-b')) as Record<string, unknown> & {
      drops: Record<string, number>;
    };
    t.ok(c.drops.tooBig! >= 1, 'counted as too big');
    t.ok((c.ptbSent as number) >= 1, 'PTB sent');
    t.match(
      nsx(pair.a, ['ping', '-c', '1', '-W', '2', '-M', 'do', '-s', '1444', '192.0.2.2']),
      / 0% packet loss/,
      'fits',
    );
  });

  await t.test('keepalives: reflected by the far end, down when it goes away, event to JS', async (t) => {
    const c = (await a.ok('tunnelCounters', 'to-b')) as Record<string, number>;
    t.ok(
      c.keepaliveTx! > 0 && c.keepaliveRx! > 0,
      `keepalives sent ${c.keepaliveTx} and answered ${c.keepaliveRx}`,
    );
    t.ok(
      ((await b.ok('tunnelCounters', 'to-a')) as Record<string, number>).keepaliveReflected! > 0,
      'b reflected',
    );
    await b.ok('removeTunnel', 'to-a');
    const down = await a.event(
      (e) => e.event === 'tunnel-state' && e.name === 'to-b' && e.up === false,
      5000,
    );
    t.match(down, { name: 'to-b', up: false });
    const out = nsx(pair.a, ['ping', '-c', '1', '-W', '1', '192.0.2.2'], true);
    t.match(out, / 100% packet loss/);
    t.ok(
      ((await a.ok('tunnelCounters', 'to-b')) as { drops: Record<string, number> }).drops.tunnelDown! >= 1,
    );
    await b.ok('addTunnel', tunnelB);
    await a.event((e) => e.event === 'tunnel-state' && e.name === 'to-b' && e.up === true, 5000);
    t.match(
      nsx(pair.a, ['ping', '-c', '2', '-i', '0.2', '-W', '2', '192.0.2.2']),
      / 0% packet loss/,
      'back up',
    );
  });

  await t.test('table updates while a ping flood runs lose no packet of the untouched tunnel', async (t) => {
    const flood = new Promise<string>((res) => {
      // 2000 pings at 2 ms, from the namespace; output checked below.
      res(nsx(pair.a, ['ping', '-c', '2000', '-i', '0.002', '-W', '2', '-q', '192.0.2.2'], true));
    });
    // Meanwhile: 300 other tunnels come and go, and 100k routes are added then removed.
    const tunnels = Array.from({ length: 300 }, (_, i) => ({
      name: `churn-${i}`,
      remote: `198.51.100.${10 + (i % 200)}`,
      key: 1000 + i,
      inner: {},
    }));
    const routes: { prefix: string; tunnel: string }[] = [];
    for (let i = 0; i < 100_000; i++)
      routes.push({
        prefix: `${10 + (i >> 16)}.${(i >> 8) & 0xff}.${i & 0xff}.0/24`,
        tunnel: `churn-${i % 300}`,
      });
    for (const tn of tunnels) await a.ok('addTunnel', tn);
    const r = await a.call('addRoutes', routes);
    t.match(r, { ok: true, result: 100_000 });
    t.comment(`100k routes added in ${Number(r.ms).toFixed(1)} ms`);
    t.same(await a.ok('lookup', '10.1.2.3'), 'churn-258');
    for (const tn of tunnels.slice(0, 150)) await a.ok('removeTunnel', tn.name);
    t.equal(await a.ok('lookup', '10.0.0.3'), null, 'routes of a removed tunnel are gone');
    const left = routes.filter((_, i) => i % 300 >= 150).length;
    t.equal(
      await a.ok(
        'removeRoutes',
        routes.map((x) => x.prefix),
      ),
      left,
      'the other half removed',
    );
    for (const tn of tunnels.slice(150)) await a.ok('removeTunnel', tn.name);
    const out = await flood;
    t.match(out, / 2000 received, 0% packet loss/, out.split('\n').slice(-3).join(' '));
  });

  await t.test('close removes the TUN; persistent keeps it', async (t) => {
    await a.close();
    t.notMatch(nsx(pair.a, ['ip', 'link', 'show'], true), /gdp0/);
    const p = new Child(pair.a, { open: { ...openA, tun: 'gdp1', persistent: true } });
    kids.push(p);
    t.equal((await p.ready()).event, 'ready');
    await p.close();
    t.match(nsx(pair.a, ['ip', 'link', 'show'], true), /gdp1/, 'still there');
    nsx(pair.a, ['ip', 'link', 'del', 'gdp1']);
  });
});

t.test('pure argument validation (no root needed)', async (t) => {
  const { Dataplane } = await import('../../src/dataplane/index.js');
  t.throws(() => Dataplane.open({ tun: 'x'.repeat(16), workers: 1, underlay: {} }), {
    code: 'ERR_DATAPLANE_ARG',
  });
  t.throws(() => Dataplane.open({ tun: 'gdp9', workers: 1, underlay: { local: '2001:db8::1' } }), {
    code: 'ERR_DATAPLANE_ARG',
  });
  t.throws(() => Dataplane.open({ tun: 'gdp9', workers: 99, underlay: {} }), { code: 'ERR_DATAPLANE_ARG' });
  void sh;
});
