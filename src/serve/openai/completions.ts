// POST /v1/completions (OpenAI's legacy completions, what eval harnesses score with): `prompt` as a string, strings,
// token ids or lists of them; `echo` returns the prompt with its logprobs (one forward over the prompt; the first
// token's logprob is null, as OpenAI's); `logprobs: N` the N most likely alternatives per token; n, seed,
// max_tokens (default 16, as OpenAI's), temperature, top_p, stop, stream, usage, the `probity` extension field.
// Choices are ordered prompt-major (choice i*n + j is prompt i's j-th), as OpenAI orders them.
import type http from 'node:http';
import { eventStream, errorBody, HttpError, sendJson } from '../http.js';
import { badParam, toHttpError } from './errors.js';
import { checkContext, checkModel, checkRoom, clientSignal, newId, probityField, type OpenAiContext } from './context.js';
import { checkKnown, commonParams, COMMON_KNOWN, optBool, optInt, type Body } from './validate.js';
import { runChoices, type ChoiceOut, type TokenOut } from './generation.js';
import { legacyLogprobs } from './logprob-shapes.js';
import { ChunkWriter, usage } from './chunks.js';
import type { Piece } from './stop.js';

const KNOWN = [...COMMON_KNOWN, 'prompt', 'max_tokens', 'logprobs', 'echo', 'best_of', 'suffix'];
export const SYSTEM_FINGERPRINT = 'probity';

/** Token-id prompts from `prompt`: a string, an array of strings, an array of ids, or an array of id arrays. */
function promptsField(ctx: OpenAiContext, body: Body): number[][] {
  const v = body.prompt;
  const tok = ctx.model.tokenizer;
  const V = ctx.model.spec.vocab;
  const ids = (a: unknown[], at: string) => {
    a.forEach((t, k) => {
      if (!(typeof t === 'number' && Number.isInteger(t) && t >= 0 && t < V)) throw badParam(`${at}[${k}]`, `expected a token id from 0 to ${V - 1}, got ${JSON.stringify(t)}`);
    });
    if (a.length === 0) throw badParam(at, 'is an empty token list');
    return a as number[];
  };
  const text = (s: string, at: string) => {
    const r = tok.encode(s);
    if (r.length === 0) throw badParam(at, 'encodes to no tokens (and the model adds no BOS): nothing to continue from');
    return r;
  };
  if (v === undefined || v === null) throw badParam('prompt', 'is required', 'missing_required_parameter');
  if (typeof v === 'string') return [text(v, 'prompt')];
  if (!Array.isArray(v) || v.length === 0) throw badParam('prompt', 'expected a string, an array of strings, an array of token ids or an array of token-id arrays', 'invalid_type');
  if (v.every((x) => typeof x === 'string')) return v.map((s, i) => text(s as string, `prompt[${i}]`));
  if (v.every((x) => typeof x === 'number')) return [ids(v, 'prompt')];
  if (v.every((x) => Array.isArray(x))) return v.map((a, i) => ids(a as unknown[], `prompt[${i}]`));
  throw badParam('prompt', 'mixes types; expected all strings, all token ids, or all token-id arrays', 'invalid_type');
}

export async function handleCompletions(ctx: OpenAiContext, body: Body, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  checkKnown(body, KNOWN);
  const modelId = checkModel(ctx, body);
  const p = commonParams(body);
  const prompts = promptsField(ctx, body);
  const echo = optBool(body, 'echo') ?? false;
  const logprobsN = optInt(body, 'logprobs', 0, 20);
  const bestOf = optInt(body, 'best_of', 1, 128);
  if (bestOf !== undefined && bestOf !== p.n) throw badParam('best_of', `only best_of = n (${p.n}) is supported: this server returns every completion it generates`);
  if (body.suffix !== undefined && body.suffix !== null) throw badParam('suffix', 'is not supported by this server (no insertion models)');
  const given = optInt(body, 'max_tokens', 0, 2 ** 31 - 1);
  const nCtx = ctx.model.spec.nCtx;
  const maxTokens = prompts.map((pr, i) => {
    if (given !== undefined) {
      checkContext(ctx.model, pr.length, given, prompts.length > 1 ? `prompt[${i}]` : 'prompt');
      return given;
    }
    checkContext(ctx.model, pr.length, 0, prompts.length > 1 ? `prompt[${i}]` : 'prompt');
    return Math.min(16, nCtx - pr.length); // the default is cut to the room left
  });
  const interventions = probityField(ctx, body);
  checkRoom(ctx, prompts.length * p.n);

  const id = newId('cmpl');
  const signal = clientSignal(req, res);
  const job = { prompts, maxTokens, params: p, logprobs: logprobsN ?? 0, echo, interventions, signal };
  const promptText = (c: ChoiceOut) => (c.promptTokens ?? []).map((t) => t.text).join('');
  const lp = (pieces: readonly Piece<TokenOut>[], offset: number) => (logprobsN === undefined ? null : legacyLogprobs(ctx.model, pieces, offset));

  if (!p.stream) {
    const choices = await runChoices(ctx, job);
    const completion = choices.reduce((n, c) => n + c.tokens.length, 0);
    sendJson(res, 200, {
      id, object: 'text_completion', created: Math.floor(Date.now() / 1000), model: modelId, system_fingerprint: SYSTEM_FINGERPRINT,
      choices: choices.map((c) => {
        const head = echo ? promptText(c) : '';
        return {
          index: c.index, text: head + c.text, finish_reason: c.finishReason,
          logprobs: lp([...(echo ? c.promptTokens! : []), ...c.tokens], 0),
        };
      }),
      usage: usage(prompts.reduce((n, pr) => n + pr.length, 0), completion),
    });
    return;
  }

  const w = new ChunkWriter(eventStream(req, res), { id, object: 'text_completion', created: Math.floor(Date.now() / 1000), model: modelId, system_fingerprint: SYSTEM_FINGERPRINT }, p.includeUsage);
  const offsets = new Map<number, number>();
  let completion = 0;
  try {
    const choices = await runChoices(ctx, {
      ...job,
      onPrompt: (index, pieces) => {
        // The echoed prompt is the choice's first chunk (the prefill scored it before the first token).
        const text = pieces.map((x) => x.text).join('');
        offsets.set(index, text.length);
        w.choice({ index, text, logprobs: lp(pieces, 0), finish_reason: null });
      },
      onPieces: (index, pieces) => {
        const at = offsets.get(index) ?? 0;
        const text = pieces.map((x) => x.text).join('');
        offsets.set(index, at + text.length);
        completion += pieces.length;
        w.choice({ index, text, logprobs: lp(pieces, at), finish_reason: null });
      },
    });
    for (const c of choices) w.choice({ index: c.index, text: '', logprobs: null, finish_reason: c.finishReason });
    w.end(usage(prompts.reduce((n, pr) => n + pr.length, 0), completion));
  } catch (e) {
    if (signal.aborted) return; // the client went away: nothing to tell
    const he = toHttpError(e);
    w.fail(errorBody(he instanceof HttpError ? he : new HttpError(500, `internal error: ${(e as Error).message}`, null, 'internal_error')));
  }
}
