/**
 * Building the lab and taking it down. `up` makes the namespaces and veths of plan.ts, starts
 * every daemon detached (BIRD on the peer, GoBGP as transit and internal network, gredged on the
 * edge from config/lab/edge.yaml, gredge's data plane and BIRD on both CPEs), records each PID
 * in the state file as it goes, and waits for every session; a failure anywhere tears down what
 * was built. `down` stops exactly the recorded PIDs (SIGTERM, SIGKILL after a grace period) and
 * deletes every gredge-lab-* namespace and the run directory.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { ControlClient } from '../control/client.js';
import { type Bird, cpeBird, cpeGredged, Gobgp, Gredged, peerBird } from './daemons.js';
import {
  CUST_C,
  CUST_N,
  CUST_R,
  CUSTOMERS_DIR,
  type Customer,
  EDGE_CONFIG,
  EDGE_UNDERLAY,
  INTERNAL,
  type Neighbor,
  NS_PREFIX,
  ns,
  PEER,
  ROLES,
  RUN_DIR,
  SOCKET,
  STATE_FILE,
  type StaticCustomer,
  TRANSIT,
} from './plan.js';
import { alive, type Daemon, must, processGroup, run, until } from './sh.js';
import { type LabState, loadState, newState, saveState } from './state.js';

export type Say = (line: string) => void;

/** The neighbors of config/lab/edge.yaml that must be Established before the tour. */
export const NEIGHBORS = ['cust-r', 'cust-n', 'peer', 'transit', 'internal'];

/** The lab's gredged control socket: one request, its result (throws on an error answer). */
// biome-ignore lint/suspicious/noExplicitAny: callers read the fields they show
export async function ask(cmd: string, args: Record<string, unknown> = {}): Promise<any> {
  const c = await ControlClient.connect(SOCKET);
  try {
    const r = await c.request(cmd, args);
    if (!r.ok) throw new Error(`gredged: ${cmd}: ${r.error.message}`);
    return r.result;
  } finally {
    c.close();
  }
}

/** Neighbor name → state, as gredged reports it ({} while it does not answer). */
export async function neighborStates(): Promise<Record<string, string>> {
  try {
    const r = (await ask('show neighbors')) as { neighbors: { name: string; state: string }[] };
    return Object.fromEntries(r.neighbors.map((n) => [n.name, n.state]));
  } catch {
    return {};
  }
}

export class World {
  readonly state: LabState = newState();
  readonly birds: Record<string, Bird> = {};
  readonly edge: Gredged;
  #died: ((e: Error) => void) | undefined;
  /** Rejects when a daemon exits while the lab is coming up. */
  readonly #death: Promise<never>;
  #stopping = false;
  readonly #t0 = Date.now();

  constructor(readonly say: Say) {
    this.#death = new Promise<never>((_r, reject) => {
      this.#died = reject;
    });
    this.#death.catch(() => {});
    mkdirSync(CUSTOMERS_DIR, { recursive: true });
    this.edge = new Gredged('gredged edge', 'edge', EDGE_CONFIG);
  }

  step(what: string): void {
    this.say(`[${((Date.now() - this.#t0) / 1000).toFixed(1).padStart(5)}s] ${what}`);
  }

  /** Records a started daemon in the state file; its early death fails whatever is being waited for. */
  track = (d: Daemon): Daemon => {
    this.state.daemons.push(d);
    saveState(this.state);
    return d;
  };

  onExit = (d: Daemon, code: number | null): void => {
    if (this.#stopping) return;
    // The teardown removes the log with the run directory: its end goes into the message.
    let tail = '';
    try {
      tail = readFileSync(d.log, 'utf8').trimEnd().split('\n').slice(-15).join('\n');
    } catch {}
    this.#died?.(
      new Error(`${d.name} exited (${code}) while the lab was coming up; the end of its log:\n${tail}`),
    );
  };

  /** `p`, or the first daemon death, whichever comes first. */
  watch<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.#death]);
  }

  /** Stops reacting to daemon deaths (the teardown after a failure ends them on purpose). */
  stopping(): void {
    this.#stopping = true;
  }

  async #netns(role: string, router: boolean): Promise<void> {
    const name = ns(role);
    await must(['ip', 'netns', 'add', name]);
    this.state.namespaces.push(name);
    saveState(this.state);
    await must(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
    const kv = [
      'net.ipv4.conf.all.rp_filter=0',
      'net.ipv4.conf.default.rp_filter=0',
      'net.ipv4.ping_group_range=0 2147483647',
      // The reseller's failed ping shows the edge's unreachable: no rate limit may hide one.
      'net.ipv4.icmp_ratelimit=0',
      `net.ipv4.ip_forward=${router ? 1 : 0}`,
    ];
    await must(['sysctl', '-q', '-w', ...kv], { ns: name });
  }

  /** A veth pair edge ↔ role, a /30 on it. */
  async #link(edgeIf: string, edgeAddr: string, role: string, addr: string): Promise<void> {
    await must([
      'ip',
      '-n',
      ns('edge'),
      'link',
      'add',
      edgeIf,
      'type',
      'veth',
      'peer',
      'name',
      'edge0',
      'netns',
      ns(role),
    ]);
    await must(['ip', '-n', ns('edge'), 'addr', 'add', `${edgeAddr}/30`, 'dev', edgeIf]);
    await must(['ip', '-n', ns(role), 'addr', 'add', `${addr}/30`, 'dev', 'edge0']);
    await must(['ip', '-n', ns('edge'), 'link', 'set', edgeIf, 'up']);
    await must(['ip', '-n', ns(role), 'link', 'set', 'edge0', 'up']);
  }

  async build(): Promise<void> {
    this.step(`namespaces ${ROLES.map(ns).join(', ')}`);
    // Each namespace and each link is independent of the others: made side by side.
    await this.#netns('edge', true);
    await must(['ip', '-n', ns('edge'), 'addr', 'add', `${EDGE_UNDERLAY}/32`, 'dev', 'lo']);
    await Promise.all(ROLES.filter((r) => r !== 'edge').map((r) => this.#netns(r, false)));
    this.step('links: a veth /30 from the edge to each CPE (the underlay) and to each neighbor');
    const cpe = async (c: Customer) => {
      await this.#link(c.edgeIf, c.edge, c.role, c.cpe);
      await must(['ip', '-n', ns(c.role), 'route', 'add', `${EDGE_UNDERLAY}/32`, 'via', c.edge]);
      await must(['ip', '-n', ns(c.role), 'addr', 'add', `${c.host}/32`, 'dev', 'lo']);
    };
    const neighbor = async (n: Neighbor) => {
      await this.#link(n.edgeIf, n.edge, n.role, n.addr);
      await must(['ip', '-n', ns(n.role), 'route', 'add', 'default', 'via', n.edge]);
      await must(['ip', '-n', ns(n.role), 'addr', 'add', `${n.host}/32`, 'dev', 'lo']);
    };
    await Promise.all([...[CUST_R, CUST_N, CUST_C].map(cpe), ...[PEER, TRANSIT, INTERNAL].map(neighbor)]);
  }

  async start(): Promise<void> {
    // GoBGP waits to be connected to, BIRD connects within a second: both before gredged.
    this.step(
      'BIRD 2 on the peer (AS 64496); GoBGP as the transit (AS 64497) and the internal network (iBGP)',
    );
    const peer = peerBird(PEER);
    this.birds.peer = peer;
    const gobgps = [new Gobgp(TRANSIT), new Gobgp(INTERNAL)];
    this.track(peer.start(this.onExit));
    for (const g of gobgps) this.track(g.start(this.onExit));
    await this.watch(Promise.all([peer.ready(10_000), ...gobgps.map((g) => g.ready(10_000))]));
    for (const g of gobgps) await g.announce();

    this.step(`gredged on the edge: ${EDGE_CONFIG}`);
    this.track(this.edge.start(this.onExit));
    await this.watch(this.edge.ready(30_000));

    this.step("the CPEs: gredge's data plane as their GRE end, BIRD 2 inside the tunnel");
    const cpes = [CUST_R, CUST_N].map((c) => this.#cpe(c));
    await this.watch(Promise.all(cpes.map((g) => g.ready(30_000))));
    const birds = [CUST_R, CUST_N].map((c) => {
      const b = cpeBird(c, { edge: c.innerEdge, cpe: c.innerCpe });
      this.birds[c.name] = b;
      this.track(b.start(this.onExit));
      return b;
    });
    await this.watch(Promise.all(birds.map((b) => b.ready(10_000))));

    this.step(`waiting for the sessions: ${NEIGHBORS.join(', ')}`);
    const up = await this.watch(
      until(neighborStates, (s) => NEIGHBORS.every((n) => s[n] === 'Established'), 45_000, 250),
    );
    if (!up.ok) {
      const down = NEIGHBORS.filter((n) => up.value[n] !== 'Established').map(
        (n) => `${n} ${up.value[n] ?? '?'}`,
      );
      throw new Error(`sessions not Established in 45 s: ${down.join(', ')}`);
    }
  }

  #cpe(c: StaticCustomer): Gredged {
    const g = cpeGredged(c, { key: c.key, inner: `${c.innerCpe}/30` });
    this.track(g.start(this.onExit));
    return g;
  }

  elapsed(): number {
    return (Date.now() - this.#t0) / 1000;
  }
}

/** Whether anything of a lab is here: a state file, a run directory or a gredge-lab-* namespace. */
export async function labPresent(): Promise<boolean> {
  return existsSync(RUN_DIR) || (await labNamespaces()).length > 0;
}

export async function labNamespaces(): Promise<string[]> {
  const out = await must(['ip', 'netns', 'list']);
  return out
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith(NS_PREFIX));
}

/** SIGTERM or SIGKILL to the process group a daemon leads (itself and its children). */
function signal(d: Daemon, sig: NodeJS.Signals): void {
  try {
    process.kill(-d.pid, sig);
  } catch {
    try {
      process.kill(d.pid, sig);
    } catch {}
  }
}

/**
 * Takes the lab down: the recorded daemons by PID, with the children in their process groups
 * (SIGTERM, then SIGKILL after `graceMs`), the namespaces, the run directory. A process in a lab
 * namespace that is in none of those groups (a shell someone opened with `ip netns exec`) is
 * named and left alone.
 */
export async function down(say: Say, graceMs = 10_000): Promise<void> {
  let state: LabState | undefined;
  try {
    state = loadState();
  } catch (e) {
    say(`warning: ${(e as Error).message}`);
  }
  const recorded = state?.daemons ?? [];
  const daemons = recorded.filter(alive);
  if (daemons.length > 0) {
    say(`stopping ${daemons.length} daemons: ${daemons.map((d) => `${d.name} (pid ${d.pid})`).join(', ')}`);
    for (const d of daemons) signal(d, 'SIGTERM');
    const gone = await until(
      async () => daemons.filter(alive),
      (l) => l.length === 0,
      graceMs,
      100,
    );
    for (const d of gone.value) {
      say(`${d.name} (pid ${d.pid}) did not stop in ${graceMs} ms: SIGKILL`);
      signal(d, 'SIGKILL');
    }
    const killed = await until(
      async () => daemons.filter(alive),
      (l) => l.length === 0,
      5000,
      50,
    );
    if (!killed.ok)
      throw new Error(
        `still running after SIGKILL: ${killed.value.map((d) => `${d.name} pid ${d.pid}`).join(', ')}`,
      );
  }
  const groups = new Set(recorded.map((d) => d.pid));
  const names = [...new Set([...(state?.namespaces ?? []), ...(await labNamespaces())])];
  for (const n of names) {
    const pids = (await run(['ip', 'netns', 'pids', n])).stdout.split('\n').filter(Boolean).map(Number);
    for (const p of pids) {
      // A daemon's child that outlived it (its group is the daemon's): the lab's, ended too.
      if (groups.has(processGroup(p) ?? -1)) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {}
        continue;
      }
      const cmd = (await run(['ps', '-o', 'args=', '-p', String(p)])).stdout.trim();
      if (cmd) say(`note: pid ${p} (${cmd}) runs in ${n} and was not started by the lab: left alone`);
    }
    const r = await run(['ip', 'netns', 'del', n]);
    if (r.code !== 0 && (await labNamespaces()).includes(n))
      throw new Error(`ip netns del ${n} failed: ${r.stderr.trim()}`);
  }
  if (names.length > 0) say(`deleted namespaces ${names.join(', ')}`);
  rmSync(RUN_DIR, { recursive: true, force: true });
  if (existsSync(STATE_FILE)) throw new Error(`${STATE_FILE} is still there`);
}

/** For `status`: the recorded daemons, alive or not, and the sessions gredged reports. */
export async function status(say: Say): Promise<boolean> {
  const state = loadState();
  if (!state) {
    say(`no lab is up (no ${STATE_FILE})`);
    return false;
  }
  say(
    `lab built ${state.created}${state.up ? '' : ' (not finished: the run that built it failed or still runs)'}`,
  );
  for (const d of state.daemons)
    say(`  ${alive(d) ? 'running' : 'GONE   '}  pid ${String(d.pid).padEnd(7)} ${d.name}  (${d.ns})`);
  const s = await neighborStates();
  say(
    `sessions: ${
      Object.entries(s)
        .map(([n, st]) => `${n} ${st}`)
        .join(', ') || 'gredged does not answer'
    }`,
  );
  return state.daemons.every(alive);
}
