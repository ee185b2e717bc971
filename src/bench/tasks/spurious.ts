// `probity bench --suite spurious` (issue 13): removing a spurious correlation. A tone classifier (logistic probe on
// activations mean-pooled over a story's tokens at the bench hook) is trained on an AMBIGUOUS split where the story's
// weather class agrees with its tone in every story; it is scored on a balanced test split (all four tone x weather
// groups, equal counts) and on a reversed split. Methods get the same affordances (the ambiguous train + validation
// stories, and the organism's per-token entity:weather labels on those stories):
//   original                 the probe, no correction
//   shift@<hook>[+retrain]   ablate SAE latents chosen automatically (below), applying the original head, or
//                            retraining the head on the ablated train activations
//   projection               remove the DiffMean weather direction (weather-token activations, class 1 - class 0)
//                            from every activation, retrain the head
//   delete-weather-words     retrain on the train stories with every entity:weather token deleted
//   delete-weather-sentence  retrain on the train stories with every sentence holding such a token deleted
//   oracle                   the probe trained on balanced stories (an upper bound; the only method that sees them)
// SHIFT-style latent choice (no human): at the probe's hook, the `candidates` latents with the largest attribution to
// the probe's logit on the ambiguous train stories (activation x (w . decoder row), signed toward the label), kept when
// their token-level AUROC for entity:weather on the train tokens is > 0.5, ordered by that AUROC. At an early hook the
// logit is not linear in the latents, so the order is reversed: the `candidates` latents with the highest weather AUROC,
// kept when ablating each alone lowers the original probe's margin on train stories (measured by forward runs), in AUROC
// order. How many (k) to ablate is chosen on the ambiguous validation stories only (core.ts chooseK: lowest weather
// reliance among the k that keep validation accuracy within `tolerance`). Ablation: x' = x - sum_i a_i(x) d_i at every
// story token (the SAE error term stays). Intervals: one cluster bootstrap over test stories within (seed, group),
// shared by every row and comparison.
import fs from 'node:fs';
import path from 'node:path';
import type { Model } from '../../models/model.js';
import type { Sae } from '../../dictionaries/sae.js';
import { loadSaeLens, shippedSaes } from '../../dictionaries/saelens.js';
import { ProbityError, show } from '../../errors.js';
import { displayPath } from '../../util/paths.js';
import { B as BITS } from '../../organism/concepts.js';
import type { Tone, Weather } from '../../organism/vocab.js';
import { clusterBootstrap } from '../../stats/index.js';
import { latentStats } from '../methods/sae-latent.js';
import type { ResultRow } from '../results.js';
import { checkPair, deleteWeather, groupName, makeSplits, makeStory, type PairSpec, type SeedSplits, type Story, type StoryCut } from './spurious/data.js';
import {
  chooseK, fitHead, logits, metricsOf, outcomes, predict, projectOut, weatherDirection, weatherReliance,
  type Head, type KCandidate, type Outcomes, type Pooled,
} from './spurious/core.js';
import { ablatePooled, collect, decoderRows, encodeRows, pooledLatents, tokenAuroc, topContexts, type Ablation, type Code, type Collected } from './spurious/forward.js';
import type { SuiteRunOptions } from './suite-options.js';

export { ablatePooled, collect, decoderRows, encodeRows, pooledLatents, type Ablation, type Code, type Collected } from './spurious/forward.js';

/** Every size of the suite; `SPURIOUS_PRESETS.default` runs in `probity bench`, `.quick` in `--quick`. */
export interface SpuriousConfig {
  tones: [Tone, Tone];
  /** weathers[i]: the weather class that agrees with tones[i] on the ambiguous split. */
  weathers: [Weather[], Weather[]];
  /** Stories per agreeing group in the ambiguous train split (the oracle's balanced train has the same total). */
  train: number;
  /** Stories per agreeing group in the ambiguous validation split. */
  val: number;
  /** Stories per group in the balanced test split (and per reversed group in the reversed split). */
  test: number;
  /** Hook of the early SHIFT variant (its SAEs: shipped next to the model with that hookName), or null for none. */
  earlyHook: string | null;
  /** Latents considered by the SHIFT-style selection. */
  candidates: number;
  /** Numbers of latents to ablate tried on validation (k = 0 and k = every ranked candidate are always tried too). */
  kGrid: number[];
  /** Validation tone accuracy a k may lose against k = 0 and still be chosen. */
  tolerance: number;
  /** Train stories whose margins measure the early-hook attribution (single-latent ablation forwards). */
  attributionStories: number;
  /** Optimiser steps of every probe head. */
  probeSteps: number;
  /** L2 penalty of every probe head (on standardised weights, as fitLogistic). */
  l2: number;
  /** What the classifier reads: 'full' stories, or each story's opening cut after its n-th tone sentence. */
  cut: StoryCut;
  /** Top-activating train tokens shown per chosen latent. */
  topContexts: number;
  batchRows: number;
}

const BASE: SpuriousConfig = {
  tones: ['happy', 'sad'], weathers: [['sunny'], ['rainy', 'cloudy']], train: 100, val: 50, test: 120, earlyHook: 'blocks.0.hook_resid_post',
  candidates: 64, kGrid: [1, 2, 4, 8, 16, 32, 64], tolerance: 0.02, attributionStories: 64, probeSteps: 300, l2: 1e-3,
  // Whole stories carry tone in 4-5 sentences and weather in one: the probe then reads tone perfectly and the bias is
  // not there to remove (seen while building the suite at quick sizes; not in a results file, see the notes). Cut after the first tone sentence,
  // tone and weather are one sentence each and the probe leans on weather.
  cut: 1, topContexts: 3, batchRows: 32,
};
export const SPURIOUS_PRESETS: Record<'default' | 'quick', SpuriousConfig> = {
  default: BASE,
  quick: { ...BASE, train: 40, val: 20, test: 24, candidates: 32, kGrid: [1, 4, 16, 32], attributionStories: 24, probeSteps: 200 },
};

export const SPURIOUS_METRICS = ['tone_acc', 'weather_acc', 'worst_group_acc', 'reversed_acc', 'scr'] as const;
export type SpuriousMetric = (typeof SPURIOUS_METRICS)[number];

export interface ChosenLatent {
  latent: number;
  /** Signed attribution to the original probe's margin on train stories (see the file comment for each hook). */
  attribution: number;
  /** Token-level AUROC for entity:weather on the ambiguous train tokens (what selection used). */
  auroc_train: number;
  /** The same on the balanced test stories' tokens (held out). */
  auroc_test: number;
  /** Top-activating train tokens: text around the token, the token in [[ ]], and whether it is an entity:weather token. */
  contexts: { story: string; activation: number; text: string; weather_token: boolean }[];
}

export interface ShiftChoice {
  method: string;
  seed: number;
  hook: string;
  sae: string;
  /** The ordered candidate list after filtering (what k takes a prefix of). */
  ranked: { latent: number; attribution: number; auroc_train: number }[];
  grid: KCandidate[];
  k: number;
  chosen: ChosenLatent[];
}

export interface MethodInfo {
  name: string;
  /** What the method sees beyond the ambiguous train stories' tone labels. */
  affordances: string;
  upper_bound?: boolean;
}

export interface SpuriousSection {
  notes: string[];
  config: SpuriousConfig;
  /** The probe's hook (the bench hook). */
  hook: string;
  seeds: number[];
  groups: string[];
  /** Stories per group in each seed's splits (train, val, oracle, balanced test, reversed test). */
  group_counts: { split: string; counts: number[] }[];
  methods: MethodInfo[];
  /** Per method and metric: the value of each seed (seed order). */
  per_seed: { method: string; metric: string; values: number[] }[];
  /** Balanced-test accuracy per group, mean over seeds with its interval. */
  group_acc: { method: string; group: string; mean: number; ci_low: number; ci_high: number }[];
  comparisons: { method: string; baseline: string; metric: string; diff: number; ci_low: number; ci_high: number; p: number; interval: string }[];
  shift: ShiftChoice[];
  deleted: { kind: string; tokens_per_story: number; what: string }[];
  interval: string;
  seconds: number;
}

export type SpuriousOptions = SuiteRunOptions<SpuriousConfig>;

export function checkSpuriousConfig(c: SpuriousConfig): void {
  checkPair(c as PairSpec, 'spurious');
  const posInt = (k: keyof SpuriousConfig, min = 1) => {
    const v = c[k];
    if (!(Number.isInteger(v) && (v as number) >= min)) throw new ProbityError('BENCH_INPUT', `spurious.${k} must be an integer >= ${min}, got ${show(v)}`);
  };
  (['train', 'val', 'test', 'candidates', 'attributionStories', 'probeSteps', 'batchRows'] as const).forEach((k) => posInt(k, k === 'train' ? 2 : 1));
  posInt('topContexts', 0);
  if (!(c.l2 >= 0 && Number.isFinite(c.l2))) throw new ProbityError('BENCH_INPUT', `spurious.l2 must be a finite number >= 0, got ${show(c.l2)}`);
  if (!(c.cut === 'full' || (Number.isInteger(c.cut) && (c.cut as number) >= 1))) throw new ProbityError('BENCH_INPUT', `spurious.cut must be 'full' or an integer >= 1 (tone sentences kept), got ${show(c.cut)}`);
  if (!Array.isArray(c.kGrid) || c.kGrid.length === 0 || c.kGrid.some((k) => !(Number.isInteger(k) && k >= 1))) throw new ProbityError('BENCH_INPUT', `spurious.kGrid must be integers >= 1, got ${show(c.kGrid)}`);
  if (!(c.tolerance >= 0 && c.tolerance < 1)) throw new ProbityError('BENCH_INPUT', `spurious.tolerance must be in [0, 1), got ${show(c.tolerance)}`);
  if (c.earlyHook !== null && typeof c.earlyHook !== 'string') throw new ProbityError('BENCH_INPUT', `spurious.earlyHook must be a hook name or null, got ${show(c.earlyHook)}`);
}

// ---------------------------------------------------------------------------------------------------------------
// One seed

interface SeedResult {
  outcomes: Map<string, { bal: Outcomes; rev: Outcomes }>;
  shift: ShiftChoice[];
  deletedTokens: Record<string, number>;
}

const sgn = (t: number) => (t ? 1 : -1);

/** The k tried on validation: 0, the grid's values below the number of ranked candidates, and all of them. */
export function kValues(grid: readonly number[], ranked: number): number[] {
  return [...new Set([0, ...grid.filter((k) => k < ranked), ranked])].sort((a, b) => a - b);
}

async function runSeed(o: SpuriousOptions, sp: SeedSplits, si: number, earlySaes: readonly Sae[]): Promise<SeedResult> {
  const c = o.config;
  const say = o.onProgress ?? (() => {});
  const br = c.batchRows;
  const seed = sp.seed;
  const early = c.earlyHook && earlySaes.length ? c.earlyHook : null;
  const opts = { steps: c.probeSteps, l2: c.l2 };
  const delWords = sp.train.map((s) => deleteWeather(s, 'words'));
  const delSent = sp.train.map((s) => deleteWeather(s, 'sentence'));
  const valDelStories = sp.val.map((s) => deleteWeather(s, 'sentence').story);
  say(`spurious seed ${seed}: forward passes`);
  const tr = await collect(o.model, o.hook, sp.train, { keep: true, early, batchRows: br });
  const va = await collect(o.model, o.hook, sp.val, { keep: true, early, batchRows: br });
  const vd = await collect(o.model, o.hook, valDelStories, { keep: true, early, batchRows: br });
  const tb = await collect(o.model, o.hook, sp.testBalanced, { keep: true, early, batchRows: br });
  const trv = await collect(o.model, o.hook, sp.testReversed, { keep: true, early, batchRows: br });
  const orc = await collect(o.model, o.hook, sp.oracleTrain, { batchRows: br });
  const dw = await collect(o.model, o.hook, delWords.map((d) => d.story), { batchRows: br });
  const ds = await collect(o.model, o.hook, delSent.map((d) => d.story), { batchRows: br });

  const out = new Map<string, { bal: Outcomes; rev: Outcomes }>();
  const score = (h: Head, bal: Pooled, rev: Pooled) => {
    const ob = outcomes(predict(logits(bal.x, bal.n, bal.d, h)), bal.tone, bal.weather);
    const orv = outcomes(predict(logits(rev.x, rev.n, rev.d, h)), rev.tone, rev.weather);
    return { bal: ob, rev: orv };
  };
  const orig = await fitHead(tr.pooled, seed, opts);
  out.set('original', score(orig, tb.pooled, trv.pooled));
  out.set('oracle', score(await fitHead(orc.pooled, seed, opts), tb.pooled, trv.pooled));
  const u = weatherDirection(tr.pooled);
  const proj = (p: Pooled): Pooled => ({ ...p, x: projectOut(p.x, p.n, p.d, u) });
  out.set('projection', score(await fitHead(proj(tr.pooled), seed, opts), proj(tb.pooled), proj(trv.pooled)));
  out.set('delete-weather-words', score(await fitHead(dw.pooled, seed, opts), tb.pooled, trv.pooled));
  out.set('delete-weather-sentence', score(await fitHead(ds.pooled, seed, opts), tb.pooled, trv.pooled));
  const shift: ShiftChoice[] = [];
  const weatherY = (labels: Uint32Array) => Uint8Array.from(labels, (l) => ((l & BITS['entity:weather']) !== 0 ? 1 : 0));

  // Validation of one classifier variant: tone accuracy on ambiguous val and weather reliance against val-deleted.
  const valCand = (k: number, h: Head, val: Pooled, valDel: Pooled): KCandidate => {
    const z = logits(val.x, val.n, val.d, h);
    const zd = logits(valDel.x, valDel.n, valDel.d, h);
    const pred = predict(z);
    let right = 0;
    pred.forEach((p, i) => (right += p === val.tone[i] ? 1 : 0));
    return { k, val_acc: right / val.n, reliance: weatherReliance(z, zd, val.tone) };
  };
  const chosenInfo = async (sae: Sae, code: Code, testCode: Code, latents: number[], ranked: ShiftChoice['ranked']): Promise<ChosenLatent[]> =>
    latents.map((l) => {
      const r = ranked.find((x) => x.latent === l)!;
      return { latent: l, attribution: r.attribution, auroc_train: r.auroc_train, auroc_test: tokenAuroc(testCode, tb.rows, tb.labels, l), contexts: topContexts(code, sp.train, tr.offsets, l, c.topContexts) };
    });

  // SHIFT-style at the probe's hook: linear in the pooled latents.
  const sae = o.saeOf(seed);
  if (sae) {
    say(`spurious seed ${seed}: SHIFT-style at ${o.hook}`);
    const dec = decoderRows(sae);
    const D = o.model.spec.dModel;
    const codes = { tr: await encodeRows(sae, tr.tokens!, tr.rows), va: await encodeRows(sae, va.tokens!, va.rows), vd: await encodeRows(sae, vd.tokens!, vd.rows), tb: await encodeRows(sae, tb.tokens!, tb.rows), trv: await encodeRows(sae, trv.tokens!, trv.rows) };
    const S = sae.dSae;
    const all = Array.from({ length: S }, (_, i) => i);
    const platTr = pooledLatents(codes.tr, tr.offsets, all);
    const wd = new Float64Array(S);
    for (let i = 0; i < S; i++) for (let q = 0; q < D; q++) wd[i] += dec[i * D + q] * orig.w[q];
    const attr = new Float64Array(S);
    for (let j = 0; j < tr.pooled.n; j++) for (let i = 0; i < S; i++) attr[i] += (sgn(tr.pooled.tone[j]) * platTr[j * S + i] * wd[i]) / tr.pooled.n;
    const stats = await latentStats(sae, { x: tr.tokens!, n: tr.rows, d: D, labels: weatherY(tr.labels) });
    const top = all.filter((i) => attr[i] > 0).sort((a, b) => attr[b] - attr[a]).slice(0, c.candidates);
    const ranked = top.filter((i) => stats.auroc[i] > 0.5).sort((a, b) => stats.auroc[b] - stats.auroc[a]).map((i) => ({ latent: i, attribution: attr[i], auroc_train: stats.auroc[i] }));
    const cand = ranked.map((r) => r.latent);
    const sub = (p: Pooled, code: Code, off: Int32Array) => ({ p, plat: pooledLatents(code, off, cand) });
    const sets = { tr: sub(tr.pooled, codes.tr, tr.offsets), va: sub(va.pooled, codes.va, va.offsets), vd: sub(vd.pooled, codes.vd, vd.offsets), tb: sub(tb.pooled, codes.tb, tb.offsets), trv: sub(trv.pooled, codes.trv, trv.offsets) };
    const abl = (s: { p: Pooled; plat: Float64Array }, k: number) => ablatePooled(s.p, s.plat, cand.slice(0, k), cand, dec);
    const ks = kValues(c.kGrid, cand.length);
    for (const retrain of [false, true]) {
      const heads = new Map<number, Head>();
      const grid: KCandidate[] = [];
      for (const k of ks) {
        const h = retrain && k > 0 ? await fitHead(abl(sets.tr, k), seed, opts) : orig;
        heads.set(k, h);
        grid.push(valCand(k, h, abl(sets.va, k), abl(sets.vd, k)));
      }
      const best = chooseK(grid, c.tolerance);
      const name = `shift@${o.hook}${retrain ? '+retrain' : ''}`;
      out.set(name, score(heads.get(best.k)!, abl(sets.tb, best.k), abl(sets.trv, best.k)));
      shift.push({ method: name, seed, hook: o.hook, sae: sae.source ? displayPath(sae.source) : 'in-memory SAE', ranked, grid, k: best.k, chosen: await chosenInfo(sae, codes.tr, codes.tb, cand.slice(0, best.k), ranked) });
    }
  }

  // SHIFT-style at the early hook: ablation inside the model, measured by forward runs.
  if (early) {
    const sae0 = earlySaes[si % earlySaes.length];
    say(`spurious seed ${seed}: SHIFT-style at ${early}`);
    const D = o.model.spec.dModel;
    const dec = decoderRows(sae0);
    const codes = { tr: await encodeRows(sae0, tr.early!, tr.rows), va: await encodeRows(sae0, va.early!, va.rows), vd: await encodeRows(sae0, vd.early!, vd.rows), tb: await encodeRows(sae0, tb.early!, tb.rows), trv: await encodeRows(sae0, trv.early!, trv.rows) };
    const stats = await latentStats(sae0, { x: tr.early!, n: tr.rows, d: D, labels: weatherY(tr.labels) });
    const byAuroc = Array.from({ length: sae0.dSae }, (_, i) => i).filter((i) => stats.auroc[i] > 0.5).sort((a, b) => stats.auroc[b] - stats.auroc[a]).slice(0, c.candidates);
    const mk = (code: Code, starts: Int32Array, latents: number[]): Ablation => ({ hook: early, dec, D, k: code.k, indices: code.indices, values: code.values, rowStart: starts, latents: new Set(latents) });
    // Attribution: the original probe's signed margin lost when one latent is ablated, on a tone-balanced subset of train.
    const step = Math.max(1, Math.floor(sp.train.length / c.attributionStories));
    const subIdx = Array.from({ length: Math.min(c.attributionStories, sp.train.length) }, (_, i) => (i * step) % sp.train.length);
    const subStories = subIdx.map((i) => sp.train[i]);
    const subStarts = Int32Array.from(subIdx, (i) => tr.offsets[i]);
    const z0 = logits(tr.pooled.x, tr.pooled.n, tr.pooled.d, orig);
    const ranked: ShiftChoice['ranked'] = [];
    for (const l of byAuroc) {
      const r = await collect(o.model, o.hook, subStories, { ablate: mk(codes.tr, subStarts, [l]), batchRows: br });
      const z = logits(r.pooled.x, r.pooled.n, r.pooled.d, orig);
      let a = 0;
      subIdx.forEach((ti, j) => (a += (sgn(sp.train[ti].tone) * (z0[ti] - z[j])) / subIdx.length));
      if (a > 0) ranked.push({ latent: l, attribution: a, auroc_train: stats.auroc[l] });
    }
    const cand = ranked.map((r) => r.latent);
    const ks = kValues(c.kGrid, cand.length);
    const run = async (stories: readonly Story[], col: Collected, code: Code, k: number) =>
      k === 0 ? col.pooled : (await collect(o.model, o.hook, stories, { ablate: mk(code, col.offsets, cand.slice(0, k)), batchRows: br })).pooled;
    const ablated = new Map<number, { tr: Pooled; va: Pooled; vd: Pooled }>();
    for (const k of ks) ablated.set(k, { tr: await run(sp.train, tr, codes.tr, k), va: await run(sp.val, va, codes.va, k), vd: await run(valDelStories, vd, codes.vd, k) });
    for (const retrain of [false, true]) {
      const heads = new Map<number, Head>();
      const grid: KCandidate[] = [];
      for (const k of ks) {
        const a = ablated.get(k)!;
        const h = retrain && k > 0 ? await fitHead(a.tr, seed, opts) : orig;
        heads.set(k, h);
        grid.push(valCand(k, h, a.va, a.vd));
      }
      const best = chooseK(grid, c.tolerance);
      const name = `shift@${early}${retrain ? '+retrain' : ''}`;
      out.set(name, score(heads.get(best.k)!, await run(sp.testBalanced, tb, codes.tb, best.k), await run(sp.testReversed, trv, codes.trv, best.k)));
      shift.push({ method: name, seed, hook: early, sae: sae0.source ? displayPath(sae0.source) : 'in-memory SAE', ranked, grid, k: best.k, chosen: await chosenInfo(sae0, codes.tr, codes.tb, cand.slice(0, best.k), ranked) });
    }
  }
  const mean = (xs: { deleted: number }[]) => xs.reduce((a, d) => a + d.deleted, 0) / xs.length;
  return { outcomes: out, shift, deletedTokens: { words: mean(delWords), sentence: mean(delSent) } };
}

// ---------------------------------------------------------------------------------------------------------------
// The suite

/**
 * SAEs at `hook` shipped next to the model, in `<model>/saes/` or `<model>/saes/early/` (the early-hook SAEs live in
 * that sub-folder so that `probity bench`, whose default hook is the first shipped SAE's, never picks them up), in
 * name order (seed i takes the i-th, cycling).
 */
export function shippedSaesAt(model: Model, hook: string): Sae[] {
  if (!model.source) return [];
  const root = path.resolve(model.source);
  const earlyDir = path.join(root, 'saes', 'early');
  const early = fs.existsSync(earlyDir) ? fs.readdirSync(earlyDir).sort().map((n) => path.join(earlyDir, n)).filter((d) => fs.existsSync(path.join(d, 'cfg.json'))) : [];
  const dirs = [...shippedSaes(root), ...early];
  const out: Sae[] = [];
  for (const d of dirs) {
    try {
      const s = loadSaeLens(d);
      if (s.cfg.hookName === hook && s.dIn === model.spec.dModel && s.dOut === s.dIn) out.push(s);
    } catch {
      /* a folder that is not an SAE of this model: not ours to judge here */
    }
  }
  return out;
}

const METHOD_INFO = (hook: string, early: string | null): MethodInfo[] => [
  { name: 'original', affordances: 'ambiguous train stories with tone labels' },
  { name: `shift@${hook}`, affordances: 'ambiguous train + validation stories; entity:weather token labels on them (latent AUROC; validation reliance against weather-sentence-deleted validation stories); the SAE at the hook; original head kept' },
  { name: `shift@${hook}+retrain`, affordances: `as shift@${hook}, head retrained on the ablated train activations` },
  ...(early
    ? [
        { name: `shift@${early}`, affordances: `as shift@${hook} with the SAE at ${early}, ablated inside the model; original head kept` },
        { name: `shift@${early}+retrain`, affordances: `as shift@${early}, head retrained on the ablated train activations` },
      ]
    : []),
  { name: 'projection', affordances: 'ambiguous train stories; entity:weather token labels (DiffMean of weather-token activations between weather classes); head retrained' },
  { name: 'delete-weather-words', affordances: 'ambiguous train stories; entity:weather token labels (those tokens deleted); head retrained' },
  { name: 'delete-weather-sentence', affordances: 'ambiguous train stories; entity:weather token labels (their sentences deleted); head retrained' },
  { name: 'oracle', affordances: 'BALANCED train stories (all four groups; same count): an upper bound, not a competitor', upper_bound: true },
];

export async function runSpurious(o: SpuriousOptions): Promise<{ rows: ResultRow[]; section: SpuriousSection }> {
  const t0 = Date.now();
  const c = o.config;
  checkSpuriousConfig(c);
  if (o.seeds.length === 0) throw new ProbityError('BENCH_INPUT', 'spurious: no seeds given');
  const say = o.onProgress ?? (() => {});
  const pair: PairSpec = { tones: c.tones, weathers: c.weathers };
  // The stories and their labels are the organism's (its generator and tokenizer): a model must read those token ids.
  const probe = makeStory(o.docsSeed, pair.tones[0], 0);
  let decoded: string | null = null;
  try {
    decoded = o.model.tokenizer.decode(Array.from(probe.tokens));
  } catch {
    decoded = null;
  }
  if (decoded?.trim() !== probe.text.trim()) {
    throw new ProbityError('BENCH_INPUT', `the spurious suite runs on organism stories and needs a model with the organism tokenizer; ${o.model.source ?? 'this model'} decodes a story's ids to ${show((decoded ?? '').slice(0, 60))}, not ${show(probe.text.slice(0, 60))}`);
  }
  const notes: string[] = [];
  const earlySaes = c.earlyHook ? shippedSaesAt(o.model, c.earlyHook) : [];
  const early = c.earlyHook && earlySaes.length ? c.earlyHook : null;
  if (c.earlyHook && !early) notes.push(`no SAE at ${c.earlyHook} ships with this model: the early-hook SHIFT variant was not run`);
  if (!o.saeOf(o.seeds[0])) notes.push(`no SAE at ${o.hook}: the SHIFT-style methods at the probe's hook were not run`);
  if (o.seeds.length < 3) notes.push(`only ${o.seeds.length} seed(s): the issue asks for >= 3`);
  say(`spurious: drawing stories (${pair.tones.join(' vs ')})`);
  const splits = makeSplits(o.docsSeed, pair, { train: c.train, val: c.val, test: c.test }, o.seeds, c.cut);
  const results: SeedResult[] = [];
  for (let si = 0; si < splits.length; si++) results.push(await runSeed(o, splits[si], si, earlySaes));

  const methods = METHOD_INFO(o.hook, early).filter((m) => results[0].outcomes.has(m.name));
  const groups = [0, 1, 2, 3].map((g) => groupName(pair, g));
  const count = (xs: Story[]) => [0, 1, 2, 3].map((g) => xs.filter((s) => s.tone * 2 + s.weather === g).length);
  const sp0 = splits[0];
  const group_counts = [
    { split: 'train (ambiguous)', counts: count(sp0.train) }, { split: 'validation (ambiguous)', counts: count(sp0.val) },
    { split: 'oracle train (balanced)', counts: count(sp0.oracleTrain) }, { split: 'test (balanced)', counts: count(sp0.testBalanced) },
    { split: 'test (reversed)', counts: count(sp0.testReversed) },
  ];

  // Strata: (seed, balanced group 0..3) then (seed, reversed group 1, 2); clusters: stories.
  const strata: { seed: number; bal: boolean; idx: number[] }[] = [];
  splits.forEach((sp, si) => {
    const r0 = results[si].outcomes.get('original')!;
    for (let g = 0; g < 4; g++) strata.push({ seed: si, bal: true, idx: [...r0.bal.group.keys()].filter((i) => r0.bal.group[i] === g) });
    for (const g of [1, 2]) strata.push({ seed: si, bal: false, idx: [...r0.rev.group.keys()].filter((i) => r0.rev.group[i] === g) });
  });
  const nS = splits.length;
  const sums = (m: string, draw: readonly Int32Array[], field: 'toneRight' | 'weatherRight', bal: boolean): { perGroup: number[][]; total: number[] } => {
    const perGroup = Array.from({ length: nS }, () => [] as number[]);
    const total = new Array(nS).fill(0);
    const cnt = new Array(nS).fill(0);
    strata.forEach((st, k) => {
      if (st.bal !== bal) return;
      const oc = results[st.seed].outcomes.get(m)!;
      const a = (bal ? oc.bal : oc.rev)[field];
      let s = 0;
      for (const i of draw[k]) s += a[st.idx[i]];
      perGroup[st.seed].push(s / draw[k].length);
      total[st.seed] += s;
      cnt[st.seed] += draw[k].length;
    });
    return { perGroup, total: total.map((t, i) => t / cnt[i]) };
  };
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const perSeedStat = (m: string, metric: Exclude<SpuriousMetric, 'scr'>, draw: readonly Int32Array[]): number[] => {
    if (metric === 'tone_acc') return sums(m, draw, 'toneRight', true).total;
    if (metric === 'weather_acc') return sums(m, draw, 'weatherRight', true).total;
    if (metric === 'reversed_acc') return sums(m, draw, 'toneRight', false).total;
    return sums(m, draw, 'toneRight', true).perGroup.map((g) => Math.min(...g));
  };
  const stat = (m: string, metric: SpuriousMetric, draw: readonly Int32Array[]): number => {
    if (metric !== 'scr') return avg(perSeedStat(m, metric, draw));
    const a = avg(perSeedStat(m, 'tone_acc', draw));
    const a0 = avg(perSeedStat('original', 'tone_acc', draw));
    const a1 = avg(perSeedStat('oracle', 'tone_acc', draw));
    return (a - a0) / (a1 - a0);
  };
  const sizes = strata.map((s) => s.idx.length);
  const B = o.bootstrapIterations;
  const boot = (f: (d: readonly Int32Array[]) => number) => clusterBootstrap(sizes, f, { iterations: B, seed: 13 });
  const interval = `cluster bootstrap over test stories (${c.test} per group per seed: balanced split 4 groups, reversed split 2), resampled within (seed, group), with ${nS} split seeds (each with its own stories and SAE) held fixed; ${B} draws shared by every row; SCR = (A - A_original) / (A_oracle - A_original) on balanced tone accuracy means over seeds, recomputed per draw`;
  const identity = strata.map((s) => Int32Array.from(s.idx.keys()));
  const rows: ResultRow[] = [];
  const per_seed: SpuriousSection['per_seed'] = [];
  const concept = `tone:${pair.tones[0]}/${pair.tones[1]} | weather ${pair.weathers.map((w) => w.join('+')).join('/')}`;
  say(`spurious: intervals (${B} draws)`);
  for (const m of methods) {
    for (const metric of SPURIOUS_METRICS) {
      if (metric === 'scr' && (m.name === 'original' || m.name === 'oracle')) continue;
      const ci = boot((d) => stat(m.name, metric, d));
      rows.push({ suite: 'spurious', task: 'spurious', concept, method: m.name, metric, mean: ci.estimate, ci_low: ci.lo, ci_high: ci.hi, n_seeds: nS, interval, ...(m.name.startsWith('shift@') ? { setting: 'k chosen on ambiguous validation' } : {}) });
      if (metric === 'scr') {
        per_seed.push({ method: m.name, metric, values: splits.map((_, si) => {
          const one = (mm: string) => perSeedStat(mm, 'tone_acc', identity)[si];
          return (one(m.name) - one('original')) / (one('oracle') - one('original'));
        }) });
      } else per_seed.push({ method: m.name, metric, values: perSeedStat(m.name, metric, identity) });
    }
  }
  const group_acc: SpuriousSection['group_acc'] = [];
  for (const m of methods) {
    for (let g = 0; g < 4; g++) {
      const ci = boot((d) => avg(sums(m.name, d, 'toneRight', true).perGroup.map((pg) => pg[g])));
      group_acc.push({ method: m.name, group: groups[g], mean: ci.estimate, ci_low: ci.lo, ci_high: ci.hi });
    }
  }
  const comparisons: SpuriousSection['comparisons'] = [];
  const baselines = ['projection', 'delete-weather-words', 'delete-weather-sentence'];
  for (const m of methods.filter((x) => x.name.startsWith('shift@'))) {
    for (const b of baselines) {
      for (const metric of ['worst_group_acc', 'scr'] as const) {
        const ci = boot((d) => stat(m.name, metric, d) - stat(b, metric, d));
        comparisons.push({ method: m.name, baseline: b, metric, diff: ci.estimate, ci_low: ci.lo, ci_high: ci.hi, p: ci.p, interval: `paired: ${interval}` });
      }
    }
  }

  // Closing notes, with numbers.
  const row = (m: string, metric: string) => rows.find((r) => r.method === m && r.metric === metric);
  const fmt = (r?: ResultRow) => (r ? `${r.mean.toFixed(3)} [${r.ci_low.toFixed(3)}, ${r.ci_high.toFixed(3)}]` : 'n/a');
  const o0 = row('original', 'worst_group_acc');
  const ob = row('original', 'tone_acc');
  notes.push(`original probe: balanced tone accuracy ${fmt(ob)}, worst-group ${fmt(o0)}, reversed ${fmt(row('original', 'reversed_acc'))}, weather accuracy ${fmt(row('original', 'weather_acc'))}; oracle worst-group ${fmt(row('oracle', 'worst_group_acc'))}`);
  for (const m of methods.filter((x) => x.name.startsWith('shift@'))) {
    const best = comparisons.filter((x) => x.method === m.name && x.metric === 'worst_group_acc').sort((a, b) => b.diff - a.diff);
    const beats = comparisons.filter((x) => x.method === m.name && x.metric === 'worst_group_acc' && x.ci_low > 0).map((x) => x.baseline);
    const loses = comparisons.filter((x) => x.method === m.name && x.metric === 'worst_group_acc' && x.ci_high < 0).map((x) => x.baseline);
    const ks = results.flatMap((r) => r.shift.filter((s) => s.method === m.name).map((s) => s.k));
    notes.push(`${m.name} (k per seed ${ks.join(', ')}): worst-group ${fmt(row(m.name, 'worst_group_acc'))}, SCR ${fmt(row(m.name, 'scr'))}; against the baselines (worst-group difference): ${best.map((x) => `${x.baseline} ${x.diff >= 0 ? '+' : ''}${x.diff.toFixed(3)} [${x.ci_low.toFixed(3)}, ${x.ci_high.toFixed(3)}]`).join('; ')}; beats ${beats.length ? beats.join(', ') : 'none'} and loses to ${loses.length ? loses.join(', ') : 'none'} with the interval excluding 0`);
  }
  for (const m of methods.filter((x) => x.name.startsWith('shift@'))) {
    const ch = results.flatMap((r) => r.shift.filter((s) => s.method === m.name));
    const edge = ch.filter((s) => s.k > 0 && s.k === Math.max(...s.grid.map((g) => g.k))).length;
    if (edge) notes.push(`${m.name}: in ${edge} of ${ch.length} seeds validation chose the largest k tried (every ranked candidate: ${ch.map((s) => s.ranked.length).join(', ')} per seed); more candidates might remove more`);
  }
  for (const m of methods.filter((x) => x.name.startsWith('shift@') && !x.name.endsWith('+retrain'))) {
    const ls = results.flatMap((r) => r.shift.filter((s) => s.method === m.name).flatMap((s) => s.chosen));
    const onW = ls.filter((l) => l.contexts[0]?.weather_token).length;
    if (ls.length) notes.push(`${m.name}: ${onW} of the ${ls.length} latents chosen over all seeds have their top train activation on an entity:weather token (the rest fire most on other words of the weather sentence or elsewhere: the automatic choice is not a clean weather set)`);
  }
  if (c.cut !== 'full') notes.push(`the classifier reads each story's opening up to its ${c.cut === 1 ? 'first tone sentence' : `${c.cut}th tone sentence`}: on whole stories (4-5 tone sentences against 1 weather sentence) the probe read every group correctly when this suite was built at quick sizes, leaving no bias to remove (not measured in this run: set cut 'full' to measure it)`);
  const dA = ob && row('oracle', 'tone_acc') ? row('oracle', 'tone_acc')!.mean - ob.mean : NaN;
  if (Number.isFinite(dA) && dA < 0.05) notes.push(`the oracle's balanced accuracy exceeds the original's by only ${dA.toFixed(3)}: SCR divides by that gap, so its intervals are wide (the reliability problem SCR is known for)`);
  notes.push('weather accuracy: the share of balanced test stories whose predicted tone is the one their weather goes with on the ambiguous split (0.5 for a classifier blind to weather and perfect on tone; 1 for one that reads only weather)');
  const deleted = [
    { kind: 'delete-weather-words', tokens_per_story: avg(results.map((r) => r.deletedTokens.words)), what: 'every token labelled entity:weather (sun, sunny, sunshine, rain, raining, rainy, clouds, cloudy, ...); the rest of its sentence stays ("The was shining.")' },
    { kind: 'delete-weather-sentence', tokens_per_story: avg(results.map((r) => r.deletedTokens.sentence)), what: 'every sentence (up to and including its final . ! or ? token) that holds an entity:weather token: the story\'s weather sentence' },
  ];
  const section: SpuriousSection = {
    notes, config: c, hook: o.hook, seeds: o.seeds, groups, group_counts, methods, per_seed, group_acc, comparisons,
    shift: results.flatMap((r) => r.shift), deleted, interval, seconds: (Date.now() - t0) / 1000,
  };
  return { rows, section };
}
