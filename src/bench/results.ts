// The file format of a benchmark run (`probity bench --out DIR` writes DIR/results.json and DIR/report.html).
//
// `rows` is the flat table every consumer reads first: one row per (suite, task, concept/target, method, metric) with
// the mean over seeds and a 95% bootstrap interval over the per-seed values. The suite sections keep what the
// table cannot: per-seed values, sensitivity bins, paired comparisons, the steering sweep, notes. `provenance` says
// exactly what produced the numbers (model and SAE file hashes, seeds, code version, command line).
import type { DetectResult } from './tasks/detect.js';

export const RESULTS_VERSION = 1;

export interface ResultRow {
  suite: 'detect' | 'steer';
  task: string;
  /** Detection: the concept; steering: the target concept. */
  concept: string;
  method: string;
  metric: string;
  mean: number;
  ci_low: number;
  ci_high: number;
  n_seeds: number;
}

/** One steering measurement: one method at one strength on one split of one seed's prompts. */
export interface SteerPoint {
  target: string;
  method: string;
  /** Multiple of the mean activation norm at the hook added along the unit direction (0 for prompt/rejection/unsteered). */
  strength: number;
  split: 'val' | 'test';
  seed: number;
  /** Share of outputs the labeller judges on target. */
  success: number;
  /** Share of outputs the organism grammar accepts. */
  valid: number;
  /** Share of outputs both on target and grammatical (the quantity strengths are chosen by). */
  success_valid: number;
  /** Mean per-token negative log-likelihood of the output under the unsteered model (nats). */
  nll: number;
  /** Mean KL(unsteered || steered) of next-token distributions on neutral texts (nats; 0 for prompt/rejection). */
  kl: number;
  /** Model samples spent per output (1, or N for rejection sampling). */
  samples_per_output: number;
  n_outputs: number;
}

export interface SteerComparison {
  target: string;
  method: string;
  baseline: string;
  metric: string;
  diff: number;
  ci_low: number;
  ci_high: number;
  p: number;
  n_units: number;
}

export interface SteerSection {
  targets: string[];
  methods: string[];
  strengths: number[];
  /** Every measured point: the sweep on the validation prompts and the chosen strength on the test prompts. */
  points: SteerPoint[];
  /** The strength chosen on the validation split, per (target, method, seed). */
  chosen: { target: string; method: string; seed: number; strength: number }[];
  /** Paired comparisons (over test outputs pooled across seeds) of each method against the best non-SAE baseline. */
  comparisons: SteerComparison[];
  /** Examples of test outputs (a few per target and method) so a reader can check the labeller. */
  examples: { target: string; method: string; strength: number; prompt: string; output: string; success: boolean; valid: boolean }[];
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
  machine: { cpus: number; cpu: string; node: string; platform: string };
  model: { source: string; sha256: string | null; arch: string; params: number };
  /** The SAEs of the run; split seed i uses saes[i % saes.length] (one SAE per seed when several are given, so the
   *  intervals cover SAE training seeds too). Empty when the run had no SAE. */
  saes: { source: string; sha256: string | null; hook: string; arch: string; d_sae: number; seed: number | null; used_with_seeds: number[] }[];
  hook: string;
  seeds: number[];
  docs_seed: number;
  config: Record<string, unknown>;
}

export interface BenchResults {
  version: typeof RESULTS_VERSION;
  suites: ('detect' | 'steer')[];
  quick: boolean;
  rows: ResultRow[];
  detect?: DetectSection;
  steer?: SteerSection;
  provenance: Provenance;
  notes: string[];
}
