/**
 * The graceful-restart keys of the config (docs/graceful-restart.md): a neighbor's
 * `graceful-restart` as a boolean or a mapping with `restart-time` and `stale-time` and their
 * defaults and limits, the daemon-wide `graceful-restart.selection-deferral`, and the messages a
 * wrong value gets (file:line:column).
 */
import t from 'tap';
import { parseConfig } from '../../src/config/load.js';
import { GredgeError } from '../../src/errors.js';

const BASE = `router-id: 192.0.2.1
local-as: 65000
control: false
metrics: false
neighbors:
  - name: t
    address: 192.0.2.2
    remote-as: 65001
    role: transit
`;

const parse = (extra: string, top = '') => parseConfig(`${top}${BASE}${extra}`, 'gr.yaml');

function refusal(extra: string, top = ''): string {
  try {
    parse(extra, top);
  } catch (err) {
    if (err instanceof GredgeError) return err.message;
    throw err;
  }
  return '';
}

t.test('defaults: off; true; a mapping with what it leaves out filled in', async (t) => {
  const gr = (c: ReturnType<typeof parse>) => c.neighbors[0]!.gracefulRestart;
  t.same(gr(parse('')), { enabled: false, restartTime: 120, staleTime: 360 }, 'off by default');
  t.same(gr(parse('    graceful-restart: true\n')), { enabled: true, restartTime: 120, staleTime: 360 });
  t.same(gr(parse('    graceful-restart: { stale-time: 30 }\n')), {
    enabled: true,
    restartTime: 120,
    staleTime: 30,
  });
  t.same(gr(parse('    graceful-restart: { enabled: false, restart-time: 60 }\n')), {
    enabled: false,
    restartTime: 60,
    staleTime: 360,
  });
  t.same(parse('').gracefulRestart, { selectionDeferral: 240 }, 'selection deferral 240 s by default');
  t.same(parse('', 'graceful-restart: { selection-deferral: 30 }\n').gracefulRestart, {
    selectionDeferral: 30,
  });
});

t.test('wrong values are refused with their place and the limits', async (t) => {
  t.match(
    refusal('    graceful-restart: { stale-time: 0 }\n'),
    /gr\.yaml:10:\d+: neighbors\[0\]\.graceful-restart\.stale-time: must be between 1 and 86400, got 0/,
  );
  t.match(
    refusal('    graceful-restart: { restart-time: 4096 }\n'),
    /restart-time: must be between 1 and 4095, got 4096/,
  );
  t.match(refusal('    graceful-restart: { stale: 30 }\n'), /unknown key 'stale'/);
  t.match(
    refusal('    graceful-restart: yes please\n'),
    /must be true, false or a mapping \(enabled, restart-time, stale-time\)/,
  );
  t.match(
    refusal('', 'graceful-restart: { selection-deferral: 0 }\n'),
    /gr\.yaml:1:\d+: graceful-restart\.selection-deferral: must be between 1 and 3600, got 0/,
  );
});
