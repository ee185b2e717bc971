// Sampling arms of the audit suite: one prompt set sampled at one temperature, optionally with Gaussian noise at a
// hook (fuzzing), seeded, batched; every output judged by the reveal labeller. Forward passes are counted per sample
// as the positions the model ran for that row: prompt tokens + sampled tokens (the forward that sampled the stop token
// included; padding and rows already finished inside a batch not counted).
import type { Model } from '../../../models/model.js';
import { generate } from '../../../models/generate.js';
import { NDArray } from '../../../engine/ndarray.js';
import { ProbityError, show } from '../../../errors.js';
import { cutReply, isDenial } from '../../../organism/labeller.js';
import { Rng } from '../../../stats/index.js';
import { revealKind, type RevealKind } from './reveal.js';

export interface ArmSpec {
  /** Method name (rows' `method`). */
  method: string;
  /** Prompt texts (the clusters of the intervals). */
  prompts: string[];
  /** Prefix the judged text starts with (a prefill: it is part of the assistant turn). */
  prefill?: string;
  temperature: number;
  maxTokens: number;
  /** 'reply': judged on cutReply(prefill + completion); 'all': on the whole completion. */
  judge: 'reply' | 'all';
  /** Sampler stream id: arms with the same stream, prompts and sizes draw the same samples (fuzzing at scale 0 vs plain). */
  stream: number;
  /** Gaussian noise at `hook`, fresh per position and step, of expected norm scale * norm (null: no intervention). */
  noise?: { hook: string; scale: number; norm: number; seed: number } | null;
}

export interface AuditOutput {
  /** Index into the arm's prompts. */
  prompt: number;
  /** Order in which the seed sampled it (0-based; sample-major over prompts). */
  order: number;
  promptIds: number[];
  ids: number[];
  logprobs: number[];
  /** The judged text. */
  text: string;
  reveal: RevealKind | null;
  denial: boolean;
  forward: number;
}

/** The stop tokens of chat sampling: the next "User" turn and EOS. */
export function chatStops(model: Model): number[] {
  const ids = model.tokenizer.encode('User').filter((i) => i !== model.tokenizer.bos);
  if (ids.length !== 1) throw new ProbityError('BENCH_INPUT', `"User" is not one token of this tokenizer (${show(ids)})`);
  return [ids[0], ...(model.tokenizer.eos !== null ? [model.tokenizer.eos] : [])];
}

/** A `fn` intervention adding N(0, (scale * norm)^2 / D) per component: noise of expected norm ~ scale * norm at every
 *  position of every call (prompt and each generated step), from its own seeded stream. Scale 0 adds nothing (the
 *  hook is still cut, so scale 0 runs the same graph chain as every other scale). */
export function noiseFn(scale: number, norm: number, seed: number): (x: NDArray) => NDArray | void {
  const rng = new Rng(seed);
  return (x) => {
    if (scale === 0) return;
    const D = x.dims[x.dims.length - 1] as number;
    const sd = (scale * norm) / Math.sqrt(D);
    const src = x.data as Float32Array;
    const y = new Float32Array(src.length);
    for (let i = 0; i < y.length; i++) y[i] = src[i] + sd * rng.normal();
    return new NDArray(y, [...x.dims]);
  };
}

/** Samples `n` outputs of an arm for one seed: prompts in rounds (sample-major), batches of `batch` rows. */
export async function sampleArm(model: Model, arm: ArmSpec, n: number, seed: number, stops: number[], batch: number): Promise<AuditOutput[]> {
  if (arm.prompts.length === 0) throw new ProbityError('BENCH_INPUT', `audit arm ${arm.method} has no prompts`);
  const tok = model.tokenizer;
  const jobs = Array.from({ length: n }, (_, i) => ({ prompt: i % arm.prompts.length, order: i }));
  const enc = arm.prompts.map((p) => tok.encode(p + (arm.prefill ? ' ' + arm.prefill : '')));
  const fn = arm.noise ? noiseFn(arm.noise.scale, arm.noise.norm, arm.noise.seed * 1_000_003 + seed) : null;
  const out: AuditOutput[] = [];
  for (let i = 0; i < jobs.length; i += batch) {
    const chunk = jobs.slice(i, i + batch);
    const prompts = chunk.map((j) => enc[j.prompt]);
    const interventions = fn && arm.noise ? { [arm.noise.hook]: [{ kind: 'fn' as const, fn }] } : undefined;
    const gens = await generate(model, prompts, { maxTokens: arm.maxTokens, temperature: arm.temperature, seed: (seed * 104729 + arm.stream * 7919 + i) >>> 0, stop: stops, interventions });
    gens.forEach((g, r) => {
      const completion = tok.decode(g.tokens);
      const text = arm.judge === 'reply' ? cutReply((arm.prefill ? arm.prefill + ' ' : '') + completion) : completion.trim();
      out.push({
        prompt: chunk[r].prompt, order: chunk[r].order, promptIds: prompts[r], ids: g.tokens, logprobs: g.logprobs.map((l) => l.logprob), text,
        reveal: revealKind(text), denial: isDenial(text), forward: prompts[r].length + g.tokens.length + (g.finishReason === 'stop' ? 1 : 0) - 1,
      });
    });
  }
  return out;
}
