/**
 * The load feeder of the no-resale lab (test 5), a process of its own inside the aux namespace:
 * a minimal BGP speaker (RFC 4271 framing; OPEN with multiprotocol IPv4 and IPv6 unicast,
 * RFC 4760, and 4-octet AS, RFC 6793) that keeps a session with gredged and announces exactly the
 * prefix set it was last given, as packed UPDATEs (MP_REACH / MP_UNREACH for IPv6). BIRD cannot
 * be the feeder of an IPv4 load: it ignores static routes in 127/8, the only IPv4 space large
 * enough that the lab may use. After a session loss (gredged restarted or killed) it reconnects
 * and announces the whole set again.
 *
 * argv[2]: JSON { local, remote, as, routerId, path: number[], nextHop4, nextHop6, holdTime }.
 * stdin, JSON lines: { id, v4: ["P/L", ...], v6: [...] }, the full set wanted; stdout, JSON lines:
 * { id, announced, withdrawn } once written (or queued for the next session), and events
 * { event: 'established' | 'down', why? }.
 */
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import type { FeederOptions as Opts } from './feeder.js';

const o = JSON.parse(process.argv[2] ?? '{}') as Opts;
const MAX_NLRI = 400; // per UPDATE: 400 × 7 bytes of IPv6 NLRI stays under 4096

const out = (x: object) => process.stdout.write(`${JSON.stringify(x)}\n`);

function v4bytes(a: string): number[] {
  return a.split('.').map(Number);
}

function v6bytes(a: string): number[] {
  const [head, tail] = a.includes('::') ? (a.split('::') as [string, string]) : [a, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.flatMap((g) => {
    const n = Number.parseInt(g || '0', 16);
    return [n >> 8, n & 255];
  });
}

function nlri(p: string): number[] {
  const [addr, lenText] = p.split('/') as [string, string];
  const len = Number(lenText);
  const bytes = addr.includes(':') ? v6bytes(addr) : v4bytes(addr);
  return [len, ...bytes.slice(0, Math.ceil(len / 8))];
}

function message(type: number, body: number[]): Buffer {
  const b = Buffer.alloc(19 + body.length, 0xff);
  b.writeUInt16BE(19 + body.length, 16);
  b[18] = type;
  Buffer.from(body).copy(b, 19);
  return b;
}

const u16 = (n: number) => [(n >> 8) & 255, n & 255];
const u32 = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];

function openMsg(): Buffer {
  const caps = [
    [1, 4, 0, 1, 0, 1], // multiprotocol IPv4 unicast
    [1, 4, 0, 2, 0, 1], // multiprotocol IPv6 unicast
    [65, 4, ...u32(o.as)], // 4-octet AS
  ].flatMap((c) => [c[0]!, c[1]!, ...c.slice(2)]);
  const params = [2, caps.length, ...caps];
  return message(1, [
    4,
    ...u16(o.as > 0xffff ? 23456 : o.as),
    ...u16(o.holdTime),
    ...v4bytes(o.routerId),
    params.length,
    ...params,
  ]);
}

const KEEPALIVE = message(4, []);

function attr(flags: number, type: number, value: number[]): number[] {
  return value.length > 255
    ? [flags | 0x10, type, ...u16(value.length), ...value]
    : [flags, type, value.length, ...value];
}

function common(): number[] {
  return [
    ...attr(0x40, 1, [0]), // ORIGIN IGP
    ...attr(0x40, 2, [2, o.path.length, ...o.path.flatMap(u32)]), // AS_PATH, 4-octet ASNs
  ];
}

function updates(prefixes: string[], withdraw: boolean): Buffer[] {
  const msgs: Buffer[] = [];
  for (let i = 0; i < prefixes.length; i += MAX_NLRI) {
    const chunk = prefixes.slice(i, i + MAX_NLRI);
    const n = chunk.flatMap(nlri);
    const v6 = chunk[0]!.includes(':');
    let body: number[];
    if (!v6 && withdraw) body = [...u16(n.length), ...n, 0, 0];
    else if (!v6) {
      const a = [...common(), ...attr(0x40, 3, v4bytes(o.nextHop4))];
      body = [0, 0, ...u16(a.length), ...a, ...n];
    } else if (withdraw) {
      const a = attr(0x80, 15, [0, 2, 1, ...n]);
      body = [0, 0, ...u16(a.length), ...a];
    } else {
      const a = [...common(), ...attr(0x80, 14, [0, 2, 1, 16, ...v6bytes(o.nextHop6), 0, ...n])];
      body = [0, 0, ...u16(a.length), ...a];
    }
    msgs.push(message(2, body));
  }
  return msgs;
}

let want4 = new Set<string>();
let want6 = new Set<string>();
const sent4 = new Set<string>();
const sent6 = new Set<string>();
let live: Socket | undefined;

let chain: Promise<unknown> = Promise.resolve();

/** One sync at a time: a second one must not write between the first one's messages. */
function sync(): Promise<{ announced: number; withdrawn: number }> {
  const next = chain.then(syncNow);
  chain = next.catch(() => undefined);
  return next;
}

/** Brings the session's announcements to the wanted set; counts what it wrote. */
async function syncNow(): Promise<{ announced: number; withdrawn: number }> {
  const s = live;
  if (!s) return { announced: 0, withdrawn: 0 };
  const msgs: Buffer[] = [];
  let announced = 0;
  let withdrawn = 0;
  for (const [want, sent] of [
    [want4, sent4],
    [want6, sent6],
  ] as const) {
    const gone = [...sent].filter((p) => !want.has(p));
    const added = [...want].filter((p) => !sent.has(p));
    if (gone.length) msgs.push(...updates(gone, true));
    if (added.length) msgs.push(...updates(added, false));
    for (const p of gone) sent.delete(p);
    for (const p of added) sent.add(p);
    announced += added.length;
    withdrawn += gone.length;
  }
  for (const m of msgs) {
    if (!s.write(m)) await new Promise((r) => s.once('drain', r));
  }
  return { announced, withdrawn };
}

function session(): void {
  const s = connect({ host: o.remote, port: 179, localAddress: o.local });
  let buf = Buffer.alloc(0);
  let timer: NodeJS.Timeout | undefined;
  let up = false;
  s.on('connect', () => s.write(openMsg()));
  s.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 19) {
      const len = buf.readUInt16BE(16);
      if (buf.length < len) break;
      const type = buf[18];
      if (type === 1) s.write(KEEPALIVE);
      else if (type === 4 && !up) {
        up = true;
        live = s;
        timer = setInterval(() => s.write(KEEPALIVE), (o.holdTime * 1000) / 3);
        out({ event: 'established' });
        void sync();
      } else if (type === 3) {
        out({ event: 'down', why: `NOTIFICATION ${buf[19]}/${buf[20]}` });
        s.destroy();
      }
      buf = buf.subarray(len);
    }
  });
  const closed = (why: string) => {
    if (timer) clearInterval(timer);
    if (live === s) {
      live = undefined;
      out({ event: 'down', why });
    }
    sent4.clear();
    sent6.clear();
    s.destroy();
  };
  s.on('error', (e) => closed(e.message));
  s.on('close', () => {
    closed('closed');
    setTimeout(session, 300);
  });
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const req = JSON.parse(line) as { id: number; v4: string[]; v6: string[] };
  want4 = new Set(req.v4);
  want6 = new Set(req.v6);
  void sync().then((r) => out({ id: req.id, ...r, live: live !== undefined }));
});
process.stdin.on('end', () => process.exit(0));
session();
