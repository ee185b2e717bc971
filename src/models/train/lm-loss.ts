// Next-token cross-entropy for any architecture, built with the same forward code that inference uses, so a model
// trained here and the model loaded later are one definition. Dims: B batch, T positions, V vocab.
import type { Graph, Tensor } from '../../engine/graph/graph.js';
import * as op from '../../engine/ops/index.js';
import { BuildContext } from '../common/context.js';
import type { TransformerSpec } from '../spec.js';
import { buildForward } from '../forward.js';
import type { Layout } from '../common/context.js';

export interface LmBatchInputs {
  tokens: Tensor; // [B, T] int64
  positions: Tensor; // [B, T] int64
  keyMask: Tensor; // [B, T] bool
  targets: Tensor; // [B, T] int64 (the next token)
  lossMask: Tensor; // [B, T] float32, 1 where the target counts
}

export function declareLmInputs(g: Graph): LmBatchInputs {
  return {
    tokens: g.input('tokens', 'int64', ['B', 'T']),
    positions: g.input('positions', 'int64', ['B', 'T']),
    keyMask: g.input('key_mask', 'bool', ['B', 'T']),
    targets: g.input('targets', 'int64', ['B', 'T']),
    lossMask: g.input('loss_mask', 'float32', ['B', 'T']),
  };
}

/** Mean next-token NLL over counted positions. `weight(name)` gives each canonical weight tensor. */
export function causalLmLoss(spec: TransformerSpec, weight: (name: string) => Tensor, layout: (name: string) => Layout, x: LmBatchInputs): Tensor {
  const store = { get: () => { throw new Error('unused'); }, has: () => true, layout };
  const ctx = new BuildContext(spec, store, { withPast: false, logits: 'all', cache: new Set(), interventions: {}, cutInputs: new Set() }, {
    graph: x.tokens.graph,
    tokens: x.tokens,
    positions: x.positions,
    keyMask: x.keyMask,
    weight,
  });
  buildForward(ctx);
  const logp = op.logSoftmax(ctx.logits!, -1); // [B, T, V]
  const picked = op.squeeze(op.gatherElements(logp, op.unsqueeze(x.targets, -1), 2), -1); // [B, T]
  const nll = op.mul(op.neg(picked), x.lossMask);
  return op.div(op.reduceSum(nll, [0, 1]), op.maximum(op.reduceSum(x.lossMask, [0, 1]), 1));
}
