/**
 * The socket filter that shares GRE packets among workers (fastpath.cc split_filter), run by a
 * small classic-BPF interpreter written here from the instruction set (linux/filter.h): every
 * packet goes to exactly one worker, an inner flow always to the same one, sequenced tunnels
 * by outer source (their in-order check is per tunnel), and short or odd packets are never
 * dropped by all workers (an out-of-range load in a filter drops silently).
 */
import t from 'tap';
import { loadNative } from '../../src/dataplane/native.js';
import { ipv4, ipv6, rng, udp } from './packets.js';

const dbg = loadNative().debug;

/** Classic BPF as the kernel runs socket filters; returns the accepted length (0 = drop). */
function runBpf(prog: Uint32Array, pkt: Uint8Array): number {
  let a = 0;
  let x = 0;
  const m = new Uint32Array(16);
  const dv = new DataView(pkt.buffer, pkt.byteOffset, pkt.byteLength);
  const load = (off: number, size: number): number | null => {
    if (off < 0 || off + size > pkt.length) return null;
    return size === 4 ? dv.getUint32(off) : size === 2 ? dv.getUint16(off) : pkt[off]!;
  };
  for (let pc = 0; pc < prog.length / 4; pc++) {
    const code = prog[pc * 4]!;
    const jt = prog[pc * 4 + 1]!;
    const jf = prog[pc * 4 + 2]!;
    const k = prog[pc * 4 + 3]!;
    const cls = code & 0x07;
    const size = [4, 2, 1][(code >> 3) & 0x03]!;
    const mode = code & 0xe0;
    const src = code & 0x08 ? x : k;
    if (cls === 0x00 || cls === 0x01) {
      // LD / LDX
      let v: number | null;
      if (mode === 0x00)
        v = k; // IMM
      else if (mode === 0x20)
        v = load(k, size); // ABS
      else if (mode === 0x40)
        v = load(x + k, size); // IND
      else if (mode === 0x60)
        v = m[k]!; // MEM
      else if (mode === 0x80)
        v = pkt.length; // LEN
      else if (mode === 0xa0)
        v = ((load(k, 1) ?? Number.NaN) & 0x0f) * 4; // MSH
      else throw new Error(`mode ${mode}`);
      if (v === null || Number.isNaN(v)) return 0;
      if (cls === 0x00) a = v >>> 0;
      else x = v >>> 0;
    } else if (cls === 0x02) m[k] = a;
    else if (cls === 0x03) m[k] = x;
    else if (cls === 0x04) {
      const op = code & 0xf0;
      if (op === 0x00) a = (a + src) >>> 0;
      else if (op === 0x70) a = (a >>> src) >>> 0;
      else if (op === 0x90) a = a % src;
      else if (op === 0xa0) a = (a ^ src) >>> 0;
      else throw new Error(`alu ${op}`);
    } else if (cls === 0x05) {
      const op = code & 0xf0;
      if (op === 0x00) {
        pc += k;
        continue;
      }
      const c = op === 0x10 ? a === src : op === 0x20 ? a > src : op === 0x30 ? a >= src : (a & src) !== 0;
      pc += c ? jt : jf;
    } else if (cls === 0x06) return k;
    else if (cls === 0x07) {
      if ((code & 0xf8) === 0x00) x = a;
      else a = x;
    }
  }
  throw new Error('fell off the program');
}

function gre(flags: number, proto: number, inner: Uint8Array, key = 42, seq = 1): Uint8Array {
  const hdr: number[] = [flags >> 8, flags & 0xff, proto >> 8, proto & 0xff];
  if (flags & 0x8000) hdr.push(0, 0, 0, 0);
  if (flags & 0x2000) hdr.push(key >>> 24, (key >>> 16) & 255, (key >>> 8) & 255, key & 255);
  if (flags & 0x1000) hdr.push(seq >>> 24, (seq >>> 16) & 255, (seq >>> 8) & 255, seq & 255);
  const out = new Uint8Array(hdr.length + inner.length);
  out.set(hdr);
  out.set(inner, hdr.length);
  return out;
}

for (const family of [4, 6] as const) {
  t.test(`IPv${family} underlay: exactly one of N workers takes each packet`, async (t) => {
    const seed = Number(process.env.GREDGE_SEED ?? Date.now() % 1e9);
    t.comment(`seed ${seed}`);
    const r = rng(seed);
    for (const n of [2, 3, 4]) {
      const progs = Array.from({ length: n }, (_, w) => dbg.splitFilter(family, w, n));
      const owners = (p: Uint8Array) =>
        progs.map((prog, w) => (runBpf(prog, p) ? w : -1)).filter((w) => w >= 0);
      const outer = (g: Uint8Array, src: number) =>
        family === 4 ? ipv4(47, [198, 51, 100, src], [198, 51, 100, 1], g) : g;
      let single = true;
      let stable = true;
      const spread = new Set<number>();
      for (let i = 0; i < 300; i++) {
        const sport = Math.floor(r() * 65536);
        const inner4 = ipv4(17, [192, 0, 2, 2], [203, 0, 113, 9], udp(sport, 9));
        const inner6 = ipv6(
          17,
          Uint8Array.from({ length: 16 }, () => Math.floor(r() * 256)),
          new Uint8Array(16).fill(9),
          udp(sport, 9),
        );
        for (const inner of [inner4, inner6]) {
          const proto = inner === inner4 ? 0x0800 : 0x86dd;
          const p1 = outer(gre(0x2000, proto, inner), 2 + (i % 5));
          const p2 = outer(gre(0x2000, proto, inner), 2 + ((i + 1) % 5)); // same flow, other source
          const o1 = owners(p1);
          single &&= o1.length === 1;
          stable &&= o1[0] === owners(p2)[0];
          spread.add(o1[0]!);
        }
      }
      t.ok(single, `${n} workers: one owner per keyed packet`);
      t.ok(stable, `${n} workers: an inner flow always goes to the same worker`);
      t.equal(spread.size, n, `${n} workers: one tunnel's flows use every worker`);

      // Sequenced and checksummed packets, keepalives and runts: one owner, by source/key.
      const seqOwner = new Set<number>();
      for (let i = 0; i < 50; i++) {
        const inner = ipv4(17, [192, 0, 2, 2], [203, 0, 113, 9], udp(i * 7919, 9));
        const p = outer(gre(0x3000, 0x0800, inner, 42, i), 2);
        const o = owners(p);
        t.equal(o.length, 1, 'sequenced packet: one owner');
        seqOwner.add(o[0]!);
      }
      t.equal(seqOwner.size, 1, 'a sequenced tunnel stays on one worker');
      const odd = [
        outer(gre(0xa000, 0x0800, ipv4(17, [192, 0, 2, 2], [203, 0, 113, 9], udp(1, 2))), 3),
        outer(gre(0x2000, 0, new Uint8Array(0)), 3), // keepalive-like, proto 0
        outer(gre(0x2000, 0x0800, new Uint8Array(10)), 3), // truncated inner
        outer(Uint8Array.from([0x20, 0x00]), 3), // runt GRE
        outer(gre(0x0000, 0x0800, ipv4(17, [192, 0, 2, 2], [203, 0, 113, 9], udp(1, 2))), 3), // no key
      ];
      for (const [i, p] of odd.entries()) {
        const o = owners(p);
        t.equal(o.length, 1, `odd packet ${i}: exactly one owner (counted there, not lost)`);
      }
    }
  });
}
