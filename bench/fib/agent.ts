#!/usr/bin/env node
/**
 * The bench's hands inside a lab namespace (started by run.ts with `ip netns exec`): the
 * feeder (127.0.0.2, AS 65001) and the monitor (127.0.0.3, AS 65002) of the propagation bench,
 * both connecting to the daemon on 127.0.0.1:179. On command it writes the pre-encoded feed
 * (NEXT_HOP 192.0.2.2) and later the withdrawals (or a Cease), and stamps, on the machine's
 * monotonic clock, the first byte sent and the moment the monitor holds all N prefixes / none.
 *   node dist/bench/fib/agent.js --feed FILE --withdrawals FILE --prefixes N
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { ADDR, AS } from '../bgp-propagation/daemons.js';
import { PrefixCounter } from '../bgp-propagation/monitor.js';
import { Speaker } from '../bgp-propagation/speaker.js';
import { type AgentEvent, type Command, nowMs, type Removal } from './protocol.js';

const { values: args } = parseArgs({
  options: {
    feed: { type: 'string' },
    withdrawals: { type: 'string' },
    prefixes: { type: 'string' },
    port: { type: 'string', default: '179' },
  },
});
if (!args.feed || !args.withdrawals || !args.prefixes) {
  console.error('usage: agent.js --feed FILE --withdrawals FILE --prefixes N');
  process.exit(2);
}
const n = Number(args.prefixes);
const feed = readFileSync(args.feed);
const withdrawals = readFileSync(args.withdrawals);
const port = Number(args.port);

const emit = (e: AgentEvent): void => {
  process.stdout.write(`${JSON.stringify(e)}\n`);
};

const counter = new PrefixCounter();
let feeder: Speaker | undefined;
let monitor: Speaker | undefined;
let wantEmpty = false;
let feederClosing = false;

async function connect(): Promise<void> {
  const common = { remoteAddress: ADDR.daemon, remotePort: port, connectTimeoutMs: 30_000 };
  monitor = await Speaker.connect({
    ...common,
    localAddress: ADDR.monitor,
    localAs: AS.monitor,
    routerId: ADDR.monitor,
  });
  monitor.onUpdate = (b, o, l) => {
    counter.update(b, o, l);
    if (wantEmpty && counter.count === 0) {
      wantEmpty = false;
      emit({ ev: 'monitor-empty', t: nowMs() });
    }
  };
  monitor.onClose = (why) => emit({ ev: 'lost', who: 'monitor', why });
  feeder = await Speaker.connect({
    ...common,
    localAddress: ADDR.feeder,
    localAs: AS.feeder,
    routerId: ADDR.feeder,
  });
  feeder.onClose = (why) => {
    if (!feederClosing) emit({ ev: 'lost', who: 'feeder', why });
  };
  emit({ ev: 'established' });
}

function announce(sp: Speaker): void {
  counter.whenHolding(n).then(() => emit({ ev: 'monitor-full', t: nowMs() }));
  const t0 = nowMs();
  sp.write(feed).then(
    () => emit({ ev: 'announced', t0, written: nowMs() }),
    (e: Error) => emit({ ev: 'error', message: `feeder write: ${e.message}` }),
  );
}

/** Cease, administrative shutdown (RFC 4486 6/2), without a shutdown message. */
const CEASE = Buffer.from([...Array(16).fill(0xff), 0, 21, 3, 6, 2]);

function remove(sp: Speaker, how: Removal): void {
  wantEmpty = true;
  const t0 = nowMs();
  if (how === 'close') {
    feederClosing = true;
    sp.socket.end(CEASE, () => emit({ ev: 'removing', t0, written: nowMs() }));
    return;
  }
  sp.write(withdrawals).then(
    () => emit({ ev: 'removing', t0, written: nowMs() }),
    (e: Error) => emit({ ev: 'error', message: `feeder write: ${e.message}` }),
  );
}

function quit(): void {
  feederClosing = true;
  for (const sp of [feeder, monitor]) {
    if (!sp) continue;
    sp.onClose = () => {};
    sp.close();
  }
  process.exit(0);
}

async function handle(c: Command): Promise<void> {
  if (c.cmd === 'quit') return quit();
  if (c.cmd === 'count') return emit({ ev: 'count', n: counter.count });
  if (c.cmd === 'connect') return connect();
  if (!feeder) throw new Error(`${c.cmd} before connect`);
  if (c.cmd === 'announce') return announce(feeder);
  return remove(feeder, c.how);
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line.trim() === '') return;
  handle(JSON.parse(line) as Command).catch((e: Error) => emit({ ev: 'error', message: e.message }));
});
lines.on('close', quit);
emit({ ev: 'ready' });
