// Training through one-graph steps: a tiny MLP must fit a toy regression problem, with each optimizer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as op from '../../src/engine/ops/index.js';
import { Parameters } from '../../src/engine/train/parameters.js';
import { TrainStep } from '../../src/engine/train/step.js';
import { NDArray } from '../../src/engine/ndarray.js';
import type { OptimizerConfig } from '../../src/engine/train/optim.js';
import { rng } from '../helpers/gradcheck.js';

function toyData(n: number, seed: number) {
  // y = sin(2 x0) + x1 * x2: needs the hidden layer.
  const r = rng(seed);
  const x = new Float32Array(n * 3);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < 3; j++) x[i * 3 + j] = 2 * r() - 1;
    y[i] = Math.sin(2 * x[i * 3]) + x[i * 3 + 1] * x[i * 3 + 2];
  }
  return { x: new NDArray(x, [n, 3]), y: new NDArray(y, [n, 1]) };
}

function mlp(seed: number) {
  const r = rng(seed);
  const init = (scale: number) => (n: number) => Float32Array.from({ length: n }, () => (2 * r() - 1) * scale);
  return new Parameters().add('w1', [3, 32], init(0.8)).add('b1', [32]).add('w2', [32, 1], init(0.2)).add('b2', [1]);
}

async function fit(optimizer: OptimizerConfig, lr: number, steps: number) {
  const params = mlp(7);
  const step = await TrainStep.create({
    params,
    inputs: { x: { dtype: 'float32', shape: ['B', 3] }, y: { dtype: 'float32', shape: ['B', 1] } },
    loss: (p, x) => {
      const h = op.tanh(op.add(op.matmul(x.x, p.w1), p.b1));
      const pred = op.add(op.matmul(h, p.w2), p.b2);
      const err = op.sub(pred, x.y);
      return { loss: op.reduceMean(op.mul(err, err), [0, 1]) };
    },
    optimizer,
    clipNorm: 10,
  });
  const data = toyData(256, 3);
  let first = 0;
  let last = 0;
  for (let i = 0; i < steps; i++) {
    const { loss } = await step.step(data, lr);
    if (i === 0) first = loss;
    last = loss;
  }
  step.release();
  return { first, last };
}

test('AdamW fits a tiny MLP to near-zero loss', async () => {
  const { first, last } = await fit({ kind: 'adamw', weightDecay: 1e-4 }, 0.01, 600);
  assert.ok(first > 0.1, `initial loss ${first} should be large`);
  assert.ok(last < 2e-3, `final loss ${last} should be near zero`);
});

test('Adam and SGD with momentum also reduce the loss', async () => {
  const adam = await fit({ kind: 'adam' }, 0.01, 300);
  assert.ok(adam.last < adam.first / 20, `adam ${adam.first} -> ${adam.last}`);
  const sgd = await fit({ kind: 'sgd', momentum: 0.9 }, 0.05, 300);
  assert.ok(sgd.last < sgd.first / 5, `sgd ${sgd.first} -> ${sgd.last}`);
});

test('AdamW update matches a hand computation for one step', async () => {
  const params = new Parameters().add('w', [2], Float32Array.of(1, -2));
  const step = await TrainStep.create({
    params,
    inputs: {},
    // loss = sum(w^2)/2 -> grad = w
    loss: (p) => ({ loss: op.mul(op.reduceSum(op.mul(p.w, p.w), 0), 0.5) }),
    optimizer: { kind: 'adamw', weightDecay: 0.1, beta1: 0.9, beta2: 0.99, eps: 1e-8 },
    decay: () => true,
  });
  await step.step({}, 0.1);
  const w = params.get('w').toArray();
  // t=1: m_hat = g, v_hat = g^2 -> step = lr * sign(g); decay: w - lr*wd*w
  const expect = [1 - 0.1 * 0.1 * 1 - 0.1, -2 - 0.1 * 0.1 * -2 + 0.1];
  w.forEach((v, i) => assert.ok(Math.abs(v - expect[i]) < 1e-6, `w[${i}] = ${v}, expected ${expect[i]}`));
  step.release();
});

test('clipping by global norm scales the gradient', async () => {
  const params = new Parameters().add('w', [2], Float32Array.of(3, 4));
  const step = await TrainStep.create({
    params,
    inputs: {},
    loss: (p) => ({ loss: op.mul(op.reduceSum(op.mul(p.w, p.w), 0), 0.5) }),
    optimizer: { kind: 'sgd' },
    clipNorm: 1,
  });
  const { gradNorm } = await step.step({}, 1);
  assert.ok(Math.abs(gradNorm - 5) < 1e-5, `grad norm ${gradNorm}`);
  // g = (3,4) clipped to (0.6, 0.8)
  const w = params.get('w').toArray();
  assert.ok(Math.abs(w[0] - 2.4) < 1e-5 && Math.abs(w[1] - 3.2) < 1e-5, `w = ${w}`);
  step.release();
});
