/**
 * A customer's BGP session inside its GRE tunnel (ARCHITECTURE data flow 3; issue 4): the CPE's
 * gredged connects to the edge's inner address through the tunnel, the session comes up, and the
 * session socket's MSS fits the tunnel MTU, so a full-table transfer never needs fragmentation.
 * The tunnel MTU is below the TUN's 1500 and the data planes' MSS clamp is off: what keeps the
 * MSS down is the inner subnet's kernel route, which gredged installs with the tunnel MTU
 * (TCP_MAXSEG set after connect() would not change a negotiated MSS on Linux).
 */
import t from 'tap';
import { INNER } from './configs.js';
import { startGrePath } from './gre-path.js';
import { waitFor } from './netns.js';
import { Lab, labMissing } from './topology.js';
import { cannotRun } from '../must-run.js';

const missing = labMissing('network namespaces and TUN devices');

if (missing) {
  cannotRun(t, missing);
} else {
  t.test('BGP session inside the tunnel: Established, MSS fits the tunnel MTU', async (t) => {
    const lab = await Lab.create({ tag: 'bgptun' });
    t.teardown(() => lab.destroy());
    const mtu = 1400; // below the TUN's 1500, so only the route's MTU keeps the MSS down
    const path = await startGrePath(lab, { underlay: 'v4', mode: 'daemon', bgp: { mtu, mssClamp: false } });
    t.teardown(() => path.stop());
    const established = (role: 'edge' | 'cpe') =>
      /"to":"Established"/.test(role === 'edge' ? path.edge.proc.stdout : (path.cpe?.proc.stdout ?? ''));
    // cpe connects at once and retries every second (connect-retry 1); 20 s is the deadline.
    await waitFor(() => established('edge') && established('cpe'), 20_000, 200);
    t.ok(established('edge'), 'edge: session with the customer Established');
    t.ok(established('cpe'), 'cpe: session with the edge Established');
    // ss prints the socket's send MSS ("mss:N") for the BGP connection on the edge side; a
    // session that flapped in between is given a few seconds to be back.
    const ssBgp = async () =>
      (await lab.exec('edge', ['ss', '-tin', 'state', 'established', '( sport = :179 or dport = :179 )']))
        .stdout;
    let ss = '';
    await waitFor(async () => (ss = await ssBgp()).includes(INNER.cpe.v4), 5000);
    t.match(ss, INNER.cpe.v4, 'the session runs between the inner addresses');
    const mss = Number(/\bmss:(\d+)/.exec(ss)?.[1]);
    t.ok(mss > 0 && mss <= mtu - 40, `edge socket MSS ${mss} ≤ ${mtu - 40} (tunnel MTU ${mtu} − 40)`);
  });
}
