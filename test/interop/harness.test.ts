/**
 * The interop helpers checked against BIRD 2 ↔ GoBGP directly, without gredged: configs are
 * accepted, sessions come up, the route readers return AS_PATH, NEXT_HOP, MED, communities and
 * large communities for both families, withdrawals are seen, and cleanup leaves no process or
 * namespace. If this file fails, the gredged interop files cannot be trusted either.
 */
import { rmSync } from 'node:fs';
import t from 'tap';
import { Bird } from './harness/bird.js';
import { Gobgp } from './harness/gobgp.js';
import { tempDir } from './harness/gredged.js';
import { Netns, v4, v6 } from './harness/netns.js';
import { missing, until } from './harness/proc.js';
import { byPrefix } from './harness/route.js';
import { cannotRun } from '../must-run.js';

const why = missing(['bird', 'birdc', 'gobgpd', 'gobgp', 'ip']);
if (why) {
  cannotRun(t, why);
} else {
  t.test('BIRD 2 ↔ GoBGP through the helpers', async (t) => {
    const ns = Netns.create('hrn', [2, 3]);
    const dir = tempDir('interop-harness');
    const bird = new Bird({
      dir,
      netns: ns.name,
      routerId: v4(2),
      localAddress: v4(2),
      as: 65010,
      nextHop6: v6(2),
      peers: [{ name: 'gob', address: v4(3), as: 65020, passive: true, holdTime: 6 }],
      routes: [
        {
          prefix: '198.51.100.0/24',
          asPath: [65011, 65012],
          med: 42,
          communities: ['65010:7'],
          largeCommunities: ['65010:1:2'],
        },
        { prefix: '2001:db8:10::/48', med: 43, communities: ['65010:8'], largeCommunities: ['65010:3:4'] },
      ],
    });
    const gobgp = new Gobgp({
      dir,
      netns: ns.name,
      routerId: v4(3),
      localAddress: v4(3),
      as: 65020,
      peers: [{ address: v4(2), as: 65010, passive: false, holdTime: 6 }],
    });
    t.teardown(async () => {
      await Promise.all([bird.daemon?.kill(), gobgp.daemon?.kill()]);
      ns.destroy();
      rmSync(dir, { recursive: true, force: true });
    });
    await bird.start();
    await gobgp.start();
    await bird.waitEstablished('gob');
    await gobgp.waitEstablished(v4(2));
    t.pass('Established on both sides');

    const got = await until('GoBGP holds both BIRD routes', async () => {
      const m = byPrefix(await gobgp.routesFrom(v4(2)));
      return m.size === 2 ? m : undefined;
    });
    t.match(got.get('198.51.100.0/24'), {
      asPath: [65010, 65011, 65012],
      nextHop: v4(2),
      med: 42,
      communities: ['65010:7'],
      largeCommunities: ['65010:1:2'],
    });
    t.match(got.get('2001:db8:10::/48'), {
      asPath: [65010],
      nextHop: v6(2),
      med: 43,
      communities: ['65010:8'],
      largeCommunities: ['65010:3:4'],
    });

    await gobgp.addRoute({
      prefix: '203.0.113.0/24',
      nextHop: v4(3),
      asPath: [65021],
      med: 10,
      communities: ['65020:1'],
      largeCommunities: ['65020:1:2'],
    });
    await gobgp.addRoute({
      prefix: '2001:db8:20::/48',
      nextHop: v6(3),
      med: 11,
      communities: ['65020:2'],
      largeCommunities: ['65020:3:4'],
    });
    const back = await until('BIRD holds both GoBGP routes', async () => {
      const m = byPrefix(await bird.routes('gob'));
      return m.size === 2 ? m : undefined;
    });
    t.match(back.get('203.0.113.0/24'), {
      from: v4(3),
      asPath: [65020, 65021],
      nextHop: v4(3),
      med: 10,
      communities: ['65020:1'],
      largeCommunities: ['65020:1:2'],
    });
    t.match(back.get('2001:db8:20::/48'), {
      asPath: [65020],
      nextHop: v6(3),
      med: 11,
      communities: ['65020:2'],
      largeCommunities: ['65020:3:4'],
    });

    await gobgp.delRoute('203.0.113.0/24');
    await until('BIRD sees the GoBGP withdrawal', async () =>
      (await bird.routes('gob')).length === 1 ? true : undefined,
    );
    await bird.setRoutes([{ prefix: '2001:db8:10::/48' }]);
    await until('GoBGP sees the BIRD withdrawal', async () => {
      const r = await gobgp.routesFrom(v4(2));
      return r.length === 1 && r[0]!.prefix === '2001:db8:10::/48' ? true : undefined;
    });
    t.pass('withdrawals seen both ways');

    const pid = bird.daemon!.pid;
    await bird.daemon!.stop();
    t.throws(() => process.kill(pid, 0), 'BIRD is gone after stop()');
  });
}
