// Constants whose bytes stay outside the ONNX model (Graph.external): same results as feeding them as inputs, and
// the session cache tells apart two constants of the same shape held in different memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph } from '../../src/engine/graph/graph.js';
import * as op from '../../src/engine/ops/index.js';
import { compile } from '../../src/engine/session/session.js';
import { NDArray } from '../../src/engine/ndarray.js';

const M = 3, K = 4, N = 5;
const x = Float32Array.from({ length: M * K }, (_, i) => Math.sin(i + 1));
const w1 = Float32Array.from({ length: K * N }, (_, i) => Math.cos(i * 0.7));
const w2 = Float32Array.from({ length: K * N }, (_, i) => (i % 3) - 1);

async function viaExternal(w: Float32Array) {
  const g = new Graph('ext');
  g.output(op.matmul(g.input('x', 'float32', [M, K]), g.external('w', w, 'float32', [K, N])), 'y');
  const s = await compile(g);
  return { key: s.key, y: (await s.run({ x: new NDArray(x, [M, K]) })).y.data as Float32Array };
}

test('external constants give the results of the same values fed as inputs, and are keyed by their memory', async () => {
  const g = new Graph('inp');
  g.output(op.matmul(g.input('x', 'float32', [M, K]), g.input('w', 'float32', [K, N])), 'y');
  const s = await compile(g);
  for (const w of [w1, w2]) {
    const want = (await s.run({ x: new NDArray(x, [M, K]), w: new NDArray(w, [K, N]) })).y.data as Float32Array;
    const got = await viaExternal(w);
    assert.deepEqual(Array.from(got.y, (v) => +v.toFixed(5)), Array.from(want, (v) => +v.toFixed(5)));
  }
  const a = await viaExternal(w1), b = await viaExternal(w2), a2 = await viaExternal(w1);
  assert.notEqual(a.key, b.key, 'same ONNX bytes, different constant memory: different sessions');
  assert.equal(a.key, a2.key, 'same memory: the cached session is reused');
  assert.throws(() => new Graph('dup').external('w', w1, 'float32', [K, N]).graph.external('w', w2, 'float32', [K, N]), /already used/);
});
