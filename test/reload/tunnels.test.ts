/**
 * The tunnel part of a reload where old and new tunnels share something: a tunnel renamed (same
 * remote, key, inner address and routes) and a static route moved from a removed tunnel to a
 * kept one. The new owner must end up with the address, the kernel routes (main, and the FIB's
 * 201/202) and the LPM entries; a failure half-way through the data plane's part is undone.
 *
 *  - unit: `heldBack` names exactly the tunnels that must wait for a removal; `applyTunnelDiff`
 *    undoes its own steps when one fails (a fake data plane);
 *  - root: a real gredged in a namespace of its own (a TUN, no CPE: the LPM is seen through the
 *    tunnels' tx counters when the namespace pings into a tunnel's prefix).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test as Tap } from 'tap';
import { ControlClient } from '../../src/control/client.js';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import type { Dataplane } from '../../src/dataplane/dataplane.js';
import { applyTunnelDiff, heldBack } from '../../src/dataplane/from-config.js';
import type { TunnelSpec } from '../../src/dataplane/tunnels.js';
import { Gredged } from '../lab/no-resale/gredged.js';
import { NrLab } from '../lab/no-resale/lab.js';
import { tableRoutes } from '../lab/no-resale/kernel.js';
import { until } from '../lab/no-resale/topo.js';
import { labMissing } from '../lab/topology.js';
import { cannotRun } from '../must-run.js';

const CTL = fileURLToPath(new URL('../../src/control/cli/gredgectl.js', import.meta.url));

interface T {
  name: string;
  remote: string;
  key: number;
  inner: string;
  routes: string[];
}

const T1: T = {
  name: 't1',
  remote: '198.51.100.2',
  key: 1,
  inner: '192.0.2.1/30',
  routes: ['203.0.113.0/28'],
};
const T2: T = {
  name: 't2',
  remote: '198.51.100.3',
  key: 2,
  inner: '192.0.2.5/30',
  routes: ['203.0.113.16/28'],
};
const T3: T = {
  name: 't3',
  remote: '198.51.100.4',
  key: 3,
  inner: '192.0.2.9/30',
  routes: ['203.0.113.32/28'],
};
/** t2 renamed; t3 removed and its route moved to t1. */
const RENAMED: T = { ...T2, name: 't2b' };
const T1_MORE: T = { ...T1, routes: [...T1.routes, ...T3.routes] };

function yaml(tunnels: T[], socket: string | false): string {
  return [
    'router-id: 198.51.100.1',
    'local-as: 65000',
    `control: ${socket === false ? 'false' : `{ socket: ${JSON.stringify(socket)} }`}`,
    'metrics: false',
    'dataplane: { tun: gredge0, workers: 1 }',
    'underlay: { local: "198.51.100.1" }',
    'tunnels:',
    ...tunnels.flatMap((x) => [
      `  - name: ${x.name}`,
      `    remote: "${x.remote}"`,
      `    key: ${x.key}`,
      `    inner: { local: "${x.inner}" }`,
      `    routes: [${x.routes.map((r) => `"${r}"`).join(', ')}]`,
    ]),
    '',
  ].join('\n');
}

/** Loads `tunnels` as a config file (in a directory removed in t's teardown). */
function configs(t: Tap): (tunnels: T[]) => Config {
  const dir = mkdtempSync(join(tmpdir(), 'gredge-reload-tunnels-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  return (tunnels) => {
    const f = join(dir, `c${n++}.yaml`);
    writeFileSync(f, yaml(tunnels, false));
    return loadConfig(f);
  };
}

t.test('heldBack: what must wait for a removal', async (t) => {
  const cfg = configs(t);
  const old = cfg([T1, T2, T3]);
  t.same([...heldBack(old, cfg([T1_MORE, RENAMED]), new Set(['t2', 't3']))].sort(), ['t1', 't2b']);
  t.same([...heldBack(old, cfg([T1, T2]), new Set(['t3']))], [], 'a plain removal holds nothing back');
  const other: T = { name: 't4', remote: '198.51.100.5', key: 4, inner: '192.0.2.13/30', routes: [] };
  t.same([...heldBack(old, cfg([T1, T2, other]), new Set(['t3']))], [], 'nothing shared: not held');
  t.same(
    [...heldBack(old, cfg([T1, T2, { ...other, inner: T3.inner }]), new Set(['t3']))],
    ['t4'],
    "the removed one's inner address",
  );
  t.same(
    [...heldBack(old, cfg([T1, T2, { ...other, remote: T3.remote, key: T3.key }]), new Set(['t3']))],
    ['t4'],
    "the removed one's remote and key",
  );
});

t.test('applyTunnelDiff undoes its own steps when one fails', async (t) => {
  const cfg = configs(t);
  const have = new Map<string, TunnelSpec>();
  const calls: string[] = [];
  const fake = {
    addTunnel(s: TunnelSpec) {
      calls.push(`add ${s.name}`);
      if (s.name === 't5') throw new Error('the kernel said no');
      have.set(s.name, s);
    },
    replaceTunnel(s: TunnelSpec) {
      calls.push(`replace ${s.name}`);
      have.set(s.name, s);
    },
    removeTunnel(n: string) {
      calls.push(`remove ${n}`);
      have.delete(n);
    },
  } as unknown as Dataplane;
  const old = cfg([T1, T2, T3]);
  for (const x of old.tunnels) have.set(x.name, { name: x.name } as TunnelSpec);
  const t4: T = { name: 't4', remote: '198.51.100.5', key: 4, inner: '192.0.2.13/30', routes: [] };
  const t5: T = { name: 't5', remote: '198.51.100.6', key: 5, inner: '192.0.2.17/30', routes: [] };
  t.throws(() => applyTunnelDiff(fake, old, cfg([T1_MORE, T2, t4, t5])), /the kernel said no/);
  t.same([...have.keys()].sort(), ['t1', 't2', 't3'], 'the tunnels of the old config again');
  t.same(have.get('t1')?.routes, T1.routes, "t1's old routes again");
  t.same(calls, ['remove t3', 'replace t1', 'add t4', 'add t5', 'replace t1', 'remove t4', 'add t3']);
});

const missing = labMissing('network namespaces and TUN devices');

if (missing) {
  t.test('a renamed tunnel and a moved route, on a real gredged', async (t) => cannotRun(t, missing));
} else {
  t.test('a renamed tunnel and a moved route, on a real gredged', async (t) => {
    const lab = new NrLab('tun');
    t.teardown(() => lab.destroy());
    await lab.addNs('edge', true);
    // The underlay: one end of a veth pair; the remotes are on no host (their GRE goes nowhere,
    // the tunnels' tx counters count it).
    await lab.ip('edge', 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
    await lab.ip('edge', 'addr', 'add', '198.51.100.1/24', 'dev', 'v0');
    await lab.ip('edge', 'link', 'set', 'v0', 'up');
    await lab.ip('edge', 'link', 'set', 'v1', 'up');
    const socket = join(lab.dir, 'edge.sock');
    const g = new Gredged(lab, 'edge', 'edge', yaml([T1, T2, T3], socket));
    await g.start(60_000);
    t.teardown(() => {
      if (!t.passing())
        t.comment(
          g.logs
            .slice(-40)
            .map((l) => JSON.stringify(l))
            .join('\n'),
        );
    });
    // biome-ignore lint/suspicious/noExplicitAny: answers are checked field by field
    const query = async (cmd: string, args: Record<string, unknown> = {}): Promise<any> => {
      const c = await ControlClient.connect(socket);
      try {
        const r = await c.request(cmd, args);
        if (!r.ok) throw new Error(`${cmd}: ${r.error.message}`);
        return r.result;
      } finally {
        c.close();
      }
    };
    const tx = async (name: string) => (await query('show tunnel', { tunnel: name })).txPackets as number;
    /** Pings into `addr` (a route into the TUN) make `tunnel`'s tx counter move: the LPM sends them there. */
    const lpmSendsTo = async (addr: string, tunnel: string) => {
      const before = await tx(tunnel);
      await lab.exec('edge', ['ping', '-n', '-c', '3', '-i', '0.2', '-W', '1', addr], { allowFail: true });
      return (
        await until(
          () => tx(tunnel),
          (n) => n >= before + 3,
          5000,
        )
      ).ok;
    };
    const fib = async () => [
      ...(await tableRoutes(lab, 'edge', '-4', 201)).map((r) => `201 ${r}`),
      ...(await tableRoutes(lab, 'edge', '-4', 202)).map((r) => `202 ${r}`),
    ];
    const want = (ts: T[]) =>
      ts
        .flatMap((x) => [`192.0.2.${Number(x.inner.split('.')[3]!.split('/')[0]) - 1}/30`, ...x.routes])
        .flatMap((p) => [`201 ${p} dev gredge0`, `202 ${p} dev gredge0`])
        .sort();

    const k0 = await until(fib, (f) => f.join() === want([T1, T2, T3]).join(), 10_000);
    t.same(k0.value, want([T1, T2, T3]), 'at start: every inner subnet and route in 201 and 202');
    t.ok(await lpmSendsTo('203.0.113.33', 't3'), "at start: t3's route goes into t3");

    writeFileSync(g.config, yaml([T1_MORE, RENAMED], socket));
    const r = await new Promise<{ code: number; out: string }>((resolve) =>
      execFile(process.execPath, [CTL, '--socket', socket, 'reload'], (err, stdout, stderr) =>
        resolve({ code: err ? Number(err.code ?? 99) : 0, out: `${stdout}${stderr}` }),
      ),
    );
    t.equal(r.code, 0, `reload: ${r.out}`);
    t.same(
      ((await query('show tunnels')).tunnels as { name: string }[]).map((x) => x.name),
      ['t1', 't2b'],
      'show tunnels: t1 and the renamed t2b',
    );
    const addrs = await lab.ip('edge', '-4', 'addr', 'show', 'dev', 'gredge0');
    t.match(addrs, '192.0.2.5/30', "the TUN keeps the renamed tunnel's inner address");
    t.notMatch(addrs, '192.0.2.9/', "t3's inner address is gone");
    const main = await lab.ip('edge', '-4', 'route', 'show', 'table', 'main', 'dev', 'gredge0');
    for (const p of ['192.0.2.4/30', '203.0.113.16/28', '203.0.113.32/28', '203.0.113.0/28'])
      t.match(main, p, `main: ${p} into the TUN`);
    t.notMatch(main, '192.0.2.8/30', "main: t3's inner subnet is gone");
    const k1 = await until(fib, (f) => f.join() === want([T1_MORE, RENAMED]).join(), 10_000);
    t.same(k1.value, want([T1_MORE, RENAMED]), '201 and 202: the moved route stays, t3 subnet gone');
    t.ok(await lpmSendsTo('203.0.113.33', 't1'), 'the moved route goes into t1');
    t.ok(await lpmSendsTo('203.0.113.17', 't2b'), "t2's route goes into the renamed tunnel");
    t.ok(await lpmSendsTo('192.0.2.6', 't2b'), "t2's inner subnet goes into the renamed tunnel");
    t.equal((await query('status')).reload.failed, 0, 'no failed reload');
  });
}
