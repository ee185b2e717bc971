// Binary arithmetic with numpy broadcasting, comparisons and Where. Gradients of broadcast operands are summed back
// to the operand's shape (`unbroadcast`).
import type { Node, Tensor } from '../graph/graph.js';
import { broadcastShapes, ShapeError } from '../graph/shape.js';
import { show } from '../../errors.js';
import { emit, sameDType, type OpDef } from './def.js';
import { lift, pickTensor, type Operand } from './util.js';
import { reduceSum } from './reduce.js';
import { reshapeLike } from './shape-ops.js';
import { neg, log, cast } from './unary.js';

const binaryInfer: OpDef['infer'] = (ins, _attrs) => {
  const [a, b] = ins as Tensor[];
  return [{ dtype: sameDType('binary op', [a, b]), shape: broadcastShapes('binary op', a.shape, b.shape) }];
};

function inferNamed(op: string): OpDef['infer'] {
  return (ins) => {
    const [a, b] = ins as Tensor[];
    if (a.dtype !== b.dtype) throw new ShapeError(`${op}: dtypes differ: ${a.name}: ${a.dtype} vs ${b.name}: ${b.dtype}`);
    return [{ dtype: a.dtype, shape: broadcastShapes(op, a.shape, b.shape) }];
  };
}

/** Sum a gradient over the axes along which `like` was broadcast, giving it `like`'s shape. */
export function unbroadcast(d: Tensor, like: Tensor): Tensor {
  const lead = d.rank - like.rank;
  const axes: number[] = [];
  for (let i = 0; i < d.rank; i++) {
    if (i < lead) axes.push(i);
    else if (like.shape[i - lead] === 1 && d.shape[i] !== 1) axes.push(i);
  }
  if (axes.length === 0 && lead === 0) return d;
  const summed = axes.length ? reduceSum(d, axes, true) : d;
  return lead === 0 ? summed : reshapeLike(summed, like);
}

const bin = (op: string, def: OpDef) => (a: Operand, b: Operand): Tensor => {
  const t = pickTensor(a, b, op);
  return emit(op, def, [lift(a, t), lift(b, t)])[0];
};

const ins = (n: Node) => n.inputs as Tensor[];

export const Add: OpDef = {
  infer: inferNamed('Add'),
  vjp: (n, [d], needs) => [needs[0] ? unbroadcast(d!, ins(n)[0]) : null, needs[1] ? unbroadcast(d!, ins(n)[1]) : null],
};
export const Sub: OpDef = {
  infer: inferNamed('Sub'),
  vjp: (n, [d], needs) => [needs[0] ? unbroadcast(d!, ins(n)[0]) : null, needs[1] ? unbroadcast(neg(d!), ins(n)[1]) : null],
};
export const Mul: OpDef = {
  infer: inferNamed('Mul'),
  vjp: (n, [d], needs) => {
    const [a, b] = ins(n);
    return [needs[0] ? unbroadcast(mul(d!, b), a) : null, needs[1] ? unbroadcast(mul(d!, a), b) : null];
  },
};
export const Div: OpDef = {
  infer: inferNamed('Div'),
  vjp: (n, [d], needs) => {
    const [a, b] = ins(n);
    const c = n.outputs[0];
    return [needs[0] ? unbroadcast(div(d!, b), a) : null, needs[1] ? unbroadcast(neg(div(mul(d!, c), b)), b) : null];
  },
};
export const Pow: OpDef = {
  infer: inferNamed('Pow'),
  vjp: (n, [d], needs) => {
    const [a, b] = ins(n);
    const c = n.outputs[0];
    // d(a^b)/da = b a^(b-1) = b c / a would divide by zero at a = 0; compute a^(b-1) directly.
    const da = needs[0] ? unbroadcast(mul(d!, mul(b, pow(a, sub(b, 1)))), a) : null;
    const db = needs[1] ? unbroadcast(mul(d!, mul(c, log(a))), b) : null;
    return [da, db];
  },
};
export const Max: OpDef = {
  infer: inferNamed('Max'),
  vjp: (n, [d], needs) => {
    const [a, b] = ins(n);
    const aWins = greaterOrEqual(a, b);
    const zero = a.graph.scalar(0, d!.dtype);
    return [needs[0] ? unbroadcast(where(aWins, d!, zero), a) : null, needs[1] ? unbroadcast(where(aWins, zero, d!), b) : null];
  },
};
export const Min: OpDef = {
  infer: inferNamed('Min'),
  vjp: (n, [d], needs) => {
    const [a, b] = ins(n);
    const aWins = lessOrEqual(a, b);
    const zero = a.graph.scalar(0, d!.dtype);
    return [needs[0] ? unbroadcast(where(aWins, d!, zero), a) : null, needs[1] ? unbroadcast(where(aWins, zero, d!), b) : null];
  },
};

export const add = bin('Add', Add);
export const sub = bin('Sub', Sub);
export const mul = bin('Mul', Mul);
export const div = bin('Div', Div);
export const pow = bin('Pow', Pow);
export const maximum = bin('Max', Max);
export const minimum = bin('Min', Min);

// Comparisons and logic: boolean outputs, no gradient.
const compareInfer: OpDef['infer'] = (ins) => {
  const [a, b] = ins as Tensor[];
  if (a.dtype !== b.dtype) throw new ShapeError(`comparison: dtypes differ: ${a.dtype} vs ${b.dtype}`);
  return [{ dtype: 'bool', shape: broadcastShapes('comparison', a.shape, b.shape) }];
};
export const Greater: OpDef = { infer: compareInfer, vjp: 'none' };
export const Less: OpDef = { infer: compareInfer, vjp: 'none' };
export const Equal: OpDef = { infer: compareInfer, vjp: 'none' };
export const GreaterOrEqual: OpDef = { infer: compareInfer, vjp: 'none' };
export const LessOrEqual: OpDef = { infer: compareInfer, vjp: 'none' };
export const And: OpDef = { infer: compareInfer, vjp: 'none' };
export const Or: OpDef = { infer: compareInfer, vjp: 'none' };
export const greater = bin('Greater', Greater);
export const less = bin('Less', Less);
export const equal = bin('Equal', Equal);
export const greaterOrEqual = bin('GreaterOrEqual', GreaterOrEqual);
export const lessOrEqual = bin('LessOrEqual', LessOrEqual);
export const and = bin('And', And);
export const or = bin('Or', Or);

export const Where: OpDef = {
  infer: (ins) => {
    const [c, x, y] = ins as Tensor[];
    if (c.dtype !== 'bool') throw new ShapeError(`Where: condition ${c.name} is ${c.dtype}, expected bool`);
    if (x.dtype !== y.dtype) throw new ShapeError(`Where: branch dtypes differ: ${x.dtype} vs ${y.dtype}`);
    return [{ dtype: x.dtype, shape: broadcastShapes('Where', broadcastShapes('Where', c.shape, x.shape), y.shape) }];
  },
  vjp: (n, [d], needs) => {
    const [c, x, y] = ins(n);
    const zero = c.graph.scalar(0, d!.dtype);
    return [null, needs[1] ? unbroadcast(where(c, d!, zero), x) : null, needs[2] ? unbroadcast(where(c, zero, d!), y) : null];
  },
};
export function where(cond: Tensor, x: Operand, y: Operand): Tensor {
  const t = pickTensor(x, y, 'Where');
  return emit('Where', Where, [cond, lift(x, t), lift(y, t)])[0];
}

/** 1.0 where `cond` holds, 0.0 elsewhere, in `dtype`. */
export function mask(cond: Tensor, dtype: Tensor['dtype']): Tensor {
  if (cond.dtype !== 'bool') throw new ShapeError(`mask: ${cond.name} is ${cond.dtype} ${show(cond.shape)}, expected bool`);
  return cast(cond, dtype);
}
