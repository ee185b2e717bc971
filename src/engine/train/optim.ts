// Optimizers written as graph fragments, so forward + backward + update is one ONNX graph and one ORT call.
// Scalars that change every step (learning rate, bias corrections) are graph inputs: no recompilation per step.
import type { Tensor } from '../graph/graph.js';
import { add, div, mul, reduceSumSquare, sqrt, sub, minimum } from '../ops/index.js';

export interface SGDConfig {
  kind: 'sgd';
  momentum?: number;
  weightDecay?: number;
}
export interface AdamConfig {
  kind: 'adam' | 'adamw';
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** adam: L2 added to the gradient; adamw: decoupled decay (Loshchilov & Hutter). */
  weightDecay?: number;
}
export type OptimizerConfig = SGDConfig | AdamConfig;

/** Names of per-parameter state tensors each optimizer keeps. */
export function stateNames(cfg: OptimizerConfig): string[] {
  if (cfg.kind === 'sgd') return cfg.momentum ? ['mom'] : [];
  return ['m', 'v'];
}

export interface StepScalars {
  lr: Tensor;
  /** Adam's bias-corrected step size lr * sqrt(1 - beta2^t) / (1 - beta1^t), and eps * sqrt(1 - beta2^t), both
   * computed on the host each step so the update costs few passes over the parameters (it is memory-bound). */
  lrT: Tensor;
  epsT: Tensor;
}

/** Host-side scalars for step t (1-based). */
export function stepScalars(cfg: OptimizerConfig, lr: number, t: number): { lr: number; lrT: number; epsT: number } {
  if (cfg.kind === 'sgd') return { lr, lrT: lr, epsT: 0 };
  const bc1 = 1 - (cfg.beta1 ?? 0.9) ** t;
  const bc2 = 1 - (cfg.beta2 ?? 0.999) ** t;
  return { lr, lrT: (lr * Math.sqrt(bc2)) / bc1, epsT: (cfg.eps ?? 1e-8) * Math.sqrt(bc2) };
}

/** New value of one parameter and of its state, given its gradient. */
export function update(
  cfg: OptimizerConfig,
  p: Tensor,
  g: Tensor,
  state: Record<string, Tensor>,
  s: StepScalars,
  decay: boolean,
): { p: Tensor; state: Record<string, Tensor> } {
  const wd = decay ? (cfg.weightDecay ?? 0) : 0;
  if (cfg.kind === 'sgd') {
    const grad = wd ? add(g, mul(p, wd)) : g;
    if (!cfg.momentum) return { p: sub(p, mul(grad, s.lr)), state: {} };
    const mom = add(mul(state.mom, cfg.momentum), grad);
    return { p: sub(p, mul(mom, s.lr)), state: { mom } };
  }
  const b1 = cfg.beta1 ?? 0.9;
  const b2 = cfg.beta2 ?? 0.999;
  const grad = cfg.kind === 'adam' && wd ? add(g, mul(p, wd)) : g;
  // m += (1-b1)(g - m); v += (1-b2)(g^2 - v); p -= lrT * m / (sqrt(v) + epsT)  (PyTorch's formulation)
  const m = add(state.m, mul(sub(grad, state.m), 1 - b1));
  const v = add(state.v, mul(sub(mul(grad, grad), state.v), 1 - b2));
  const stepDir = div(m, add(sqrt(v), s.epsT));
  const base = cfg.kind === 'adamw' && wd ? mul(p, sub(1, mul(s.lr, wd))) : p;
  return { p: sub(base, mul(stepDir, s.lrT)), state: { m, v } };
}

/** Global L2 norm of all gradients, and the gradients scaled so that norm is at most maxNorm. */
export function clipByGlobalNorm(grads: Tensor[], maxNorm: number | null): { grads: Tensor[]; norm: Tensor } {
  const sq = grads.map((g) => reduceSumSquare(g, g.shape.map((_, i) => i), false));
  const norm = sqrt(sq.reduce((a, b) => add(a, b)));
  if (maxNorm === null) return { grads, norm };
  const scale = minimum(div(maxNorm, add(norm, 1e-6)), 1);
  return { grads: grads.map((g) => mul(g, scale)), norm };
}
