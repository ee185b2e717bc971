// GET /v1/models and /v1/models/{id}: the one model this server serves, in OpenAI's model-object shape, with
// probity's facts about it (context length, chat template) as extra fields OpenAI clients ignore.
import { HttpError } from '../http.js';
import type { OpenAiContext } from './context.js';

export function modelObject(ctx: OpenAiContext) {
  return {
    id: ctx.modelIds[0], object: 'model', created: ctx.created, owned_by: 'probity',
    context_length: ctx.model.spec.nCtx, chat_template: { kind: ctx.template.kind, source: ctx.template.source },
  };
}

export function listModels(ctx: OpenAiContext) {
  return { object: 'list', data: [modelObject(ctx)] };
}

export function getModel(ctx: OpenAiContext, id: string) {
  if (!ctx.modelIds.includes(id)) throw new HttpError(404, `The model \`${id}\` does not exist`, 'model', 'model_not_found');
  return modelObject(ctx);
}
