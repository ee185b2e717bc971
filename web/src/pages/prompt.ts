// Prompt view: a text's tokens (with the organism's concept labels), the SAE's top latents at the clicked token, and
// the model's next-token distribution there (after the last token: the prompt's continuation).
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { post, type SaeInfo } from '../api.js';
import { Chart } from '../charts.js';
import { ErrorBox } from '../components.js';
import { sig, showToken } from '../format.js';
import { href, type Route } from '../router.js';
import type { ModelInfo } from '../main.js';

function nextSpec(next: { text: string; prob: number }[]): any {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: 300,
    height: { step: 16 },
    data: { values: next.map((n, i) => ({ token: `${i + 1}. ${showToken(n.text)}`, probability: n.prob, order: i })) },
    mark: { type: 'bar', color: '#4c78a8' },
    encoding: {
      y: { field: 'token', type: 'nominal', sort: { field: 'order' }, title: 'next token' },
      x: { field: 'probability', type: 'quantitative', scale: { domain: [0, 1] }, title: 'probability' },
    },
  };
}

export function PromptPage({ sae, model, route }: { sae?: SaeInfo; model: ModelInfo; route: Route }) {
  const [text, setText] = useState(route.query.get('text') ?? (model.organism ? 'Once upon a time, Mia the cat went to the park. She was very happy.' : 'The quick brown fox'));
  const [res, setRes] = useState<any>(null);
  const [sel, setSel] = useState<number>(-1);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const run = async (e?: Event) => {
    e?.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await post('/api/prompt', { text, sae: sae?.id, top: 10 });
      setRes(r);
      setSel(r.tokens.length - 1);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const tok = res && sel >= 0 ? res.tokens[sel] : null;
  return html`<section class="prompt">
    <form onSubmit=${run} class="promptform">
      <textarea name="text" rows="3" onInput=${(e: Event) => setText((e.target as HTMLTextAreaElement).value)}>${text}</textarea>
      <button type="submit" disabled=${busy}>${busy ? 'Running…' : 'Run'}</button>
      <span class="dim">SAE ${sae?.id ?? 'none'} at <code>${sae?.hook}</code></span>
    </form>
    <${ErrorBox} error=${error} />
    ${res
      ? html`<div class="cols">
          <div class="left">
            <h2>Tokens <span class="dim small">(click one)</span></h2>
            <div class="tokens">
              ${res.tokens.map(
                (t: any, i: number) => html`<button type="button" class=${`ptok${i === sel ? ' sel' : ''}${t.concepts?.length ? ' lab' : ''}`} title=${t.concepts?.join(', ') ?? ''} onClick=${() => setSel(i)}>${t.id === res.tokens[0].id && i === 0 && t.text === '' ? '<bos>' : showToken(t.text)}</button>`,
              )}
            </div>
            ${res.conceptNames ? html`<p class="dim small">Underlined tokens carry ground-truth concept labels (the organism's labeller, from the text alone).</p>` : ''}
            ${tok
              ? html`<h2>Token ${sel}: “${showToken(tok.text)}”</h2>
                ${tok.concepts ? html`<p><b>concepts</b> ${tok.concepts.length ? tok.concepts.map((c: string) => html`<span class="chip">${c}</span>`) : html`<span class="dim">none</span>`}</p>` : ''}
                <table class="mini toplatents"><thead><tr><th>latent</th><th>activation</th><th>label (best concept or top tokens)</th></tr></thead><tbody>
                  ${tok.latents.map((l: any) => html`<tr><td><a href=${href(['latent', res.sae, l.latent])}>#${l.latent}</a></td><td class="n">${sig(l.act)}</td><td class="clip">${l.label ?? ''}</td></tr>`)}
                </tbody></table>
                <p class="dim small">${tok.active} latents active at this token; the ${tok.latents.length} strongest shown.</p>`
              : ''}
          </div>
          <div class="right">
            <h2>${tok && sel < res.tokens.length - 1 ? `Next-token distribution after token ${sel}` : 'Next-token distribution'}</h2>
            <${Chart} spec=${nextSpec(sel >= 0 && sel < res.tokens.length - 1 ? res.tokens[sel].next : res.next)} label="next-token distribution" />
          </div>
        </div>`
      : ''}
  </section>`;
}
