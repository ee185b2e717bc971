// Ops computed on the host, between onnxruntime runs: the session layer cuts a graph that holds them into stages
// (session/staged.ts) and runs each host op's kernel (engine/host) on the values the stage before produced.
// They are for the few loops onnxruntime cannot do well and exactly; everything else stays in ONNX.
import type { Attrs, Tensor } from '../graph/graph.js';
import { ShapeError } from '../graph/shape.js';
import { show } from '../../errors.js';
import type { NDArray } from '../ndarray.js';
import type { OpDef } from './def.js';
import { intAttr } from './def.js';
import { div } from './elementwise.js';
import { arange, reshape, reshapeLike } from './shape-ops.js';
import { mulDims } from '../graph/shape.js';
import type { Arena, Slice } from '../host/wasm.js';
import { int64Low, rowSum } from '../host/row-sum.js';
import { rowDot } from '../host/row-dot.js';

/** ONNX domain of host nodes: never written to a model (staged.ts removes them). */
export const HOST_DOMAIN = 'probity.host';

/** A host result: float32 values in the kernels' arena and their dims. */
export type HostValue = Slice & { dims: number[] };

export type HostKernel = (inputs: (NDArray | null)[], attrs: Attrs, arena: Arena) => HostValue[];

function sameShape(a: Tensor, b: Tensor): boolean {
  return a.rank === b.rank && a.shape.every((d, i) => d === b.shape[i]);
}

/**
 * out [rows, D]: out[target[n]] += coef[n] * src[source[n]] over entries n (target, coef, source of one shape);
 * without a source tensor, entry n reads row floor(n / perSource). `rows` is a number, or the first dim of a fifth
 * input (`rowsLike`, e.g. the batch of a symbolic-batch graph). Exact and reproducible (host/row-sum.ts).
 */
export const HostRowSum: OpDef = {
  infer: (ins, attrs) => {
    const [target, coef, src, source, like] = ins as (Tensor | null)[];
    const rows = like ? like.shape[0] : intAttr(attrs, 'rows', -1);
    if (!target || !coef || !src) throw new ShapeError('HostRowSum: needs target, coef and src');
    if (target.dtype !== 'int64') throw new ShapeError(`HostRowSum: target ${target.name} is ${target.dtype}, expected int64`);
    if (coef.dtype !== 'float32' || src.dtype !== 'float32') throw new ShapeError('HostRowSum: coef and src must be float32');
    if (!sameShape(target, coef)) throw new ShapeError(`HostRowSum: target ${show(target.shape)} and coef ${show(coef.shape)} differ`);
    if (src.rank !== 2 || typeof src.shape[1] !== 'number') throw new ShapeError(`HostRowSum: src must be [R, D] with D static, got ${show(src.shape)}`);
    if (source && (source.dtype !== 'int64' || !sameShape(source, target))) throw new ShapeError(`HostRowSum: source must be int64 ${show(target.shape)}`);
    if (!source && !(intAttr(attrs, 'perSource', 0) > 0)) throw new ShapeError('HostRowSum: without a source tensor, perSource must be positive');
    if (!like && !((rows as number) > 0)) throw new ShapeError(`HostRowSum: rows must be positive, got ${rows}`);
    return [{ dtype: 'float32', shape: [rows, src.shape[1]] }];
  },
  vjp: (n, [d], needs) => {
    const [target, coef, src] = n.inputs as Tensor[];
    const R = src.shape[0];
    const per = intAttr(n.attrs, 'perSource', 0);
    const source = n.inputs[3] ?? null;
    // d coef[n] = dOut[target[n]] . src[source[n]]; d src[r] = sum over entries from r of coef[n] dOut[target[n]].
    const dCoef = needs[1] ? hostRowDot(d!, target, src, source ?? { perSource: per }) : null;
    if (needs[2] && typeof R !== 'number') throw new ShapeError(`HostRowSum gradient: src rows must be static, got ${show(src.shape)}`);
    const dSrc = needs[2] ? hostRowSum(R as number, sourceIndex(source, target, per), coef, d!, target) : null;
    return [null, dCoef, dSrc, null, null];
  },
};

/** floor(n / per) for every entry n of `like` (flattened), shaped like it: the implicit row index as a tensor. */
export function rowPerEntry(like: Tensor, per: number): Tensor {
  const flat = reshape(like, [mulDims(like.shape)]);
  return reshapeLike(div(arange(flat, 0), flat.graph.scalar(per, 'int64')), like);
}

/** Source row of every entry, as a tensor shaped like target. */
function sourceIndex(source: Tensor | null, target: Tensor, perSource: number): Tensor {
  return source ?? rowPerEntry(target, perSource);
}

/**
 * out[n] = a[ia[n]] . b[ib[n]] (out shaped like the index tensors); a [Ra, D], b [Rb, D]. Either index may be
 * implicit: `{ perSource: k }` reads row floor(n / k). Exact and reproducible (host/row-dot.ts).
 */
export const HostRowDot: OpDef = {
  infer: (ins, attrs) => {
    const [a, ia, b, ib] = ins as (Tensor | null)[];
    if (!a || !b || a.dtype !== 'float32' || b.dtype !== 'float32') throw new ShapeError('HostRowDot: a and b must be float32');
    if (a.rank !== 2 || b.rank !== 2 || typeof a.shape[1] !== 'number' || a.shape[1] !== b.shape[1]) {
      throw new ShapeError(`HostRowDot: a ${show(a.shape)} and b ${show(b.shape)} must be [R, D] with one static D`);
    }
    const idx = ia ?? ib;
    if (!idx) throw new ShapeError('HostRowDot: at least one index tensor is needed');
    for (const t of [ia, ib]) if (t && (t.dtype !== 'int64' || !sameShape(t, idx))) throw new ShapeError(`HostRowDot: indices must be int64 ${show(idx.shape)}`);
    if ((!ia && !(intAttr(attrs, 'perA', 0) > 0)) || (!ib && !(intAttr(attrs, 'perB', 0) > 0))) throw new ShapeError('HostRowDot: an implicit index needs perA / perB > 0');
    return [{ dtype: 'float32', shape: idx.shape }];
  },
  vjp: (n, [d], needs) => {
    const [a, ia, b, ib] = n.inputs as (Tensor | null)[];
    const idx = (ia ?? ib)!;
    const rowsOf = (t: Tensor) => {
      if (typeof t.shape[0] !== 'number') throw new ShapeError(`HostRowDot gradient: ${t.name} needs static rows, got ${show(t.shape)}`);
      return t.shape[0];
    };
    const iaT = ia ?? sourceIndex(null, idx, intAttr(n.attrs, 'perA', 1));
    const ibT = ib ?? sourceIndex(null, idx, intAttr(n.attrs, 'perB', 1));
    // d a[r] = sum over entries with ia = r of d[n] b[ib[n]], and the same for b.
    const dA = needs[0] ? hostRowSum(rowsOf(a!), iaT, d!, b!, ib ?? { perSource: intAttr(n.attrs, 'perB', 1) }) : null;
    const dB = needs[2] ? hostRowSum(rowsOf(b!), ibT, d!, a!, ia ?? { perSource: intAttr(n.attrs, 'perA', 1) }) : null;
    return [dA, null, dB, null];
  },
};

export function hostRowDot(a: Tensor, ia: Tensor | { perSource: number }, b: Tensor, ib: Tensor | { perSource: number }): Tensor {
  const attrs: Attrs = {};
  if ('perSource' in ia) attrs.perA = ia.perSource;
  if ('perSource' in ib) attrs.perB = ib.perSource;
  const inputs = [a, 'perSource' in ia ? null : ia, b, 'perSource' in ib ? null : ib];
  return a.graph.apply('HostRowDot', inputs, attrs, HostRowDot.infer, 'HostRowDot', HOST_DOMAIN)[0];
}

export function hostRowSum(rows: number | Tensor, target: Tensor, coef: Tensor, src: Tensor, source: Tensor | { perSource: number }): Tensor {
  const inputs = [target, coef, src, 'perSource' in source ? null : source, typeof rows === 'number' ? null : rows];
  const attrs: Attrs = typeof rows === 'number' ? { rows } : {};
  if ('perSource' in source) attrs.perSource = source.perSource;
  return target.graph.apply('HostRowSum', inputs, attrs, HostRowSum.infer, 'HostRowSum', HOST_DOMAIN)[0];
}

export const HOST_KERNELS: Record<string, HostKernel> = {
  HostRowSum: (ins, attrs, arena) => {
    const [target, coef, src, source, like] = ins;
    const rows = like ? like.dims[0] : intAttr(attrs, 'rows', 0);
    const R = src!.dims[0];
    return [
      {
        dims: [rows, src!.dims[1]],
        ...rowSum(arena, {
        rows, D: src!.dims[1], target: int64Low(target!.data as BigInt64Array, 'HostRowSum target', rows, arena), coef: coef!.data as Float32Array, src: src!.data as Float32Array,
        source: source ? int64Low(source.data as BigInt64Array, 'HostRowSum source', R, arena) : { perSource: intAttr(attrs, 'perSource', 1) },
        }),
      },
    ];
  },
  HostRowDot: (ins, attrs, arena) => {
    const [a, ia, b, ib] = ins;
    const N = (ia ?? ib)!.data.length;
    const index = (t: NDArray | null, rows: number, per: string, what: string) =>
      t ? int64Low(t.data as BigInt64Array, `HostRowDot ${what} index`, rows, arena) : { perSource: intAttr(attrs, per, 1) };
    const rowDotArgs = { a: a!.data as Float32Array, ia: index(ia, a!.dims[0], 'perA', 'a'), b: b!.data as Float32Array, ib: index(ib, b!.dims[0], 'perB', 'b'), D: a!.dims[1], N };
    return [{ dims: [...(ia ?? ib)!.dims], ...rowDot(arena, rowDotArgs) }];
  },
};
