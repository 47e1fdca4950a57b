// RFC 4271 §9.1.2.2, one tie-break at a time: each case is built so that only the rule under
// test separates the candidates, and explain() must name that rule.
import t from 'tap';
import { announce, attrs, harness, LOCAL_AS, neighbor } from './helpers.js';

const PFX = '198.51.100.0/24';

t.test('only path', async (t) => {
  const h = harness();
  const { ch } = h.up(neighbor('t1', 'transit', 65001, '127.0.0.2'), 2);
  ch.updates([announce(attrs([65001, 64500]), [PFX])]);
  const x = h.rib.explain(PFX)!;
  t.equal(x.best, 't1');
  t.equal(x.reason, 'only path');
});

t.test('highest LOCAL_PREF wins over a shorter AS_PATH', async (t) => {
  const h = harness();
  const a = h.up(neighbor('i1', 'internal', LOCAL_AS, '127.0.0.2'), 1);
  const b = h.up(neighbor('i2', 'internal', LOCAL_AS, '127.0.0.3'), 2);
  a.ch.updates([announce(attrs([65001], { localPref: 100 }), [PFX])]);
  b.ch.updates([announce(attrs([65001, 65002, 65003], { localPref: 200 }), [PFX])]);
  const x = h.rib.explain(PFX)!;
  t.equal(x.best, 'i2');
  t.equal(x.reason, 'local-pref');
  t.equal(x.candidates.find((c) => c.neighbor === 'i1')!.eliminatedBy, 'local-pref');
});

t.test('eBGP routes get LOCAL_PREF 100 whatever they carry', async (t) => {
  const h = harness();
  const a = h.up(neighbor('t1', 'transit', 65001, '127.0.0.2'), 1);
  const b = h.up(neighbor('t2', 'transit', 65002, '127.0.0.3'), 2);
  a.ch.updates([announce(attrs([65001, 1, 2], { localPref: 500 }), [PFX])]);
  b.ch.updates([announce(attrs([65002]), [PFX])]);
  const x = h.rib.explain(PFX)!;
  t.equal(x.best, 't2');
  t.equal(x.reason, 'as-path length');
  t.equal(x.candidates.find((c) => c.neighbor === 't1')!.attrs.localPref, 100);
});

t.test('shortest AS_PATH; an AS_SET counts one', async (t) => {
  const h = harness();
  const a = h.up(neighbor('t1', 'transit', 65001, '127.0.0.2'), 1);
  const b = h.up(neighbor('t2', 'transit', 65002, '127.0.0.3'), 2);
  a.ch.updates([announce(attrs([65001, 64500, 64501]), [PFX])]);
  // 2 hops + a 3-AS set = length 3 → tie with t1 on length, so add one more hop to t1 below.
  b.ch.updates([
    announce(
      attrs([], {
        asPath: [
          { type: 2, asns: [65002] },
          { type: 1, asns: [64510, 64511, 64509] },
        ],
      }),
      [PFX],
    ),
  ]);
  let x = h.rib.explain(PFX)!;
  t.equal(x.best, 't2', 'length 2 (set counts 1) beats length 3');
  t.equal(x.reason, 'as-path length');
  a.ch.updates([announce(attrs([65001, 64500]), [PFX])]);
  x = h.rib.explain(PFX)!;
  t.equal(x.best, 't1', 'equal length: falls through to router-id');
  t.equal(x.reason, 'router-id');
});

t.test('lowest ORIGIN', async (t) => {
  const h = harness();
  const a = h.up(neighbor('t1', 'transit', 65001, '127.0.0.2'), 1);
  const b = h.up(neighbor('t2', 'transit', 65002, '127.0.0.3'), 2);
  a.ch.updates([announce(attrs([65001, 64500], { origin: 2 }), [PFX])]);
  b.ch.updates([announce(attrs([65002, 64500], { origin: 1 }), [PFX])]);
  const x = h.rib.explain(PFX)!;
  t.equal(x.best, 't2');
  t.equal(x.reason, 'origin');
});

t.test('lowest MED among routes from the same neighbor AS; missing MED is 0', async (t) => {
  const h = harness();
  const a = h.up(neighbor('t1a', 'transit', 65001, '127.0.0.2'), 1);
  const b = h.up(neighbor('t1b', 'transit', 65001, '127.0.0.3'), 2);
  a.ch.updates([announce(attrs([65001, 64500], { med: 50 }), [PFX])]);
  b.ch.updates([announce(attrs([65001, 64500], { med: 10 }), [PFX])]);
  let x = h.rib.explain(PFX)!;
  t.equal(x.best, 't1b');
  t.equal(x.reason, 'med');
  b.ch.updates([announce(attrs([65001, 64500], { med: 70 }), [PFX])]);
  a.ch.updates([announce(attrs([65001, 64500]), [PFX])]);
  x = h.rib.explain(PFX)!;
  t.equal(x.best, 't1a', 'no MED counts as 0');
  t.equal(x.reason, 'med');
});

t.test('MED is not compared across different neighbor ASes', async (t) => {
  const h = harness();
  const a = h.up(neighbor('t1', 'transit', 65001, '127.0.0.2'), 1);
  const b = h.up(neighbor('t2', 'transit', 65002, '127.0.0.3'), 2);
  a.ch.updates([announce(attrs([65001, 64500], { med: 500 }), [PFX])]);
  b.ch.updates([announce(attrs([65002, 64500], { med: 1 }), [PFX])]);
  const x = h.rib.explain(PFX)!;
  t.equal(x.best, 't1');
  t.equal(x.reason, 'router-id');
});

t.test('eBGP over iBGP', async (t) => {
  const h = harness();
  const i = h.up(neighbor('i1', 'internal', LOCAL_AS, '127.0.0.2'), 1);
  const e = h.up(neighbor('t1', 'transit', 65003, '127.0.0.3'), 9);
  i.ch.updates([announce(attrs([65001, 64500], { localPref: 100 }), [PFX])]);
  e.ch.updates([announce(attrs([65003, 64500]), [PFX])]);
  const x = h.rib.explain(PFX)!;
  t.equal(x.best, 't1');
  t.equal(x.reason, 'ebgp over ibgp');
});

t.test('lowest router-id', async (t) => {
  const h = harness();
  const a = h.up(neighbor('t1', 'transit', 65001, '127.0.0.2'), 0xc0000202);
  const b = h.up(neighbor('t2', 'transit', 65002, '127.0.0.3'), 0x0a000001);
  a.ch.updates([announce(attrs([65001, 64500]), [PFX])]);
  b.ch.updates([announce(attrs([65002, 64500]), [PFX])]);
  const x = h.rib.explain(PFX)!;
  t.equal(x.best, 't2');
  t.equal(x.reason, 'router-id');
  t.equal(x.candidates.find((c) => c.neighbor === 't1')!.eliminatedBy, 'router-id');
});

t.test('lowest peer address', async (t) => {
  const h = harness();
  const a = h.up(neighbor('t1', 'transit', 65001, '127.0.0.9'), 7);
  const b = h.up(neighbor('t2', 'transit', 65002, '127.0.0.10'), 7);
  a.ch.updates([announce(attrs([65001, 64500]), [PFX])]);
  b.ch.updates([announce(attrs([65002, 64500]), [PFX])]);
  const x = h.rib.explain(PFX)!;
  t.equal(x.best, 't1', '127.0.0.9 < 127.0.0.10 numerically');
  t.equal(x.reason, 'peer address');
});

t.test('explain of an unknown or malformed prefix', async (t) => {
  const h = harness();
  t.equal(h.rib.explain('203.0.113.0/24'), undefined);
  t.equal(h.rib.explain('not a prefix'), undefined);
});
