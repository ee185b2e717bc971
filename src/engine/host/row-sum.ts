// Sparse row sums on the host: out[t] = sum over entries n with target[n] = t of coef[n] * src[source[n]].
// This is the gradient of every sparse SAE step (TopK, BatchTopK, AuxK): W_enc rows receive d * x of the tokens
// that chose them, W_dec rows a * (dL/dx^), and BatchTopK's reconstruction sums each token's picks. onnxruntime can
// only say it as ScatterND 'add' over a materialised [entries, D] tensor, which its threads sum with lost updates
// (engine/ops/indexing.ts), or as a sequential ScatterElements, ~25x slower. Here the entries are counting-sorted by
// target row in JavaScript and kernels.wat's row_sum writes each output row once, in entry order: exact, the same on
// every run, and no [entries, D] tensor (at 768 -> 12288, k 32, batch 4096: ~22 ms per sum in one thread, measured).
import { ProbityError } from '../../errors.js';
import { Arena, Helper, kernels, type Slice } from './wasm.js';

/** Non-negative int64 indices as int32 (little-endian low words; the high word must be 0). */
export function int64Low(a: BigInt64Array, what: string, limit: number, arena?: Arena): Int32Array {
  if (arena) return arena.memo(a, `low:${limit}`, () => int64Low(a, what, limit));
  const w = new Int32Array(a.buffer, a.byteOffset, a.length * 2);
  const out = new Int32Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const v = w[2 * i];
    if (w[2 * i + 1] !== 0 || v < 0 || v >= limit) throw new ProbityError('HOST_INDEX', `${what}[${i}] = ${a[i]} is outside [0, ${limit})`);
    out[i] = v;
  }
  return out;
}

export interface RowSumArgs {
  /** Output rows T; each entry's target row in [0, T). */
  rows: number;
  target: Int32Array;
  coef: Float32Array;
  /** [R, D] rows to combine. */
  src: Float32Array;
  D: number;
  /** Each entry's source row in [0, R), or `perSource` k: entry n reads row floor(n / k). */
  source: Int32Array | { perSource: number };
}

/**
 * Counting sort of entries by target: seg [rows + 1] (arena offset) and the entries in sorted order; within a target,
 * entries keep their order, so a sum's order is fixed. One step sorts the same indices for several sums (the TopK
 * encoder and decoder gradients): the arena keeps the result for the run.
 */
function sortByTarget(arena: Arena, target: Int32Array, rows: number): { seg: number; segV: Int32Array; order: Int32Array } {
  return arena.memo(target, `sort:${rows}`, () => {
    const N = target.length;
    const seg = arena.alloc((rows + 1) * 4);
    const segV = arena.i32(seg, rows + 1).fill(0);
    for (let n = 0; n < N; n++) {
      const t = target[n];
      if (!(t >= 0 && t < rows)) throw new ProbityError('HOST_INDEX', `row sum: entry ${n} targets row ${t}, outside [0, ${rows})`);
      segV[t + 1]++;
    }
    for (let t = 0; t < rows; t++) segV[t + 1] += segV[t];
    const next = segV.slice(0, rows);
    const order = new Int32Array(N);
    for (let n = 0; n < N; n++) order[next[target[n]]++] = n;
    return { seg, segV, order };
  });
}

/** out [rows, D] in the arena (see Arena: read it through arena.f32 after the run's allocations). */
export function rowSum(arena: Arena, a: RowSumArgs): Slice {
  const N = a.coef.length;
  const R = a.src.length / a.D;
  if (a.target.length !== N) throw new ProbityError('HOST_SHAPE', `row sum: ${a.target.length} targets for ${N} coefficients`);
  const out = arena.alloc(a.rows * a.D * 4);
  const src = arena.copyIn(a.src);
  const { seg, segV, order } = sortByTarget(arena, a.target, a.rows);
  const row = arena.alloc(N * 4);
  const coef = arena.alloc(N * 4);
  const rowV = arena.i32(row, N);
  const coefV = arena.f32(coef, N);
  const per = 'perSource' in a.source ? a.source.perSource : 0;
  const explicit = per ? null : (a.source as Int32Array);
  if (explicit && explicit.length !== N) throw new ProbityError('HOST_SHAPE', `row sum: ${explicit.length} sources for ${N} coefficients`);
  for (let q = 0; q < N; q++) {
    const n = order[q];
    const s = explicit ? explicit[n] : Math.floor(n / per);
    if (!(s >= 0 && s < R)) throw new ProbityError('HOST_INDEX', `row sum: entry ${n} reads source row ${s}, outside [0, ${R})`);
    rowV[q] = s;
    coefV[q] = a.coef[n];
  }
  // Large sums are split between this thread and the helper at the row where half the entries are done.
  const helper = N * a.D >= 2 ** 20 ? Helper.get() : null;
  if (helper) {
    let lo = 0;
    let hi = a.rows;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (segV[mid] < N / 2) lo = mid + 1;
      else hi = mid;
    }
    helper.run('row_sum', [out, src, seg, row, coef], 0, lo, a.rows, a.D);
  } else kernels().exports.row_sum(out, src, seg, row, coef, 0, a.rows, a.D);
  return { offset: out, length: a.rows * a.D };
}
