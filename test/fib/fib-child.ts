/**
 * Runs a RIB and the FIB with the real rtnetlink writer inside a namespace (as
 * `ip netns exec NS node fib-child.js JSON`), driven by JSON-line requests on stdin:
 *   { op: 'announce', neighbor, nextHop, v4: [...], v6: [...], path? }   routes from a neighbor
 *   { op: 'withdraw', neighbor, v4, v6 }
 *   { op: 'bulk', neighbor, nextHop, count, base, withdraw? }            count /24s from base
 *   { op: 'idle' }  RIB flushed and every kernel write acknowledged; answers FIB stats and LPM
 *   { op: 'stop' }  orderly stop (routes and rules removed); { op: 'crash' } exits without it
 * The data plane is a fake that records its LPM; its `tun` is a veth end of the namespace, so
 * the rules and "dev TUN" routes have a real device to name.
 */
import { createInterface } from 'node:readline';
import { formatIpv4, formatPrefix4, formatPrefix6, parseIpv4 } from '../../src/bgp/wire/index.js';
import type { Config, NeighborConfig } from '../../src/config/types.js';
import { Fib } from '../../src/fib/fib.js';
import { silentLogger } from '../../src/observe/log.js';
import { Rib } from '../../src/rib/rib.js';
import { attrs, DecodingSink, LOCAL_AS, neighbor, p4, p6, sessionInfo } from '../rib/helpers.js';

interface ChildConfig {
  tun: string;
  retryMs: number;
  neighbors: NeighborConfig[];
  tunnels: Config['tunnels'];
}

const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
const cfg = JSON.parse(process.argv[2] ?? '{}') as ChildConfig;

const rib = new Rib({
  localAs: LOCAL_AS,
  routerId: parseIpv4('192.0.2.1')!,
  log: silentLogger(),
  bogons: [],
});
const channels = new Map<string, ReturnType<Rib['addNeighbor']>>();
let id = 10;
for (const n of cfg.neighbors) {
  const full = neighbor(n.name, n.role, n.remoteAs, n.address, n);
  const ch = rib.addNeighbor(full);
  const info = sessionInfo(full, id++);
  ch.up(info, new DecodingSink({ ebgp: info.ebgp, peerAs: LOCAL_AS, localAs: full.remoteAs }));
  channels.set(n.name, ch);
}

/** The fake data plane's LPM: prefix text → tunnel name. */
const lpm = new Map<string, string>();
const tunnelNames = cfg.tunnels.map((t) => t.name);
const dataplane = {
  tun: cfg.tun,
  tunnelIndex: (name: string) => {
    const i = tunnelNames.indexOf(name);
    return i < 0 ? undefined : i;
  },
  applyRoutes(records: Uint8Array, add: boolean): number {
    const dv = new DataView(records.buffer, records.byteOffset);
    for (let o = 0; o < records.length; o += 24) {
      const len = records[o + 1]!;
      const text =
        records[o] === 4
          ? formatPrefix4(dv.getUint32(o + 8, false) * 64 + len)
          : formatPrefix6(String.fromCharCode(len, ...records.subarray(o + 8, o + 8 + ((len + 7) >> 3))));
      if (add) lpm.set(text, tunnelNames[dv.getUint32(o + 4, true)]!);
      else lpm.delete(text);
    }
    return records.length / 24;
  },
};

const fib = new Fib({
  config: {
    neighbors: cfg.neighbors.map((n) => neighbor(n.name, n.role, n.remoteAs, n.address, n)),
    tunnels: cfg.tunnels,
    fib: { fullTable: 201, resaleTable: 202, protocol: 250, rulePriority: 1000, kernel: true },
  },
  rib,
  dataplane,
  log: silentLogger(),
  retryMs: cfg.retryMs,
});

function nh(text: string) {
  const v4 = parseIpv4(text);
  return v4 !== undefined ? { nextHop: v4 } : {};
}

function nh6(text: string | undefined) {
  if (text === undefined) return {};
  const b = new Uint8Array(16);
  const [head, tail] = text.split('::') as [string, string | undefined];
  const hs = head ? head.split(':') : [];
  const ts = tail ? tail.split(':') : [];
  hs.forEach((h, i) => {
    b[i * 2] = Number.parseInt(h, 16) >> 8;
    b[i * 2 + 1] = Number.parseInt(h, 16) & 0xff;
  });
  ts.forEach((h, i) => {
    const k = 16 - (ts.length - i) * 2;
    b[k] = Number.parseInt(h, 16) >> 8;
    b[k + 1] = Number.parseInt(h, 16) & 0xff;
  });
  return { nextHop6: { global: b } };
}

async function handle(req: Record<string, unknown>): Promise<unknown> {
  const ch = channels.get(String(req.neighbor));
  switch (req.op) {
    case 'announce': {
      const n = cfg.neighbors.find((x) => x.name === req.neighbor)!;
      const a = attrs((req.path as number[]) ?? (n.role === 'internal' ? [] : [n.remoteAs]), {
        ...nh(String(req.nextHop)),
        ...nh6(req.nextHop6 as string | undefined),
        ...(n.role === 'internal' ? { localPref: 100 } : {}),
      });
      ch!.updates([
        {
          withdrawn4: [],
          withdrawn6: [],
          nlri4: ((req.v4 as string[]) ?? []).map(p4),
          nlri6: ((req.v6 as string[]) ?? []).map(p6),
          attrs: a,
        },
      ]);
      return true;
    }
    case 'withdraw':
      ch!.updates([
        {
          withdrawn4: ((req.v4 as string[]) ?? []).map(p4),
          withdrawn6: ((req.v6 as string[]) ?? []).map(p6),
          nlri4: [],
          nlri6: [],
        },
      ]);
      return true;
    case 'bulk': {
      // count /24s from base, in UPDATEs of 500 prefixes (a feeder's packing).
      const base = parseIpv4(String(req.base))!;
      const count = Number(req.count);
      const n = cfg.neighbors.find((x) => x.name === req.neighbor)!;
      for (let i = 0; i < count; i += 500) {
        const list: string[] = [];
        for (let k = i; k < Math.min(count, i + 500); k++) list.push(`${formatIpv4(base + k * 256)}/24`);
        if (req.withdraw) ch!.updates([{ withdrawn4: list.map(p4), withdrawn6: [], nlri4: [], nlri6: [] }]);
        else
          ch!.updates([
            {
              withdrawn4: [],
              withdrawn6: [],
              nlri4: list.map(p4),
              nlri6: [],
              attrs: attrs((req.path as number[]) ?? [n.remoteAs], nh(String(req.nextHop))),
            },
          ]);
      }
      return true;
    }
    case 'idle':
      await rib.idle();
      await fib.idle();
      return { stats: fib.stats(), lpm: Object.fromEntries([...lpm].sort()) };
    case 'stop':
      await fib.stop();
      // The answer goes out first; then the process ends (stdin stays open otherwise).
      setImmediate(() => process.exit(0));
      return true;
    case 'crash':
      process.exit(0);
  }
  throw new Error(`unknown op ${String(req.op)}`);
}

await fib.start();
out({ event: 'ready', stats: fib.stats() });
let chain = Promise.resolve();
createInterface({ input: process.stdin }).on('line', (line) => {
  const req = JSON.parse(line) as Record<string, unknown>;
  chain = chain.then(async () => {
    try {
      out({ id: req.id, ok: true, result: await handle(req) });
    } catch (err) {
      out({ id: req.id, ok: false, error: (err as Error).message });
    }
  });
});
