/**
 * Issue 13, done-means 1: `npm run lab` (the compiled dist/src/lab/main.js) builds the lab and
 * prints the tour; every point of the tour is checked twice, in what it printed and again on the
 * running lab: the reseller (cust-r) has no route to the peer-only prefix and its ping fails, the
 * other customer's (cust-n) succeeds, both reach the transit-only prefix, and the third customer
 * provisioned live (cust-c) comes up (tunnel, BGP session, reachability). A second run replaces
 * the first (none of the first run's daemons is left), and `down` leaves nothing: no namespace,
 * no process, no state file. Without root the lab refuses, saying why.
 *
 * The lab's namespaces have fixed names (gredge-lab-*), so this test replaces a lab someone
 * left up on this machine; only this test uses those names.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { ControlClient } from '../../src/control/client.js';
import { cannotRun } from '../must-run.js';
import { labMissing } from './topology.js';

const MAIN = fileURLToPath(new URL('../../src/lab/main.js', import.meta.url));
const STATE = '/run/gredge-lab/state.json';
const SOCKET = '/run/gredge-lab/gredge.sock';
const PEER_HOST = '203.0.113.129';
const PEER_PREFIX = '203.0.113.128/27';
const TRANSIT_HOST = '203.0.113.161';
const CUSTOMERS = {
  r: { ns: 'gredge-lab-cpe-r', host: '203.0.113.1' },
  n: { ns: 'gredge-lab-cpe-n', host: '203.0.113.65' },
  c: { ns: 'gredge-lab-cpe-c', host: '203.0.113.193' },
};

interface Daemon {
  name: string;
  pid: number;
  start: number;
}

const missing = labMissing('network namespaces, veths and TUN devices', {
  bird: 'bird2',
  gobgpd: 'gobgpd',
  traceroute: 'traceroute',
  setpriv: 'util-linux',
});

function lab(args: string[], timeoutMs = 240_000): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [MAIN, ...args],
      {
        timeout: timeoutMs,
        killSignal: 'SIGTERM',
        maxBuffer: 16 << 20,
        env: { ...process.env, NODE_OPTIONS: '' },
      },
      (err, out, errOut) =>
        resolve({
          code: err ? (typeof err.code === 'number' ? err.code : 99) : 0,
          out: String(out),
          err: String(errOut),
        }),
    );
  });
}

function sh(argv: string[], ns?: string): Promise<{ code: number; out: string }> {
  const full = ns ? ['ip', 'netns', 'exec', ns, ...argv] : argv;
  return new Promise((resolve) => {
    execFile(full[0]!, full.slice(1), { timeout: 30_000 }, (err, out, errOut) =>
      resolve({
        code: err ? (typeof err.code === 'number' ? err.code : 99) : 0,
        out: String(out) + String(errOut),
      }),
    );
  });
}

// biome-ignore lint/suspicious/noExplicitAny: answers are checked field by field
async function ask(cmd: string, args: Record<string, unknown> = {}): Promise<any> {
  const c = await ControlClient.connect(SOCKET);
  try {
    const r = await c.request(cmd, args);
    if (!r.ok) throw new Error(`${cmd}: ${r.error.message}`);
    return r.result;
  } finally {
    c.close();
  }
}

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs: number) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return { ok: true, value };
    if (Date.now() > end) return { ok: false, value };
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Whether the daemon recorded in the state file still runs (same PID, same start time). */
function running(d: Daemon): boolean {
  try {
    const stat = readFileSync(`/proc/${d.pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[0] !== 'Z' && Number(rest[19]) === d.start;
  } catch {
    return false;
  }
}

const daemons = (): Daemon[] => (JSON.parse(readFileSync(STATE, 'utf8')) as { daemons: Daemon[] }).daemons;
const labNamespaces = () =>
  spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith('gredge-lab-'));

const ping = (c: { ns: string; host: string }, dst: string, count = 3) =>
  sh(['ping', '-n', '-c', String(count), '-i', '0.2', '-W', '1', '-I', c.host, dst], c.ns);
const received = (out: string) => Number(/(\d+) received/.exec(out)?.[1] ?? -1);

/** The tour's text between a heading that starts with `from` and the next `== ` heading. */
function section(out: string, from: string): string {
  const i = out.indexOf(`\n${from}`);
  if (i < 0) return '';
  const j = out.indexOf('\n== ', i + 1);
  return out.slice(i, j < 0 ? undefined : j);
}

if (missing) {
  cannotRun(t, missing);
} else {
  let built = false;
  // Whatever happens to this test, the lab goes: `down` stops exactly the PIDs it recorded.
  const downSync = () => {
    if (built) spawnSync(process.execPath, [MAIN, 'down'], { stdio: 'ignore', timeout: 60_000 });
    built = false;
  };
  process.on('exit', downSync);
  t.teardown(downSync);

  t.test('without root the lab refuses and says why', async (t) => {
    const r = spawnSync(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, MAIN],
      {
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    t.equal(r.status, 1, 'exit 1');
    t.match(r.stderr, /needs root/);
    t.notMatch(r.stdout, /namespaces/, 'and builds nothing');
  });

  t.test('a missing tool is named with its Debian package', async (t) => {
    // Debian puts bird and birdc in /usr/sbin: without it on PATH they are missing.
    const r = spawnSync(process.execPath, [MAIN], {
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...process.env, PATH: '/usr/bin:/bin' },
    });
    t.equal(r.status, 1, 'exit 1');
    t.match(r.stderr, /missing .*\bbird\b.*install .*\bbird2\b/);
    t.notMatch(r.stdout, /namespaces/, 'and builds nothing');
  });
  t.test(
    'npm run lab: the tour, its points hold on the running lab, a second run replaces it, down leaves nothing',
    async (t) => {
      const t0 = Date.now();
      built = true;
      const first = await lab([]);
      t.equal(first.code, 0, `npm run lab exits 0 (${((Date.now() - t0) / 1000).toFixed(1)} s) ${first.err}`);
      if (first.code !== 0) {
        t.comment(first.out.slice(-4000));
        return;
      }
      const out = first.out;
      // How long each step took (the lab prints them): the first thing to read when this is slow.
      for (const l of out.split('\n').filter((x) => /^\[\s*[\d.]+s\]/.test(x))) t.comment(l);
      const firstDaemons = daemons();
      t.equal(firstDaemons.length, 10, 'ten daemons recorded (gredged ×4, BIRD ×4, GoBGP ×2)');
      t.ok(firstDaemons.every(running), 'all running after `npm run lab` returned');

      // ---- what the tour printed
      const s1 = section(out, '== 1.');
      for (const n of ['cust-r', 'cust-n', 'peer', 'transit', 'internal'])
        t.match(s1, new RegExp(`\\n\\s+${n}\\s.*Established`), `tour 1: ${n} Established`);
      const s2 = section(out, '== 2.');
      const [full, resale] = s2.split('--table resale');
      t.match(full, PEER_PREFIX, 'tour 2: the peer-only prefix is in the full table');
      t.notMatch(resale, PEER_PREFIX, 'tour 2: and not in the resale table');
      t.match(resale, '203.0.113.160/27', 'tour 2: the transit prefix is in both');
      const s3 = section(out, '== 3.');
      const [r3, n3] = s3.split('-- cust-n');
      t.match(r3, /Network not found/, "tour 3: cust-r's BIRD has no route to the peer-only prefix");
      t.match(r3, /3 packets transmitted, 0 received/, "tour 3: cust-r's ping fails");
      t.match(r3, /Net Unreachable/, '… answered by the edge: net unreachable');
      t.match(r3, /!N/, '… and its traceroute ends at the edge');
      t.match(n3, /203\.0\.113\.128\/27\s+unicast/, "tour 3: cust-n's BIRD has the route");
      t.match(n3, /3 packets transmitted, 3 received/, "tour 3: cust-n's ping succeeds");
      t.match(n3, /\n\s+2\s+203\.0\.113\.129/, '… and its traceroute reaches the peer in two hops');
      const s4 = section(out, '== 4.');
      t.equal(
        s4.match(/3 packets transmitted, 3 received/g)?.length,
        2,
        'tour 4: both reach the transit prefix',
      );
      t.match(
        section(out, '== 5.'),
        /gredge_bgp_neighbor_state\{neighbor="peer",state="Established"\} 1/,
        'tour 5: metrics',
      );
      const s6 = section(out, '== 6.');
      t.match(s6, /\$ gredgectl customer add cust-c /, 'tour 6: one command provisions cust-c');
      t.match(
        s6,
        /ip tunnel add gre-cust-c mode gre key \d+ local 198\.51\.100\.10 remote 198\.51\.100\.254/,
      );
      t.match(s6, /state\s+Established/, "tour 6: cust-c's session Established");
      t.match(s6, /3 packets transmitted, 3 received/, 'tour 6: cust-c reaches the transit prefix');
      t.match(out, /npm run lab -- down/, 'the tour ends by saying how to take the lab down');

      // ---- the same points, checked again on the lab that stayed up
      const states = Object.fromEntries(
        ((await ask('show neighbors')).neighbors as { name: string; state: string }[]).map((n) => [
          n.name,
          n.state,
        ]),
      );
      t.same(
        states,
        {
          'cust-r': 'Established',
          'cust-n': 'Established',
          peer: 'Established',
          transit: 'Established',
          internal: 'Established',
          'cust-c': 'Established',
        },
        'every session, the live-provisioned one too',
      );
      const resaleRoutes = await ask('show routes', { table: 'resale' });
      const fullRoutes = await ask('show routes', { table: 'full' });
      const prefixes = (r: { routes: { prefix: string }[] }) => r.routes.map((x) => x.prefix);
      t.notOk(prefixes(resaleRoutes).includes(PEER_PREFIX), 'resale table: no peer-only prefix');
      t.ok(prefixes(fullRoutes).includes(PEER_PREFIX), 'full table: the peer-only prefix');
      const birdR = await sh([
        'birdc',
        '-s',
        '/run/gredge-lab/bird-cpe-r/bird.ctl',
        'show',
        'route',
        'for',
        PEER_HOST,
      ]);
      t.match(birdR.out, /Network not found/, "cust-r's BIRD: no route to the peer-only prefix");
      const pr = await ping(CUSTOMERS.r, PEER_HOST);
      t.equal(received(pr.out), 0, `cust-r's ping to ${PEER_HOST} fails: ${pr.out.trim().split('\n').pop()}`);
      const pn = await until(
        () => ping(CUSTOMERS.n, PEER_HOST, 1),
        (r) => r.code === 0,
        15_000,
      );
      t.ok(pn.ok, `cust-n's ping to ${PEER_HOST} succeeds`);
      for (const k of ['r', 'n', 'c'] as const) {
        const p = await until(
          () => ping(CUSTOMERS[k], TRANSIT_HOST, 1),
          (r) => r.code === 0,
          15_000,
        );
        t.ok(p.ok, `cust-${k} reaches the transit-only ${TRANSIT_HOST}`);
      }
      const tunnels = (await ask('show tunnels')).tunnels as { name: string; rx?: { packets: number } }[];
      t.same(
        tunnels.map((x) => x.name).sort(),
        ['cust-c', 'cust-n', 'cust-r'],
        'three tunnels, cust-c provisioned live',
      );
      const cust = (await ask('customer list')).customers as { name: string; state: string }[];
      t.match(
        cust,
        [{ name: 'cust-c', state: 'Established' }],
        'customer list: cust-c provisioned, Established',
      );

      // ---- a second run replaces the first
      const second = await lab([]);
      t.equal(second.code, 0, `a second npm run lab exits 0 ${second.err}`);
      t.match(second.out, /a lab is up already: taking it down first/);
      t.notOk(firstDaemons.some(running), "none of the first run's daemons is left");
      const secondDaemons = daemons();
      t.equal(secondDaemons.length, 10);
      t.ok(secondDaemons.every(running), "the second run's daemons run");

      // ---- down: nothing left
      const d = await lab(['down'], 120_000);
      t.equal(d.code, 0, `npm run lab -- down exits 0 ${d.err}`);
      built = false;
      t.same(labNamespaces(), [], 'no gredge-lab-* namespace');
      t.same(
        [...firstDaemons, ...secondDaemons].filter(running).map((x) => `${x.name} ${x.pid}`),
        [],
        'no daemon of either run',
      );
      t.notOk(existsSync(STATE), 'no state file');
      t.notOk(existsSync('/run/gredge-lab'), 'no run directory');
      const again = await lab(['down']);
      t.equal(again.code, 0, 'down when nothing is up is fine');
      t.comment(`whole test ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    },
  );
}
