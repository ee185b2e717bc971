// Shared types for concept-detection / steering methods compared on ground-truth concepts (AxBench-style).
// Every method is fitted on a labelled train split and yields (a) a per-token detector score (higher = concept more
// likely present) and (b) an optional unit steering direction in activation space.

/** Labelled activations for one concept. */
export interface ConceptData {
  /** [n, d] activations, row-major. */
  x: Float32Array;
  n: number;
  d: number;
  /** [n] 1 = the concept is present at this token, 0 = absent. */
  labels: Uint8Array;
}

/** A method after fitting on a train split. */
export interface FittedMethod {
  name: string;
  /** [n] detector score for x [n, d] (higher = more concept). */
  score(x: Float32Array, n: number): Promise<Float32Array>;
  /** [d] unit steering direction in activation space, or null when the method has none. */
  direction: Float32Array | null;
}

/** What a fit is for: the unit it serves (a concept in detection, a target in steering) and, for controls fitted
 *  several times per unit, which draw. Methods that learn from the labels ignore it. */
export interface FitContext {
  /** e.g. 'detect/tone:sad' or 'steer/code:regex'. */
  unit: string;
  /** 0 .. draws - 1 (default 0). */
  draw?: number;
}

/** A concept method: fit(train, seed, ctx) -> FittedMethod. Fitting must be a pure function of (train, seed, ctx).
 *  `F` lets a method promise extra fields on its fitted result (e.g. which SAE latent it picked). */
export interface Method<F extends FittedMethod = FittedMethod> {
  name: string;
  /** Independent fits a task makes per (seed, unit) and summarises (a random control: several fresh directions per
   *  unit, never one shared across units). Absent = 1. */
  draws?: number;
  fit(train: ConceptData, seed: number, ctx?: FitContext): Promise<F>;
}
