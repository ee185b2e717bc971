// The op table: every op the builder can emit, keyed by name, each with its shape rule and VJP in its own file.
// `satisfies Record<string, OpDef>` keeps entries honest; a node whose key is missing here cannot be differentiated.
import type { OpDef } from './def.js';
import * as E from './elementwise.js';
import * as U from './unary.js';
import * as M from './matmul.js';
import * as R from './reduce.js';
import * as S from './shape-ops.js';
import * as I from './indexing.js';
import * as SM from './softmax.js';
import * as N from './norm.js';
import * as C from './custom.js';
import * as Q from './quantized.js';
import * as H from './host.js';

export const OPS = {
  Add: E.Add, Sub: E.Sub, Mul: E.Mul, Div: E.Div, Pow: E.Pow, Max: E.Max, Min: E.Min,
  Greater: E.Greater, Less: E.Less, Equal: E.Equal, GreaterOrEqual: E.GreaterOrEqual, LessOrEqual: E.LessOrEqual,
  And: E.And, Or: E.Or, Where: E.Where,
  Neg: U.Neg, Exp: U.Exp, Log: U.Log, Sqrt: U.Sqrt, Reciprocal: U.Reciprocal, Tanh: U.Tanh, Sigmoid: U.Sigmoid,
  Relu: U.Relu, Abs: U.Abs, Sin: U.Sin, Cos: U.Cos, Sign: U.Sign, Floor: U.Floor, Erf: U.Erf,
  Identity: U.Identity, StopGradient: U.StopGradient, Gelu: U.Gelu, Cast: U.Cast,
  MatMul: M.MatMul, Gemm: M.Gemm,
  ReduceSum: R.ReduceSum, ReduceSumSquare: R.ReduceSumSquare, ReduceMean: R.ReduceMean, ReduceMax: R.ReduceMax, ReduceProd: R.ReduceProd,
  Shape: S.ShapeOp, MulInt: S.MulInt, Reshape: S.Reshape, Transpose: S.Transpose,
  Unsqueeze: S.Unsqueeze, Squeeze: S.Squeeze, Expand: S.Expand, Concat: S.Concat, Split: S.Split, Slice: S.Slice,
  Pad: S.Pad, Range: S.Range, ConstantOfShape: S.ConstantOfShape,
  Gather: I.Gather, GatherElements: I.GatherElements, GatherND: I.GatherND, ScatterElements: I.ScatterElements,
  ScatterND: I.ScatterND, TopK: I.TopK, CumSum: I.CumSum,
  Softmax: SM.Softmax, LogSoftmax: SM.LogSoftmax,
  LayerNormalization: N.LayerNormalization,
  CustomVjp: C.CustomVjp,
  QuantizeLinear: Q.QuantizeLinear, DynamicQuantizeMatMul: Q.DynamicQuantizeMatMul,
  HostRowSum: H.HostRowSum, HostRowDot: H.HostRowDot,
} satisfies Record<string, OpDef>;

export type OpName = keyof typeof OPS;

export * from './elementwise.js';
export * from './unary.js';
export * from './matmul.js';
export * from './reduce.js';
export * from './shape-ops.js';
export * from './indexing.js';
export * from './quantized.js';
export * from './softmax.js';
export * from './norm.js';
export * from './custom.js';
export { hostRowSum, hostRowDot, rowPerEntry, HOST_DOMAIN, HOST_KERNELS } from './host.js';
export { mulDims } from '../graph/shape.js';
