/**
 * The incremental load checks a changed entry against only the entries it could meet
 * (checks.ts `related`), relying on the previous config having passed every check. Each edit
 * here makes a changed entry collide with an unchanged one in one way the checks between
 * entries know; the incremental load must refuse every one of them (the full load then gives
 * the message), and accept exactly what the full load accepts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import {
  type NeighborReading,
  readingJson,
  readingOf,
  readNeighbor,
  readTunnel,
  type TunnelReading,
} from '../../src/config/checks.js';
import { decodeMemo, encodeMemo, loadIncremental, memoOfFull } from '../../src/config/incremental.js';
import { loadConfig, type TracedFile } from '../../src/config/load.js';
import { resolveReuse } from '../../src/config/reuse.js';

const N = 40;

interface Edit {
  tunnel?: (i: number) => string | undefined;
  neighbor?: (i: number) => string | undefined;
  head?: string;
}

const tunnel = (i: number) =>
  `  - { name: t${i}, remote: 198.51.100.${i + 2}, key: ${i + 1}, inner: { local6: "2001:db8:1::${(2 * i).toString(16)}/127" } }\n`;
const neighbor = (i: number) =>
  `  - { name: c${i}, address: "2001:db8:1::${(2 * i + 1).toString(16)}", remote-as: ${4_200_000_000 + i}, role: customer, tunnel: t${i}, prefixes: ["2001:db8:${(0x8000 + i).toString(16)}::/48 le 64"] }\n`;

function text(e: Edit = {}): string {
  let s = `router-id: 192.0.2.1\nlocal-as: 65000\n${e.head ?? ''}underlay: { local: 192.0.2.1 }\nfib: { kernel: false }\ntunnels:\n`;
  for (let i = 0; i < N; i++) s += e.tunnel?.(i) ?? tunnel(i);
  s += 'neighbors:\n';
  for (let i = 0; i < N; i++) s += e.neighbor?.(i) ?? neighbor(i);
  return s;
}

const at =
  (k: number, line: string | ((i: number) => string)) =>
  (i: number): string | undefined =>
    i === k ? (typeof line === 'string' ? line : line(i)) : undefined;

const collisions: Array<[string, Edit]> = [
  ['a tunnel renamed to an unchanged one', { tunnel: at(5, (i) => tunnel(i).replace('t5,', 't9,')) }],
  [
    'a tunnel given the remote and key of an unchanged one',
    { tunnel: at(5, (i) => tunnel(i).replace('198.51.100.7, key: 6', '198.51.100.11, key: 10')) },
  ],
  [
    "a tunnel's inner subnet grown over unchanged ones",
    { tunnel: at(5, (i) => tunnel(i).replace('2001:db8:1::a/127', '2001:db8:1::a/64')) },
  ],
  ['a neighbor renamed to an unchanged one', { neighbor: at(5, (i) => neighbor(i).replace('c5,', 'c9,')) }],
  [
    "a neighbor given an unchanged one's address",
    {
      neighbor: at(5, (i) =>
        neighbor(i).replace('"2001:db8:1::b"', '"2001:db8:1::13"').replace(' tunnel: t5,', ''),
      ),
    },
  ],
  [
    "a customer claiming an unchanged customer's prefix",
    { neighbor: at(5, (i) => neighbor(i).replace('le 64"]', 'le 64", "2001:db8:8009::/56"]')) },
  ],
  ['a tunnel removed that an unchanged neighbor names', { tunnel: at(5, () => '') }],
  [
    "a tunnel's inner subnet moved away from its unchanged neighbor",
    { tunnel: at(9, (i) => tunnel(i).replace('2001:db8:1::12/127', '2001:db8:1::100/127')) },
  ],
  [
    'a neighbor moved into a tunnel an unchanged neighbor is in',
    { neighbor: at(5, (i) => neighbor(i).replace('tunnel: t5', 'tunnel: t9')) },
  ],
  [
    'a head change with a collision',
    { head: 'log: { level: debug }\n', neighbor: at(5, (i) => neighbor(i).replace('c5,', 'c9,')) },
  ],
  [
    'many entries changed, one colliding',
    {
      tunnel: (i) => (i < 30 ? tunnel(i).replace(' }\n', ', mtu: 1400 }\n') : undefined),
      neighbor: at(5, (i) => neighbor(i).replace('c5,', 'c9,')),
    },
  ],
];

const accepted: Array<[string, Edit]> = [
  [
    'a customer given one more prefix of its own',
    { neighbor: at(5, (i) => neighbor(i).replace('le 64"]', 'le 64", "2001:db8:4005::/48"]')) },
  ],
  ['a tunnel moved', { tunnel: at(5, (i) => tunnel(i).replace('198.51.100.7', '203.0.113.7')) }],
  ['a head change', { head: 'log: { level: debug }\n' }],
  [
    'a customer added',
    {
      neighbor: at(
        N - 1,
        (i) =>
          `${neighbor(i)}  - { name: new, address: "2001:db8:2::1", remote-as: 65010, role: customer, prefixes: ["2001:db8:7000::/48"] }\n`,
      ),
    },
  ],
  ['a tunnel and its neighbor removed', { tunnel: at(7, () => ''), neighbor: at(7, () => '') }],
];

function setup(t: Test) {
  const dir = mkdtempSync(join(tmpdir(), 'gredge-reload-fast-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'gredge.yaml');
  writeFileSync(path, text());
  const trace: TracedFile[] = [];
  const config = loadConfig(path, { trace });
  return { path, config, memo: memoOfFull(trace) };
}

t.test(
  'a changed entry colliding with an unchanged one is refused, as the full load refuses it',
  async (t) => {
    const base = setup(t);
    for (const [what, edit] of collisions) {
      writeFileSync(base.path, text(edit));
      t.throws(() => loadConfig(base.path), `${what}: the full load refuses it`);
      t.equal(loadIncremental(base.path, base.memo), undefined, `${what}: refused`);
      t.equal(
        loadIncremental(base.path, decodeMemo(encodeMemo(base.memo))!),
        undefined,
        `${what}: refused (memo through its bytes)`,
      );
    }
  },
);

t.test('what the full load accepts is accepted, the same config', async (t) => {
  const base = setup(t);
  for (const [what, edit] of accepted) {
    writeFileSync(base.path, text(edit));
    const want = loadConfig(base.path);
    const inc = loadIncremental(base.path, decodeMemo(encodeMemo(base.memo))!);
    if (!inc) {
      t.fail(`${what}: not incremental`);
      continue;
    }
    const kept = [...inc.reuse.neighbors, ...inc.reuse.tunnels].filter((x) => x >= 0).length;
    t.ok(kept >= 2 * N - 4, `${what}: unchanged entries kept (${kept})`);
    const got = resolveReuse(inc.config, inc.reuse, base.config);
    t.same(JSON.parse(JSON.stringify(got)), JSON.parse(JSON.stringify(want)), `${what}: same config`);
    // The memo of the incremental load (its keys partly copied from the first) serves the
    // next one: every collision is refused there too.
    for (const [collision, c] of collisions) {
      writeFileSync(
        base.path,
        text({
          head: c.head ?? edit.head,
          tunnel: (i) => c.tunnel?.(i) ?? edit.tunnel?.(i),
          neighbor: (i) => c.neighbor?.(i) ?? edit.neighbor?.(i),
        }),
      );
      t.throws(() => loadConfig(base.path), `${what}, then ${collision}: the full load refuses it`);
      t.equal(loadIncremental(base.path, inc.memo), undefined, `${what}, then ${collision}: refused`);
    }
  }
});

t.test('readings go through their JSON unchanged', async (t) => {
  const tunnels: unknown[] = [
    {
      name: 't1',
      remote: '198.51.100.2',
      key: 1,
      inner: { local: '10.0.0.1/30', local6: '2001:db8::1/127' },
    },
    { name: 't2', remote: '2001:db8::2', key: 7, local: '2001:db8::9', keepalive: {} },
    { name: 'bad name!', remote: 'nope', key: -1, inner: { local: 'x' }, local: 'y' },
    { name: 't3', remote: '198.51.100.3', key: 2 },
    'not a mapping',
  ];
  const neighbors: unknown[] = [
    {
      name: 'c1',
      address: '2001:db8::1',
      'remote-as': 65001,
      role: 'customer',
      tunnel: 't1',
      'role-strict': true,
      resale: false,
      prefixes: ['2001:db8:8000::/48 le 64', '198.18.0.0/24', '::/0 le 8', '10.0.0.0/8 ge 9 le 24', 'junk'],
    },
    {
      name: 'c2',
      address: '192.0.2.9',
      'remote-as': 65000,
      role: 'internal',
      'no-resale': true,
      'role-strict': false,
    },
    {
      name: 'c3',
      address: '192.0.2.10',
      'remote-as': 65003,
      role: 'customer',
      prefixes: ['  10.1.0.0/16   le 24 '],
    },
    { name: 'c4', address: 1, role: 'boss', tunnel: 5, prefixes: 'nope' },
    null,
  ];
  for (const raw of tunnels) {
    const r = readTunnel(raw);
    t.same(readingOf('tunnels', JSON.parse(readingJson('tunnels', r)!)), r, `tunnel ${JSON.stringify(raw)}`);
  }
  for (const raw of neighbors) {
    const r = readNeighbor(raw);
    const back = readingOf('neighbors', JSON.parse(readingJson('neighbors', r)!)) as NeighborReading;
    t.same(back, r, `neighbor ${JSON.stringify(raw)}`);
    for (const [k, rule] of back.prefixes ?? []) {
      const want = r.prefixes!.find((p) => p[0] === k)![1];
      t.same([...rule.net6], [...want.net6], `rule ${rule.text}: its IPv6 network bytes`);
    }
  }
  const minus: TunnelReading = { rec: true, name: 't', key: -0 };
  t.equal(readingJson('tunnels', minus), undefined, 'a reading JSON would not give back is not memoized');
});
