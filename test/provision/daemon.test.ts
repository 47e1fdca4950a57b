/**
 * `gredgectl customer add / remove / list` against the real gredged (in a namespace of its own,
 * with its data plane: tunnels need a TUN), over the control socket: the file written (mode
 * 0640, what the reload loaded), the reload counted, the running config (`show neighbors`,
 * `show tunnel`) and the kernel (the inner addresses on the TUN, the inner subnets' routes);
 * bad requests refused with their exit code and message and nothing changed; exhaustion; a
 * removal leaving nothing behind and its key and subnet reused; concurrent adds; a customer
 * configured by hand refused. lab.test.ts applies the snippet on a real CPE.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { cannotRun } from '../must-run.js';
import { labMissing } from '../lab/topology.js';
import { ProvEdge } from './harness.js';

const missing = labMissing('a network namespace and a TUN device for gredged');

const names = (r: { neighbors?: Array<{ name: string }>; tunnels?: Array<{ name: string }> }) =>
  (r.neighbors ?? r.tunnels ?? []).map((x) => x.name).sort();

if (missing) {
  cannotRun(t, missing);
} else {
  t.test('customer add, list and remove over the control socket', async (t) => {
    const edge = await ProvEdge.create('pd', []);
    t.teardown(() => edge.destroy());

    t.match(await edge.get('customer list'), { customers: [], pools: { v4: { free: '4 /30' } } });

    // ---- add, --json
    const a = await edge.json([
      'customer',
      'add',
      'cust-a',
      '--asn',
      '64501',
      '--remote',
      '198.51.100.2',
      '--prefix',
      '203.0.113.0/25 le 26',
      '--prefix',
      '2001:db8:c1::/48',
    ]);
    t.match(a, {
      name: 'cust-a',
      asn: 64501,
      localAs: 65000,
      remote: '198.51.100.2',
      local: '198.51.100.254',
      key: 1000,
      mtu: 1472,
      inner: {
        v4: { subnet: '192.0.2.0/30', provider: '192.0.2.1', customer: '192.0.2.2' },
        v6: { subnet: '2001:db8:ff::/127', provider: '2001:db8:ff::', customer: '2001:db8:ff::1' },
      },
      prefixes: ['203.0.113.0/25 le 26', '2001:db8:c1::/48'],
      resale: true,
      role: 'customer',
      interface: 'gre-cust-a',
      diff: ['+ neighbor cust-a', '+ tunnel cust-a'],
      file: join(edge.customers, 'cust-a.yaml'),
    });
    t.equal(
      a.snippet.iproute2[0],
      'ip tunnel add gre-cust-a mode gre key 1000 local 198.51.100.2 remote 198.51.100.254 ttl 64',
    );
    t.equal(statSync(a.file).mode & 0o777, 0o640, 'the file is 0640');
    t.same(readdirSync(edge.customers), ['cust-a.yaml'], 'one file, no temporary left');
    t.match(readFileSync(a.file, 'utf8'), /key: 1000\n/);
    t.same(names(await edge.get('show neighbors')), ['cust-a', 'hand-made']);
    t.match(await edge.get('show neighbor', { neighbor: 'cust-a' }), {
      address: '192.0.2.2',
      remoteAs: 64501,
      role: 'customer',
      tunnel: 'cust-a',
    });
    t.match(await edge.get('show tunnel', { tunnel: 'cust-a' }), {
      remote: '198.51.100.2',
      key: 1000,
      mtu: 1472,
      inner: { local: '192.0.2.1/30', local6: '2001:db8:ff::/127' },
      allowedSources: ['203.0.113.0/25', '2001:db8:c1::/48'],
      neighbors: ['cust-a'],
    });
    t.match(await edge.get('status'), { reload: { ok: 1, failed: 0 } }, 'through the reload path');
    t.match(
      await edge.ip('addr', 'show', 'dev', 'gredge0'),
      /inet 192\.0\.2\.1\/30/,
      'inner address on the TUN',
    );
    t.match(await edge.ip('-6', 'addr', 'show', 'dev', 'gredge0'), /inet6 2001:db8:ff::\/127/);
    t.match(await edge.ip('route', 'show', '192.0.2.0/30'), /dev gredge0.*mtu 1472/, 'inner subnet route');

    // ---- add, human: the snippet to paste; another remote starts at the bottom of the range
    const b = await edge.ctl([
      'customer',
      'add',
      'cust-b',
      '--asn',
      '64502',
      '--remote',
      '198.51.100.3',
      '--prefix',
      '203.0.113.128/25',
      '--no-resale',
    ]);
    t.equal(b.code, 0, b.stderr);
    t.match(b.stdout, /^# gredge circuit 'cust-b': AS64502 \(you\) to AS65000 \(us\)/);
    t.match(
      b.stdout,
      /\nip tunnel add gre-cust-b mode gre key 1000 local 198\.51\.100\.3 remote 198\.51\.100\.254 ttl 64\n/,
    );
    t.match(b.stdout, /\nip address add 192\.0\.2\.6\/30 dev gre-cust-b\n/);
    t.match(b.stdout, /\n {2}neighbor 192\.0\.2\.5 as 65000;\n/);
    t.match(b.stdout, /# {3}prefixes 203\.0\.113\.128\/25; no resale/);
    t.match(await edge.get('show neighbor', { neighbor: 'cust-b' }), { address: '192.0.2.6' });

    // ---- refused requests: exit 1 (the daemon's answer) or 2 (usage), nothing changes
    const before = await edge.get('status');
    // The daemon's refusals, over the socket (the CLI's exit 1 for them is checked once below).
    const base = { name: 'cust-x', asn: 64503, remote: '198.51.100.4' };
    const refusals: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ asn: 65000, prefixes: ['203.0.113.0/29'] }, 'bad-args', /AS 65000 is our own/],
      [{ prefixes: ['10.0.0.0/8'] }, 'bad-args', /10\.0\.0\.0\/8 is a bogon \('10\.0\.0\.0\/8 le 32'/],
      [{ prefixes: ['198.51.100.0/25'] }, 'bad-args', /overlaps our own space 198\.51\.100\.0\/24/],
      [
        { prefixes: ['203.0.113.0/24 le 26'] },
        'bad-args',
        /overlaps '203\.0\.113\.0\/25 le 26' of customer cust-a \(AS 64501\)/,
      ],
      [{ prefixes: ['203.0.113.0/25 ge 26'] }, 'bad-args', /overlaps '203\.0\.113\.0\/25 le 26'/],
      [{ prefixes: ['2001:db8:ff::/48'] }, 'bad-args', /overlaps the inner pool 2001:db8:ff::\/64/],
      [{ remote: '198.51.100.254', prefixes: ['203.0.113.0/29'] }, 'bad-args', /our own underlay address/],
      [{ name: 'cust-a', prefixes: ['203.0.113.0/29'] }, 'exists', /a neighbor named 'cust-a' is configured/],
      [{ name: 'hand-made', prefixes: ['203.0.113.0/29'] }, 'exists', /named 'hand-made'/],
      [{ prefixes: [] }, 'bad-args', /prefixes must be a list of 1 to 64 prefixes/],
      [{ prefixes: ['203.0.113.0/24'], resale: 'no' }, 'bad-args', /resale must be true or false/],
      [{ prefixes: ['203.0.113.0/24'], name: '../etc/passwd' }, 'bad-args', /name must be a name of letters/],
    ];
    for (const [args, code, msg] of refusals) {
      const r = await edge.req('customer add', { ...base, ...args });
      t.match(r, { ok: false, error: { code, message: msg } }, `${code}: ${JSON.stringify(args)}`);
    }
    // Usage errors: found by gredgectl itself (exit 2), nothing sent.
    const usage: Array<[string[], RegExp]> = [
      [['--remote', '198.51.100.4', '--prefix', '203.0.113.0/27'], /--asn N is required/],
      [['--asn', '64503', '--remote', '198.51.100.4'], /at least one --prefix/],
      [['--asn', '64503', '--remote', '198.51.100.4', '--prefix', '203.0.113.1/24'], /host bits/],
      [
        ['--asn', '64503', '--remote', 'cpe.example', '--prefix', '203.0.113.0/27'],
        /remote must be an IPv4 or IPv6 address/,
      ],
    ];
    for (const [args, msg] of usage) {
      const r = await edge.ctl(['customer', 'add', 'cust-x', ...args]);
      t.equal(r.code, 2, `exit 2: ${args.join(' ')}`);
      t.match(r.stderr, msg);
    }
    const dup = await edge.ctl([
      'customer',
      'add',
      'cust-a',
      '--asn',
      '64501',
      '--remote',
      '198.51.100.2',
      '--prefix',
      '203.0.113.0/26',
      '--json',
    ]);
    t.equal(dup.code, 1);
    t.match(JSON.parse(dup.stdout), { error: { code: 'exists' } });
    t.same(readdirSync(edge.customers).sort(), ['cust-a.yaml', 'cust-b.yaml'], 'no file from a refused add');
    t.match(await edge.get('status'), { reload: { ok: before.reload.ok, failed: 0 } }, 'no reload ran');

    // ---- the pool's last two /30s, then exhaustion
    for (const [n, p] of [
      ['cust-c', '2001:db8:c3::/48'],
      ['cust-d', '2001:db8:c4::/48'],
    ] as const) {
      const r = await edge.ctl([
        'customer',
        'add',
        n,
        '--asn',
        '64503',
        '--remote',
        '198.51.100.2',
        '--prefix',
        p,
      ]);
      t.equal(r.code, 0, `${n}: ${r.stderr}`);
    }
    const full = await edge.ctl([
      'customer',
      'add',
      'cust-e',
      '--asn',
      '64504',
      '--remote',
      '198.51.100.9',
      '--prefix',
      '2001:db8:c5::/48',
      '--json',
    ]);
    t.equal(full.code, 1, 'pool exhausted: exit 1');
    t.match(JSON.parse(full.stdout), {
      error: { code: 'exhausted', message: /inner-pool4 192\.0\.2\.0\/28 has no free \/30/ },
    });
    const list = await edge.get('customer list');
    t.same(
      list.customers.map((c: { name: string; key: number; inner4: string }) => [c.name, c.key, c.inner4]),
      [
        ['cust-a', 1000, '192.0.2.1/30'],
        ['cust-b', 1000, '192.0.2.5/30'],
        ['cust-c', 1001, '192.0.2.9/30'],
        ['cust-d', 1002, '192.0.2.13/30'],
      ],
      'keys per remote, subnets in order',
    );
    t.equal(list.pools.v4.free, '0 /30');
    const human = await edge.ctl(['customer', 'list']);
    t.match(human.stdout, /cust-c\s+64503\s+198\.51\.100\.2\s+1001\s+192\.0\.2\.9\/30/);

    // ---- remove: refused for a hand-made neighbor; then a provisioned one, leaving nothing
    const hand = await edge.ctl(['customer', 'remove', 'hand-made']);
    t.equal(hand.code, 1);
    t.match(hand.stderr, /'hand-made' is not a provisioned customer/);
    const rm = await edge.ctl(['customer', 'remove', 'cust-b']);
    t.equal(rm.code, 0, rm.stderr);
    t.match(rm.stdout, /customer cust-b removed.*\n {2}- neighbor cust-b\n {2}- tunnel cust-b/);
    t.notOk(existsSync(join(edge.customers, 'cust-b.yaml')), 'file gone');
    t.same(names(await edge.get('show neighbors')), ['cust-a', 'cust-c', 'cust-d', 'hand-made']);
    t.same(names(await edge.get('show tunnels')), ['cust-a', 'cust-c', 'cust-d']);
    t.notMatch(await edge.ip('addr', 'show', 'dev', 'gredge0'), /192\.0\.2\.5\//, 'its inner address gone');
    t.equal((await edge.ip('route', 'show', '192.0.2.4/30')).trim(), '', 'its inner route gone');
    const again = await edge.ctl(['customer', 'remove', 'cust-b']);
    t.equal(again.code, 1);
    t.match(again.stderr, /no provisioned customer 'cust-b'/);

    // ---- concurrent adds after removals: serialized, freed key and subnets reused, none twice
    t.equal((await edge.ctl(['customer', 'remove', 'cust-c'])).code, 0);
    const two = await Promise.all(
      ['cust-f', 'cust-g'].map((n, i) =>
        edge.json([
          'customer',
          'add',
          n,
          '--asn',
          `6451${i}`,
          '--remote',
          '198.51.100.3',
          '--prefix',
          `2001:db8:d${i}::/48`,
        ]),
      ),
    );
    t.same(two.map((r) => r.key).sort(), [1000, 1001], 'distinct keys for one remote');
    t.same(
      two.map((r) => r.inner.v4.subnet).sort(),
      ['192.0.2.4/30', '192.0.2.8/30'],
      'the freed /30s, once each',
    );
    t.equal(new Set(two.map((r) => r.inner.v6.subnet)).size, 2);
    t.match(await edge.get('status'), { reload: { failed: 0 }, neighbors: { configured: 5 } });
    t.ok(edge.gredged.running, 'gredged kept running throughout');
  });
}
