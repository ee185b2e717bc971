// Reverse-mode differentiation over the graph builder. The walk visits nodes in reverse creation order (creation order
// is a topological order), asks each op's VJP for input gradients, and sums gradients that meet at a tensor.
// Only nodes on a path from a `wrt` tensor to the loss are visited, and a VJP is told which inputs need a gradient.
import { ProbityError, show } from '../../errors.js';
import type { Node, Tensor } from '../graph/graph.js';
import { isFloat } from '../graph/dtype.js';
import { OPS } from '../ops/index.js';
import type { OpDef } from '../ops/def.js';
import { add, expandLike, zerosLike } from '../ops/index.js';

export function grad(loss: Tensor, wrt: readonly Tensor[]): Tensor[] {
  const g = loss.graph;
  if (!loss.shape.every((d) => d === 1)) throw new ProbityError('GRAD_LOSS', `grad: loss ${loss.name} must be a scalar, got shape ${show(loss.shape)}`);
  if (!isFloat(loss.dtype)) throw new ProbityError('GRAD_LOSS', `grad: loss ${loss.name} is ${loss.dtype}, expected float`);

  // Tensors that depend on some wrt tensor (forward sweep in creation order).
  const live = new Set<Tensor>(wrt);
  for (const n of g.nodes) {
    if (n.inputs.some((t) => t && live.has(t))) for (const o of n.outputs) live.add(o);
  }
  if (!live.has(loss)) throw new ProbityError('GRAD_DISCONNECTED', `grad: loss ${loss.name} does not depend on any of ${wrt.map((t) => t.name).join(', ')}`);

  const grads = new Map<Tensor, Tensor>();
  grads.set(loss, loss.rank === 0 ? g.scalar(1, loss.dtype) : expandLike(g.scalar(1, loss.dtype), loss));
  const accumulate = (t: Tensor, d: Tensor) => {
    const prev = grads.get(t);
    grads.set(t, prev ? add(prev, d) : d);
  };

  // Nodes are appended while we walk (the backward graph), so fix the range first.
  const forward: Node[] = g.nodes.slice();
  for (let i = forward.length - 1; i >= 0; i--) {
    const n = forward[i];
    const dOut = n.outputs.map((o) => grads.get(o) ?? null);
    if (dOut.every((d) => d === null)) continue;
    const needs = n.inputs.map((t) => !!t && live.has(t) && isFloat(t.dtype));
    if (!needs.some(Boolean)) continue;
    const def = (OPS as Record<string, OpDef>)[n.op];
    if (!def) throw new ProbityError('GRAD_NO_RULE', `grad: no VJP rule for op ${n.op} (node ${n.outputs[0]?.name})`);
    if (def.vjp === 'none') continue;
    const dIn = def.vjp(n, dOut, needs);
    n.inputs.forEach((t, k) => {
      const d = dIn[k];
      if (t && d && needs[k]) {
        if (d.rank !== t.rank || d.shape.some((s, j) => s !== t.shape[j])) {
          throw new ProbityError('GRAD_SHAPE', `grad: VJP of ${n.op} gave ${show(d.shape)} for input ${t.name} ${show(t.shape)}`);
        }
        accumulate(t, d);
      }
    });
  }
  return wrt.map((t) => grads.get(t) ?? zerosLike(t));
}
