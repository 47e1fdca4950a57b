/**
 * Incremental loads (src/config/incremental.ts) against the full load (load.ts), which is the
 * authority: over a few hundred random edits of a box of customers spread over a main file and
 * included files, written in every style the splitter must follow or refuse (flow and block
 * items, items at column 0, comments, CRLF, anchors and aliases, quoted scalars running over
 * lines), an incremental load from the previous load's memo gives exactly the full load's
 * config, keeps unchanged entries as the same objects, and never accepts a config the full
 * load refuses.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import {
  chunk,
  decodeMemo,
  encodeMemo,
  loadIncremental,
  type Memo,
  memoOfFull,
} from '../../src/config/incremental.js';
import { resolveReuse } from '../../src/config/reuse.js';
import { loadConfigIsolated, reusedIn } from '../../src/config/isolated.js';
import { loadConfig, type TracedFile } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { prng as rng } from '../prng.js';

type Style = 'flow' | 'block' | 'commented' | 'anchored' | 'quoted';

interface Customer {
  i: number;
  extra: boolean;
  style: Style;
  /** A bad address (the config is then invalid). */
  broken?: boolean;
}

interface Model {
  level: 'info' | 'debug';
  main: Customer[];
  /** Included files by name (conf.d/NAME.yaml). */
  files: Map<string, Customer[]>;
  indent0: boolean;
  crlf: Set<string>;
}

function tunnelText(c: Customer, ind: string): string {
  const routes = [`"2001:db8:${(0x8000 + c.i).toString(16)}::/48"`];
  if (c.extra) routes.push(`"2001:db8:${(0x4000 + c.i).toString(16)}::/48"`);
  const remote = `198.51.100.${(c.i % 250) + 2}`;
  const inner = `"2001:db8:1::${(2 * c.i).toString(16)}/127"`;
  if (c.style === 'flow' || c.style === 'anchored')
    return `${ind}- { name: t${c.i}, remote: ${remote}, key: ${c.i + 1}, inner: { local6: ${inner} }, routes: [${routes.join(', ')}] }\n`;
  const lines = [
    `${ind}- name: t${c.i}`,
    `${ind}  remote: ${remote}`,
    `${ind}  key: ${c.i + 1}`,
    `${ind}  inner:`,
    `${ind}    local6: ${inner}`,
    `${ind}  routes:`,
    ...routes.map((r) => `${ind}    - ${r}`),
  ];
  if (c.style === 'commented') lines.push(`${ind}  # customer ${c.i}`, '', '# a comment at column 0');
  return `${lines.join('\n')}\n`;
}

function neighborText(c: Customer, ind: string, first: boolean): string {
  const prefixes = [`"2001:db8:${(0x8000 + c.i).toString(16)}::/48 le 64"`];
  if (c.extra) prefixes.push(`"2001:db8:${(0x4000 + c.i).toString(16)}::/48"`);
  const address = c.broken ? '2001:db8:1::zz' : `2001:db8:1::${(2 * c.i + 1).toString(16)}`;
  const families = c.style === 'anchored' ? (first ? '&fam [ipv6-unicast]' : '*fam') : '[ipv6-unicast]';
  if (c.style === 'flow' || (c.style === 'anchored' && !first))
    return `${ind}- { name: c${c.i}, address: "${address}", remote-as: ${4_200_000_000 + c.i}, role: customer, passive: true, tunnel: t${c.i}, families: ${families}, prefixes: [${prefixes.join(', ')}] }\n`;
  const lines = [
    `${ind}- name: c${c.i}`,
    `${ind}  address: "${address}"`,
    `${ind}  remote-as: ${4_200_000_000 + c.i}`,
    `${ind}  role: customer`,
    `${ind}  tunnel: t${c.i}`,
    `${ind}  families: ${families}`,
    `${ind}  prefixes: [${prefixes.join(', ')}]`,
  ];
  // A double-quoted scalar over two lines, the second starting like an item (deeper: YAML
  // wants a continuation indented more than its mapping).
  if (c.style === 'quoted') lines.push(`${ind}  description: "customer`, `${ind}    - ${c.i}"`);
  return `${lines.join('\n')}\n`;
}

function listsText(cs: Customer[], ind: string): string {
  const anchorAt = cs.findIndex((c) => c.style === 'anchored');
  let s = cs.length ? 'tunnels:\n' : '';
  for (const c of cs) s += tunnelText(c, ind);
  if (cs.length) s += 'neighbors:\n';
  cs.forEach((c, k) => {
    s += neighborText(
      c.style === 'anchored' && anchorAt < 0 ? { ...c, style: 'flow' } : c,
      ind,
      k === anchorAt,
    );
  });
  return s;
}

function render(dir: string, m: Model): void {
  const ind = m.indent0 ? '' : '  ';
  const eol = (name: string, s: string) => (m.crlf.has(name) ? s.replace(/\n/g, '\r\n') : s);
  const head = [
    '# main file',
    'router-id: 192.0.2.1',
    'local-as: 65000',
    `log: { level: ${m.level} }`,
    'underlay: { local: 192.0.2.1 }',
    'fib: { kernel: false }',
    'bogons: ["0.0.0.0/8 le 32"]',
    'include: conf.d/*.yaml',
    '',
  ].join('\n');
  writeFileSync(join(dir, 'gredge.yaml'), eol('main', head + listsText(m.main, ind)));
  rmSync(join(dir, 'conf.d'), { recursive: true, force: true });
  mkdirSync(join(dir, 'conf.d'));
  for (const [name, cs] of m.files)
    writeFileSync(join(dir, 'conf.d', `${name}.yaml`), eol(name, listsText(cs, '  ')));
}

function full(path: string): { config: Config; memo: Memo } | { error: string } {
  const trace: TracedFile[] = [];
  try {
    const config = loadConfig(path, { trace });
    return { config, memo: memoOfFull(trace) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

const plain = (c: Config) => JSON.parse(JSON.stringify(c));

function dir(t: Test): string {
  const d = mkdtempSync(join(tmpdir(), 'gredge-incremental-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

t.test('random edits: the incremental load equals the full load, and refuses what it refuses', async (t) => {
  const d = dir(t);
  const path = join(d, 'gredge.yaml');
  const rand = rng(20261202);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const styles: Style[] = ['flow', 'flow', 'block', 'commented', 'anchored', 'quoted'];
  let next = 0;
  const fresh = (): Customer => ({ i: next++, extra: false, style: pick(styles) });
  const m: Model = {
    level: 'info',
    main: Array.from({ length: 12 }, fresh),
    files: new Map([
      ['a', [fresh(), fresh()]],
      ['b', [fresh()]],
      ['c', [fresh(), fresh(), fresh()]],
    ]),
    indent0: false,
    crlf: new Set(),
  };
  render(d, m);
  const first = full(path);
  if ('error' in first) throw new Error(first.error);
  let prev: { config: Config; memo: Memo } = first;
  let incremental = 0;
  let kept = 0;
  let refused = 0;
  const lists = (): Customer[][] => [m.main, ...m.files.values()];
  const edits: Array<[string, () => void]> = [
    [
      'change one',
      () => {
        const l = pick(lists().filter((x) => x.length));
        const c = pick(l);
        c.extra = !c.extra;
      },
    ],
    ['add one', () => pick(lists()).push(fresh())],
    [
      'remove one',
      () => {
        const l = pick(lists().filter((x) => x.length > 1));
        l.splice(Math.floor(rand() * l.length), 1);
      },
    ],
    [
      'swap two',
      () => {
        const l = m.main;
        if (l.length < 2) return;
        const a = Math.floor(rand() * l.length);
        const b = Math.floor(rand() * l.length);
        [l[a], l[b]] = [l[b]!, l[a]!];
      },
    ],
    [
      'restyle one',
      () => {
        const c = pick(
          lists()
            .filter((x) => x.length)
            .flat(),
        );
        c.style = pick(styles);
      },
    ],
    [
      'move one to a file',
      () => {
        const c = m.main.pop();
        if (c) pick([...m.files.values()]).push(c);
      },
    ],
    ['new file', () => m.files.set(`n${next}`, [fresh()])],
    [
      'drop a file',
      () => {
        const names = [...m.files.keys()];
        if (names.length > 1) m.files.delete(pick(names));
      },
    ],
    [
      'head',
      () => {
        m.level = m.level === 'info' ? 'debug' : 'info';
      },
    ],
    [
      'items at column 0',
      () => {
        m.indent0 = !m.indent0;
      },
    ],
    [
      'CRLF',
      () => {
        const name = pick(['main', ...m.files.keys()]);
        if (m.crlf.has(name)) m.crlf.delete(name);
        else m.crlf.add(name);
      },
    ],
    [
      'break one',
      () => {
        const c = pick(
          lists()
            .filter((x) => x.length)
            .flat(),
        );
        c.broken = true;
      },
    ],
    [
      'duplicate one',
      () => {
        const c = pick(m.main.length ? m.main : lists().flat());
        pick(lists()).push({ ...c });
      },
    ],
  ];
  for (let step = 0; step < 300; step++) {
    const [what, edit] = pick(edits);
    // An invalid config is undone at the next step (as an operator fixes a refused reload).
    for (const l of lists()) {
      for (const c of l) delete c.broken;
      const names = new Set<number>();
      for (let k = l.length - 1; k >= 0; k--) {
        if (names.has(l[k]!.i)) l.splice(k, 1);
        else names.add(l[k]!.i);
      }
    }
    const seen = new Set<number>();
    for (const l of lists())
      for (let k = l.length - 1; k >= 0; k--) {
        if (seen.has(l[k]!.i) && what !== 'duplicate one') l.splice(k, 1);
        seen.add(l[k]?.i ?? -1);
      }
    edit();
    render(d, m);
    const want = full(path);
    // Every other step through the memo's bytes (as a memo file carries it between loads).
    const memo = step % 2 ? decodeMemo(encodeMemo(prev.memo)) : prev.memo;
    if (memo === undefined) throw new Error('the memo did not come back from its bytes');
    const inc = loadIncremental(path, memo);
    if ('error' in want) {
      refused++;
      t.equal(inc, undefined, `step ${step} (${what}): a config the full load refuses is not accepted`);
      continue;
    }
    if (inc) {
      incremental++;
      const before = prev.config;
      const got = resolveReuse(inc.config, inc.reuse, before);
      t.same(plain(got), plain(want.config), `step ${step} (${what}): same config as the full load`);
      for (const key of ['neighbors', 'tunnels'] as const)
        inc.reuse[key].forEach((from, k) => {
          if (from >= 0) {
            kept++;
            if (got[key][k] !== before[key][from])
              t.fail(`step ${step}: ${key}[${k}] is not the previous object`);
          }
        });
      prev = { config: got, memo: inc.memo };
    } else prev = want;
  }
  t.ok(incremental > 150, `most valid steps were incremental (${incremental} of 300, ${refused} refused)`);
  t.ok(refused > 10, `refusals were exercised (${refused})`);
  t.ok(kept > 3000, `entries kept across steps: ${kept}`);
});

t.test('one customer changed among many: the others are kept, and only its text is parsed', async (t) => {
  const d = dir(t);
  const path = join(d, 'gredge.yaml');
  const cs = Array.from(
    { length: 200 },
    (_, i): Customer => ({ i, extra: false, style: i % 2 ? 'flow' : 'block' }),
  );
  const m: Model = {
    level: 'info',
    main: cs,
    files: new Map([['x', [{ i: 500, extra: false, style: 'block' }]]]),
    indent0: false,
    crlf: new Set(),
  };
  render(d, m);
  const first = full(path);
  if ('error' in first) throw new Error(first.error);
  cs[77]!.extra = true;
  render(d, m);
  const inc = loadIncremental(path, first.memo);
  if (!inc) throw new Error('not incremental');
  t.same(
    [...inc.reuse.tunnels].map((x, k) => (x < 0 ? k : -1)).filter((k) => k >= 0),
    [77],
    'only tunnel 77 is read again',
  );
  t.same([...inc.reuse.neighbors].filter((x) => x < 0).length, 1, 'and only its neighbor');
  t.equal(inc.config.tunnels[78], null, 'kept entries come back empty, to be put back by the daemon');
  const got = resolveReuse(inc.config, inc.reuse, first.config);
  t.same(plain(got), plain(loadConfig(path)));
  t.same(got.tunnels[77]!.routes.length, 2);
  // An unchanged included file is not parsed at all; the same holds for the main file.
  const again = loadIncremental(path, decodeMemo(encodeMemo(inc.memo))!);
  if (!again) throw new Error('not incremental');
  t.same([...again.reuse.tunnels].filter((x) => x < 0).length, 0, 'nothing read again when nothing changed');
  t.throws(
    () => resolveReuse(again.config, again.reuse, { ...got, tunnels: got.tunnels.slice(0, 10) }),
    /does not fit/,
  );
});

t.test('chunk: items of top-level block lists, and what it does not follow', async (t) => {
  const text =
    'a: 1\nneighbors:\n  - x: 1\n    y: 2\n\n  # c\n  - { x: 2 }\ntunnels:\n- q: 1\n  r: 2\n- q: 2\nz: 3\n';
  const cs = chunk(text);
  t.same(
    cs?.map((c) => [c.key, text.slice(c.start, c.end)]),
    [
      ['neighbors', '  - x: 1\n    y: 2\n\n  # c\n'],
      ['neighbors', '  - { x: 2 }\n'],
      ['tunnels', '- q: 1\n  r: 2\n'],
      ['tunnels', '- q: 2\n'],
    ],
  );
  t.same(chunk('neighbors: [{ a: 1 }]\n'), [], 'a flow list has no items to split');
  t.equal(chunk('---\nneighbors:\n  - a\n'), undefined, 'document markers');
  t.equal(chunk('%YAML 1.2\n---\na: 1\n'), undefined, 'directives');
  t.equal(chunk('neighbors:\n\t- a\n'), undefined, 'tab indentation');
  t.equal(chunk('neighbors:\n    - a\n  b: 1\n'), undefined, 'a line indented less than the items');
});

t.test('through the loader child: entries kept are the running objects, counted', async (t) => {
  const d = dir(t);
  const path = join(d, 'gredge.yaml');
  const cs = Array.from({ length: 20 }, (_, i): Customer => ({ i, extra: false, style: 'block' }));
  const m: Model = { level: 'info', main: cs, files: new Map(), indent0: false, crlf: new Set() };
  render(d, m);
  const a = await loadConfigIsolated(path);
  t.equal(reusedIn(a), undefined, 'a first load reads everything');
  cs[3]!.extra = true;
  render(d, m);
  const b = await loadConfigIsolated(path, { previous: a });
  t.same(reusedIn(b), { neighbors: 19, tunnels: 19 });
  t.equal(b.tunnels[0], a.tunnels[0], 'an unchanged tunnel is the same object');
  t.not(b.tunnels[3], a.tunnels[3]);
  t.same(plain(b), plain(loadConfig(path)));
  // A refused config gives the full load's messages, positions and all.
  cs[5]!.broken = true;
  render(d, m);
  const err = await loadConfigIsolated(path, { previous: b }).catch((e: Error) => e);
  t.match((err as Error).message, /gredge\.yaml:\d+:\d+: neighbors\[5\]\.address/);
  // A config without a memo (another process's, say) loads in full.
  const c = await loadConfigIsolated(path.replace('gredge.yaml', 'gredge.yaml'), {
    previous: plain(b),
  }).catch((e: Error) => e);
  t.ok(c instanceof Error, 'still refused in full');
});
