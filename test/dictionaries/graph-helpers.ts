// Run an architecture's training loss on given parameters and one batch; return loss, metrics, firing and gradients.
import { Graph, type Tensor } from '../../src/engine/graph/graph.js';
import { grad } from '../../src/engine/grad/backward.js';
import { compile } from '../../src/engine/session/session.js';
import { NDArray } from '../../src/engine/ndarray.js';
import type { SaeArchitecture, SaeConfig } from '../../src/dictionaries/architectures/types.js';
import { Rng } from '../../src/dictionaries/sae.js';

export interface LossRun {
  loss: number;
  metrics: Record<string, number>;
  firing: Float32Array;
  grads: Record<string, Float32Array>;
}

export async function runLoss(
  arch: SaeArchitecture,
  cfg: SaeConfig,
  params: Record<string, Float32Array>,
  x: Float32Array,
  B: number,
  o: { wrt?: string[]; coeff?: number; deadMask?: Float32Array; target?: Float32Array; build?: (p: Record<string, Tensor>, x: Tensor, target: Tensor) => Tensor } = {},
): Promise<LossRun> {
  const g = new Graph('test_loss');
  const p: Record<string, Tensor> = {};
  const feeds: Record<string, NDArray> = {};
  for (const s of arch.params(cfg)) {
    p[s.name] = g.input(`p.${s.name}`, 'float32', s.dims);
    feeds[`p.${s.name}`] = new NDArray(params[s.name], s.dims);
  }
  const xt = g.input('x', 'float32', [B, cfg.dIn]);
  feeds.x = new NDArray(x, [B, cfg.dIn]);
  let tt = xt;
  if (o.target) {
    tt = g.input('target', 'float32', [B, cfg.dOut]);
    feeds.target = new NDArray(o.target, [B, cfg.dOut]);
  }
  const coeff = g.input('coeff', 'float32', []);
  feeds.coeff = NDArray.scalar(o.coeff ?? 0);
  let deadMask: Tensor | undefined;
  if (o.deadMask) {
    deadMask = g.input('dead', 'float32', [cfg.dSae]);
    feeds.dead = new NDArray(o.deadMask, [cfg.dSae]);
  }
  let metrics: Record<string, Tensor> = {};
  let firing: Tensor | null = null;
  let loss: Tensor;
  if (o.build) loss = o.build(p, xt, tt);
  else {
    const r = arch.loss(p, xt, tt, cfg, { sparsityCoefficient: coeff, deadMask });
    loss = r.loss;
    metrics = r.metrics;
    firing = r.firing;
  }
  g.output(loss, 'loss');
  for (const [k, t] of Object.entries(metrics)) g.output(t, `metric.${k}`);
  if (firing) g.output(firing, 'firing');
  const wrt = o.wrt ?? [];
  grad(loss, wrt.map((n) => p[n])).forEach((t, i) => g.output(t, `grad.${wrt[i]}`));
  const out = await (await compile(g, { threads: 1 })).run(feeds);
  const res: LossRun = { loss: Number(out.loss.data[0]), metrics: {}, firing: (out.firing?.data as Float32Array) ?? new Float32Array(0), grads: {} };
  for (const k of Object.keys(metrics)) res.metrics[k] = Number(out[`metric.${k}`].data[0]);
  for (const n of wrt) res.grads[n] = out[`grad.${n}`].data as Float32Array;
  return res;
}

export function randn(n: number, seed: number, scale = 1): Float32Array {
  const r = new Rng(seed).next;
  return Float32Array.from({ length: n }, () => scale * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()));
}

/** Largest |a - b| relative to max(1, |b|). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return m;
}
