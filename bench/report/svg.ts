/**
 * Plots as inline SVG, drawn here in Node rather than in the browser: the page needs no script
 * to show them (it reads the same printed, mailed or opened with JavaScript off), and there is
 * no plotting library to vendor. Line plots (x numeric: table size, time, tunnels) and grouped
 * bar plots (one value per category: FIB phases, offloads on/off).
 *
 * Each series is one <path data-series> whose vertices are the points in order (line: M then L;
 * bar: one closed rectangle per point, each starting with M), with the values in `data-points`
 * and their places in the bench's JSON in `data-x-sources`/`data-y-sources`: the report test
 * counts the vertices and compares the values with the file.
 */
import { escapeHtml as esc, formatNumber } from './format.js';
import type { Plot, Series } from './model.js';

const W = 680;
const H = 340;
const M = { left: 72, right: 24, top: 44, bottom: 58 };
const PW = W - M.left - M.right;
const PH = H - M.top - M.bottom;

const NAMED: Record<string, string> = {
  gredged: '#1f5fbf',
  gredge: '#1f5fbf',
  'BIRD 2': '#d9730d',
  'kernel routing': '#5a6270',
};
const PALETTE = ['#2a9d5b', '#a23bbd', '#b8860b', '#c0392b', '#17a2b8'];

function colour(name: string, i: number): string {
  if (NAMED[name]) return NAMED[name];
  if (/floor/i.test(name)) return '#9aa3ad';
  return PALETTE[i % PALETTE.length]!;
}

/** 1, 2 or 5 × 10^k: a step that gives about `count` ticks over [lo, hi]. */
function niceStep(span: number, count: number): number {
  const raw = span / count;
  const p = 10 ** Math.floor(Math.log10(raw));
  const f = raw / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

interface Axis {
  lo: number;
  hi: number;
  ticks: number[];
}

/** Domain and ticks; zero is included when the data are all positive and not far from it. */
function axis(values: number[], count: number): Axis {
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (lo >= 0 && lo <= hi * 0.5) lo = 0;
  if (hi <= 0 && hi >= lo * 0.5) hi = 0;
  if (lo === hi) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
    if (lo < 0 && values.every((v) => v >= 0)) lo = 0;
  }
  const step = niceStep(hi - lo, count);
  const a = Math.floor(lo / step + 1e-9) * step;
  const b = Math.ceil(hi / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let t = a; t <= b + step * 1e-6; t += step) ticks.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  return { lo: a, hi: b, ticks };
}

/** Tick labels: short (250k, 1.2M) where the tables give the full figure. */
function tickLabel(t: number): string {
  const a = Math.abs(t);
  if (a >= 1e6) return `${+(t / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${+(t / 1e3).toPrecision(3)}k`;
  return String(+t.toPrecision(6)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

const axisTitle = (label: string, unit: string) =>
  unit && unit !== 'count' ? `${label} (${unit})` : label || unit;

const r2 = (v: number) => Math.round(v * 100) / 100;

function seriesAttrs(plot: Plot, s: Series): string {
  const pts = s.points.map((p) => `${p.x},${p.y}`).join(' ');
  const xs = s.points.every((p) => p.xSource) ? s.points.map((p) => p.xSource).join(' ') : '';
  const ys = s.points.every((p) => p.ySource) ? s.points.map((p) => p.ySource).join(' ') : '';
  return (
    `data-series="${esc(s.name)}" data-points="${pts}" data-count="${s.points.length}"` +
    (xs ? ` data-x-sources="${esc(xs)}"` : '') +
    (ys ? ` data-y-sources="${esc(ys)}"` : '') +
    (s.scale !== undefined ? ` data-scale="${s.scale}"` : '') +
    ` data-kind="${plot.kind}"`
  );
}

function legend(plot: Plot): string {
  let x = M.left;
  return plot.series
    .map((s, i) => {
      const c = colour(s.name, i);
      const dash = /floor/i.test(s.name) ? ' stroke-dasharray="5 4"' : '';
      const mark =
        plot.kind === 'bar'
          ? `<rect x="${x}" y="14" width="14" height="12" fill="${c}"/>`
          : `<line x1="${x}" y1="20" x2="${x + 20}" y2="20" stroke="${c}" stroke-width="2.5"${dash}/>`;
      const label = s.points.length === 0 ? `${s.name} (no data)` : s.name;
      const g = `<g class="legend-item" data-legend="${esc(s.name)}">${mark}<text x="${x + 26}" y="24">${esc(label)}</text></g>`;
      x += 40 + label.length * 7;
      return g;
    })
    .join('');
}

function frame(plot: Plot, xa: Axis | null, ya: Axis, xLabels: string): string {
  const sy = (v: number) => M.top + PH - ((v - ya.lo) / (ya.hi - ya.lo)) * PH;
  const grid = ya.ticks
    .map(
      (t) =>
        `<line class="grid" x1="${M.left}" x2="${M.left + PW}" y1="${r2(sy(t))}" y2="${r2(sy(t))}"/>` +
        `<text class="tick" x="${M.left - 8}" y="${r2(sy(t) + 4)}" text-anchor="end">${tickLabel(t)}</text>`,
    )
    .join('');
  const xt = xa
    ? xa.ticks
        .map((t) => {
          const x = r2(M.left + ((t - xa.lo) / (xa.hi - xa.lo)) * PW);
          return `<line class="axis" x1="${x}" x2="${x}" y1="${M.top + PH}" y2="${M.top + PH + 5}"/><text class="tick" x="${x}" y="${M.top + PH + 19}" text-anchor="middle">${tickLabel(t)}</text>`;
        })
        .join('')
    : xLabels;
  return (
    grid +
    `<line class="axis" x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + PH}"/>` +
    `<line class="axis" x1="${M.left}" x2="${M.left + PW}" y1="${M.top + PH}" y2="${M.top + PH}"/>` +
    xt +
    `<text class="axis-label" data-axis="x" x="${M.left + PW / 2}" y="${H - 10}" text-anchor="middle">${esc(axisTitle(plot.x.label, plot.x.unit))}</text>` +
    `<text class="axis-label" data-axis="y" transform="translate(16 ${M.top + PH / 2}) rotate(-90)" text-anchor="middle">${esc(axisTitle(plot.y.label, plot.y.unit))}</text>`
  );
}

function linePlot(plot: Plot): string {
  const all = plot.series.flatMap((s) => s.points);
  const xa = axis(
    all.map((p) => p.x),
    6,
  );
  const ya = axis(
    all.map((p) => p.y),
    5,
  );
  const sx = (v: number) => r2(M.left + ((v - xa.lo) / (xa.hi - xa.lo)) * PW);
  const sy = (v: number) => r2(M.top + PH - ((v - ya.lo) / (ya.hi - ya.lo)) * PH);
  const body = plot.series
    .map((s, i) => {
      const c = colour(s.name, i);
      const d = s.points.map((p, k) => `${k === 0 ? 'M' : 'L'}${sx(p.x)} ${sy(p.y)}`).join(' ');
      const dash = /floor/i.test(s.name) ? ' stroke-dasharray="5 4"' : '';
      const marks = s.points
        .map(
          (p) =>
            `<circle cx="${sx(p.x)}" cy="${sy(p.y)}" r="3.5" fill="${c}"><title>${esc(s.name)}: ${esc(formatNumber(p.x))} ${esc(plot.x.unit === 'count' ? '' : plot.x.unit)} → ${esc(formatNumber(p.y))} ${esc(plot.y.unit)}</title></circle>`,
        )
        .join('');
      return `<g class="series"><path ${seriesAttrs(plot, s)} d="${d}" fill="none" stroke="${c}" stroke-width="2.5"${dash}/>${marks}</g>`;
    })
    .join('');
  return frame(plot, xa, ya, '') + body;
}

function barPlot(plot: Plot): string {
  const cats = plot.x.categories ?? [];
  const n = Math.max(1, plot.series.length);
  const ya = axis([0, ...plot.series.flatMap((s) => s.points.map((p) => p.y))], 5);
  const sy = (v: number) => r2(M.top + PH - ((v - ya.lo) / (ya.hi - ya.lo)) * PH);
  const band = PW / Math.max(1, cats.length);
  const bw = Math.min(60, (band * 0.75) / n);
  const x0 = (cat: number, i: number) => r2(M.left + band * cat + (band - bw * n) / 2 + bw * i);
  const body = plot.series
    .map((s, i) => {
      const c = colour(s.name, i);
      const d = s.points
        .map((p) => {
          const x = x0(p.x, i);
          return `M${x} ${sy(0)} V${sy(p.y)} H${r2(x + bw)} V${sy(0)} Z`;
        })
        .join(' ');
      const labels = s.points
        .map(
          (p) =>
            `<text class="bar-value" x="${r2(x0(p.x, i) + bw / 2)}" y="${r2(Math.min(sy(p.y), sy(0)) - 4)}" text-anchor="middle">${esc(formatNumber(p.y))}</text>`,
        )
        .join('');
      return `<g class="series"><path ${seriesAttrs(plot, s)} d="${d}" fill="${c}"><title>${esc(s.name)}</title></path>${labels}</g>`;
    })
    .join('');
  const xLabels = cats
    .map((c, k) => {
      const x = r2(M.left + band * k + band / 2);
      const lines = wrap(c, Math.max(6, Math.floor(band / 7)));
      const spans = lines
        .map((l, i) => `<tspan x="${x}" dy="${i === 0 ? 0 : 14}">${esc(l)}</tspan>`)
        .join('');
      return `<text class="tick" x="${x}" y="${M.top + PH + 17}" text-anchor="middle">${spans}</text>`;
    })
    .join('');
  return frame(plot, null, ya, xLabels) + body;
}

/** A category label in lines of about `width` characters (at most two: the axis title is below). */
function wrap(label: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const w of label.split(' ')) {
    if (line && line.length + 1 + w.length > width && lines.length === 0) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  return [...lines, line];
}

/** One plot: <figure data-plot="bench.id"> with its title, the SVG and the legend. */
export function renderPlot(bench: string, plot: Plot): string {
  const empty = plot.series.every((s) => s.points.length === 0);
  const inner = empty
    ? `<text class="empty" x="${W / 2}" y="${H / 2}" text-anchor="middle">no data points</text>`
    : plot.kind === 'bar'
      ? barPlot(plot)
      : linePlot(plot);
  return (
    `<figure class="plot" data-plot="${esc(`${bench}.${plot.id}`)}">` +
    `<figcaption>${esc(plot.title)}</figcaption>` +
    `<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(plot.title)}">` +
    `${legend(plot)}${inner}</svg>` +
    (plot.note ? `<p class="plot-note">${esc(plot.note)}</p>` : '') +
    `</figure>`
  );
}
