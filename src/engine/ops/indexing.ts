// Indexing ops: Gather (embedding lookup, sparse SAE decoders), GatherElements/GatherND, their scatter-add duals, TopK
// and CumSum. Gather's gradient is a scatter-add: the sparse update that makes TopK SAE training cheap.
//
// Scatter-add and threads: onnxruntime's CPU ScatterND splits its updates across the intra-op threads with no
// synchronisation, so with repeated indices (an embedding gradient: the same token twice in a batch) two threads can
// read the same row, add, and write back, and one update is lost (onnxruntime issue #18048; measured here with 2
// threads at an embedding-gradient size, 4096 rows of 192 into 512: 3 to 4 runs in 5 wrong, by up to a whole update).
// Its ScatterElements runs sequentially and is exact. So gradients use scatterAddRows (ScatterElements on a flat
// view, ~13 ns per element) unless a caller asks for the racing kernel by name (`'unordered'`, ~0.5 ns per element),
// which only comparison benches do. SAE training, at 10^8 elements per step, sums on the host instead (ops/host.ts).
import type { Tensor } from '../graph/graph.js';
import { isStatic, mulDims, normAxis, numel, ShapeError, type Dim } from '../graph/shape.js';
import { show } from '../../errors.js';
import { emit, intAttr, type OpDef } from './def.js';
import { constInts } from './util.js';
import { unsqueeze, zerosLike, transpose, reshape, reshapeLike } from './shape-ops.js';
import { add, mul } from './elementwise.js';

function checkIndices(op: string, idx: Tensor): void {
  if (idx.dtype !== 'int64' && idx.dtype !== 'int32') throw new ShapeError(`${op}: indices ${idx.name} are ${idx.dtype}, expected int64`);
}

export const Gather: OpDef = {
  infer: (ins, attrs) => {
    const [x, idx] = ins as Tensor[];
    checkIndices('Gather', idx);
    const axis = normAxis(intAttr(attrs, 'axis', 0), x.rank, 'Gather');
    return [{ dtype: x.dtype, shape: [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)] }];
  },
  vjp: (n, [d]) => {
    const [x, idx] = n.inputs as Tensor[];
    const axis = normAxis(intAttr(n.attrs, 'axis', 0), x.rank, 'Gather');
    if (axis !== 0) {
      // Move the gathered axis to the front, scatter there, move it back.
      const perm = [axis, ...x.shape.map((_, i) => i).filter((i) => i !== axis)];
      const inv = perm.map((_, i) => perm.indexOf(i));
      const dPerm = [
        ...idx.shape.map((_, i) => axis + i),
        ...[...Array(axis).keys()],
        ...[...Array(x.rank - axis - 1).keys()].map((i) => axis + idx.rank + i),
      ];
      const xT = transpose(x, perm);
      const dxT = scatterAddRows(zerosLike(xT), idx, transpose(d!, dPerm));
      return [transpose(dxT, inv), null];
    }
    return [scatterAddRows(zerosLike(x), idx, d!), null];
  },
};
export const gather = (x: Tensor, idx: Tensor, axis = 0): Tensor => emit('Gather', Gather, [x, idx], { axis })[0];

export const GatherElements: OpDef = {
  infer: (ins, attrs) => {
    const [x, idx] = ins as Tensor[];
    checkIndices('GatherElements', idx);
    if (idx.rank !== x.rank) throw new ShapeError(`GatherElements: indices ${show(idx.shape)} and data ${show(x.shape)} must have the same rank`);
    normAxis(intAttr(attrs, 'axis', 0), x.rank, 'GatherElements');
    return [{ dtype: x.dtype, shape: idx.shape }];
  },
  vjp: (n, [d]) => {
    const [x, idx] = n.inputs as Tensor[];
    return [scatterElements(zerosLike(x), idx, d!, intAttr(n.attrs, 'axis', 0), 'add'), null];
  },
};
export const gatherElements = (x: Tensor, idx: Tensor, axis: number): Tensor =>
  emit('GatherElements', GatherElements, [x, idx], { axis })[0];

export const GatherND: OpDef = {
  infer: (ins) => {
    const [x, idx] = ins as Tensor[];
    checkIndices('GatherND', idx);
    const k = idx.shape[idx.rank - 1];
    if (typeof k !== 'number') throw new ShapeError('GatherND: last index dim must be static');
    return [{ dtype: x.dtype, shape: [...idx.shape.slice(0, -1), ...x.shape.slice(k)] }];
  },
  vjp: (n, [d]) => {
    const [x, idx] = n.inputs as Tensor[];
    const k = idx.shape[idx.rank - 1] as number;
    const lead = x.shape.slice(0, k);
    if (!isStatic(lead)) throw new ShapeError(`GatherND gradient: the indexed dims ${show(lead)} of ${x.name} must be static`);
    // Row of x viewed as [prod(lead), ...rest]: sum of idx[..., i] * stride_i.
    const strides = lead.map((_, i) => numel(lead.slice(i + 1)));
    const row = reshape(mul(idx, x.graph.constant(BigInt64Array.from(strides, BigInt), 'int64', [k], 'strides')), [...idx.shape.slice(0, -1), k]);
    const rows = emit('ReduceSum', INT_ROW_SUM, [row, x.graph.ints([-1])], { keepdims: 0 })[0];
    const xRows = reshape(zerosLike(x), [numel(lead), ...x.shape.slice(k)]);
    return [reshapeLike(scatterAddRows(xRows, rows, d!), x), null];
  },
};
/** Integer ReduceSum over the last axis (row numbers from GatherND indices; no gradient). */
const INT_ROW_SUM: OpDef = {
  infer: (ins) => [{ dtype: ins[0]!.dtype, shape: ins[0]!.shape.slice(0, -1) }],
  vjp: 'none',
  onnxOp: 'ReduceSum',
};
export const gatherND = (x: Tensor, idx: Tensor): Tensor => emit('GatherND', GatherND, [x, idx])[0];

export const ScatterElements: OpDef = {
  infer: (ins) => {
    const [x, idx, u] = ins as Tensor[];
    checkIndices('ScatterElements', idx);
    if (u.dtype !== x.dtype) throw new ShapeError(`ScatterElements: updates ${u.dtype} vs data ${x.dtype}`);
    return [{ dtype: x.dtype, shape: x.shape }];
  },
  vjp: (n, [d], needs) => {
    const [, idx] = n.inputs as Tensor[];
    if (n.attrs.reduction !== 'add' && needs[0]) throw new ShapeError('ScatterElements: gradient to data only with reduction "add"');
    return [needs[0] ? d! : null, null, needs[2] ? gatherElements(d!, idx, intAttr(n.attrs, 'axis', 0)) : null];
  },
};
export const scatterElements = (x: Tensor, idx: Tensor, u: Tensor, axis: number, reduction: 'add' | 'none' = 'none'): Tensor =>
  emit('ScatterElements', ScatterElements, [x, idx, u], { axis, reduction })[0];

export const ScatterND: OpDef = {
  infer: (ins) => {
    const [x, idx, u] = ins as Tensor[];
    checkIndices('ScatterND', idx);
    if (u.dtype !== x.dtype) throw new ShapeError(`ScatterND: updates ${u.dtype} vs data ${x.dtype}`);
    return [{ dtype: x.dtype, shape: x.shape }];
  },
  vjp: (n, [d], needs) => {
    const [, idx] = n.inputs as Tensor[];
    if (n.attrs.reduction !== 'add' && needs[0]) throw new ShapeError('ScatterND: gradient to data only with reduction "add"');
    return [needs[0] ? d! : null, null, needs[2] ? gatherND(d!, idx) : null];
  },
};
/** ONNX ScatterND. With reduction 'add' and repeated indices onnxruntime's CPU kernel races (see the top of this
 *  file): use scatterAddRows for sums. */
export const scatterND = (x: Tensor, idx: Tensor, u: Tensor, reduction: 'add' | 'none' = 'none'): Tensor =>
  emit('ScatterND', ScatterND, [x, idx, u], { reduction })[0];

/** How scatterAddRows sums: 'exact' (sequential ScatterElements) or 'unordered' (onnxruntime's multi-threaded
 *  ScatterND: fast, but concurrent updates of one row can be lost, so results vary from run to run). */
export type ScatterAddMode = 'exact' | 'unordered';

/**
 * x with rows of u added at rows idx of x: out[idx[n]] += u[n] for every index position n, repeated indices summed.
 * idx: int64 of any shape; u: [...idx.shape, ...x.shape[1:]]. 'exact' (default) is sequential and reproducible.
 */
export function scatterAddRows(x: Tensor, idx: Tensor, u: Tensor, mode: ScatterAddMode = 'exact'): Tensor {
  if (mode === 'unordered') return scatterND(x, unsqueeze(idx, -1), u, 'add');
  const rowShape = x.shape.slice(1);
  if (!isStatic(rowShape)) throw new ShapeError(`scatterAddRows: the row shape ${show(rowShape)} of ${x.name} must be static`);
  const R = numel(rowShape);
  const g = x.graph;
  // Flat element offsets idx * R + (0 .. R-1): ScatterElements on rank-1 views costs one offset per element.
  const n = mulDims(idx.shape);
  const at = reshape(add(mul(reshape(idx, [n, 1]), R), g.constant(BigInt64Array.from({ length: R }, (_, i) => BigInt(i)), 'int64', [R], 'row_offsets')), [mulDims([n, R])]);
  const flat = scatterElements(reshape(x, [mulDims(x.shape)]), at, reshape(u, [mulDims([n, R])]), 0, 'add');
  return reshapeLike(flat, x);
}

export const TopK: OpDef = {
  infer: (ins, attrs) => {
    const [x, kT] = ins as Tensor[];
    const k = constInts(kT)?.[0];
    if (k === undefined) throw new ShapeError('TopK: k must be a constant');
    const axis = normAxis(intAttr(attrs, 'axis', -1), x.rank, 'TopK');
    const dim = x.shape[axis];
    if (typeof dim === 'number' && k > dim) throw new ShapeError(`TopK: k=${k} exceeds dim ${dim} of ${x.name} ${show(x.shape)}`);
    const shape: Dim[] = [...x.shape];
    shape[axis] = k;
    return [
      { dtype: x.dtype, shape },
      { dtype: 'int64', shape },
    ];
  },
  vjp: (n, [dv]) => {
    const [x] = n.inputs as Tensor[];
    if (!dv) return [null, null];
    return [scatterElements(zerosLike(x), n.outputs[1], dv, intAttr(n.attrs, 'axis', -1), 'add'), null];
  },
};
/** Largest (or smallest) k along `axis`: [values, int64 indices], sorted descending. */
export function topk(x: Tensor, k: number, axis = -1, largest = true): [Tensor, Tensor] {
  const [v, i] = emit('TopK', TopK, [x, x.graph.ints([k])], { axis, largest: largest ? 1 : 0, sorted: 1 });
  return [v, i];
}

export const CumSum: OpDef = {
  infer: (ins) => [{ dtype: ins[0]!.dtype, shape: ins[0]!.shape }],
  vjp: (n, [d]) => [
    emit('CumSum', CumSum, [d!, n.inputs[1]], {
      exclusive: intAttr(n.attrs, 'exclusive', 0),
      reverse: intAttr(n.attrs, 'reverse', 0) ? 0 : 1,
    })[0],
    null,
  ],
};
export const cumsum = (x: Tensor, axis: number, opts: { exclusive?: boolean; reverse?: boolean } = {}): Tensor =>
  emit('CumSum', CumSum, [x, x.graph.scalar(axis, 'int64')], { exclusive: opts.exclusive ? 1 : 0, reverse: opts.reverse ? 1 : 0 })[0];
