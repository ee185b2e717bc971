// The file format of a benchmark run (`probity bench --out DIR` writes DIR/results.json and DIR/report.html).
//
// `rows` is the flat table every consumer reads first: one row per (suite, task, concept/target, method, metric) with
// the mean over seeds and a 95% interval whose `interval` field says what it is over (detection: a cluster bootstrap
// over test documents within the split seeds). The suite sections keep what the
// table cannot: per-seed values, sensitivity bins, paired comparisons, the steering sweep, notes. `provenance` says
// exactly what produced the numbers (model and SAE file hashes, seeds, code version, command line).
import type { DetectResult } from './tasks/detect.js';
import type { ConditionalSection } from './tasks/conditional.js';
import type { SpuriousSection } from './tasks/spurious.js';
import type { AuditSection } from './tasks/audit.js';
import type { CircuitsSection } from './tasks/circuits.js';

export type SuiteName = 'detect' | 'steer' | 'conditional' | 'spurious' | 'audit' | 'circuits';

export const RESULTS_VERSION = 3; // 2: validation splits, cluster-bootstrap intervals with `interval` labels, steering curves and grids;
// 3: one prompt split for all seeds, one strength per (target, method) pooled over seeds, intervals re-choosing it, conditional and spurious suites

export interface ResultRow {
  suite: SuiteName;
  task: string;
  /** Detection: the concept; steering: the target concept. */
  concept: string;
  method: string;
  /** Which operating point of the method (e.g. a strength) when a suite reports several per method (conditional). */
  setting?: string;
  metric: string;
  mean: number;
  ci_low: number;
  ci_high: number;
  n_seeds: number;
  /** What [ci_low, ci_high] is over, e.g. 'cluster bootstrap over test documents (160 per seed) within 3 split seeds'. */
  interval?: string;
  /** A control fitted several times per unit (the random direction): the spread of the metric over its draws. */
  draws?: { n: number; sd: number; min: number; max: number; over: string };
}

/** One steering measurement: one method at one strength on one split of one seed's prompts. */
export interface SteerPoint {
  target: string;
  /** A method name; `<method>@gen` steers only the generating positions. */
  method: string;
  /** Multiple of the mean activation norm at the hook added along the unit direction (0 for prompt/rejection/unsteered). */
  strength: number;
  split: 'val' | 'test';
  seed: number;
  /** Which direction of a control fitted several times per (seed, target) (the random control). */
  draw?: number;
  /** Share of outputs the labeller judges on target. */
  success: number;
  /** Share of outputs the organism grammar accepts (judged on the same text as success). */
  valid: number;
  /** Share of outputs both on target and grammatical (the quantity strengths are chosen by). */
  success_valid: number;
  /** Mean per-token negative log-likelihood of the output under the unsteered model (nats). */
  nll: number;
  /** Mean KL(unsteered || steered) of next-token distributions on neutral texts (nats; NaN, i.e. null in JSON, for
   *  methods that add no vector). */
  kl: number;
  /** Model samples spent per output (1, or N for rejection sampling). */
  samples_per_output: number;
  n_outputs: number;
  /** Prompts the outputs came from (the clusters of the intervals). */
  n_prompts: number;
}

export interface SteerComparison {
  target: string;
  method: string;
  baseline: string;
  /** How the baseline was picked (on validation, never on test). */
  baseline_rule: string;
  metric: string;
  diff: number;
  ci_low: number;
  ci_high: number;
  p: number;
  /** Test prompts over all seeds (the clusters resampled). */
  n_units: number;
  interval: string;
}

/** The strength grid of one (target, method), grown on validation (pooled over seeds and draws) until validity breaks. */
export interface SteerGrid {
  target: string;
  method: string;
  strengths: number[];
  /** Smallest strength whose validation validity is below `floor`; null when not reached by the largest strength. */
  collapse: number | null;
  valid_at_collapse: number | null;
  /** Whether the grid stopped at the maximum strength. */
  reached_cap: boolean;
  floor: number;
}

export interface SteerSection {
  targets: string[];
  methods: string[];
  /** The starting grid (each method's own grid is in `grid`). */
  strengths: number[];
  grid: SteerGrid[];
  settings: Record<string, unknown>;
  /** Every measured point: the whole grid of every direction on validation AND test prompts, and the baselines. */
  points: SteerPoint[];
  /** The one validation / test split of each target's prompts (prompt ids), shared by every seed. */
  prompt_split: { target: string; seed: number; val: string[]; test: string[] }[];
  /** The strength chosen per (target, method) on validation success_valid pooled over seeds and draws, that value,
   *  the outputs and prompts it pooled, and `agreement`: the share of bootstrap resamples of the validation prompts
   *  that choose the same strength. */
  chosen: { target: string; method: string; strength: number; val_success_valid: number; n_val_outputs: number; n_val_prompts: number; agreement: number }[];
  /** Validation success_valid of the candidates for the comparisons' baseline (the best is the baseline). */
  baselines: { target: string; method: string; val_success_valid: number }[];
  /** Paired comparisons on the test prompts against the validation-chosen baseline and against prompting. */
  comparisons: SteerComparison[];
  /** Examples of test outputs (a few per target and method, at the chosen strength and at the collapse point). */
  examples: { target: string; method: string; strength: number; prompt: string; output: string; success: boolean; valid: boolean; at_collapse?: boolean }[];
  notes: string[];
}

/** The detection task's result without its rows (they are in `rows`) and provenance (in `provenance`). */
export type DetectSection = Omit<DetectResult, 'rows' | 'provenance'>;

export interface Provenance {
  probity_version: string;
  /** `git describe --always --dirty` of the code that ran, or null outside a git checkout. */
  code_version: string | null;
  command: string;
  started: string;
  finished: string;
  wall_s: number;
  /** Seconds per part of the run: `activations` (the shared document pool) and each suite. */
  suite_wall_s?: Record<string, number>;
  machine: { cpus: number; cpu: string; node: string; platform: string };
  model: { source: string; sha256: string | null; arch: string; params: number };
  /** The SAEs of the run; split seed i uses saes[i % saes.length] (one SAE per seed when several are given, so the
   *  intervals cover SAE training seeds too). Empty when the run had no SAE. */
  saes: { source: string; sha256: string | null; hook: string; arch: string; d_sae: number; seed: number | null; used_with_seeds: number[] }[];
  /** The circuits suite's per-layer transcoders. */
  transcoders?: { source: string; sha256: string | null; layer: number; arch: string; d_sae: number }[];
  hook: string;
  seeds: number[];
  docs_seed: number;
  config: Record<string, unknown>;
}

export interface BenchResults {
  version: typeof RESULTS_VERSION;
  suites: SuiteName[];
  quick: boolean;
  rows: ResultRow[];
  detect?: DetectSection;
  steer?: SteerSection;
  conditional?: ConditionalSection;
  spurious?: SpuriousSection;
  audit?: AuditSection;
  circuits?: CircuitsSection;
  provenance: Provenance;
  notes: string[];
}
