// Ops computed on the host, between onnxruntime runs: the session layer cuts a graph that holds them into stages
// (session/staged.ts) and runs each host op's kernel (engine/host) on the values the stage before produced.
// They are for the few loops onnxruntime cannot do well and exactly; everything else stays in ONNX.
import type { Attrs, Tensor } from '../graph/graph.js';
import { ShapeError } from '../graph/shape.js';
import { show } from '../../errors.js';
import type { NDArray } from '../ndarray.js';
import type { OpDef } from './def.js';
import { intAttr } from './def.js';
import { mul, div } from './elementwise.js';
import { reduceSum } from './reduce.js';
import { arange, reshape, reshapeLike } from './shape-ops.js';
import { gather } from './indexing.js';
import { mulDims } from '../graph/shape.js';
import type { Arena, Slice } from '../host/wasm.js';
import { int64Low, rowSum } from '../host/row-sum.js';

/** ONNX domain of host nodes: never written to a model (staged.ts removes them). */
export const HOST_DOMAIN = 'probity.host';

export type HostKernel = (inputs: (NDArray | null)[], attrs: Attrs, arena: Arena) => Slice[];

function sameShape(a: Tensor, b: Tensor): boolean {
  return a.rank === b.rank && a.shape.every((d, i) => d === b.shape[i]);
}

/**
 * out [rows, D]: out[target[n]] += coef[n] * src[source[n]] over entries n (target, coef, source of one shape);
 * without a source tensor, entry n reads row floor(n / perSource). Exact and reproducible (host/row-sum.ts).
 */
export const HostRowSum: OpDef = {
  infer: (ins, attrs) => {
    const [target, coef, src, source] = ins as (Tensor | null)[];
    const rows = intAttr(attrs, 'rows', -1);
    if (!target || !coef || !src) throw new ShapeError('HostRowSum: needs target, coef and src');
    if (target.dtype !== 'int64') throw new ShapeError(`HostRowSum: target ${target.name} is ${target.dtype}, expected int64`);
    if (coef.dtype !== 'float32' || src.dtype !== 'float32') throw new ShapeError('HostRowSum: coef and src must be float32');
    if (!sameShape(target, coef)) throw new ShapeError(`HostRowSum: target ${show(target.shape)} and coef ${show(coef.shape)} differ`);
    if (src.rank !== 2 || typeof src.shape[1] !== 'number') throw new ShapeError(`HostRowSum: src must be [R, D] with D static, got ${show(src.shape)}`);
    if (source && (source.dtype !== 'int64' || !sameShape(source, target))) throw new ShapeError(`HostRowSum: source must be int64 ${show(target.shape)}`);
    if (!source && !(intAttr(attrs, 'perSource', 0) > 0)) throw new ShapeError('HostRowSum: without a source tensor, perSource must be positive');
    if (!(rows > 0)) throw new ShapeError(`HostRowSum: rows must be positive, got ${rows}`);
    return [{ dtype: 'float32', shape: [rows, src.shape[1]] }];
  },
  vjp: (n, [d], needs) => {
    const [target, coef, src] = n.inputs as Tensor[];
    const R = src.shape[0];
    const from = sourceIndex(n.inputs[3] ?? null, target, intAttr(n.attrs, 'perSource', 0));
    const dCoef = needs[1] ? reshapeLike(reduceSum(mul(gather(d!, target), gather(src, from)), [-1], false), coef) : null;
    if (needs[2] && typeof R !== 'number') throw new ShapeError(`HostRowSum gradient: src rows must be static, got ${show(src.shape)}`);
    const dSrc = needs[2] ? hostRowSum(R as number, from, coef, d!, target) : null;
    return [null, dCoef, dSrc, null];
  },
};

/** Source row of every entry, as a tensor shaped like target. */
function sourceIndex(source: Tensor | null, target: Tensor, perSource: number): Tensor {
  if (source) return source;
  const flat = reshape(target, [mulDims(target.shape)]);
  return reshapeLike(div(arange(flat, 0), flat.graph.scalar(perSource, 'int64')), target);
}

export function hostRowSum(rows: number, target: Tensor, coef: Tensor, src: Tensor, source: Tensor | { perSource: number }): Tensor {
  const inputs = [target, coef, src, 'perSource' in source ? null : source];
  const attrs: Attrs = 'perSource' in source ? { rows, perSource: source.perSource } : { rows };
  return target.graph.apply('HostRowSum', inputs, attrs, HostRowSum.infer, 'HostRowSum', HOST_DOMAIN)[0];
}

export const HOST_KERNELS: Record<string, HostKernel> = {
  HostRowSum: (ins, attrs, arena) => {
    const [target, coef, src, source] = ins;
    const rows = intAttr(attrs, 'rows', 0);
    const R = src!.dims[0];
    return [
      rowSum(arena, {
        rows, D: src!.dims[1], target: int64Low(target!.data as BigInt64Array, 'HostRowSum target', rows), coef: coef!.data as Float32Array, src: src!.data as Float32Array,
        source: source ? int64Low(source.data as BigInt64Array, 'HostRowSum source', R) : { perSource: intAttr(attrs, 'perSource', 1) },
      }),
    ];
  },
};
