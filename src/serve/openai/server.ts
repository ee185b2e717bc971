// The OpenAI-compatible API: routes under /v1 as one Handler (so `probity serve` can mount it beside the dashboard)
// and startOpenAiServer, which serves it alone. One model, one Scheduler; the HTTP layer (../http.ts) turns any error
// into a JSON reply in OpenAI's shape and keeps serving.
import path from 'node:path';
import type { Model } from '../../models/model.js';
import { closeQuietConnections, HttpError, readJson, sendJson, startServer, type Handler, type RunningServer } from '../http.js';
import { RequestAbortedError, Scheduler } from '../scheduler.js';
import { chatTemplateFor } from '../chat-template.js';
import { makeSaeLoader } from '../interventions.js';
import { checkDistortions, type Distortions } from './distortions.js';
import { toHttpError } from './errors.js';
import type { OpenAiContext } from './context.js';
import { handleCompletions } from './completions.js';
import { handleChatCompletions } from './chat-completions.js';
import { getModel, listModels } from './models.js';

export type { Distortions } from './distortions.js';

export interface OpenAiOptions {
  model: Model;
  /** How the model was named (`--model`): accepted as a model id beside the listed one. */
  modelRef: string;
  scheduler?: Scheduler;
  distortions?: Distortions;
  maxQueue?: number;
  /** Request bodies above this many bytes answer 413 (default 4 MiB). */
  bodyLimit?: number;
  /** SAE folders that interventions may name by folder name (beside the model's shipped ones). */
  saes?: string[];
}

/** The id /v1/models lists: the shipped name, or a path's file/folder name without .gguf. */
export function modelId(ref: string): string {
  return path.basename(ref.replace(/[\\/]+$/, '')).replace(/\.gguf$/i, '');
}

export function createOpenAiHandler(o: OpenAiOptions & { scheduler: Scheduler }): { handler: Handler; ctx: OpenAiContext } {
  const distortions = o.distortions ?? {};
  checkDistortions(distortions);
  const id = modelId(o.modelRef);
  const ctx: OpenAiContext = {
    model: o.model, scheduler: o.scheduler, distortions, modelIds: [...new Set([id, o.modelRef])], template: chatTemplateFor(o.model),
    loadSae: makeSaeLoader(o.model, o.saes ?? []), bodyLimit: o.bodyLimit ?? 4 * 2 ** 20, created: Math.floor(Date.now() / 1000),
  };
  const routes: Record<string, { method: string; run: (b: Record<string, unknown>, req: Parameters<Handler>[0], res: Parameters<Handler>[1]) => Promise<void> }> = {
    '/v1/completions': { method: 'POST', run: (b, req, res) => handleCompletions(ctx, b, req, res) },
    '/v1/chat/completions': { method: 'POST', run: (b, req, res) => handleChatCompletions(ctx, b, req, res) },
  };
  const handler: Handler = async (req, res, url) => {
    const p = url.pathname.replace(/\/+$/, '');
    if (!p.startsWith('/v1/') && p !== '/v1') return false;
    try {
      if (p === '/v1/models' || p.startsWith('/v1/models/')) {
        if (req.method !== 'GET') throw new HttpError(405, `${req.method} ${p}: use GET`, null, 'method_not_allowed');
        sendJson(res, 200, p === '/v1/models' ? listModels(ctx) : getModel(ctx, decodeURIComponent(p.slice('/v1/models/'.length))));
        return true;
      }
      const r = routes[p];
      if (!r) throw new HttpError(404, `no route for ${req.method} ${p} (this server has /v1/models, /v1/completions, /v1/chat/completions)`, null, 'not_found');
      if (req.method !== r.method) throw new HttpError(405, `${req.method} ${p}: use ${r.method}`, null, 'method_not_allowed');
      await r.run(await readJson(req, ctx.bodyLimit), req, res);
      return true;
    } catch (e) {
      if (e instanceof RequestAbortedError && res.destroyed) return true; // the client went away: no one to answer
      throw toHttpError(e);
    }
  };
  return { handler, ctx };
}

export async function startOpenAiServer(o: OpenAiOptions & { host?: string; port?: number; onInternalError?: (e: unknown) => void }): Promise<RunningServer & { scheduler: Scheduler }> {
  const scheduler = o.scheduler ?? new Scheduler(o.model, { maxQueue: o.maxQueue });
  const { handler } = createOpenAiHandler({ ...o, scheduler });
  const running = await startServer({ host: o.host ?? '127.0.0.1', port: o.port ?? 0, handlers: [handler], onInternalError: o.onInternalError });
  const closeQuiet = closeQuietConnections(running.server);
  return {
    ...running,
    scheduler,
    // Stop accepting, let the scheduler finish what it holds, then close the connections left.
    async close(graceMs?: number) {
      const closing = running.close(graceMs);
      closeQuiet();
      await scheduler.close();
      await closing;
    },
  };
}
