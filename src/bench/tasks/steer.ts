// Steering task of the method benchmark: push the organism towards a concept (a story tone, regex use in tests) and
// judge the outputs by ground truth, next to the baselines a practitioner would try first.
//
// Methods. Every concept method with a direction (DiffMean, probe, PCA, k-means, random control, SAE latent, SAE
// top-k probe) is fitted on the labelled tokens of the train documents of the seed's split (the same split rule as the
// detection task; Method.fit(train, seed, { unit: 'steer/<target>' })) and steers by adding  strength * meanNorm * u
// at the hook (u the unit direction, meanNorm the mean L2 norm of the activations at the hook over the document pool,
// so strength is in units of a typical activation). Two position rules:
//   <method>      every position, prompt and generated;
//   <method>@gen  only the positions that generate: the prompt's last token and every generated token (as in
//                 contrastive activation addition, which adds "at all positions after the user's prompt"), so the
//                 prompt itself is read unsteered. Run for `genMethods` (default DiffMean, the strongest simple
//                 steering direction in AxBench and here, and the SAE latent, the method under study).
// The random control is a fresh direction per (seed, target, draw), `controlDraws` draws per (seed, target) (4 when not given,
// 3 in the bench's default preset: fewer than its detection draws, for cost; each draw one sample per prompt), summarised over draws.
// Beside them, with no strength:
//   prompt      the request names the concept ("Tell me a sad story ...", "... with a regular expression").
//   rejection   sample N unsteered outputs, keep the one the detector scores highest (max over the output's tokens of
//               the detector fitted on the same train tokens; a probe unless told otherwise); N samples per output.
//   unsteered   the first of those N samples: the base rate, and strength 0 of every direction's curve.
//
// Protocol. The target's neutral prompts are shuffled once (`promptSeed`) and split into validation and test prompts,
// the same for every seed, so no seed's validation prompt is another seed's test prompt (pooling validation over seeds
// would otherwise read test prompts).
//   Grid: per (target, method), common to all seeds (and draws), starting from `strengths` (default 0.1, 0.2, 0.4):
//   while the validation validity (pooled over seeds and draws) at the largest strength is >= `collapseFloor`
//   (default 0.2), the next strength (x `growth`, default 2) is added, up to `maxStrength` (default 3.2); likewise
//   downwards while the smallest is already below the floor. The collapse point is the smallest strength with
//   validation validity below the floor (null: not reached by the cap). With `refine` (on when not given, off in the
//   bench's default preset for cost) the interval just below the collapse is halved geometrically (one more strength). So every curve shows where
//   validity breaks, and the grid is chosen on validation only.
//   Choice: per (target, method) one strength, the one with the highest validation success_valid (share of outputs on
//   target and grammatical; ties to the smaller strength) pooled over seeds and draws: three times the outputs a
//   per-seed choice had, and a strength that is the method's, not the seed's. Its stability is measured by a bootstrap
//   over the validation prompts (`agreement`: the share of resamples that choose the same strength), and the choice
//   is part of every interval: each bootstrap replicate redraws the validation prompts too and re-chooses.
//   Test: every strength of the grid is also run on the test prompts, so the whole success-vs-validity curve is a
//   test-set result; the rows are the test points at the chosen strengths.
//
// Metrics per output, all judged on ONE text: the reply, or, when the token limit cut it, its complete sentences /
// lines (`judgedText`): success (the labeller: storyTone / usesRegex), valid (the organism grammar accepts every
// unit), nll (mean per-token negative log-likelihood of the reply tokens under the unsteered model given the prompt it
// was generated from); per (direction, strength): kl, the mean over positions of KL(unsteered || steered) of the
// next-token distributions on neutral documents (fact documents: no story, no code), i.e. what the intervention does
// where it should do nothing. An @gen method adds the same vector where it acts, so its kl is its base method's.
// Prompting and rejection add nothing: they have no kl rows.
//
// Statistics. The independent unit is the prompt (outputs of one prompt are correlated); every interval is a cluster
// bootstrap (stats/cluster.ts) over the test prompts, one draw shared by the seeds (they test the same prompts; kl:
// over the neutral documents, the same in every seed), and for a method with a strength over the validation prompts
// as a second stratum, re-choosing the strength in each replicate (so an unstable choice widens the interval instead
// of hiding in it); percentile, never clamped; each row says what its interval is over (`interval`). The random control's
// rows pool its draws per prompt and carry the spread over (seed, draw) directions (`draws`). Paired comparisons
// resample both methods on the same prompts: every method against the best non-SAE, non-control method chosen on
// VALIDATION success_valid, and against prompting.
import type { Model } from '../../models/model.js';
import { CrossEntropyStats } from '../../dictionaries/metrics/downstream.js';
import { generate } from '../../models/generate.js';
import { NDArray } from '../../engine/ndarray.js';
import { ProbityError, show } from '../../errors.js';
import { CONCEPTS, type Concept } from '../../organism/concepts.js';
import { documents } from '../../organism/corpus.js';
import { checkGrammar } from '../../organism/grammar.js';
import { cutReply } from '../../organism/labeller.js';
import { Rng, clusterBootstrap, clusteredMean, mean, std } from '../../stats/index.js';
import type { FittedMethod, Method } from '../methods/types.js';
import { isSaeMethod, seedMethods } from '../methods/index.js';
import type { ResultRow, SteerComparison, SteerPoint, SteerSection } from '../results.js';
import { conceptData, splitDocuments, type ConceptActivations } from './detect.js';
import { steerTarget, stopIds, type SteerPrompt, type SteerTarget } from './steer-targets.js';
import { neutralDrift, type DocKl } from './drift.js';

export type { DocKl } from './drift.js';

export interface SteerOptions {
  /** The model (not needed when `backend` is given). */
  model?: Model;
  hook: string;
  targets: readonly string[];
  /** Direction methods (fitted per seed); methods whose fit has no direction are skipped with a note. */
  methods: readonly Method[];
  /** Methods for one seed (e.g. with that seed's SAE); same names as `methods`. */
  methodsForSeed?: (seed: number) => readonly Method[];
  seeds: readonly number[];
  /** Labelled activations of the document pool at `hook` (collectConceptActivations). */
  activations: ConceptActivations;
  trainDocs: number;
  testDocs: number;
  /** Starting grid, in units of the mean activation norm (default [0.1, 0.2, 0.4]); extended per method (see top). */
  strengths?: readonly number[];
  /** Largest strength the grid may grow to (default 3.2). */
  maxStrength?: number;
  /** Smallest strength the grid may shrink to (default strengths[0] / 8). */
  minStrength?: number;
  /** Grid factor (default 2). */
  growth?: number;
  /** Validation validity below which a method has collapsed (default 0.2). */
  collapseFloor?: number;
  /** Add the geometric midpoint of the interval below the collapse (default true). */
  refine?: boolean;
  /** Validation and test prompts (defaults 16 and 24; one split of the target's prompts shared by every seed), samples
   *  per prompt and seed (defaults 2 and 2). */
  valPrompts?: number;
  testPrompts?: number;
  valSamples?: number;
  samples?: number;
  /** Random-control draws per (seed, target) (default min(method.draws, 4)) and samples per prompt of each (1). */
  controlDraws?: number;
  controlSamples?: number;
  /** Seed of the one validation / test split of each target's prompts (default 0). */
  promptSeed?: number;
  /** Methods also run with steering only at the generating positions (default ['diffmean', 'sae']). */
  genMethods?: readonly string[];
  /** Candidates per output for rejection sampling (default 4). */
  rejectionN?: number;
  /** Detector for rejection sampling (fitted like the methods; default: the method named 'probe', which must be given). */
  detector?: string;
  /** Token limit of an output (default: the target's, 100). */
  maxTokens?: number;
  /** Neutral documents for the KL drift (default 16). */
  neutralDocs?: number;
  /** Rows per generation batch (default 64). */
  batch?: number;
  bootstrapIterations?: number;
  /** Resamples of the validation prompts for the stability of the choice (default 500). */
  choiceBootstrap?: number;
  /** Number of examples kept per (target, method) (default 2). */
  examplesPer?: number;
  /** Generation, scoring and drift (default: modelBackend(model, hook)); tests plant their own. */
  backend?: SteerBackend;
  onProgress?: (what: string) => void;
}

// ---------------------------------------------------------------------------------------------------------------
// Judging

/** An output cut by maxTokens is judged on its complete units: drop the unfinished last sentence / line. */
export function completeUnits(text: string, kind: 'story' | 'code'): string {
  if (kind === 'code') {
    const i = text.lastIndexOf('\n');
    return i >= 0 ? text.slice(0, i) : '';
  }
  const m = /^[\s\S]*[.!?]"?(?=\s|$)/.exec(text);
  return m ? m[0] : '';
}

/** The one text an output is judged on: the reply, or its complete units when the token limit cut it. */
export function judgedText(reply: string, truncated: boolean, kind: 'story' | 'code'): string {
  return truncated ? completeUnits(reply, kind) : reply;
}

/** Success and validity of one output, both on judgedText. */
export function judgeOutput(target: Pick<SteerTarget, 'success' | 'kind'>, reply: string, truncated: boolean): { text: string; success: boolean; valid: boolean } {
  const text = judgedText(reply, truncated, target.kind);
  return { text, success: target.success(text), valid: checkGrammar(text, target.kind).valid };
}

// ---------------------------------------------------------------------------------------------------------------
// Backend: generation, NLL, drift, detector scores

/** One generation: a prompt and the vector added at the hook for this row (null: none), everywhere or only at the
 *  generating positions (`gen`). */
export interface SteerJob {
  prompt: string;
  vector: Float32Array | null;
  gen: boolean;
}

export interface Sampled {
  promptIds: number[];
  ids: number[];
  reply: string;
  truncated: boolean;
  /** NLL under the unsteered model when the backend knows it already (unsteered rows: the sampling logprobs). */
  nll?: number;
}


export interface SteerBackend {
  /** Samples every job at temperature 1 (`stream` seeds the sampler; the same call samples the same outputs). */
  sample(target: SteerTarget, jobs: readonly SteerJob[], stream: number): Promise<Sampled[]>;
  /** Mean per-token NLL of each output's reply under the unsteered model. */
  nll(outs: readonly Sampled[]): Promise<number[]>;
  /** KL(unsteered || steered) on the neutral documents, per vector (added at every position), per document. */
  drift(vectors: readonly Float32Array[]): Promise<DocKl[][]>;
  /** Max over the reply tokens of a detector's score. */
  detectorScores(det: FittedMethod, outs: readonly Sampled[]): Promise<number[]>;
}

/** Neutral texts for the drift measurement: the first `n` fact documents of the corpus (seed 0 from index 10^6). */
export function neutralRows(n: number): number[][] {
  const rows: number[][] = [];
  for (const doc of documents(0, { start: 1_000_000, count: 50 * n })) {
    if (doc.genre === 'fact') rows.push(Array.from(doc.tokens));
    if (rows.length === n) break;
  }
  return rows;
}

/**
 * Positions (in the left-padded layout of a batch whose longest prompt has `promptLen` tokens) that generate: the
 * last prompt position and every generated one. With left padding every row's prompt ends at promptLen - 1, and
 * with the KV cache generation step t runs one position at absolute index promptLen + t - 1, which Model's position
 * masks (past + i) see as such.
 */
export function generatingPositions(promptLen: number, maxTokens: number): number[] {
  return Array.from({ length: maxTokens + 1 }, (_, i) => promptLen - 1 + i);
}

/** Generation, scoring and drift on a real model. */
export function modelBackend(model: Model, hook: string, opts: { batch?: number; neutralDocs?: number } = {}): SteerBackend {
  const batch = opts.batch ?? 64;
  const d = model.spec.dModel;
  const V = model.spec.vocab;
  const neutral = neutralRows(opts.neutralDocs ?? 16);
  // Drift: each job a vector added at every position of its rows (null: zeros).
  const drift = neutralDrift<Float32Array>(model, hook, neutral, (vs) => {
    const v = new Float32Array(vs.length * d);
    vs.forEach((x, r) => x && v.set(x, r * d));
    return { kind: 'add', vector: new NDArray(v, [vs.length, 1, d]) };
  }, batch);
  return {
    async sample(target, jobs, stream) {
      const stop = [...stopIds(model, target.stopText), ...(model.tokenizer.eos !== null ? [model.tokenizer.eos] : [])];
      const out: Sampled[] = [];
      for (let i = 0; i < jobs.length; i += batch) {
        const chunk = jobs.slice(i, i + batch);
        const prompts = chunk.map((j) => model.tokenizer.encode(j.prompt));
        const B = chunk.length;
        const everywhere = chunk.some((j) => j.vector && !j.gen);
        const atGen = chunk.some((j) => j.vector && j.gen);
        const ivs = [];
        // Rows carry their own vectors ([B, 1, D]); rows of the other rule (or unsteered) add zeros.
        if (everywhere) {
          const v = new Float32Array(B * d);
          chunk.forEach((j, r) => j.vector && !j.gen && v.set(j.vector, r * d));
          ivs.push({ kind: 'add' as const, vector: new NDArray(v, [B, 1, d]) });
        }
        if (atGen) {
          const v = new Float32Array(B * d);
          chunk.forEach((j, r) => j.vector && j.gen && v.set(j.vector, r * d));
          const T = Math.max(...prompts.map((p) => p.length));
          ivs.push({ kind: 'add' as const, vector: new NDArray(v, [B, 1, d]), positions: generatingPositions(T, target.maxTokens) });
        }
        const interventions = ivs.length ? { [hook]: ivs } : undefined;
        // One sampler stream per batch, seeded by the call's stream and the batch offset.
        const gens = await generate(model, prompts, { maxTokens: target.maxTokens, temperature: 1, seed: stream * 7919 + i, stop, interventions });
        gens.forEach((g, r) => {
          const s: Sampled = { promptIds: prompts[r], ids: g.tokens, reply: cutReply(model.tokenizer.decode(g.tokens)), truncated: g.finishReason === 'length' };
          // Unsteered rows were sampled from the unsteered model: their logprobs are the NLL's terms.
          if (!chunk[r].vector) s.nll = g.logprobs.length ? -mean(g.logprobs.map((l) => l.logprob)) : NaN;
          out.push(s);
        });
      }
      return out;
    },
    async nll(outs) {
      const res: number[] = [];
      for (let i = 0; i < outs.length; i += batch) {
        const chunk = outs.slice(i, i + batch);
        const rows = chunk.map((o) => [...o.promptIds, ...o.ids]);
        const r = await model.forward(rows, { logits: 'all' });
        const T = r.logits!.dims[1];
        chunk.forEach((o, b) => {
          // Position t predicts token t + 1; only the reply's tokens are targets (-1 = skipped), rows are left-padded.
          const targets = new Int32Array(T).fill(-1);
          const off = T - rows[b].length;
          o.ids.forEach((id, j) => (targets[off + o.promptIds.length + j - 1] = id));
          res.push(new CrossEntropyStats(V).add(r.logits!.data.subarray(b * T * V, (b + 1) * T * V), targets, T).mean());
        });
      }
      return res;
    },
    drift,
    async detectorScores(det, outs) {
      const res: number[] = [];
      for (let i = 0; i < outs.length; i += batch) {
        const chunk = outs.slice(i, i + batch);
        const rows = chunk.map((o) => [...o.promptIds, ...o.ids]);
        const r = await model.runWithCache(rows, { names: [hook], logits: 'none' });
        const act = r.cache[hook];
        const [, T, D] = act.dims;
        const data = act.data as Float32Array;
        for (let b = 0; b < chunk.length; b++) {
          const o = chunk[b];
          if (o.ids.length === 0) {
            res.push(-Infinity);
            continue;
          }
          const start = T - o.ids.length;
          const s = await det.score(data.slice((b * T + start) * D, (b + 1) * T * D), o.ids.length);
          res.push(Math.max(...s));
        }
      }
      return res;
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

export function splitPrompts(prompts: readonly SteerPrompt[], nVal: number, nTest: number, seed: number): { val: SteerPrompt[]; test: SteerPrompt[] } {
  if (nVal + nTest > prompts.length) throw new ProbityError('BENCH_INPUT', `steering needs ${nVal} + ${nTest} prompts, the target has ${prompts.length}`);
  const rng = new Rng(seed ^ 0x5eed);
  const p = [...prompts];
  for (let i = p.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [p[i], p[j]] = [p[j], p[i]];
  }
  return { val: p.slice(0, nVal), test: p.slice(nVal, nVal + nTest) };
}

/** Mean L2 norm of the pooled activations (the unit of steering strength). */
export function meanNorm(acts: ConceptActivations): number {
  let s = 0;
  for (let t = 0; t < acts.n; t++) {
    let q = 0;
    for (let j = 0; j < acts.d; j++) q += acts.x[t * acts.d + j] ** 2;
    s += Math.sqrt(q);
  }
  return s / acts.n;
}

const CONTROLS = new Set(['random', 'unsteered']);
const isControl = (name: string) => CONTROLS.has(name.replace(/@gen$/, ''));


/** Strengths are products of the grid factor; rounding keeps them comparable as keys (0.1 * 2 * 2 = 0.4). */
const key = (s: number) => Number(s.toPrecision(6));

/** Argmax with ties to the first (the smaller strength when `xs` is ascending). */
function argmax(xs: readonly number[]): number {
  let b = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[b]) b = i;
  return b;
}

/** One output, with the index (within its seed's split) of the prompt it came from. */
interface Output {
  prompt: number;
  text: string;
  success: boolean;
  valid: boolean;
  nll: number;
}

/** A steering direction of one (seed, method, draw) under one position rule. */
interface Arm {
  name: string;
  base: string;
  seed: number;
  draw?: number;
  direction: Float32Array;
  gen: boolean;
  /** Samples per prompt on validation and test. */
  valSamples: number;
  testSamples: number;
  /** Outputs per (split, strength). */
  out: { val: Map<number, Output[]>; test: Map<number, Output[]> };
  kl: Map<number, DocKl[]>;
}

interface SeedState {
  seed: number;
  val: SteerPrompt[];
  test: SteerPrompt[];
  arms: Arm[];
  det: FittedMethod;
  base: { val: Record<'prompt' | 'rejection' | 'unsteered', Output[]>; test: Record<'prompt' | 'rejection' | 'unsteered', Output[]> };
}

const successValid = (o: Output) => +(o.success && o.valid);
const METRIC_OF: Record<'success' | 'valid' | 'success_valid' | 'nll', (o: Output) => number> = {
  success: (o) => +o.success,
  valid: (o) => +o.valid,
  success_valid: successValid,
  nll: (o) => o.nll,
};

/** Items per prompt (cluster) of one split: values[c] = the finite metric values of prompt c's outputs. */
function byPrompt(outs: readonly Output[], nPrompts: number, f: (o: Output) => number): number[][] {
  const v: number[][] = Array.from({ length: nPrompts }, () => []);
  for (const o of outs) {
    const x = f(o);
    if (Number.isFinite(x)) v[o.prompt].push(x);
  }
  return v;
}


export interface SteerResult {
  rows: ResultRow[];
  section: SteerSection;
}

// ---------------------------------------------------------------------------------------------------------------
// The task

export async function runSteering(o: SteerOptions): Promise<SteerResult> {
  const base = [...(o.strengths ?? [0.1, 0.2, 0.4])].map(key).sort((a, b) => a - b);
  const growth = o.growth ?? 2;
  const cap = o.maxStrength ?? 3.2;
  const floorS = o.minStrength ?? base[0] / 8;
  const floor = o.collapseFloor ?? 0.2;
  const refine = o.refine ?? true;
  const nVal = o.valPrompts ?? 16;
  const nTest = o.testPrompts ?? 24;
  const valSamples = o.valSamples ?? 2;
  const testSamples = o.samples ?? 2;
  const controlSamples = o.controlSamples ?? 1;
  const genMethods = new Set(o.genMethods ?? ['diffmean', 'sae']);
  const rejN = o.rejectionN ?? 4;
  const perEx = o.examplesPer ?? 2;
  const boot = { iterations: o.bootstrapIterations ?? 2000, alpha: 0.05, seed: 0 };
  const choiceIters = o.choiceBootstrap ?? 500;
  const promptSeed = o.promptSeed ?? 0;
  const promptSplits: SteerSection['prompt_split'] = [];
  const say = o.onProgress ?? (() => {});
  if (o.seeds.length === 0) throw new ProbityError('BENCH_INPUT', 'runSteering needs at least one seed');
  if (base.length === 0 || base.some((s) => !(s > 0))) throw new ProbityError('BENCH_INPUT', `steering strengths must be > 0, got ${show(o.strengths)}`);
  if (!(growth > 1) || !(cap >= base[base.length - 1])) throw new ProbityError('BENCH_INPUT', `steering grid needs growth > 1 and maxStrength >= the largest strength, got ${growth}, ${cap}`);
  if (!(valSamples >= 1 && testSamples >= 1 && controlSamples >= 1 && rejN >= 2 && nVal >= 1 && nTest >= 1)) {
    throw new ProbityError('BENCH_INPUT', `steering needs >= 1 prompt and sample per split and rejectionN >= 2, got ${show({ nVal, nTest, valSamples, testSamples, controlSamples, rejN })}`);
  }
  const detName = o.detector ?? 'probe';
  const detIndex = o.methods.findIndex((m) => m.name === detName);
  if (detIndex < 0) throw new ProbityError('BENCH_INPUT', `rejection sampling uses the detector ${show(detName)}, which is not among the methods (${o.methods.map((m) => m.name).join(', ')})`);
  const targets = o.targets.map((name) => ({ ...steerTarget(name), ...(o.maxTokens ? { maxTokens: o.maxTokens } : {}) }));
  for (const t of targets) if (!(CONCEPTS as readonly string[]).includes(t.concept)) throw new ProbityError('INTERNAL', `target concept ${t.concept}`);
  if (!o.backend && !o.model) throw new ProbityError('BENCH_INPUT', 'runSteering needs a model or a backend');
  const backend = o.backend ?? modelBackend(o.model!, o.hook, { batch: o.batch, neutralDocs: o.neutralDocs });
  const acts = o.activations;
  const pool = o.trainDocs + o.testDocs;
  const unitNorm = meanNorm(acts);
  const notes: string[] = [
    `strength unit: mean activation norm at ${o.hook} over the pool = ${unitNorm.toFixed(3)}`,
    `rejection sampling keeps the best of ${rejN} unsteered samples by the ${detName} detector (max over reply tokens)`,
  ];

  const points: SteerPoint[] = [];
  const chosen: SteerSection['chosen'] = [];
  const grids: SteerSection['grid'] = [];
  const examples: SteerSection['examples'] = [];
  const baselines: SteerSection['baselines'] = [];
  const comparisons: SteerComparison[] = [];
  const rows: ResultRow[] = [];
  const methodNames: string[] = [];
  const interval = `95% cluster bootstrap over the test prompts (the same for the ${o.seeds.length} seed(s), one draw shared by the seeds)`;
  let stream = 1;

  for (const target of targets) {
    const judge = async (sampled: Sampled[], prompts: number[]): Promise<Output[]> => {
      const need = sampled.map((s, i) => (s.nll === undefined ? i : -1)).filter((i) => i >= 0);
      const nll = need.length ? await backend.nll(need.map((i) => sampled[i])) : [];
      const nllOf = new Map(need.map((i, k) => [i, nll[k]]));
      return sampled.map((s, i) => {
        const j = judgeOutput(target, s.reply, s.truncated);
        return { prompt: prompts[i], text: j.text, success: j.success, valid: j.valid, nll: s.nll ?? nllOf.get(i)! };
      });
    };

    // One prompt split for every seed (validation and test disjoint across seeds).
    const promptSplit = splitPrompts(target.prompts, nVal, nTest, promptSeed);
    promptSplits.push({ target: target.name, seed: promptSeed, val: promptSplit.val.map((p) => p.id), test: promptSplit.test.map((p) => p.id) });
    // Fit every method per seed; one arm per (seed, method, draw, position rule).
    const seeds: SeedState[] = [];
    for (const seed of o.seeds) {
      say(`steer ${target.name} seed ${seed}: fitting`);
      const split = splitDocuments(pool, o.trainDocs, o.testDocs, seed);
      const train = conceptData(acts, split.train, target.concept as Concept);
      const ms = seedMethods(o.methods, o.methodsForSeed, seed);
      const arms: Arm[] = [];
      let det: FittedMethod | null = null;
      for (const [mi, m] of ms.entries()) {
        const draws = (m.draws ?? 1) > 1 ? Math.min(m.draws!, o.controlDraws ?? 4) : 1;
        for (let draw = 0; draw < draws; draw++) {
          const f = await m.fit(train, seed, { unit: `steer/${target.name}`, ...(draws > 1 ? { draw } : {}) });
          if (mi === detIndex && draw === 0) det = f;
          if (!f.direction) {
            notes.push(`${m.name} has no steering direction; not in the steering sweep`);
            continue;
          }
          const control = draws > 1;
          const mk = (gen: boolean): Arm => ({
            name: gen ? `${m.name}@gen` : m.name, base: m.name, seed, ...(control ? { draw } : {}), direction: f.direction!, gen,
            valSamples: control ? controlSamples : valSamples, testSamples: control ? controlSamples : testSamples,
            out: { val: new Map(), test: new Map() }, kl: new Map(),
          });
          arms.push(mk(false));
          if (genMethods.has(m.name)) arms.push(mk(true));
        }
      }
      const { val, test } = promptSplit;
      seeds.push({ seed, val, test, arms, det: det!, base: { val: { prompt: [], rejection: [], unsteered: [] }, test: { prompt: [], rejection: [], unsteered: [] } } });
    }
    const families = [...new Set(seeds.flatMap((s) => s.arms.map((a) => a.name)))];
    // Arms in a stable order: by family, then seed, then draw.
    const armsOf = (name: string) => seeds.flatMap((s) => s.arms.filter((a) => a.name === name));

    /** Runs (arm, strength) pairs on one split in as few batches as possible. */
    const runArms = async (split: 'val' | 'test', todo: { arm: Arm; s: number }[]) => {
      const jobs: SteerJob[] = [];
      const where: { arm: Arm; s: number; prompt: number }[] = [];
      for (const { arm, s } of todo) {
        const st = seeds.find((x) => x.seed === arm.seed)!;
        const prompts = split === 'val' ? st.val : st.test;
        const k = split === 'val' ? arm.valSamples : arm.testSamples;
        const vector = Float32Array.from(arm.direction, (x) => x * s * unitNorm);
        prompts.forEach((p, pi) => {
          for (let r = 0; r < k; r++) {
            jobs.push({ prompt: p.text, vector, gen: arm.gen });
            where.push({ arm, s, prompt: pi });
          }
        });
      }
      if (jobs.length === 0) return;
      const outs = await judge(await backend.sample(target, jobs, stream++), where.map((w) => w.prompt));
      outs.forEach((x, i) => {
        const m = where[i].arm.out[split];
        const s = where[i].s;
        if (!m.has(s)) m.set(s, []);
        m.get(s)!.push(x);
      });
    };

    // Validation sweep, growing each family's grid until its validity breaks (pooled over seeds and draws).
    const grid = new Map(families.map((f) => [f, [...base]]));
    const refined = new Set<string>();
    let pending: { arm: Arm; s: number }[] = families.flatMap((f) => armsOf(f).flatMap((arm) => base.map((s) => ({ arm, s }))));
    const pooledValid = (f: string, s: number) => mean(armsOf(f).flatMap((a) => a.out.val.get(s) ?? []).map((x) => +x.valid));
    for (let round = 1; pending.length; round++) {
      say(`steer ${target.name}: validation round ${round}, ${pending.length} (seed, method, strength) points`);
      await runArms('val', pending);
      pending = [];
      for (const f of families) {
        const g = grid.get(f)!;
        const lo = g[0];
        const hi = g[g.length - 1];
        const add: number[] = [];
        if (pooledValid(f, hi) >= floor && hi * growth <= cap * (1 + 1e-9)) add.push(key(hi * growth));
        if (pooledValid(f, lo) < floor && lo / growth >= floorS * (1 - 1e-9)) add.push(key(lo / growth));
        if (add.length === 0 && refine && !refined.has(f)) {
          refined.add(f);
          const c = g.findIndex((s) => pooledValid(f, s) < floor);
          if (c > 0) add.push(key(Math.sqrt(g[c - 1] * g[c])));
        }
        for (const s of add) {
          g.push(s);
          pending.push(...armsOf(f).map((arm) => ({ arm, s })));
        }
        g.sort((a, b) => a - b);
      }
    }
    for (const f of families) {
      const g = grid.get(f)!;
      const c = g.find((s) => pooledValid(f, s) < floor);
      grids.push({
        target: target.name, method: f, strengths: [...g], collapse: c ?? null, valid_at_collapse: c === undefined ? null : pooledValid(f, c),
        reached_cap: g[g.length - 1] * growth > cap * (1 + 1e-9), floor,
      });
    }

    // Drift: one vector per (seed, base method, draw, strength); @gen arms share their base arm's vector.
    say(`steer ${target.name}: KL drift`);
    const klJobs: { arm: Arm; s: number }[] = [];
    for (const st of seeds) for (const arm of st.arms) if (!arm.gen) for (const s of grid.get(arm.name)!) klJobs.push({ arm, s });
    const kls = await backend.drift(klJobs.map(({ arm, s }) => Float32Array.from(arm.direction, (x) => x * s * unitNorm)));
    klJobs.forEach(({ arm, s }, i) => arm.kl.set(s, kls[i]));
    for (const st of seeds) {
      for (const arm of st.arms) {
        if (!arm.gen) continue;
        const twin = st.arms.find((a) => !a.gen && a.base === arm.base && a.draw === arm.draw)!;
        for (const s of grid.get(arm.name)!) {
          if (!twin.kl.has(s)) twin.kl.set(s, (await backend.drift([Float32Array.from(twin.direction, (x) => x * s * unitNorm)]))[0]);
          arm.kl.set(s, twin.kl.get(s)!);
        }
      }
    }
    const klOf = (docs: DocKl[]) => docs.reduce((a, x) => a + x.sum, 0) / docs.reduce((a, x) => a + x.n, 0);

    // Baselines on both splits: prompting, and N unsteered samples (rejection sampling and the base rate).
    for (const split of ['val', 'test'] as const) {
      say(`steer ${target.name}: prompting and rejection sampling (${split})`);
      const jobs: SteerJob[] = [];
      const where: { st: SeedState; kind: 'prompt' | 'cand'; prompt: number }[] = [];
      for (const st of seeds) {
        const prompts = split === 'val' ? st.val : st.test;
        const k = split === 'val' ? valSamples : testSamples;
        prompts.forEach((p, pi) => {
          for (let r = 0; r < k; r++) {
            jobs.push({ prompt: p.prompted, vector: null, gen: false });
            where.push({ st, kind: 'prompt', prompt: pi });
            for (let c = 0; c < rejN; c++) {
              jobs.push({ prompt: p.text, vector: null, gen: false });
              where.push({ st, kind: 'cand', prompt: pi });
            }
          }
        });
      }
      const sampled = await backend.sample(target, jobs, stream++);
      const outs = await judge(sampled, where.map((w) => w.prompt));
      const candIdx = where.map((w, i) => (w.kind === 'cand' ? i : -1)).filter((i) => i >= 0);
      // Detector scores per seed (each seed's detector scores its own candidates).
      const score = new Map<number, number>();
      for (const st of seeds) {
        const mine = candIdx.filter((i) => where[i].st === st);
        const sc = await backend.detectorScores(st.det, mine.map((i) => sampled[i]));
        mine.forEach((i, k) => score.set(i, sc[k]));
      }
      for (let i = 0; i < jobs.length; i += 1 + rejN) {
        const st = where[i].st;
        st.base[split].prompt.push(outs[i]);
        st.base[split].unsteered.push(outs[i + 1]);
        let bi = i + 1;
        for (let c = 2; c <= rejN; c++) if (score.get(i + c)! > score.get(bi)!) bi = i + c;
        st.base[split].rejection.push(outs[bi]);
      }
    }

    // Test: the whole grid of every arm.
    say(`steer ${target.name}: test curves`);
    await runArms('test', seeds.flatMap((st) => st.arms.flatMap((arm) => grid.get(arm.name)!.map((s) => ({ arm, s })))));

    // Points, and the choice per (seed, arm) with its bootstrap stability over validation prompts.
    const point = (method: string, strength: number, split: 'val' | 'test', seed: number, outs: Output[], nPrompts: number, kl: number, spo: number, draw?: number): SteerPoint => {
      const p: SteerPoint = {
        target: target.name, method, strength, split, seed, ...(draw === undefined ? {} : { draw }),
        success: mean(outs.map(METRIC_OF.success)), valid: mean(outs.map(METRIC_OF.valid)), success_valid: mean(outs.map(successValid)),
        nll: mean(outs.map((x) => x.nll).filter(Number.isFinite)), kl, samples_per_output: spo, n_outputs: outs.length, n_prompts: nPrompts,
      };
      points.push(p);
      return p;
    };
    // The choice per (target, method): validation success_valid pooled over seeds and draws; valCells[f][i][c] holds
    // the success_valid items of validation prompt c at the i-th strength of f's grid (every seed's and draw's).
    const nValP = seeds[0].val.length;
    const valCells = new Map(families.map((f) => [f, grid.get(f)!.map((s) => {
      const cells: number[][] = Array.from({ length: nValP }, () => []);
      for (const arm of armsOf(f)) for (const x of arm.out.val.get(s)!) cells[x.prompt].push(successValid(x));
      return cells;
    })]));
    /** Index in f's grid of the strength chosen on the drawn validation prompts (argmax; ties to the smaller). */
    const chooseIdx = (f: string, vd: Int32Array): number => {
      let best = 0;
      let bestV = -Infinity;
      valCells.get(f)!.forEach((cells, i) => {
        let sum = 0;
        let n = 0;
        for (const c of vd) for (const v of cells[c]) (sum += v), n++;
        const m = n ? sum / n : -Infinity;
        if (m > bestV) (bestV = m), (best = i);
      });
      return best;
    };
    const allVal = Int32Array.from({ length: nValP }, (_, i) => i);
    const pickOf = new Map<string, number>();
    for (const f of families) {
      const g = grid.get(f)!;
      const pick = chooseIdx(f, allVal);
      pickOf.set(f, pick);
      // Stability: resample the validation prompts, choose again.
      const rng = new Rng(0x5ca1e);
      const idx = new Int32Array(nValP);
      let agree = 0;
      for (let b = 0; b < choiceIters; b++) {
        for (let i = 0; i < idx.length; i++) idx[i] = rng.int(idx.length);
        if (chooseIdx(f, idx) === pick) agree++;
      }
      const outs = valCells.get(f)![pick].flat();
      chosen.push({ target: target.name, method: f, strength: g[pick], val_success_valid: mean(outs), n_val_outputs: outs.length, n_val_prompts: nValP, agreement: choiceIters ? agree / choiceIters : NaN });
    }
    const chosenOf = (arm: Arm) => grid.get(arm.name)![pickOf.get(arm.name)!];
    for (const st of seeds) {
      for (const arm of st.arms) {
        for (const split of ['val', 'test'] as const) {
          for (const s of grid.get(arm.name)!) point(arm.name, s, split, st.seed, arm.out[split].get(s)!, split === 'val' ? st.val.length : st.test.length, klOf(arm.kl.get(s)!), 1, arm.draw);
        }
      }
      for (const split of ['val', 'test'] as const) {
        const n = split === 'val' ? st.val.length : st.test.length;
        point('prompt', 0, split, st.seed, st.base[split].prompt, n, NaN, 1);
        point('rejection', 0, split, st.seed, st.base[split].rejection, n, NaN, rejN);
        point('unsteered', 0, split, st.seed, st.base[split].unsteered, n, NaN, 1);
      }
    }

    // Test outputs per (method, seed) at a strength: the rows' and comparisons' data.
    const names = [...families, 'prompt', 'rejection', 'unsteered'];
    for (const n of names) if (!methodNames.includes(n)) methodNames.push(n);
    const testOuts = (name: string, st: SeedState, s?: number): Output[] =>
      ['prompt', 'rejection', 'unsteered'].includes(name)
        ? st.base.test[name as 'prompt']
        : st.arms.filter((a) => a.name === name).flatMap((a) => a.out.test.get(s ?? chosenOf(a))!);
    // Clusters: the test prompts (one draw serves every seed: they test the same prompts) and, as a second stratum,
    // the validation prompts a strength is chosen on.
    const promptIds = [...new Set(seeds.flatMap((st) => st.test.map((p) => p.id)))];
    const slotOf = new Map(promptIds.map((id, i) => [id, i]));
    const cellsOf = (name: string, f: (o: Output) => number, s?: number) =>
      seeds.map((st) => {
        const cells: number[][] = promptIds.map(() => []);
        byPrompt(testOuts(name, st, s), st.test.length, f).forEach((items, c) => (cells[slotOf.get(st.test[c].id)!] = items));
        return cells;
      });
    const nClusters = [promptIds.length, nValP];
    const hasStrength = (name: string) => families.includes(name);
    /** The test statistic of `name` on a draw: for a method with a strength, at the strength re-chosen on the drawn
     *  validation prompts (d[1]); null when no output has a finite value. */
    const statOf = (name: string, f: (o: Output) => number): ((d: readonly Int32Array[]) => number) | null => {
      if (cellsOf(name, f).every((sd) => sd.every((c) => c.length === 0))) return null;
      if (!hasStrength(name)) {
        const m = clusteredMean(cellsOf(name, f));
        return (d) => m(seeds.map(() => d[0]));
      }
      const per = grid.get(name)!.map((s) => clusteredMean(cellsOf(name, f, s)));
      return (d) => per[chooseIdx(name, d[1])](seeds.map(() => d[0]));
    };
    const withChoice = (name: string) => (hasStrength(name) ? `; the ${nValP} validation prompts redrawn as a second stratum, the strength re-chosen in every replicate` : '');

    for (const name of names) {
      const row = (metric: string, m: number, lo: number, hi: number, what: string, extra: Partial<ResultRow> = {}) =>
        rows.push({ suite: 'steer', task: 'steering', concept: target.name, method: name, metric, mean: m, ci_low: lo, ci_high: hi, n_seeds: seeds.length, interval: what, ...extra });
      const arms = seeds.flatMap((st) => st.arms.filter((a) => a.name === name));
      for (const metric of ['success', 'valid', 'success_valid', 'nll'] as const) {
        const stat = statOf(name, METRIC_OF[metric]);
        if (!stat) continue;
        const ci = clusterBootstrap(nClusters, stat, boot);
        let draws: ResultRow['draws'];
        if (arms.some((a) => a.draw !== undefined)) {
          const per = arms.map((a) => mean(a.out.test.get(chosenOf(a))!.map(METRIC_OF[metric]).filter(Number.isFinite)));
          draws = { n: per.length, sd: per.length > 1 ? std(per) : NaN, min: Math.min(...per), max: Math.max(...per), over: `${per.length} (seed, draw) directions at the method's chosen strength` };
        }
        row(metric, ci.estimate, ci.lo, ci.hi, interval + withChoice(name), draws ? { draws } : {});
      }
      if (arms.length) {
        // KL: per seed the pooled per-document KL at the (re-)chosen strength (over draws for the control); documents
        // are the clusters (the same neutral documents in every seed), the validation prompts the second stratum.
        const g = grid.get(name)!;
        const perIdx = g.map((s) => seeds.map((st) => arms.filter((a) => a.seed === st.seed).map((a) => a.kl.get(s)!)));
        const nDocs = perIdx[0][0][0].length;
        const klAt = (perSeed: DocKl[][][], dd: Int32Array) =>
          mean(perSeed.map((list) => mean(list.map((docs) => {
            let sum = 0;
            let n = 0;
            for (const j of dd) (sum += docs[j].sum), (n += docs[j].n);
            return sum / n;
          }))));
        const ci = clusterBootstrap([nDocs, nValP], (d) => klAt(perIdx[chooseIdx(name, d[1])], d[0]), boot);
        row('kl', ci.estimate, ci.lo, ci.hi, `95% cluster bootstrap over the ${nDocs} neutral documents (the same in every seed, one draw shared)${withChoice(name)}`);
        const sc = clusterBootstrap([nValP], (d) => g[chooseIdx(name, d[0])], boot);
        row('strength', sc.estimate, sc.lo, sc.hi, `the strength chosen on validation; interval: 2.5-97.5 percentiles of the strength re-chosen on ${boot.iterations} bootstrap resamples of the ${nValP} validation prompts`);
      }
      const spo = name === 'rejection' ? rejN : 1;
      row('samples_per_output', spo, spo, spo, 'design constant (no interval)');
    }

    // Paired comparisons on success_valid, over the same test (and validation) prompts: against the best non-SAE,
    // non-control method chosen by VALIDATION success_valid (at its chosen strength), and against prompting.
    const valScore = (name: string) =>
      hasStrength(name)
        ? chosen.find((c) => c.target === target.name && c.method === name)!.val_success_valid
        : mean(seeds.map((st) => mean(st.base.val[name as 'prompt'].map(successValid))));
    const candidates = names.filter((m) => !isSaeMethod(m) && !isControl(m));
    for (const m of candidates) baselines.push({ target: target.name, method: m, val_success_valid: valScore(m) });
    const best = candidates.reduce((a, b) => (valScore(b) > valScore(a) ? b : a));
    const svStat = new Map(names.map((m) => [m, statOf(m, successValid)!]));
    const compare = (m: string, b: string, baselineRule: string) => {
      const mx = svStat.get(m)!;
      const my = svStat.get(b)!;
      const ci = clusterBootstrap(nClusters, (d) => mx(d) - my(d), boot);
      comparisons.push({
        target: target.name, method: m, baseline: b, baseline_rule: baselineRule, metric: 'success_valid', diff: ci.estimate, ci_low: ci.lo, ci_high: ci.hi, p: ci.p,
        n_units: promptIds.length, interval: `${interval} (paired: both methods on the same drawn prompts${hasStrength(m) || hasStrength(b) ? '; strengths re-chosen on the same drawn validation prompts' : ''})`,
      });
    };
    for (const m of names) if (m !== best) compare(m, best, 'best non-SAE, non-control method by validation success_valid');
    if (best !== 'prompt') for (const m of names) if (m !== 'prompt' && m !== best) compare(m, 'prompt', 'prompting');

    // Verdict, computed from the numbers: does any direction beat prompting at its chosen strength, and does any
    // point of any direction's TEST curve even reach it (an optimistic bound: choosing on test)?
    const rowOf = (m: string) => rows.find((r) => r.concept === target.name && r.method === m && r.metric === 'success_valid')!;
    const prompt = rowOf('prompt');
    const dirs = families.filter((f) => !isControl(f));
    const bestDir = dirs.reduce((a, b) => (rowOf(b).mean > rowOf(a).mean ? b : a));
    const cmp = comparisons.find((c) => c.target === target.name && c.method === bestDir && c.baseline === 'prompt')
      ?? (() => {
        const c = comparisons.find((x) => x.target === target.name && x.method === 'prompt' && x.baseline === bestDir)!;
        return { ...c, diff: -c.diff, ci_low: -c.ci_high, ci_high: -c.ci_low };
      })();
    const curveMax = Math.max(...dirs.flatMap((f) => grid.get(f)!.map((s) => mean(points.filter((p) => p.target === target.name && p.method === f && p.split === 'test' && p.strength === s).map((p) => p.success_valid)))));
    const beats = cmp.ci_low > 0;
    const loses = cmp.ci_high < 0;
    notes.push(
      `${target.name}: prompting has test success_valid ${prompt.mean.toFixed(3)}; the direction method whose test row (at its validation-chosen strength) is best, ${bestDir} (picked on test: favours the directions), has ${rowOf(bestDir).mean.toFixed(3)} ` +
        `(difference ${cmp.diff.toFixed(3)} [${cmp.ci_low.toFixed(3)}, ${cmp.ci_high.toFixed(3)}]: ${beats ? `${bestDir} beats prompting` : loses ? 'prompting wins' : 'undecided'}); ` +
        `the best mean point of any direction's whole test curve is ${curveMax.toFixed(3)}, ${curveMax < prompt.ci_low ? 'below prompting\'s interval even when chosen on test' : curveMax < prompt.mean ? 'below prompting\'s mean even when chosen on test' : 'at or above prompting\'s mean when chosen on test (optimistic)'}`,
    );

    // Examples: test outputs at the chosen strength (first seed, first draw), and one at each collapse point.
    for (const name of names) {
      const st = seeds[0];
      const arm = st.arms.find((a) => a.name === name);
      const outs = arm ? arm.out.test.get(chosenOf(arm))! : testOuts(name, st);
      const strength = arm ? chosenOf(arm) : 0;
      const prompts = st.test.map((p) => (name === 'prompt' ? p.prompted : p.text));
      for (const x of outs.slice(0, perEx)) examples.push({ target: target.name, method: name, strength, prompt: prompts[x.prompt], output: x.text, success: x.success, valid: x.valid });
      const c = grids.find((g) => g.target === target.name && g.method === name)?.collapse;
      if (arm && c != null && c !== strength) {
        const x = arm.out.test.get(c)![0];
        if (x) examples.push({ target: target.name, method: name, strength: c, prompt: prompts[x.prompt], output: x.text, success: x.success, valid: x.valid, at_collapse: true });
      }
    }
  }

  // Stability of the choices, in words.
  for (const c of chosen) {
    if (c.agreement < 0.5) notes.push(`${c.target} / ${c.method}: unstable strength choice (a validation-prompt bootstrap repeats the choice of ${c.strength} ${(100 * c.agreement).toFixed(0)}% of the time; the intervals include this: every replicate re-chooses)`);
  }
  notes.push(
    `outputs per point: validation ${nVal} prompts x ${valSamples} samples, test ${nTest} prompts x ${testSamples} samples per seed (random control: ${controlSamples} sample(s) per prompt and draw); the choice reads every seed's validation outputs`,
    'success and validity are both judged on the reply, or on its complete sentences / lines when the token limit cut it',
    'prompting, rejection sampling and the unsteered model add no vector: they have no kl rows (0 by construction)',
    `${[...genMethods].filter((m) => methodNames.includes(`${m}@gen`)).map((m) => `${m}@gen`).join(', ') || 'no method'} steer(s) only the generating positions; their kl is the same vector's at every position`,
    o.methodsForSeed
      ? 'each seed varies the document split the methods are fitted on, the samples and (with one SAE per seed) the SAE; the prompts are split once (validation and test the same in every seed); intervals resample the test prompts (one draw shared by the seeds) and the validation prompts the strength is chosen on, not the seeds'
      : 'the SAE is fixed across seeds; seeds vary the document split the methods are fitted on and the samples; the prompts are split once (validation and test the same in every seed); intervals resample the test prompts (one draw shared by the seeds) and the validation prompts the strength is chosen on, not the seeds',
    'strength choice: one per (target, method), the validation argmax of success_valid pooled over seeds and draws (ties to the smaller strength)',
  );

  return {
    rows,
    section: {
      targets: targets.map((t) => t.name), methods: methodNames, strengths: base, grid: grids,
      settings: {
        collapse_floor: floor, growth, max_strength: cap, min_strength: floorS, refine, val_prompts: nVal, val_samples: valSamples, test_prompts: nTest, test_samples: testSamples,
        control_draws: o.controlDraws ?? 4, control_samples: controlSamples, prompt_seed: promptSeed, gen_methods: [...genMethods], rejection_n: rejN, choice_bootstrap: choiceIters, unit_norm: unitNorm,
      },
      prompt_split: promptSplits, points, chosen, baselines, comparisons, examples, notes: [...new Set(notes)],
    },
  };
}
