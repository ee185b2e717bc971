// Concept-detection task of the method benchmark (AxBench-style, scored against the organism's ground truth).
//
// Data: the organism's generated documents (src/organism/corpus.ts, one fixed pool drawn with `docsSeed`) are run
// through the model; the activation at `hook` of every text token is kept (the <bos> position is skipped, and so is
// <eos> unless `includeEos`: the corpus labels both 0 by construction, so they carry no ground truth), with its
// concept bitmask and the index of its document.
//
// Protocol, per seed: the document pool is shuffled with that seed and split BY DOCUMENT (tokens of one document
// never land on both sides) into `trainDocs` / `testDocs`. For each concept c, labels = (mask & bit(c)) != 0; each
// method is fitted on the train tokens (Method.fit(train, seed)) and scores the test tokens. Metrics per
// (concept, method, seed):
//   auroc           token-level AUROC
//   recall_at_1fpr  token-level recall at a false-positive rate <= 1% (threshold set on the test negatives)
//   auroc_seq       sequence-level AUROC: a document's score is the max of its tokens' scores, and it is positive
//                   when any of its tokens carries c (AxBench's rule)
// plus a sensitivity table per (concept, method, seed): 10 quantile bins of the test-token scores with the fraction
// of positives in each.
//
// Aggregation: per (concept, method, metric), the mean over seeds and a 95% percentile bootstrap interval over the
// per-seed values (bootstrapCI; with 2-3 seeds this interval is little more than the range of the values, which is
// why every row carries n_seeds). Each method is also compared with the best non-SAE baseline (the non-SAE,
// non-control method with the highest mean token AUROC over concepts and seeds) by pairedBootstrapDiff over the
// (seed, concept) units; note that the units of one seed share a document split, so they are not fully independent.
//
// A concept is skipped (and listed in `skipped` with the reason) when, in any seed's split, the test side has fewer
// than `minTestPositives` positive tokens (default 20), or either side lacks positives or negatives.
import type { Model } from '../../models/model.js';
import type { Sae } from '../../dictionaries/sae.js';
import { ProbityError, show } from '../../errors.js';
import { CONCEPTS, bit, type Concept } from '../../organism/concepts.js';
import { documents } from '../../organism/corpus.js';
import { Rng, auroc, bootstrapCI, mean, pairedBootstrapDiff, quantileBins, recallAtFpr, type QuantileBin } from '../../stats/index.js';
import type { ConceptData, Method } from '../methods/types.js';

// ---------------------------------------------------------------------------------------------------------------
// Activations

export interface CollectOptions {
  /** Seed of the organism corpus (default 0). */
  docsSeed?: number;
  /** Number of documents (indices docStart .. docStart + nDocs - 1). */
  nDocs: number;
  /** First document index (default 0). */
  docStart?: number;
  /** Documents per forward pass (default 16). */
  batchRows?: number;
  /** Keep the <eos> position too (label 0 by construction; default false). */
  includeEos?: boolean;
}

export interface ConceptActivations {
  /** [n, d] activations at the kept tokens, row-major. */
  x: Float32Array;
  n: number;
  d: number;
  /** [n] concept bitmask per token (bit i <=> CONCEPTS[i]). */
  labels: Uint32Array;
  /** [n] document index (0 .. nDocs - 1, position in the pool, not the corpus index) of each token. */
  doc: Int32Array;
  nDocs: number;
  /** Corpus index of each pooled document. */
  docIndex: number[];
  /** Genre of each pooled document. */
  genres: string[];
}

/** Runs the organism's documents through `model` and keeps the activation at `hook` of every text token. */
export async function collectConceptActivations(model: Model, hook: string, opts: CollectOptions): Promise<ConceptActivations> {
  const { nDocs } = opts;
  const docsSeed = opts.docsSeed ?? 0;
  const batchRows = opts.batchRows ?? 16;
  const includeEos = opts.includeEos ?? false;
  if (!Number.isInteger(nDocs) || nDocs < 1) throw new ProbityError('BENCH_INPUT', `nDocs must be a positive integer, got ${show(nDocs)}`);
  if (!Number.isInteger(batchRows) || batchRows < 1) throw new ProbityError('BENCH_INPUT', `batchRows must be a positive integer, got ${show(batchRows)}`);
  const xs: Float32Array[] = [];
  const labelParts: Uint32Array[] = [];
  const docParts: Int32Array[] = [];
  const docIndex: number[] = [];
  const genres: string[] = [];
  let d = -1;
  let n = 0;
  let batch: { tokens: Uint16Array; labels: Uint32Array; k: number }[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const rows = batch.map((b) => Array.from(b.tokens));
    const res = await model.runWithCache(rows, { names: [hook], logits: 'none' });
    const act = res.cache[hook];
    if (!act || act.dims.length !== 3) throw new ProbityError('BENCH_INPUT', `hook ${hook} did not return [B, T, D] activations`);
    const [B, T, D] = act.dims;
    if (B !== batch.length) throw new ProbityError('INTERNAL', `hook ${hook} returned ${B} rows for ${batch.length}`);
    d = D;
    const data = act.data as Float32Array;
    const mask = res.mask.data as Uint8Array;
    for (let b = 0; b < B; b++) {
      const { tokens, labels, k } = batch[b];
      const L = tokens.length;
      const off = T - L; // left-padded
      if (off < 0 || mask[b * T + off] !== 1 || (off > 0 && mask[b * T + off - 1] !== 0)) {
        throw new ProbityError('INTERNAL', `unexpected padding layout for document ${k} (length ${L}, T ${T})`);
      }
      const first = 1; // skip <bos>
      const last = includeEos ? L : L - 1; // exclusive
      const m = Math.max(0, last - first);
      const x = new Float32Array(m * D);
      for (let t = first; t < last; t++) x.set(data.subarray((b * T + off + t) * D, (b * T + off + t + 1) * D), (t - first) * D);
      xs.push(x);
      labelParts.push(labels.slice(first, last));
      docParts.push(new Int32Array(m).fill(k));
      n += m;
    }
    batch = [];
  };
  let k = 0;
  for (const doc of documents(docsSeed, { start: opts.docStart ?? 0, count: nDocs })) {
    docIndex.push(doc.index);
    genres.push(doc.genre);
    batch.push({ tokens: doc.tokens, labels: doc.labels, k });
    k++;
    if (batch.length >= batchRows) await flush();
  }
  await flush();
  const x = new Float32Array(n * d);
  const labels = new Uint32Array(n);
  const doc = new Int32Array(n);
  let o = 0;
  for (let i = 0; i < xs.length; i++) {
    x.set(xs[i], o * d);
    labels.set(labelParts[i], o);
    doc.set(docParts[i], o);
    o += labelParts[i].length;
  }
  return { x, n, d, labels, doc, nDocs, docIndex, genres };
}

// ---------------------------------------------------------------------------------------------------------------
// Splits

export interface DocSplit {
  seed: number;
  /** Pool positions of the train / test documents, ascending. */
  train: number[];
  test: number[];
}

/** Seeded document split: shuffle 0..nDocs-1 (Fisher-Yates with Rng(seed)), the first nTrain are train, the next nTest test. */
export function splitDocuments(nDocs: number, nTrain: number, nTest: number, seed: number): DocSplit {
  if (!Number.isInteger(nTrain) || !Number.isInteger(nTest) || nTrain < 1 || nTest < 1 || nTrain + nTest > nDocs) {
    throw new ProbityError('BENCH_INPUT', `document split needs 1 <= train (${show(nTrain)}), 1 <= test (${show(nTest)}), train + test <= ${nDocs}`);
  }
  const rng = new Rng(seed);
  const perm = Array.from({ length: nDocs }, (_, i) => i);
  for (let i = nDocs - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  return { seed, train: perm.slice(0, nTrain).sort((a, b) => a - b), test: perm.slice(nTrain, nTrain + nTest).sort((a, b) => a - b) };
}

/** Token rows of the given documents, in token order. */
function tokenRows(acts: ConceptActivations, docs: readonly number[]): Int32Array {
  const keep = new Uint8Array(acts.nDocs);
  for (const k of docs) keep[k] = 1;
  const out: number[] = [];
  for (let t = 0; t < acts.n; t++) if (keep[acts.doc[t]]) out.push(t);
  return Int32Array.from(out);
}

function gatherRows(acts: ConceptActivations, rows: Int32Array): Float32Array {
  const { d } = acts;
  const x = new Float32Array(rows.length * d);
  for (let i = 0; i < rows.length; i++) x.set(acts.x.subarray(rows[i] * d, (rows[i] + 1) * d), i * d);
  return x;
}

/** The token rows and activation matrix of a set of documents, one array per (pool, document set): every concept
 *  and both tasks then fit on the same array, so label-independent work memoised per array (k-means clusterings, SAE
 *  codes; see methods/common.ts ArrayMemo) is done once. */
const sides = new WeakMap<ConceptActivations, Map<string, { rows: Int32Array; x: Float32Array }>>();
function side(acts: ConceptActivations, docs: readonly number[]): { rows: Int32Array; x: Float32Array } {
  let m = sides.get(acts);
  if (!m) sides.set(acts, (m = new Map()));
  const key = docs.join(',');
  let v = m.get(key);
  if (!v) {
    const rows = tokenRows(acts, docs);
    m.set(key, (v = { rows, x: gatherRows(acts, rows) }));
  }
  return v;
}

/** The labelled tokens of the given documents for one concept (what a method is fitted on). */
export function conceptData(acts: ConceptActivations, docs: readonly number[], concept: Concept): ConceptData {
  const { rows, x } = side(acts, docs);
  const b = bit(concept);
  return { x, n: rows.length, d: acts.d, labels: Uint8Array.from(rows, (t) => ((acts.labels[t] & b) !== 0 ? 1 : 0)) };
}

// ---------------------------------------------------------------------------------------------------------------
// Benchmark

/** Default concepts: frequent enough in a few hundred documents and spread over the kinds of ground truth. */
export const DEFAULT_DETECT_CONCEPTS: readonly Concept[] = [
  'tone:happy',
  'tone:sad',
  'tone:angry',
  'tone:scared',
  'genre:code',
  'code:regex',
  'code:string',
  'entity:animal',
  'entity:colour',
  'question',
  'negation',
  'chat:assistant',
  'world:value',
  'topic:garden',
  'quirk',
];

export const DETECT_METRICS = ['auroc', 'auroc_seq', 'recall_at_1fpr'] as const;
export type DetectMetric = (typeof DETECT_METRICS)[number];

export interface DetectRow {
  suite: 'detect';
  task: 'concept-detection';
  concept: string;
  method: string;
  metric: DetectMetric;
  mean: number;
  ci_low: number;
  ci_high: number;
  /** Seeds that gave a finite value (all of them unless a sequence AUROC was undefined). */
  n_seeds: number;
}

export interface DetectSeedValue {
  concept: string;
  method: string;
  seed: number;
  auroc: number;
  auroc_seq: number;
  recall_at_1fpr: number;
  nTestTokens: number;
  nTestPositives: number;
  nTestDocs: number;
  nTestPositiveDocs: number;
}

export interface SensitivityTable {
  concept: string;
  method: string;
  seed: number;
  /** 10 quantile bins of the test-token scores, lowest scores first, with the fraction of positives per bin. */
  bins: QuantileBin[];
}

export interface DetectComparison {
  method: string;
  baseline: string;
  metric: DetectMetric;
  /** mean over (seed, concept) units of method - baseline. */
  diff: number;
  ci_low: number;
  ci_high: number;
  p: number;
  n_units: number;
}

export interface DetectProvenance {
  model: string;
  hook: string;
  sae: string | null;
  docsSeed: number;
  seeds: number[];
  trainDocs: number;
  testDocs: number;
  poolDocs: number;
  poolTokens: number;
  d: number;
  includeEos: boolean;
  minTestPositives: number;
  bootstrap: { iterations: number; alpha: number; seed: number };
  methods: string[];
  concepts: string[];
}

export interface DetectResult {
  rows: DetectRow[];
  perSeed: DetectSeedValue[];
  sensitivity: SensitivityTable[];
  comparisons: DetectComparison[];
  /** The non-SAE baseline the comparisons are against (null when there is none). */
  bestBaseline: string | null;
  skipped: { concept: string; reason: string }[];
  splits: DocSplit[];
  notes: string[];
  provenance: DetectProvenance;
}

export interface DetectOptions {
  model: Model;
  hook: string;
  sae?: Sae;
  /** Concept names from CONCEPTS (default DEFAULT_DETECT_CONCEPTS). */
  concepts?: readonly string[];
  seeds: readonly number[];
  trainDocs: number;
  testDocs: number;
  methods: readonly Method[];
  /** Methods for one seed (e.g. with that seed's SAE); same names as `methods`, which is used when this is absent. */
  methodsForSeed?: (seed: number) => readonly Method[];
  docsSeed?: number;
  batchRows?: number;
  includeEos?: boolean;
  minTestPositives?: number;
  /** Quantile bins of the sensitivity tables (default 10). */
  nBins?: number;
  /** Bootstrap resamples for intervals and paired comparisons (default 2000, seed 0). */
  bootstrapIterations?: number;
  /** Reuse activations collected earlier (must come from the same model, hook and a pool of >= trainDocs + testDocs). */
  activations?: ConceptActivations;
}

/** SAE-based methods are recognised by name (sae = best single latent, sae-topk-probe, ...). */
export function isSaeMethod(name: string): boolean {
  return name.startsWith('sae');
}

const CONTROL_METHODS = new Set(['random']);

/** The methods of one seed: `perSeed(seed)` when given (checked to carry the same names, in order), else `methods`. */
export function seedMethods(methods: readonly Method[], perSeed: ((seed: number) => readonly Method[]) | undefined, seed: number): readonly Method[] {
  if (!perSeed) return methods;
  const ms = perSeed(seed);
  const a = ms.map((m) => m.name).join(',');
  const b = methods.map((m) => m.name).join(',');
  if (a !== b) throw new ProbityError('BENCH_INPUT', `methods for seed ${seed} are [${a}], expected [${b}]`);
  return ms;
}

export async function runDetection(o: DetectOptions): Promise<DetectResult> {
  const concepts = [...(o.concepts ?? DEFAULT_DETECT_CONCEPTS)];
  for (const c of concepts) {
    if (!(CONCEPTS as readonly string[]).includes(c)) throw new ProbityError('BENCH_INPUT', `unknown concept ${show(c)}; known: ${CONCEPTS.join(', ')}`);
  }
  if (o.seeds.length === 0) throw new ProbityError('BENCH_INPUT', 'runDetection needs at least one seed');
  if (o.methods.length === 0) throw new ProbityError('BENCH_INPUT', 'runDetection needs at least one method');
  const names = o.methods.map((m) => m.name);
  if (new Set(names).size !== names.length) throw new ProbityError('BENCH_INPUT', `method names must be unique, got ${names.join(', ')}`);
  const docsSeed = o.docsSeed ?? 0;
  const includeEos = o.includeEos ?? false;
  const minPos = o.minTestPositives ?? 20;
  const nBins = o.nBins ?? 10;
  const iterations = o.bootstrapIterations ?? 2000;
  const boot = { iterations, alpha: 0.05, seed: 0 };
  const poolDocs = o.trainDocs + o.testDocs;
  const acts =
    o.activations ?? (await collectConceptActivations(o.model, o.hook, { docsSeed, nDocs: poolDocs, batchRows: o.batchRows, includeEos }));
  if (acts.nDocs < poolDocs) throw new ProbityError('BENCH_INPUT', `activations hold ${acts.nDocs} documents, need ${poolDocs}`);
  const notes: string[] = [];

  // Splits and the token rows of each side, per seed.
  const splits = o.seeds.map((s) => splitDocuments(poolDocs, o.trainDocs, o.testDocs, s));
  const sides = splits.map((sp) => {
    const trainRows = side(acts, sp.train).rows;
    const testRows = side(acts, sp.test).rows;
    return { trainRows, testRows };
  });

  // Concepts with too few positives in any split are skipped.
  const skipped: { concept: string; reason: string }[] = [];
  const kept: string[] = [];
  for (const c of concepts) {
    const b = bit(c as Concept);
    let reason: string | null = null;
    for (let i = 0; i < splits.length && !reason; i++) {
      const count = (rows: Int32Array) => rows.reduce((a, t) => a + ((acts.labels[t] & b) !== 0 ? 1 : 0), 0);
      const trP = count(sides[i].trainRows);
      const teP = count(sides[i].testRows);
      if (teP < minPos) reason = `${teP} positive test tokens with seed ${splits[i].seed} (< ${minPos})`;
      else if (trP === 0) reason = `no positive train tokens with seed ${splits[i].seed}`;
      else if (trP === sides[i].trainRows.length || teP === sides[i].testRows.length) reason = `no negative tokens with seed ${splits[i].seed}`;
    }
    if (reason) skipped.push({ concept: c, reason });
    else kept.push(c);
  }
  for (const s of skipped) notes.push(`skipped ${s.concept}: ${s.reason}`);

  const methodsOf = (seed: number) => seedMethods(o.methods, o.methodsForSeed, seed);
  const perSeed: DetectSeedValue[] = [];
  const sensitivity: SensitivityTable[] = [];
  for (let i = 0; i < splits.length; i++) {
    const seed = splits[i].seed;
    const { trainRows, testRows } = sides[i];
    const xTrain = side(acts, splits[i].train).x;
    const xTest = side(acts, splits[i].test).x;
    // Test documents in pool order and each test token's slot among them (for the sequence-level scores).
    const testDocs = splits[i].test;
    const slot = new Map<number, number>(testDocs.map((k, j) => [k, j]));
    const tokSlot = Int32Array.from(testRows, (t) => slot.get(acts.doc[t]) as number);
    for (const c of kept) {
      const b = bit(c as Concept);
      const yTrain = Uint8Array.from(trainRows, (t) => ((acts.labels[t] & b) !== 0 ? 1 : 0));
      const yTest = Uint8Array.from(testRows, (t) => ((acts.labels[t] & b) !== 0 ? 1 : 0));
      const docPos = new Uint8Array(testDocs.length);
      for (let j = 0; j < yTest.length; j++) if (yTest[j]) docPos[tokSlot[j]] = 1;
      const nPos = yTest.reduce((a, v) => a + v, 0);
      const nPosDocs = docPos.reduce((a, v) => a + v, 0);
      const train: ConceptData = { x: xTrain, n: trainRows.length, d: acts.d, labels: yTrain };
      for (const m of methodsOf(seed)) {
        const fitted = await m.fit(train, seed);
        const s = await fitted.score(xTest, testRows.length);
        if (s.length !== testRows.length) throw new ProbityError('INTERNAL', `${m.name} returned ${s.length} scores for ${testRows.length} tokens`);
        for (let j = 0; j < s.length; j++) {
          if (!Number.isFinite(s[j])) throw new ProbityError('BENCH_NUMERIC', `${m.name} gave a non-finite score on ${c} (seed ${seed}, token ${j})`);
        }
        const docMax = new Float64Array(testDocs.length).fill(-Infinity);
        for (let j = 0; j < s.length; j++) if (s[j] > docMax[tokSlot[j]]) docMax[tokSlot[j]] = s[j];
        // A test document with no kept tokens (empty text) has no score: leave it out of the sequence AUROC.
        const seqIdx = Array.from(docMax.keys()).filter((j) => Number.isFinite(docMax[j]));
        const seqScores = seqIdx.map((j) => docMax[j]);
        const seqLabels = seqIdx.map((j) => docPos[j]);
        perSeed.push({
          concept: c,
          method: m.name,
          seed,
          auroc: auroc(s, yTest),
          auroc_seq: auroc(seqScores, seqLabels), // NaN when every (or no) test document carries c
          recall_at_1fpr: recallAtFpr(s, yTest, 0.01),
          nTestTokens: testRows.length,
          nTestPositives: nPos,
          nTestDocs: testDocs.length,
          nTestPositiveDocs: nPosDocs,
        });
        sensitivity.push({ concept: c, method: m.name, seed, bins: quantileBins(s, yTest, nBins) });
      }
    }
  }

  // Aggregate over seeds.
  const rows: DetectRow[] = [];
  const valuesOf = (c: string, m: string, metric: DetectMetric) =>
    perSeed.filter((v) => v.concept === c && v.method === m).map((v) => v[metric]);
  for (const c of kept) {
    for (const m of names) {
      for (const metric of DETECT_METRICS) {
        const vals = valuesOf(c, m, metric).filter(Number.isFinite);
        if (vals.length === 0) {
          notes.push(`${c} / ${m} / ${metric}: undefined in every seed (e.g. every test document carries the concept); no row`);
          continue;
        }
        const ci = bootstrapCI(vals, boot);
        const mu = mean(vals);
        // The percentile interval of a mean brackets it in practice; min/max only guard the schema's promise.
        rows.push({
          suite: 'detect',
          task: 'concept-detection',
          concept: c,
          method: m,
          metric,
          mean: mu,
          ci_low: Math.min(ci.lo, mu),
          ci_high: Math.max(ci.hi, mu),
          n_seeds: vals.length,
        });
      }
    }
  }
  if (o.seeds.length < 5) {
    notes.push(`only ${o.seeds.length} seed(s): the 95% bootstrap intervals over seeds are close to the range of the per-seed values, not calibrated intervals`);
  }

  // Paired comparison against the best non-SAE baseline.
  const baselines = names.filter((m) => !isSaeMethod(m) && !CONTROL_METHODS.has(m));
  let bestBaseline: string | null = null;
  let bestScore = -Infinity;
  for (const m of baselines) {
    const v = perSeed.filter((p) => p.method === m).map((p) => p.auroc);
    if (v.length && mean(v) > bestScore) {
      bestScore = mean(v);
      bestBaseline = m;
    }
  }
  const comparisons: DetectComparison[] = [];
  if (bestBaseline && kept.length) {
    for (const m of names) {
      if (m === bestBaseline) continue;
      for (const metric of DETECT_METRICS) {
        const a: number[] = [];
        const bv: number[] = [];
        for (const sp of splits) {
          for (const c of kept) {
            const x = perSeed.find((p) => p.method === m && p.concept === c && p.seed === sp.seed)![metric];
            const y = perSeed.find((p) => p.method === bestBaseline && p.concept === c && p.seed === sp.seed)![metric];
            if (Number.isFinite(x) && Number.isFinite(y)) {
              a.push(x);
              bv.push(y);
            }
          }
        }
        if (a.length === 0) continue;
        const r = pairedBootstrapDiff(a, bv, boot);
        comparisons.push({ method: m, baseline: bestBaseline, metric, diff: r.estimate, ci_low: r.lo, ci_high: r.hi, p: r.p, n_units: a.length });
      }
    }
  }

  const provenance: DetectProvenance = {
    model: o.model.source,
    hook: o.hook,
    sae: o.sae ? (o.sae.source ?? 'in-memory SAE') : null, // the SAE of the default methods (see methodsForSeed)
    docsSeed,
    seeds: [...o.seeds],
    trainDocs: o.trainDocs,
    testDocs: o.testDocs,
    poolDocs,
    poolTokens: acts.n,
    d: acts.d,
    includeEos,
    minTestPositives: minPos,
    bootstrap: boot,
    methods: names,
    concepts: kept,
  };
  return { rows, perSeed, sensitivity, comparisons, bestBaseline, skipped, splits, notes, provenance };
}

/** A compact text table: mean [ci_low, ci_high] of one metric, concepts x methods. */
export function formatDetectTable(rows: readonly DetectRow[], metric: DetectMetric = 'auroc'): string {
  const sel = rows.filter((r) => r.metric === metric);
  const concepts = [...new Set(sel.map((r) => r.concept))];
  const methods = [...new Set(sel.map((r) => r.method))];
  const cell = (c: string, m: string) => {
    const r = sel.find((x) => x.concept === c && x.method === m);
    return r ? `${r.mean.toFixed(3)} [${r.ci_low.toFixed(2)},${r.ci_high.toFixed(2)}]` : '-';
  };
  const w = Math.max(8, ...concepts.map((c) => c.length));
  const lines = [`${metric.padEnd(w)} | ${methods.map((m) => m.padEnd(20)).join(' | ')}`];
  for (const c of concepts) lines.push(`${c.padEnd(w)} | ${methods.map((m) => cell(c, m).padEnd(20)).join(' | ')}`);
  return lines.join('\n');
}
