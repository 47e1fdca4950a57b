/**
 * The provisioner (src/provision/provisioner.ts) with the real reload path (daemon/reload.ts
 * Reloader, config/load.ts) on real files, and a daemon stand-in that takes whatever config the
 * reload applies: what `customer add` checks, writes and answers; concurrent adds serialized;
 * a removed customer's key and subnet reused; a refused reload leaves no file and no change.
 * The daemon over the socket, and the lab with a real CPE, are daemon.test.ts and lab.test.ts.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { ConfigDiff } from '../../src/config/diff.js';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { ControlError } from '../../src/control/protocol.js';
import { Reloader } from '../../src/daemon/reload.js';
import { silentLogger } from '../../src/observe/log.js';
import { Provisioner } from '../../src/provision/provisioner.js';
import type { CustomerAddArgs } from '../../src/provision/types.js';

const MAIN = `router-id: 192.0.2.1
local-as: 65000
listen: { address: 127.0.0.1, port: 179 }
include: customers/*.yaml
dataplane: { tun: gredge0 }
underlay: { local: 198.51.100.1, local6: "2001:db8:100::1" }
control: false
own-prefixes: [198.51.100.0/24]
bogons: ["0.0.0.0/0 ge 30", "::/0 ge 49", "10.0.0.0/8 le 32"]
provisioning:
  key-range: 100-102
  inner-pool4: 192.0.2.0/28
  inner-pool6: 2001:db8:ff::/125
  directory: customers
neighbors:
  - { name: hand-made, address: 192.0.2.130, remote-as: 64499, role: customer, prefixes: [203.0.113.128/26] }
`;

interface Setup {
  dir: string;
  main: string;
  customers: string;
  prov: Provisioner;
  reloader: Reloader;
  daemon: { config: Config; applied: number };
}

function setup(t: Test, main = MAIN): Setup {
  const dir = mkdtempSync(join(tmpdir(), 'gredge-prov-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const customers = join(dir, 'customers');
  mkdirSync(customers);
  const mainPath = join(dir, 'gredge.yaml');
  writeFileSync(mainPath, main);
  const daemon = {
    config: loadConfig(mainPath),
    applied: 0,
    async reconfigure(next: Config, _diff: ConfigDiff) {
      // A little time, as a real reconfigure takes: concurrent requests must still queue.
      await new Promise((r) => setTimeout(r, 5));
      daemon.config = next;
      daemon.applied++;
    },
  };
  const reloader = new Reloader({ daemon, path: mainPath, log: silentLogger() });
  const prov = new Provisioner({
    config: () => daemon.config,
    exclusive: (job) => reloader.exclusive(job),
    log: silentLogger(),
  });
  return { dir, main: mainPath, customers, prov, reloader, daemon };
}

const add = (name: string, o: Partial<CustomerAddArgs> = {}): CustomerAddArgs => ({
  name,
  asn: 64501,
  remote: '198.51.100.2',
  prefixes: ['203.0.113.0/27'],
  resale: true,
  ...o,
});

async function refused(t: Test, p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  try {
    await p;
    t.fail(`expected ${code}`);
  } catch (err) {
    t.ok(err instanceof ControlError, 'a ControlError');
    t.equal((err as ControlError).code, code, `code ${code}`);
    t.match((err as Error).message, message);
  }
}

t.test('add: allocates, writes the file atomically, reloads, answers the circuit', async (t) => {
  const s = setup(t);
  const r = await s.prov.add(
    add('cust-a', {
      prefixes: ['203.0.113.0/27 le 28', '2001:DB8:C1::/48', '203.0.113.0/27 le 28'],
      resale: false,
    }),
  );
  t.equal(r.key, 100);
  t.equal(r.remote, '198.51.100.2');
  t.equal(r.local, '198.51.100.1');
  t.equal(r.mtu, 1472);
  t.same(r.inner.v4, { subnet: '192.0.2.0/30', provider: '192.0.2.1', customer: '192.0.2.2', length: 30 });
  t.same(r.inner.v6, {
    subnet: '2001:db8:ff::/127',
    provider: '2001:db8:ff::',
    customer: '2001:db8:ff::1',
    length: 127,
  });
  t.same(r.prefixes, ['203.0.113.0/27 le 28', '2001:db8:c1::/48'], 'canonical, once each');
  t.same(r.diff, ['+ neighbor cust-a', '+ tunnel cust-a']);
  t.equal(r.file, join(s.customers, 'cust-a.yaml'));
  t.equal(statSync(r.file).mode & 0o777, 0o640, 'mode 0640');
  t.same(readdirSync(s.customers), ['cust-a.yaml'], 'no temporary file left');
  const n = s.daemon.config.neighbors.find((x) => x.name === 'cust-a')!;
  t.match(n, {
    address: '192.0.2.2',
    remoteAs: 64501,
    role: 'customer',
    tunnel: 'cust-a',
    resale: false,
    nextHop6: '2001:db8:ff::',
    prefixes: ['203.0.113.0/27 le 28', '2001:db8:c1::/48'],
  });
  t.match(
    s.daemon.config.tunnels.find((x) => x.name === 'cust-a'),
    {
      remote: '198.51.100.2',
      key: 100,
      mtu: 1472,
      inner: { local: '192.0.2.1/30', local6: '2001:db8:ff::/127' },
      allowedSources: ['203.0.113.0/27', '2001:db8:c1::/48'],
    },
  );
  t.equal(s.reloader.status().ok, 1, 'one reload through the normal path');
  t.match(
    r.snippet.text,
    'ip tunnel add gre-cust-a mode gre key 100 local 198.51.100.2 remote 198.51.100.1 ttl 64',
  );
  t.match(readFileSync(r.file, 'utf8'), /^# Customer cust-a, AS 64501: written by gredged/);
  const l = s.prov.list();
  t.same(
    l.customers.map((c) => [c.name, c.key, c.inner4, c.loaded]),
    [['cust-a', 100, '192.0.2.1/30', true]],
  );
  t.same(l.pools, {
    v4: { pool: '192.0.2.0/28', free: '3 /30' },
    v6: { pool: '2001:db8:ff::/125', free: '3 /127' },
  });
});

t.test('keys per remote, pools, exhaustion; removal frees both for reuse', async (t) => {
  const s = setup(t);
  const a = await s.prov.add(add('a'));
  const b = await s.prov.add(add('b', { remote: '198.51.100.3', prefixes: ['203.0.113.32/27'], asn: 64502 }));
  const c = await s.prov.add(add('c', { prefixes: ['203.0.113.64/27'] }));
  t.same([a.key, b.key, c.key], [100, 100, 101], 'the lowest free key for each remote');
  t.same(
    [a.inner.v4.subnet, b.inner.v4.subnet, c.inner.v4.subnet],
    ['192.0.2.0/30', '192.0.2.4/30', '192.0.2.8/30'],
  );
  const d = await s.prov.add(add('d', { prefixes: ['203.0.113.96/27'] }));
  t.equal(d.key, 102);
  const before = s.daemon.config;
  await refused(
    t,
    s.prov.add(add('e', { prefixes: ['203.0.113.160/27'] })),
    'exhausted',
    /key-range 100-102.*198\.51\.100\.2/,
  );
  await refused(
    t,
    s.prov.add(add('e', { remote: '198.51.100.4', prefixes: ['203.0.113.160/27'] })),
    'exhausted',
    /inner-pool4 192\.0\.2\.0\/28 has no free \/30/,
  );
  t.equal(s.daemon.config, before, 'refused adds change nothing');
  t.same(readdirSync(s.customers).sort(), ['a.yaml', 'b.yaml', 'c.yaml', 'd.yaml']);

  const gone = await s.prov.remove('c');
  t.same(gone.diff, ['- neighbor c', '- tunnel c']);
  t.same(readdirSync(s.customers).sort(), ['a.yaml', 'b.yaml', 'd.yaml']);
  t.notOk(
    s.daemon.config.neighbors.some((n) => n.name === 'c'),
    'neighbor gone',
  );
  t.notOk(
    s.daemon.config.tunnels.some((n) => n.name === 'c'),
    'tunnel gone',
  );
  const e = await s.prov.add(add('e', { prefixes: ['203.0.113.160/27'] }));
  t.equal(e.key, 101, 'the removed key is taken again');
  t.equal(e.inner.v4.subnet, '192.0.2.8/30', 'and the removed subnet');
  t.equal(e.inner.v6?.subnet, '2001:db8:ff::4/127');
});

t.test('concurrent adds are serialized: no two get one key or subnet', async (t) => {
  const s = setup(
    t,
    MAIN.replace('key-range: 100-102', 'key-range: 100-199')
      .replace('192.0.2.0/28', '192.0.2.0/26')
      .replace('2001:db8:ff::/125', '2001:db8:ff::/120'),
  );
  const names = ['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7'];
  const results = await Promise.all(
    names.map((name, i) => s.prov.add(add(name, { prefixes: [`203.0.113.${i * 8}/29`] }))),
  );
  t.equal(new Set(results.map((r) => r.key)).size, names.length, 'distinct keys for one remote');
  t.equal(new Set(results.map((r) => r.inner.v4.subnet)).size, names.length, 'distinct /30s');
  t.equal(new Set(results.map((r) => r.inner.v6?.subnet)).size, names.length, 'distinct /127s');
  t.same(
    results.map((r) => r.key).sort((x, y) => x - y),
    [100, 101, 102, 103, 104, 105, 106, 107],
  );
  t.equal(s.daemon.config.neighbors.filter((n) => names.includes(n.name)).length, names.length);
  t.equal(s.reloader.status().ok, names.length, 'one reload each');
  // Concurrent removes and adds: each sees the others' result.
  const mixed = await Promise.allSettled([
    s.prov.remove('c0'),
    s.prov.add(add('d0', { prefixes: ['203.0.113.128/29'], asn: 64499 })), // the hand-made customer's space, same AS
    s.prov.remove('c1'),
    s.prov.add(add('d1', { prefixes: ['203.0.113.136/29'], asn: 64499 })),
  ]);
  t.same(
    mixed.map((m) => m.status),
    ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled'],
  );
  const keys = s.daemon.config.tunnels.map((x) => x.key).sort((x, y) => x - y);
  t.equal(new Set(keys).size, keys.length, 'still one tunnel per key');
});

t.test('bad requests: a clear error, no file, no change', async (t) => {
  const s = setup(t);
  await s.prov.add(add('cust-a'));
  const before = s.daemon.config;
  const cases: Array<[string, CustomerAddArgs, string, RegExp]> = [
    ['our own AS', add('x', { asn: 65000 }), 'bad-args', /AS 65000 is our own \(local-as\)/],
    ['AS_TRANS', add('x', { asn: 23456 }), 'bad-args', /AS_TRANS/],
    [
      'a bogon',
      add('x', { prefixes: ['10.1.0.0/16'] }),
      'bad-args',
      /10\.1\.0\.0\/16 is a bogon \('10\.0\.0\.0\/8 le 32', private use \(RFC 1918\)\)/,
    ],
    [
      'too specific',
      add('x', { prefixes: ['203.0.113.200/30'] }),
      'bad-args',
      /is a bogon \('0\.0\.0\.0\/0 ge 30'\)/,
    ],
    [
      'our space',
      add('x', { prefixes: ['198.51.100.128/25'] }),
      'bad-args',
      /overlaps our own space 198\.51\.100\.0\/24/,
    ],
    [
      'the pool',
      add('x', { prefixes: ['192.0.2.0/24'] }),
      'bad-args',
      /overlaps the inner pool 192\.0\.2\.0\/28/,
    ],
    ['a default route', add('x', { prefixes: ['0.0.0.0/0'] }), 'bad-args', /default route/],
    [
      "another customer's prefix",
      // Rules that can match one prefix (here the /27) conflict; an exact /24 and an exact /27 would not.
      add('x', { asn: 64510, prefixes: ['203.0.113.0/25 le 27'] }),
      'bad-args',
      /203\.0\.113\.0\/25 le 27 overlaps '203\.0\.113\.0\/27' of customer cust-a \(AS 64501\)/,
    ],
    [
      "a hand-made customer's prefix",
      add('x', { asn: 64510, prefixes: ['203.0.113.128/26'] }),
      'bad-args',
      /of customer hand-made \(AS 64499\)/,
    ],
    [
      'a taken name',
      add('cust-a', { prefixes: ['203.0.113.32/27'] }),
      'exists',
      /a neighbor named 'cust-a' is configured/,
    ],
    ['a hand-made name', add('hand-made', { prefixes: ['203.0.113.32/27'] }), 'exists', /named 'hand-made'/],
    ['our underlay', add('x', { remote: '198.51.100.1' }), 'bad-args', /our own underlay address/],
    ['a loopback remote', add('x', { remote: '127.0.0.1' }), 'bad-args', /not a unicast address/],
    ['a multicast remote', add('x', { remote: '239.1.1.1' }), 'bad-args', /not a unicast address/],
  ];
  for (const [what, args, code, msg] of cases) {
    t.comment(what);
    await refused(t, s.prov.add(args), code, msg);
  }
  t.equal(s.daemon.config, before, 'nothing changed');
  t.same(readdirSync(s.customers), ['cust-a.yaml'], 'no file written');

  // A file left in the directory by hand with the name asked for.
  writeFileSync(join(s.customers, 'stray.yaml'), '');
  await refused(
    t,
    s.prov.add(add('stray', { prefixes: ['203.0.113.32/27'] })),
    'exists',
    /stray\.yaml exists already/,
  );
});

t.test('a refused reload: the file is removed (add) or put back (remove), nothing changes', async (t) => {
  const s = setup(t);
  await s.prov.add(add('cust-a'));
  const before = s.daemon.config;
  const good = readFileSync(s.main, 'utf8');
  writeFileSync(s.main, `${good}bogus-key: 1\n`);
  await refused(
    t,
    s.prov.add(add('cust-b', { prefixes: ['203.0.113.32/27'] })),
    'invalid-config',
    /customer cust-b not added \(file removed, nothing changed\): config refused.*bogus-key: unknown key/s,
  );
  t.same(readdirSync(s.customers), ['cust-a.yaml'], 'the new file is gone');
  const text = readFileSync(join(s.customers, 'cust-a.yaml'), 'utf8');
  await refused(t, s.prov.remove('cust-a'), 'invalid-config', /customer cust-a not removed \(file restored/);
  t.equal(readFileSync(join(s.customers, 'cust-a.yaml'), 'utf8'), text, 'the file is back as it was');
  t.equal(s.daemon.config, before, 'the running config is the one before');
  t.equal(s.reloader.status().failed, 2, 'both counted as failed reloads');
  writeFileSync(s.main, good);
  await s.prov.remove('cust-a');
  t.same(readdirSync(s.customers), [], 'removed once the config is valid again');
});

t.test('remove: only provisioned customers', async (t) => {
  const s = setup(t);
  await refused(
    t,
    s.prov.remove('hand-made'),
    'not-found',
    /'hand-made' is not a provisioned customer \(no .*hand-made\.yaml\): it is configured by hand/,
  );
  await refused(t, s.prov.remove('nobody'), 'not-found', /no provisioned customer 'nobody'/);
});

t.test('no provisioning section: unsupported, with what to add', async (t) => {
  const main = MAIN.replace(/provisioning:\n( {2}.*\n)+/, '');
  const s = setup(t, main);
  await refused(t, s.prov.add(add('x')), 'unsupported', /provisioning is not configured/);
  await refused(t, s.prov.remove('x'), 'unsupported', /provisioning is not configured/);
  t.throws(() => s.prov.list(), { code: 'unsupported' });
});
