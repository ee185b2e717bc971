// What an activation codec produces, and the interface the metrics and baselines share. A codec maps activations
// x [n, dIn] to a code over dSae latents and back to a reconstruction xhat [n, dIn]; SAEs, PCA, k-means and random
// dictionaries all fit, so they can be scored by the same accumulators at equal sparsity.
import { ProbityError, show } from '../../errors.js';

/**
 * Fixed-width sparse code, as TopK SAEs produce it: per token k (index, value) pairs, row-major [n, k].
 * An entry with value 0 is inactive and its index is ignored (TopK followed by ReLU zeroes some; codecs that pick
 * fewer than k atoms pad with index 0, value 0). Indices within a token are distinct among active entries.
 */
export interface SparseCode {
  kind: 'sparse';
  n: number;
  k: number;
  dSae: number;
  indices: Int32Array;
  values: Float32Array;
}

/** Dense code [n, dSae] row-major (ReLU / JumpReLU SAEs); zeros are inactive latents. */
export interface DenseCode {
  kind: 'dense';
  n: number;
  dSae: number;
  values: Float32Array;
}

export type Code = SparseCode | DenseCode;

export interface Codec {
  name: string;
  dIn: number;
  /** Number of latents (dictionary size); the range of code indices. */
  dSae: number;
  /** x: [n, dIn] row-major. */
  encode(x: Float32Array, n: number): SparseCode;
  /** Reconstruction [code.n, dIn]. */
  decode(code: SparseCode): Float32Array;
}

export function checkRows(a: ArrayLike<number>, n: number, d: number, what: string): void {
  if (!Number.isInteger(n) || n < 0 || !Number.isInteger(d) || d < 1) throw new ProbityError('METRICS_SHAPE', `${what}: bad shape [${show(n)}, ${show(d)}]`);
  if (a.length !== n * d) throw new ProbityError('METRICS_SHAPE', `${what} has ${a.length} elements; expected [${n}, ${d}] = ${n * d}`);
}

export function checkCode(code: Code): void {
  if (code.kind === 'dense') {
    checkRows(code.values, code.n, code.dSae, 'dense code');
    return;
  }
  if (!Number.isInteger(code.k) || code.k < 0 || code.values.length !== code.n * code.k || code.indices.length !== code.values.length) {
    throw new ProbityError(
      'METRICS_SHAPE',
      `sparse code [n=${code.n}, k=${show(code.k)}] needs ${code.n * code.k} indices and values, has ${code.indices.length} and ${code.values.length}`,
    );
  }
  for (let i = 0; i < code.indices.length; i++) {
    const j = code.indices[i];
    if (code.values[i] !== 0 && !(j >= 0 && j < code.dSae)) {
      throw new ProbityError('METRICS_SHAPE', `sparse code index ${j} at entry ${i} is outside [0, ${code.dSae})`);
    }
  }
}

/**
 * Indices of the k largest keys, largest first; ties go to the lower index so results are deterministic.
 * Keys that are -Infinity are never chosen (fewer than k may come back). Small k: one pass with an insertion
 * buffer, O(m k); large k: a full sort, O(m log m).
 */
export function topKIndices(keys: ArrayLike<number>, k: number): number[] {
  const m = keys.length;
  if (k * 8 >= m) {
    const all = Array.from({ length: m }, (_, i) => i).filter((i) => keys[i] > -Infinity);
    return all.sort((a, b) => keys[b] - keys[a] || a - b).slice(0, k);
  }
  const best: number[] = [];
  for (let i = 0; i < m; i++) {
    const v = keys[i];
    if (!(v > -Infinity)) continue;
    if (best.length === k && !(v > keys[best[k - 1]])) continue;
    let p = best.length === k ? k - 1 : best.length;
    while (p > 0 && keys[best[p - 1]] < v) {
      best[p] = best[p - 1];
      p--;
    }
    best[p] = i;
  }
  return best;
}
