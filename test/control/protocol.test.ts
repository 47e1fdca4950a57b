/**
 * The control protocol's request validation (src/control/protocol.ts): every request is checked
 * here before the daemon sees it, so each way of getting it wrong has its error code.
 */
import t from 'tap';
import { COMMANDS, DEFAULT_ROUTE_LIMIT, parseRequest, validateRequest } from '../../src/control/protocol.js';

const req = (cmd: string, args?: unknown, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ v: 1, id: 1, cmd, ...(args === undefined ? {} : { args }), ...extra });

function errorOf(line: string): { code: string; message: string; id: unknown } {
  const p = parseRequest(line);
  if (p.ok) throw new Error(`expected an error for ${line}`);
  return { ...p.error, id: p.id };
}

t.test('valid requests get their defaults', async (t) => {
  const p = parseRequest(req('show routes'));
  t.ok(p.ok);
  if (p.ok) t.same(p.request.args, { table: 'full', refused: false, limit: DEFAULT_ROUTE_LIMIT });
  const q = parseRequest(
    req('show routes', { prefix: '2001:db8::/32', table: 'resale', neighbor: 'up', refused: true, limit: 5 }),
  );
  t.ok(q.ok);
  if (q.ok)
    t.same(q.request.args, {
      prefix: '2001:db8::/32',
      table: 'resale',
      neighbor: 'up',
      refused: true,
      limit: 5,
    });
  for (const a of ['192.0.2.1', '2001:db8::1', '0.0.0.0/0', '::/0'])
    t.ok(parseRequest(req('show routes', { prefix: a })).ok, a);
  t.ok(parseRequest(JSON.stringify({ v: 1, id: 'abc', cmd: 'status' })).ok, 'string id, no args');
  t.ok(parseRequest(req('neighbor reset', { neighbor: '192.0.2.9', soft: true })).ok, 'neighbor by address');
  const r = parseRequest(req('neighbor reset', { neighbor: 'up' }));
  if (r.ok) t.same(r.request.args, { neighbor: 'up', soft: false });
  t.ok(parseRequest(req('log level', { level: 'debug' })).ok);
  t.ok(
    parseRequest(req('reload', { check: true })).ok,
    'reload is in the protocol (the daemon says not-available)',
  );
});

t.test('malformed lines', async (t) => {
  t.equal(errorOf('{"v":1,').code, 'bad-json');
  t.equal(errorOf('not json at all').code, 'bad-json');
  t.equal(errorOf('[1,2]').code, 'bad-json');
  t.equal(errorOf('"status"').code, 'bad-json');
  t.equal(errorOf('null').code, 'bad-json');
  t.equal(errorOf(JSON.stringify({ id: 1, cmd: 'status' })).code, 'bad-request', 'no version');
  t.equal(errorOf(JSON.stringify({ v: 2, id: 1, cmd: 'status' })).code, 'unsupported-version');
  t.equal(errorOf(JSON.stringify({ v: '1', id: 1, cmd: 'status' })).code, 'bad-request');
  t.equal(errorOf(JSON.stringify({ v: 1, cmd: 'status' })).code, 'bad-request', 'no id');
  t.equal(errorOf(JSON.stringify({ v: 1, id: 1.5, cmd: 'status' })).code, 'bad-request', 'fractional id');
  t.equal(errorOf(JSON.stringify({ v: 1, id: {}, cmd: 'status' })).code, 'bad-request', 'object id');
  t.equal(errorOf(JSON.stringify({ v: 1, id: 'x'.repeat(129), cmd: 'status' })).code, 'bad-request');
  t.equal(errorOf(JSON.stringify({ v: 1, id: 1 })).code, 'bad-request', 'no cmd');
  t.equal(errorOf(JSON.stringify({ v: 1, id: 1, cmd: 7 })).code, 'bad-request');
  const extra = errorOf(JSON.stringify({ v: 1, id: 4, cmd: 'status', extra: true }));
  t.equal(extra.code, 'bad-request');
  t.equal(extra.id, 4, 'the id comes back when it was valid');
});

t.test('unknown commands', async (t) => {
  for (const cmd of ['bogus', 'show', 'show  routes', 'Status', '__proto__', 'toString', 'constructor']) {
    const e = errorOf(req(cmd));
    t.equal(e.code, 'unknown-command', cmd);
    t.equal(e.id, 1);
  }
});

t.test('bad arguments', async (t) => {
  const bad: [string, unknown, RegExp][] = [
    ['status', { verbose: true }, /unknown argument 'verbose' \(takes none\)/],
    ['status', [], /args must be an object/],
    ['status', 'x', /args must be an object/],
    ['show neighbor', {}, /neighbor is required/],
    ['show neighbor', { neighbor: '' }, /neighbor must be a neighbor name or address/],
    ['show neighbor', { neighbor: 'has space' }, /neighbor must be a neighbor name or address/],
    ['show neighbor', { neighbor: 7 }, /neighbor must be/],
    ['show routes', { prefix: '192.0.2.1/24' }, /host bits set/],
    ['show routes', { prefix: '192.0.2.0/33' }, /host bits set or a bad length/],
    ['show routes', { prefix: 'example.com' }, /is not a prefix or an address/],
    ['show routes', { prefix: '300.1.1.1' }, /is not a prefix or an address/],
    ['show routes', { table: 'main' }, /table must be one of full, resale/],
    ['show routes', { limit: 0 }, /limit must be an integer from 1 to 100000/],
    ['show routes', { limit: 1e9 }, /limit must be an integer/],
    ['show routes', { limit: '5' }, /limit must be an integer/],
    ['show routes', { refused: 'yes' }, /refused must be true or false/],
    [
      'show routes',
      { prefx: '192.0.2.0/24' },
      /unknown argument 'prefx' \(takes prefix, table, neighbor, refused, limit\)/,
    ],
    ['show tunnel', { tunnel: '../x' }, /tunnel must be a tunnel name/],
    ['neighbor reset', { neighbor: 'up', soft: 1 }, /soft must be true or false/],
    ['neighbor disable', { neighbor: 'up', message: 'x'.repeat(256) }, /message must be a non-empty string/],
    ['log level', { level: 'verbose' }, /level must be one of trace, debug, info, warn, error/],
    ['reload', { check: true, confirm: true }, /exclude each other/],
    ['reload', { confirmWithin: 0 }, /confirmWithin must be an integer/],
  ];
  for (const [cmd, args, re] of bad) {
    const e = errorOf(req(cmd, args));
    t.equal(e.code, 'bad-args', `${cmd} ${JSON.stringify(args)}`);
    t.match(e.message, re);
    t.match(e.message, new RegExp(`^${cmd}: `), 'the message names the command');
  }
});

t.test('the command table and the validator agree', async (t) => {
  for (const cmd of Object.keys(COMMANDS)) {
    const required = Object.entries(COMMANDS[cmd as keyof typeof COMMANDS].args).filter(
      ([, a]) => a.required,
    );
    const p = validateRequest({ v: 1, id: 1, cmd, args: {} });
    t.equal(p.ok, required.length === 0, `${cmd}: ${required.length} required argument(s)`);
  }
});
