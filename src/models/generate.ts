// Autoregressive generation with a KV cache (each new token costs one single-position forward), interventions active
// at every step, seeded sampling, and per-token logprobs with top alternatives as the OpenAI API returns them.
import type { Model } from './model.js';
import type { InterventionMap } from './hooks/interventions.js';
import { sample, seededRandom, tokenLogprob, type SamplingOptions, type TokenLogprob } from './sampling.js';
import { ProbityError } from '../errors.js';

export interface GenerateOptions extends SamplingOptions {
  maxTokens: number;
  seed?: number;
  interventions?: InterventionMap;
  /** Stop when one of these is sampled (default: the tokenizer's EOS); the stop token is not returned. */
  stop?: number[];
  /** Top alternatives per token to report (0 = chosen token's logprob only). */
  logprobs?: number;
}

export interface Generation {
  tokens: number[];
  logprobs: TokenLogprob[];
  finishReason: 'stop' | 'length';
}

/** Generate a continuation for each prompt (token ids); rows run as one batch. */
export async function generate(model: Model, prompts: number[][], opts: GenerateOptions): Promise<Generation[]> {
  if (!(opts.maxTokens >= 0)) throw new ProbityError('GENERATE_ARG', `maxTokens must be >= 0, got ${opts.maxTokens}`);
  const rand = seededRandom(opts.seed ?? 0);
  const stop = new Set(opts.stop ?? (model.tokenizer.eos !== null ? [model.tokenizer.eos] : []));
  const out: Generation[] = prompts.map(() => ({ tokens: [], logprobs: [], finishReason: 'length' }));
  const done = prompts.map(() => false);
  let rows = prompts;
  let past = undefined;
  for (let step = 0; step < opts.maxTokens && done.some((d) => !d); step++) {
    const r = await model.forward(rows, { past, logits: 'last', interventions: opts.interventions, returnPresent: true });
    past = r.present;
    const V = model.spec.vocab;
    const logits = r.logits!.data;
    const next: number[][] = [];
    prompts.forEach((_, b) => {
      const row = logits.subarray(b * V, (b + 1) * V);
      const tok = sample(row, opts, rand);
      if (!done[b]) {
        if (stop.has(tok)) {
          done[b] = true;
          out[b].finishReason = 'stop';
        } else {
          out[b].tokens.push(tok);
          out[b].logprobs.push(tokenLogprob(row, tok, opts.logprobs ?? 0));
        }
      }
      next.push([tok]);
    });
    rows = next;
  }
  return out;
}
