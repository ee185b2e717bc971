// Elementwise functions of one tensor. Each VJP is written from the output where that is cheaper (exp, sigmoid, tanh).
import type { Node, Tensor } from '../graph/graph.js';
import { ShapeError } from '../graph/shape.js';
import { isFloat, ONNX_ELEM, type DType } from '../graph/dtype.js';
import { emit, type OpDef } from './def.js';
import { add, mul, sub, div, where, greater } from './elementwise.js';

const same: OpDef['infer'] = (ins) => [{ dtype: ins[0]!.dtype, shape: ins[0]!.shape }];
const floatOnly = (op: string): OpDef['infer'] => (ins) => {
  const x = ins[0]!;
  if (!isFloat(x.dtype)) throw new ShapeError(`${op}: ${x.name} is ${x.dtype}, expected a float type`);
  return [{ dtype: x.dtype, shape: x.shape }];
};
const x0 = (n: Node) => n.inputs[0] as Tensor;
const y0 = (n: Node) => n.outputs[0];
const one = (t: Tensor) => t.graph.scalar(1, t.dtype);

function unary(op: string, vjp: OpDef['vjp'], infer: OpDef['infer'] = floatOnly(op)): [OpDef, (x: Tensor) => Tensor] {
  const def: OpDef = { infer, vjp };
  return [def, (x: Tensor) => emit(op, def, [x])[0]];
}

export const [Neg, neg] = unary('Neg', (_n, [d]) => [neg(d!)], same);
export const [Exp, exp] = unary('Exp', (n, [d]) => [mul(d!, y0(n))]);
export const [Log, log] = unary('Log', (n, [d]) => [div(d!, x0(n))]);
export const [Sqrt, sqrt] = unary('Sqrt', (n, [d]) => [div(mul(d!, 0.5), y0(n))]);
export const [Reciprocal, reciprocal] = unary('Reciprocal', (n, [d]) => [neg(mul(d!, mul(y0(n), y0(n))))]);
export const [Tanh, tanh] = unary('Tanh', (n, [d]) => [mul(d!, sub(1, mul(y0(n), y0(n))))]);
export const [Sigmoid, sigmoid] = unary('Sigmoid', (n, [d]) => [mul(d!, mul(y0(n), sub(1, y0(n))))]);
export const [Relu, relu] = unary('Relu', (n, [d]) => [where(greater(x0(n), 0), d!, 0)]);
export const [Abs, abs] = unary('Abs', (n, [d]) => [mul(d!, sign(x0(n)))], same);
export const [Sin, sin] = unary('Sin', (n, [d]) => [mul(d!, cos(x0(n)))]);
export const [Cos, cos] = unary('Cos', (n, [d]) => [neg(mul(d!, sin(x0(n))))]);
export const [Sign, sign] = unary('Sign', 'none', same);
export const [Floor, floor] = unary('Floor', 'none');
export const [Erf, erf] = unary('Erf', (n, [d]) => {
  const x = x0(n);
  return [mul(d!, mul(exp(neg(mul(x, x))), 2 / Math.sqrt(Math.PI)))];
});
export const [Identity, identity] = unary('Identity', (_n, [d]) => [d!], same);

/** Blocks gradient flow: the forward is Identity, the backward is zero. */
export const StopGradient: OpDef = { infer: same, vjp: (_n, _d) => [null], onnxOp: 'Identity' };
export const stopGradient = (x: Tensor): Tensor => emit('StopGradient', StopGradient, [x])[0];

// GELU, tanh approximation (GPT-2's "gelu_new") or exact (erf). ONNX Gelu needs opset 20.
const GELU_C = Math.sqrt(2 / Math.PI);
export const Gelu: OpDef = {
  infer: floatOnly('Gelu'),
  vjp: (n, [d]) => {
    const x = x0(n);
    if (n.attrs.approximate === 'tanh') {
      // y = 0.5 x (1 + tanh(u)), u = c (x + 0.044715 x^3)
      const x2 = mul(x, x);
      const t = tanh(mul(mul(x, add(mul(x2, 0.044715), 1)), GELU_C));
      const du = mul(add(mul(x2, 3 * 0.044715), 1), GELU_C);
      const dy = add(mul(add(t, 1), 0.5), mul(mul(mul(x, 0.5), sub(1, mul(t, t))), du));
      return [mul(d!, dy)];
    }
    // y = x Phi(x): dy = Phi(x) + x phi(x)
    const phi = mul(exp(mul(mul(x, x), -0.5)), 1 / Math.sqrt(2 * Math.PI));
    const Phi = mul(add(erf(mul(x, Math.SQRT1_2)), 1), 0.5);
    return [mul(d!, add(Phi, mul(x, phi)))];
  },
};
export const gelu = (x: Tensor, approximate: 'tanh' | 'none' = 'tanh'): Tensor => emit('Gelu', Gelu, [x], { approximate })[0];

export const Cast: OpDef = {
  infer: (ins, attrs) => {
    const to = Object.entries(ONNX_ELEM).find(([, v]) => v === attrs.to)?.[0] as DType | undefined;
    if (!to) throw new ShapeError(`Cast: unknown target type ${String(attrs.to)}`);
    return [{ dtype: to, shape: ins[0]!.shape }];
  },
  vjp: (n, [d]) => {
    const x = x0(n);
    return [isFloat(x.dtype) && isFloat(d!.dtype) ? cast(d!, x.dtype) : null];
  },
};
export function cast(x: Tensor, to: DType): Tensor {
  if (x.dtype === to) return x;
  return emit('Cast', Cast, [x], { to: ONNX_ELEM[to] })[0];
}

// Composites: no table entry needed, their gradients follow from the primitives.
export const silu = (x: Tensor): Tensor => mul(x, sigmoid(x));
export const square = (x: Tensor): Tensor => mul(x, x);
export const rsqrt = (x: Tensor): Tensor => reciprocal(sqrt(x));
/** log(1 + e^x), written so large |x| neither overflows nor loses precision (ORT has no float64 Softplus kernel). */
export const softplus = (x: Tensor): Tensor => add(relu(x), log(add(exp(neg(abs(x))), 1)));
