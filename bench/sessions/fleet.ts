/**
 * gredged and BIRD 2 configured alike for the sessions and memory benches: one daemon on
 * 127.0.0.1:PORT (AS 65000, every neighbor passive, hold time 240, no graceful restart, no
 * FIB), full-table feeders as transits and customers that may announce their own space.
 * The policy is gredged's by role (src/policy/export.ts) written out for BIRD: customers get
 * everything (transit and other customers' routes, next hop self, IPv4 and IPv6), transits get
 * customers' routes only; a customer's import is limited to its allowed prefixes.
 * BIRD needs multihop for a 127/8 neighbor and next hops resolved through tables holding
 * 127.0.0.0/8 and the feeders' IPv6 next hop (2001:db8::/32) via "lo".
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { birdUp } from '../bgp-propagation/daemons.js';
import { Gredged } from '../../test/interop/harness/gredged.js';
import { Daemon } from '../../test/interop/harness/proc.js';

export const DAEMON = { address: '127.0.0.1', as: 65000 };
/** The IPv6 next hop both daemons announce to customers (sessions run over IPv4). */
export const NEXT_HOP6_SELF = '2001:db8::1';
/** The IPv6 next hop the feeders announce. */
export const FEEDER_NEXT_HOP6 = '2001:db8::2';

export interface Neighbor {
  /** Letters and digits only: BIRD protocol names. */
  name: string;
  address: string;
  as: number;
}

export interface Customer extends Neighbor {
  /** The customer's allowed space as PREFIX/LEN and the longest length it may announce. */
  space: string;
  maxLength: number;
}

export interface Fleet {
  port: number;
  transits: Neighbor[];
  customers: Customer[];
}

export interface Running {
  name: 'gredged' | 'bird';
  daemon: Daemon;
}

export async function startFleet(which: 'gredged' | 'bird', dir: string, f: Fleet): Promise<Running> {
  return which === 'bird' ? startBird(dir, f) : startGredged(dir, f);
}

async function startGredged(dir: string, f: Fleet): Promise<Running> {
  const g = new Gredged({
    dir,
    routerId: DAEMON.address,
    localAs: DAEMON.as,
    listen: { address: DAEMON.address, port: f.port },
    // info: the harness waits for "gredged started" (the session lines it also logs are cheap).
    logLevel: 'info',
    fib: false,
    neighbors: [
      ...f.transits.map((t) => ({
        name: t.name,
        address: t.address,
        remoteAs: t.as,
        role: 'transit' as const,
        passive: true,
        holdTime: 240,
      })),
      ...f.customers.map((c) => ({
        name: c.name,
        address: c.address,
        remoteAs: c.as,
        role: 'customer' as const,
        passive: true,
        holdTime: 240,
        nextHop6: NEXT_HOP6_SELF,
        prefixes: [`${c.space} le ${c.maxLength}`],
      })),
    ],
  });
  // gredged logs "gredged started" after reading the config: 1,000 neighbors take a moment.
  return { name: 'gredged', daemon: await g.start() };
}

async function startBird(dir: string, f: Fleet): Promise<Running> {
  const conf = join(dir, 'bird-fleet.conf');
  const ctl = join(dir, 'bird-fleet.ctl');
  const lines = [
    '# written by bench/sessions/fleet.ts',
    `router id ${DAEMON.address};`,
    'ipv4 table nh4;',
    'ipv6 table nh6;',
    'protocol device {}',
    'protocol static nhs4 { ipv4 { table nh4; }; route 127.0.0.0/8 via "lo"; }',
    'protocol static nhs6 { ipv6 { table nh6; }; route 2001:db8::/32 via "lo"; }',
    `template bgp edge { local ${DAEMON.address} port ${f.port} as ${DAEMON.as}; multihop; strict bind yes; passive yes; hold time 240; graceful restart off; }`,
    // Customers' routes only, towards transits (gredged: customer routes go to everyone).
    'filter customers_only { if proto ~ "c*" then accept; reject; }',
  ];
  for (const t of f.transits)
    lines.push(
      `protocol bgp ${t.name} from edge { neighbor ${t.address} port 179 as ${t.as};`,
      '  ipv4 { import all; export filter customers_only; igp table nh4; };',
      '  ipv6 { import all; export none; igp table nh6; }; }',
    );
  for (const c of f.customers) {
    const len = Number(c.space.split('/')[1]);
    lines.push(
      `protocol bgp ${c.name} from edge { neighbor ${c.address} port 179 as ${c.as};`,
      `  ipv4 { import where net ~ [ ${c.space}{${len},${c.maxLength}} ]; export all; next hop self; igp table nh4; };`,
      `  ipv6 { import none; export all; next hop address ${NEXT_HOP6_SELF}; igp table nh6; }; }`,
    );
  }
  writeFileSync(conf, `${lines.join('\n')}\n`);
  const daemon = new Daemon('bird', ['bird', '-f', '-c', conf, '-s', ctl, '-P', join(dir, 'bird-fleet.pid')]);
  try {
    await birdUp(ctl);
  } catch (e) {
    await daemon.stop(5000);
    throw new Error(`BIRD did not come up: ${(e as Error).message}\n${daemon.output.slice(-2000)}`);
  }
  return { name: 'bird', daemon };
}

/** An IPv6 address in text (full or with one `::`) as 16 bytes. */
export function ipv6Bytes(a: string): Buffer {
  const [head, tail] = a.split('::') as [string, string | undefined];
  const words = (s: string | undefined) => (s ? s.split(':').map((w) => Number.parseInt(w, 16)) : []);
  const h = words(head);
  const t = words(tail);
  const all = [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t];
  const b = Buffer.alloc(16);
  for (let k = 0; k < 8; k++) b.writeUInt16BE(all[k]!, 2 * k);
  return b;
}

/** Fails clearly when the loopback port the daemons bind is taken. */
export async function portFree(address: string, port: number): Promise<void> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', (e) =>
      reject(new Error(`${address}:${port} is busy (${e.message}); pick another --port`)),
    );
    s.listen(port, address, () => s.close(() => resolve()));
  });
}
