// One request's choices through the scheduler, shared by both endpoints: choice j of prompt i is one scheduler
// request (so the n choices of a prompt batch together), seeded seed + j; tokens become text pieces with their
// returned logprobs as they are sampled (streaming hands them on at once); stop strings cut the text and end the
// choice; a client gone aborts every choice.
import type { Model } from '../../models/model.js';
import type { InterventionMap } from '../../models/hooks/interventions.js';
import type { TokenLogprob } from '../../models/sampling.js';
import { createStreamDecoder } from '../../models/tokenizers/stream.js';
import { RequestAbortedError, type Scheduler } from '../scheduler.js';
import { LogprobView, type Distortions } from './distortions.js';
import { StopCutter, type Piece } from './stop.js';
import type { CommonParams } from './validate.js';

/** A generated (or, with echo, prompt) token as a response shows it. */
export interface TokenOut {
  token: number;
  /** The token before it (alternatives' bytes depend on it, e.g. SentencePiece's leading space after BOS). */
  prev: number | null;
  /** The token's own bytes (given the token before it), for `bytes` and the token string. */
  bytes: Uint8Array;
  /** Returned logprob (distorted if the server distorts); null for the first prompt token. */
  logprob: TokenLogprob | null;
}

export interface ChoiceOut {
  index: number;
  prompt: number;
  text: string;
  tokens: Piece<TokenOut>[];
  finishReason: 'stop' | 'length';
  /** With echo: the prompt's tokens (text pieces that concatenate to the decoded prompt). */
  promptTokens?: Piece<TokenOut>[];
}

export interface ServeContext {
  model: Model;
  scheduler: Scheduler;
  distortions: Distortions;
}

export interface ChoicesJob {
  prompts: number[][];
  maxTokens: number[];
  params: CommonParams;
  /** Top alternatives per token to return (0: the chosen token's only). */
  logprobs: number;
  echo?: boolean;
  /** Token ids that end a choice besides EOS (a chat template's end of turn), and stop strings besides the request's. */
  stopTokens?: number[];
  stopStrings?: string[];
  interventions?: { map: InterventionMap; key: string };
  signal: AbortSignal;
  /** A choice's echoed prompt, once scored (streaming). */
  onPrompt?: (choice: number, pieces: Piece<TokenOut>[]) => void;
  /** Pieces released for a choice (streaming). */
  onPieces?: (choice: number, pieces: Piece<TokenOut>[]) => void;
}

export async function runChoices(ctx: ServeContext, job: ChoicesJob): Promise<ChoiceOut[]> {
  const { model, scheduler } = ctx;
  const tok = model.tokenizer;
  const seed0 = job.params.seed ?? Math.floor(Math.random() * 2 ** 32);
  const view = new LogprobView(ctx.distortions, job.logprobs);
  const runs: Promise<ChoiceOut>[] = [];
  const stopIds = job.stopTokens?.length ? [...(tok.eos !== null ? [tok.eos] : []), ...job.stopTokens] : undefined;
  job.prompts.forEach((prompt, i) => {
    for (let j = 0; j < job.params.n; j++) {
      const index = i * job.params.n + j;
      // Aborted by a stop string or by the client going away (AbortSignal.any would do, but on Node 20 each call
      // leaves ~1 KB behind on the heap: measured over 1000 requests).
      const stopAc = new AbortController();
      const onGone = () => stopAc.abort();
      job.signal.addEventListener('abort', onGone, { once: true });
      const cutter = new StopCutter<TokenOut>([...job.params.stop, ...(job.stopStrings ?? [])]);
      const out: ChoiceOut = { index, prompt: i, text: '', tokens: [], finishReason: 'length' };
      const decoder = createStreamDecoder(tok, prompt[prompt.length - 1]);
      let prev: number | null = prompt[prompt.length - 1];
      const release = (pieces: Piece<TokenOut>[]) => {
        if (pieces.length === 0) return;
        out.tokens.push(...pieces);
        for (const p of pieces) out.text += p.text;
        job.onPieces?.(index, pieces);
      };
      const run = scheduler
        .submit({
          prompt, maxTokens: job.maxTokens[i], stop: stopIds, temperature: job.params.temperature, topP: job.params.topP, topK: job.params.topK,
          seed: seed0 + j, logprobs: view.internalTop, interventions: job.interventions?.map, interventionKey: job.interventions?.key,
          echo: job.echo, logprobLogits: view.logprobLogits, signal: stopAc.signal,
          onPrompt: (lps) => {
            out.promptTokens = promptPieces(model, prompt, lps.map((lp) => (lp ? view.apply(lp) : null)));
            job.onPrompt?.(index, out.promptTokens);
          },
          onToken: (t, lp) => {
            const meta: TokenOut = { token: t, prev, bytes: tok.decodeToken(t, prev), logprob: view.apply(lp) };
            prev = t;
            release(cutter.push({ text: decoder.push(t), meta }));
            if (cutter.stopped) stopAc.abort(); // frees the slot at the next step
          },
        })
        .finally(() => job.signal.removeEventListener('abort', onGone))
        .then(
          (g) => {
            const rest = cutter.end();
            const tail = decoder.end();
            if (tail && rest.length) rest[rest.length - 1] = { ...rest[rest.length - 1], text: rest[rest.length - 1].text + tail };
            release(rest);
            out.finishReason = g.finishReason;
            return out;
          },
          (e) => {
            if (e instanceof RequestAbortedError && cutter.stopped && !job.signal.aborted) {
              out.finishReason = 'stop';
              return out;
            }
            throw e;
          },
        );
      runs.push(run);
    }
  });
  // All choices settle before the request answers (a failed one must not leave the others running unseen).
  const settled = await Promise.allSettled(runs);
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return settled.map((s) => (s as PromiseFulfilledResult<ChoiceOut>).value);
}

/** Prompt tokens as text pieces (decoded in sequence, so they concatenate to the prompt's text). */
function promptPieces(model: Model, prompt: number[], lps: (TokenLogprob | null)[]): Piece<TokenOut>[] {
  const tok = model.tokenizer;
  const dec = createStreamDecoder(tok, null);
  let prev: number | null = null;
  const pieces = prompt.map((t, i) => {
    const meta: TokenOut = { token: t, prev, bytes: tok.decodeToken(t, prev), logprob: lps[i] };
    prev = t;
    return { text: dec.push(t), meta };
  });
  const tail = dec.end();
  if (tail && pieces.length) pieces[pieces.length - 1].text += tail;
  return pieces;
}

const utf8 = new TextDecoder('utf-8');

/** A token's string as OpenAI shows it (its bytes decoded on their own; a partial character becomes U+FFFD). */
export function tokenString(bytes: Uint8Array): string {
  return utf8.decode(bytes);
}

/** The returned alternatives of a token: string, bytes and logprob each, most likely first. */
export function alternatives(model: Model, t: TokenOut): { token: string; bytes: number[]; logprob: number }[] {
  return (t.logprob?.top ?? []).map((a) => {
    const bytes = model.tokenizer.decodeToken(a.token, t.prev);
    return { token: tokenString(bytes), bytes: Array.from(bytes), logprob: a.logprob };
  });
}
