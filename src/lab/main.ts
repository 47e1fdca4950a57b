#!/usr/bin/env node
/**
 * `npm run lab`: the whole edge in network namespaces, and a guided tour of it (docs/lab.md).
 *
 *   npm run lab             build the lab (replacing one that is up) and print the tour
 *   npm run lab -- down     stop the lab's daemons (by their recorded PIDs), delete its namespaces
 *   npm run lab -- status   the lab's daemons and sessions
 *
 * Runs as root (namespaces, veths, TUN devices). The daemons run detached and stay up after this
 * returns; /run/gredge-lab/state.json records their PIDs for `down`. A failure while building
 * tears down what was built and exits 1 with the reason.
 */
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { GREDGED } from './plan.js';
import { saveState } from './state.js';
import { tour } from './tour.js';
import { down, labPresent, status, World } from './world.js';

const USAGE = `usage: npm run lab [-- down | status]
  (none)   build the lab in network namespaces gredge-lab-*, start every daemon, print the tour
  down     stop the lab's daemons and delete its namespaces and /run/gredge-lab
  status   the lab's daemons (running or not) and gredged's sessions`;

/** Command → the Debian package that has it. */
const TOOLS: Record<string, string> = {
  ip: 'iproute2',
  sysctl: 'procps',
  ps: 'procps',
  bird: 'bird2',
  birdc: 'bird2',
  gobgpd: 'gobgpd',
  gobgp: 'gobgpd',
  ping: 'iputils-ping',
  traceroute: 'traceroute',
};

const say = (line: string) => process.stdout.write(`${line}\n`);
const fail = (msg: string): never => {
  process.stderr.write(`npm run lab: ${msg}\n`);
  process.exit(1);
};

function preflight(needTools: boolean): void {
  if (process.getuid?.() !== 0)
    fail(
      'the lab needs root: it creates network namespaces, veths and TUN devices (run it as root, e.g. `sudo npm run lab`)',
    );
  const tools = needTools ? Object.keys(TOOLS) : ['ip', 'ps'];
  const missing = tools.filter(
    (t) => spawnSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' }).status !== 0,
  );
  if (missing.length > 0) {
    const pkgs = [...new Set(missing.map((t) => TOOLS[t]!))];
    fail(
      `missing ${missing.join(', ')}: install ${pkgs.length > 1 ? 'the Debian packages' : 'the Debian package'} ${pkgs.join(' ')} (apt-get install --no-install-recommends ${pkgs.join(' ')})`,
    );
  }
  if (needTools && !existsSync(GREDGED)) fail(`${GREDGED} is not built: run \`npm run build\` first`);
}

async function up(): Promise<void> {
  if (await labPresent()) {
    say('a lab is up already: taking it down first');
    await down(say);
  }
  const w = new World(say);
  let failing = false;
  const teardown = async (why: string, code: number) => {
    if (failing) return;
    failing = true;
    w.stopping();
    process.stderr.write(`npm run lab: ${why}\n`);
    say('tearing down what was built');
    try {
      await down(say, 3000);
    } catch (e) {
      process.stderr.write(`npm run lab: the teardown failed too: ${(e as Error).message}\n`);
    }
    process.exit(code);
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
    process.once(sig, () => void teardown(`interrupted (${sig})`, 130));
  try {
    await w.build();
    await w.start();
    await tour(w);
    w.state.up = true;
    saveState(w.state);
    process.exit(0);
  } catch (e) {
    await teardown(`failed: ${(e as Error).message}`, 1);
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const cmd = args[0] ?? 'up';
  if (args.length > 1 || !['up', 'down', 'status', '--help', '-h'].includes(cmd))
    fail(`unexpected arguments: ${args.join(' ')}\n${USAGE}`);
  if (cmd === '--help' || cmd === '-h') {
    say(USAGE);
    return;
  }
  preflight(cmd === 'up');
  if (cmd === 'up') await up();
  else if (cmd === 'down') {
    await down(say);
    say('the lab is down');
  } else process.exit((await status(say)) ? 0 : 1);
}

main().catch((e: Error) => fail(e.message));
