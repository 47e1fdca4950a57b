/**
 * Every command the operator's guide (docs/guide/*.md) shows is run by a test, so the guide
 * cannot drift from the code. A command is a line of a fenced block whose info string is `sh`
 * (lines ending in `\` continue); its kind says how it is checked:
 *
 *  - ```` ```sh ````: run here, verbatim, by bash inside a network namespace (gd-docs-PID) where a
 *    real gredged runs docs/guide/edge.yaml (the socket path moved to a temporary directory
 *    through $GREDGE_SOCKET, `gredged` and `gredgectl` on $PATH as the install's wrappers), with
 *    BIRD 2 as the no-resale peer announcing one prefix, so that the runbook's leak checks are
 *    shown to find a leak where there is one (LEAK_CHECKS).
 *  - ```` ```sh install ````: the installation, run verbatim in the order written in a sandbox:
 *    a private mount namespace (a copy of /etc, empty /usr/local/bin and /opt with this checkout
 *    as /opt/gredge) and a private network namespace; then what it should have made is checked.
 *  - ```` ```sh mapped ````: run verbatim by another test, named in MAPPED; that the command's
 *    text occurs in that file is checked here.
 *
 * A command ending in `# exit N` must exit N (a grep that finds nothing), any other 0. A block
 * marked bash, shell or console fails the test: commands cannot hide from it.
 */
import { type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { parse, stringify } from 'yaml';
import { cannotRun } from '../must-run.js';

const root = join(import.meta.dirname, '../../..');
const GUIDE = join(root, 'docs/guide');

/** Commands run verbatim by other tests: the command → the test file (from the repository root). */
const MAPPED: Readonly<Record<string, string>> = {
  'npm run lab': 'test/lab/tour.test.ts',
  'npm run lab -- down': 'test/lab/tour.test.ts',
};

/**
 * What the operator does by hand before an operations command (edit the config), done by the
 * test to the running config's file: the command → the change.
 */
const BEFORE: Readonly<Record<string, (cfg: Record<string, unknown>) => void>> = {
  // The runbook's reload section reloads a changed file: cust-a gets a description (in place).
  'gredgectl reload --check': (cfg) => {
    const n = (cfg.neighbors as Array<Record<string, unknown>>).find((x) => x.name === 'cust-a')!;
    n.description = 'circuit 4711';
  },
};

/** What an operations command must print (where the guide says what it shows). */
const PRINTS: Readonly<Record<string, RegExp>> = {
  'gredgectl reload --check': /~ neighbor cust-a: description \(in place\)/,
  'gredgectl reload --confirm-within 120': /description/,
  'gredgectl show neighbor cust-a': /max-prefix\s+100 \(restart\)/,
  'gredgectl show tunnel cust-a': /state\s+unknown/,
  'gredgectl show neighbor peer-big': /state\s+Established/,
  'gredgectl show routes 203.0.113.64/26':
    /\*\s+203\.0\.113\.64\/26\s+192\.0\.2\.20\s+peer-big.*no-resale peer/,
  'ip rule show': /1001:\s+from all iif gredge0 lookup 202 proto 250/,
};

/** What the no-resale peer (BIRD 2 in the test) announces. */
const PEER_PREFIX = '203.0.113.64/26';

/** The runbook's leak checks (exit 1: nothing found), each with the same check where the peer's route is. */
const LEAK_CHECKS: Readonly<Record<string, string>> = {
  'gredgectl show routes --table resale --limit 100000 | grep peer-big   # exit 1':
    'gredgectl show routes --table full --limit 100000 | grep peer-big',
  "gredgectl --json show routes --table resale --limit 100000 | grep '64496:1:3'   # exit 1":
    "gredgectl --json show routes --table full --limit 100000 | grep '64496:1:3'",
  "ip route show table 202 proto 250 | grep 'via 192.0.2.20'   # exit 1":
    "ip route show table 201 proto 250 | grep 'via 192.0.2.20'",
};

const haveBird = spawnSync('sh', ['-c', 'command -v bird']).status === 0;

type Kind = 'edge' | 'install' | 'mapped';
interface Command {
  file: string;
  line: number;
  kind: Kind;
  text: string;
  exit: number;
}

/** The commands of one markdown text, with the kind of their block. */
export function extractCommands(file: string, md: string): { commands: Command[]; problems: string[] } {
  const commands: Command[] = [];
  const problems: string[] = [];
  const lines = md.split('\n');
  let kind: Kind | undefined;
  let inBlock = false;
  let pending = '';
  let pendingLine = 0;
  lines.forEach((raw, i) => {
    const fence = /^\s*```(.*)$/.exec(raw);
    if (fence) {
      if (inBlock) {
        inBlock = false;
        kind = undefined;
        return;
      }
      inBlock = true;
      const info = fence[1]!.trim().split(/\s+/);
      if (info[0] === 'sh') {
        const k = info[1] ?? 'edge';
        if (k !== 'edge' && k !== 'install' && k !== 'mapped')
          problems.push(`${file}:${i + 1}: unknown kind of sh block '${k}'`);
        else kind = k;
      } else if (['bash', 'shell', 'console', 'zsh', 'shell-session'].includes(info[0]!))
        problems.push(`${file}:${i + 1}: commands go in \`\`\`sh blocks (found \`\`\`${info[0]})`);
      return;
    }
    if (!inBlock || !kind) return;
    const line = raw.trimEnd();
    if (pending === '') pendingLine = i + 1;
    if (line.endsWith('\\')) {
      pending += `${line}\n`;
      return;
    }
    const text = pending + line;
    pending = '';
    if (text.trim() === '' || text.trim().startsWith('#')) return;
    const exit = /#\s*exit\s+(\d+)\s*$/.exec(text);
    commands.push({ file, line: pendingLine, kind, text: text.trim(), exit: exit ? Number(exit[1]) : 0 });
  });
  if (inBlock) problems.push(`${file}: a fenced block is not closed`);
  return { commands, problems };
}

const files = readdirSync(GUIDE)
  .filter((f) => f.endsWith('.md'))
  .sort();
const all: Command[] = [];
const problems: string[] = [];
for (const f of files) {
  const r = extractCommands(`docs/guide/${f}`, readFileSync(join(GUIDE, f), 'utf8'));
  all.push(...r.commands);
  problems.push(...r.problems);
}

t.test('the extractor finds commands and refuses hidden ones', async (t) => {
  const md = '```sh\ngredgectl status\nip rule show \\\n  table 1  # exit 1\n```\n```bash\nrm -rf x\n```\n';
  const r = extractCommands('x.md', md);
  t.same(
    r.commands.map((c) => [c.text, c.exit]),
    [
      ['gredgectl status', 0],
      ['ip rule show \\\n  table 1  # exit 1', 1],
    ],
  );
  t.equal(r.problems.length, 1, 'a bash block is refused');
  t.same(problems, [], 'the guide has no command outside sh blocks and every block is closed');
  t.ok(all.filter((c) => c.kind === 'edge').length >= 10, 'the guide shows operations commands');
  t.ok(all.filter((c) => c.kind === 'install').length >= 5, 'the guide shows the installation');
});

t.test('mapped commands are run verbatim by the test named for them', async (t) => {
  for (const c of all.filter((c) => c.kind === 'mapped')) {
    const file = MAPPED[c.text];
    if (!t.ok(file, `${c.file}:${c.line}: '${c.text}' is mapped to a test`)) continue;
    t.ok(readFileSync(join(root, file!), 'utf8').includes(c.text), `${file} contains '${c.text}'`);
  }
});

function run(
  argv: string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv } = {},
): SpawnSyncReturns<string> {
  return spawnSync(argv[0]!, argv.slice(1), {
    encoding: 'utf8',
    input: opts.input,
    env: opts.env ?? process.env,
    timeout: 120_000,
  });
}

const notRoot = process.getuid?.() !== 0 ? 'needs root (network namespaces, TUN)' : undefined;

/** `gredged` and `gredgectl` as the installation's wrappers make them, for this checkout. */
function wrappers(dir: string): void {
  const node = process.execPath;
  writeFileSync(join(dir, 'gredged'), `#!/bin/sh\nexec ${node} ${root}/dist/src/main.js "$@"\n`);
  writeFileSync(
    join(dir, 'gredgectl'),
    `#!/bin/sh\nexec ${node} ${root}/dist/src/control/cli/gredgectl.js "$@"\n`,
  );
  chmodSync(join(dir, 'gredged'), 0o755);
  chmodSync(join(dir, 'gredgectl'), 0o755);
}

/** Polls `ok` until it holds or `ms` have passed; says which. */
async function waitFor(ok: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

t.test('the operations commands run against a live gredged on the guide config', async (t) => {
  if (notRoot) return cannotRun(t, notRoot);
  if (!haveBird) return cannotRun(t, 'needs BIRD 2 (Debian package bird2) as the no-resale peer');
  // The edge (gredged) and the no-resale peer peer-big (BIRD 2, announcing PEER_PREFIX), joined
  // by a veth pair on 192.0.2.0/24. The transit and the customer stay unconnected.
  const ns = `gd-docs-${process.pid}`;
  const peerNs = `gd-docs-${process.pid}-p`;
  const dir = mkdtempSync(join(tmpdir(), 'gd-docs-'));
  const bin = join(dir, 'bin');
  run(['mkdir', bin]);
  wrappers(bin);
  const pids: number[] = [];
  const cleanup = () => {
    for (const pid of pids.splice(0))
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    spawnSync('ip', ['netns', 'del', ns]);
    spawnSync('ip', ['netns', 'del', peerNs]);
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', cleanup);
  t.teardown(cleanup);

  const veth = [`gd-de${process.pid}`, `gd-dp${process.pid}`];
  for (const argv of [
    ['ip', 'netns', 'add', ns],
    ['ip', 'netns', 'add', peerNs],
    ['ip', '-n', ns, 'link', 'set', 'lo', 'up'],
    ['ip', '-n', peerNs, 'link', 'set', 'lo', 'up'],
    ['ip', '-n', ns, 'addr', 'add', '198.51.100.1/32', 'dev', 'lo'],
    ['ip', 'link', 'add', veth[0]!, 'netns', ns, 'type', 'veth', 'peer', 'name', veth[1]!, 'netns', peerNs],
    ['ip', '-n', ns, 'addr', 'add', '192.0.2.1/24', 'dev', veth[0]!],
    ['ip', '-n', peerNs, 'addr', 'add', '192.0.2.20/24', 'dev', veth[1]!],
    ['ip', '-n', ns, 'link', 'set', veth[0]!, 'up'],
    ['ip', '-n', peerNs, 'link', 'set', veth[1]!, 'up'],
  ]) {
    const r = run(argv);
    if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
  }
  writeFileSync(
    join(dir, 'bird.conf'),
    [
      'router id 192.0.2.20;',
      'protocol device {}',
      `protocol static { ipv4; route ${PEER_PREFIX} blackhole; }`,
      'protocol bgp edge {',
      '  local 192.0.2.20 as 64498; neighbor 192.0.2.1 as 64496; local role peer;',
      '  ipv4 { import none; export all; };',
      '}',
      '',
    ].join('\n'),
  );
  const bird = spawn(
    'ip',
    ['netns', 'exec', peerNs, 'bird', '-f', '-c', join(dir, 'bird.conf'), '-s', join(dir, 'bird.ctl')],
    { stdio: 'ignore' },
  );
  if (bird.pid) pids.push(bird.pid);
  // The guide's config, with the control socket in the temporary directory (/run/gredge may be
  // another gredged's): gredgectl finds it through $GREDGE_SOCKET, the commands stay verbatim.
  const cfg = parse(readFileSync(join(GUIDE, 'edge.yaml'), 'utf8')) as Record<string, unknown>;
  const socket = join(dir, 'gredge.sock');
  cfg.control = { socket };
  const cfgFile = join(dir, 'edge.yaml');
  writeFileSync(cfgFile, stringify(cfg));

  let log = '';
  const child = spawn('ip', ['netns', 'exec', ns, join(bin, 'gredged'), '--config', cfgFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid) pids.push(child.pid);
  child.stdout.on('data', (d: Buffer) => {
    log += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    log += d.toString();
  });
  let exited: number | null | undefined;
  child.on('exit', (code) => {
    exited = code;
    pids.splice(pids.indexOf(child.pid!), 1);
  });
  // A loaded CI box takes seconds to load node and read the config in its child process.
  await waitFor(() => log.includes('"gredged started"') || exited !== undefined, 90_000);
  if (
    !t.ok(log.includes('"gredged started"'), 'gredged starts on docs/guide/edge.yaml', {
      log: log.slice(-2000),
    })
  )
    return;

  const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, GREDGE_SOCKET: socket };
  const sh = (text: string) => run(['ip', 'netns', 'exec', ns, 'bash', '-c', text], { env });
  // The peer's route is in: the leak checks below look at a box that has one to leak.
  const peerRouteIn = () =>
    sh(`gredgectl show routes ${PEER_PREFIX}`).stdout.includes('no-resale peer') &&
    sh(`ip route show table 201 proto 250`).stdout.includes(`${PEER_PREFIX} via 192.0.2.20`);
  if (
    !t.ok(await waitFor(peerRouteIn, 60_000), 'the no-resale peer route is in the full table and table 201', {
      log: log.slice(-3000),
    })
  )
    return;
  const edge = all.filter((c) => c.kind === 'edge');
  for (const c of edge) {
    const before = BEFORE[c.text];
    if (before) {
      before(cfg);
      writeFileSync(cfgFile, stringify(cfg));
    }
    const r = sh(c.text);
    t.equal(r.status, c.exit, `${c.file}:${c.line}: ${c.text}`, { stdout: r.stdout, stderr: r.stderr });
    const prints = PRINTS[c.text];
    if (prints) t.match(r.stdout, prints, `${c.text} prints what the guide says`);
  }
  for (const text of [...Object.keys(BEFORE), ...Object.keys(PRINTS)])
    t.ok(
      edge.some((c) => c.text === text),
      `the guide still shows '${text}'`,
    );
  t.equal(exited, undefined, 'gredged is still running after every command');
  // The guide's leak checks find nothing because nothing leaked, not because they cannot see:
  // with the peer's route back, they still find nothing, and the same checks on the full
  // table find it.
  t.ok(await waitFor(peerRouteIn, 60_000), 'the no-resale peer route is back after disable / enable');
  for (const [guide, control] of Object.entries(LEAK_CHECKS)) {
    t.ok(
      edge.some((c) => c.text === guide),
      `the guide still shows '${guide}'`,
    );
    t.equal(sh(guide).status, 1, `with the peer's route in: ${guide}`);
    t.equal(sh(control).status, 0, `the same check on the full table finds it: ${control}`);
  }
  // A pending rollback would make the next test's reloads busy: the guide confirms its own.
  const status = run([join(bin, 'gredgectl'), 'status'], { env });
  t.notMatch(status.stdout, /ROLLBACK PENDING/, 'no rollback left pending by the guide');
  child.kill('SIGTERM');
  await waitFor(() => exited !== undefined, 35_000);
  t.equal(exited, 0, 'gredged stops with exit 0 on SIGTERM');
});

t.test('the installation runs in a sandbox and makes what the guide says', async (t) => {
  if (notRoot) return cannotRun(t, notRoot);
  const dir = mkdtempSync(join(tmpdir(), 'gd-install-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const steps = all.filter((c) => c.kind === 'install');
  const hostUser = run(['getent', 'passwd', 'gredge']).stdout;
  const hostConf = existsSync('/etc/gredge/gredge.yaml');
  // Each guide command verbatim, its exit code after it; then the checks.
  const script = [
    'set -u',
    `mount -t tmpfs gd-install ${dir}`,
    `mkdir ${dir}/etc ${dir}/bin ${dir}/opt`,
    `cp -a /etc/. ${dir}/etc/ && mount --bind ${dir}/etc /etc`,
    `mount --bind ${dir}/bin /usr/local/bin`,
    `mount --bind ${dir}/opt /opt && mkdir /opt/gredge && mount --bind ${root} /opt/gredge`,
    'ip link set lo up',
    `cd ${root}`,
    ...steps.flatMap((c, i) => [c.text, `echo "@@step ${i} $?"`]),
    'echo "@@user $(id -u gredge) $(id -gn gredge) $(getent passwd gredge | cut -d: -f6,7)"',
    'echo "@@conf $(stat -c \'%a %G\' /etc/gredge/gredge.yaml)"',
    'echo "@@unit $(stat -c %a /etc/systemd/system/gredge.service)"',
    'echo "@@forward $(cat /proc/sys/net/ipv4/ip_forward) $(cat /proc/sys/net/ipv4/conf/all/send_redirects)"',
    'echo "@@ctl $(gredgectl --help >/dev/null 2>&1; echo $?)"',
  ].join('\n');
  const r = run(['unshare', '--mount', '--net', '--propagation', 'private', 'bash', '-s'], { input: script });
  const out = r.stdout;
  steps.forEach((c, i) => {
    const m = new RegExp(`^@@step ${i} (\\d+)$`, 'm').exec(out);
    t.equal(m ? Number(m[1]) : undefined, c.exit, `${c.file}:${c.line}: ${c.text}`, {
      stdout: out.slice(-3000),
      stderr: r.stderr.slice(-3000),
    });
  });
  t.match(out, /^@@user \d+ gredge \/var\/lib\/gredge:\/usr\/sbin\/nologin$/m, 'a system user gredge');
  t.match(out, /^@@conf 640 gredge$/m, 'the config is 0640, group gredge');
  t.match(out, /^@@unit 644$/m, 'the unit is installed');
  t.match(out, /^@@forward 1 0$/m, 'forwarding on, redirects off');
  t.match(out, /^@@ctl 0$/m, 'gredgectl runs through its wrapper');
  t.equal(run(['getent', 'passwd', 'gredge']).stdout, hostUser, "the host's users are untouched");
  t.equal(existsSync('/etc/gredge/gredge.yaml'), hostConf, "the host's /etc is untouched");
});
