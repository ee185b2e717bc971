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

/** A concept method: fit(train, seed) -> FittedMethod. Fitting must be a pure function of (train, seed). `F` lets a
 *  method promise extra fields on its fitted result (e.g. which SAE latent it picked). */
export interface Method<F extends FittedMethod = FittedMethod> {
  name: string;
  fit(train: ConceptData, seed: number): Promise<F>;
}
