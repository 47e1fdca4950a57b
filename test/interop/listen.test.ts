/**
 * gredged listening (BIRD and GoBGP connect to it): Established, routes both ways with their
 * attributes, and the hold timer (RFC 4271 §6.5): a peer frozen with SIGSTOP makes gredged log
 * "hold timer expired" and withdraw that peer's routes from the others; thawed, the peer
 * connects again and its routes come back.
 */
import t from 'tap';
import { birdPrefixes, gobgpPrefixes, routesBothWays } from './harness/expect.js';
import { missing } from './harness/proc.js';
import type { Daemon } from './harness/proc.js';
import { Topo } from './harness/topo.js';
import { cannotRun } from '../must-run.js';

const HOLD = 4;
const why = missing(['bird', 'birdc', 'gobgpd', 'gobgp', 'ip']);
if (why) {
  cannotRun(t, why);
} else {
  t.test('gredged listens for BIRD 2 and GoBGP; hold timer expiry', async (t) => {
    const start = Date.now();
    const at = () => `(at ${((Date.now() - start) / 1000).toFixed(1)} s)`;
    const topo = await Topo.create(t, { tag: 'lis', mode: 'listen', holdTime: HOLD });
    t.pass(`${'BIRD, GoBGP and iBGP GoBGP Established with gredged listening'} ${at()}`);
    await routesBothWays(t, topo);

    const freeze = async (peer: Daemon, neighbor: string) => {
      const from = topo.gredged.daemon!.output.length;
      peer.signal('SIGSTOP');
      t.teardown(() => peer.signal('SIGCONT'));
      const t0 = Date.now();
      const m = await topo.gredged.daemon!.waitFor(/^.*hold timer expired.*$/m, (HOLD + 10) * 1000, from);
      t.match(
        m[0],
        neighbor,
        `gredged logs "hold timer expired" for ${neighbor} after ${(Date.now() - t0) / 1000} s`,
      );
    };

    await freeze(topo.bird.daemon!, 'bird');
    await Topo.holding('GoBGP loses the frozen BIRD routes', topo.gobgpFromGredged, []);
    await Topo.holding('iBGP GoBGP loses the frozen BIRD routes', topo.ibgpFromGredged, gobgpPrefixes);
    t.pass(`${"the frozen BIRD's routes are withdrawn from GoBGP and the iBGP neighbor"} ${at()}`);
    topo.bird.daemon!.signal('SIGCONT');
    await topo.bird.waitEstablished('gredged', 30_000);
    await Topo.holding('GoBGP gets the BIRD routes back', topo.gobgpFromGredged, birdPrefixes, 30_000);
    t.pass(`${'thawed BIRD reconnects and its routes come back'} ${at()}`);

    await freeze(topo.gobgp.daemon!, 'gobgp');
    await Topo.holding('BIRD loses the frozen GoBGP routes', topo.birdFromGredged, []);
    await Topo.holding('iBGP GoBGP loses the frozen GoBGP routes', topo.ibgpFromGredged, birdPrefixes);
    t.pass(`${"the frozen GoBGP's routes are withdrawn from BIRD and the iBGP neighbor"} ${at()}`);
    topo.gobgp.daemon!.signal('SIGCONT');
    await Topo.holding('BIRD gets the GoBGP routes back', topo.birdFromGredged, gobgpPrefixes, 30_000);
    t.pass(`${'thawed GoBGP reconnects and its routes come back'} ${at()}`);
  });
}
