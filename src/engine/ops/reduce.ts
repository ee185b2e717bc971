// Reductions over constant axes (opset 18: axes are an input). The gradient spreads back by Expand.
import type { Node, Tensor } from '../graph/graph.js';
import { normAxis, ShapeError, type Dim } from '../graph/shape.js';
import { emit, intAttr, type OpDef } from './def.js';
import { constInts } from './util.js';
import { div, equal, mul, where } from './elementwise.js';
import { cast } from './unary.js';
import { expandLike, shapeOf, unsqueeze } from './shape-ops.js';
import { gather } from './indexing.js';

const reduceInfer = (op: string): OpDef['infer'] => (ins, attrs) => {
  const [x, axesT] = ins as Tensor[];
  const axes = constInts(axesT);
  if (!axes) throw new ShapeError(`${op}: axes must be a constant`);
  const norm = axes.map((a) => normAxis(a, x.rank, op));
  const keep = intAttr(attrs, 'keepdims', 1) === 1;
  const shape: Dim[] = [];
  x.shape.forEach((d, i) => {
    if (!norm.includes(i)) shape.push(d);
    else if (keep) shape.push(1);
  });
  return [{ dtype: x.dtype, shape }];
};

/** The incoming gradient, broadcast back over the reduced axes to the input's shape. */
function spread(n: Node, d: Tensor): Tensor {
  const x = n.inputs[0] as Tensor;
  const axes = constInts(n.inputs[1])!.map((a) => normAxis(a, x.rank, n.op));
  const kept = intAttr(n.attrs, 'keepdims', 1) === 1 ? d : unsqueeze(d, axes);
  return expandLike(kept, x);
}

/** Number of elements folded into each output, as a scalar of x's dtype (computed at run time for symbolic dims). */
export function reducedCount(x: Tensor, axes: number[]): Tensor {
  const dims = axes.map((a) => x.shape[normAxis(a, x.rank, 'count')]);
  if (dims.every((d) => typeof d === 'number')) return x.graph.scalar((dims as number[]).reduce((p, q) => p * q, 1), x.dtype);
  const sizes = gather(shapeOf(x), x.graph.ints(axes.map((a) => normAxis(a, x.rank, 'count'))));
  return cast(emit('ReduceProd', ReduceProd, [sizes, x.graph.ints([0])], { keepdims: 0 })[0], x.dtype);
}

export const ReduceSum: OpDef = { infer: reduceInfer('ReduceSum'), vjp: (n, [d]) => [spread(n, d!), null] };
/** sum(x^2) in one pass (no x^2 tensor written): squared norms of gradients and decoder rows are memory-bound. */
export const ReduceSumSquare: OpDef = {
  infer: reduceInfer('ReduceSumSquare'),
  vjp: (n, [d]) => [mul(spread(n, d!), mul(n.inputs[0] as Tensor, 2)), null],
};
export const ReduceMean: OpDef = {
  infer: reduceInfer('ReduceMean'),
  vjp: (n, [d]) => {
    const x = n.inputs[0] as Tensor;
    return [div(spread(n, d!), reducedCount(x, constInts(n.inputs[1])!)), null];
  },
};
export const ReduceMax: OpDef = {
  infer: reduceInfer('ReduceMax'),
  vjp: (n, [d]) => {
    // The gradient goes to the arg-max (to every tied maximum; ties are measure-zero for real data).
    const x = n.inputs[0] as Tensor;
    const y = n.outputs[0];
    const yKept = intAttr(n.attrs, 'keepdims', 1) === 1 ? y : unsqueeze(y, constInts(n.inputs[1])!.map((a) => normAxis(a, x.rank, 'ReduceMax')));
    return [where(equal(x, expandLike(yKept, x)), spread(n, d!), 0), null];
  },
};
export const ReduceProd: OpDef = { infer: reduceInfer('ReduceProd'), vjp: 'none' };

const reducer = (op: string, def: OpDef) => (x: Tensor, axes: number | number[], keepdims = false): Tensor => {
  const list = typeof axes === 'number' ? [axes] : axes;
  return emit(op, def, [x, x.graph.ints(list)], { keepdims: keepdims ? 1 : 0 })[0];
};
export const reduceSum = reducer('ReduceSum', ReduceSum);
export const reduceMean = reducer('ReduceMean', ReduceMean);
export const reduceMax = reducer('ReduceMax', ReduceMax);
export const reduceSumSquare = reducer('ReduceSumSquare', ReduceSumSquare);
