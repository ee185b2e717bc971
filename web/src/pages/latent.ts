// A latent's page: top-activating contexts and contexts from every activation quantile (tokens shaded by activation),
// the activation histogram, promoted / suppressed output tokens, nearest latents, concept matches with sensitivity
// bars on the organism, and a link to steer with it.
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, get, type SaeInfo } from '../api.js';
import { Chart } from '../charts.js';
import { ContextView, ErrorBox, Loading, NoData } from '../components.js';
import { pct, sig, showToken } from '../format.js';
import { href } from '../router.js';

function histogramSpec(h: { edges: number[]; counts: number[]; zeros: number }): any {
  const values = h.counts.map((n, i) => ({ from: h.edges[i], to: h.edges[i + 1], tokens: n }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: 400,
    height: 170,
    data: { values },
    mark: { type: 'bar', color: '#e8751a' },
    encoding: {
      x: { field: 'from', type: 'quantitative', bin: { binned: true }, title: 'activation (non-zero)' },
      x2: { field: 'to' },
      y: { field: 'tokens', type: 'quantitative', title: 'tokens' },
    },
  };
}

function sensitivitySpec(s: { concept: string; base: number; bins: { lo: number; hi: number; n: number; fractionPositive: number }[] }): any {
  const values = s.bins.map((b, i) => ({ bin: b.hi === 0 && b.lo === 0 ? 'inactive' : `${i}: ${sig(b.lo, 2)}–${sig(b.hi, 2)}`, 'fraction positive': b.fractionPositive, tokens: b.n, order: i }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: s.concept, fontSize: 12 },
    width: 400,
    height: 120,
    layer: [
      {
        data: { values },
        mark: { type: 'bar', color: '#4c78a8' },
        encoding: {
          x: { field: 'bin', type: 'ordinal', sort: { field: 'order' }, title: 'activation bin (inactive, then quantiles of the non-zero activations)', axis: { labelAngle: -35, labelFontSize: 9 } },
          y: { field: 'fraction positive', type: 'quantitative', scale: { domain: [0, 1] }, title: 'fraction with concept' },
        },
      },
      { data: { values: [{ base: s.base }] }, mark: { type: 'rule', strokeDash: [4, 3], color: '#c00' }, encoding: { y: { field: 'base', type: 'quantitative' } } },
    ],
  };
}

export function LatentPage({ sae, id, saes }: { sae: string; id: string; saes: SaeInfo[] }) {
  const [d, setD] = useState<any>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    setD(null);
    setError(null);
    get(`/api/latents/${encodeURIComponent(id)}`, { sae }).then(setD, setError);
  }, [sae, id]);
  if (error) return error instanceof ApiError && error.code === 'no_dashboard_data' ? html`<${NoData} message=${error.message} />` : html`<${ErrorBox} error=${error} />`;
  if (!d) return html`<${Loading} what=${`Loading latent ${id}`} />`;
  const info = saes.find((s) => s.id === sae);
  const names: string[] = d.conceptNames ?? [];
  const steer = href(['steer'], { sae, latent: d.id, strength: sig(Math.max(1, 2 * d.maxAct), 2) });
  return html`<section class="latent">
    <div class="head">
      <h1>Latent #${d.id} <span class="dim">· ${sae}</span></h1>
      <div class="facts">
        <span><b>density</b> ${pct(d.density)} (${d.active.toLocaleString()} of ${d.tokens.toLocaleString()} tokens)</span>
        <span><b>max</b> ${sig(d.maxAct)}</span><span><b>mean (active)</b> ${sig(d.meanAct)}</span>
        <span><b>hook</b> <code>${d.hook}</code></span>
        <a class="button" href=${steer}>Steer with this latent →</a>
        <a href=${href(['latent', sae, Math.max(0, d.id - 1)])}>← #${Math.max(0, d.id - 1)}</a>
        <a href=${href(['latent', sae, Math.min((info?.dSae ?? d.id + 2) - 1, d.id + 1)])}>#${d.id + 1} →</a>
      </div>
    </div>
    <div class="cols">
      <div class="left">
        <h2>Top activations</h2>
        ${d.top.length ? d.top.map((c: any) => html`<${ContextView} c=${c} scale=${d.maxAct} names=${names} />`) : html`<p class="dim">This latent never fired on the ${d.tokens.toLocaleString()} tokens.</p>`}
        <h2>Across the activation range</h2>
        <p class="dim">Contexts sampled at random from each quantile bin of the non-zero activations (highest first): what the latent does over its whole range, not only at its top.</p>
        ${d.quantiles.map(
          (q: any, i: number) => html`<div class="quantile">
            <h3>bin ${d.quantiles.length - i} of ${d.quantiles.length}: activation ${sig(q.lo)} – ${sig(q.hi)} <span class="dim">(${q.n} tokens)</span></h3>
            ${q.contexts.map((c: any) => html`<${ContextView} c=${c} scale=${d.maxAct} names=${names} />`)}
          </div>`,
        )}
      </div>
      <div class="right">
        <h2>Activation density</h2>
        ${d.histogram.counts.length ? html`<${Chart} spec=${histogramSpec(d.histogram)} label="activation histogram" />` : ''}
        <p class="dim small">${d.histogram.zeros.toLocaleString()} inactive tokens are not drawn.</p>
        <h2>Output tokens</h2>
        <div class="two">
          <table class="mini"><thead><tr><th>promoted</th><th>logit</th></tr></thead><tbody>
            ${d.promoted.map((p: any) => html`<tr><td class="tokcell">${showToken(p.text)}</td><td class="n up">+${sig(p.value)}</td></tr>`)}
          </tbody></table>
          <table class="mini"><thead><tr><th>suppressed</th><th>logit</th></tr></thead><tbody>
            ${d.suppressed.map((p: any) => html`<tr><td class="tokcell">${showToken(p.text)}</td><td class="n down">${sig(p.value)}</td></tr>`)}
          </tbody></table>
        </div>
        <p class="dim small">Decoder direction times the final norm's weight, through the unembedding (direct effect per unit of activation).</p>
        ${names.length
          ? html`<h2>Ground-truth concepts</h2>
            ${d.concepts.length
              ? html`<table class="mini concepts"><thead><tr><th>concept</th><th>AUROC</th><th>precision</th><th>recall</th><th>F1</th></tr></thead><tbody>
                ${d.concepts.map((c: any) => html`<tr><td>${c.concept}</td><td class="n">${sig(c.auroc)}</td><td class="n">${sig(c.precision)}</td><td class="n">${sig(c.recall)}</td><td class="n">${sig(c.f1)}</td></tr>`)}
              </tbody></table>
              <p class="dim small">Token AUROC of the activation (0 where inactive); precision and recall of “active”.</p>
              <h3>Sensitivity</h3>
              ${d.sensitivity.map((s: any) => html`<${Chart} spec=${sensitivitySpec(s)} label=${`sensitivity ${s.concept}`} />`)}
              <p class="dim small">Fraction of the tokens in each activation bin that carry the concept; dashed: its base rate.</p>`
              : html`<p class="dim">No concept matches (the latent is dead).</p>`}`
          : ''}
        <h2>Nearest latents (decoder cosine)</h2>
        <table class="mini"><thead><tr><th>latent</th><th>cosine</th><th>top tokens</th></tr></thead><tbody>
          ${d.neighbours.map((n: any) => html`<tr><td><a href=${href(['latent', sae, n.latent])}>#${n.latent}</a></td><td class="n">${sig(n.cosine)}</td><td class="clip">${n.summary.topTokens.map((t: string) => html`<span class="chip">${showToken(t)}</span>`)}</td></tr>`)}
        </tbody></table>
      </div>
    </div>
  </section>`;
}
