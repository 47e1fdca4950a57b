/**
 * The bench report (issue 13, done-means 2): rendered from test/fixtures/bench (real small runs
 * of the four first benches, hand-written envelopes for the new ones, a manifest with one bench
 * failed and one never run), opened in headless Chromium, and checked in the DOM Chromium gives
 * after its scripts ran:
 *   - every plot drew: each series is a path with as many vertices as the JSON has points, the
 *     values and their places in the JSON agree with the file, the box Chromium laid it out in is
 *     not degenerate and lies inside the plot;
 *   - every figure shown equals the JSON: each table cell's text, read as a reader reads it,
 *     is the file's value to the precision shown (three significant digits);
 *   - the failed bench is shown as failed, the bench never run as not run;
 *   - the page fetched nothing: no URL in it, no resource loaded, no fetch refused by its policy.
 * Without Chromium, a JSON file the report cannot read is shown as invalid; and the suite runner
 * (`npm run bench`) runs what it is asked, records a failing bench and still renders the report.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import t from 'tap';
import type { Manifest } from '../../bench/report/catalog.js';
import { renderReport } from '../../bench/report/render.js';
import { cannotRun } from '../must-run.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const FIXTURES = join(ROOT, 'test/fixtures/bench');

function chromiumPath(): string | undefined {
  for (const c of ['chromium', 'chromium-browser']) {
    try {
      return execFileSync('sh', ['-c', `command -v ${c}`], { encoding: 'utf8' }).trim() || undefined;
    } catch {
      // not this one
    }
  }
  return undefined;
}

// ---------------------------------------------------------------- reading the dumped DOM

const decode = (s: string): string =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&nbsp;/g, '\u00a0')
    .replace(/&amp;/g, '&');

interface Tag {
  name: string;
  attrs: Record<string, string>;
  /** Index just after the start tag. */
  end: number;
}

function tags(html: string, name: string): Tag[] {
  const out: Tag[] = [];
  const re = new RegExp(`<${name}(\\s[^>]*)?>`, 'g');
  for (let m = re.exec(html); m; m = re.exec(html)) {
    const attrs: Record<string, string> = {};
    for (const a of (m[1] ?? '').matchAll(/([\w:-]+)(?:="([^"]*)")?/g)) attrs[a[1]!] = decode(a[2] ?? '');
    out.push({ name, attrs, end: m.index + m[0].length });
  }
  return out;
}

const textAfter = (html: string, tag: Tag, close: string): string =>
  decode(html.slice(tag.end, html.indexOf(close, tag.end)).replace(/<[^>]*>/g, '')).trim();

// ---------------------------------------------------------------- the JSON side

function resolvePath(json: unknown, path: string): unknown {
  let v: unknown = json;
  for (const k of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

/** A cell's source in its bench's JSON: a path, or `a / b`; null when the file has no number. */
function sourceValue(json: unknown, source: string, scale: number): number | null {
  const one = (p: string) => {
    const v = resolvePath(json, p.trim());
    return typeof v === 'number' && Number.isFinite(v) ? v : null;
  };
  const [a, b] = source.split(' / ');
  const x = one(a!);
  if (b === undefined) return x === null ? null : x * scale;
  const y = one(b);
  return x === null || y === null || y === 0 ? null : (x / y) * scale;
}

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

/**
 * The text a reader sees against the value: equal to the precision written (half a unit of its
 * last digit), and written with at least three significant digits, or as a whole number from 100,
 * or exactly (a count).
 */
function shownMatches(text: string, value: number): string | null {
  const s = text.replace(/^×/, '').replace(/,/g, '');
  if (!/^-?\d+(\.\d+)?$/.test(s)) return `"${text}" is not a number`;
  const shown = Number(s);
  const decimals = s.includes('.') ? s.split('.')[1]!.length : 0;
  const tol = 0.5 * 10 ** -decimals * (1 + 1e-9);
  if (Math.abs(shown - value) > tol) return `"${text}" shows ${value}`;
  const digits = s.replace(/^-/, '').replace('.', '').replace(/^0+/, '').length;
  if (value !== 0 && digits < 3 && !(decimals === 0 && (Math.abs(shown) >= 100 || shown === value)))
    return `"${text}" shows ${value} with fewer than 3 significant digits`;
  return null;
}

// ---------------------------------------------------------------- chromium

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) if (c.pid) killGroup(c.pid);
});

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // ended already
  }
}

/** Chromium's DOM of `file` after its scripts ran; its own process group, ended whatever happens. */
function dumpDom(chromium: string, file: string, profile: string, timeoutMs: number): Promise<string> {
  return new Promise((res, rej) => {
    const child = spawn(
      chromium,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-extensions',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--user-data-dir=${profile}`,
        '--dump-dom',
        pathToFileURL(file).href,
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
        env: { ...process.env, HOME: profile, XDG_CONFIG_HOME: profile, XDG_CACHE_HOME: profile },
      },
    );
    children.add(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    const timer = setTimeout(() => {
      killGroup(child.pid!);
      rej(new Error(`chromium did not finish within ${timeoutMs} ms; stderr: ${err.slice(-800)}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      // The browser's helpers (zygote, GPU, network service) share its group: none outlives it.
      killGroup(child.pid!);
      children.delete(child);
      if (code === 0 && out.includes('</html>')) res(out);
      else rej(new Error(`chromium exited ${code}; stderr: ${err.slice(-800)}`));
    });
  });
}

// ---------------------------------------------------------------- the test

t.test('the bench report in headless Chromium shows the plots and the JSON’s figures', async (t) => {
  const chromium = chromiumPath();
  if (!chromium) return cannotRun(t, 'chromium is not installed (apt-get install chromium)');
  const dir = mkdtempSync(join(tmpdir(), 'gredge-report-'));
  const profile = mkdtempSync(join(tmpdir(), 'gredge-chromium-'));
  t.teardown(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(profile, { recursive: true, force: true });
  });
  cpSync(FIXTURES, dir, { recursive: true });
  const { file, views } = renderReport(dir);
  const json: Record<string, unknown> = {};
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'manifest.json'))
    json[f.replace(/\.json$/, '')] = JSON.parse(readFileSync(join(dir, f), 'utf8'));

  const status = Object.fromEntries(views.map((v) => [v.name, v.status]));
  t.same(
    status,
    {
      'bgp-propagation': 'ok',
      fib: 'ok',
      dataplane: 'ok',
      rpki: 'ok',
      sessions: 'ok',
      memory: 'missing',
      tunnels: 'failed',
      churn: 'ok',
    },
    'every bench of the catalog is in the report, with its state',
  );

  // Nothing the page could fetch, in the file itself.
  const source = readFileSync(file, 'utf8');
  t.notMatch(
    source,
    /\b(?:src|srcset|action|poster|data)\s*=|\bhref\s*=\s*"(?!#)/i,
    'no element refers to a resource (links only to places in the page)',
  );
  t.notMatch(
    source,
    /url\(|@import|https?:\/\/|\/\/[a-z0-9.-]+\.[a-z]{2,}\//i,
    'no URL anywhere in the page',
  );
  t.match(source, /Content-Security-Policy" content="default-src 'none'/, 'a policy forbids any fetch');

  const dom = await dumpDom(chromium, file, profile, 45_000);
  const html = tags(dom, 'html')[0]!;
  t.equal(html.attrs['data-rendered'], '1', 'the page’s script ran in Chromium (layout done)');
  t.equal(html.attrs['data-resources'], '0', 'the page loaded no resource');
  t.equal(html.attrs['data-csp-violations'], '0', 'the page tried no fetch');

  // ---- figures: every cell against its bench's JSON
  const cells = tags(dom, 'td').filter((c) => c.attrs['data-figure']);
  const perBench = new Map<string, number>();
  let checked = 0;
  for (const c of cells) {
    const bench = c.attrs['data-figure']!.split('.')[0]!;
    perBench.set(bench, (perBench.get(bench) ?? 0) + 1);
    const where = `${c.attrs['data-figure']} ${c.attrs['data-column']}`;
    const src = c.attrs['data-source'];
    const text = textAfter(dom, c, '</td>');
    if (!src) {
      t.equal(text, '—', `${where}: a value without a source in the file is shown as missing`);
      continue;
    }
    // The column says whose number it is; so must the place it comes from.
    const whose = { gredged: /gredge/, ref: /bird|kernel/, ratio: /ratio|gredge.* \/ .*(bird|kernel)/ }[
      c.attrs['data-column'] as 'gredged' | 'ref' | 'ratio'
    ];
    if (bench !== 'rpki' && !whose.test(src)) t.fail(`${where}: comes from ${src}`);
    const expected = sourceValue(json[bench], src, Number(c.attrs['data-scale'] ?? 1));
    if (expected === null) {
      if (text !== '—' || c.attrs['data-value'] !== '')
        t.fail(`${where}: ${src} holds no number but "${text}"`);
      continue;
    }
    if (!close(Number(c.attrs['data-value']), expected))
      t.fail(`${where}: data-value ${c.attrs['data-value']} but ${src} is ${expected}`);
    const wrong = shownMatches(text, expected);
    if (wrong) t.fail(`${where}: ${wrong} (${src})`);
    else checked++;
  }
  t.ok(checked > 60, `${checked} figures shown equal their JSON values`);
  for (const b of ['bgp-propagation', 'fib', 'dataplane', 'rpki', 'sessions', 'churn'])
    t.ok((perBench.get(b) ?? 0) > 0, `${b}: figures shown`);
  // The envelope's figures are all in their section; the headline table has those compared
  // with BIRD (up to six), so a figure with a BIRD value is there.
  const headlineEnd = dom.indexOf('</table>', dom.indexOf('data-table="headline"'));
  for (const b of ['sessions', 'churn']) {
    for (const f of (json[b] as { figures: { id: string; bird: number | null }[] }).figures) {
      const n = cells.filter(
        (c) => c.attrs['data-figure'] === `${b}.${f.id}` && c.attrs['data-column'] === 'gredged',
      );
      t.equal(n.filter((c) => c.end > headlineEnd).length, 1, `${b}.${f.id} in its section`);
      if (f.bird !== null)
        t.equal(n.filter((c) => c.end < headlineEnd).length, 1, `${b}.${f.id} in the headline table`);
    }
  }
  for (const b of ['bgp-propagation', 'fib', 'dataplane', 'rpki', 'sessions', 'churn'])
    t.ok(
      cells.some((c) => c.end < headlineEnd && c.attrs['data-figure']!.startsWith(`${b}.`)),
      `${b}: in the headline table`,
    );
  const bgp = json['bgp-propagation'] as { results: { prefixes: number }[] };
  for (const r of bgp.results)
    t.ok(
      cells.some((c) => c.attrs['data-figure'] === `bgp-propagation.seconds@${r.prefixes}`),
      `bgp-propagation: time at ${r.prefixes} prefixes shown`,
    );

  // ---- plots: every series drawn, point for point
  const figures = tags(dom, 'figure').filter((f) => f.attrs['data-plot']);
  const plotIds = figures.map((f) => f.attrs['data-plot']);
  for (const want of [
    'bgp-propagation.time',
    'bgp-propagation.rss',
    'fib.times',
    'dataplane.tcp',
    'dataplane.udp',
    'rpki.states',
    'sessions.established_over_time',
    'sessions.rss_vs_sessions',
    'churn.lag',
  ])
    t.ok(plotIds.includes(want), `plot ${want} is in the page`);
  let series = 0;
  for (let i = 0; i < figures.length; i++) {
    const fig = figures[i]!;
    const id = fig.attrs['data-plot']!;
    const bench = id.split('.')[0]!;
    const body = dom.slice(fig.end, dom.indexOf('</figure>', fig.end));
    const paths = tags(body, 'path').filter((p) => p.attrs['data-series'] !== undefined);
    t.ok(paths.length > 0, `${id}: has series`);
    const svg = tags(body, 'svg')[0]!;
    const [, , vw, vh] = svg.attrs.viewBox!.split(' ').map(Number) as [number, number, number, number];
    for (const p of paths) {
      series++;
      const where = `${id} / ${p.attrs['data-series']}`;
      const pts = (p.attrs['data-points'] ?? '')
        .split(' ')
        .filter(Boolean)
        .map((s) => s.split(',').map(Number) as [number, number]);
      const d = p.attrs.d ?? '';
      const vertices = (d.match(p.attrs['data-kind'] === 'bar' ? /M/g : /[ML]/g) ?? []).length;
      t.equal(vertices, pts.length, `${where}: one vertex per point (${pts.length})`);
      // The file's points for this series, from the sources.
      const ys = (p.attrs['data-y-sources'] ?? '').split(' ').filter(Boolean);
      const xs = (p.attrs['data-x-sources'] ?? '').split(' ').filter(Boolean);
      t.equal(ys.length, pts.length, `${where}: every point has its place in the JSON`);
      const scale = Number(p.attrs['data-scale'] ?? 1);
      // A series named for a daemon is drawn from that daemon's numbers.
      const owner = /^gredged?$/.test(p.attrs['data-series']!)
        ? /gredge/
        : p.attrs['data-series'] === 'BIRD 2'
          ? /bird/
          : p.attrs['data-series'] === 'kernel routing'
            ? /kernel/
            : /./;
      if (!['sessions', 'churn', 'rpki'].includes(bench))
        t.ok(
          ys.every((y) => owner.test(y)),
          `${where}: drawn from ${owner.source === '.' ? 'its' : owner.source} numbers`,
        );
      const bad = pts.filter(
        ([x, y], k) =>
          !close(y, sourceValue(json[bench], ys[k]!, scale) ?? Number.NaN) ||
          (xs.length > 0 && !close(x, sourceValue(json[bench], xs[k]!, 1) ?? Number.NaN)),
      );
      t.same(bad, [], `${where}: the points drawn are the JSON's`);
      // Drawn by Chromium: a box of real size inside the SVG.
      const [bx, by, bw, bh] = (p.attrs['data-bbox'] ?? '').split(' ').map(Number) as number[];
      t.ok(p.attrs['data-bbox'] !== undefined, `${where}: Chromium laid it out`);
      const distinct = new Set(pts.map(([x, y]) => `${x},${y}`)).size;
      if (distinct >= 2 || p.attrs['data-kind'] === 'bar')
        t.ok(bw! > 0 && bh! > 0, `${where}: drawn over ${bw}×${bh} px, not degenerate`);
      t.ok(
        bx! >= 0 && by! >= 0 && bx! + bw! <= vw && by! + bh! <= vh,
        `${where}: inside the plot (${bx},${by} ${bw}×${bh} in ${vw}×${vh})`,
      );
      const coords = (d.match(/-?\d+(\.\d+)?/g) ?? []).map(Number);
      t.ok(
        coords.every((c) => Number.isFinite(c)),
        `${where}: path coordinates are numbers`,
      );
    }
    t.match(body, /data-axis="x"/, `${id}: x axis labelled`);
    t.match(body, /data-axis="y"[^>]*>[^<]*\S/, `${id}: y axis labelled`);
    t.match(body, /data-legend=/, `${id}: legend`);
  }
  // Plots of the envelope: each of the file's series with all its points.
  for (const b of ['sessions', 'churn']) {
    const env = json[b] as { plots: { id: string; series: { name: string; points: unknown[] }[] }[] };
    for (const pl of env.plots) {
      const fig = figures.find((f) => f.attrs['data-plot'] === `${b}.${pl.id}`)!;
      const body = dom.slice(fig.end, dom.indexOf('</figure>', fig.end));
      for (const s of pl.series) {
        const p = tags(body, 'path').find((x) => x.attrs['data-series'] === s.name);
        t.equal(
          Number(p?.attrs['data-count']),
          s.points.length,
          `${b}.${pl.id}: ${s.name} has all its points`,
        );
      }
    }
  }
  // bgp-propagation: both daemons against table size, one point per size.
  const time = figures.find((f) => f.attrs['data-plot'] === 'bgp-propagation.time')!;
  const timeBody = dom.slice(time.end, dom.indexOf('</figure>', time.end));
  for (const name of ['gredged', 'BIRD 2'])
    t.equal(
      Number(tags(timeBody, 'path').find((x) => x.attrs['data-series'] === name)?.attrs['data-count']),
      bgp.results.length,
      `propagation time: ${name} at every table size`,
    );
  t.ok(series >= 20, `${series} series checked`);

  // ---- the benches that did not give results
  const sections = Object.fromEntries(
    tags(dom, 'section').map((s) => [s.attrs['data-bench'], s.attrs['data-bench-status']]),
  );
  t.equal(sections.memory, 'missing', 'memory (no file, no record) is shown as not run');
  t.equal(sections.tunnels, 'failed', 'tunnels (failed in the manifest) is shown as failed');
  const sectionText = (name: string) => {
    const s = tags(dom, 'section').find((x) => x.attrs['data-bench'] === name)!;
    return decode(dom.slice(s.end, dom.indexOf('</section>', s.end)).replace(/<[^>]*>/g, ' '));
  };
  t.match(sectionText('memory'), /NOT RUN[\s\S]*memory\.json is not in/, 'memory: says what is missing');
  t.match(sectionText('tunnels'), /FAILED[\s\S]*exited with code 1/, 'tunnels: says it failed and how');
  t.match(
    sectionText('tunnels'),
    /gredged exited \(1\) before it listened/,
    'tunnels: the end of its output',
  );
  const headRows = tags(dom, 'tr').filter((r) => r.attrs['data-bench-status']);
  t.same(
    headRows.map((r) => [r.attrs['data-bench'], r.attrs['data-bench-status']]).sort(),
    [
      ['memory', 'missing'],
      ['tunnels', 'failed'],
    ],
    'the headline table names the benches without results',
  );
});

t.test(
  'a bench whose JSON is not what the report reads is shown as invalid, a skipped one as skipped',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'gredge-report-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const original = readFileSync(join(FIXTURES, 'churn.json'), 'utf8');
    const churn = JSON.parse(original);
    churn.figures[0].gredged = 'fast';
    writeFileSync(join(dir, 'churn.json'), JSON.stringify(churn));
    writeFileSync(join(dir, 'fib.json'), '{"bench": "fib", ');
    // A valid envelope, under the wrong bench's name.
    writeFileSync(join(dir, 'sessions.json'), original);
    writeFileSync(
      join(dir, 'manifest.json'),
      JSON.stringify({
        started: '2026-12-02T00:00:00Z',
        quick: false,
        host: { cpus: 2, loadavg: [0, 0, 0], kernel: 'k', node: 'v20' },
        benches: { rpki: { status: 'skipped', message: '--skip rpki' } },
      }),
    );
    const { file, views } = renderReport(dir);
    const v = Object.fromEntries(views.map((x) => [x.name, x]));
    t.equal(v.churn!.status, 'invalid');
    t.match(v.churn!.reason, /figures\.0\.gredged/, 'says which field is wrong');
    t.equal(v.fib!.status, 'invalid');
    t.match(v.fib!.reason, /not JSON/);
    t.equal(v.sessions!.status, 'invalid');
    t.match(v.sessions!.reason, /"bench" is "churn", expected "sessions"/);
    t.equal(v.rpki!.status, 'skipped');
    t.equal(v['bgp-propagation']!.status, 'missing');
    const html = readFileSync(file, 'utf8');
    t.match(html, /data-bench="churn" data-bench-status="invalid"/);
    t.match(html, /INVALID RESULTS/);
    t.ok(existsSync(file));
  },
);

t.test(
  'npm run bench runs the benches it is asked for, records a failure and still renders the report',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'gredge-bench-all-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    // rpki at a tiny size (a second), bgp-propagation with a flag it refuses (fails at once).
    const r = spawnSync(
      process.execPath,
      [
        join(ROOT, 'dist/bench/all/run.js'),
        '--only',
        'rpki,bgp-propagation',
        '--with',
        'rpki=--vrps 5000 --routes 5000',
        '--with',
        'bgp-propagation=--no-such-flag',
        '--out',
        dir,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    t.equal(r.status, 1, 'exit status 1: a bench failed');
    t.match(r.stdout, new RegExp(`report: ${join(dir, 'report.html')}`), 'says where the report is');
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
    t.equal(m.benches.rpki?.status, 'ok');
    t.same(
      m.benches.rpki?.argv?.slice(1, 3),
      ['--expose-gc', 'dist/bench/rpki/run.js'],
      'rpki with its node flag',
    );
    t.equal(m.benches['bgp-propagation']?.status, 'failed');
    t.equal(m.benches['bgp-propagation']?.exitCode, 1);
    t.match(m.benches['bgp-propagation']?.tail?.join('\n'), /no-such-flag/, 'the end of its output kept');
    t.equal(m.benches.fib?.status, 'skipped');
    const rpki = JSON.parse(readFileSync(join(dir, 'rpki.json'), 'utf8'));
    t.equal(rpki.vrps, 5000, 'rpki.json is what the bench printed');
    t.ok(existsSync(join(dir, 'logs/bgp-propagation.log')), 'each bench has its log');
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    t.match(html, /<section id="bgp-propagation" data-bench="bgp-propagation" data-bench-status="failed">/);
    t.match(html, /<section id="rpki" data-bench="rpki" data-bench-status="ok">/);
    t.match(html, /<section id="fib" data-bench="fib" data-bench-status="skipped">/);
  },
);
