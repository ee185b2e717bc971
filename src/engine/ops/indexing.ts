// Indexing ops: Gather (embedding lookup, sparse SAE decoders), GatherElements/GatherND, their scatter-add duals, TopK
// and CumSum. Gather's gradient is a scatter-add: the sparse update that makes TopK SAE training cheap.
import type { Tensor } from '../graph/graph.js';
import { normAxis, ShapeError, type Dim } from '../graph/shape.js';
import { show } from '../../errors.js';
import { emit, intAttr, type OpDef } from './def.js';
import { constInts } from './util.js';
import { unsqueeze, zerosLike, transpose } from './shape-ops.js';

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
      const dxT = scatterND(zerosLike(xT), unsqueeze(idx, -1), transpose(d!, dPerm), 'add');
      return [transpose(dxT, inv), null];
    }
    return [scatterND(zerosLike(x), unsqueeze(idx, -1), d!, 'add'), null];
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
    return [scatterND(zerosLike(x), idx, d!, 'add'), null];
  },
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
export const scatterND = (x: Tensor, idx: Tensor, u: Tensor, reduction: 'add' | 'none' = 'none'): Tensor =>
  emit('ScatterND', ScatterND, [x, idx, u], { reduction })[0];

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
