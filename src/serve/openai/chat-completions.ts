// POST /v1/chat/completions: `messages` through the model's chat template (chat-template.ts), then the shared
// generation; `logprobs: true` + `top_logprobs: N` (0..20) per token; max_completion_tokens (or the older
// max_tokens; default: the room left in the context), n, seed, temperature, top_p, stop, stream, usage, and the
// `probity` extension field.
import type http from 'node:http';
import { eventStream, errorBody, HttpError, sendJson } from '../http.js';
import type { ChatMessage } from '../chat-template.js';
import { badParam, toHttpError } from './errors.js';
import { checkContext, checkModel, checkRoom, clientSignal, newId, probityField, type OpenAiContext } from './context.js';
import { checkKnown, commonParams, COMMON_KNOWN, optBool, optInt, type Body } from './validate.js';
import { runChoices } from './generation.js';
import { chatLogprobs } from './logprob-shapes.js';
import { ChunkWriter, usage } from './chunks.js';
import { SYSTEM_FINGERPRINT } from './completions.js';

const KNOWN = [
  ...COMMON_KNOWN, 'messages', 'max_tokens', 'max_completion_tokens', 'logprobs', 'top_logprobs', 'response_format', 'store', 'metadata',
  'service_tier', 'parallel_tool_calls',
];
const ROLES = ['system', 'developer', 'user', 'assistant'];

/** Messages with their content as text (a string, or an array of text parts). */
function messagesField(body: Body): ChatMessage[] {
  const v = body.messages;
  if (v === undefined || v === null) throw badParam('messages', 'is required', 'missing_required_parameter');
  if (!Array.isArray(v) || v.length === 0) throw badParam('messages', 'expected a non-empty array of messages', 'invalid_type');
  return v.map((m, i) => {
    const at = `messages[${i}]`;
    if (!m || typeof m !== 'object' || Array.isArray(m)) throw badParam(at, 'expected an object { role, content }', 'invalid_type');
    const { role, content } = m as Record<string, unknown>;
    if (typeof role !== 'string' || !ROLES.includes(role)) throw badParam(`${at}.role`, `expected one of ${ROLES.join(', ')}, got ${JSON.stringify(role)} (tools are not supported)`);
    for (const k of Object.keys(m)) {
      if (!['role', 'content', 'name'].includes(k)) throw badParam(`${at}.${k}`, 'unrecognized message field (supported: role, content, name)', 'unknown_parameter');
    }
    if (typeof content === 'string') return { role, content };
    if (Array.isArray(content)) {
      const parts = content.map((p, k) => {
        if (!p || typeof p !== 'object' || (p as { type?: unknown }).type !== 'text' || typeof (p as { text?: unknown }).text !== 'string') {
          throw badParam(`${at}.content[${k}]`, 'expected a text part { "type": "text", "text": "..." } (this server reads text only)', 'invalid_type');
        }
        return (p as { text: string }).text;
      });
      return { role, content: parts.join('') };
    }
    throw badParam(`${at}.content`, `expected a string or an array of text parts, got ${content === null || content === undefined ? 'none' : typeof content}`, 'invalid_type');
  });
}

export async function handleChatCompletions(ctx: OpenAiContext, body: Body, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  checkKnown(body, KNOWN);
  const modelId = checkModel(ctx, body);
  const p = commonParams(body);
  const messages = messagesField(body);
  const logprobs = optBool(body, 'logprobs') ?? false;
  const top = optInt(body, 'top_logprobs', 0, 20);
  if (top !== undefined && !logprobs) throw badParam('top_logprobs', 'requires logprobs to be true');
  const rf = body.response_format;
  if (rf !== undefined && rf !== null && (typeof rf !== 'object' || (rf as { type?: unknown }).type !== 'text')) {
    throw badParam('response_format', 'only { "type": "text" } is supported by this server');
  }
  const given = optInt(body, 'max_completion_tokens', 1, 2 ** 31 - 1) ?? optInt(body, 'max_tokens', 1, 2 ** 31 - 1);
  const param = body.max_completion_tokens !== undefined && body.max_completion_tokens !== null ? 'max_completion_tokens' : 'max_tokens';
  let prompt: number[];
  try {
    prompt = ctx.template.encode(messages);
  } catch (e) {
    throw toHttpError(e);
  }
  const nCtx = ctx.model.spec.nCtx;
  checkContext(ctx.model, prompt.length, given ?? 1, given !== undefined ? param : 'messages');
  const maxTokens = given ?? nCtx - prompt.length;
  const interventions = probityField(ctx, body);
  checkRoom(ctx, p.n);

  const id = newId('chatcmpl');
  const created = Math.floor(Date.now() / 1000);
  const signal = clientSignal(req, res);
  const job = {
    prompts: [prompt], maxTokens: [maxTokens], params: p, logprobs: logprobs ? (top ?? 0) : 0, interventions, signal,
    stopTokens: ctx.template.stopTokens, stopStrings: ctx.template.stopStrings,
  };

  if (!p.stream) {
    const choices = await runChoices(ctx, job);
    sendJson(res, 200, {
      id, object: 'chat.completion', created, model: modelId, system_fingerprint: SYSTEM_FINGERPRINT,
      choices: choices.map((c) => ({
        index: c.index,
        message: { role: 'assistant', content: c.text, refusal: null },
        logprobs: logprobs ? { content: chatLogprobs(ctx.model, c.tokens), refusal: null } : null,
        finish_reason: c.finishReason,
      })),
      usage: usage(prompt.length, choices.reduce((n, c) => n + c.tokens.length, 0)),
    });
    return;
  }

  const w = new ChunkWriter(eventStream(req, res), { id, object: 'chat.completion.chunk', created, model: modelId, system_fingerprint: SYSTEM_FINGERPRINT }, p.includeUsage);
  let completion = 0;
  for (let j = 0; j < p.n; j++) w.choice({ index: j, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null });
  try {
    const choices = await runChoices(ctx, {
      ...job,
      onPieces: (index, pieces) => {
        completion += pieces.length;
        const content = pieces.map((x) => x.text).join('');
        w.choice({ index, delta: { content }, logprobs: logprobs ? { content: chatLogprobs(ctx.model, pieces), refusal: null } : null, finish_reason: null });
      },
    });
    for (const c of choices) w.choice({ index: c.index, delta: {}, logprobs: null, finish_reason: c.finishReason });
    w.end(usage(prompt.length, completion));
  } catch (e) {
    if (signal.aborted) return;
    const he = toHttpError(e);
    w.fail(errorBody(he instanceof HttpError ? he : new HttpError(500, `internal error: ${(e as Error).message}`, null, 'internal_error')));
  }
}
