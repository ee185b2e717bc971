// Steering task of the method benchmark: push the organism towards a concept (a story tone, regex use in tests) and
// judge the outputs by ground truth, next to the baselines a practitioner would try first.
//
// Methods. Every concept method with a direction (DiffMean, probe, PCA, k-means, random control, SAE latent, SAE
// top-k probe) is fitted on the labelled tokens of the train documents of the seed's split (the same split rule as the
// detection task) and steers by adding  strength * meanNorm * u  at the hook at every position, prompt and generated
// (u the unit direction, meanNorm the mean L2 norm of the activations at the hook over the document pool, so strength
// is in units of a typical activation). Beside them:
//   prompt      the request names the concept ("Tell me a sad story ...", "... with a regular expression"); no
//               intervention. The organism follows such instructions at trained, imperfect rates.
//   rejection   sample N unsteered outputs, keep the one the detector scores highest (max over the output's tokens of
//               the detector fitted on the same train tokens; a probe unless told otherwise); samples_per_output = N.
//   unsteered   the first of those N samples: the base rate.
//
// Protocol, per seed: the target's neutral prompts are shuffled with the seed and split into validation and test
// prompts. Each direction method is run on the validation prompts at every strength of the sweep; its strength is the
// one with the highest share of outputs that are both on target and grammatical (success_valid; ties go to the smaller
// strength). Only that strength is run on the test prompts, and only test outputs make the reported rows.
//
// Metrics per output: success (the labeller: storyTone / usesRegex on the reply), valid (the organism grammar accepts
// every sentence or line; an output cut by maxTokens is judged on its complete units), nll (mean per-token negative
// log-likelihood of the reply under the unsteered model, given the prompt it was generated from) and, per (method,
// strength), kl: the mean over positions of KL(unsteered || steered) of the next-token distributions on neutral
// documents (fact documents of the corpus: no story, no code), i.e. what the intervention does where it should do
// nothing. Prompting and rejection change nothing elsewhere: kl = 0.
//
// Statistics: per-seed test values -> mean and 95% bootstrap interval over seeds (rows); paired comparison of every
// method against the best non-SAE, non-control method on success_valid, over (seed, prompt, sample) units.
import type { ForwardResult, Model } from '../../models/model.js';
import { CrossEntropyStats, KLStats } from '../../dictionaries/metrics/downstream.js';
import { generate } from '../../models/generate.js';
import { NDArray } from '../../engine/ndarray.js';
import { ProbityError, show } from '../../errors.js';
import { CONCEPTS, type Concept } from '../../organism/concepts.js';
import { documents } from '../../organism/corpus.js';
import { checkGrammar } from '../../organism/grammar.js';
import { cutReply } from '../../organism/labeller.js';
import { Rng, bootstrapCI, mean, pairedBootstrapDiff } from '../../stats/index.js';
import type { FittedMethod, Method } from '../methods/types.js';
import type { ResultRow, SteerComparison, SteerPoint, SteerSection } from '../results.js';
import { conceptData, splitDocuments, isSaeMethod, seedMethods, type ConceptActivations } from './detect.js';
import { steerTarget, type SteerPrompt, type SteerTarget } from './steer-targets.js';

export interface SteerOptions {
  model: Model;
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
  /** Strength sweep in units of the mean activation norm (default [0.05, 0.1, 0.2, 0.4]). */
  strengths?: readonly number[];
  /** Prompts per seed for choosing the strength and for the reported test (defaults 12 and 24). */
  valPrompts?: number;
  testPrompts?: number;
  /** Samples per test prompt (default 2; one per validation prompt). */
  samples?: number;
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
  /** Number of examples kept per (target, method) (default 2). */
  examplesPer?: number;
  onProgress?: (what: string) => void;
}

interface Output {
  text: string;
  success: boolean;
  valid: boolean;
  nll: number;
}

const DEFAULT_STRENGTHS = [0.05, 0.1, 0.2, 0.4];
const CONTROLS = new Set(['random', 'unsteered']);

// ---------------------------------------------------------------------------------------------------------------
// Generation and scoring

/** One generation job: a prompt, and the vector added at the hook for this row (null: none). */
interface Job {
  prompt: string;
  vector: Float32Array | null;
  seed: number;
}

interface Sampled {
  promptIds: number[];
  ids: number[];
  reply: string;
  truncated: boolean;
}

function stopIds(model: Model, texts: string[]): number[] {
  const bos = model.tokenizer.bos;
  return texts.map((t) => {
    const ids = model.tokenizer.encode(t).filter((id) => id !== bos);
    if (ids.length !== 1) throw new ProbityError('BENCH_INPUT', `stop text ${show(t)} is not one token (${show(ids)})`);
    return ids[0];
  });
}

/** Samples every job at temperature 1, batched; rows of a batch carry their own steering vectors. */
async function sampleJobs(model: Model, hook: string, target: SteerTarget, jobs: readonly Job[], batch: number): Promise<Sampled[]> {
  const d = model.spec.dModel;
  const stop = [...stopIds(model, target.stopText), ...(model.tokenizer.eos !== null ? [model.tokenizer.eos] : [])];
  const out: Sampled[] = [];
  for (let i = 0; i < jobs.length; i += batch) {
    const chunk = jobs.slice(i, i + batch);
    const prompts = chunk.map((j) => model.tokenizer.encode(j.prompt));
    const steered = chunk.some((j) => j.vector);
    let interventions;
    if (steered) {
      const v = new Float32Array(chunk.length * d);
      chunk.forEach((j, r) => j.vector && v.set(j.vector, r * d));
      interventions = { [hook]: [{ kind: 'add' as const, vector: new NDArray(v, [chunk.length, 1, d]) }] };
    }
    // One sampler stream per batch, seeded by the first job's seed and the batch's offset: a job list laid out
    // identically samples identically, and no two batches share a stream.
    const gens = await generate(model, prompts, { maxTokens: target.maxTokens, temperature: 1, seed: chunk[0].seed * 7919 + i, stop, interventions });
    gens.forEach((g, r) => out.push({ promptIds: prompts[r], ids: g.tokens, reply: cutReply(model.tokenizer.decode(g.tokens)), truncated: g.finishReason === 'length' }));
  }
  return out;
}

/** An output cut by maxTokens is judged on its complete units: drop the unfinished last sentence / line. */
export function completeUnits(text: string, kind: 'story' | 'code'): string {
  if (kind === 'code') {
    const i = text.lastIndexOf('\n');
    return i >= 0 ? text.slice(0, i) : '';
  }
  const m = /^[\s\S]*[.!?]"?(?=\s|$)/.exec(text);
  return m ? m[0] : '';
}

/** Mean per-token NLL of each output's reply tokens under the (unsteered) model, given its prompt. */
async function replyNll(model: Model, outs: readonly Sampled[], batch: number): Promise<number[]> {
  const V = model.spec.vocab;
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
}

/** Neutral texts for the drift measurement: the first `n` fact documents of the corpus (seed 0 from index 10^6). */
function neutralRows(n: number): number[][] {
  const rows: number[][] = [];
  for (const doc of documents(0, { start: 1_000_000, count: 50 * n })) {
    if (doc.genre === 'fact') rows.push(Array.from(doc.tokens));
    if (rows.length === n) break;
  }
  return rows;
}

/** KL(unsteered || steered) over the real positions of the neutral rows (`base`: their unsteered forward). */
async function driftKl(model: Model, hook: string, rows: number[][], base: ForwardResult, vector: Float32Array): Promise<number> {
  const iv = { [hook]: [{ kind: 'add' as const, vector: new NDArray(vector, [vector.length]) }] };
  const r = await model.forward(rows, { logits: 'all', interventions: iv });
  const mask = base.mask.data as Uint8Array;
  return new KLStats(model.spec.vocab).add(base.logits!.data, r.logits!.data, mask.length, mask).mean();
}

/** Max over the reply tokens of a detector's score, from the activations at `hook` on prompt + reply. */
async function detectorScores(model: Model, hook: string, det: FittedMethod, outs: readonly Sampled[], batch: number): Promise<number[]> {
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
}

// ---------------------------------------------------------------------------------------------------------------
// The task

function splitPrompts(prompts: readonly SteerPrompt[], nVal: number, nTest: number, seed: number): { val: SteerPrompt[]; test: SteerPrompt[] } {
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

const scaled = (u: Float32Array | Float64Array, k: number) => Float32Array.from(u, (x) => x * k);

export interface SteerResult {
  rows: ResultRow[];
  section: SteerSection;
}

export async function runSteering(o: SteerOptions): Promise<SteerResult> {
  const strengths = [...(o.strengths ?? DEFAULT_STRENGTHS)];
  const nVal = o.valPrompts ?? 12;
  const nTest = o.testPrompts ?? 24;
  const samples = o.samples ?? 2;
  const rejN = o.rejectionN ?? 4;
  const batch = o.batch ?? 64;
  const perEx = o.examplesPer ?? 2;
  const boot = { iterations: o.bootstrapIterations ?? 2000, alpha: 0.05, seed: 0 };
  const say = o.onProgress ?? (() => {});
  if (o.seeds.length === 0) throw new ProbityError('BENCH_INPUT', 'runSteering needs at least one seed');
  if (strengths.some((s) => !(s > 0))) throw new ProbityError('BENCH_INPUT', `steering strengths must be > 0, got ${show(strengths)}`);
  if (!(samples >= 1 && rejN >= 2)) throw new ProbityError('BENCH_INPUT', `steering needs samples >= 1 and rejectionN >= 2, got ${samples}, ${rejN}`);
  const detName = o.detector ?? 'probe';
  const detMethod = o.methods.find((m) => m.name === detName);
  if (!detMethod) throw new ProbityError('BENCH_INPUT', `rejection sampling uses the detector ${show(detName)}, which is not among the methods (${o.methods.map((m) => m.name).join(', ')})`);
  const targets = o.targets.map((name) => ({ ...steerTarget(name), ...(o.maxTokens ? { maxTokens: o.maxTokens } : {}) }));
  for (const t of targets) if (!(CONCEPTS as readonly string[]).includes(t.concept)) throw new ProbityError('INTERNAL', `target concept ${t.concept}`);
  const acts = o.activations;
  const pool = o.trainDocs + o.testDocs;
  const unitNorm = meanNorm(acts);
  const model = o.model;
  const neutral = neutralRows(o.neutralDocs ?? 16);
  const base = await model.forward(neutral, { logits: 'all' });
  const notes: string[] = [
    `strength unit: mean activation norm at ${o.hook} over the pool = ${unitNorm.toFixed(3)}`,
    `rejection sampling keeps the best of ${rejN} unsteered samples by the ${detName} detector (max over reply tokens)`,
  ];

  const points: SteerPoint[] = [];
  const chosen: SteerSection['chosen'] = [];
  const examples: SteerSection['examples'] = [];
  // Per (target, method): success_valid per test unit, in (seed, prompt, sample) order, for the paired comparisons.
  const units = new Map<string, number[]>();
  const methodNames = new Set<string>();
  const point = (target: string, method: string, strength: number, split: 'val' | 'test', seed: number, outs: Output[], kl: number, spo: number): SteerPoint => {
    const p: SteerPoint = {
      target, method, strength, split, seed,
      success: mean(outs.map((x) => +x.success)),
      valid: mean(outs.map((x) => +x.valid)),
      success_valid: mean(outs.map((x) => +(x.success && x.valid))),
      nll: mean(outs.map((x) => x.nll).filter(Number.isFinite)),
      kl, samples_per_output: spo, n_outputs: outs.length,
    };
    points.push(p);
    return p;
  };

  for (const target of targets) {
    const judge = async (sampled: Sampled[]): Promise<Output[]> => {
      const nll = await replyNll(model, sampled, batch);
      return sampled.map((s, i) => {
        const text = s.truncated ? completeUnits(s.reply, target.kind) : s.reply;
        return { text: s.reply, success: target.success(s.reply), valid: checkGrammar(text, target.kind).valid, nll: nll[i] };
      });
    };
    const keep = (method: string, strength: number, prompts: string[], outs: Output[]) => {
      for (let i = 0; i < outs.length && examples.filter((e) => e.target === target.name && e.method === method).length < perEx; i++) {
        examples.push({ target: target.name, method, strength, prompt: prompts[i], output: outs[i].text, success: outs[i].success, valid: outs[i].valid });
      }
    };
    const addUnits = (method: string, outs: Output[]) => {
      const k = `${target.name}\u0000${method}`;
      units.set(k, [...(units.get(k) ?? []), ...outs.map((x) => +(x.success && x.valid))]);
      methodNames.add(method);
    };

    for (const seed of o.seeds) {
      say(`steer ${target.name} seed ${seed}: fitting`);
      const split = splitDocuments(pool, o.trainDocs, o.testDocs, seed);
      const train = conceptData(acts, split.train, target.concept as Concept);
      const fitted: FittedMethod[] = [];
      for (const m of seedMethods(o.methods, o.methodsForSeed, seed)) fitted.push(await m.fit(train, seed));
      const det = fitted[o.methods.indexOf(detMethod)];
      const steerers = fitted.filter((f) => f.direction !== null);
      for (const f of fitted) if (!f.direction) notes.push(`${f.name} has no steering direction; not in the steering sweep`);
      const { val, test } = splitPrompts(target.prompts, nVal, nTest, seed);

      // Validation sweep: every (method, strength) on the validation prompts, one sample each, in big batches.
      say(`steer ${target.name} seed ${seed}: sweep ${steerers.length} methods x ${strengths.length} strengths x ${val.length} prompts`);
      const sweepJobs: Job[] = [];
      for (const f of steerers) for (const s of strengths) for (const p of val) sweepJobs.push({ prompt: p.text, vector: scaled(f.direction!, s * unitNorm), seed: seed * 1000 + 1 });
      const sweepOut = await judge(await sampleJobs(model, o.hook, target, sweepJobs, batch));
      let j = 0;
      for (const f of steerers) {
        let best = { s: strengths[0], sv: -1 };
        for (const s of strengths) {
          const outs = sweepOut.slice(j, j + val.length);
          j += val.length;
          const kl = await driftKl(model, o.hook, neutral, base, scaled(f.direction!, s * unitNorm));
          const p = point(target.name, f.name, s, 'val', seed, outs, kl, 1);
          if (p.success_valid > best.sv) best = { s, sv: p.success_valid };
        }
        chosen.push({ target: target.name, method: f.name, seed, strength: best.s });
      }

      // Test: each method at its chosen strength; prompting; N unsteered samples for rejection and the base rate.
      say(`steer ${target.name} seed ${seed}: test`);
      const testJobs: Job[] = [];
      const rep = (p: SteerPrompt, k: number) => Array.from({ length: k }, () => p);
      const testPrompts = test.flatMap((p) => rep(p, samples));
      for (const f of steerers) {
        const s = chosen.find((c) => c.target === target.name && c.method === f.name && c.seed === seed)!.strength;
        for (const p of testPrompts) testJobs.push({ prompt: p.text, vector: scaled(f.direction!, s * unitNorm), seed: seed * 1000 + 2 });
      }
      for (const p of testPrompts) testJobs.push({ prompt: p.prompted, vector: null, seed: seed * 1000 + 2 });
      for (const p of testPrompts) for (let r = 0; r < rejN; r++) testJobs.push({ prompt: p.text, vector: null, seed: seed * 1000 + 2 });
      const sampled = await sampleJobs(model, o.hook, target, testJobs, batch);
      const outs = await judge(sampled);
      const m = testPrompts.length;
      let at = 0;
      for (const f of steerers) {
        const s = chosen.find((c) => c.target === target.name && c.method === f.name && c.seed === seed)!.strength;
        const mo = outs.slice(at, at + m);
        at += m;
        const kl = await driftKl(model, o.hook, neutral, base, scaled(f.direction!, s * unitNorm));
        point(target.name, f.name, s, 'test', seed, mo, kl, 1);
        addUnits(f.name, mo);
        keep(f.name, s, testPrompts.map((p) => p.text), mo);
      }
      const po = outs.slice(at, at + m);
      at += m;
      point(target.name, 'prompt', 0, 'test', seed, po, 0, 1);
      addUnits('prompt', po);
      keep('prompt', 0, testPrompts.map((p) => p.prompted), po);
      const cand = outs.slice(at, at + m * rejN);
      const candSampled = sampled.slice(at, at + m * rejN);
      const scores = await detectorScores(model, o.hook, det, candSampled, batch);
      const unst: Output[] = [];
      const rej: Output[] = [];
      for (let i = 0; i < m; i++) {
        unst.push(cand[i * rejN]);
        let bi = i * rejN;
        for (let r = 1; r < rejN; r++) if (scores[i * rejN + r] > scores[bi]) bi = i * rejN + r;
        rej.push(cand[bi]);
      }
      point(target.name, 'unsteered', 0, 'test', seed, unst, 0, 1);
      addUnits('unsteered', unst);
      keep('unsteered', 0, testPrompts.map((p) => p.text), unst);
      point(target.name, 'rejection', 0, 'test', seed, rej, 0, rejN);
      addUnits('rejection', rej);
      keep('rejection', 0, testPrompts.map((p) => p.text), rej);
    }
  }

  // Rows: per (target, method, metric), mean over seeds of the test values, with a bootstrap interval over seeds.
  const METRICS = ['success', 'valid', 'success_valid', 'nll', 'kl', 'strength', 'samples_per_output'] as const;
  const rows: ResultRow[] = [];
  for (const target of targets) {
    for (const method of methodNames) {
      const tp = points.filter((p) => p.target === target.name && p.method === method && p.split === 'test');
      if (tp.length === 0) continue;
      for (const metric of METRICS) {
        const vals = tp.map((p) => p[metric]).filter(Number.isFinite);
        if (vals.length === 0) continue;
        const mu = mean(vals);
        const ci = bootstrapCI(vals, boot);
        rows.push({ suite: 'steer', task: 'steering', concept: target.name, method, metric, mean: mu, ci_low: Math.min(ci.lo, mu), ci_high: Math.max(ci.hi, mu), n_seeds: vals.length });
      }
    }
  }

  // Paired comparisons on success_valid against the best non-SAE, non-control method of each target.
  const comparisons: SteerComparison[] = [];
  for (const target of targets) {
    const get = (m: string) => units.get(`${target.name}\u0000${m}`) ?? [];
    const candidates = [...methodNames].filter((m) => !isSaeMethod(m) && !CONTROLS.has(m) && get(m).length);
    if (candidates.length === 0) continue;
    const best = candidates.reduce((a, b) => (mean(get(b)) > mean(get(a)) ? b : a));
    for (const m of methodNames) {
      if (m === best || get(m).length !== get(best).length) continue;
      const r = pairedBootstrapDiff(get(m), get(best), boot);
      comparisons.push({ target: target.name, method: m, baseline: best, metric: 'success_valid', diff: r.estimate, ci_low: r.lo, ci_high: r.hi, p: r.p, n_units: get(m).length });
    }
  }
  if (o.seeds.length < 5) notes.push(`only ${o.seeds.length} seed(s): intervals over seeds are close to the range of the per-seed values`);
  notes.push(o.methodsForSeed
    ? 'each seed varies the document split the methods are fitted on, the prompt split, the samples and (with one SAE per seed) the SAE'
    : 'the SAE is fixed across seeds; seeds vary the document split the methods are fitted on, the prompt split and the samples');

  return {
    rows,
    section: { targets: targets.map((t) => t.name), methods: [...methodNames], strengths, points, chosen, comparisons, examples, notes: [...new Set(notes)] },
  };
}
