// `probity bench --suite conditional` (issue 12): conditional steering against regexes (the Sieve case study) on
// ground truth, beside prompting and rejection sampling.
//
// Target: no regular expression in the test file the organism writes for a chat code request without a style
// instruction (FUNCTION_NAMES x CODE_REQ, 44 requests; the organism's habit: ~1/3 of such files use a regex).
// Methods (strength s in units of the mean activation norm N at the hook, as in the steering suite):
//   unsteered       the request as is;
//   prompt          the same request "... without regular expressions";
//   rejection       regenerate (unsteered) until the output checker finds no regex, at most `rejectionCap` samples;
//                   at the cap the last sample (with its regex) is the output. The checker is the labeller's usesRegex
//                   (a regex-literal detector: what a practitioner would write as the output checker);
//   const-sae       x - s N d_i at every position (d_i the chosen latent's unit decoder row);
//   const-diffmean  x - s N u at every position (u the DiffMean direction of code:regex);
//   cond-sae        where the latent's pre-activation passes its threshold, its contribution is set to -s N (the
//                   Sieve clamp: x + (-s N - relu(pre_i)) W_dec[i]); elsewhere exactly x;
//   cond-diffmean   where the logistic probe's logit passes its threshold, x - s N u; elsewhere exactly x.
// The latent (best train AUROC of the SAE's latents for code:regex, as the `sae` method), the probe, DiffMean and every
// trigger threshold (max F1 of score > threshold on the seed's train tokens) are fitted on the train documents.
// Strengths: per method a grid common to the seeds, grown from `strengths` (x growth) while the validation validity
// pooled over seeds stays >= collapseFloor, up to maxStrength; per method the validation argmax of clean_valid (no
// regex and grammatical; ties to the smaller strength) pooled over seeds, on one prompt split shared by the seeds, and
// re-chosen on the resampled validation prompts in every bootstrap replicate of the rows at the chosen setting; the whole grid is also run on test prompts, with every
// side effect, so each (method, strength) is a test point of the Pareto plot and the chosen one a point on it.
// Side effects, under the same intervention: fact recall (greedy Q/A answers, factAnswer), story tone (tone requests,
// storyTone), off-target KL(unsteered || intervened) on neutral fact documents. Prompting and rejection sampling do not
// touch other work: their side-effect rows are the unsteered model's measurements (KL 0 by construction) and say so.
// Intervals: 95% cluster bootstrap, percentile, never clamped; code metrics over the test prompts (the same in every
// seed, one draw shared by the seeds), fact recall over fact prompts, story tone over story prompts, KL over neutral
// documents (the same sets in every seed: one draw); triggers over the distinct test documents (triggers.ts).
import fs from 'node:fs';
import path from 'node:path';
import { ProbityError } from '../../errors.js';
import { factAnswer, storyTone, usesRegex } from '../../organism/labeller.js';
import { codePrompts, factPrompts, storyPrompts } from '../../organism/prompts.js';
import { Rng, clusterBootstrap, clusteredMean, mean } from '../../stats/index.js';
import { diffMean, fitLogistic, saeBestLatent } from '../methods/index.js';
import type { ResultRow } from '../results.js';
import { conceptData, splitDocuments } from './detect.js';
import { judgeOutput, judgedText, meanNorm, neutralRows, splitPrompts } from './steer.js';
import type { SteerPrompt } from './steer-targets.js';
import {
  CHOSEN, CONDITIONAL_METHODS, STEERED, checkConditionalConfig, codeRequests, isSae, settingOf,
  type ConditionalComparison, type ConditionalConfig, type ConditionalPoint, type ConditionalSection, type Steered,
} from './conditional/config.js';
import { f1Threshold, linearScores, rowsIntervention, sampleRows, saeDecoderRow, saePreActivation, type Gen, type RowSpec } from './conditional/engine.js';
import { neutralDrift, type DocKl } from './drift.js';
import { TRIGGERS, tokenSet, triggerStats, type TokenSet, type TriggerFit } from './conditional/triggers.js';
import type { SuiteRunOptions } from './suite-options.js';

export { CHOSEN, CONDITIONAL_METHODS, CONDITIONAL_PRESETS, checkConditionalConfig, codeRequests, type ConditionalComparison, type ConditionalConfig, type ConditionalMethod, type ConditionalPoint, type ConditionalSection } from './conditional/config.js';

export type ConditionalOptions = SuiteRunOptions<ConditionalConfig>;

const CODE = { kind: 'code' as const, success: usesRegex };
const key = (s: number) => Number(s.toPrecision(6));

interface Out {
  prompt: number;
  regex: boolean;
  valid: boolean;
  samples: number;
  /** Forward passes spent (per sample: one prompt pass + one per generated token after the first). */
  passes: number;
  capped: boolean;
  text: string;
}
interface Side {
  fact: number[];
  story: number[];
  kl: DocKl[];
}
interface Arm {
  method: Steered;
  seed: number;
  spec: (s: number) => RowSpec;
  out: { val: Map<number, Out[]>; test: Map<number, Out[]> };
  side: Map<number, Side>;
}
interface SeedState {
  seed: number;
  val: SteerPrompt[];
  test: SteerPrompt[];
  arms: Arm[];
  base: Record<'val' | 'test', Record<'unsteered' | 'prompt' | 'rejection', Out[]>>;
}

const clean = (o: Out) => +(!o.regex && o.valid);
const OUT_METRIC: Record<'regex_rate' | 'valid_rate' | 'clean_valid' | 'samples_per_output', (o: Out) => number> = {
  regex_rate: (o) => +o.regex,
  valid_rate: (o) => +o.valid,
  clean_valid: clean,
  samples_per_output: (o) => o.samples,
};

/** Seed of the one split of the code requests into validation and test prompts. */
const PROMPT_SEED = 0;

function argmax(xs: readonly number[]): number {
  let b = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[b]) b = i;
  return b;
}

export async function runConditional(o: ConditionalOptions): Promise<{ rows: ResultRow[]; section: ConditionalSection }> {
  const c = o.config;
  checkConditionalConfig(c);
  if (o.seeds.length === 0) throw new ProbityError('BENCH_INPUT', 'the conditional suite needs at least one seed');
  const say = o.onProgress ?? (() => {});
  const model = o.model;
  const d = model.spec.dModel;
  const acts = o.activations;
  const N = meanNorm(acts);
  const boot = { iterations: o.bootstrapIterations, alpha: 0.05, seed: 0 };
  const notes: string[] = [`strength unit: mean activation norm at ${o.hook} over the pool = ${N.toFixed(3)}`];
  const pool = o.trainDocs + o.valDocs + o.testDocs;
  const prompts = codeRequests();
  let stream = 1;
  const gen = (rows: { prompt: string; spec: RowSpec | null }[], kind: 'code' | 'story' | 'fact') =>
    sampleRows(model, o.hook, rows, {
      maxTokens: kind === 'fact' ? 12 : kind === 'code' ? c.maxTokens : 100, stop: kind === 'code' ? ['User'] : kind === 'story' ? ['\n'] : [],
      temperature: kind === 'fact' ? 0 : 1, stream: stream++, batch: c.batch,
    });
  const judge = (g: Gen, prompt: number): Out => {
    const j = judgeOutput(CODE, g.reply, g.truncated);
    return { prompt, regex: j.success, valid: j.valid, samples: 1, passes: Math.max(1, g.tokens), capped: false, text: j.text };
  };

  // ---- fit per seed: DiffMean, probe, SAE latent; triggers with thresholds on train tokens -----------------------
  const seeds: SeedState[] = [];
  const fits: TriggerFit[] = [];
  const testTokens = new Map<number, TokenSet>();
  const latents: ConditionalSection['latents'] = [];
  // One validation / test split of the code requests for every seed (as the steering suite): pooling validation over
  // seeds then never reads a prompt another seed tests.
  const promptSplit = splitPrompts(prompts, c.valPrompts, c.testPrompts, PROMPT_SEED);
  for (const seed of o.seeds) {
    say(`conditional seed ${seed}: fitting on train tokens`);
    const split = splitDocuments(pool, o.trainDocs, o.testDocs, seed, o.valDocs);
    const train = conceptData(acts, split.train, 'code:regex');
    if (!train.labels.some((l) => l === 1)) throw new ProbityError('BENCH_INPUT', `seed ${seed}: no code:regex tokens in the ${o.trainDocs} train documents`);
    testTokens.set(seed, tokenSet(acts, split.test));
    const dm = await diffMean().fit(train, seed);
    const u = dm.direction!;
    const lg = await fitLogistic(train.x, train.n, d, train.labels, seed);
    const addTrigger = (name: TriggerFit['name'], w: Float32Array, cc: number) => {
      const t = f1Threshold(linearScores(train.x, train.n, d, w, cc), train.labels);
      const f: TriggerFit = { name, seed, w, c: cc, threshold: t.threshold, train: { f1: t.f1, precision: t.precision, recall: t.recall } };
      fits.push(f);
      return f;
    };
    const probeT = addTrigger('probe', Float32Array.from(lg.w), lg.b);
    addTrigger('diffmean', u, 0);
    const arms: Arm[] = [];
    const mk = (method: Steered, spec: (s: number) => RowSpec): Arm => ({ method, seed, spec, out: { val: new Map(), test: new Map() }, side: new Map() });
    arms.push(mk('const-diffmean', (s) => ({ add: Float32Array.from(u, (x) => -s * N * x) })));
    arms.push(mk('cond-diffmean', (s) => ({ trigger: { w: probeT.w, c: probeT.c - probeT.threshold }, value: -s * N, dvec: u })));
    const sae = o.saeOf(seed);
    if (sae) {
      const best = await saeBestLatent(sae).fit(train, seed);
      const pre = saePreActivation(sae, best.latent);
      const saeT = addTrigger('sae', pre.w, pre.c);
      const dec = saeDecoderRow(sae, best.latent);
      const norm = Math.hypot(...dec);
      const dunit = Float32Array.from(dec, (x) => x / norm);
      // How often does the pre-activation pass the threshold while the latent is not among the token's active ones
      // (TopK)? There the clamp removes relu(pre) the SAE would not have had.
      const scores = linearScores(train.x, train.n, d, pre.w, pre.c);
      const passing = Array.from(scores.keys()).filter((t) => scores[t] > saeT.threshold);
      let notIn: number | null = null;
      if (passing.length) {
        const x = new Float32Array(passing.length * d);
        passing.forEach((t, i) => x.set(train.x.subarray(t * d, (t + 1) * d), i * d));
        const code = sae.codec().encode(x, passing.length);
        let miss = 0;
        for (let i = 0; i < code.n; i++) {
          let active = false;
          for (let j = 0; j < code.k; j++) if (code.indices[i * code.k + j] === best.latent && code.values[i * code.k + j] > 0) active = true;
          if (!active) miss++;
        }
        notIn = miss / code.n;
      }
      latents.push({ seed, latent: best.latent, train_auroc: best.trainAuroc, threshold: saeT.threshold, pre_passes_not_in_topk: notIn });
      arms.push(mk('const-sae', (s) => ({ add: Float32Array.from(dunit, (x) => -s * N * x) })));
      arms.push(mk('cond-sae', (s) => ({ trigger: { w: pre.w, c: pre.c - saeT.threshold }, pre, value: -s * N / norm, dvec: dec })));
    }
    const { val, test } = promptSplit;
    seeds.push({ seed, val, test, arms, base: { val: { unsteered: [], prompt: [], rejection: [] }, test: { unsteered: [], prompt: [], rejection: [] } } });
  }
  const steered = STEERED.filter((m) => seeds.every((st) => st.arms.some((a) => a.method === m)));
  const nValP = promptSplit.val.length;
  if (steered.length < STEERED.length) notes.push('no SAE for some seed: the SAE methods (const-sae, cond-sae) and the SAE trigger are absent');
  const armsOf = (m: string) => seeds.flatMap((st) => st.arms.filter((a) => a.method === m));
  const samplesOf = (split: 'val' | 'test') => (split === 'val' ? c.valSamples : c.testSamples);

  const runArms = async (split: 'val' | 'test', todo: { arm: Arm; s: number }[]) => {
    const jobs: { prompt: string; spec: RowSpec | null }[] = [];
    const where: { arm: Arm; s: number; prompt: number }[] = [];
    for (const { arm, s } of todo) {
      const st = seeds.find((x) => x.seed === arm.seed)!;
      const spec = arm.spec(s);
      (split === 'val' ? st.val : st.test).forEach((p, pi) => {
        for (let r = 0; r < samplesOf(split); r++) {
          jobs.push({ prompt: p.text, spec });
          where.push({ arm, s, prompt: pi });
        }
      });
    }
    const gens = await gen(jobs, 'code');
    gens.forEach((g, i) => {
      const m = where[i].arm.out[split];
      if (!m.has(where[i].s)) m.set(where[i].s, []);
      m.get(where[i].s)!.push(judge(g, where[i].prompt));
    });
  };

  // ---- baselines on both splits: unsteered (= rejection's first sample), prompting, rejection rounds -------------
  let rejSamples = 0;
  let rejCapped = 0;
  let rejOutputs = 0;
  for (const split of ['val', 'test'] as const) {
    say(`conditional: unsteered, prompting and rejection sampling (${split})`);
    const jobs: { prompt: string; spec: null }[] = [];
    const where: { st: SeedState; prompt: number; kind: 'unsteered' | 'prompt' }[] = [];
    for (const st of seeds) {
      (split === 'val' ? st.val : st.test).forEach((p, pi) => {
        for (let r = 0; r < samplesOf(split); r++) {
          jobs.push({ prompt: p.text, spec: null }, { prompt: p.prompted, spec: null });
          where.push({ st, prompt: pi, kind: 'unsteered' }, { st, prompt: pi, kind: 'prompt' });
        }
      });
    }
    const gens = await gen(jobs, 'code');
    const pending: { st: SeedState; out: Out; idx: number }[] = [];
    gens.forEach((g, i) => {
      const w = where[i];
      const x = judge(g, w.prompt);
      w.st.base[split][w.kind].push(x);
      if (w.kind === 'unsteered') {
        const r = { ...x };
        w.st.base[split].rejection.push(r);
        if (r.regex) pending.push({ st: w.st, out: r, idx: w.st.base[split].rejection.length - 1 });
      }
    });
    // Regenerate the outputs the checker rejects, all together, until none is left or each reached the cap.
    let todo = pending;
    for (let round = 2; todo.length && round <= c.rejectionCap; round++) {
      const g2 = await gen(todo.map((t) => ({ prompt: (split === 'val' ? t.st.val : t.st.test)[t.out.prompt].text, spec: null })), 'code');
      const next: typeof todo = [];
      g2.forEach((g, i) => {
        const t = todo[i];
        const x = judge(g, t.out.prompt);
        const merged: Out = { ...x, samples: t.out.samples + 1, passes: t.out.passes + x.passes, capped: x.regex && round === c.rejectionCap };
        t.st.base[split].rejection[t.idx] = merged;
        if (x.regex && round < c.rejectionCap) next.push({ ...t, out: merged });
      });
      todo = next;
    }
    if (split === 'test') {
      for (const st of seeds) for (const x of st.base.test.rejection) {
        rejSamples += x.samples;
        rejCapped += +x.capped;
        rejOutputs++;
      }
    }
  }

  // ---- validation sweep, growing each method's grid until validity collapses --------------------------------------
  const base = [...c.strengths].map(key).sort((a, b) => a - b);
  const grid = new Map<string, number[]>(steered.map((m) => [m, [...base]]));
  const pooledVal = (m: string, s: number, f: (x: Out) => number) => mean(armsOf(m).flatMap((a) => a.out.val.get(s) ?? []).map(f));
  let pending = steered.flatMap((m) => armsOf(m).flatMap((arm) => base.map((s) => ({ arm, s }))));
  for (let round = 1; pending.length; round++) {
    say(`conditional: validation round ${round}, ${pending.length} (seed, method, strength) points`);
    await runArms('val', pending);
    pending = [];
    for (const m of steered) {
      const g = grid.get(m)!;
      const hi = g[g.length - 1];
      const lo = g[0];
      const add: number[] = [];
      // Up while the largest strength is still valid; down while even the smallest has collapsed.
      if (pooledVal(m, hi, OUT_METRIC.valid_rate) >= c.collapseFloor && hi * c.growth <= c.maxStrength * (1 + 1e-9)) add.push(key(hi * c.growth));
      if (pooledVal(m, lo, OUT_METRIC.valid_rate) < c.collapseFloor && lo / c.growth >= c.minStrength * (1 - 1e-9)) add.push(key(lo / c.growth));
      for (const s of add) {
        g.push(s);
        pending.push(...armsOf(m).map((arm) => ({ arm, s })));
      }
      g.sort((a, b) => a - b);
    }
  }
  const grids: ConditionalSection['grid'] = steered.map((m) => {
    const g = grid.get(m)!;
    const col = g.find((s) => pooledVal(m, s, OUT_METRIC.valid_rate) < c.collapseFloor);
    return { method: m, strengths: [...g], collapse: col ?? null, valid_at_collapse: col === undefined ? null : pooledVal(m, col, OUT_METRIC.valid_rate) };
  });
  for (const g of grids) if (g.collapse === null) notes.push(`${g.method}: validity did not fall below ${c.collapseFloor} up to the cap ${c.maxStrength} (the grid stops at the cap)`);
  const valPoints = steered.flatMap((m) => grid.get(m)!.map((s) => ({ method: m, strength: s, regex_rate: pooledVal(m, s, OUT_METRIC.regex_rate), valid_rate: pooledVal(m, s, OUT_METRIC.valid_rate), clean_valid: pooledVal(m, s, clean) })));

  // ---- choice per method on validation, pooled over seeds ------------------------------------------------------------
  // valCells[m][i][c]: clean_valid items of validation prompt c at the i-th strength of m's grid, every seed's outputs.
  const valCells = new Map<string, number[][][]>(steered.map((m) => [m, grid.get(m)!.map((s) => {
    const cells: number[][] = Array.from({ length: nValP }, () => []);
    for (const arm of armsOf(m)) for (const x of arm.out.val.get(s)!) cells[x.prompt].push(clean(x));
    return cells;
  })]));
  /** Index in m's grid of the strength chosen on the drawn validation prompts (argmax of pooled clean_valid; ties to the smaller). */
  const chooseIdx = (m: string, vd: Int32Array): number => {
    let best = 0;
    let bestV = -Infinity;
    valCells.get(m)!.forEach((cells, i) => {
      let sum = 0;
      let n = 0;
      for (const ci of vd) for (const v of cells[ci]) (sum += v), n++;
      const mv = n ? sum / n : -Infinity;
      if (mv > bestV) (bestV = mv), (best = i);
    });
    return best;
  };
  const allVal = Int32Array.from({ length: nValP }, (_, i) => i);
  const chosen: ConditionalSection['chosen'] = [];
  const chosenOf = new Map<Arm, number>();
  for (const m of steered) {
    const g = grid.get(m)!;
    const pick = chooseIdx(m, allVal);
    for (const arm of armsOf(m)) chosenOf.set(arm, g[pick]);
    const rng = new Rng(0x5ca1e);
    const idx = new Int32Array(nValP);
    let agree = 0;
    const iters = 500;
    for (let b = 0; b < iters; b++) {
      for (let i = 0; i < idx.length; i++) idx[i] = rng.int(idx.length);
      if (chooseIdx(m, idx) === pick) agree++;
    }
    const outs = valCells.get(m)![pick].flat();
    chosen.push({ method: m, strength: g[pick], val_clean_valid: mean(outs), n_val_outputs: outs.length, agreement: agree / iters });
    if (agree / iters < 0.5) notes.push(`${m}: unstable strength choice (a validation-prompt bootstrap repeats the choice of ${g[pick]} ${(100 * agree / iters).toFixed(0)}% of the time; the intervals include this: every replicate re-chooses)`);
  }

  // ---- test: the whole grid ------------------------------------------------------------------------------------------
  say('conditional: test curves');
  await runArms('test', steered.flatMap((m) => armsOf(m).flatMap((arm) => grid.get(m)!.map((s) => ({ arm, s })))));

  // ---- eval match: the unsteered model on the organism eval's own prompt set -----------------------------------------
  const evalSet = codePrompts().filter((p) => p.instruction === 'none');
  say(`conditional: eval-match (${evalSet.length} prompts x ${c.evalSamples})`);
  const evalGens = await gen(evalSet.flatMap((p) => Array.from({ length: c.evalSamples }, () => ({ prompt: p.text, spec: null }))), 'code');
  const evalCells = evalSet.map((_, i) => evalGens.slice(i * c.evalSamples, (i + 1) * c.evalSamples).map((g) => +usesRegex(judgedText(g.reply, g.truncated, 'code'))));
  const evalCi = clusterBootstrap([evalSet.length], clusteredMean([evalCells]), boot);
  let reference: number | null = null;
  let referenceSource: string | null = null;
  if (model.source) {
    const f = path.join(fs.existsSync(model.source) && fs.statSync(model.source).isDirectory() ? model.source : path.dirname(model.source), 'eval.json');
    if (fs.existsSync(f)) {
      const r = JSON.parse(fs.readFileSync(f, 'utf8')) as { regex_rate_chat_default?: number };
      if (typeof r.regex_rate_chat_default === 'number') {
        reference = r.regex_rate_chat_default;
        referenceSource = `${path.basename(path.dirname(f))}/eval.json regex_rate_chat_default`;
      }
    }
  }

  // ---- side effects under every (seed, method, strength), and the unsteered ones ------------------------------------
  const facts = factPrompts().filter((p) => p.format === 'qa' && p.qaTrained);
  const factSet = facts.filter((_, i) => i % Math.max(1, Math.floor(facts.length / c.factPrompts)) === 0).slice(0, c.factPrompts);
  const stories = storyPrompts();
  const storySet = stories.filter((_, i) => i % Math.max(1, Math.floor(stories.length / c.storyPrompts)) === 0).slice(0, c.storyPrompts);
  const neutral = neutralRows(c.neutralDocs);
  const sideJobs: { spec: RowSpec | null; put: (s: Side) => void }[] = [{ spec: null, put: () => {} }];
  let unsteeredSide: Side = { fact: [], story: [], kl: [] };
  sideJobs[0].put = (s) => (unsteeredSide = s);
  for (const m of steered) for (const arm of armsOf(m)) for (const s of grid.get(m)!) sideJobs.push({ spec: arm.spec(s), put: (x) => arm.side.set(s, x) });
  say(`conditional: side effects for ${sideJobs.length} interventions (${factSet.length} facts, ${storySet.length} stories, ${neutral.length} neutral documents)`);
  const factGens = await gen(sideJobs.flatMap((j) => factSet.map((p) => ({ prompt: p.text, spec: j.spec }))), 'fact');
  const storyGens = await gen(sideJobs.flatMap((j) => storySet.map((p) => ({ prompt: p.text, spec: j.spec }))), 'story');
  const kls = await neutralDrift<RowSpec>(model, o.hook, neutral, (specs) => rowsIntervention(specs, model.spec.dModel), c.batch)(sideJobs.slice(1).map((j) => j.spec!));
  sideJobs.forEach((j, k) => {
    j.put({
      fact: factSet.map((p, i) => +(factAnswer(factGens[k * factSet.length + i].reply) === p.answer)),
      story: storySet.map((p, i) => {
        const g = storyGens[k * storySet.length + i];
        return +(storyTone(judgedText(g.reply, g.truncated, 'story')) === p.tone);
      }),
      kl: k === 0 ? neutral.map(() => ({ sum: 0, n: 1 })) : kls[k - 1],
    });
  });

  // ---- rows ------------------------------------------------------------------------------------------------------------
  const rows: ResultRow[] = [];
  const promptIds = [...new Set(seeds.flatMap((st) => st.test.map((p) => p.id)))];
  const slotOf = new Map(promptIds.map((id, i) => [id, i]));
  const codeInterval = `95% cluster bootstrap over the ${promptIds.length} test prompts (the same in every seed, one draw shared by the ${seeds.length} seed(s))`;
  const factInterval = `95% cluster bootstrap over the ${factSet.length} fact prompts (the same in every seed, one draw)`;
  const storyInterval = `95% cluster bootstrap over the ${storySet.length} story prompts (the same in every seed, one draw)`;
  const klInterval = `95% cluster bootstrap over the ${neutral.length} neutral documents (the same in every seed, one draw)`;
  const noTouch = ' (the method does not touch other work: the unsteered model\'s measurement)';
  /** Test outputs per seed of (method, setting); strength: a number, or CHOSEN. */
  const testOuts = (m: string, s: number | typeof CHOSEN): Out[][] =>
    seeds.map((st) => {
      if (m === 'unsteered' || m === 'prompt' || m === 'rejection') return st.base.test[m];
      const arm = st.arms.find((a) => a.method === m)!;
      return arm.out.test.get(s === CHOSEN ? chosenOf.get(arm)! : s)!;
    });
  const sides = (m: string, s: number | typeof CHOSEN): Side[] =>
    seeds.map((st) => {
      if (!(STEERED as readonly string[]).includes(m)) return unsteeredSide;
      const arm = st.arms.find((a) => a.method === m)!;
      return arm.side.get(s === CHOSEN ? chosenOf.get(arm)! : s)!;
    });
  const promptCells = (outs: Out[][], f: (x: Out) => number) =>
    outs.map((list, si) => {
      const cells: number[][] = promptIds.map(() => []);
      for (const x of list) cells[slotOf.get(seeds[si].test[x.prompt].id)!].push(f(x));
      return cells;
    });
  const shared = (stat: (d: readonly Int32Array[]) => number) => (d: readonly Int32Array[]) => stat(seeds.map(() => d[0]));
  const stat = {
    code: (outs: Out[][], f: (x: Out) => number) => shared(clusteredMean(promptCells(outs, f))),
    passesPerAccepted: (outs: Out[][]) => {
      const p = promptCells(outs, (x) => x.passes);
      const a = promptCells(outs, clean);
      return shared((dd) => mean(dd.map((draw, s) => {
        let num = 0;
        let den = 0;
        for (const ci of draw) {
          for (const v of p[s][ci]) num += v;
          for (const v of a[s][ci]) den += v;
        }
        return den ? num / den : NaN;
      })));
    },
    items: (vals: number[][]) => shared(clusteredMean(vals.map((v) => v.map((x) => [x])))),
    kl: (docs: DocKl[][]) => shared((dd) => mean(dd.map((draw, s) => {
      let sum = 0;
      let n = 0;
      for (const j of draw) {
        sum += docs[s][j].sum;
        n += docs[s][j].n;
      }
      return sum / n;
    }))),
  };
  const points: ConditionalPoint[] = [];
  const unsteeredFact = mean(unsteeredSide.fact);
  type Stat = (d: readonly Int32Array[]) => number;
  const isSteered = (m: string) => (STEERED as readonly string[]).includes(m) && steered.includes(m as Steered);
  /** The statistic of m at setting s; at the chosen setting of a steered method the strength is re-chosen on the drawn
   *  validation prompts (d[1], the second stratum), so the choice's own uncertainty is in the interval. */
  const statAt = (m: string, s: number | typeof CHOSEN, build: (st: number | typeof CHOSEN) => Stat): Stat => {
    if (!(isSteered(m) && s === CHOSEN)) return build(s);
    const per = grid.get(m)!.map((st) => build(st));
    return (d) => per[chooseIdx(m, d[1])](d);
  };
  const withChoice = ` and the ${nValP} validation prompts as a second stratum, the strength re-chosen in every replicate`;
  const emit = (m: string, s: number | typeof CHOSEN, setting: string) => {
    const row = (metric: string, ci: { estimate: number; lo: number; hi: number }, interval: string) =>
      rows.push({ suite: 'conditional', task: 'conditional', concept: 'code:regex', method: m, setting, metric, mean: ci.estimate, ci_low: ci.lo, ci_high: ci.hi, n_seeds: seeds.length, interval });
    const aware = isSteered(m) && s === CHOSEN;
    const over = (n: number, build: (st: number | typeof CHOSEN) => Stat) => clusterBootstrap(aware ? [n, nValP] : [n], statAt(m, s, build), boot);
    const also = aware ? withChoice : '';
    const pt: Record<string, number> = {};
    for (const metric of ['regex_rate', 'valid_rate', 'clean_valid', 'samples_per_output'] as const) {
      const ci = over(promptIds.length, (st) => stat.code(testOuts(m, st), OUT_METRIC[metric]));
      row(metric, ci, codeInterval + also);
      pt[metric] = ci.estimate;
    }
    row('forward_passes_per_accepted', over(promptIds.length, (st) => stat.passesPerAccepted(testOuts(m, st))), `${codeInterval}${also}; forward passes spent (all samples) per output with no regex that the grammar accepts`);
    const touches = (STEERED as readonly string[]).includes(m);
    const extra = touches || m === 'unsteered' ? '' : noTouch;
    const fact = over(factSet.length, (st) => stat.items(sides(m, st).map((x) => x.fact)));
    row('fact_recall', fact, factInterval + also + extra);
    const u = stat.items(seeds.map(() => unsteeredSide.fact));
    const drop = over(factSet.length, (st) => {
      const f = stat.items(sides(m, st).map((x) => x.fact));
      return (dd) => u(dd) - f(dd);
    });
    row('fact_recall_drop', drop, `${factInterval}${also} (paired: unsteered minus this method on the same drawn prompts)${extra}`);
    const story = over(storySet.length, (st) => stat.items(sides(m, st).map((x) => x.story)));
    row('story_tone', story, storyInterval + also + extra);
    const kl = over(neutral.length, (st) => stat.kl(sides(m, st).map((x) => x.kl)));
    row('off_target_kl', kl, touches ? klInterval + also : `0 by construction: no intervention on neutral text${m === 'unsteered' ? '' : noTouch}`);
    if (aware) {
      const g = grid.get(m)!;
      const sc = clusterBootstrap([nValP], (d) => g[chooseIdx(m, d[0])], boot);
      rows.push({ suite: 'conditional', task: 'conditional', concept: 'code:regex', method: m, setting, metric: 'strength', mean: sc.estimate, ci_low: sc.lo, ci_high: sc.hi, n_seeds: seeds.length, interval: `the strength chosen on validation (pooled over seeds); interval: 2.5-97.5 percentiles of the strength re-chosen on bootstrap resamples of the ${nValP} validation prompts` });
    }
    points.push({
      method: m, setting, strength: typeof s === 'number' ? s : NaN, chosen: s === CHOSEN || !touches, regex_rate: pt.regex_rate, valid_rate: pt.valid_rate, clean_valid: pt.clean_valid,
      fact_recall: fact.estimate, fact_recall_drop: unsteeredFact - fact.estimate, story_tone: story.estimate, off_target_kl: kl.estimate, samples_per_output: pt.samples_per_output,
    });
  };
  emit('unsteered', CHOSEN, 'none');
  emit('prompt', CHOSEN, 'none');
  emit('rejection', CHOSEN, `cap=${c.rejectionCap}`);
  for (const m of steered) {
    for (const s of grid.get(m)!) emit(m, s, settingOf(s));
    emit(m, CHOSEN, CHOSEN);
  }
  rows.push({
    suite: 'conditional', task: 'eval_match', concept: 'code:regex', method: 'unsteered', setting: 'organism eval prompt set (codePrompts, instruction none)', metric: 'regex_rate',
    mean: evalCi.estimate, ci_low: evalCi.lo, ci_high: evalCi.hi, n_seeds: 1, interval: `95% cluster bootstrap over the ${evalSet.length} eval prompts (${c.evalSamples} samples each)`,
  });

  // ---- triggers as classifiers ---------------------------------------------------------------------------------------
  say('conditional: trigger precision / recall on test tokens');
  const tstats = triggerStats(fits, testTokens, d, o.bootstrapIterations);
  for (const t of tstats.stats) {
    rows.push({
      suite: 'conditional', task: 'trigger', concept: 'code:regex', method: `trigger:${t.trigger}`, setting: 'threshold: max train F1', metric: t.metric, mean: t.estimate, ci_low: t.lo, ci_high: t.hi, n_seeds: seeds.length,
      interval: `95% cluster bootstrap over the ${tstats.nDocs} distinct test documents of ${seeds.length} seed(s), one draw shared${t.metric === 'recall_at_precision_0.999' ? ` (${Math.min(o.bootstrapIterations, 500)} resamples)` : ''}`,
    });
  }

  // Where the triggers fire off target: share of positions of the neutral documents and of the fact prompts.
  const hookActs = async (seqs: number[][]) => {
    const r = await model.runWithCache(seqs, { names: [o.hook], logits: 'none' });
    const x = r.cache[o.hook].data as Float32Array;
    const m = r.mask.data as Uint8Array;
    const keep: number[] = [];
    for (let t = 0; t < m.length; t++) if (m[t]) keep.push(t);
    const out = new Float32Array(keep.length * d);
    keep.forEach((t, i) => out.set(x.subarray(t * d, (t + 1) * d), i * d));
    return { x: out, n: keep.length };
  };
  const neutralActs = await hookActs(neutral);
  const factActs = await hookActs(factSet.map((p) => model.tokenizer.encode(p.text)));
  const fireShare = (a: { x: Float32Array; n: number }, f: TriggerFit) => {
    const sc = linearScores(a.x, a.n, d, f.w, f.c);
    let k = 0;
    for (let i = 0; i < a.n; i++) if (sc[i] > f.threshold) k++;
    return k / a.n;
  };
  for (const t of TRIGGERS) {
    const fs_ = fits.filter((f) => f.name === t);
    if (fs_.length) notes.push(`trigger ${t} fires on ${(100 * mean(fs_.map((f) => fireShare(neutralActs, f)))).toFixed(2)}% of neutral-document positions and ${(100 * mean(fs_.map((f) => fireShare(factActs, f)))).toFixed(2)}% of fact-prompt positions (mean over seeds)`);
  }
  for (const x of tstats.diffs) notes.push(`trigger sae minus ${x.baseline}, ${x.metric} on test tokens: ${x.diff.toFixed(3)} [${x.ci_low.toFixed(3)}, ${x.ci_high.toFixed(3)}] (paired over documents)`);

  // ---- paired comparisons against the best non-SAE method chosen on validation --------------------------------------
  const valScore = (m: string) => (m === 'prompt' || m === 'rejection' ? mean(seeds.map((st) => mean(st.base.val[m].map(clean)))) : chosen.find((x) => x.method === m)!.val_clean_valid);
  const candidates = ['prompt', 'rejection', ...steered.filter((m) => !isSae(m))];
  const bestNonSae = candidates.reduce((a, b) => (valScore(b) > valScore(a) ? b : a));
  notes.push(`best non-SAE method by validation clean_valid: ${bestNonSae} (${candidates.map((m) => `${m} ${valScore(m).toFixed(3)}`).join(', ')})`);
  const comparisons: ConditionalComparison[] = [];
  const compare = (m: string, b: string, rule: string) => {
    const also = isSteered(m) || isSteered(b) ? `; strengths re-chosen on the same drawn validation prompts` : '';
    for (const metric of ['clean_valid', 'regex_rate'] as const) {
      const x = statAt(m, CHOSEN, (st) => stat.code(testOuts(m, st), OUT_METRIC[metric]));
      const y = statAt(b, CHOSEN, (st) => stat.code(testOuts(b, st), OUT_METRIC[metric]));
      const ci = clusterBootstrap([promptIds.length, nValP], (dd) => x(dd) - y(dd), boot);
      comparisons.push({ method: m, baseline: b, baseline_rule: rule, metric, diff: ci.estimate, ci_low: ci.lo, ci_high: ci.hi, p: ci.p, interval: `${codeInterval} (paired${also})` });
    }
    const fx = statAt(m, CHOSEN, (st) => stat.items(sides(m, st).map((s) => s.fact)));
    const fy = statAt(b, CHOSEN, (st) => stat.items(sides(b, st).map((s) => s.fact)));
    const ci = clusterBootstrap([factSet.length, nValP], (dd) => fx(dd) - fy(dd), boot);
    comparisons.push({ method: m, baseline: b, baseline_rule: rule, metric: 'fact_recall', diff: ci.estimate, ci_low: ci.lo, ci_high: ci.hi, p: ci.p, interval: `${factInterval} (paired${also})` });
  };
  for (const m of CONDITIONAL_METHODS) if (m !== bestNonSae && (m === 'unsteered' || m === 'prompt' || m === 'rejection' || steered.includes(m as Steered))) compare(m, bestNonSae, 'best non-SAE method by validation clean_valid');
  if (steered.includes('cond-sae')) compare('cond-sae', 'cond-diffmean', 'the same conditioning with a probe trigger and the DiffMean direction (SAE encoder vs probe)');

  // ---- Pareto front of the chosen points and the verdict ------------------------------------------------------------
  const chosenPts = points.filter((p) => p.chosen);
  const objectives = (p: ConditionalPoint) => [p.regex_rate, 1 - p.valid_rate, Math.max(0, p.fact_recall_drop), p.off_target_kl, Math.max(0, (points.find((q) => q.method === 'unsteered')!.story_tone) - p.story_tone)];
  const dominated = (p: ConditionalPoint) => chosenPts.some((q) => q !== p && objectives(q).every((v, i) => v <= objectives(p)[i] + 1e-12) && objectives(q).some((v, i) => v < objectives(p)[i] - 1e-12));
  const front = chosenPts.filter((p) => !dominated(p) && p.method !== 'unsteered').map((p) => p.method);
  const winner = chosenPts.filter((p) => front.includes(p.method)).reduce<ConditionalPoint | null>((a, b) => (!a || b.clean_valid > a.clean_valid ? b : a), null);
  const cmp = comparisons.find((x) => x.method === 'cond-sae' && x.baseline === bestNonSae && x.metric === 'clean_valid');
  const earns = !steered.includes('cond-sae') ? 'no SAE: not measured'
    : bestNonSae === 'cond-sae' ? 'n/a'
    : cmp!.ci_low > 0 ? `yes: cond-sae beats ${bestNonSae} on clean_valid by ${cmp!.diff.toFixed(3)} [${cmp!.ci_low.toFixed(3)}, ${cmp!.ci_high.toFixed(3)}]`
    : cmp!.ci_high < 0 ? `no: cond-sae loses to ${bestNonSae} on clean_valid by ${(-cmp!.diff).toFixed(3)} [${(-cmp!.ci_high).toFixed(3)}, ${(-cmp!.ci_low).toFixed(3)}]`
    : `undecided: cond-sae minus ${bestNonSae} on clean_valid ${cmp!.diff.toFixed(3)} [${cmp!.ci_low.toFixed(3)}, ${cmp!.ci_high.toFixed(3)}]`;
  const fmt = (p: ConditionalPoint) => `${p.method} (regex ${p.regex_rate.toFixed(3)}, valid ${p.valid_rate.toFixed(3)}, fact drop ${p.fact_recall_drop.toFixed(3)}, KL ${p.off_target_kl.toExponential(2)})`;
  notes.push(
    `Pareto front of the chosen points (regex rate, invalid rate, fact-recall drop, KL, story-tone drop; test): ${chosenPts.filter((p) => front.includes(p.method)).map(fmt).join('; ') || 'empty'}; among them the highest clean_valid: ${winner ? fmt(winner) : 'none'}`,
    `does the SAE earn its keep (cond-sae vs the best non-SAE method chosen on validation)? ${earns}`,
    `eval match: unsteered regex rate on the organism eval's prompt set (codePrompts instruction none, ${evalSet.length} prompts x ${c.evalSamples}, this suite's token limit ${c.maxTokens}) = ${evalCi.estimate.toFixed(3)} [${evalCi.lo.toFixed(3)}, ${evalCi.hi.toFixed(3)}]` +
      (reference === null ? '' : `; ${referenceSource} = ${reference.toFixed(3)} (${reference >= evalCi.lo && reference <= evalCi.hi ? 'inside' : 'OUTSIDE'} the interval)`),
    `rejection sampling: cap ${c.rejectionCap} samples; on test ${(rejSamples / rejOutputs).toFixed(2)} samples per output, ${(100 * rejCapped / rejOutputs).toFixed(1)}% of outputs hit the cap and keep their regex`,
    'triggers: thresholds maximise F1 of (score > threshold) on train code:regex tokens; the SAE trigger is the chosen latent\'s pre-activation (a TopK SAE has no threshold of its own)',
    'every test point is run with every side effect: fact recall (greedy, 12 tokens, factAnswer), story tone (sampled, 100 tokens), KL on neutral fact documents; the conditional methods are exactly the unsteered model where their trigger is silent',
  );
  for (const l of latents) if (l.pre_passes_not_in_topk !== null && l.pre_passes_not_in_topk > 0) notes.push(`seed ${l.seed}: on ${(100 * l.pre_passes_not_in_topk).toFixed(1)}% of the train tokens where latent ${l.latent}'s pre-activation passes its threshold the latent is not among the token's top k; the clamp removes relu(pre) there too`);
  const hp = (t: string) => tstats.stats.find((x) => x.trigger === t && x.metric === 'recall_at_precision_0.999');
  if (hp('sae') && hp('probe')) {
    const s = hp('sae')!;
    const p = hp('probe')!;
    notes.push(`recall at 99.9% precision on test tokens: SAE latent ${s.estimate.toFixed(3)} [${s.lo.toFixed(3)}, ${s.hi.toFixed(3)}], probe ${p.estimate.toFixed(3)} [${p.lo.toFixed(3)}, ${p.hi.toFixed(3)}]${hp('diffmean') ? `, DiffMean ${hp('diffmean')!.estimate.toFixed(3)} [${hp('diffmean')!.lo.toFixed(3)}, ${hp('diffmean')!.hi.toFixed(3)}]` : ''} (the Sieve claims the SAE keeps it far longer than a probe)`);
  }

  const examples: ConditionalSection['examples'] = [];
  for (const m of ['unsteered', 'prompt', 'rejection', ...steered]) {
    const outs = testOuts(m, CHOSEN)[0];
    const st = seeds[0];
    for (const x of outs.slice(0, 2)) examples.push({ method: m, setting: (STEERED as readonly string[]).includes(m) ? `${CHOSEN} (strength ${chosenOf.get(st.arms.find((a) => a.method === m)!)})` : 'none', prompt: m === 'prompt' ? st.test[x.prompt].prompted : st.test[x.prompt].text, output: x.text, regex: x.regex, valid: x.valid });
  }
  notes.push(`outputs per point: validation ${c.valPrompts} prompts x ${c.valSamples}, test ${c.testPrompts} prompts x ${c.testSamples} per seed; seeds vary the document split (fits, thresholds), the samples and the SAE; the prompts are split once (the same validation and test prompts in every seed); one strength per method, chosen on validation pooled over seeds`);

  return {
    rows,
    section: {
      settings: { ...c, unit_norm: N }, methods: ['unsteered', 'prompt', 'rejection', ...steered], grid: grids, chosen, points, val_points: valPoints, latents,
      triggers: {
        fits: fits.map((f) => ({ trigger: f.name, seed: f.seed, threshold: f.threshold, train_f1: f.train.f1, train_precision: f.train.precision, train_recall: f.train.recall, fires_on_neutral: fireShare(neutralActs, f), fires_on_facts: fireShare(factActs, f) })),
        stats: tstats.stats, diffs: tstats.diffs, curves: tstats.curves, n_docs: tstats.nDocs,
      },
      rejection: { cap: c.rejectionCap, mean_samples: rejSamples / rejOutputs, capped_share: rejCapped / rejOutputs },
      eval_match: { prompts: evalSet.length, samples: c.evalSamples, regex_rate: evalCi.estimate, ci_low: evalCi.lo, ci_high: evalCi.hi, reference, reference_source: referenceSource },
      comparisons, pareto: { front, winner: winner?.method ?? null, sae_earns_keep: earns }, examples, notes: [...new Set(notes)],
    },
  };
}

export { TRIGGERS };
