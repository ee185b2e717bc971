// An attribution graph file (graph-json.ts) as one standalone HTML page: inline CSS and SVG, no script, no external
// resource, every string from the file escaped. The graph is drawn as circuit-tracer's viewer lays it out: x = token
// position (the prompt's tokens label the columns along the bottom), y = layer (token embeddings E at the bottom,
// layers 0 .. n-1, the logits on top). Features are circles (radius by activation), error nodes grey squares marked
// "err", tokens green bars, logits labelled with their token and probability; links are curves, width by |weight|,
// blue for positive, red for negative. Hovering a node (or clicking it: the :target rule) brings its links forward,
// by CSS :has() rules, one per node. The header holds the prompt, the counts and the error accounting of
// metadata.probity.scores; a table lists the most influential nodes.
import { esc, num, short, table } from '../report/html.js';
import type { AttributionGraphFile, GraphNode } from './graph-json.js';

const DX = 18; // node spacing inside a cell
const SUB_DY = 16; // spacing of a cell's sub-rows
const LEFT = 64; // row labels
const TOP = 90; // room for the logits' slanted labels
const RIGHT = 110; // and for those of the last column
const BOTTOM = 56; // column labels
const TOP_NODES = 25;

const KIND: Record<GraphNode['feature_type'], string> = {
  'cross layer transcoder': 'feature',
  'mlp reconstruction error': 'error',
  embedding: 'token',
  logit: 'logit',
};

/** A token as a label: whitespace made visible, long ones cut (the full text is in the tooltip). */
function tokenLabel(t: string, max = 10): string {
  const s = t.replace(/\n/g, '↵').replace(/\t/g, '⇥');
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** The token a logit node predicts: the quoted text of its clerp (`Output " Paris" (p=0.612)`), else its id. */
function logitToken(n: GraphNode): string {
  const m = /"((?:[^"\\]|\\.)*)"/.exec(n.clerp);
  return m ? m[1] : n.clerp || `#${n.feature}`;
}

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));
/** The largest f(x), at least `floor` (a loop: big graphs have more links than a spread call may pass). */
const maxOf = <T>(xs: Iterable<T>, f: (x: T) => number, floor: number): number => {
  let m = floor;
  for (const x of xs) m = Math.max(m, f(x));
  return m;
};
const f1 = (x: number) => (Number.isFinite(x) ? x : 0).toFixed(1);

interface Placed {
  n: GraphNode;
  i: number;
  x: number;
  y: number;
}

/** Node positions: one column per prompt position, one row per layer (E below, logits above). */
function layout(g: AttributionGraphFile) {
  const nPos = maxOf(g.nodes, (n) => n.ctx_idx + 1, Math.max(g.metadata.prompt_tokens.length, 1));
  const inLayer = g.nodes.filter((n) => n.feature_type === 'cross layer transcoder' || n.feature_type === 'mlp reconstruction error');
  const p = g.metadata.probity;
  const nLayers = maxOf(inLayer, (n) => Number(n.layer) + 1, Math.max(p.layer_fve.length, p.scores.error_influence_share_by_layer.length));
  const rowOf = (n: GraphNode) => (n.feature_type === 'embedding' ? 0 : n.feature_type === 'logit' ? nLayers + 1 : Number(n.layer) + 1);
  const cells = new Map<string, { n: GraphNode; i: number }[]>();
  g.nodes.forEach((n, i) => {
    const key = `${rowOf(n)}:${n.ctx_idx}`;
    const cell = cells.get(key);
    if (cell) cell.push({ n, i });
    else cells.set(key, [{ n, i }]);
  });
  // Within a cell: logits by probability; features by influence (the most influential first), error nodes last.
  const isError = (n: GraphNode) => Number(n.feature_type === 'mlp reconstruction error');
  const order = (a: GraphNode, b: GraphNode) =>
    a.feature_type === 'logit' ? b.token_prob - a.token_prob : isError(a) - isError(b) || (a.influence ?? 2) - (b.influence ?? 2);
  let widest = 1;
  for (const [key, c] of cells) {
    c.sort((a, b) => order(a.n, b.n));
    if (!key.startsWith(`${nLayers + 1}:`)) widest = Math.max(widest, c.length);
  }
  const colW = clamp(widest * DX + 12, 104, 204);
  const perRow = Math.max(1, Math.floor((colW - 12) / DX));
  const subRows = maxOf(cells.values(), (c) => Math.ceil(c.length / perRow), 1);
  const rowH = Math.max(64, subRows * SUB_DY + 28);
  const rowY = (r: number) => TOP + (nLayers + 1 - r) * rowH + rowH / 2;
  const colX = (pos: number) => LEFT + pos * colW + colW / 2;
  const placed: Placed[] = [];
  for (const [key, c] of cells) {
    const [r, pos] = key.split(':').map(Number);
    const logits = r === nLayers + 1;
    const per = logits ? c.length : perRow;
    const step = logits ? Math.min(DX * 1.5, (colW - 8) / Math.max(1, c.length)) : DX;
    const rows = Math.ceil(c.length / per);
    c.forEach(({ n, i }, k) => {
      const s = Math.floor(k / per);
      const m = Math.min(per, c.length - s * per);
      placed.push({ n, i, x: colX(pos) + (k % per - (m - 1) / 2) * step, y: rowY(r) + (s - (rows - 1) / 2) * SUB_DY });
    });
  }
  placed.sort((a, b) => a.i - b.i);
  return { nPos, nLayers, colW, rowH, rowY, colX, placed, width: LEFT + nPos * colW + RIGHT, height: TOP + (nLayers + 2) * rowH + BOTTOM };
}

function tooltip(n: GraphNode, tokens: readonly string[]): string {
  const where = n.feature_type === 'embedding' ? 'embedding' : n.feature_type === 'logit' ? 'logit' : `layer ${n.layer}`;
  const lines = [
    n.node_id,
    `${KIND[n.feature_type]} · ${where} · position ${n.ctx_idx} ${JSON.stringify(tokens[n.ctx_idx] ?? '')}`,
    `activation ${n.activation === null ? '–' : short(n.activation)}`,
    `influence ${num(n.influence)}`,
  ];
  if (n.feature_type === 'logit') lines.push(`probability ${num(n.token_prob)}${n.is_target_logit ? ' (target)' : ''}`);
  if (n.clerp) lines.push(n.clerp);
  return `<title>${esc(lines.join('\n'))}</title>`;
}

function nodeSvg(p: Placed, maxAct: number, tokens: readonly string[]): string {
  const { n, i, x, y } = p;
  const kind = KIND[n.feature_type];
  const open = `<a href="#n${i}"><g class="node ${kind}${n.is_target_logit ? ' target' : ''}" id="n${i}" data-node="${esc(n.node_id)}">${tooltip(n, tokens)}`;
  let shape: string;
  if (kind === 'feature') shape = `<circle cx="${f1(x)}" cy="${f1(y)}" r="${f1(3.5 + 3 * clamp((n.activation ?? 0) / maxAct, 0, 1))}"/>`;
  else if (kind === 'error') shape = `<rect x="${f1(x - 7.5)}" y="${f1(y - 5.5)}" width="15" height="11"/><text x="${f1(x)}" y="${f1(y + 2.5)}">err</text>`;
  else if (kind === 'token') shape = `<rect x="${f1(x - 8)}" y="${f1(y - 4)}" width="16" height="8" rx="2"/>`;
  else {
    const label = `${tokenLabel(logitToken(n), 14)} ${num(n.token_prob)}`;
    shape = `<rect x="${f1(x - 5)}" y="${f1(y - 5)}" width="10" height="10" transform="rotate(45 ${f1(x)} ${f1(y)})"/><text x="${f1(x + 6)}" y="${f1(y - 8)}" transform="rotate(-40 ${f1(x + 6)} ${f1(y - 8)})">${esc(label)}</text>`;
  }
  return `${open}${shape}</g></a>`;
}

/** The SVG, and the CSS rules that highlight each node's links (they belong in the page's head). */
function graphSvg(g: AttributionGraphFile): { svg: string; css: string } {
  const L = layout(g);
  const at = new Map(L.placed.map((p) => [p.n.node_id, p]));
  const maxAct = maxOf(g.nodes, (n) => Math.abs(n.activation ?? 0), 1e-9);
  const drawn = g.links.filter((l) => at.has(l.source) && at.has(l.target)).sort((a, b) => Math.abs(a.weight) - Math.abs(b.weight));
  const maxW = maxOf(drawn, (l) => Math.abs(l.weight), 1e-12);
  const links = drawn.map((l) => {
    const s = at.get(l.source)!;
    const t = at.get(l.target)!;
    const mid = s.y === t.y ? s.y - 30 : (s.y + t.y) / 2;
    const d = `M${f1(s.x)} ${f1(s.y)}C${f1(s.x)} ${f1(mid)},${f1(t.x)} ${f1(mid)},${f1(t.x)} ${f1(t.y)}`;
    const title = `${l.source} → ${l.target}: ${short(l.weight)}`;
    return `<path class="link ${l.weight < 0 ? 'neg' : 'pos'} s${s.i} t${t.i}" d="${d}" stroke-width="${(0.6 + 3.4 * (Math.abs(l.weight) / maxW)).toFixed(2)}"><title>${esc(title)}</title></path>`;
  });
  const tokens = g.metadata.prompt_tokens;
  const rowLabels = [`<text class="row" x="${LEFT - 10}" y="${f1(L.rowY(0) + 4)}">E</text>`];
  for (let l = 0; l < L.nLayers; l++) rowLabels.push(`<text class="row" x="${LEFT - 10}" y="${f1(L.rowY(l + 1) + 4)}">L${l}</text>`);
  rowLabels.push(`<text class="row" x="${LEFT - 10}" y="${f1(L.rowY(L.nLayers + 1) + 4)}">logits</text>`);
  const grid = Array.from({ length: L.nLayers + 2 }, (_, r) => `<line class="grid" x1="${LEFT}" x2="${L.width - RIGHT}" y1="${f1(L.rowY(r) + L.rowH / 2)}" y2="${f1(L.rowY(r) + L.rowH / 2)}"/>`);
  const base = L.rowY(0) + L.rowH / 2;
  const cols = Array.from({ length: L.nPos }, (_, p) => {
    const t = tokens[p] ?? '';
    return `<g class="col"><title>${esc(`position ${p}: ${JSON.stringify(t)}`)}</title><text x="${f1(L.colX(p))}" y="${f1(base + 18)}">${esc(tokenLabel(t))}</text><text class="pos" x="${f1(L.colX(p))}" y="${f1(base + 34)}">${p}</text></g>`;
  });
  // Hovering or clicking (":target") a node dims every link but its own.
  const focus = (i: number) => `svg.graph:has(#n${i}:hover,#n${i}:target) :is(.s${i},.t${i})`;
  const css = ['svg.graph:has(.node:hover,.node:target) .link{stroke-opacity:.05}', ...L.placed.map((p) => `${focus(p.i)}{stroke-opacity:.95}`)].join('\n');
  const svg = `<svg class="graph" xmlns="http://www.w3.org/2000/svg" width="${L.width}" height="${f1(L.height)}" viewBox="0 0 ${L.width} ${f1(L.height)}" role="img" aria-label="attribution graph">
<g class="grid">${grid.join('')}</g><g class="rows">${rowLabels.join('')}</g><g class="cols">${cols.join('')}</g>
<g class="links">${links.join('')}</g>
<g class="nodes">${L.placed.map((p) => nodeSvg(p, maxAct, tokens)).join('')}</g>
</svg>`;
  return { svg, css };
}

function header(g: AttributionGraphFile): string {
  const m = g.metadata;
  const p = m.probity;
  const s = p.scores;
  const c = p.counts;
  const target = g.nodes.find((n) => n.is_target_logit);
  const kv = (rows: [string, string][]) => `<table class="kv num">${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${v}</td></tr>`).join('')}</table>`;
  const tokens = m.prompt_tokens.map((t, i) => `<span class="tok" title="${esc(`position ${i}`)}">${esc(tokenLabel(t, 24))}</span>`).join('');
  const layers = Array.from({ length: Math.max(s.error_influence_share_by_layer.length, p.layer_fve.length) }, (_, l) => [
    `L${l}`, num(s.error_influence_share_by_layer[l]), num(p.layer_fve[l]),
  ]);
  const d = s.target_logit_direct;
  return `<h1>Attribution graph <span class="dim">${esc(m.slug)}</span></h1>
<p class="prompt"><b>Prompt</b> <code>${esc(m.prompt)}</code></p>
<p class="tokens">${tokens}</p>
<p class="dim">model <code>${esc(p.model)}</code> · transcoders ${p.transcoders.map((t) => `<code>${esc(t)}</code>`).join(', ') || '–'} · node threshold ${short(p.node_threshold)} · edge threshold ${short(p.edge_threshold)} · code <code>${esc(p.code_version)}</code> · ${short(p.wall_s)} s</p>
<div class="cards">
<section><h2>Error accounting</h2>${kv([
    ['replacement score', num(s.replacement_score)],
    ['completeness score', num(s.completeness_score)],
    ['error influence share', num(s.error_influence_share)],
  ])}<p class="dim small">Replacement: token influence over token + error influence (unpruned graph). Completeness: influence-weighted share of each node's inputs from non-error nodes. Error share: influence on the logits that passes through error nodes.</p></section>
<section><h2>Per layer</h2>${table(['layer', 'error influence share', 'transcoder FVE'], layers, { cls: 'num layers' })}</section>
<section><h2>Target logit, direct</h2><p>${target ? `<code>${esc(logitToken(target))}</code> p=${num(target.token_prob)}` : '<span class="dim">no target logit in the kept nodes</span>'}</p>${table(['features', 'errors', 'tokens', 'biases', 'total'], [[num(d.features), num(d.errors), num(d.tokens), num(d.biases), num(d.total)]], { cls: 'num direct', textCols: 0 })}</section>
<section><h2>Counts</h2>${kv([
    ['active features', String(c.active_features)],
    ['error nodes', String(c.error_nodes)],
    ['tokens', String(c.tokens)],
    ['logits', String(c.logits)],
    ['kept nodes', `${c.kept_nodes} (${g.nodes.length} drawn)`],
    ['kept links', `${c.kept_links} (${g.links.length} drawn)`],
  ])}</section>
</div>`;
}

function topNodes(g: AttributionGraphFile): string {
  const ranked = g.nodes.map((n, i) => ({ n, i })).filter(({ n }) => n.feature_type !== 'logit' && n.influence !== null).sort((a, b) => a.n.influence! - b.n.influence!).slice(0, TOP_NODES);
  const rows = ranked.map(({ n, i }, k) => [
    String(k + 1), `<a href="#n${i}"><code>${esc(n.node_id)}</code></a>`, KIND[n.feature_type], n.feature_type === 'embedding' ? 'E' : esc(n.layer),
    `${n.ctx_idx} <code>${esc(tokenLabel(g.metadata.prompt_tokens[n.ctx_idx] ?? '', 16))}</code>`, esc(n.clerp), n.activation === null ? '–' : short(n.activation), num(n.influence),
  ]);
  return `<h2>Most influential nodes</h2><p class="dim small">Influence is circuit-tracer's cumulative score: the share of all influence on the logits held by the nodes at least as influential as this one (small = more influential). Logits are the targets and are not ranked.</p>
${rows.length ? table(['#', 'node', 'kind', 'layer', 'position', 'label', 'activation', 'influence'], rows, { cls: 'num top', textCols: 6 }) : '<p class="dim">No ranked nodes.</p>'}`;
}

const CSS = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #222; margin: 16px; }
h1 { font-size: 20px; margin: 0 0 8px; } h2 { font-size: 15px; margin: 0 0 6px; }
table { border-collapse: collapse; margin: 4px 0; } th, td { border: 1px solid #ddd; padding: 2px 7px; }
th { background: #f5f5f5; text-align: left; } table.num td { text-align: right; font-variant-numeric: tabular-nums; } table.num td.t { text-align: left; }
code { font: 12px ui-monospace, Menlo, Consolas, monospace; } .dim { color: #777; } .small { font-size: 12px; max-width: 34em; }
.tokens .tok { display: inline-block; border: 1px solid #ccc; border-radius: 3px; padding: 0 4px; margin: 0 2px 2px 0; font: 12px ui-monospace, monospace; white-space: pre; }
.cards { display: flex; flex-wrap: wrap; gap: 12px 28px; margin: 10px 0 14px; } .cards section { min-width: 14em; }
.legend span { margin-right: 14px; } .legend i { display: inline-block; width: 12px; height: 12px; vertical-align: -2px; margin-right: 4px; }
.graph-wrap { overflow: auto; border: 1px solid #ddd; max-height: 88vh; width: fit-content; max-width: 100%; }
svg.graph text { font: 11px system-ui, sans-serif; fill: #333; } svg.graph text.row { text-anchor: end; font-weight: 600; }
svg.graph .cols text { text-anchor: middle; white-space: pre; } svg.graph .cols text.pos { fill: #999; font-size: 10px; }
svg.graph line.grid { stroke: #eee; }
svg.graph .link { fill: none; stroke-opacity: .45; } svg.graph .link.pos { stroke: #2166ac; } svg.graph .link.neg { stroke: #c0392b; }
svg.graph .node { cursor: pointer; } svg.graph .node:hover > :is(circle, rect), svg.graph .node:target > :is(circle, rect) { stroke: #000; stroke-width: 2; }
svg.graph .feature circle { fill: #f0a04b; stroke: #8a5a20; }
svg.graph .error rect { fill: #bbb; stroke: #666; } svg.graph .error text { font-size: 7.5px; text-anchor: middle; fill: #222; pointer-events: none; }
svg.graph .token rect { fill: #7fbf7f; stroke: #3d7a3d; }
svg.graph .logit rect { fill: #9b7fd1; stroke: #4b3a75; } svg.graph .logit.target rect { fill: #5b2ca0; stroke-width: 2; }
svg.graph .logit text { font-size: 11px; }
`;

/** The standalone page of one attribution graph file (assumed valid: validate-graph.ts). */
export function graphHtml(file: AttributionGraphFile): string {
  const legend = `<p class="legend dim"><span><i style="background:#f0a04b;border-radius:6px"></i>feature (radius: activation)</span><span><i style="background:#bbb"></i>error node (err)</span><span><i style="background:#7fbf7f"></i>token</span><span><i style="background:#9b7fd1"></i>logit (token, probability)</span><span><i style="background:#2166ac"></i>positive link</span><span><i style="background:#c0392b"></i>negative link</span> width: |weight|; hover or click a node for its links</p>`;
  const { svg, css } = graphSvg(file);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(`Attribution graph: ${file.metadata.prompt}`)}</title>
<style>${CSS}${css}</style></head>
<body>
${header(file)}
${legend}
<div class="graph-wrap">${svg}</div>
${topNodes(file)}
</body></html>
`;
}
