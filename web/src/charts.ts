// Vega-Lite charts in the page: the same spec builders as the static report (src/report/plot.ts), rendered as SVG by
// vega in the browser, with a small tooltip of the hovered datum's fields (hover values).
import { html } from 'htm/preact';
import { useEffect, useRef } from 'preact/hooks';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export { groupedBarChart, tradeoffChart } from '../../src/report/plot.js';

let tip: HTMLDivElement | null = null;

function tooltipHandler(_handler: unknown, event: MouseEvent, _item: unknown, value: unknown): void {
  if (!tip) {
    tip = document.createElement('div');
    tip.className = 'vg-tip';
    document.body.appendChild(tip);
  }
  if (value === null || value === undefined || value === '') {
    tip.style.display = 'none';
    return;
  }
  const fmt = (v: unknown) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : String(v));
  const rows = typeof value === 'object' ? Object.entries(value as Record<string, unknown>).map(([k, v]) => `<b>${esc(k)}</b> ${esc(fmt(v))}`) : [esc(fmt(value))];
  tip.innerHTML = rows.join('<br>');
  tip.style.display = 'block';
  tip.style.left = `${event.clientX + 12}px`;
  tip.style.top = `${event.clientY + 12}px`;
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** Turn on tooltips of every mark (all encoded fields) unless the spec sets its own. */
export function withTooltips(spec: any): TopLevelSpec {
  return { ...spec, config: { ...(spec.config ?? {}), mark: { tooltip: { content: 'data' } } } };
}

export function Chart({ spec, label }: { spec: TopLevelSpec; label?: string }) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!el.current) return;
    const view = new vega.View(vega.parse(compile(withTooltips(spec)).spec), { renderer: 'svg', container: el.current, hover: true });
    view.tooltip(tooltipHandler as never);
    void view.runAsync();
    return () => {
      view.finalize();
      if (tip) tip.style.display = 'none';
    };
  }, [JSON.stringify(spec)]);
  return html`<div class="chart" ref=${el} aria-label=${label ?? 'chart'}></div>`;
}
