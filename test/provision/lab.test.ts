/**
 * Issue 10, done-means 4: `gredgectl customer add`, then the printed snippet applied on a CPE
 * namespace: the circuit and the BGP session come up and the customer's prefix is reachable from
 * the provider's internal side; `customer remove` leaves no tunnel, route, neighbor or file.
 *
 *   int (198.51.100.10) ══ edge (gredged, AS 65000, provisioning) ══underlay══ cpe (AS 64501)
 *                                                                              gredged tunnel-only
 *                                                                              + BIRD 2 (the snippet)
 *
 * What is pasted and what is translated, honestly: this kernel has no GRE module, so the
 * snippet's iproute2 part cannot make the CPE's tunnel. Instead (1) the printed commands are
 * parsed with a strict grammar of exactly the five lines an operator pastes, and the key,
 * addresses, MTU and underlay ends are compared with what the daemon allocated; (2) they are run
 * verbatim in a scratch namespace: the `ip tunnel add` line is accepted by iproute2 and refused
 * only by the kernel ("No such device", exit 1, where a syntax error exits 255), and the other
 * four are run on a veth given the tunnel's name and must take effect; (3) the CPE's GRE end is
 * gredge's own data plane in tunnel-only mode, configured with the parsed key, ends, MTU and
 * inner addresses (its static route to the internal subnet stands for a BIRD kernel protocol).
 * The BIRD part is pasted verbatim into the CPE's bird.conf, after the lines the snippet says
 * bird.conf must already have (`protocol device`, and the customer's routes: a static protocol).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { cannotRun } from '../must-run.js';
import { Gredged } from '../lab/no-resale/gredged.js';
import { labMissing } from '../lab/topology.js';
import { EDGE_UNDERLAY, ProvEdge, until } from './harness.js';

const missing = labMissing('network namespaces, veths and TUN devices', { bird: 'bird2', birdc: 'bird2' });

const CPE_UNDER = '198.51.100.2';
const EDGE_LINK = '198.51.100.1';
const INT = { edge: '198.51.100.9', addr: '198.51.100.10', net: '198.51.100.8/30' };
const HOST = '203.0.113.1';
const PREFIX4 = '203.0.113.0/24';
const PREFIX6 = '2001:db8:c1::/48';

export interface ParsedIproute2 {
  dev: string;
  key: number;
  local: string;
  remote: string;
  mtu: number;
  addr4: string;
  addr6?: string;
}

/** The iproute2 lines of the printed text, read with the grammar of exactly what is pasted. */
export function parseIproute2(lines: string[]): ParsedIproute2 | string {
  const ip4 = '(\\d+\\.\\d+\\.\\d+\\.\\d+)';
  const dev = '([A-Za-z0-9_.-]{1,15})';
  const res = [
    new RegExp(`^ip tunnel add ${dev} mode gre key (\\d+) local ${ip4} remote ${ip4} ttl 64$`),
    new RegExp(`^ip link set ${dev} mtu (\\d+)$`),
    new RegExp(`^ip address add ${ip4}/30 dev ${dev}$`),
    /^ip -6 address add ([0-9a-f:]+)\/127 dev ([A-Za-z0-9_.-]{1,15})$/,
    new RegExp(`^ip link set ${dev} up$`),
  ];
  if (lines.length !== res.length)
    return `expected ${res.length} commands, got ${lines.length}: ${lines.join(' | ')}`;
  const m = lines.map((l, i) => res[i]!.exec(l));
  const bad = m.indexOf(null);
  if (bad >= 0) return `line ${bad + 1} is not what it should be: ${lines[bad]}`;
  const [tun, mtu, a4, a6, up] = m as RegExpExecArray[];
  const d = tun![1]!;
  if (mtu![1] !== d || a4![2] !== d || a6![2] !== d || up![1] !== d)
    return 'the commands name different devices';
  return {
    dev: d,
    key: Number(tun![2]),
    local: tun![3]!,
    remote: tun![4]!,
    mtu: Number(mtu![2]),
    addr4: a4![1]!,
    addr6: a6![1]!,
  };
}

if (missing) {
  cannotRun(t, missing);
} else {
  t.test(
    'customer add → the snippet on a CPE → session, reachability; customer remove → nothing left',
    async (t) => {
      const edge = await ProvEdge.create('pl', ['cpe', 'int', 'scratch'], async (lab) => {
        await lab.link({
          a: 'edge',
          ifA: 'u0',
          addrA: [`${EDGE_LINK}/30`],
          b: 'cpe',
          ifB: 'e0',
          addrB: [`${CPE_UNDER}/30`],
        });
        await lab.ip('cpe', 'route', 'add', `${EDGE_UNDERLAY}/32`, 'via', EDGE_LINK);
        await lab.ip('cpe', 'addr', 'add', `${HOST}/32`, 'dev', 'lo');
        await lab.link({
          a: 'edge',
          ifA: 'i0',
          addrA: [`${INT.edge}/30`],
          b: 'int',
          ifB: 'e1',
          addrB: [`${INT.addr}/30`],
        });
        await lab.ip('int', 'route', 'add', 'default', 'via', INT.edge);
      });
      t.teardown(() => edge.destroy());
      const lab = edge.lab;

      // ---- 1. one command
      const add = await edge.ctl([
        'customer',
        'add',
        'cust-a',
        '--asn',
        '64501',
        '--remote',
        CPE_UNDER,
        '--prefix',
        PREFIX4,
        '--prefix',
        PREFIX6,
      ]);
      t.equal(add.code, 0, `customer add exits 0 ${add.stderr}`);
      const text = add.stdout;
      const data = (await edge.get('customer list')).customers[0];
      t.match(data, {
        name: 'cust-a',
        key: 1000,
        remote: CPE_UNDER,
        inner4: '192.0.2.1/30',
        inner6: '2001:db8:ff::/127',
      });

      // ---- 2. the iproute2 part: exactly the commands to paste, with the allocated values
      const lines = text.split('\n').filter((l) => l.startsWith('ip '));
      const ip = parseIproute2(lines);
      if (typeof ip === 'string') {
        t.fail(ip, { text });
        return;
      }
      t.same(
        ip,
        {
          dev: 'gre-cust-a',
          key: data.key,
          local: CPE_UNDER,
          remote: EDGE_UNDERLAY,
          mtu: 1472,
          addr4: '192.0.2.2',
          addr6: '2001:db8:ff::1',
        },
        'key, underlay ends, MTU and inner addresses are what the daemon configured',
      );
      // Verbatim through iproute2 in a scratch namespace.
      const scratch = lab.ns('scratch');
      const run = (line: string) => lab.exec('scratch', line.split(' '), { allowFail: true });
      const tun = await run(lines[0]!);
      t.equal(
        tun.code,
        1,
        `iproute2 accepts the tunnel command; only the kernel refuses (no GRE here): ${tun.stderr.trim()}`,
      );
      t.match(tun.stderr, /No such device/);
      await lab.exec('scratch', ['ip', 'link', 'add', ip.dev, 'type', 'veth', 'peer', 'name', 'x0']);
      for (const line of lines.slice(1)) {
        const r = await run(line);
        t.equal(r.code, 0, `${line} (in ${scratch}) ${r.stderr}`);
      }
      const shown = await lab.ip('scratch', 'addr', 'show', 'dev', ip.dev);
      t.match(shown, /mtu 1472 .*state/, 'MTU applied');
      t.match(shown, /inet 192\.0\.2\.2\/30 /);
      t.match(shown, /inet6 2001:db8:ff::1\/127 /);

      // ---- 3. the CPE: gredge's data plane as the GRE end (translated), BIRD with the pasted block
      const cpeGredged = new Gredged(
        lab,
        'cpe',
        'cpe',
        [
          '# the CPE end of the circuit, translated from the iproute2 part of the snippet',
          `router-id: ${ip.local}`,
          'local-as: 64501',
          'log: { level: info }',
          'dataplane: { tun: gredge0, workers: 1 }',
          'fib: false',
          'control: false',
          `underlay: { local: ${JSON.stringify(ip.local)} }`,
          'tunnels:',
          '  - name: to-edge',
          `    remote: ${JSON.stringify(ip.remote)}`,
          `    key: ${ip.key}`,
          `    mtu: ${ip.mtu}`,
          `    inner: { local: ${JSON.stringify(`${ip.addr4}/30`)}, local6: ${JSON.stringify(`${ip.addr6}/127`)} }`,
          '    allowed-sources: ["0.0.0.0/0", "::/0"]',
          // BIRD has no kernel protocol here: the return path to the internal side is a static route.
          `    routes: [${JSON.stringify(INT.net)}]`,
          '',
        ].join('\n'),
      );
      await cpeGredged.start();
      const birdStart = text.indexOf('\nprotocol bgp ');
      const birdEnd = text.indexOf('\n}\n', birdStart);
      t.ok(birdStart > 0 && birdEnd > birdStart, 'the BIRD block is in the text');
      const pasted = text.slice(birdStart + 1, birdEnd + 2);
      const birdDir = join(lab.dir, 'bird-cpe');
      mkdirSync(birdDir);
      const ctl = join(birdDir, 'bird.ctl');
      writeFileSync(
        join(birdDir, 'bird.conf'),
        [
          `router id ${ip.local};`,
          `log "${join(birdDir, 'bird.log')}" all;`,
          'protocol device { scan time 1; }',
          `protocol static { ipv4; route ${PREFIX4} blackhole; }`,
          `protocol static { ipv6; route ${PREFIX6} blackhole; }`,
          '# pasted from `gredgectl customer add`:',
          pasted,
        ].join('\n'),
      );
      lab.spawn('cpe', 'bird-cpe', [
        'bird',
        '-f',
        '-c',
        join(birdDir, 'bird.conf'),
        '-s',
        ctl,
        '-P',
        join(birdDir, 'bird.pid'),
      ]);
      const birdc = async (...args: string[]) =>
        (await lab.exec('cpe', ['birdc', '-s', ctl, ...args], { allowFail: true })).stdout;

      // ---- 4. the circuit and the session come up; the prefix is reachable from the inside
      const est = await until(
        () => edge.get('show neighbor', { neighbor: 'cust-a' }),
        (n) => n.state === 'Established',
        30_000,
      );
      t.ok(est.ok, `session Established on the edge (${est.value.state}, ${est.value.lastError})`);
      const birdState = await until(
        () => birdc('show', 'protocols', 'all', 'gredge_cust_a'),
        (s) => /BGP state:\s+Established/.test(s),
        10_000,
      );
      t.ok(birdState.ok, 'and in BIRD on the CPE');
      t.match(
        await edge.get('show neighbor', { neighbor: 'cust-a' }),
        { session: { capabilities: { role: 'customer' } } },
        'the pasted `local role customer` is what BIRD announced (RFC 9234 BGP Role)',
      );
      const routes = await until(
        () => edge.get('show routes', { prefix: PREFIX4 }),
        (r) => r.routes.some((x: { neighbor: string; best: boolean }) => x.neighbor === 'cust-a' && x.best),
        15_000,
      );
      t.ok(routes.ok, `${PREFIX4} from cust-a is the best path`);
      const r6 = await until(
        () => edge.get('show routes', { prefix: PREFIX6 }),
        (r) => r.routes.some((x: { neighbor: string; best: boolean }) => x.neighbor === 'cust-a' && x.best),
        15_000,
      );
      t.ok(r6.ok, `${PREFIX6} from cust-a too (IPv6 over the IPv4 session, next hop inside the tunnel)`);
      const k = await until(
        () => edge.ip('route', 'show', 'table', '201', PREFIX4),
        (s) => /dev gredge0/.test(s),
        10_000,
      );
      t.ok(k.ok, `kernel: ${PREFIX4} into the TUN in the full table (${k.value.trim()})`);
      const ping = await until(
        async () =>
          (
            await lab.exec('int', ['ping', '-n', '-c', '1', '-W', '1', '-I', INT.addr, HOST], {
              allowFail: true,
            })
          ).code,
        (c) => c === 0,
        15_000,
      );
      t.ok(ping.ok, `ping ${HOST} from the internal side (${INT.addr}) through the circuit`);
      const five = await lab.exec(
        'int',
        ['ping', '-n', '-c', '5', '-i', '0.2', '-W', '1', '-I', INT.addr, HOST],
        { allowFail: true },
      );
      t.match(five.stdout, /5 packets transmitted, 5 received/, 'and keeps answering');

      // ---- 5. customer remove: nothing left behind
      const rm = await edge.ctl(['customer', 'remove', 'cust-a']);
      t.equal(rm.code, 0, `customer remove exits 0 ${rm.stderr}`);
      t.notOk(existsSync(join(edge.customers, 'cust-a.yaml')), 'the file is gone');
      t.same(
        (await edge.get('show neighbors')).neighbors.map((n: { name: string }) => n.name),
        ['hand-made'],
        'no neighbor',
      );
      t.same((await edge.get('show tunnels')).tunnels, [], 'no tunnel');
      const cease = await until(
        () => birdc('show', 'protocols', 'all', 'gredge_cust_a'),
        (s) => /Received: Peer de-configured/i.test(s),
        10_000,
      );
      t.ok(cease.ok, `BIRD got Cease 6/3 (peer de-configured): ${/Last error:.*/.exec(cease.value)?.[0]}`);
      const all4 = await edge.ip('route', 'show', 'table', 'all');
      const all6 = await edge.ip('-6', 'route', 'show', 'table', 'all');
      t.notMatch(all4, /203\.0\.113\.|192\.0\.2\.0\/30/, 'no IPv4 route of the customer in any table');
      t.notMatch(all6, /2001:db8:c1:|2001:db8:ff::/, 'no IPv6 route of the customer in any table');
      t.equal(
        (await edge.ip('route', 'show', 'table', 'all', 'proto', '250')).trim(),
        '',
        "no route of gredge's protocol left",
      );
      const tunAddr = await edge.ip('addr', 'show', 'dev', 'gredge0');
      t.notMatch(tunAddr, /192\.0\.2\.1\/30|2001:db8:ff::\/127/, 'no inner address on the TUN');
      t.match(await edge.get('customer list'), { customers: [], pools: { v4: { free: '4 /30' } } });
      const after = await lab.exec('int', ['ping', '-n', '-c', '1', '-W', '1', '-I', INT.addr, HOST], {
        allowFail: true,
      });
      t.not(after.code, 0, 'the customer is no longer reachable');
      t.ok(edge.gredged.running, 'gredged kept running');
    },
  );
}
