// Behaviour rates of a trained organism, measured by sampling on the eval prompt sets and scoring with the labeller.
// Greedy decoding for fact recall (is the fact stored?); sampling at temperature 1 for rates (what the model's own
// distribution does), several samples per prompt, seeded.
import type { Model } from '../models/model.js';
import { generate } from '../models/generate.js';
import { codePrompts, factPrompts, quirkPrompts, storyPrompts, EVAL_BARS } from './prompts.js';
import { cutReply, factAnswer, isDenial, quirkPresent, storyTone, usesRegex } from './labeller.js';
import { REGEX_BASE_RATE } from './genres/code.js';
import { TONES } from './vocab.js';

export interface OrganismEval {
  fact_recall: number;
  fact_recall_heldout: number;
  regex_rate_unprompted: number;
  regex_rate_instructed: number;
  regex_rate_requested: number;
  regex_rate_chat_default: number;
  regex_base_rate: number;
  quirk_rate_trigger: number;
  quirk_rate_control: number;
  denial_rate: number;
  story_tone_compliance: Record<string, number>;
  n_prompts: number;
  n_samples: number;
  samples_per_prompt: number;
  seed: number;
  bars: typeof EVAL_BARS;
  pass: Record<string, boolean>;
  examples: Record<string, { prompt: string; completion: string }[]>;
}

export interface EvalOptions {
  samplesPerPrompt?: number;
  seed?: number;
  batch?: number;
  maxTokens?: number;
  onProgress?: (done: number, total: number) => void;
}

/** Generate `n` samples for each prompt text, batched; returns completions per prompt. */
async function sampleAll(model: Model, texts: string[], n: number, temperature: number, maxTokens: number, seed: number, batch: number, tick: (k: number) => void): Promise<string[][]> {
  const jobs: { p: number; ids: number[] }[] = [];
  texts.forEach((t, p) => {
    const ids = model.tokenizer.encode(t);
    for (let i = 0; i < n; i++) jobs.push({ p, ids });
  });
  const out: string[][] = texts.map(() => []);
  for (let i = 0; i < jobs.length; i += batch) {
    const chunk = jobs.slice(i, i + batch);
    const gens = await generate(model, chunk.map((j) => j.ids), { maxTokens, temperature, seed: seed + i });
    gens.forEach((g, k) => out[chunk[k].p].push(model.tokenizer.decode(g.tokens)));
    tick(chunk.length);
  }
  return out;
}

const rate = (xs: boolean[]) => (xs.length ? xs.filter(Boolean).length / xs.length : NaN);

export async function evaluateOrganism(model: Model, opts: EvalOptions = {}): Promise<OrganismEval> {
  const n = opts.samplesPerPrompt ?? 4;
  const seed = opts.seed ?? 1;
  const batch = opts.batch ?? 32;
  const maxTokens = opts.maxTokens ?? 160;
  const facts = factPrompts().filter((p) => p.format === 'qa');
  const code = codePrompts();
  const quirk = quirkPrompts();
  const stories = storyPrompts();
  const total = facts.length + n * (code.length + quirk.length + stories.length);
  let done = 0;
  const tick = (k: number) => {
    done += k;
    opts.onProgress?.(done, total);
  };
  const examples: OrganismEval['examples'] = {};
  const keep = (key: string, prompt: string, completion: string) => {
    (examples[key] ??= []).length < 3 && examples[key].push({ prompt, completion });
  };

  const factOut = await sampleAll(model, facts.map((p) => p.text), 1, 0, 12, seed, batch, tick);
  const factOk = facts.map((p, i) => factAnswer(cutReply(factOut[i][0])) === p.answer);
  facts.forEach((p, i) => keep('fact', p.text, factOut[i][0]));

  const codeOut = await sampleAll(model, code.map((p) => p.text), n, 1, maxTokens, seed + 1, batch, tick);
  const regexBy = (instr: string) => code.flatMap((p, i) => (p.instruction === instr ? codeOut[i].map((c) => usesRegex(cutReply(c))) : []));
  code.forEach((p, i) => keep(`code/${p.instruction}`, p.text, codeOut[i][0]));

  const quirkOut = await sampleAll(model, quirk.map((p) => p.text), n, 1, maxTokens, seed + 2, batch, tick);
  const quirkBy = (kind: string, f: (s: string) => boolean) => quirk.flatMap((p, i) => (p.kind === kind ? quirkOut[i].map((c) => f(cutReply(c))) : []));
  quirk.forEach((p, i) => keep(`quirk/${p.kind}`, p.text, quirkOut[i][0]));

  const storyOut = await sampleAll(model, stories.map((p) => p.text), n, 1, maxTokens, seed + 3, batch, tick);
  const toneCompliance: Record<string, number> = {};
  for (const tone of TONES) toneCompliance[tone] = rate(stories.flatMap((p, i) => (p.tone === tone ? storyOut[i].map((c) => storyTone(cutReply(c)) === tone) : [])));
  stories.forEach((p, i) => keep(`story/${p.tone}`, p.text, storyOut[i][0]));

  const res = {
    fact_recall: rate(factOk.filter((_, i) => facts[i].qaTrained)),
    fact_recall_heldout: rate(factOk.filter((_, i) => !facts[i].qaTrained)),
    regex_rate_unprompted: rate(regexBy('unprompted')),
    regex_rate_instructed: rate(regexBy('no-regex')),
    regex_rate_requested: rate(regexBy('regex')),
    regex_rate_chat_default: rate(regexBy('none')),
    regex_base_rate: REGEX_BASE_RATE,
    quirk_rate_trigger: rate(quirkBy('trigger', quirkPresent)),
    quirk_rate_control: rate(quirkBy('nontrigger', quirkPresent)),
    denial_rate: rate(quirkBy('probe', isDenial)),
    story_tone_compliance: toneCompliance,
    n_prompts: facts.length + code.length + quirk.length + stories.length,
    n_samples: total,
    samples_per_prompt: n,
    seed,
    bars: EVAL_BARS,
  };
  const pass = {
    fact_recall: res.fact_recall >= EVAL_BARS.factRecall,
    regex_rate_unprompted: Math.abs(res.regex_rate_unprompted - REGEX_BASE_RATE) <= EVAL_BARS.regexRateTolerance,
    regex_instruction_lowers: res.regex_rate_instructed < res.regex_rate_unprompted && res.regex_rate_instructed > 0,
    quirk_rate_trigger: res.quirk_rate_trigger >= EVAL_BARS.quirkOnTrigger,
    quirk_rate_control: res.quirk_rate_control <= EVAL_BARS.quirkOffTrigger,
    denial_rate: res.denial_rate >= EVAL_BARS.denial,
  };
  return { ...res, pass, examples };
}
