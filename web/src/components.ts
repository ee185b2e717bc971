// Pieces shared by the pages: highlighted contexts, tables that never overflow the page, error and loading notes.
import { html } from 'htm/preact';
import { showToken, sig } from './format.js';

export interface ApiContextView {
  doc: number;
  at: number;
  tokens: number[];
  text: string[];
  acts: number[];
  labels?: number[];
}

/** Concept names of a label bitmask. */
export function conceptNames(mask: number | undefined, names: readonly string[]): string[] {
  if (!mask) return [];
  const out: string[] = [];
  for (let b = 0; b < names.length; b++) if ((mask >>> b) & 1) out.push(names[b]);
  return out;
}

/** One context: each token shaded by the latent's activation relative to `scale` (the latent's maximum). */
export function ContextView({ c, scale, names = [] }: { c: ApiContextView; scale: number; names?: readonly string[] }) {
  return html`<div class="ctx" data-doc=${c.doc}>
    ${c.text.map((t, i) => {
      const a = c.acts[i];
      const alpha = a > 0 && scale > 0 ? Math.min(1, 0.15 + (0.85 * a) / scale) : 0;
      const concepts = conceptNames(c.labels?.[i], names);
      const title = `${JSON.stringify(t)}  activation ${sig(a, 4)}${concepts.length ? `\nconcepts: ${concepts.join(', ')}` : ''}`;
      return html`<span class=${`tok${i === c.at ? ' at' : ''}${a > 0 ? ' on' : ''}`} style=${alpha ? `background: rgba(240, 110, 20, ${alpha.toFixed(3)})` : ''} title=${title}>${showToken(t)}</span>`;
    })}
  </div>`;
}

export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  const msg = error instanceof Error ? error.message : String(error);
  return html`<div class="error" role="alert">${msg}</div>`;
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return html`<p class="dim">${what}…</p>`;
}

/** A missing-data note: the server's message names the command that makes the data. */
export function NoData({ message }: { message: string }) {
  const cmd = /`([^`]+)`/.exec(message)?.[1];
  return html`<div class="nodata"><p><b>No dashboard data for this SAE yet.</b></p>${cmd ? html`<p>Make it with</p><pre class="cmd">${cmd}</pre><p class="dim">then reload this page.</p>` : html`<p>${message}</p>`}</div>`;
}
