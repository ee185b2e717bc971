// POST /api/prompt: a text through the model once: its tokens, the SAE's strongest latents at each token, the
// model's next-token distribution after each token (the last one is the prompt's), and on the organism the
// labeller's concept labels per token (recovered from the text alone, src/organism/labeller.ts).
import type { Model } from '../../models/model.js';
import type { Sae } from '../../dictionaries/sae.js';
import { logSoftmax } from '../../models/sampling.js';
import { labelTokens } from '../../organism/labeller.js';
import { CONCEPTS, conceptsOf } from '../../organism/concepts.js';
import { HttpError } from '../../serve/http.js';
import type { SaeCatalog, SaeEntry } from '../catalog.js';
import { intParam, onlyFields, stringParam } from './params.js';

export interface PromptContext {
  model: Model;
  catalog: SaeCatalog;
  loadSae: (ref: string) => Sae;
  organism: boolean;
}

function topTokens(model: Model, logits: Float32Array, n: number): { token: number; text: string; prob: number }[] {
  const lp = logSoftmax(logits);
  const ids = Array.from({ length: lp.length }, (_, i) => i).sort((a, b) => lp[b] - lp[a] || a - b).slice(0, n);
  return ids.map((id) => ({ token: id, text: model.tokenizer.decode([id]), prob: Math.exp(lp[id]) }));
}

export function encodePrompt(model: Model, text: string, param: string, extra = 0): number[] {
  const ids = model.tokenizer.encode(text);
  if (ids.length === 0) throw new HttpError(400, `${param} has no tokens`, param, 'invalid_value');
  if (ids.length + extra > model.spec.nCtx) {
    throw new HttpError(400, `${param} has ${ids.length} tokens${extra ? ` (+${extra} to generate)` : ''}; the model's context holds ${model.spec.nCtx}`, param, 'context_length_exceeded');
  }
  return ids;
}

export async function promptView(c: PromptContext, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  onlyFields(body, ['text', 'sae', 'top', 'next'], 'POST /api/prompt');
  const text = stringParam(body.text, 'text', 20_000);
  const top = intParam(body.top, 'top', 1, 64, 8);
  const nNext = intParam(body.next, 'next', 1, 100, 10);
  const entry: SaeEntry = c.catalog.get(body.sae === undefined ? undefined : String(body.sae));
  const ids = encodePrompt(c.model, text, 'text');
  const sae = c.loadSae(entry.dir);
  const hook = sae.cfg.hookName;
  const r = await c.model.forward([ids], { cache: [hook], logits: 'all' });
  const act = r.cache[hook];
  const T = ids.length;
  const code = await sae.encode(act.data as Float32Array, T);
  const V = c.model.spec.vocab;
  const logits = r.logits!.data;
  const labels = c.organism ? labelTokens(ids) : null;
  const summaries = entry.dataDir ? c.catalog.latents(entry as SaeEntry & { dataDir: string }).index : null;
  const tokens = ids.map((id, t) => {
    const lat: { latent: number; act: number; label?: string }[] = [];
    for (let j = 0; j < code.k; j++) {
      const v = code.values[t * code.k + j];
      if (v !== 0) lat.push({ latent: code.indices[t * code.k + j], act: v });
    }
    lat.sort((a, b) => b.act - a.act || a.latent - b.latent);
    const kept = lat.slice(0, top).map((l) => {
      if (!summaries) return l;
      const s = summaries.summary(l.latent);
      return { ...l, label: s.bestConcept ?? s.topTokens.slice(0, 3).join(' ') };
    });
    return {
      id, text: c.model.tokenizer.decode([id]), latents: kept, active: lat.length,
      next: topTokens(c.model, logits.subarray(t * V, (t + 1) * V), Math.min(5, nNext)),
      ...(labels ? { concepts: conceptsOf(labels[t]) } : {}),
    };
  });
  return {
    sae: entry.id, hook, hasData: !!entry.dataDir, tokens, next: topTokens(c.model, logits.subarray((T - 1) * V, T * V), nNext),
    ...(labels ? { conceptNames: [...CONCEPTS] } : {}),
  };
}
