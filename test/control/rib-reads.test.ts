/**
 * The RIB's read methods the control socket uses: longestMatch per table, refusedRoutes with
 * their reasons, and routes() iterated across a table that grows in between (the server reads
 * in slices, so a full-table load may reallocate the arrays under an open iteration).
 */
import t from 'tap';
import { parseIpv4, parseIpv6 } from '../../src/bgp/wire/index.js';
import { announce, attrs, harness, neighbor, withdraw } from '../rib/helpers.js';

t.test('longestMatch per table, refusedRoutes, routes() across growth', async (t) => {
  const h = harness();
  const tr = neighbor('tr', 'transit', 65001, '192.0.2.2');
  const nr = neighbor('nr', 'peer', 65003, '192.0.2.3', { noResale: true });
  const { ch } = h.up(tr, 1);
  const { ch: chNr } = h.up(nr, 3);
  ch.updates([announce(attrs([65001]), ['20.0.0.0/8', '20.1.0.0/16'], ['2001:db8::/32'])]);
  ch.updates([announce(attrs([65001, 65010]), ['20.1.2.0/24'])]);
  // The no-resale peer has a shorter path to 20.1.2.0/24 and the only one to 20.1.3.0/24: in the
  // full table, not in the resale one.
  chNr.updates([announce(attrs([65003]), ['20.1.2.0/24', '20.1.3.0/24'])]);
  // Our own AS in the path: refused.
  ch.updates([announce(attrs([65001, 65000]), ['21.0.0.0/24'])]);
  await h.settle();

  t.equal(h.rib.longestMatch(parseIpv4('20.1.3.3')!), '20.1.3.0/24');
  t.equal(
    h.rib.longestMatch(parseIpv4('20.1.3.3')!, 'resale'),
    '20.1.0.0/16',
    'no-resale route not in resale',
  );
  t.equal(h.rib.longestMatch(parseIpv4('20.9.9.9')!), '20.0.0.0/8');
  t.equal(h.rib.longestMatch(parseIpv4('21.0.0.1')!), undefined, 'a refused route matches nothing');
  t.equal(h.rib.longestMatch(parseIpv6('2001:db8::1')!), '2001:db8::/32');
  t.equal(h.rib.longestMatch(parseIpv6('2001:db9::1')!), undefined);

  t.same(
    [...h.rib.refusedRoutes('ipv4-unicast')].map((r) => [r.neighbor, r.prefix, r.reason]),
    [['tr', '21.0.0.0/24', 'as-loop']],
  );
  t.same([...h.rib.refusedRoutes('ipv4-unicast', { neighbor: 'nr' })], []);

  // An iteration left open while the table grows far past its first allocation (the arrays are
  // replaced) and the best path of an entry it has not reached yet changes: what comes out is
  // the best path as it is now, not the one in the old arrays.
  const it = h.rib.routes('ipv4-unicast');
  t.equal(it.next().value?.prefix, '20.0.0.0/8');
  const many: string[] = [];
  for (let i = 0; i < 20_000; i++) many.push(`30.${i >> 8}.${i & 255}.0/24`);
  ch.updates([announce(attrs([65001]), many)]);
  chNr.updates([withdraw(['20.1.2.0/24'])]);
  await h.settle();
  const rest: string[] = [];
  for (let r = it.next(); !r.done; r = it.next()) rest.push(`${r.value.prefix} ${r.value.neighbor}`);
  t.same(
    rest,
    ['20.1.0.0/16 tr', '20.1.2.0/24 tr', '20.1.3.0/24 nr'],
    'the rest of the entries as they are now',
  );
  t.equal([...h.rib.routes('ipv4-unicast')].length, 4 + many.length);
});
