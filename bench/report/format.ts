/**
 * How the report writes numbers, one rule everywhere (tables, bar labels), so that a reader
 * (and the report test) can tell from the text alone how precise it is: three significant digits
 * below 100, whole numbers from 100 up and exact whole numbers (counts) as they are, thousands
 * separated by commas. A missing value is an em dash.
 */

export function formatNumber(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  if (x === 0) return '0';
  const a = Math.abs(x);
  // Whole numbers (counts) as they are: "20", not "20.0".
  if (a >= 100 || Number.isInteger(x)) return group(Math.round(x));
  const decimals = Math.min(12, 2 - Math.floor(Math.log10(a)));
  const s = x.toFixed(decimals);
  // 99.96 rounds to "100.0": write it the way 100 and up are written.
  return Math.abs(Number(s)) >= 100 ? group(Math.round(x)) : s;
}

function group(n: number): string {
  const s = String(Math.abs(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return n < 0 ? `-${s}` : s;
}

export const formatRatio = (x: number | null | undefined): string =>
  x === null || x === undefined || !Number.isFinite(x) ? '—' : `×${formatNumber(x)}`;

/** A date as the report shows it: ISO, to the minute, UTC. */
export function formatDate(iso: string | undefined): string {
  if (!iso) return 'unknown';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export const escapeHtml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
