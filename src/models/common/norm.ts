// Normalisation variants shared by the families: RMSNorm with weight w (Llama, Qwen, Mistral) or (1 + w) (Gemma's
// Hugging Face weights; GGUF files store 1 + w already, so their spec says normPlusOne false), and LayerNorm with
// bias (GPT-2, GPT-NeoX). Weights are canonical names (`<prefix>.w`, `<prefix>.b`).
import type { Tensor } from '../../engine/graph/graph.js';
import * as op from '../../engine/ops/index.js';
import type { BuildContext } from './context.js';

/** RMSNorm over the last dim with the weight `name`, (1 + w) when the spec says so. */
export function rmsNormW(ctx: BuildContext, x: Tensor, name: string): Tensor {
  const w = ctx.w(name);
  return op.rmsNorm(x, ctx.spec.normPlusOne ? op.add(w, 1) : w, ctx.spec.normEps);
}

/** LayerNorm over the last dim with `<prefix>.w` and `<prefix>.b`. */
export function layerNormWB(ctx: BuildContext, x: Tensor, prefix: string): Tensor {
  return op.layerNorm(x, ctx.w(`${prefix}.w`), ctx.w(`${prefix}.b`), ctx.spec.normEps);
}

/** cap * tanh(x / cap) (Gemma-2's attention-score and final-logit soft-caps). */
export function softCap(x: Tensor, cap: number): Tensor {
  return op.mul(op.tanh(op.mul(x, 1 / cap)), cap);
}
