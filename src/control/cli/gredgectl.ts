#!/usr/bin/env node
/**
 * gredgectl: the operator CLI over gredged's control socket (src/control/protocol.ts).
 *
 *   gredgectl [--socket PATH] [--json] COMMAND [ARGS] [--help]
 *
 * Human tables by default, `--json` prints the daemon's answer as it came (for scripts).
 * Exit codes: 0 ok, 1 the daemon answered with an error, 2 usage error, 3 not available in
 * this build, 4 cannot connect to the daemon (or lost it before the answer).
 *
 * Adding a command: one entry in COMMANDS (words, usage, help, options, how to build the request
 * and how to print the answer); the request is checked with the protocol's own validation before
 * anything is sent, so a usage error never reaches the daemon.
 */
import { parseArgs } from 'node:util';
import { ControlClient } from '../client.js';
import { DEFAULT_SOCKET, LOG_LEVELS, validateRequest } from '../protocol.js';
import * as customer from './customer.js';
import * as fmt from './format.js';

export const EXIT = { OK: 0, DAEMON_ERROR: 1, USAGE: 2, NOT_AVAILABLE: 3, CANNOT_CONNECT: 4 } as const;

type Options = Record<string, string | boolean | string[] | undefined>;

interface CommandSpec {
  words: string[];
  usage: string;
  help: string;
  options?: Record<string, { type: 'string' | 'boolean'; help: string; multiple?: boolean }>;
  /** How many positional arguments, and their names for messages. */
  positionals?: { min: number; max: number };
  /** The request (cmd and args), or a usage error message. */
  request?: (pos: string[], o: Options) => { cmd: string; args: Record<string, unknown> } | string;
  // biome-ignore lint/suspicious/noExplicitAny: each renderer knows its command's result shape
  render?: (result: any) => string;
  /** Answered here with exit 3: the command is not in this build. */
  notAvailable?: string;
}

const neighborAction = (cmd: string, help: string, extra?: CommandSpec['options']): CommandSpec => ({
  words: cmd.split(' '),
  usage: `${cmd}${extra ? ' [--soft]' : ''} NAME|ADDRESS`,
  help,
  ...(extra ? { options: extra } : {}),
  positionals: { min: 1, max: 1 },
  request: (pos, o) => ({
    cmd,
    args: { neighbor: pos[0], ...(o.soft === true ? { soft: true } : {}) },
  }),
  render: fmt.action,
});

/** How long gredgectl waits for a reload to be answered (ms). */
const RELOAD_TIMEOUT_MS = 300_000;

export const COMMANDS: CommandSpec[] = [
  {
    words: ['status'],
    usage: 'status',
    help: 'The daemon: version, uptime, neighbors, routes, tunnels, FIB.',
    request: () => ({ cmd: 'status', args: {} }),
    render: fmt.status,
  },
  {
    words: ['show', 'neighbors'],
    usage: 'show neighbors',
    help: 'Every neighbor: state, uptime, prefixes received / accepted / refused / advertised.',
    request: () => ({ cmd: 'show neighbors', args: {} }),
    render: fmt.neighbors,
  },
  {
    words: ['show', 'neighbor'],
    usage: 'show neighbor NAME|ADDRESS',
    help: 'One neighbor: state, uptime, last error and NOTIFICATIONs, capabilities, prefixes (refused by reason).',
    positionals: { min: 1, max: 1 },
    request: (pos) => ({ cmd: 'show neighbor', args: { neighbor: pos[0] } }),
    render: fmt.neighbor,
  },
  {
    words: ['show', 'routes'],
    usage: 'show routes [PREFIX|ADDRESS] [--table full|resale] [--neighbor N] [--refused] [--limit N]',
    help: [
      'Best paths of a table (default full); with --neighbor, the routes accepted from that neighbor;',
      'with --refused, routes refused on import and why. A PREFIX shows every path of it and why the',
      'best won; an ADDRESS its longest match.',
    ].join('\n'),
    options: {
      table: { type: 'string', help: 'full (every route) or resale (what reselling customers get)' },
      neighbor: { type: 'string', help: 'only this neighbor (name or address)' },
      refused: { type: 'boolean', help: 'refused routes, with the reason' },
      limit: {
        type: 'string',
        help: 'at most N routes (default 1000); the answer says how many more there were',
      },
    },
    positionals: { min: 0, max: 1 },
    request: (pos, o) => {
      const args: Record<string, unknown> = {};
      if (pos[0] !== undefined) args.prefix = pos[0];
      if (o.table !== undefined) args.table = o.table;
      if (o.neighbor !== undefined) args.neighbor = o.neighbor;
      if (o.refused === true) args.refused = true;
      if (o.limit !== undefined) {
        if (!/^[0-9]+$/.test(String(o.limit))) return `--limit must be a positive integer, got '${o.limit}'`;
        args.limit = Number(o.limit);
      }
      return { cmd: 'show routes', args };
    },
    render: fmt.routes,
  },
  {
    words: ['show', 'tunnels'],
    usage: 'show tunnels',
    help: 'Every tunnel: remote, key, state, packets, drops.',
    request: () => ({ cmd: 'show tunnels', args: {} }),
    render: fmt.tunnels,
  },
  {
    words: ['show', 'tunnel'],
    usage: 'show tunnel NAME',
    help: 'One tunnel: its settings, state, counters and drops by reason.',
    positionals: { min: 1, max: 1 },
    request: (pos) => ({ cmd: 'show tunnel', args: { tunnel: pos[0] } }),
    render: fmt.tunnel,
  },
  neighborAction('neighbor enable', 'Start the session of a disabled neighbor.'),
  neighborAction(
    'neighbor disable',
    'Send Cease 6/2 (administrative shutdown) and keep the session down until `neighbor enable`.',
  ),
  neighborAction(
    'neighbor reset',
    'Send Cease 6/4 (administrative reset) and reconnect; --soft asks the neighbor for its routes again (ROUTE-REFRESH) and re-sends ours, without a reset (an error if the neighbor does not support route refresh).',
    { soft: { type: 'boolean', help: 'route refresh both ways instead of a session reset' } },
  ),
  {
    words: ['log', 'level'],
    usage: `log level ${LOG_LEVELS.join('|')}`,
    help: 'Change the daemon’s log level until it restarts.',
    positionals: { min: 1, max: 1 },
    request: (pos) => ({ cmd: 'log level', args: { level: pos[0] } }),
    render: fmt.logLevel,
  },
  {
    words: ['reload'],
    usage: 'reload [--check | --confirm-within SECONDS | --confirm]',
    help: [
      'Re-read the config file gredged was started with and apply the difference: unchanged neighbors',
      'and tunnels are not touched, policy changes apply without a session reset, a neighbor whose',
      'address, AS, timers, families or role changed is reset alone. An invalid file, or one that',
      'changes what only a restart applies (router-id, local-as, listen, dataplane, underlay, control),',
      'is refused whole and nothing changes (exit 1, every problem with file:line:column).',
    ].join('\n'),
    options: {
      check: { type: 'boolean', help: 'validate and show the difference, apply nothing' },
      'confirm-within': { type: 'string', help: 'roll back unless `reload --confirm` follows in time' },
      confirm: { type: 'boolean', help: 'keep a reload made with --confirm-within' },
    },
    request: (_pos, o) => {
      const args: Record<string, unknown> = {};
      if (o.check === true) args.check = true;
      if (o.confirm === true) args.confirm = true;
      if (o['confirm-within'] !== undefined) {
        if (!/^[0-9]+$/.test(String(o['confirm-within'])))
          return `--confirm-within must be a number of seconds, got '${o['confirm-within']}'`;
        args.confirmWithin = Number(o['confirm-within']);
      }
      return { cmd: 'reload', args };
    },
    render: fmt.reload,
  },
  {
    words: ['graceful-restart'],
    usage: 'graceful-restart',
    help: [
      'A planned restart (an upgrade, a config that needs a restart) that keeps forwarding: gredged',
      'leaves its kernel routes, rules and TUN in place, closes every session without a NOTIFICATION',
      '(neighbors with graceful restart negotiated keep our routes for the restart time) and exits 75.',
      'The systemd unit (RestartForceExitStatus=75) starts it again at once; the new gredged keeps',
      'what it finds until End-of-RIB and then reconciles (docs/graceful-restart.md). Prints which',
      'neighbors keep our routes. Not for a stop: SIGTERM (systemctl stop) removes everything.',
    ].join('\n'),
    request: () => ({ cmd: 'graceful-restart', args: {} }),
    render: fmt.gracefulRestart,
  },
  {
    words: ['customer', 'add'],
    usage: 'customer add NAME --asn N --remote UNDERLAY-ADDR --prefix P [--prefix P ...] [--no-resale]',
    help: [
      'Provision a customer circuit in one step: gredged takes the lowest free GRE key of',
      'provisioning.key-range for that remote and the next free /30 (and /127) of the inner pools,',
      "checks the AS and prefixes (not ours, not bogons, not another customer's), writes",
      "DIRECTORY/NAME.yaml, reloads, and prints the customer's side: iproute2 commands for the GRE",
      'tunnel and a BIRD 2 protocol bgp block, ready to paste on their Linux router (--json: as data).',
      'A refused reload removes the file again and changes nothing (exit 1).',
      'A prefix is P, "P le N" or "P ge N [le M]" (quote it); --prefix may be given up to 64 times.',
    ].join('\n'),
    options: {
      asn: { type: 'string', help: "the customer's AS number" },
      remote: { type: 'string', help: "the customer's underlay address (their end of the tunnel)" },
      prefix: { type: 'string', multiple: true, help: 'a prefix (rule) they may announce; repeat for more' },
      'no-resale': {
        type: 'boolean',
        help: 'they get no-resale routes too and may not resell (resale: false)',
      },
    },
    positionals: { min: 1, max: 1 },
    request: (pos, o) => {
      if (o.asn === undefined) return '--asn N is required';
      if (!/^[0-9]{1,10}$/.test(String(o.asn))) return `--asn must be an AS number, got '${o.asn}'`;
      if (o.remote === undefined) return '--remote UNDERLAY-ADDR is required';
      const prefixes = (o.prefix as string[] | undefined) ?? [];
      if (prefixes.length === 0) return 'at least one --prefix P is required';
      return {
        cmd: 'customer add',
        args: {
          name: pos[0],
          asn: Number(o.asn),
          remote: o.remote,
          prefixes,
          ...(o['no-resale'] === true ? { resale: false } : {}),
        },
      };
    },
    render: customer.customerAdd,
  },
  {
    words: ['customer', 'remove'],
    usage: 'customer remove NAME',
    help: [
      'Remove a provisioned customer (one with a file in provisioning.directory): the file goes and a',
      'reload tears down the session (Cease 6/3), withdraws its routes and removes the tunnel.',
      'A customer configured by hand is refused (edit its file instead).',
    ].join('\n'),
    positionals: { min: 1, max: 1 },
    request: (pos) => ({ cmd: 'customer remove', args: { name: pos[0] } }),
    render: customer.customerRemove,
  },
  {
    words: ['customer', 'list'],
    usage: 'customer list',
    help: 'The provisioned customers (files in provisioning.directory), their circuit and session state, and the free room in the pools.',
    request: () => ({ cmd: 'customer list', args: {} }),
    render: customer.customerList,
  },
];

const GLOBAL_HELP = `usage: gredgectl [--socket PATH] [--json] COMMAND [ARGS]

commands:
${COMMANDS.map((c) => `  ${c.usage}`).join('\n')}

options:
  --socket PATH   the control socket (default: $GREDGE_SOCKET or ${DEFAULT_SOCKET})
  --json          print the daemon's answer as JSON
  --help, -h      this text; after a command, that command's help

exit codes: 0 ok, 1 the daemon answered with an error, 2 usage error, 3 not available in this build,
4 cannot connect to the daemon`;

function commandHelp(c: CommandSpec): string {
  const opts = Object.entries(c.options ?? {}).map(
    ([k, o]) => `  --${k}${o.type === 'string' ? ' VALUE' : ''}`.padEnd(24) + o.help,
  );
  return [`usage: gredgectl ${c.usage}`, '', c.help, ...(opts.length ? ['', 'options:', ...opts] : [])].join(
    '\n',
  );
}

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  env: Record<string, string | undefined>;
}

/** Runs one invocation; resolves with the exit code. */
export async function run(argv: string[], io: Io): Promise<number> {
  const usage = (msg: string, help = 'gredgectl --help'): number => {
    io.err(`gredgectl: ${msg}\n(see ${help})\n`);
    return EXIT.USAGE;
  };
  // Global options, wherever they are.
  let socket = io.env.GREDGE_SOCKET || DEFAULT_SOCKET;
  let json = false;
  let help = false;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json') json = true;
    else if (a === '--help' || a === '-h') help = true;
    else if (a === '--socket') {
      const v = argv[++i];
      if (v === undefined || v === '') return usage('--socket needs a PATH');
      socket = v;
    } else if (a.startsWith('--socket=')) socket = a.slice('--socket='.length);
    else rest.push(a);
  }
  const words = rest.filter((a) => !a.startsWith('-'));
  let spec: CommandSpec | undefined;
  for (const c of COMMANDS) {
    if (c.words.every((w, i) => words[i] === w) && (!spec || c.words.length > spec.words.length)) spec = c;
  }
  if (!spec) {
    if (help || rest.length === 0) {
      (help ? io.out : io.err)(`${GLOBAL_HELP}\n`);
      return help ? EXIT.OK : EXIT.USAGE;
    }
    return usage(`unknown command '${words.slice(0, 2).join(' ') || rest[0]}'`);
  }
  const cmdHelp = `gredgectl ${spec.words.join(' ')} --help`;
  if (help) {
    io.out(`${commandHelp(spec)}\n`);
    return EXIT.OK;
  }
  // The command's own arguments: everything after its words.
  const afterWords = [...rest];
  for (const w of spec.words) afterWords.splice(afterWords.indexOf(w), 1);
  let parsed: { values: Options; positionals: string[] };
  try {
    parsed = parseArgs({
      args: afterWords,
      options: Object.fromEntries(
        Object.entries(spec.options ?? {}).map(([k, o]) => [
          k,
          { type: o.type, multiple: o.multiple === true },
        ]),
      ),
      allowPositionals: true,
      strict: true,
    }) as { values: Options; positionals: string[] };
  } catch (err) {
    return usage((err as Error).message.split('\n')[0]!, cmdHelp);
  }
  const pos = parsed.positionals;
  const pr = spec.positionals ?? { min: 0, max: 0 };
  if (pos.length < pr.min || pos.length > pr.max)
    return usage(
      pos.length < pr.min
        ? `missing argument: gredgectl ${spec.usage}`
        : `unexpected argument '${pos[pr.max]}'`,
      cmdHelp,
    );
  if (spec.notAvailable) {
    io.err(`gredgectl: ${spec.notAvailable}\n`);
    if (json) io.out(`${JSON.stringify({ error: { code: 'not-available', message: spec.notAvailable } })}\n`);
    return EXIT.NOT_AVAILABLE;
  }
  const req = spec.request!(pos, parsed.values);
  if (typeof req === 'string') return usage(req, cmdHelp);
  // The protocol's own validation, before anything is sent.
  const check = validateRequest({ v: 1, id: 1, cmd: req.cmd, args: req.args });
  if (!check.ok) return usage(check.error.message.replace(`${req.cmd}: `, ''), cmdHelp);

  let client: ControlClient;
  try {
    client = await ControlClient.connect(socket);
  } catch (err) {
    io.err(`gredgectl: ${(err as Error).message}\n`);
    return EXIT.CANNOT_CONNECT;
  }
  try {
    // A reload (or a customer added or removed, which reloads) re-reads and checks the whole
    // config: seconds on a box with 10,000 customers. It is answered when applied; waiting 30 s
    // would report a failure while the reload goes on.
    const slow = req.cmd === 'reload' || req.cmd.startsWith('customer ');
    const r = await client.request(req.cmd, req.args, slow ? RELOAD_TIMEOUT_MS : undefined);
    if (r.ok) {
      io.out(json ? `${JSON.stringify(r.result, null, 2)}\n` : `${spec.render!(r.result)}\n`);
      return EXIT.OK;
    }
    if (json) io.out(`${JSON.stringify({ error: r.error }, null, 2)}\n`);
    io.err(`gredgectl: ${r.error.message}\n`);
    return r.error.code === 'not-available' ? EXIT.NOT_AVAILABLE : EXIT.DAEMON_ERROR;
  } catch (err) {
    io.err(`gredgectl: ${(err as Error).message}\n`);
    return EXIT.CANNOT_CONNECT;
  } finally {
    client.close();
  }
}

// Run when executed (not when imported by tests).
const self = process.argv[1] ?? '';
if (self.endsWith('gredgectl.js') || self.endsWith('gredgectl')) {
  run(process.argv.slice(2), {
    out: (s) => process.stdout.write(s),
    err: (s) => process.stderr.write(s),
    env: process.env,
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`gredgectl: ${(err as Error).stack ?? err}\n`);
      process.exitCode = 1;
    },
  );
}
