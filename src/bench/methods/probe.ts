// Linear probe: L2-regularised logistic regression trained in one engine graph per step (TrainStep, Adam).
//
// Choices (documented because they change results):
//   * Features are standardised (train mean / std per dimension, std floored at 1e-6) for conditioning; the fitted
//     weights are folded back into activation space, so score(x) = x . w + b on raw activations and
//     direction = w / |w| (the logit's gradient in activation space). The L2 penalty (l2 / 2) |w_std|^2 therefore acts
//     on the standardised weights, i.e. it is a per-dimension-scaled ridge in raw space.
//   * Loss: mean over tokens of a class-weighted logistic loss (balanced = true: each class carries half of the total
//     weight, so rare concepts are not ignored) + the L2 term; the bias is not penalised.
//   * Optimiser: Adam (adamw kind with no decoupled decay; the L2 is in the loss) on minibatches drawn from a seeded
//     permutation (full batch when n <= batchSize), `steps` updates, learning rate with cosine decay to 10%.
import * as op from '../../engine/ops/index.js';
import { NDArray } from '../../engine/ndarray.js';
import { Parameters } from '../../engine/train/parameters.js';
import { TrainStep } from '../../engine/train/step.js';
import { Rng } from '../../stats/index.js';
import type { ConceptData, FittedMethod, Method } from './types.js';
import { checkConcept, checkRowsX, project, unit } from './common.js';

export interface LogisticOptions {
  /** L2 penalty on the standardised weights (default 1e-3). */
  l2?: number;
  /** Optimiser steps (default 300). */
  steps?: number;
  /** Learning rate (default 0.05). */
  lr?: number;
  /** Rows per step (default 4096; full batch when n is smaller). */
  batchSize?: number;
  /** Class-balanced loss (default true). */
  balanced?: boolean;
  /** Standardise features before fitting (default true); weights are reported in raw feature space either way. */
  standardize?: boolean;
}

export interface LogisticFit {
  /** [d] weights on raw features. */
  w: Float64Array;
  /** Bias on raw features. */
  b: number;
  /** Final training loss (last step). */
  loss: number;
}

/** Fit logistic regression on x [n, d] with labels y (1 = positive); returns raw-space weights and bias. */
export async function fitLogistic(x: Float32Array, n: number, d: number, y: Uint8Array, seed: number, opts: LogisticOptions = {}): Promise<LogisticFit> {
  const l2 = opts.l2 ?? 1e-3;
  const steps = opts.steps ?? 300;
  const lr0 = opts.lr ?? 0.05;
  const bs = Math.min(n, opts.batchSize ?? 4096);
  const standardize = opts.standardize ?? true;
  const mu = new Float64Array(d);
  const sd = new Float64Array(d).fill(1);
  if (standardize) {
    for (let t = 0; t < n; t++) for (let j = 0; j < d; j++) mu[j] += x[t * d + j];
    for (let j = 0; j < d; j++) mu[j] /= n;
    const v = new Float64Array(d);
    for (let t = 0; t < n; t++) for (let j = 0; j < d; j++) v[j] += (x[t * d + j] - mu[j]) ** 2;
    for (let j = 0; j < d; j++) sd[j] = Math.max(Math.sqrt(v[j] / n), 1e-6);
  }
  const xs = new Float32Array(n * d);
  for (let t = 0; t < n; t++) for (let j = 0; j < d; j++) xs[t * d + j] = (x[t * d + j] - mu[j]) / sd[j];
  let nPos = 0;
  for (let t = 0; t < n; t++) if (y[t]) nPos++;
  const balanced = opts.balanced ?? true;
  const wPos = balanced && nPos > 0 ? n / (2 * nPos) : 1;
  const wNeg = balanced && nPos < n ? n / (2 * (n - nPos)) : 1;
  // Start the bias at the (weighted) log-odds so early steps go into the weights.
  const prior = (wPos * nPos) / (wPos * nPos + wNeg * (n - nPos));
  const b0 = Math.log(Math.max(prior, 1e-6) / Math.max(1 - prior, 1e-6));

  const params = new Parameters().add('w', [d, 1]).add('b', [1], Float32Array.of(b0));
  const step = await TrainStep.create({
    name: 'logistic_probe',
    params,
    inputs: { x: { dtype: 'float32', shape: ['B', d] }, y: { dtype: 'float32', shape: ['B', 1] }, sw: { dtype: 'float32', shape: ['B', 1] } },
    loss: (p, inp) => {
      const z = op.add(op.matmul(inp.x, p.w), p.b); // [B, 1]
      const nll = op.sub(op.softplus(z), op.mul(inp.y, z)); // -log p(y | z)
      const data = op.reduceMean(op.mul(nll, inp.sw), [0, 1]);
      const pen = op.mul(op.reduceSum(op.mul(p.w, p.w), [0, 1]), 0.5 * l2);
      return { loss: op.add(data, pen), metrics: { nll: data } };
    },
    optimizer: { kind: 'adamw', weightDecay: 0 },
    decay: () => false,
  });
  const rng = new Rng(seed);
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  const shuffle = () => {
    for (let i = n - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      const t = perm[i];
      perm[i] = perm[j];
      perm[j] = t;
    }
  };
  const bx = new Float32Array(bs * d);
  const by = new Float32Array(bs);
  const bw = new Float32Array(bs);
  let cursor = n;
  let loss = NaN;
  try {
    for (let s = 0; s < steps; s++) {
      if (bs < n) {
        for (let r = 0; r < bs; r++) {
          if (cursor >= n) {
            shuffle();
            cursor = 0;
          }
          const t = perm[cursor++];
          bx.set(xs.subarray(t * d, (t + 1) * d), r * d);
          by[r] = y[t] ? 1 : 0;
          bw[r] = y[t] ? wPos : wNeg;
        }
      } else if (s === 0) {
        bx.set(xs);
        for (let t = 0; t < n; t++) {
          by[t] = y[t] ? 1 : 0;
          bw[t] = y[t] ? wPos : wNeg;
        }
      }
      const lr = lr0 * (0.1 + 0.9 * 0.5 * (1 + Math.cos((Math.PI * s) / Math.max(1, steps))));
      const r = await step.step({ x: new NDArray(bx, [bs, d]), y: new NDArray(by, [bs, 1]), sw: new NDArray(bw, [bs, 1]) }, lr);
      loss = r.loss;
    }
  } finally {
    step.release();
  }
  const ws = params.get('w').data;
  const bsd = params.get('b').data[0];
  const w = new Float64Array(d);
  let b = bsd;
  for (let j = 0; j < d; j++) {
    w[j] = ws[j] / sd[j];
    b -= w[j] * mu[j];
  }
  return { w, b, loss };
}

/** Logistic-regression probe: score = logit, direction = normalised raw-space weight vector. */
export function probe(opts: LogisticOptions = {}): Method {
  return {
    name: 'probe',
    async fit(train: ConceptData, seed: number): Promise<FittedMethod> {
      checkConcept(train, 'probe');
      const { x, n, d, labels } = train;
      const { w, b } = await fitLogistic(x, n, d, labels, seed, opts);
      return {
        name: 'probe',
        direction: unit(w),
        score: async (xs, m) => {
          checkRowsX(xs, m, d, 'probe score');
          return project(xs, m, d, w, b);
        },
      };
    },
  };
}
