// HTML building blocks shared by the bench report's sections (bench-report.ts and the suite sections beside it):
// escaping, number formatting, tables, lists, inline Vega charts. Every string from a results file goes through `esc`.
import type { ResultRow } from '../bench/results.js';
import { mean } from '../stats/index.js';
import { renderSvg } from './plot.js';

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** HTML text and attribute escaping. */
export function esc(s: unknown): string {
  return String(s ?? '').replace(/[&<>"']/g, (ch) => ENTITIES[ch]);
}

export const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

/** Three decimals; tiny non-zero values in exponent form so a small KL does not print as 0.000; missing as "–". */
export function num(x: unknown): string {
  if (!finite(x)) return '–';
  return x !== 0 && Math.abs(x) < 0.0005 ? x.toExponential(2) : x.toFixed(3);
}

export function interval(m: unknown, lo: unknown, hi: unknown): string {
  return finite(m) ? `${num(m)} [${num(lo)}, ${num(hi)}]` : '–';
}

/** Strengths and counts: as short as the value allows (4, 0.5, 12.5). */
export function short(x: unknown): string {
  return finite(x) ? String(Number(x.toPrecision(3))) : '–';
}

export function pValue(p: unknown): string {
  return finite(p) && p < 0.001 ? '&lt;0.001' : num(p);
}

/** A style length; a missing value draws nothing rather than an invalid "NaN%". */
export const cssNumber = (x: number): string => (finite(x) ? x : 0).toFixed(3);

export function duration(s: number): string {
  if (!finite(s)) return '–';
  return s < 120 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

export const unique = <T>(xs: Iterable<T>): T[] => [...new Set(xs)];

/** Mean of the finite values; NaN when there are none (rendered as "–"). */
export const avg = (xs: readonly unknown[]): number => {
  const f = xs.filter(finite);
  return f.length ? mean(f) : NaN;
};

/** Metrics present in `rows`, the known ones first in their usual order. */
export function metricsIn(rows: readonly ResultRow[], known: readonly string[]): string[] {
  const present = new Set(rows.map((r) => r.metric));
  return [...known.filter((m) => present.has(m)), ...[...present].filter((m) => !known.includes(m))];
}

/** Cells are HTML already (callers escape); `head` likewise. The first `textCols` columns are labels, the rest numbers. */
export function table(head: string[], body: string[][], o: { id?: string; cls?: string; textCols?: number } = {}): string {
  const textCols = o.textCols ?? 1;
  const td = (c: string, i: number) => (i < textCols ? `<td class="t">${c}</td>` : `<td>${c}</td>`);
  const attrs = `${o.id ? ` id="${esc(o.id)}"` : ''}${o.cls ? ` class="${o.cls}"` : ''}`;
  const headRow = `<tr>${head.map((c) => `<th>${c}</th>`).join('')}</tr>`;
  return `<table${attrs}><thead>${headRow}</thead><tbody>${body.map((row) => `<tr>${row.map(td).join('')}</tr>`).join('')}</tbody></table>`;
}

export function list(items: readonly string[]): string {
  return `<ul>${items.map((s) => `<li>${esc(s)}</li>`).join('')}</ul>`;
}

export function details(summaryHtml: string, inner: string): string {
  return `<details><summary>${summaryHtml}</summary>${inner}</details>`;
}

/** Inline SVG from Vega; wrapped so wide charts scroll instead of stretching the page. */
export async function chart(spec: Parameters<typeof renderSvg>[0]): Promise<string> {
  return `<div class="chart">${await renderSvg(spec)}</div>`;
}

/** Row lookup by (concept, method, metric) within one suite. */
export function rowIndex(rows: readonly ResultRow[]): (concept: string, method: string, metric: string) => ResultRow | undefined {
  const m = new Map(rows.map((r) => [`${r.concept}\u0000${r.method}\u0000${r.metric}`, r]));
  return (c, meth, metric) => m.get(`${c}\u0000${meth}\u0000${metric}`);
}

