/**
 * Issue 11: what config/gredge.service gives gredged is enough. systemd cannot run in a test, so
 * its user and capability settings are reproduced with setpriv: an unprivileged user (nobody),
 * the unit's AmbientCapabilities= as the only effective and bounding set, no_new_privs. In a
 * network namespace, gredged on a config with a tunnel, the FIB and a listener on port 179 must
 * get as far as READY=1 (the TUN, raw and AF_PACKET sockets, kernel routes and rules, the
 * privileged port, the control socket), and remove what it made on SIGTERM.
 *
 * /dev/net/tun is 0666 on a Debian host (udev); a container may make it 0600, so the test binds
 * a 0666 node of the same device over it in a private mount namespace.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { labMissing } from '../lab/topology.js';
import { cannotRun } from '../must-run.js';
import { startListener } from './notify-listener.js';

const root = join(import.meta.dirname, '../../..');
const main = join(root, 'dist/src/main.js');
const NOBODY = 65534;

const missing = labMissing('a network namespace and a TUN device for an unprivileged gredged', {
  ip: 'iproute2',
  setpriv: 'util-linux',
  unshare: 'util-linux',
  python3: 'the sd_notify receiver is a python3 script',
});

function sh(args: string[]): string {
  const r = spawnSync(args[0] as string, args.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** The unit's AmbientCapabilities=, as setpriv spells them (net_admin, ...). */
function unitCapabilities(): string[] {
  const unit = readFileSync(join(root, 'config/gredge.service'), 'utf8');
  const line = /^AmbientCapabilities=(.*)$/m.exec(unit)?.[1] ?? '';
  return line
    .trim()
    .split(/\s+/)
    .map((c) => c.replace(/^CAP_/, '').toLowerCase());
}

if (missing) {
  t.test('gredged with only the unit capabilities', async (t) => cannotRun(t, missing));
} else {
  t.test('gredged as nobody with only the unit capabilities reaches READY=1 and cleans up', async (t) => {
    const caps = unitCapabilities();
    t.same(caps, ['net_admin', 'net_raw', 'net_bind_service']);
    const ns = `gredge-caps-${process.pid}`;
    sh(['ip', 'netns', 'add', ns]);
    t.teardown(() => spawnSync('ip', ['netns', 'del', ns]));
    sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    sh(['ip', '-n', ns, 'link', 'add', 'u0', 'type', 'veth', 'peer', 'name', 'u1']);
    sh(['ip', '-n', ns, 'addr', 'add', '198.51.100.1/24', 'dev', 'u0']);
    sh(['ip', '-n', ns, 'link', 'set', 'u0', 'up']);
    sh(['ip', '-n', ns, 'link', 'set', 'u1', 'up']);

    const dir = mkdtempSync(join(tmpdir(), 'gredge-caps-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    chmodSync(dir, 0o755);
    const run = join(dir, 'run'); // stands for /run/gredge (RuntimeDirectory=, owned by the user)
    sh(['mkdir', '-m', '0750', run]);
    chownSync(run, NOBODY, NOBODY);
    const tun = join(dir, 'tun');
    sh(['mknod', '-m', '0666', tun, 'c', '10', '200']);
    const config = join(dir, 'gredge.yaml');
    writeFileSync(
      config,
      `router-id: 192.0.2.129
local-as: 65000
listen: { address: 0.0.0.0, port: 179 }
neighbors:
  - { name: p, address: 198.51.100.9, remote-as: 65001, role: peer, passive: true }
control: { socket: ${run}/gredge.sock }
metrics: false
dataplane: { tun: gredge0, workers: 2 }
underlay: { local: 198.51.100.1 }
tunnels:
  - name: cust-a
    remote: 198.51.100.2
    key: 42
    inner: { local: 192.0.2.129/30 }
    routes: [203.0.113.0/24]
`,
    );
    // A path, as systemd's own /run/systemd/notify is: abstract names belong to a network
    // namespace, and gredged runs in another one. Writable by gredged's user.
    const l = await startListener(t, join(dir, 'notify.sock'));
    chmodSync(l.address, 0o666);
    const set = `-all,${caps.map((c) => `+${c}`).join(',')}`;
    const inner = [
      'mount --bind "$1" /dev/net/tun && shift && exec "$@"',
      'sh',
      tun,
      'ip',
      'netns',
      'exec',
      ns,
      'setpriv',
      `--reuid=${NOBODY}`,
      `--regid=${NOBODY}`,
      '--clear-groups',
      `--inh-caps=${set}`,
      `--ambient-caps=${set}`,
      `--bounding-set=${set}`,
      '--no-new-privs',
      // A service's clean environment; also drops the hooks tap adds to every child process
      // (they write under .tap/, where nobody cannot). env execs too.
      'env',
      '-i',
      `PATH=${process.env.PATH ?? '/usr/bin:/bin'}`,
      `NOTIFY_SOCKET=${l.address}`,
      process.execPath,
      main,
      '--config',
      config,
    ];
    // unshare, sh, ip netns exec, setpriv and env each exec the next: the PID is gredged's.
    const child = spawn('unshare', ['-m', 'sh', '-c', ...inner], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.teardown(() => {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined)
        process.kill(child.pid, 'SIGKILL');
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const ready = await Promise.race([
      l
        .next((d) => d.data.startsWith('READY=1'), 60_000, 'READY=1')
        .catch((err) => {
          throw new Error(`${err.message}\n${out}`);
        }),
      exited.then((code) => {
        throw new Error(`gredged exited ${code} before READY=1:\n${out}`);
      }),
    ]);
    t.equal(ready.data, 'READY=1\nSTATUS=1 neighbor, 0 established; 1 tunnel');
    t.equal(ready.pid, child.pid, 'READY=1 from the main PID');

    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const field = (k: string) => new RegExp(`^${k}:\\s*(.*)$`, 'm').exec(status)?.[1]?.trim();
    t.match(field('Uid'), new RegExp(`^${NOBODY}\\s`), 'runs as nobody');
    // CAP_NET_BIND_SERVICE 10, CAP_NET_ADMIN 12, CAP_NET_RAW 13.
    t.equal(field('CapEff'), '0000000000003400', 'effective: the three capabilities');
    t.equal(field('CapBnd'), '0000000000003400', 'bounding set: the same');
    t.equal(field('NoNewPrivs'), '1');

    t.match(sh(['ip', '-n', ns, 'link', 'show', 'gredge0']), /gredge0/, 'the TUN');
    t.match(
      sh(['ip', '-n', ns, 'route', 'show', 'table', '201', 'proto', '250']),
      /203\.0\.113\.0\/24 dev gredge0/,
    );
    t.match(sh(['ip', '-n', ns, 'rule', 'show']), /lookup 201 proto 250/);
    t.match(sh(['ip', 'netns', 'exec', ns, 'ss', '-Hltn', 'sport = :179']), /LISTEN/, 'port 179');

    child.kill('SIGTERM');
    await l.next((d) => d.data === 'STOPPING=1', 30_000, 'STOPPING=1');
    t.equal(await exited, 0, out);
    t.equal(
      sh(['ip', '-n', ns, 'route', 'show', 'table', '201', 'proto', '250']).trim(),
      '',
      'routes removed',
    );
    t.notMatch(sh(['ip', '-n', ns, 'rule', 'show']), /proto 250/, 'rules removed');
    t.notMatch(sh(['ip', '-n', ns, 'link', 'show']), /gredge0/, 'the TUN removed');
  });
}
