// What every OpenAI endpoint of one server shares: the model and its ids, the scheduler, the chat template, the SAE
// loader for `probity` interventions, the distortions; and the steps every request takes before generating (the
// model check, the `probity` field, the queue's room, the abort signal of a client that goes away).
import type http from 'node:http';
import type { Model } from '../../models/model.js';
import type { Sae } from '../../dictionaries/sae.js';
import { HttpError } from '../http.js';
import type { ChatTemplate } from '../chat-template.js';
import { parseInterventions } from '../interventions.js';
import type { ServeContext } from './generation.js';
import { badParam } from './errors.js';
import { reqString, type Body } from './validate.js';

export interface OpenAiContext extends ServeContext {
  /** Model ids a request may name; the first is the one /v1/models lists. */
  modelIds: string[];
  template: ChatTemplate;
  loadSae: (ref: string) => Sae;
  bodyLimit: number;
  created: number;
}

export function checkModel(ctx: OpenAiContext, body: Body): string {
  const m = reqString(body, 'model');
  if (!ctx.modelIds.includes(m)) {
    throw new HttpError(404, `The model \`${m}\` does not exist; this server serves ${ctx.modelIds.map((x) => `\`${x}\``).join(', ')}`, 'model', 'model_not_found');
  }
  return ctx.modelIds[0];
}

/** The `probity` extension field: { "interventions": [...] } (README, "Serving"). */
export function probityField(ctx: OpenAiContext, body: Body) {
  const p = body.probity;
  if (p === undefined || p === null) return undefined;
  if (typeof p !== 'object' || Array.isArray(p)) throw badParam('probity', 'expected an object { "interventions": [...] }', 'invalid_type');
  return parseInterventions(p, { model: ctx.model, loadSae: ctx.loadSae }, 'probity');
}

/** 429 up front when the queue cannot take all of a request's choices (none is started then). */
export function checkRoom(ctx: OpenAiContext, choices: number): void {
  const { queued } = ctx.scheduler.load;
  if (queued + choices > ctx.scheduler.maxQueue) {
    throw new HttpError(429, `the generation queue is full (${queued} waiting, room for ${ctx.scheduler.maxQueue}; this request needs ${choices}); retry later`, null, 'rate_limit_exceeded', 'rate_limit_error');
  }
}

/** 400 context_length_exceeded when prompt + completion cannot fit. */
export function checkContext(model: Model, promptTokens: number, maxTokens: number, param: string): void {
  const n = model.spec.nCtx;
  if (promptTokens + maxTokens > n) {
    throw new HttpError(400, `This model's maximum context length is ${n} tokens. However, you requested ${promptTokens + maxTokens} tokens (${promptTokens} in the prompt, ${maxTokens} for the completion). Please reduce the prompt or the completion length.`, param, 'context_length_exceeded');
  }
}

/** Aborted when the client goes away before the reply has been written. */
export function clientSignal(req: http.IncomingMessage, res: http.ServerResponse): AbortSignal {
  const ac = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) ac.abort();
  });
  req.on('aborted', () => ac.abort());
  return ac.signal;
}

export function newId(prefix: string): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 12)}${Date.now().toString(36)}`;
}
