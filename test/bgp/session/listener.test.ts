/**
 * BgpListener on a dual-stack socket: IPv4-mapped remote addresses are looked up as IPv4.
 */
import t from 'tap';
import { BgpListener } from '../../../src/bgp/session/listener.js';
import { silentLogger } from '../../../src/observe/log.js';
import { FakePeer } from '../../fakes/fake-peer.js';

t.test('a dual-stack listener hands IPv4 neighbors their plain address', async (t) => {
  const seen: string[] = [];
  const l = new BgpListener({
    address: '::',
    port: 11277,
    log: silentLogger(),
    lookup: (a) => {
      seen.push(a);
      return undefined;
    },
  });
  await l.listen();
  t.teardown(() => l.close());
  const fp = await FakePeer.connect('127.0.0.61', 11277, '127.0.0.62');
  t.teardown(() => fp.destroy());
  await fp.closed; // unknown neighbor: closed at once
  t.same(seen, ['127.0.0.62']);
});
