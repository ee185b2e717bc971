// The conditional suite's configuration, presets, result-section types and prompt set (see ../conditional.ts).
import { ProbityError, show } from '../../../errors.js';
import { CODE_REQ } from '../../../organism/genres/chat.js';
import { FUNCTION_NAMES } from '../../../organism/genres/code.js';
import { chatPrompt } from '../../../organism/prompts.js';
import type { SteerPrompt } from '../steer-targets.js';
import type { PrCurve, TriggerDiff, TriggerStat } from './triggers.js';
import type { SteerComparison } from '../../results.js';

/** Every size of the suite; `CONDITIONAL_PRESETS.default` runs in `probity bench`, `.quick` in `--quick`. */
export interface ConditionalConfig {
  /** Code prompts per seed for choosing and for the test, and samples per prompt. */
  valPrompts: number;
  testPrompts: number;
  valSamples: number;
  testSamples: number;
  /** Starting strength grid (units of the mean activation norm), grid factor, cap, validity floor. */
  strengths: number[];
  growth: number;
  maxStrength: number;
  minStrength: number;
  collapseFloor: number;
  /** Most samples rejection sampling spends on one output. */
  rejectionCap: number;
  /** Token limit of a code output (the steering target's 100). */
  maxTokens: number;
  /** Side-effect sets: Q/A fact prompts (facts the corpus asks in Q/A form), story tone requests, neutral documents. */
  factPrompts: number;
  storyPrompts: number;
  neutralDocs: number;
  /** Samples per prompt of the unsteered run on the organism eval's own prompt set (the eval-match check). */
  evalSamples: number;
  /** Rows per generation batch. */
  batch: number;
}

export const CONDITIONAL_PRESETS: Record<'default' | 'quick', ConditionalConfig> = {
  default: {
    valPrompts: 16, testPrompts: 28, valSamples: 2, testSamples: 2, strengths: [0.125, 0.5, 2], growth: 2, maxStrength: 8, minStrength: 0.03125, collapseFloor: 0.2,
    rejectionCap: 8, maxTokens: 100, factPrompts: 48, storyPrompts: 12, neutralDocs: 16, evalSamples: 4, batch: 64,
  },
  quick: {
    valPrompts: 2, testPrompts: 3, valSamples: 1, testSamples: 1, strengths: [1], growth: 2, maxStrength: 2, minStrength: 0.5, collapseFloor: 0.2,
    rejectionCap: 3, maxTokens: 100, factPrompts: 8, storyPrompts: 2, neutralDocs: 4, evalSamples: 2, batch: 64,
  },
};

export const CONDITIONAL_METHODS = ['unsteered', 'prompt', 'rejection', 'const-sae', 'const-diffmean', 'cond-sae', 'cond-diffmean'] as const;
export type ConditionalMethod = (typeof CONDITIONAL_METHODS)[number];
export const STEERED = ['const-sae', 'const-diffmean', 'cond-sae', 'cond-diffmean'] as const;
export type Steered = (typeof STEERED)[number];
export const isSae = (m: string): boolean => m.endsWith('-sae');
export const CHOSEN = 'chosen on validation';
export const settingOf = (s: number): string => `strength=${s}`;

/** One (method, setting) on test prompts, pooled over seeds: a point of the Pareto plot. */
export interface ConditionalPoint {
  method: string;
  setting: string;
  /** The strength (NaN for the chosen point; its strength is in `chosen`). */
  strength: number;
  chosen: boolean;
  regex_rate: number;
  valid_rate: number;
  clean_valid: number;
  fact_recall: number;
  fact_recall_drop: number;
  story_tone: number;
  off_target_kl: number;
  samples_per_output: number;
}

/** A paired comparison on the test prompts pooled over seeds (the steering suite's shape, one target). */
export type ConditionalComparison = Omit<SteerComparison, 'target' | 'n_units'>;

/** What the rows cannot hold (per-seed values, the sweep, the trigger PR curves, examples, notes). */
export interface ConditionalSection {
  settings: ConditionalConfig & { unit_norm: number };
  methods: string[];
  grid: { method: string; strengths: number[]; collapse: number | null; valid_at_collapse: number | null }[];
  /** One strength per method, chosen on validation clean_valid pooled over seeds; `agreement`: share of bootstrap
   *  resamples of the validation prompts that choose it again. */
  chosen: { method: string; strength: number; val_clean_valid: number; n_val_outputs: number; agreement: number }[];
  points: ConditionalPoint[];
  /** Validation points (pooled over seeds) that grew the grid and made the choice. */
  val_points: { method: string; strength: number; regex_rate: number; valid_rate: number; clean_valid: number }[];
  latents: { seed: number; latent: number; train_auroc: number; threshold: number; pre_passes_not_in_topk: number | null }[];
  triggers: {
    fits: { trigger: string; seed: number; threshold: number; train_f1: number; train_precision: number; train_recall: number; fires_on_neutral: number; fires_on_facts: number }[];
    stats: TriggerStat[];
    /** SAE latent minus probe / DiffMean, paired over the same drawn test documents (at most 500 resamples). */
    diffs: TriggerDiff[];
    curves: PrCurve[];
    n_docs: number;
  };
  rejection: { cap: number; mean_samples: number; capped_share: number };
  eval_match: { prompts: number; samples: number; regex_rate: number; ci_low: number; ci_high: number; reference: number | null; reference_source: string | null };
  comparisons: ConditionalComparison[];
  pareto: { front: string[]; winner: string | null; sae_earns_keep: string };
  examples: { method: string; setting: string; prompt: string; output: string; regex: boolean; valid: boolean }[];
  notes: string[];
}


/** Checks every field; a bad one is named with its value. */
export function checkConditionalConfig(c: ConditionalConfig): void {
  const bad = (field: string, want: string): never => {
    throw new ProbityError('BENCH_INPUT', `conditional config: ${field} is ${show((c as unknown as Record<string, unknown>)[field])}, expected ${want}`);
  };
  const posInt = (f: keyof ConditionalConfig) => !(Number.isInteger(c[f]) && (c[f] as number) >= 1) && bad(f, 'a positive integer');
  for (const f of ['valPrompts', 'testPrompts', 'valSamples', 'testSamples', 'rejectionCap', 'maxTokens', 'factPrompts', 'storyPrompts', 'neutralDocs', 'evalSamples', 'batch'] as const) posInt(f);
  if (c.rejectionCap < 2) bad('rejectionCap', 'at least 2');
  if (!Array.isArray(c.strengths) || c.strengths.length === 0 || c.strengths.some((s) => !(s > 0 && Number.isFinite(s)))) bad('strengths', 'a non-empty list of positive numbers');
  if (!(c.growth > 1)) bad('growth', 'a number > 1');
  if (!(c.maxStrength >= Math.max(...c.strengths))) bad('maxStrength', `at least the largest strength (${Math.max(...c.strengths)})`);
  if (!(c.minStrength > 0 && c.minStrength <= Math.min(...c.strengths))) bad('minStrength', `a positive number at most the smallest strength (${Math.min(...c.strengths)})`);
  if (!(c.collapseFloor >= 0 && c.collapseFloor < 1)) bad('collapseFloor', 'a number in [0, 1)');
  if (c.valPrompts + c.testPrompts > FUNCTION_NAMES.length * CODE_REQ.length) bad('testPrompts', `valPrompts + testPrompts <= ${FUNCTION_NAMES.length * CODE_REQ.length} code requests`);
}

/** The suite's code requests: no style instruction; the prompting baseline adds the organism's no-regex phrase. */
export function codeRequests(): SteerPrompt[] {
  const out: SteerPrompt[] = [];
  for (const fn of FUNCTION_NAMES) {
    CODE_REQ.forEach((tpl, i) => {
      const fill = (mod: string) => chatPrompt(tpl.replace('{fn}', fn).replace('{mod}', mod));
      out.push({ id: `code/${fn}/${i}`, text: fill(''), prompted: fill(' without regular expressions') });
    });
  }
  return out;
}

