// Every VJP rule against central finite differences in float64, on small random shapes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph } from '../../src/engine/graph/graph.js';
import { grad } from '../../src/engine/grad/backward.js';
import { compile } from '../../src/engine/session/session.js';
import { NDArray } from '../../src/engine/ndarray.js';
import * as op from '../../src/engine/ops/index.js';
import { gradcheck } from '../helpers/gradcheck.js';
import type { Tensor } from '../../src/engine/graph/graph.js';

type Case = [string, Parameters<typeof gradcheck>[1], (...xs: Tensor[]) => Tensor];

const cases: Case[] = [
  ['Add (broadcast)', [{ shape: [2, 3] }, { shape: [3] }], (a, b) => op.add(a, b)],
  ['Sub (broadcast)', [{ shape: [2, 1] }, { shape: [2, 3] }], (a, b) => op.sub(a, b)],
  ['Mul (broadcast)', [{ shape: [2, 3, 2] }, { shape: [3, 1] }], (a, b) => op.mul(a, b)],
  ['Div', [{ shape: [2, 3] }, { shape: [2, 3], init: 'positive' }], (a, b) => op.div(a, b)],
  ['Pow', [{ shape: [2, 3], init: 'positive' }, { shape: [3] }], (a, b) => op.pow(a, b)],
  ['Max', [{ shape: [2, 3] }, { shape: [2, 3] }], (a, b) => op.maximum(a, b)],
  ['Min', [{ shape: [2, 3] }, { shape: [3] }], (a, b) => op.minimum(a, b)],
  ['Where', [{ shape: [2, 3] }, { shape: [2, 3] }, { shape: [3] }], (c, x, y) => op.where(op.greater(c, 0), x, y)],
  ['Neg', [{ shape: [4] }], (x) => op.neg(x)],
  ['Exp', [{ shape: [4] }], (x) => op.exp(x)],
  ['Log', [{ shape: [4], init: 'positive' }], (x) => op.log(x)],
  ['Sqrt', [{ shape: [4], init: 'positive' }], (x) => op.sqrt(x)],
  ['Reciprocal', [{ shape: [4], init: 'positive' }], (x) => op.reciprocal(x)],
  ['Tanh', [{ shape: [4] }], (x) => op.tanh(x)],
  ['Sigmoid', [{ shape: [4] }], (x) => op.sigmoid(x)],
  ['Relu', [{ shape: [6], init: 'awayFromZero' }], (x) => op.relu(x)],
  ['Abs', [{ shape: [6], init: 'awayFromZero' }], (x) => op.abs(x)],
  ['Sin', [{ shape: [4] }], (x) => op.sin(x)],
  ['Cos', [{ shape: [4] }], (x) => op.cos(x)],
  ['Softplus', [{ shape: [4] }], (x) => op.softplus(x)],
  ['Gelu tanh', [{ shape: [6] }], (x) => op.gelu(x, 'tanh')],
  ['Identity', [{ shape: [3] }], (x) => op.identity(x)],
  ['MatMul 2-D', [{ shape: [2, 3] }, { shape: [3, 4] }], (a, b) => op.matmul(a, b)],
  ['MatMul batched x 2-D', [{ shape: [2, 2, 3] }, { shape: [3, 2] }], (a, b) => op.matmul(a, b)],
  ['MatMul batched broadcast', [{ shape: [2, 1, 2, 3] }, { shape: [3, 3, 2] }], (a, b) => op.matmul(a, b)],
  ['Gemm', [{ shape: [2, 3] }, { shape: [3, 4] }, { shape: [4] }], (a, b, c) => op.gemm(a, b, { alpha: 0.5, beta: 2 }, c)],
  ['Gemm transA', [{ shape: [3, 2] }, { shape: [3, 4] }], (a, b) => op.gemm(a, b, { transA: true })],
  ['Gemm transB', [{ shape: [2, 3] }, { shape: [4, 3] }], (a, b) => op.gemm(a, b, { transB: true })],
  ['Gemm transA transB', [{ shape: [3, 2] }, { shape: [4, 3] }], (a, b) => op.gemm(a, b, { transA: true, transB: true, alpha: 1.5 })],
  ['ReduceSum', [{ shape: [2, 3, 2] }], (x) => op.reduceSum(x, [0, 2])],
  ['ReduceSum keepdims', [{ shape: [2, 3] }], (x) => op.reduceSum(x, 1, true)],
  ['ReduceSumSquare', [{ shape: [2, 3, 2] }], (x) => op.reduceSumSquare(x, [0, 2])],
  ['ReduceSumSquare keepdims', [{ shape: [2, 3] }], (x) => op.reduceSumSquare(x, 1, true)],
  ['ReduceMean', [{ shape: [2, 3, 2] }], (x) => op.reduceMean(x, [1])],
  ['ReduceMax', [{ shape: [2, 4] }], (x) => op.reduceMax(x, 1)],
  ['Softmax', [{ shape: [2, 4] }], (x) => op.softmax(x, -1)],
  ['Softmax axis 0', [{ shape: [3, 2] }], (x) => op.softmax(x, 0)],
  ['LogSoftmax', [{ shape: [2, 4] }], (x) => op.logSoftmax(x, -1)],
  ['LayerNormalization', [{ shape: [2, 3, 4] }, { shape: [4] }, { shape: [4] }], (x, s, b) => op.layerNorm(x, s, b, 1e-5)],
  ['RMSNorm (composite)', [{ shape: [3, 4] }, { shape: [4] }], (x, s) => op.rmsNorm(x, s, 1e-5)],
  ['Reshape', [{ shape: [2, 3, 2] }], (x) => op.reshape(x, [3, 4])],
  ['Transpose', [{ shape: [2, 3, 4] }], (x) => op.transpose(x, [2, 0, 1])],
  ['Unsqueeze/Squeeze', [{ shape: [2, 3] }], (x) => op.mul(op.unsqueeze(x, [0, 2]), op.squeeze(op.unsqueeze(x, 1), 1))],
  ['Expand', [{ shape: [3, 1] }], (x) => op.expandTo(x, [2, 3, 4])],
  ['Concat', [{ shape: [2, 2] }, { shape: [2, 3] }], (a, b) => op.concat([a, b], 1)],
  ['Split', [{ shape: [5, 2] }], (x) => {
    const [a, b] = op.split(x, [2, 3], 0);
    return op.concat([op.mul(b, 2), op.exp(a)], 0);
  }],
  ['Slice', [{ shape: [4, 5] }], (x) => op.slice(x, [1, -3], [3, Infinity], [0, 1])],
  ['Pad', [{ shape: [2, 2] }], (x) => op.pad(x, [1, 0, 0, 2], [3, 4])],
  ['Gather axis 0 (repeats)', [{ shape: [4, 3] }, { shape: [2, 3], dtype: 'int64', init: [0, 2, 2, 3, 0, 1] }], (w, i) => op.gather(w, i, 0)],
  ['Gather axis 1', [{ shape: [2, 4, 3] }, { shape: [3], dtype: 'int64', init: [3, 0, 3] }], (w, i) => op.gather(w, i, 1)],
  ['GatherElements', [{ shape: [3, 4] }, { shape: [3, 2], dtype: 'int64', init: [0, 3, 1, 1, 2, 0] }], (x, i) => op.gatherElements(x, i, 1)],
  ['GatherND', [{ shape: [3, 4] }, { shape: [2, 1], dtype: 'int64', init: [2, 0] }], (x, i) => op.gatherND(x, i)],
  ['GatherND k=2 (repeats)', [{ shape: [3, 4, 2] }, { shape: [3, 2], dtype: 'int64', init: [2, 1, 0, 3, 2, 1] }], (x, i) => op.gatherND(x, i)],
  ['scatterAddRows (repeats)', [{ shape: [4, 2] }, { shape: [2, 2], dtype: 'int64', init: [1, 3, 1, 1] }, { shape: [2, 2, 2] }], (x, i, u) => op.scatterAddRows(x, i, u)],
  ['ScatterElements add', [{ shape: [3, 4] }, { shape: [3, 2], dtype: 'int64', init: [0, 3, 1, 1, 2, 0] }, { shape: [3, 2] }],
    (x, i, u) => op.scatterElements(x, i, u, 1, 'add')],
  ['ScatterND add', [{ shape: [4, 2] }, { shape: [3, 1], dtype: 'int64', init: [1, 3, 1] }, { shape: [3, 2] }], (x, i, u) => op.scatterND(x, i, u, 'add')],
  ['TopK values', [{ shape: [2, 5] }], (x) => op.topk(x, 2, -1)[0]],
  ['CumSum', [{ shape: [2, 4] }], (x) => op.cumsum(x, 1)],
  ['CumSum reverse exclusive', [{ shape: [4] }], (x) => op.cumsum(x, 0, { reverse: true, exclusive: true })],
  ['Silu (composite)', [{ shape: [5] }], (x) => op.silu(x)],
];

// Cast through float32: the function is linear, so a coarse step keeps float32 rounding out of the difference.
test('VJP Cast f64->f32->f64 matches finite differences', async () => {
  await gradcheck('Cast', [{ shape: [3] }], (x) => op.cast(op.mul(op.cast(x, 'float32'), 3), 'float64'), { eps: 1e-2, tol: 1e-5 });
});

test('StopGradient blocks the gradient: d/dx sum(stop(x) * x) = x', async () => {
  const g = new Graph('stop');
  const x = g.input('x', 'float64', [4]);
  const loss = op.reduceSum(op.mul(op.stopGradient(x), x), 0);
  g.output(grad(loss, [x])[0], 'dx');
  const xs = NDArray.f64([0.5, -1, 2, 3], [4]);
  const { dx } = await (await compile(g)).run({ x: xs });
  assert.deepEqual(dx.toArray(), xs.toArray());
});

for (const [name, specs, build] of cases) {
  test(`VJP ${name} matches finite differences`, async () => {
    await gradcheck(name, specs, build);
  });
}
