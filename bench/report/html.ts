/**
 * The report page: one HTML file with its CSS, its plots (inline SVG, svg.ts) and a few lines
 * of script inline, nothing fetched (a Content-Security-Policy forbids any fetch, so a later
 * edit that adds one breaks visibly rather than phoning out from a reader's browser).
 *
 * The script is not needed to read the page. It records, after layout, what the browser drew:
 * each series path's bounding box (`data-bbox`), the resources the page loaded
 * (`data-resources` on <html>) and the fetches the policy refused (`data-csp-violations`),
 * so that the report test can check the rendered page and not only the markup.
 *
 * Every number shown in a table sits in a cell with `data-figure="bench.id"`, `data-column`
 * (gredged | ref | ratio), `data-value` (the number, unrounded, in the unit shown) and
 * `data-source` (its place in the bench's JSON file; see model.ts).
 */
import { BENCHES, type Manifest } from './catalog.js';
import { escapeHtml as esc, formatDate, formatNumber, formatRatio } from './format.js';
import type { BenchView, Figure, Sourced } from './model.js';
import { renderPlot } from './svg.js';

const CSS = `
:root { color-scheme: light; --ink:#1d2330; --muted:#5c6575; --line:#d6dae1; --bg:#f6f7f9; --ok:#1e7a3c; --bad:#b3261e; --warn:#9a6700; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--ink); background: #fff; }
header, main, footer { max-width: 1120px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 28px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 36px 0 6px; padding-top: 12px; border-top: 1px solid var(--line); }
h3 { font-size: 16px; margin: 20px 0 6px; }
.meta, .muted { color: var(--muted); font-size: 13px; }
.status { display: inline-block; font-size: 12px; font-weight: 600; padding: 1px 8px; border-radius: 10px; vertical-align: middle; margin-left: 8px; }
.status.ok { background: #e3f3e8; color: var(--ok); }
.status.failed, .status.invalid { background: #fbe4e2; color: var(--bad); }
.status.missing, .status.skipped { background: #fff3d6; color: var(--warn); }
table { border-collapse: collapse; width: 100%; margin: 8px 0 16px; font-size: 14px; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: var(--bg); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.unit { color: var(--muted); white-space: nowrap; }
tr.group th { background: #fff; padding-top: 14px; font-size: 15px; border-bottom: 1px solid #aab1bd; }
tr.group .muted { font-weight: 400; margin-left: 8px; }
a.bench-link { color: inherit; text-decoration: none; }
.plots { display: flex; flex-wrap: wrap; gap: 12px 20px; }
figure.plot { margin: 0; flex: 1 1 480px; max-width: 560px; }
figure.plot figcaption { font-weight: 600; margin: 8px 0 2px; }
svg { width: 100%; height: auto; font-size: 13px; background: #fff; }
svg .grid { stroke: #eceef2; }
svg .axis { stroke: #8a93a3; }
svg .tick, svg .bar-value { fill: #4a5364; }
svg .axis-label { fill: var(--ink); font-weight: 600; }
svg .legend-item text { fill: var(--ink); }
pre.tail { background: var(--bg); padding: 8px; overflow-x: auto; font-size: 12px; max-height: 240px; }
.notes p { margin: 4px 0; }
.summary span { margin-right: 14px; }
@media print { h2 { break-before: page; } }
`;

/** Runs before anything else: counts refused fetches from the start. */
const HEAD_SCRIPT = `(function(){var n=0;document.addEventListener('securitypolicyviolation',function(){n++;document.documentElement.setAttribute('data-csp-violations',String(n));});document.documentElement.setAttribute('data-csp-violations','0');})();`;

/** Runs after the body is parsed: getBBox() forces layout, so the boxes are what was drawn. */
const TAIL_SCRIPT = `(function(){function mark(){var ps=document.querySelectorAll('path[data-series]');for(var i=0;i<ps.length;i++){var b=ps[i].getBBox();ps[i].setAttribute('data-bbox',[b.x,b.y,b.width,b.height].map(function(v){return Math.round(v*100)/100;}).join(' '));}document.documentElement.setAttribute('data-resources',String(performance.getEntriesByType('resource').length));document.documentElement.setAttribute('data-rendered','1');}mark();window.addEventListener('load',mark);})();`;

const CSP =
  "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

function cell(bench: string, f: Figure, column: 'gredged' | 'ref' | 'ratio', s: Sourced): string {
  const text = column === 'ratio' ? formatRatio(s.value) : formatNumber(s.value);
  const attrs =
    `data-figure="${esc(`${bench}.${f.id}`)}" data-column="${column}" data-value="${s.value ?? ''}"` +
    (s.source ? ` data-source="${esc(s.source)}"` : '') +
    (s.scale !== undefined ? ` data-scale="${s.scale}"` : '');
  return `<td class="num" ${attrs}>${esc(text)}</td>`;
}

function figureRow(v: BenchView, f: Figure, inHeadline: boolean): string {
  const ref = v.refName ? cell(v.name, f, 'ref', f.ref) : '<td class="num muted">—</td>';
  return (
    `<tr data-bench="${esc(v.name)}">` +
    `<td>${esc(f.label)}${f.note ? `<div class="muted">${esc(f.note)}</div>` : ''}</td>` +
    `<td class="unit">${esc(f.unit)}</td>` +
    cell(v.name, f, 'gredged', f.gredged) +
    (inHeadline ? `<td class="muted">${esc(v.refName || '—')}</td>` : '') +
    ref +
    cell(v.name, f, 'ratio', f.ratio) +
    '</tr>'
  );
}

function measuredShort(v: BenchView): string {
  const load = v.host?.loadavg?.[0];
  return `${formatDate(v.date)}${load !== undefined ? `, load ${load.toFixed(2)}` : ''}${v.host?.cpus ? ` on ${v.host.cpus} CPUs` : ''}`;
}

const STATUS_TEXT: Record<BenchView['status'], string> = {
  ok: 'measured',
  failed: 'FAILED',
  invalid: 'INVALID RESULTS',
  missing: 'NOT RUN',
  skipped: 'SKIPPED',
};

function statusBadge(v: BenchView): string {
  return `<span class="status ${v.status}" data-status="${v.status}">${STATUS_TEXT[v.status]}</span>`;
}

function headline(views: BenchView[]): string {
  const rows = views.map((v) => {
    const info = BENCHES.find((b) => b.name === v.name)!;
    const hl = v.figures.filter((f) => f.headline);
    const title = `<a class="bench-link" href="#${esc(v.name)}">${esc(info.title)}</a>`;
    if (v.status === 'ok')
      return (
        `<tr class="group"><th colspan="6">${title} <span class="muted">${esc(measuredShort(v))}</span></th></tr>` +
        hl.map((f) => figureRow(v, f, true)).join('')
      );
    const partial = v.status === 'failed' && hl.length > 0;
    return (
      `<tr class="group not-ok" data-bench="${esc(v.name)}" data-bench-status="${v.status}"><th colspan="6">${title} ${statusBadge(v)} ` +
      `<span class="muted">${esc(v.reason ?? '')}${partial ? ' (partial results below)' : ''}</span></th></tr>` +
      (partial ? hl.map((f) => figureRow(v, f, true)).join('') : '')
    );
  });
  return (
    '<table class="headline" data-table="headline"><thead><tr><th>figure</th><th>unit</th>' +
    '<th class="num">gredged</th><th>compared with</th><th class="num">their figure</th><th class="num">gredged / theirs</th></tr></thead>' +
    `<tbody>${rows.join('')}</tbody></table>`
  );
}

function hostLine(v: BenchView): string {
  const h = v.host ?? {};
  const parts = [`measured ${formatDate(v.date)}${v.dateFrom ? ` (${v.dateFrom})` : ''}`];
  if (h.cpus) parts.push(`${h.cpus} CPUs`);
  if (h.loadavg?.length) parts.push(`load average ${h.loadavg.map((x) => x.toFixed(2)).join(', ')}`);
  if (h.kernel) parts.push(`kernel ${h.kernel}`);
  if (h.node) parts.push(`Node ${h.node}`);
  if (h.bird) parts.push(`BIRD ${h.bird}`);
  if (h.gobgp) parts.push(`GoBGP ${h.gobgp}`);
  if (v.file) parts.push(`from ${v.file}`);
  return parts.join(' · ');
}

function section(v: BenchView): string {
  const info = BENCHES.find((b) => b.name === v.name)!;
  const out: string[] = [];
  out.push(
    `<section id="${esc(v.name)}" data-bench="${esc(v.name)}" data-bench-status="${v.status}">`,
    `<h2>${esc(info.title)} ${statusBadge(v)}</h2>`,
    `<p>${esc(info.measures)} <span class="muted">(<code>npm run ${esc(info.script)}</code>, ${esc(info.fullTime)} at full size)</span></p>`,
  );
  if (v.status !== 'ok')
    out.push(`<p class="reason" data-reason><strong>${esc(v.reason ?? '')}</strong></p>`);
  if (v.tail?.length) out.push(`<pre class="tail">${esc(v.tail.join('\n'))}</pre>`);
  if (v.figures.length > 0 || v.plots.length > 0) {
    out.push(`<p class="meta">${esc(hostLine(v))}</p>`);
    const params = Object.entries(v.params);
    if (params.length)
      out.push(
        `<p class="meta">parameters: ${params.map(([k, x]) => `${esc(k)} = ${esc(String(x))}`).join('; ')}</p>`,
      );
    if (v.notes.length)
      out.push(`<div class="notes">${v.notes.map((n) => `<p>${esc(n)}</p>`).join('')}</div>`);
    if (v.plots.length)
      out.push(`<div class="plots">${v.plots.map((p) => renderPlot(v.name, p)).join('')}</div>`);
    out.push(
      `<h3>Figures</h3><table class="figures" data-table="${esc(v.name)}"><thead><tr><th>figure</th><th>unit</th>` +
        `<th class="num">gredged</th><th class="num">${esc(v.refName || 'reference')}</th><th class="num">gredged / ${esc(v.refName || 'reference')}</th></tr></thead>` +
        `<tbody>${v.figures.map((f) => figureRow(v, f, false)).join('')}</tbody></table>`,
    );
  }
  out.push('</section>');
  return out.join('\n');
}

export interface PageMeta {
  generated: string;
  resultsDir: string;
  manifest?: Manifest;
}

export function page(views: BenchView[], meta: PageMeta): string {
  const count = (s: BenchView['status']) => views.filter((v) => v.status === s).length;
  const m = meta.manifest;
  const run = m
    ? `Suite run started ${formatDate(m.started)}${m.finished ? `, finished ${formatDate(m.finished)}` : ''}${m.quick ? ' — QUICK SIZES (for checking the suite, not for decisions)' : ''}; host ${m.host.cpus} CPUs, kernel ${m.host.kernel}, Node ${m.host.node}, load average at start ${m.host.loadavg.map((x) => x.toFixed(2)).join(', ')}.`
    : 'No suite manifest: these results were not written by one `npm run bench` (each bench’s date is its own).';
  return `<!DOCTYPE html>
<html lang="en"${m?.quick ? ' data-quick="1"' : ''}>
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>gredge benchmark report</title>
<script>${HEAD_SCRIPT}</script>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>gredge benchmark report</h1>
<p class="meta">Generated ${esc(formatDate(meta.generated))} from <code>${esc(meta.resultsDir)}</code>. ${esc(run)}</p>
<p class="summary" data-summary><span>${views.length} benches</span><span>${count('ok')} measured</span><span>${count('failed')} failed</span><span>${count('invalid')} invalid</span><span>${count('missing')} not run</span><span>${count('skipped')} skipped</span></p>
</header>
<main>
<h2 id="headline">Headline figures</h2>
<p>Each row is one figure: gredged’s, the same measured on the reference in the same run (BIRD 2.0 for the control plane, plain kernel routing for the data plane), and the ratio gredged / reference. For times, memory and CPU a ratio below ×1 means gredged needs less; for throughput and packet rate above ×1 means gredged moves more. Medians over the runs each bench made. The benches share a 2-core machine: the load average beside each figure says how busy it was; wall-clock ratios within ~20 % are noise there, CPU seconds and memory are steadier.</p>
${headline(views)}
${views.map(section).join('\n')}
</main>
<footer><p class="muted">Produced by <code>npm run bench</code> (bench/all/run.ts) and bench/report/render.ts; every figure comes from the JSON files next to this page. Each bench’s method is in bench/README.md and its own README.</p></footer>
<script>${TAIL_SCRIPT}</script>
</body>
</html>
`;
}
