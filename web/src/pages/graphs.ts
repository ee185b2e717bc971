// Attribution graphs: the graph files the server was given (reports/graphs/*.json or --graphs), each with its prompt,
// counts and error accounting; a graph's page frames the standalone page the server renders from the file
// (src/circuits/html.ts, the same page a graph command writes), so the dashboard shows exactly that drawing.
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { get } from '../api.js';
import { ErrorBox, Loading } from '../components.js';
import { num } from '../format.js';
import { href } from '../router.js';

export function GraphsPage() {
  const [list, setList] = useState<any[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => void get('/api/graphs').then((r) => setList(r.graphs), setError), []);
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!list) return html`<${Loading} />`;
  if (list.length === 0) return html`<p>No attribution graphs found: the server lists the <code>*.json</code> files of <code>reports/graphs</code> (or the folders it was given).</p>`;
  return html`<section class="graphs">
    <h1>Attribution graphs</h1>
    <div class="table-wrap"><table class="list graph-list">
      <thead><tr><th class="name">graph</th><th class="prompt">prompt</th><th>features</th><th>nodes</th><th>links</th><th class="score">replacement</th><th class="score">completeness</th><th class="score">error share</th><th class="model">model</th></tr></thead>
      <tbody>${list.map((g) => g.available
        ? html`<tr>
          <td class="clip"><a href=${href(['graph', g.name])}>${g.name}</a></td><td class="clip snippet" title=${g.prompt}>${g.prompt}</td>
          <td class="n">${g.counts.active_features}</td><td class="n">${g.counts.kept_nodes}</td><td class="n">${g.counts.kept_links}</td>
          <td class="n">${num(g.scores.replacement_score)}</td><td class="n">${num(g.scores.completeness_score)}</td><td class="n">${num(g.scores.error_influence_share)}</td><td class="clip">${g.model}</td>
        </tr>`
        : html`<tr class="unavailable"><td class="clip">${g.name}</td><td colspan="8" class="error-cell">${g.error}</td></tr>`)}</tbody>
    </table></div>
  </section>`;
}

export function GraphPage({ name }: { name: string }) {
  const [g, setG] = useState<any>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    setG(null);
    setError(null);
    get(`/api/graphs/${encodeURIComponent(name)}`).then(setG, setError);
  }, [name]);
  if (error) return html`<section class="graph"><h1>${name}</h1><${ErrorBox} error=${error} /><p><a href=${href(['graphs'])}>All graphs</a></p></section>`;
  if (!g) return html`<${Loading} what=${`Loading ${name}`} />`;
  const page = `/api/graphs/${encodeURIComponent(name)}/html`;
  const p = g.metadata.probity;
  return html`<section class="graph">
    <h1>${name} <span class="dim small">${p.model} · code <code>${p.code_version}</code></span></h1>
    <p class="dim small">${g.nodes.length} nodes, ${g.links.length} links · replacement ${num(p.scores.replacement_score)} · completeness ${num(p.scores.completeness_score)} · error share ${num(p.scores.error_influence_share)} ·
      <a href=${page} target="_blank" rel="noopener">open the page on its own</a> · <a href=${`/api/graphs/${encodeURIComponent(name)}`} target="_blank" rel="noopener">JSON</a></p>
    <iframe class="graph-view" title="attribution graph" sandbox="" src=${page}></iframe>
  </section>`;
}
