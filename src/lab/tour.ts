/**
 * The guided tour `npm run lab` prints once the lab is up. Every block is a real command run
 * now, with its real output: gredgectl against the edge, birdc on the CPEs, ping and traceroute
 * from inside each customer's network, a metrics scrape, and `gredgectl customer add` for a
 * third customer whose CPE is then brought up from the snippet it printed.
 */
import { run as gredgectl } from '../control/cli/gredgectl.js';
import { cpeBird, cpeGredged } from './daemons.js';
import {
  CUST_C,
  CUST_N,
  CUST_R,
  type Customer,
  GREDGECTL,
  INTERNAL,
  METRICS_URL,
  ns,
  PEER,
  REPO,
  SOCKET,
  TRANSIT,
} from './plan.js';
import { run, until } from './sh.js';
import { ask, type World } from './world.js';

const indent = (s: string) =>
  s
    .trimEnd()
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');

/**
 * `gredgectl ARGS` against the lab's socket, as the tour shows it. gredgectl's own entry point
 * (`run`, what the gredgectl command executes) runs in this process: the same request, the same
 * rendering, without a Node start-up per command.
 */
async function ctl(w: World, ...args: string[]): Promise<string> {
  let out = '';
  let err = '';
  const code = await gredgectl(['--socket', SOCKET, ...args], {
    out: (s) => {
      out += s;
    },
    err: (s) => {
      err += s;
    },
    env: {},
  });
  w.say(`  $ gredgectl ${args.map((a) => (/\s/.test(a) ? `'${a}'` : a)).join(' ')}`);
  w.say(indent(out + (code === 0 ? '' : err)));
  if (code !== 0) throw new Error(`gredgectl ${args.join(' ')} exited ${code}: ${err.trim()}`);
  return out;
}

/** A command inside a namespace, shown as `ip netns exec NS ...`; its exit code. */
async function inNs(w: World, role: string, argv: string[], timeoutMs = 30_000): Promise<number> {
  const r = await run(argv, { ns: ns(role), timeoutMs });
  w.say(`  $ ip netns exec ${ns(role)} ${argv.join(' ')}`);
  w.say(indent(r.stdout + r.stderr));
  return r.code;
}

const pingOnce = (c: Customer, dst: string) => () =>
  run(['ping', '-n', '-c', '1', '-W', '1', '-I', c.host, dst], { ns: ns(c.role) }).then((r) => r.code === 0);

/** Waits until `c` reaches `dst` (routes travel through BGP and into the FIB); throws after the deadline. */
async function waitReach(w: World, c: Customer, dst: string, timeoutMs = 30_000): Promise<void> {
  const r = await w.watch(until(pingOnce(c, dst), (ok) => ok, timeoutMs, 200));
  if (!r.ok) throw new Error(`${c.name} (${c.host}) does not reach ${dst} after ${timeoutMs / 1000} s`);
}

const ping = (w: World, c: Customer, dst: string) =>
  inNs(w, c.role, ['ping', '-n', '-c', '3', '-i', '0.2', '-W', '1', '-I', c.host, dst]);

export async function tour(w: World): Promise<void> {
  const say = w.say;
  // Everything the tour shows must already hold: wait for it before showing anything.
  w.step('waiting for the routes to reach the CPEs and the kernel tables');
  await waitReach(w, CUST_N, PEER.host);
  await waitReach(w, CUST_N, TRANSIT.host);
  await waitReach(w, CUST_R, TRANSIT.host);
  w.step(`the lab is up (${w.elapsed().toFixed(1)} s). The tour:`);
  say('');
  say('In what follows, `gredgectl` is');
  say(`  node ${GREDGECTL} --socket ${SOCKET}`);
  say('');

  say('== 1. The edge and its five BGP neighbors');
  await ctl(w, 'show', 'neighbors');
  say('');

  say('== 2. The two tables: full (what cust-n, which does not resell, gets) and resale (what');
  say(`   cust-r, a reseller, gets). The peer's ${PEER.prefix} is no-resale: only in the full one.`);
  await ctl(w, 'show', 'routes', '--table', 'full');
  await ctl(w, 'show', 'routes', '--table', 'resale');
  say('');

  say(`== 3. Traffic to the peer-only prefix ${PEER.prefix} (${PEER.host} answers there)`);
  for (const c of [CUST_R, CUST_N]) {
    say(
      `-- ${c.name} (AS ${c.as}, ${c.resale ? 'resells: no route to it, and the edge refuses its packets' : 'does not resell: gets the route, its packets go to the peer'})`,
    );
    await inNs(w, c.role, ['birdc', '-s', w.birds[c.name]!.ctl, 'show', 'route', 'for', PEER.host]);
    await ping(w, c, PEER.host);
    await inNs(w, c.role, ['traceroute', '-n', '-q', '1', '-w', '1', '-m', '4', '-s', c.host, PEER.host]);
  }
  say('');

  say(`== 4. Both reach the transit-only prefix ${TRANSIT.prefix} (${TRANSIT.host})`);
  for (const c of [CUST_R, CUST_N]) await ping(w, c, TRANSIT.host);
  say('');

  say('== 5. Metrics (Prometheus), served inside the edge namespace');
  const curl = (await run(['sh', '-c', 'command -v curl'])).code === 0;
  const scrape = curl
    ? ['curl', '-s', METRICS_URL]
    : [
        process.execPath,
        '-e',
        `fetch(${JSON.stringify(METRICS_URL)}).then(r=>r.text()).then(t=>process.stdout.write(t))`,
      ];
  const r = await run(scrape, { ns: ns('edge') });
  if (r.code !== 0) throw new Error(`the metrics scrape failed: ${r.stderr.trim()}`);
  const lines = r.stdout.split('\n');
  say(
    `  $ ip netns exec ${ns('edge')} ${curl ? `curl -s ${METRICS_URL}` : `node -e 'fetch("${METRICS_URL}")…'`}`,
  );
  // One series per neighbor and state: the ones at 1 say which state each neighbor is in.
  const shown = lines.filter((l) =>
    /^gredge_bgp_neighbor_state\{.* 1$|^gredge_tunnel_receive_packets_total\{/.test(l),
  );
  say(
    `    (${lines.filter((l) => l && !l.startsWith('#')).length} series; each neighbor's state, the packets each tunnel brought in:)`,
  );
  say(indent(shown.join('\n')));
  if (shown.length === 0)
    throw new Error(`the metrics have no gredge_bgp_neighbor_state: ${lines.slice(0, 5).join(' ')}`);
  say('');

  await thirdCustomer(w);
}

/** The snippet's iproute2 part, read back: the values the CPE's GRE end must have. */
export function parseSnippet(text: string): {
  key: number;
  local: string;
  remote: string;
  mtu: number;
  inner: string;
  bird: string;
} {
  const tun = /^ip tunnel add \S+ mode gre key (\d+) local (\S+) remote (\S+) ttl 64$/m.exec(text);
  const mtu = /^ip link set \S+ mtu (\d+)$/m.exec(text);
  const addr = /^ip address add (\S+\/30) dev \S+$/m.exec(text);
  const start = text.indexOf('\nprotocol bgp ');
  const end = text.indexOf('\n}\n', start);
  if (!tun || !mtu || !addr || start < 0 || end < 0)
    throw new Error(`gredgectl customer add printed no snippet I can read:\n${text}`);
  return {
    key: Number(tun[1]),
    local: tun[2]!,
    remote: tun[3]!,
    mtu: Number(mtu[1]),
    inner: addr[1]!,
    bird: text.slice(start + 1, end + 2),
  };
}

async function thirdCustomer(w: World): Promise<void> {
  const c = CUST_C;
  const say = w.say;
  say(`== 6. A third customer, provisioned live with one command (${c.name}, AS ${c.as}, CPE ${c.cpe})`);
  const out = await ctl(
    w,
    'customer',
    'add',
    c.name,
    '--asn',
    String(c.as),
    '--remote',
    c.cpe,
    '--prefix',
    c.prefix,
  );
  const s = parseSnippet(out);
  if (s.local !== c.cpe)
    throw new Error(`the snippet's tunnel starts at ${s.local}, not at the CPE's ${c.cpe}`);
  say('');
  say(`-- on ${c.name}'s CPE (${ns(c.role)}): the snippet, applied`);
  say(`   1. the tunnel: this kernel has no GRE module, so \`ip tunnel add\` cannot work here; gredge's`);
  say(
    `      data plane is the CPE's GRE end instead, with the snippet's key ${s.key}, ends ${s.local} → ${s.remote},`,
  );
  say(`      MTU ${s.mtu} and inner address ${s.inner}`);
  say('   2. BIRD 2: its block pasted verbatim into bird.conf (beside `protocol device` and a static');
  say(`      route for ${c.prefix}, as the snippet says)`);
  const g = cpeGredged(c, { key: s.key, inner: s.inner, mtu: s.mtu });
  w.track(g.start(w.onExit));
  await w.watch(g.ready(30_000));
  const innerCpe = s.inner.split('/')[0]!;
  const b = cpeBird(c, { edge: '', cpe: innerCpe }, s.bird);
  w.birds[c.name] = b;
  w.track(b.start(w.onExit));
  await w.watch(b.ready(10_000));
  w.step(`waiting for ${c.name}'s session`);
  const est = await w.watch(
    until(
      () => ask('show neighbor', { neighbor: c.name }).catch(() => ({ state: '?' })),
      (n: { state: string }) => n.state === 'Established',
      60_000,
      250,
    ),
  );
  if (!est.ok) throw new Error(`${c.name}'s session is not Established after 60 s (${est.value.state})`);
  await waitReach(w, c, TRANSIT.host);
  w.step(`${c.name} is up`);
  await ctl(w, 'show', 'tunnels');
  await ctl(w, 'show', 'neighbor', c.name);
  await ping(w, c, TRANSIT.host);
  say('');
  say('== The lab stays up. Try:');
  say(`  node ${GREDGECTL} --socket ${SOCKET} show routes ${PEER.host} --table resale`);
  say(
    `  ip netns exec ${ns(CUST_N.role)} ping -I ${CUST_N.host} ${INTERNAL.host}     # the provider's internal network`,
  );
  say(
    `  ip netns exec ${ns('edge')} ip route show table 202                 # the resale table in the kernel`,
  );
  say(`  node ${GREDGECTL} --socket ${SOCKET} customer remove ${c.name}`);
  say(`  logs and configs: /run/gredge-lab/ (the edge's config: ${REPO}config/lab/edge.yaml)`);
  say('Take it down with: npm run lab -- down');
}
