/**
 * Restarted peers (gredged connecting): BIRD and then GoBGP are killed (SIGKILL, no
 * NOTIFICATION, graceful restart off) and started again; gredged withdraws their routes when
 * the connection drops, connects again, and their routes come back with the right attributes.
 */
import t from 'tap';
import { birdPrefixes, ebgpRoute, gobgpPrefixes } from './harness/expect.js';
import { missing } from './harness/proc.js';
import { AS, BIRD_ROUTES, GOBGP_ROUTES, Topo } from './harness/topo.js';
import { v4 } from './harness/netns.js';
import { cannotRun } from '../must-run.js';

const why = missing(['bird', 'birdc', 'gobgpd', 'gobgp', 'ip']);
if (why) {
  cannotRun(t, why);
} else {
  t.test('a restarted BIRD 2 or GoBGP reconnects to gredged', async (t) => {
    const topo = await Topo.create(t, { tag: 'rst', mode: 'connect', holdTime: 9 });
    await Topo.holding('GoBGP holds BIRD routes', topo.gobgpFromGredged, birdPrefixes);
    await Topo.holding('BIRD holds GoBGP routes', topo.birdFromGredged, gobgpPrefixes);

    const oldBird = topo.bird.daemon!.pid;
    await topo.bird.daemon!.kill();
    await Topo.holding('GoBGP loses the killed BIRD routes', topo.gobgpFromGredged, []);
    t.pass('killed BIRD: its routes are withdrawn');
    await topo.bird.start();
    t.not(topo.bird.daemon!.pid, oldBird, 'a new BIRD process');
    await topo.bird.waitEstablished('gredged', 30_000);
    t.pass('restarted BIRD is Established again');
    const back = await Topo.holding(
      'GoBGP holds BIRD routes again',
      topo.gobgpFromGredged,
      birdPrefixes,
      30_000,
    );
    for (const r of BIRD_ROUTES)
      ebgpRoute(t, back.get(r.prefix), r, AS.bird, 'GoBGP after BIRD restart', 'gobgp');
    await Topo.holding('BIRD holds GoBGP routes again', topo.birdFromGredged, gobgpPrefixes);

    await topo.gobgp.daemon!.kill();
    await Topo.holding('BIRD loses the killed GoBGP routes', topo.birdFromGredged, []);
    t.pass('killed GoBGP: its routes are withdrawn');
    await topo.gobgp.start();
    await topo.gobgp.waitEstablished(v4(1), 30_000);
    t.pass('restarted GoBGP is Established again');
    for (const r of GOBGP_ROUTES) await topo.gobgp.addRoute(r);
    const back2 = await Topo.holding(
      'BIRD holds GoBGP routes again',
      topo.birdFromGredged,
      gobgpPrefixes,
      30_000,
    );
    for (const r of GOBGP_ROUTES)
      ebgpRoute(t, back2.get(r.prefix), r, AS.gobgp, 'BIRD after GoBGP restart', 'bird');
    await Topo.holding('GoBGP holds BIRD routes after its restart', topo.gobgpFromGredged, birdPrefixes);
  });
}
