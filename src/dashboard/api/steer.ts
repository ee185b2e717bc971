// POST /api/steer: one prompt generated twice through the shared Scheduler, without and with the interventions, the
// tokens of both streamed as server-sent events as they are sampled. Interventions come as the server's JSON spec
// (`interventions`, src/serve/interventions.ts) or as the playground's shorthand `latents: [{sae, latent, strength}]`
// with a `mode`: "constant" adds strength x the latent's decoder row at every position; "conditional" clamps the
// latent's contribution to `strength` only where its pre-activation exceeds `threshold` (the conditional suite's
// intervention), and leaves every other position exactly as it was.
//
// Events: {side: "unsteered"|"steered", token, text} per token; {side, done: true, finishReason, text, tokens} when a
// side ends; {side, error} if one fails; then [DONE].
import type http from 'node:http';
import type { Model } from '../../models/model.js';
import type { Sae } from '../../dictionaries/sae.js';
import { createStreamDecoder } from '../../models/tokenizers/stream.js';
import { HttpError, eventStream } from '../../serve/http.js';
import { InterventionSpecError, parseInterventions } from '../../serve/interventions.js';
import type { Scheduler } from '../../serve/scheduler.js';
import type { SaeCatalog } from '../catalog.js';
import { encodePrompt } from './prompt.js';
import { choiceParam, intParam, numParam, onlyFields, stringParam } from './params.js';

export interface SteerContext {
  model: Model;
  scheduler: Scheduler;
  catalog: SaeCatalog;
  loadSae: (ref: string) => Sae;
}

/** Largest |strength| accepted: far past where any model's text has collapsed, small enough to stay finite. */
export const MAX_STRENGTH = 1e4;

/** The body's interventions as the server's spec entries. */
export function steerSpec(c: SteerContext, body: Record<string, unknown>): unknown[] {
  if (body.interventions !== undefined && body.latents !== undefined) throw new HttpError(400, 'give either interventions (the JSON spec) or latents (the shorthand), not both', 'latents', 'invalid_value');
  if (body.interventions !== undefined) {
    if (!Array.isArray(body.interventions)) throw new HttpError(400, 'interventions must be an array of intervention specs', 'interventions', 'invalid_value');
    return body.interventions;
  }
  const mode = choiceParam(body.mode, 'mode', ['constant', 'conditional'] as const, 'constant');
  const threshold = numParam(body.threshold, 'threshold', -MAX_STRENGTH, MAX_STRENGTH, 0);
  if (!Array.isArray(body.latents) || body.latents.length === 0) throw new HttpError(400, 'latents must be a non-empty array of {sae, latent, strength}', 'latents', 'invalid_value');
  if (body.latents.length > 16) throw new HttpError(400, `latents has ${body.latents.length} entries; at most 16`, 'latents', 'invalid_value');
  return body.latents.map((l: unknown, i: number) => {
    const at = `latents[${i}]`;
    if (l === null || typeof l !== 'object' || Array.isArray(l)) throw new HttpError(400, `${at} must be an object {sae, latent, strength}`, at, 'invalid_value');
    const o = l as Record<string, unknown>;
    onlyFields(o, ['sae', 'latent', 'strength'], at);
    const entry = c.catalog.get(o.sae === undefined ? undefined : String(o.sae), `${at}.sae`);
    const latent = intParam(o.latent, `${at}.latent`, 0, Math.max(0, entry.cfg.dSae - 1));
    const strength = numParam(o.strength, `${at}.strength`, -MAX_STRENGTH, MAX_STRENGTH);
    return mode === 'constant'
      ? { hook: entry.cfg.hook, kind: 'add', direction: { sae: entry.dir, latent }, scale: strength }
      : { kind: 'conditional_clamp', sae: entry.dir, latent, value: strength, threshold };
  });
}

export async function steer(c: SteerContext, req: http.IncomingMessage, res: http.ServerResponse, body: Record<string, unknown>): Promise<void> {
  onlyFields(body, ['prompt', 'maxTokens', 'temperature', 'topP', 'topK', 'seed', 'latents', 'mode', 'threshold', 'interventions'], 'POST /api/steer');
  const prompt = stringParam(body.prompt, 'prompt', 20_000);
  const maxTokens = intParam(body.maxTokens, 'maxTokens', 1, c.model.spec.nCtx, 40);
  const temperature = numParam(body.temperature, 'temperature', 0, 5, 0);
  const topP = body.topP === undefined ? undefined : numParam(body.topP, 'topP', 0, 1);
  const topK = body.topK === undefined ? undefined : intParam(body.topK, 'topK', 0, c.model.spec.vocab);
  const seed = intParam(body.seed, 'seed', 0, 2 ** 32 - 1, 0);
  const ids = encodePrompt(c.model, prompt, 'prompt', 1);
  let parsed: { map: ReturnType<typeof parseInterventions>['map']; key: string };
  try {
    parsed = parseInterventions(steerSpec(c, body), { model: c.model, loadSae: c.loadSae }, 'interventions');
  } catch (e) {
    if (e instanceof InterventionSpecError) throw new HttpError(400, e.message, e.path, 'invalid_intervention');
    throw e;
  }
  const s = c.scheduler as Scheduler & { load?: { queued: number }; maxQueue?: number };
  if (s.load && s.maxQueue !== undefined && s.load.queued + 2 > s.maxQueue) throw new HttpError(429, `the generation queue is full (${s.maxQueue} requests waiting); retry later`, null, 'queue_full', 'rate_limit_error');

  const stream = eventStream(req, res);
  const abort = new AbortController();
  res.on('close', () => abort.abort());
  const side = async (name: 'unsteered' | 'steered', interventions?: typeof parsed) => {
    const dec = createStreamDecoder(c.model.tokenizer, ids[ids.length - 1] ?? null);
    let text = '';
    try {
      const g = await c.scheduler.submit({
        prompt: ids, maxTokens, temperature, topP, topK, seed, signal: abort.signal,
        interventions: interventions?.map, interventionKey: interventions ? `dashboard:${interventions.key}` : undefined,
        onToken: (token) => {
          const t = dec.push(token);
          text += t;
          stream.send({ side: name, token, text: t });
        },
      });
      text += dec.end();
      stream.send({ side: name, done: true, finishReason: g.finishReason, tokens: g.tokens.length, text });
    } catch (e) {
      if (!abort.signal.aborted) stream.send({ side: name, error: { message: e instanceof Error ? e.message : String(e) } });
    }
  };
  await Promise.all([side('unsteered'), side('steered', parsed)]);
  stream.done();
}
