// The latent list: search by token or context text, sort by density / activation / concept match, paged.
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, get, type SaeInfo } from '../api.js';
import { ErrorBox, Loading, NoData } from '../components.js';
import { pct, sig, showToken } from '../format.js';
import { go, href, type Route } from '../router.js';

const SORTS: [string, string][] = [
  ['id', 'id'],
  ['density', 'density'],
  ['maxAct', 'max activation'],
  ['bestF1', 'best concept match (F1)'],
  ['bestAuroc', 'best concept AUROC'],
];

export function SaePicker({ saes, sae, onPick }: { saes: SaeInfo[]; sae?: SaeInfo; onPick: (id: string) => void }) {
  return html`<label class="picker">SAE <select value=${sae?.id} onChange=${(e: Event) => onPick((e.target as HTMLSelectElement).value)}>
    ${saes.map((s) => html`<option value=${s.id}>${s.id}${s.hasData ? '' : ' (no data)'}</option>`)}
  </select></label>`;
}

export function LatentList({ sae, saes, route }: { sae?: SaeInfo; saes: SaeInfo[]; route: Route }) {
  const q = route.query.get('q') ?? '';
  const sort = route.query.get('sort') ?? 'id';
  const order = route.query.get('order') ?? '';
  const page = Number(route.query.get('page') ?? 1);
  const [text, setText] = useState(q);
  const [data, setData] = useState<any>(null);
  const [error, setError] = useState<unknown>(null);
  const params = { sae: sae?.id, q, sort, order, page };
  const set = (p: Record<string, string | number | undefined>) => go(['latents'], { ...params, ...p }, true);
  useEffect(() => setText(q), [q]);
  useEffect(() => {
    if (!sae) return;
    setError(null);
    get('/api/latents', { sae: sae.id, q, sort, order, page, pageSize: 50 }).then(setData, (e) => {
      setData(null);
      setError(e);
    });
  }, [sae?.id, q, sort, order, page]);
  if (!sae) return html`<p>This server has no SAEs.</p>`;
  const noData = error instanceof ApiError && error.code === 'no_dashboard_data';
  return html`<section class="latents">
    <div class="toolbar">
      <${SaePicker} saes=${saes} sae=${sae} onPick=${(id: string) => go(['latents'], { sae: id })} />
      <form class="search" onSubmit=${(e: Event) => (e.preventDefault(), set({ q: text, page: 1 }))}>
        <input type="search" name="q" placeholder="token or context text, 'exact token', or #id" value=${text} onInput=${(e: Event) => setText((e.target as HTMLInputElement).value)} />
        <button type="submit">Search</button>
      </form>
      <label>sort <select name="sort" value=${sort} onChange=${(e: Event) => set({ sort: (e.target as HTMLSelectElement).value, order: undefined, page: 1 })}>
        ${SORTS.map(([k, l]) => html`<option value=${k}>${l}</option>`)}
      </select></label>
      ${data ? html`<button type="button" onClick=${() => set({ order: data.order === 'asc' ? 'desc' : 'asc', page: 1 })}>${data.order === 'asc' ? '↑ ascending' : '↓ descending'}</button>` : ''}
    </div>
    ${noData ? html`<${NoData} message=${(error as Error).message} />` : html`<${ErrorBox} error=${error} />`}
    ${!data && !error ? html`<${Loading} />` : ''}
    ${data
      ? html`<p class="dim count">${data.total.toLocaleString()} latent${data.total === 1 ? '' : 's'}${q ? ` matching “${q}”` : ''} · page ${data.page} of ${data.pages}</p>
        <div class="table-wrap"><table class="list">
          <colgroup><col style="width:5em" /><col style="width:6.5em" /><col style="width:6em" /><col style="width:15em" /><col style="width:13em" /><col style="width:13em" /><col /></colgroup>
          <thead><tr><th>latent</th><th>density</th><th>max act</th><th>top tokens</th><th title="precision / recall of 'active'">best match (F1)</th><th>best AUROC</th><th>top context</th></tr></thead>
          <tbody>
            ${data.items.map(
              (it: any) => html`<tr class="row" onClick=${() => go(['latent', sae.id, it.id])}>
                <td><a href=${href(['latent', sae.id, it.id])}>#${it.id}</a></td>
                <td class="n">${pct(it.density)}</td>
                <td class="n">${sig(it.maxAct)}</td>
                <td class="clip">${it.topTokens.map((t: string) => html`<span class="chip">${showToken(t)}</span>`)}</td>
                <td class="clip">${it.bestConcept ? `${it.bestConcept} ${sig(it.bestF1, 2)}` : '–'}</td>
                <td class="clip" title=${it.aurocConcept ?? ''}>${it.bestAuroc === null ? '–' : html`${sig(it.bestAuroc, 3)} <span class="dim">${it.aurocConcept}</span>`}</td>
                <td class="clip snippet" title=${it.snippet}>${it.snippet.replace(/\n/g, ' ↵ ')}</td>
              </tr>`,
            )}
          </tbody>
        </table></div>
        <div class="pager">
          <button disabled=${data.page <= 1} onClick=${() => set({ page: data.page - 1 })}>← previous</button>
          <span>page ${data.page} / ${data.pages}</span>
          <button disabled=${data.page >= data.pages} onClick=${() => set({ page: data.page + 1 })}>next →</button>
        </div>`
      : ''}
  </section>`;
}
