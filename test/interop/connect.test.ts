/**
 * gredged connecting (BIRD and GoBGP passive): sessions reach Established, IPv4 and IPv6 routes
 * cross gredged both ways with their attributes, withdrawals propagate, and SIGTERM makes
 * gredged send Cease/administrative shutdown (RFC 8203) that BIRD and GoBGP both report.
 */
import t from 'tap';
import { birdPrefixes, gobgpPrefixes, routesBothWays } from './harness/expect.js';
import { missing } from './harness/proc.js';
import { BIRD_ROUTES, Topo } from './harness/topo.js';
import { cannotRun } from '../must-run.js';

const why = missing(['bird', 'birdc', 'gobgpd', 'gobgp', 'ip']);
if (why) {
  cannotRun(t, why);
} else {
  t.test('gredged connects to BIRD 2 and GoBGP', async (t) => {
    const topo = await Topo.create(t, { tag: 'con', mode: 'connect', holdTime: 9 });
    t.pass('BIRD, GoBGP and iBGP GoBGP Established with gredged connecting');
    await routesBothWays(t, topo);

    await topo.gobgp.delRoute('2001:db8:20::/48');
    await Topo.holding('BIRD sees the IPv6 withdrawal', topo.birdFromGredged, gobgpPrefixes.slice(0, 1));
    await topo.gobgp.delRoute('203.0.113.0/24');
    await Topo.holding('BIRD sees the IPv4 withdrawal', topo.birdFromGredged, []);
    t.pass('GoBGP withdrawals reach BIRD through gredged');
    await topo.bird.setRoutes(BIRD_ROUTES.slice(1));
    await Topo.holding('GoBGP sees the IPv4 withdrawal', topo.gobgpFromGredged, birdPrefixes.slice(1));
    await topo.bird.setRoutes([]);
    await Topo.holding('GoBGP sees the IPv6 withdrawal', topo.gobgpFromGredged, []);
    await Topo.holding('iBGP GoBGP sees every withdrawal', topo.ibgpFromGredged, []);
    t.pass('BIRD withdrawals reach GoBGP and the iBGP neighbor through gredged');

    const gobgpLogFrom = topo.gobgp.daemon!.output.length;
    const code = await topo.gredged.daemon!.stop(10_000);
    t.equal(code, 0, 'gredged exits 0 on SIGTERM');
    const info = await topo.bird.protocolInfo('gredged');
    t.match(
      info,
      /Received: Administrative shutdown/,
      'BIRD reports the Cease/administrative shutdown it received',
    );
    const line = await topo.gobgp.daemon!.waitFor(
      /.*(?:[Cc]ease|administrative shutdown).*/,
      10_000,
      gobgpLogFrom,
    );
    t.pass(`GoBGP logs the notification: ${line[0].slice(0, 300)}`);
  });
}
