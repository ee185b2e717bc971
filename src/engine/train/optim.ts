// Optimizers written as graph fragments, so forward + backward + update is one ONNX graph and one ORT call.
// Scalars that change every step (learning rate, bias corrections) are graph inputs: no recompilation per step.
import type { Tensor } from '../graph/graph.js';
import { add, div, mul, reduceSum, sqrt, sub, minimum } from '../ops/index.js';

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
  /** 1 - beta1^t and 1 - beta2^t (computed on the host each step). */
  bc1: Tensor;
  bc2: Tensor;
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
  const eps = cfg.eps ?? 1e-8;
  const grad = cfg.kind === 'adam' && wd ? add(g, mul(p, wd)) : g;
  const m = add(mul(state.m, b1), mul(grad, 1 - b1));
  const v = add(mul(state.v, b2), mul(mul(grad, grad), 1 - b2));
  const stepDir = div(div(m, s.bc1), add(sqrt(div(v, s.bc2)), eps));
  const base = cfg.kind === 'adamw' && wd ? sub(p, mul(p, mul(s.lr, wd))) : p;
  return { p: sub(base, mul(stepDir, s.lr)), state: { m, v } };
}

/** Global L2 norm of all gradients, and the gradients scaled so that norm is at most maxNorm. */
export function clipByGlobalNorm(grads: Tensor[], maxNorm: number | null): { grads: Tensor[]; norm: Tensor } {
  const sq = grads.map((g) => reduceSum(mul(g, g), g.shape.map((_, i) => i), false));
  const norm = sqrt(sq.reduce((a, b) => add(a, b)));
  if (maxNorm === null) return { grads, norm };
  const scale = minimum(div(maxNorm, add(norm, 1e-6)), 1);
  return { grads: grads.map((g) => mul(g, scale)), norm };
}
