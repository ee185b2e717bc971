// The contract every op file fulfils: how to infer output types (checking shapes) and how to pull gradients back.
// A VJP receives the node and the gradients of its outputs (null where an output does not influence the loss) and
// returns one gradient per input (null for inputs that are not differentiable or not needed).
import { ShapeError, type Shape } from '../graph/shape.js';
import type { Attrs, InferFn, Node, Tensor } from '../graph/graph.js';
import type { DType } from '../graph/dtype.js';
import { show } from '../../errors.js';

export type Vjp = (node: Node, dOut: readonly (Tensor | null)[], needs: readonly boolean[]) => (Tensor | null)[];

export interface OpDef {
  infer: InferFn;
  /** 'none' marks ops whose outputs carry no gradient (comparisons, shapes, indices). */
  vjp: Vjp | 'none';
  /** ONNX op type when it differs from the table key. */
  onnxOp?: string;
}

export function emit(op: string, def: OpDef, inputs: readonly (Tensor | null)[], attrs: Attrs = {}): Tensor[] {
  const first = inputs.find((t): t is Tensor => t !== null);
  if (!first) throw new ShapeError(`${op}: needs at least one input`);
  return first.graph.apply(op, inputs, attrs, def.infer, def.onnxOp ?? op);
}

export function need(t: Tensor | null | undefined, op: string, what: string): Tensor {
  if (!t) throw new ShapeError(`${op}: missing ${what}`);
  return t;
}

export function sameDType(op: string, ts: readonly Tensor[]): DType {
  const d = ts[0].dtype;
  for (const t of ts) {
    if (t.dtype !== d) throw new ShapeError(`${op}: dtypes differ: ${ts.map((x) => `${x.name}: ${x.dtype}`).join(', ')}`);
  }
  return d;
}

export function requireRank(op: string, t: Tensor, min: number): void {
  if (t.rank < min) throw new ShapeError(`${op}: ${t.name} has shape ${show(t.shape)}, expected rank >= ${min}`);
}

export function intAttr(attrs: Attrs, name: string, dflt: number): number {
  const v = attrs[name];
  return typeof v === 'number' ? v : dflt;
}

export function shapeOf(t: Tensor): Shape {
  return t.shape;
}
