// Charts as standalone SVG strings, rendered by Vega-Lite without a browser (model cards, reports).
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

/** Lines of y against x, one per series. */
export function lineChart(rows: { x: number; y: number; series: string }[], o: { x: string; y: string; title?: string; logY?: boolean; width?: number; height?: number }): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: o.title,
    width: o.width ?? 560,
    height: o.height ?? 260,
    data: { values: rows },
    mark: { type: 'line', point: rows.length < 200 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: o.x },
      y: { field: 'y', type: 'quantitative', title: o.y, scale: o.logY ? { type: 'log' } : { zero: false } },
      color: { field: 'series', type: 'nominal', title: null },
    },
  } as TopLevelSpec;
}

/**
 * Grouped bars: one group per `group` on x, one bar per `series` inside it (both in the order given), and an error
 * bar from lo to hi where both are finite. `refLine` draws a dashed horizontal rule (e.g. chance level).
 */
export function groupedBarChart(
  rows: { group: string; series: string; value: number; lo?: number; hi?: number }[],
  o: { x: string; y: string; title?: string; yDomain?: [number, number]; refLine?: number; barWidth?: number; height?: number },
): TopLevelSpec {
  const bars = rows.filter((r) => Number.isFinite(r.value));
  const errors = rows.filter((r) => Number.isFinite(r.lo) && Number.isFinite(r.hi));
  const groups = new Set(rows.map((r) => r.group)).size;
  const series = new Set(rows.map((r) => r.series)).size;
  // sort: null keeps the caller's order (Vega-Lite sorts nominal fields alphabetically otherwise).
  const x = { field: 'group', type: 'nominal', title: o.x, sort: null, axis: { labelAngle: -40 } };
  const xOffset = { field: 'series', type: 'nominal', sort: null };
  const y = { type: 'quantitative', title: o.y, scale: o.yDomain ? { domain: o.yDomain } : {} };
  const layer: unknown[] = [
    { data: { values: bars }, mark: 'bar', encoding: { x, xOffset, y: { ...y, field: 'value' }, color: { field: 'series', type: 'nominal', title: null, sort: null } } },
    { data: { values: errors }, mark: { type: 'rule', color: '#333' }, encoding: { x, xOffset, y: { ...y, field: 'lo' }, y2: { field: 'hi' } } },
  ];
  // One dummy datum: a layer without data draws nothing, even with a constant (datum) encoding.
  if (o.refLine !== undefined) layer.push({ data: { values: [{}] }, mark: { type: 'rule', strokeDash: [4, 3], color: '#888' }, encoding: { y: { datum: o.refLine, type: 'quantitative' } } });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: o.title,
    width: Math.max(1, groups) * (Math.max(1, series) * (o.barWidth ?? 7) + 10),
    height: o.height ?? 240,
    layer,
  } as TopLevelSpec;
}

/**
 * Trade-off curves: y against x, one line per series joining its points in `order` (e.g. steering strength), not in
 * x order; a series with a single point shows as that point.
 */
export function tradeoffChart(
  rows: { x: number; y: number; series: string; order: number }[],
  o: { x: string; y: string; title?: string; xDomain?: [number, number]; yDomain?: [number, number]; width?: number; height?: number },
): TopLevelSpec {
  const encoding = {
    x: { field: 'x', type: 'quantitative', title: o.x, scale: o.xDomain ? { domain: o.xDomain } : { zero: false } },
    y: { field: 'y', type: 'quantitative', title: o.y, scale: o.yDomain ? { domain: o.yDomain } : { zero: false } },
    color: { field: 'series', type: 'nominal', title: null, sort: null },
    order: { field: 'order', type: 'quantitative' },
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: o.title,
    width: o.width ?? 300,
    height: o.height ?? 220,
    data: { values: rows.filter((r) => Number.isFinite(r.x) && Number.isFinite(r.y)) },
    encoding,
    layer: [{ mark: 'line' }, { mark: { type: 'point', filled: true, size: 40 } }],
  } as TopLevelSpec;
}

/** Charts next to each other in one SVG; a colour legend over the same field is shared. */
export function sideBySide(specs: TopLevelSpec[], title?: string): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    hconcat: specs.map(({ $schema: _, ...inner }) => inner),
  } as TopLevelSpec;
}
