// Concept-detection task of the method benchmark (AxBench-style, scored against the organism's ground truth).
//
// Data: the organism's generated documents (src/organism/corpus.ts, one fixed pool drawn with `docsSeed`) are run
// through the model; the activation at `hook` of every text token is kept (the <bos> position is skipped, and so is
// <eos> unless `includeEos`: the corpus labels both 0 by construction, so they carry no ground truth), with its
// concept bitmask and the index of its document.
//
// Protocol, per split seed: the document pool is shuffled with that seed and split BY DOCUMENT (tokens of one
// document never land on two sides) into `trainDocs` / `valDocs` / `testDocs`. For each concept c, labels =
// (mask & bit(c)) != 0. Fit on train, choose on validation, report on test:
//   * each method is fitted on the train tokens (Method.fit(train, seed, { unit: 'detect/<c>' })); a control with
//     `draws` > 1 (the random direction) is fitted that many times ({ unit, draw }), a fresh direction per draw, and
//     its per-seed value is the mean over draws (each draw is kept in perSeed with its `draw`, the spread over draws
//     in `controlSpread`, and its interval redraws the fits along with the documents);
//   * every choice is made on the validation tokens: the best baseline of the paired comparisons (the non-SAE,
//     non-control method with the highest mean validation token AUROC) and the threshold of recall at 1% FPR (the
//     score that at most 1% of the validation negatives exceed, stats rocPointAtFpr);
//   * metrics on the test tokens, per (concept, method, seed):
//       auroc                  token-level AUROC
//       auroc_seq              sequence-level AUROC: a document's score is the max of its tokens' scores, positive
//                              when any of its tokens carries c (AxBench's rule)
//       recall_at_1fpr         share of test positives above the validation threshold
//       fpr_at_1fpr_threshold  share of test negatives above it: the FPR the 1% threshold actually gives on test
//                              (calibration: near 0.01 when validation and test negatives look alike)
//     plus a sensitivity table (10 quantile bins of the test-token scores with the fraction of positives in each).
//
// Intervals: the independent unit is the test document (tokens of one document share its context and are
// correlated), so every interval is a cluster bootstrap (stats/cluster.ts) over test documents: a replicate redraws
// the distinct test documents of all seeds with replacement, as one set (the seeds' test sets overlap, being subsets
// of one pool, and a document shared by two of them must keep one multiplicity in both), recomputes the metric per
// seed on its redrawn test documents (AUROC as a Mann-Whitney statistic weighted by each document's multiplicity,
// stats/clustered-metrics.ts: one sort per (seed, concept, method), O(tokens) per replicate) and averages over seeds.
// The seeds are a design factor (each its own split and, in `probity bench`, its own SAE), not resampled: an interval
// says how much the number would move with other test documents, not with other training splits or SAE seeds (the
// per-seed values show that spread). Fits and choices made on validation (baseline, thresholds) are held fixed.
// Percentile intervals, never clamped. Every replicate uses the same document draws for every row, so a paired
// comparison of two methods resamples both on the same documents:
//   comparison (concept c)   mean over seeds of metric(method) - metric(baseline)
//   comparison (pooled)      mean over the scored concepts of the per-concept difference
// with its bootstrap sign p-value.
//
// A concept is skipped (and listed in `skipped` with the reason) when, in any seed's split, the test side has fewer
// than `minTestPositives` positive tokens (default 20), or the train, validation or test side lacks positives or
// negatives.
import type { Model } from '../../models/model.js';
import type { Sae } from '../../dictionaries/sae.js';
import { ProbityError, show } from '../../errors.js';
import { CONCEPTS, bit, type Concept } from '../../organism/concepts.js';
import { documents } from '../../organism/corpus.js';
import { ClusteredAuroc, ClusteredRates, Rng, auroc, clusterBootstrap, mean, quantileBins, rocPointAtFpr, std, type QuantileBin } from '../../stats/index.js';
import type { ConceptData, FitContext, Method } from '../methods/types.js';
import { isSaeMethod, seedMethods } from '../methods/index.js';
export { isSaeMethod, seedMethods } from '../methods/index.js';

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
  /** Pool positions of the train / validation / test documents, ascending. */
  train: number[];
  val: number[];
  test: number[];
}

/**
 * Seeded document split: shuffle 0..nDocs-1 (Fisher-Yates with Rng(seed)); the first nTrain are train, the next nVal
 * validation, the next nTest test. With nVal = 0 the train and test sides are those of the two-way split.
 */
export function splitDocuments(nDocs: number, nTrain: number, nTest: number, seed: number, nVal = 0): DocSplit {
  if (
    !Number.isInteger(nTrain) || !Number.isInteger(nTest) || !Number.isInteger(nVal) ||
    nTrain < 1 || nTest < 1 || nVal < 0 || nTrain + nVal + nTest > nDocs
  ) {
    throw new ProbityError(
      'BENCH_INPUT',
      `document split needs 1 <= train (${show(nTrain)}), 0 <= validation (${show(nVal)}), 1 <= test (${show(nTest)}), train + validation + test <= ${nDocs}`,
    );
  }
  const rng = new Rng(seed);
  const perm = Array.from({ length: nDocs }, (_, i) => i);
  for (let i = nDocs - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  const asc = (xs: number[]) => xs.sort((a, b) => a - b);
  return {
    seed,
    train: asc(perm.slice(0, nTrain)),
    val: asc(perm.slice(nTrain, nTrain + nVal)),
    test: asc(perm.slice(nTrain + nVal, nTrain + nVal + nTest)),
  };
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

export const DETECT_METRICS = ['auroc', 'auroc_seq', 'recall_at_1fpr', 'fpr_at_1fpr_threshold'] as const;
export type DetectMetric = (typeof DETECT_METRICS)[number];
/** Metrics where higher is better: the ones methods are compared on (the test FPR is a calibration check). */
export const COMPARED_METRICS = ['auroc', 'auroc_seq', 'recall_at_1fpr'] as const satisfies readonly DetectMetric[];
/** The false-positive rate the recall threshold is set for, on the validation negatives. */
export const TARGET_FPR = 0.01;

export interface DetectRow {
  suite: 'detect';
  task: 'concept-detection';
  concept: string;
  method: string;
  metric: DetectMetric;
  /** Mean over seeds (for a control fitted several times: of the per-seed mean over draws). */
  mean: number;
  /** 95% percentile interval of the cluster bootstrap (see `interval`); not clamped, so it need not contain `mean`. */
  ci_low: number;
  ci_high: number;
  /** Seeds that gave a finite value (all of them unless a sequence AUROC was undefined). */
  n_seeds: number;
  /** What the interval is over. */
  interval: string;
}

export interface DetectSeedValue {
  concept: string;
  method: string;
  seed: number;
  /** Which fit of a method fitted several times per (seed, concept) (the random control); absent otherwise. */
  draw?: number;
  auroc: number;
  auroc_seq: number;
  recall_at_1fpr: number;
  fpr_at_1fpr_threshold: number;
  /** Token AUROC on the validation documents (what the best baseline is chosen by). */
  val_auroc: number;
  /** The recall threshold, set on the validation negatives (rule: positive iff score > threshold). */
  threshold: number;
  nTestTokens: number;
  nTestPositives: number;
  nTestDocs: number;
  nTestPositiveDocs: number;
  nValTokens: number;
  nValNegatives: number;
}

export interface SensitivityTable {
  concept: string;
  method: string;
  seed: number;
  /** For a method fitted several times: the draw shown (the first). */
  draw?: number;
  /** 10 quantile bins of the test-token scores, lowest scores first, with the fraction of positives per bin. */
  bins: QuantileBin[];
}

export interface DetectComparison {
  method: string;
  baseline: string;
  metric: DetectMetric;
  /** The concept compared on, or null for the mean over the scored concepts. */
  concept: string | null;
  /** Mean over seeds of metric(method) - metric(baseline) (pooled: then averaged over concepts). */
  diff: number;
  ci_low: number;
  ci_high: number;
  /** Two-sided bootstrap sign p-value of the difference against 0. */
  p: number;
  n_concepts: number;
  n_seeds: number;
  interval: string;
}

/** One method's metric averaged over the scored concepts (per replicate: the mean of the concepts' seed means). */
export interface DetectSummary {
  method: string;
  metric: DetectMetric;
  mean: number;
  ci_low: number;
  ci_high: number;
  n_concepts: number;
  interval: string;
}

/** The spread of a control fitted several times: per draw, its metric averaged over seeds. */
export interface ControlSpread {
  concept: string;
  method: string;
  metric: DetectMetric;
  draws: number;
  /** Per draw: mean over seeds. */
  values: number[];
  mean: number;
  /** Sample standard deviation over draws (NaN with one draw). */
  sd: number;
  min: number;
  max: number;
}

export interface BaselineCandidate {
  method: string;
  /** Mean token AUROC over (seed, concept) on the validation documents: the choice is made on this. */
  val_auroc: number;
  /** The same on the test documents, for the reader only (never used to choose). */
  test_auroc: number;
}

export interface DetectProvenance {
  model: string;
  hook: string;
  sae: string | null;
  docsSeed: number;
  seeds: number[];
  trainDocs: number;
  valDocs: number;
  testDocs: number;
  poolDocs: number;
  poolTokens: number;
  d: number;
  includeEos: boolean;
  minTestPositives: number;
  bootstrap: { iterations: number; alpha: number; seed: number; unit: string; strata: string };
  /** Fits per (seed, concept) of each method with draws > 1. */
  draws: Record<string, number>;
  methods: string[];
  concepts: string[];
}

export interface DetectResult {
  rows: DetectRow[];
  perSeed: DetectSeedValue[];
  sensitivity: SensitivityTable[];
  /** Each metric averaged over the scored concepts, per method, with its interval. */
  overConcepts: DetectSummary[];
  /** Spread over draws of the controls fitted several times (the random direction). */
  controlSpread: ControlSpread[];
  comparisons: DetectComparison[];
  /** The non-SAE baseline the comparisons are against, chosen on validation (null when there is none). */
  bestBaseline: string | null;
  baselineCandidates: BaselineCandidate[];
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
  /** Validation documents per split (>= 1): the baseline and the recall thresholds are chosen on them. */
  valDocs: number;
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
  /** Cluster-bootstrap resamples for intervals and paired comparisons (default 2000, seed 0). */
  bootstrapIterations?: number;
  /** Reuse activations collected earlier (same model and hook, a pool of >= trainDocs + valDocs + testDocs). */
  activations?: ConceptActivations;
  /** Called once per (seed, concept) and before the intervals. */
  onProgress?: (what: string) => void;
}

const CONTROL_METHODS = new Set(['random']);


/**
 * The cluster-bootstrap draws of one run, made once and shared by every row and comparison.
 *   * Stratum 0, the documents: the distinct test documents of all seeds, redrawn as one set. The seeds' test sets
 *     are overlapping subsets of one pool, so a document in two seeds' test sets must keep one multiplicity in both
 *     (redrawing each seed's test set on its own would count the overlap as independent evidence and make the
 *     intervals too narrow). The train and validation sides are not redrawn: fits and choices are held fixed.
 *   * One more stratum per (seed, K) for every K > 1 among the methods' `draws`: the K fits of a control (random
 *     directions, iid by construction) are redrawn with replacement too, so a control's interval also covers which
 *     directions happened to be drawn. Methods with one fit ignore these strata.
 * `weights[s]` holds, per replicate b (0 = the original data), how many times each test document of seed s (in its
 * split's order) was drawn, at b * n_s; `fits(s, K)` the K drawn fit indices of seed s per replicate, at b * K.
 * `interval(stat)` runs clusterBootstrap with the same seed and strata and reads stat[b] for its b-th call, checking
 * that clusterBootstrap drew exactly the stored clusters (so the lookup never pairs the wrong draws).
 */
class SharedDraws {
  readonly weights: Float64Array[];
  /** The distinct test documents (pool positions), ascending: the clusters of stratum 0. */
  readonly union: number[];
  readonly replicates: number;
  private readonly strata: number[];
  private readonly stored: Int32Array[];
  private readonly fitStratum = new Map<string, number>();

  constructor(testSets: readonly (readonly number[])[], fitCounts: readonly number[], private readonly boot: { iterations: number; alpha: number; seed: number }) {
    this.replicates = boot.iterations + 1;
    this.union = [...new Set(testSets.flat())].sort((a, b) => a - b);
    const U = this.union.length;
    this.strata = [U];
    const ks = [...new Set(fitCounts.filter((k) => k > 1))].sort((a, b) => a - b);
    testSets.forEach((_, s) => ks.forEach((k) => {
      this.fitStratum.set(`${s}/${k}`, this.strata.length);
      this.strata.push(k);
    }));
    const at = new Map(this.union.map((k, i) => [k, i]));
    const idx = testSets.map((t) => Int32Array.from(t, (k) => at.get(k)!));
    this.weights = testSets.map((t) => new Float64Array(this.replicates * t.length));
    this.stored = this.strata.map((n) => new Int32Array(this.replicates * n));
    const wU = new Float64Array(U);
    let b = 0;
    clusterBootstrap(
      this.strata,
      (draw) => {
        if (b >= this.replicates) throw new ProbityError('INTERNAL', 'clusterBootstrap called the statistic more than iterations + 1 times');
        this.strata.forEach((n, st) => this.stored[st].set(draw[st], b * n));
        wU.fill(0);
        for (let i = 0; i < U; i++) wU[draw[0][i]]++;
        for (let s = 0; s < testSets.length; s++) {
          const n = testSets[s].length;
          for (let j = 0; j < n; j++) this.weights[s][b * n + j] = wU[idx[s][j]];
        }
        b++;
        return 0;
      },
      boot,
    );
    if (b !== this.replicates) throw new ProbityError('INTERNAL', `clusterBootstrap made ${b} calls, expected ${this.replicates}`);
  }

  /** Seed s's drawn fit indices (K per replicate, at b * K) for a method fitted K > 1 times. */
  fits(s: number, k: number): Int32Array {
    const st = this.fitStratum.get(`${s}/${k}`);
    if (st === undefined) throw new ProbityError('INTERNAL', `no fit stratum for seed index ${s} and ${k} fits`);
    return this.stored[st];
  }

  interval(stat: Float64Array): ReturnType<typeof clusterBootstrap> {
    if (stat.length !== this.replicates) throw new ProbityError('INTERNAL', `statistic has ${stat.length} replicates, expected ${this.replicates}`);
    let b = 0;
    return clusterBootstrap(
      this.strata,
      (draw) => {
        for (let st = 0; st < this.strata.length; st++) {
          const n = this.strata[st];
          const stored = this.stored[st];
          for (let i = 0; i < n; i++) {
            if (stored[b * n + i] !== draw[st][i]) throw new ProbityError('INTERNAL', `bootstrap replicate ${b} drew other clusters than the stored draw`);
          }
        }
        return stat[b++];
      },
      this.boot,
    );
  }
}

/** Per replicate: the mean of the given arrays (NaN when any is NaN at that replicate). */
function meanOfArrays(xs: readonly Float64Array[], len: number): Float64Array {
  const out = new Float64Array(len);
  for (const x of xs) for (let b = 0; b < len; b++) out[b] += x[b];
  for (let b = 0; b < len; b++) out[b] /= xs.length;
  return out;
}

export async function runDetection(o: DetectOptions): Promise<DetectResult> {
  const concepts = [...(o.concepts ?? DEFAULT_DETECT_CONCEPTS)];
  for (const c of concepts) {
    if (!(CONCEPTS as readonly string[]).includes(c)) throw new ProbityError('BENCH_INPUT', `unknown concept ${show(c)}; known: ${CONCEPTS.join(', ')}`);
  }
  if (o.seeds.length === 0) throw new ProbityError('BENCH_INPUT', 'runDetection needs at least one seed');
  if (new Set(o.seeds).size !== o.seeds.length) throw new ProbityError('BENCH_INPUT', `seeds must be distinct, got ${o.seeds.join(', ')}`);
  if (o.methods.length === 0) throw new ProbityError('BENCH_INPUT', 'runDetection needs at least one method');
  if (!Number.isInteger(o.valDocs) || o.valDocs < 1) {
    throw new ProbityError('BENCH_INPUT', `valDocs must be a positive integer (the baseline and thresholds are chosen on validation documents), got ${show(o.valDocs)}`);
  }
  const names = o.methods.map((m) => m.name);
  if (new Set(names).size !== names.length) throw new ProbityError('BENCH_INPUT', `method names must be unique, got ${names.join(', ')}`);
  const drawsOf = new Map(o.methods.map((m) => [m.name, m.draws ?? 1]));
  for (const [m, k] of drawsOf) if (!Number.isInteger(k) || k < 1) throw new ProbityError('BENCH_INPUT', `method ${m} has draws ${show(k)}; expected a positive integer`);
  const docsSeed = o.docsSeed ?? 0;
  const includeEos = o.includeEos ?? false;
  const minPos = o.minTestPositives ?? 20;
  const nBins = o.nBins ?? 10;
  const iterations = o.bootstrapIterations ?? 2000;
  const boot = { iterations, alpha: 0.05, seed: 0 };
  const poolDocs = o.trainDocs + o.valDocs + o.testDocs;
  const acts =
    o.activations ?? (await collectConceptActivations(o.model, o.hook, { docsSeed, nDocs: poolDocs, batchRows: o.batchRows, includeEos }));
  if (acts.nDocs < poolDocs) throw new ProbityError('BENCH_INPUT', `activations hold ${acts.nDocs} documents, need ${poolDocs}`);
  const notes: string[] = [];
  const t0 = Date.now();

  // Splits and the token rows of each side, per seed.
  const splits = o.seeds.map((s) => splitDocuments(poolDocs, o.trainDocs, o.testDocs, s, o.valDocs));
  const sides = splits.map((sp) => ({ trainRows: side(acts, sp.train).rows, valRows: side(acts, sp.val).rows, testRows: side(acts, sp.test).rows }));

  // Concepts with too few positives in any split are skipped.
  const skipped: { concept: string; reason: string }[] = [];
  const kept: string[] = [];
  for (const c of concepts) {
    const b = bit(c as Concept);
    let reason: string | null = null;
    const count = (rows: Int32Array) => rows.reduce((a, t) => a + ((acts.labels[t] & b) !== 0 ? 1 : 0), 0);
    for (let i = 0; i < splits.length && !reason; i++) {
      const seed = splits[i].seed;
      const { trainRows, valRows, testRows } = sides[i];
      const [trP, vaP, teP] = [count(trainRows), count(valRows), count(testRows)];
      if (teP < minPos) reason = `${teP} positive test tokens with seed ${seed} (< ${minPos})`;
      else if (trP === 0) reason = `no positive train tokens with seed ${seed}`;
      else if (vaP === 0) reason = `no positive validation tokens with seed ${seed}`;
      else if (trP === trainRows.length || vaP === valRows.length || teP === testRows.length) reason = `no negative tokens on some side with seed ${seed}`;
    }
    if (reason) skipped.push({ concept: c, reason });
    else kept.push(c);
  }
  for (const s of skipped) notes.push(`skipped ${s.concept}: ${s.reason}`);

  // The bootstrap draws (test documents per seed), shared by every row and comparison.
  const draws = new SharedDraws(splits.map((sp) => sp.test), [...drawsOf.values()], boot);
  const R = draws.replicates;
  // reps[key(seedIndex, concept, method, metric)][b]: the metric on replicate b (b = 0: the original test set).
  const reps = new Map<string, Float64Array>();
  const key = (si: number, c: string, m: string, metric: DetectMetric) => `${si}\u0000${c}\u0000${m}\u0000${metric}`;

  const methodsOf = (seed: number) => seedMethods(o.methods, o.methodsForSeed, seed);
  const perSeed: DetectSeedValue[] = [];
  const sensitivity: SensitivityTable[] = [];
  let bootMs = 0;
  for (let i = 0; i < splits.length; i++) {
    const seed = splits[i].seed;
    const { trainRows, valRows, testRows } = sides[i];
    const xTrain = side(acts, splits[i].train).x;
    const xVal = side(acts, splits[i].val).x;
    const xTest = side(acts, splits[i].test).x;
    // Test documents in pool order and each test token's slot among them (the bootstrap's clusters).
    const testDocs = splits[i].test;
    const nT = testDocs.length;
    const slot = new Map<number, number>(testDocs.map((k, j) => [k, j]));
    const tokSlot = Int32Array.from(testRows, (t) => slot.get(acts.doc[t]) as number);
    const W = draws.weights[i];
    for (const c of kept) {
      o.onProgress?.(`detect seed ${seed}: ${c}`);
      const b = bit(c as Concept);
      const labelsOf = (rows: Int32Array) => Uint8Array.from(rows, (t) => ((acts.labels[t] & b) !== 0 ? 1 : 0));
      const yTrain = labelsOf(trainRows);
      const yVal = labelsOf(valRows);
      const yTest = labelsOf(testRows);
      const docPos = new Uint8Array(nT);
      for (let j = 0; j < yTest.length; j++) if (yTest[j]) docPos[tokSlot[j]] = 1;
      const nPos = yTest.reduce((a, v) => a + v, 0);
      const nPosDocs = docPos.reduce((a, v) => a + v, 0);
      const nValNeg = yVal.length - yVal.reduce((a, v) => a + v, 0);
      const train: ConceptData = { x: xTrain, n: trainRows.length, d: acts.d, labels: yTrain };
      const unit = `detect/${c}`;
      for (const m of methodsOf(seed)) {
        const nDraws = drawsOf.get(m.name)!;
        // Per fit k and metric: the metric on every replicate.
        const perFit = Array.from({ length: nDraws }, () => Object.fromEntries(DETECT_METRICS.map((metric) => [metric, new Float64Array(R)])) as Record<DetectMetric, Float64Array>);
        for (let k = 0; k < nDraws; k++) {
          const acc = perFit[k];
          const ctx: FitContext = nDraws > 1 ? { unit, draw: k } : { unit };
          const fitted = await m.fit(train, seed, ctx);
          const sVal = await fitted.score(xVal, valRows.length);
          const s = await fitted.score(xTest, testRows.length);
          for (const [sc, n, what] of [[sVal, valRows.length, 'validation'], [s, testRows.length, 'test']] as const) {
            if (sc.length !== n) throw new ProbityError('INTERNAL', `${m.name} returned ${sc.length} scores for ${n} ${what} tokens`);
            for (let j = 0; j < sc.length; j++) {
              if (!Number.isFinite(sc[j])) throw new ProbityError('BENCH_NUMERIC', `${m.name} gave a non-finite score on ${c} (seed ${seed}, ${what} token ${j})`);
            }
          }
          // Choices on validation: the threshold that at most TARGET_FPR of the validation negatives exceed.
          const valAuroc = auroc(sVal, yVal);
          const threshold = rocPointAtFpr(sVal, yVal, TARGET_FPR).threshold;
          // Sequence scores: max over a document's test tokens. A test document with no kept tokens (empty text)
          // has no score and is left out of the sequence AUROC.
          const docMax = new Float64Array(nT).fill(-Infinity);
          for (let j = 0; j < s.length; j++) if (s[j] > docMax[tokSlot[j]]) docMax[tokSlot[j]] = s[j];
          const seqIdx = Array.from(docMax.keys()).filter((j) => Number.isFinite(docMax[j]));
          const seqScores = seqIdx.map((j) => docMax[j]);
          const seqLabels = seqIdx.map((j) => docPos[j]);
          // Direct values on the test set (stats/auroc.ts), then the same metrics on every bootstrap replicate.
          let above = 0;
          let negAbove = 0;
          for (let j = 0; j < s.length; j++) if (s[j] > threshold) yTest[j] ? above++ : negAbove++;
          const direct: Record<DetectMetric, number> = {
            auroc: auroc(s, yTest),
            auroc_seq: auroc(seqScores, seqLabels), // NaN when every (or no) test document carries c
            recall_at_1fpr: above / nPos,
            fpr_at_1fpr_threshold: negAbove / (yTest.length - nPos),
          };
          const tb = Date.now();
          const tok = new ClusteredAuroc(s, yTest, tokSlot, nT);
          const seq = new ClusteredAuroc(seqScores, seqLabels, seqIdx, nT);
          const rates = new ClusteredRates(s, yTest, tokSlot, nT, threshold);
          // Replicate 0 is the original test set (every weight 1): the weighted computation must reproduce the direct one.
          const w0: Record<DetectMetric, number> = { auroc: tok.auroc(W, 0), auroc_seq: seq.auroc(W, 0), recall_at_1fpr: rates.recall(W, 0), fpr_at_1fpr_threshold: rates.fpr(W, 0) };
          for (const metric of DETECT_METRICS) {
            const [a, e] = [w0[metric], direct[metric]];
            if (!(Math.abs(a - e) < 1e-9 || (Number.isNaN(a) && Number.isNaN(e)))) {
              throw new ProbityError('INTERNAL', `${m.name} on ${c} (seed ${seed}): weighted ${metric} ${a} differs from the direct ${e}`);
            }
          }
          const [aTok, aSeq, aRec, aFpr] = DETECT_METRICS.map((metric) => acc[metric]);
          for (let r = 0; r < R; r++) {
            const off = r * nT;
            aTok[r] = tok.auroc(W, off);
            aSeq[r] = seq.auroc(W, off);
            aRec[r] = rates.recall(W, off);
            aFpr[r] = rates.fpr(W, off);
          }
          bootMs += Date.now() - tb;
          perSeed.push({
            concept: c,
            method: m.name,
            seed,
            ...(nDraws > 1 ? { draw: k } : {}),
            ...direct,
            val_auroc: valAuroc,
            threshold,
            nTestTokens: testRows.length,
            nTestPositives: nPos,
            nTestDocs: nT,
            nTestPositiveDocs: nPosDocs,
            nValTokens: valRows.length,
            nValNegatives: nValNeg,
          });
          if (k === 0) sensitivity.push({ concept: c, method: m.name, seed, ...(nDraws > 1 ? { draw: 0 } : {}), bins: quantileBins(s, yTest, nBins) });
        }
        for (const metric of DETECT_METRICS) {
          if (nDraws === 1) {
            reps.set(key(i, c, m.name, metric), perFit[0][metric]);
            continue;
          }
          // Several fits: per replicate, the mean over that replicate's redrawn fits (replicate 0: all of them once).
          const picks = draws.fits(i, nDraws);
          const a = new Float64Array(R);
          for (let r = 0; r < R; r++) {
            let sum = 0;
            for (let j = 0; j < nDraws; j++) sum += perFit[picks[r * nDraws + j]][metric][r];
            a[r] = sum / nDraws;
          }
          reps.set(key(i, c, m.name, metric), a);
        }
      }
    }
  }
  const fitMs = Date.now() - t0 - bootMs;
  o.onProgress?.(`detect: intervals and paired comparisons (${iterations} resamples)`);

  // Rows: per (concept, method, metric), the mean over seeds; its interval from the shared draws.
  const S = splits.length;
  const testPerSeed = [...new Set(splits.map((sp) => sp.test.length))].join('/');
  const baseLabel =
    `95% cluster bootstrap over test documents (${testPerSeed} per seed; the ${draws.union.length} distinct test documents of ${S} split seed${S === 1 ? '' : 's'} redrawn together, ${iterations} resamples; splits fixed, not resampled)`;
  const labelOf = (m: string) => {
    const k = drawsOf.get(m)!;
    return k > 1 ? `${baseLabel}; per seed the mean over ${k} fits (draws), the fits redrawn with replacement too` : baseLabel;
  };
  const rows: DetectRow[] = [];
  const rowStat = new Map<string, Float64Array>(); // (concept, method, metric) -> per-replicate mean over seeds
  const invalid = new Map<string, number>(); // concept -> most replicates any of its rows left out
  const finiteSeeds = (c: string, m: string, metric: DetectMetric) =>
    splits.map((_, i) => i).filter((i) => Number.isFinite(reps.get(key(i, c, m, metric))![0]));
  for (const c of kept) {
    for (const m of names) {
      for (const metric of DETECT_METRICS) {
        const seedsOk = finiteSeeds(c, m, metric);
        if (seedsOk.length === 0) {
          notes.push(`${c} / ${m} / ${metric}: undefined in every seed (e.g. every test document carries the concept); no row`);
          continue;
        }
        const stat = meanOfArrays(seedsOk.map((i) => reps.get(key(i, c, m, metric))!), R);
        rowStat.set(`${c}\u0000${m}\u0000${metric}`, stat);
        const ci = draws.interval(stat);
        if (ci.nInvalid > 0) invalid.set(c, Math.max(invalid.get(c) ?? 0, ci.nInvalid));
        rows.push({
          suite: 'detect',
          task: 'concept-detection',
          concept: c,
          method: m,
          metric,
          mean: stat[0],
          ci_low: ci.lo,
          ci_high: ci.hi,
          n_seeds: seedsOk.length,
          interval: labelOf(m),
        });
      }
    }
  }

  // Each metric averaged over concepts, per method (same draws).
  const overConcepts: DetectSummary[] = [];
  for (const m of names) {
    for (const metric of DETECT_METRICS) {
      const stats = kept.map((c) => rowStat.get(`${c}\u0000${m}\u0000${metric}`)).filter((x): x is Float64Array => x !== undefined);
      if (stats.length === 0) continue;
      const stat = meanOfArrays(stats, R);
      const ci = draws.interval(stat);
      overConcepts.push({ method: m, metric, mean: stat[0], ci_low: ci.lo, ci_high: ci.hi, n_concepts: stats.length, interval: `${labelOf(m)}; mean over ${stats.length} concepts per replicate` });
    }
  }

  // Spread of the controls fitted several times: per draw, the mean over seeds.
  const controlSpread: ControlSpread[] = [];
  for (const m of names) {
    const k = drawsOf.get(m)!;
    if (k < 2) continue;
    for (const c of kept) {
      for (const metric of DETECT_METRICS) {
        const values = Array.from({ length: k }, (_, d) => {
          const v = perSeed.filter((p) => p.concept === c && p.method === m && p.draw === d).map((p) => p[metric]).filter(Number.isFinite);
          return v.length ? mean(v) : NaN;
        }).filter(Number.isFinite);
        if (values.length === 0) continue;
        controlSpread.push({
          concept: c, method: m, metric, draws: values.length, values, mean: mean(values),
          sd: values.length > 1 ? std(values) : NaN, min: Math.min(...values), max: Math.max(...values),
        });
      }
    }
  }

  // The best baseline, chosen on validation.
  const baselineCandidates: BaselineCandidate[] = names
    .filter((m) => !isSaeMethod(m) && !CONTROL_METHODS.has(m))
    .map((m) => {
      const v = perSeed.filter((p) => p.method === m && kept.includes(p.concept));
      const avgOf = (xs: number[]) => (xs.filter(Number.isFinite).length ? mean(xs.filter(Number.isFinite)) : NaN);
      return { method: m, val_auroc: avgOf(v.map((p) => p.val_auroc)), test_auroc: avgOf(v.map((p) => p.auroc)) };
    })
    .filter((x) => Number.isFinite(x.val_auroc));
  const argmax = (by: 'val_auroc' | 'test_auroc') => baselineCandidates.reduce<BaselineCandidate | null>((a, x) => (!a || x[by] > a[by] ? x : a), null)?.method ?? null;
  const bestBaseline = argmax('val_auroc');
  const byTest = argmax('test_auroc');
  if (bestBaseline && byTest && byTest !== bestBaseline) {
    notes.push(`best baseline chosen on validation: ${bestBaseline}; on test documents ${byTest} would have scored higher (the test set is not used to choose)`);
  }

  // Paired comparisons against it: same draws for both methods.
  const comparisons: DetectComparison[] = [];
  if (bestBaseline && kept.length) {
    for (const m of names) {
      if (m === bestBaseline) continue;
      for (const metric of COMPARED_METRICS) {
        const perConcept: Float64Array[] = [];
        let maxSeeds = 0;
        for (const c of kept) {
          const seedsOk = finiteSeeds(c, m, metric).filter((i) => Number.isFinite(reps.get(key(i, c, bestBaseline, metric))![0]));
          if (seedsOk.length === 0) continue;
          const diffs = seedsOk.map((i) => {
            const a = reps.get(key(i, c, m, metric))!;
            const bb = reps.get(key(i, c, bestBaseline, metric))!;
            return Float64Array.from(a, (v, r) => v - bb[r]);
          });
          const stat = meanOfArrays(diffs, R);
          perConcept.push(stat);
          maxSeeds = Math.max(maxSeeds, seedsOk.length);
          const ci = draws.interval(stat);
          comparisons.push({
            method: m, baseline: bestBaseline, metric, concept: c, diff: stat[0], ci_low: ci.lo, ci_high: ci.hi, p: ci.p,
            n_concepts: 1, n_seeds: seedsOk.length, interval: `${labelOf(m)}; both methods on the same redrawn documents`,
          });
        }
        if (perConcept.length === 0) continue;
        const stat = meanOfArrays(perConcept, R);
        const ci = draws.interval(stat);
        comparisons.push({
          method: m, baseline: bestBaseline, metric, concept: null, diff: stat[0], ci_low: ci.lo, ci_high: ci.hi, p: ci.p,
          n_concepts: perConcept.length, n_seeds: maxSeeds,
          interval: `${labelOf(m)}; both methods on the same redrawn documents; mean over ${perConcept.length} concepts per replicate`,
        });
      }
    }
  }
  const totalMs = Date.now() - t0;

  notes.push(
    `intervals: ${baseLabel}. The independent unit is the test document (its tokens share a context and are not independent): a replicate redraws the distinct test documents of all seeds with replacement, once, so a document in several seeds' test sets (the splits are overlapping subsets of one pool) carries the same multiplicity in each; every metric is recomputed per seed on its redrawn test documents (all their tokens) and averaged over seeds. ` +
      `The ${S} seeds are a design factor (each its own train/validation/test split${o.methodsForSeed ? ' and its own methods, e.g. its own SAE' : ''}), not resampled: the intervals cover test-document sampling, not the variation between training splits or SAE training seeds (the per-seed values in perSeed show that spread; with ${S} seeds it could not be estimated as an interval anyway).`,
    `chosen on validation (${o.valDocs} documents per seed) and held fixed in the bootstrap: the best baseline (${bestBaseline ?? 'none'}) and each recall threshold (at most ${TARGET_FPR * 100}% of the validation negatives above it; fpr_at_1fpr_threshold is the FPR it gives on test).`,
    `timing: fits and scores ${(fitMs / 1000).toFixed(1)} s, bootstrap metrics ${(bootMs / 1000).toFixed(1)} s (${iterations} resamples), intervals ${((totalMs - fitMs - bootMs) / 1000).toFixed(1)} s`,
  );
  if (invalid.size) {
    const list = [...invalid].map(([c, k]) => `${c} ${k} of ${iterations}`).join(', ');
    notes.push(`bootstrap replicates where a metric is undefined (the redrawn test documents of some seed hold no positive, or no negative, token or document of the concept) are left out of that row's percentiles, so its interval is conditional on both classes being drawn; at most, per concept: ${list}`);
  }

  const provenance: DetectProvenance = {
    model: o.model.source,
    hook: o.hook,
    sae: o.sae ? (o.sae.source ?? 'in-memory SAE') : null, // the SAE of the default methods (see methodsForSeed)
    docsSeed,
    seeds: [...o.seeds],
    trainDocs: o.trainDocs,
    valDocs: o.valDocs,
    testDocs: o.testDocs,
    poolDocs,
    poolTokens: acts.n,
    d: acts.d,
    includeEos,
    minTestPositives: minPos,
    bootstrap: { ...boot, unit: 'test document (all its tokens)', strata: 'split seed (not resampled)' },
    draws: Object.fromEntries([...drawsOf].filter(([, k]) => k > 1)),
    methods: names,
    concepts: kept,
  };
  return { rows, perSeed, sensitivity, overConcepts, controlSpread, comparisons, bestBaseline, baselineCandidates, skipped, splits, notes, provenance };
}

/** A compact text table: mean [ci_low, ci_high] of one metric, concepts x methods. */
export function formatDetectTable(
  rows: readonly { concept: string; method: string; metric: string; mean: number; ci_low: number; ci_high: number }[],
  metric: DetectMetric = 'auroc',
): string {
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
