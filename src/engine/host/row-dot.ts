// Row dot products on the host: out[n] = a[ia[n]] . b[ib[n]]. The other half of sparse SAE arithmetic: the exact
// pre-activations of a TopK step's candidate latents (encoder rows against the token's input), and the gradient of
// a sparse reconstruction with respect to its coefficients (dL/dx^ of the token against the decoder row). onnxruntime
// says it as two Gathers into [entries, D] tensors and a product (600 MB per step for the candidates at 768 -> 12288,
// 4.8 GB for AuxK's 384 picks per token); here no such tensor exists.
import { ProbityError } from '../../errors.js';
import { Arena, Helper, kernels, type Slice } from './wasm.js';

/** Row of each entry: given, or floor(n / perSource). */
export type RowIndex = Int32Array | { perSource: number };

export interface RowDotArgs {
  a: Float32Array; // [Ra, D]
  ia: RowIndex;
  b: Float32Array; // [Rb, D]
  ib: RowIndex;
  D: number;
  /** Entries. */
  N: number;
}

function indexIn(arena: Arena, ix: RowIndex, N: number, rows: number, what: string): number {
  const at = arena.alloc(N * 4);
  const v = arena.i32(at, N);
  if ('perSource' in ix) {
    for (let n = 0; n < N; n++) v[n] = Math.floor(n / ix.perSource);
    if (N > 0 && v[N - 1] >= rows) throw new ProbityError('HOST_INDEX', `row dot: entry ${N - 1} reads ${what} row ${v[N - 1]}, outside [0, ${rows})`);
    return at;
  }
  if (ix.length !== N) throw new ProbityError('HOST_SHAPE', `row dot: ${ix.length} ${what} indices for ${N} entries`);
  for (let n = 0; n < N; n++) {
    const r = ix[n];
    if (!(r >= 0 && r < rows)) throw new ProbityError('HOST_INDEX', `row dot: entry ${n} reads ${what} row ${r}, outside [0, ${rows})`);
    v[n] = r;
  }
  return at;
}

/** out [N] in the arena. */
export function rowDot(arena: Arena, x: RowDotArgs): Slice {
  const out = arena.alloc(x.N * 4);
  const ia = indexIn(arena, x.ia, x.N, x.a.length / x.D, 'a');
  const ib = indexIn(arena, x.ib, x.N, x.b.length / x.D, 'b');
  const a = arena.copyIn(x.a);
  const b = arena.copyIn(x.b);
  const helper = x.N * x.D >= 2 ** 20 ? Helper.get() : null;
  if (helper) helper.run('row_dot', [out, a, ia, b, ib], 0, x.N >> 1, x.N, x.D);
  else kernels().exports.row_dot(out, a, ia, b, ib, 0, x.N, x.D);
  return { offset: out, length: x.N };
}
