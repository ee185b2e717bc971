// Graph building: clear shape errors, symbolic dims, session caching and release.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph } from '../../src/engine/graph/graph.js';
import * as op from '../../src/engine/ops/index.js';
import { compile, cachedSessions } from '../../src/engine/session/session.js';
import { NDArray } from '../../src/engine/ndarray.js';
import { ProbityError } from '../../src/errors.js';

test('a shape error names the op and both shapes', () => {
  const g = new Graph();
  const a = g.input('a', 'float32', [2, 3]);
  const b = g.input('b', 'float32', [4, 5]);
  assert.throws(() => op.matmul(a, b), (e: unknown) => {
    assert.ok(e instanceof ProbityError && e.code === 'SHAPE');
    assert.match((e as Error).message, /MatMul/);
    assert.match((e as Error).message, /\[2, 3\]/);
    assert.match((e as Error).message, /\[4, 5\]/);
    return true;
  });
  assert.throws(() => op.add(a, b), /Add: shapes \[2, 3\] and \[4, 5\] do not broadcast/);
  const c = g.input('c', 'float64', [2, 3]);
  assert.throws(() => op.add(a, c), /dtypes differ/);
});

test('symbolic dims: one session serves every batch size, feeds are checked', async () => {
  const g = new Graph();
  const x = g.input('x', 'float32', ['B', 'T', 4]);
  const flat = op.reshape(x, [op.mulDims(['B', 'T']), 4]);
  g.output(op.reduceSum(flat, 1), 'rowsum');
  const s = await compile(g);
  for (const [B, T] of [[1, 3], [2, 5]]) {
    const data = Float32Array.from({ length: B * T * 4 }, (_, i) => i);
    const { rowsum } = await s.run({ x: new NDArray(data, [B, T, 4]) });
    assert.deepEqual(rowsum.dims, [B * T]);
    assert.equal(rowsum.data[1], 4 + 5 + 6 + 7);
  }
  await assert.rejects(s.run({ x: NDArray.zeros('float32', [2, 3, 5]) }), /feed "x" has dims \[2, 3, 5\], expected \["B", "T", 4\]/);
  await assert.rejects(s.run({ x: NDArray.zeros('float64', [2, 3, 4]) }), /feed "x" is float64, expected float32/);
  await assert.rejects(s.run({}), /missing feed "x"/);
});

test('building the same graph twice reuses the cached session; release removes it', async () => {
  const build = () => {
    const g = new Graph('same');
    const x = g.input('x', 'float32', [3]);
    g.output(op.exp(x), 'y');
    return g;
  };
  const before = cachedSessions();
  const s1 = await compile(build());
  const s2 = await compile(build());
  assert.equal(s1, s2);
  assert.equal(cachedSessions(), before + 1);
  s1.release();
  assert.equal(cachedSessions(), before);
  await assert.rejects(s1.run({ x: NDArray.f32([1, 2, 3], [3]) }), /released/);
});

test('compiling in a loop does not grow the session cache', async () => {
  const before = cachedSessions();
  for (let i = 0; i < 50; i++) {
    const g = new Graph('loop');
    const x = g.input('x', 'float32', [2]);
    g.output(op.mul(x, 2), 'y');
    const s = await compile(g);
    const { y } = await s.run({ x: NDArray.f32([1, 2], [2]) });
    assert.deepEqual(y.toArray(), [2, 4]);
  }
  assert.equal(cachedSessions(), before + 1);
});

test('slice with symbolic dims and arange build a causal mask', async () => {
  const g = new Graph();
  const x = g.input('x', 'float32', ['T', 2]);
  const pos = op.arange(x, 0);
  const m = op.lessOrEqual(op.unsqueeze(pos, 0), op.unsqueeze(pos, 1));
  g.output(op.cast(m, 'float32'), 'mask');
  g.output(op.slice(x, [-1], [Infinity], [0]), 'last');
  const s = await compile(g);
  const out = await s.run({ x: NDArray.f32([1, 2, 3, 4, 5, 6], [3, 2]) });
  assert.deepEqual(out.mask.toArray(), [1, 0, 0, 1, 1, 0, 1, 1, 1]);
  assert.deepEqual(out.last.toArray(), [5, 6]);
});
