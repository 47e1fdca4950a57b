/**
 * TUN offloads end to end in two namespaces: a TCP transfer through the GRE tunnel arrives
 * byte-identical with offloads on (the sender's kernel hands TSO super-packets to the TUN, the
 * data plane segments them; the receiver coalesces segments into GSO writes) and off, and the
 * counters show which path ran. Needs root.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import t from 'tap';
import { Child, makePair, rootSkip } from './ns.js';
import { skipUnless } from '../must-run.js';

const skip = skipUnless(t, rootSkip());

const SERVER = `
const net = require('node:net'), crypto = require('node:crypto');
const h = crypto.createHash('sha256'); let n = 0;
const s = net.createServer((c) => {
  c.on('data', (d) => { h.update(d); n += d.length; });
  c.on('end', () => { process.stdout.write(JSON.stringify({ n, sha: h.digest('hex') }) + '\\n'); s.close(); });
});
s.listen(5001, process.argv[1], () => process.stdout.write('listening\\n'));`;

const CLIENT = `
const net = require('node:net');
const buf = Buffer.from(process.argv[3], 'base64');
const c = net.connect(5001, process.argv[1], () => {
  let left = Number(process.argv[2]);
  const pump = () => { while (left > 0) { left--; if (!c.write(buf)) return c.once('drain', pump); } c.end(); };
  pump();
});
c.on('close', () => process.exit(0));`;

function run(ns: string, script: string, args: string[], procs: ChildProcess[]): ChildProcess {
  const p = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  procs.push(p);
  return p;
}

function firstLine(p: ChildProcess, pred: (l: string) => boolean, ms: number): Promise<string> {
  return new Promise((res, rej) => {
    let buf = '';
    let err = '';
    const timer = setTimeout(() => rej(new Error(`timeout; stderr: ${err}`)), ms);
    p.stderr!.on('data', (d) => {
      err += String(d);
    });
    p.stdout!.on('data', (d) => {
      buf += String(d);
      for (const l of buf.split('\n'))
        if (pred(l)) {
          clearTimeout(timer);
          res(l);
        }
    });
  });
}

type Global = Record<string, number> & { drops: Record<string, number> };

for (const offload of [true, false]) {
  t.test(
    `TCP through the tunnel, offloads ${offload ? 'on' : 'off'}`,
    { skip, timeout: 120_000 },
    async (t) => {
      const pair = makePair(offload ? 'o' : 'p');
      const kids: Child[] = [];
      const procs: ChildProcess[] = [];
      t.teardown(async () => {
        for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
        for (const k of kids) await k.close();
        pair.destroy();
      });
      const mk = (local: string, remote: string, inner: string, allowed: string) => ({
        open: { tun: 'gdo0', workers: 2, offload, underlay: { local } },
        tunnels: [{ name: 't', remote, key: 9, inner: { local: inner }, allowedSources: [allowed] }],
      });
      const a = new Child(pair.a, mk('198.51.100.1', '198.51.100.2', '192.0.2.1/30', '192.0.2.0/30'));
      const b = new Child(pair.b, mk('198.51.100.2', '198.51.100.1', '192.0.2.2/30', '192.0.2.0/30'));
      kids.push(a, b);
      t.equal((await a.ready()).event, 'ready', a.stderr);
      t.equal((await b.ready()).event, 'ready', b.stderr);

      // 24 MiB of seeded pseudo-random bytes (a 64 KiB block repeated with a counter mixed in is
      // enough to catch reordering or a lost segment: every block differs from the next).
      const seed = Number(process.env.GREDGE_SEED ?? Date.now() % 1e9);
      t.comment(`seed ${seed}`);
      const block = Buffer.alloc(65536);
      for (let i = 0; i < block.length; i += 32)
        createHash('sha256').update(`${seed}:${i}`).digest().copy(block, i);
      const blocks = 384;
      const want = createHash('sha256');
      for (let i = 0; i < blocks; i++) want.update(block);
      const server = run(pair.b, SERVER, ['192.0.2.2'], procs);
      await firstLine(server, (l) => l === 'listening', 10_000);
      const result = firstLine(server, (l) => l.startsWith('{'), 90_000);
      run(pair.a, CLIENT, ['192.0.2.2', String(blocks), block.toString('base64')], procs);
      const got = JSON.parse(await result) as { n: number; sha: string };
      t.equal(got.n, blocks * block.length, 'every byte arrived');
      t.equal(got.sha, want.digest('hex'), 'byte-identical');

      const ga = ((await a.ok('counters')) as { global: Global }).global;
      const gb = ((await b.ok('counters')) as { global: Global }).global;
      t.comment(
        `sender: ${ga.tunReads} TUN reads → ${ga.txPackets} GRE packets (${ga.tsoSegments} TSO segments); ` +
          `receiver: ${gb.rxPackets} GRE packets → ${gb.tunWrites} TUN writes (${gb.groMerged} merged)`,
      );
      t.equal(ga.drops.badOffload, 0, 'no super-packet refused');
      if (offload) {
        t.ok(ga.tsoSegments > 0, 'the sender segmented TSO super-packets');
        t.ok(ga.tunReads < ga.txPackets / 4, 'several wire packets per TUN read');
        t.ok(gb.groMerged > 0, 'the receiver coalesced segments');
        t.ok(gb.tunWrites < gb.rxPackets / 2, 'fewer TUN writes than packets received');
      } else {
        t.equal(ga.tsoSegments, 0, 'no segmentation without offloads');
        t.equal(gb.groMerged, 0, 'no coalescing without offloads');
      }
    },
  );
}
