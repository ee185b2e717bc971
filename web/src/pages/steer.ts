// Steering playground: a prompt, latents with strengths (constant: add strength x decoder row everywhere;
// conditional: clamp the latent's contribution to the strength only where it fires), generated unsteered and steered
// side by side, tokens streaming in as the server samples them.
import { html } from 'htm/preact';
import { useRef, useState } from 'preact/hooks';
import { postStream, type SaeInfo } from '../api.js';
import { ErrorBox } from '../components.js';
import type { Route } from '../router.js';
import type { ModelInfo } from '../main.js';

interface Row {
  sae: string;
  latent: string;
  strength: string;
}

export function SteerPage({ saes, sae, model, route }: { saes: SaeInfo[]; sae?: SaeInfo; model: ModelInfo; route: Route }) {
  const q = route.query;
  const [prompt, setPrompt] = useState(q.get('prompt') ?? (model.organism ? 'Once upon a time, Tom went to the park.' : 'The'));
  const [rows, setRows] = useState<Row[]>([{ sae: sae?.id ?? '', latent: q.get('latent') ?? '0', strength: q.get('strength') ?? '8' }]);
  const [mode, setMode] = useState<'constant' | 'conditional'>('constant');
  const [threshold, setThreshold] = useState('0');
  const [maxTokens, setMaxTokens] = useState('40');
  const [temperature, setTemperature] = useState('0');
  const [seed, setSeed] = useState('0');
  const [out, setOut] = useState<{ unsteered: string; steered: string; status: Record<string, string> }>({ unsteered: '', steered: '', status: {} });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const abort = useRef<AbortController | null>(null);

  const setRow = (i: number, p: Partial<Row>) => setRows(rows.map((r, j) => (j === i ? { ...r, ...p } : r)));
  const run = async (e: Event) => {
    e.preventDefault();
    abort.current?.abort();
    const ac = new AbortController();
    abort.current = ac;
    setBusy(true);
    setError(null);
    const acc = { unsteered: '', steered: '', status: {} as Record<string, string> };
    setOut({ ...acc });
    try {
      await postStream(
        '/api/steer',
        {
          prompt, mode, maxTokens: Number(maxTokens), temperature: Number(temperature), seed: Number(seed),
          ...(mode === 'conditional' ? { threshold: Number(threshold) } : {}),
          latents: rows.map((r) => ({ sae: r.sae, latent: Number(r.latent), strength: Number(r.strength) })),
        },
        (ev) => {
          const side = ev.side as 'unsteered' | 'steered';
          if (ev.error) acc.status[side] = `error: ${ev.error.message}`;
          else if (ev.done) acc.status[side] = `${ev.tokens} tokens, ${ev.finishReason === 'stop' ? 'stopped at end of text' : 'length limit'}`;
          else acc[side] += ev.text;
          setOut({ ...acc, status: { ...acc.status } });
        },
        ac.signal,
      );
    } catch (err) {
      if (!ac.signal.aborted) setError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`<section class="steer">
    <form onSubmit=${run} class="steerform">
      <label class="wide">Prompt<textarea name="prompt" rows="2" onInput=${(e: Event) => setPrompt((e.target as HTMLTextAreaElement).value)}>${prompt}</textarea></label>
      <fieldset>
        <legend>Latents</legend>
        ${rows.map(
          (r, i) => html`<div class="latrow">
            <select name=${`sae${i}`} value=${r.sae} onChange=${(e: Event) => setRow(i, { sae: (e.target as HTMLSelectElement).value })}>${saes.map((s) => html`<option value=${s.id}>${s.id}</option>`)}</select>
            <label>latent <input name=${`latent${i}`} type="number" min="0" value=${r.latent} onInput=${(e: Event) => setRow(i, { latent: (e.target as HTMLInputElement).value })} /></label>
            <label>strength <input name=${`strength${i}`} type="number" step="any" value=${r.strength} onInput=${(e: Event) => setRow(i, { strength: (e.target as HTMLInputElement).value })} /></label>
            ${rows.length > 1 ? html`<button type="button" onClick=${() => setRows(rows.filter((_, j) => j !== i))}>remove</button>` : ''}
          </div>`,
        )}
        <button type="button" onClick=${() => setRows([...rows, { sae: sae?.id ?? saes[0]?.id ?? '', latent: '0', strength: '4' }])}>+ latent</button>
      </fieldset>
      <fieldset class="opts">
        <legend>Mode</legend>
        <label><input type="radio" name="mode" checked=${mode === 'constant'} onChange=${() => setMode('constant')} /> constant (add strength × decoder row at every position)</label>
        <label><input type="radio" name="mode" checked=${mode === 'conditional'} onChange=${() => setMode('conditional')} /> conditional (clamp the latent to strength where its pre-activation > threshold)</label>
        ${mode === 'conditional' ? html`<label>threshold <input name="threshold" type="number" step="any" value=${threshold} onInput=${(e: Event) => setThreshold((e.target as HTMLInputElement).value)} /></label>` : ''}
        <label>max tokens <input name="maxTokens" type="number" min="1" value=${maxTokens} onInput=${(e: Event) => setMaxTokens((e.target as HTMLInputElement).value)} /></label>
        <label>temperature <input name="temperature" type="number" min="0" step="0.1" value=${temperature} onInput=${(e: Event) => setTemperature((e.target as HTMLInputElement).value)} /></label>
        <label>seed <input name="seed" type="number" min="0" value=${seed} onInput=${(e: Event) => setSeed((e.target as HTMLInputElement).value)} /></label>
      </fieldset>
      <button type="submit" class="go">${busy ? 'Generating…' : 'Generate'}</button>
    </form>
    <${ErrorBox} error=${error} />
    <div class="sides">
      ${(['unsteered', 'steered'] as const).map(
        (s) => html`<div class=${`side ${s}`}>
          <h2>${s}</h2>
          <div class="gen" data-side=${s}><span class="dim">${prompt}</span>${out[s]}${busy && !out.status[s] ? html`<span class="cursor">▍</span>` : ''}</div>
          <p class="dim small status">${out.status[s] ?? ''}</p>
        </div>`,
      )}
    </div>
  </section>`;
}
