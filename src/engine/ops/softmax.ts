// Softmax and LogSoftmax along one axis; their VJPs are written from the output.
import type { Tensor } from '../graph/graph.js';
import { normAxis } from '../graph/shape.js';
import { emit, intAttr, type OpDef } from './def.js';
import { mul, sub } from './elementwise.js';
import { exp } from './unary.js';
import { reduceSum } from './reduce.js';

const infer: OpDef['infer'] = (ins, attrs) => {
  normAxis(intAttr(attrs, 'axis', -1), ins[0]!.rank, 'Softmax');
  return [{ dtype: ins[0]!.dtype, shape: ins[0]!.shape }];
};

export const Softmax: OpDef = {
  infer,
  vjp: (n, [d]) => {
    // dx = y * (d - sum(d * y))
    const y = n.outputs[0];
    const axis = intAttr(n.attrs, 'axis', -1);
    return [mul(y, sub(d!, reduceSum(mul(d!, y), axis, true)))];
  },
};
export const LogSoftmax: OpDef = {
  infer,
  vjp: (n, [d]) => {
    // dx = d - softmax(x) * sum(d)
    const y = n.outputs[0];
    const axis = intAttr(n.attrs, 'axis', -1);
    return [sub(d!, mul(exp(y), reduceSum(d!, axis, true)))];
  },
};
export const softmax = (x: Tensor, axis = -1): Tensor => emit('Softmax', Softmax, [x], { axis })[0];
export const logSoftmax = (x: Tensor, axis = -1): Tensor => emit('LogSoftmax', LogSoftmax, [x], { axis })[0];
