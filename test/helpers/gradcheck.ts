// Central finite differences in float64 against the engine's reverse-mode gradients.
import assert from 'node:assert/strict';
import { Graph, type Tensor } from '../../src/engine/graph/graph.js';
import { grad } from '../../src/engine/grad/backward.js';
import { compile } from '../../src/engine/session/session.js';
import { NDArray } from '../../src/engine/ndarray.js';
import { mul, reduceSum, cast } from '../../src/engine/ops/index.js';
import { uniform } from '../../src/util/random.js';

/** Deterministic PRNG for tests (mulberry32). */
export const rng = (seed: number): (() => number) => uniform(seed);

export interface InputSpec {
  shape: number[];
  /** Values: 'normal' N(0,1); 'positive' in [0.5, 2]; an explicit array (e.g. indices, not differentiated). */
  init?: 'normal' | 'positive' | 'awayFromZero' | number[];
  dtype?: 'float64' | 'int64';
}

export async function gradcheck(
  name: string,
  specs: InputSpec[],
  build: (...xs: Tensor[]) => Tensor,
  { seed = 1, eps = 1e-6, tol = 1e-6 }: { seed?: number; eps?: number; tol?: number } = {},
): Promise<number> {
  const r = rng(seed);
  const normal = () => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
  const g = new Graph(name);
  const xs = specs.map((s, i) => g.input(`x${i}`, s.dtype ?? 'float64', s.shape));
  const y = build(...xs);
  // Weight each output element differently so a wrong-but-symmetric gradient cannot pass.
  const n = y.shape.reduce((a: number, b) => a * (b as number), 1);
  const w = g.constant(Float64Array.from({ length: n }, () => normal()), 'float64', y.shape);
  const loss = reduceSum(mul(cast(y, 'float64'), w), y.shape.map((_, i) => i), false);
  g.output(loss, 'loss');
  const diffIdx = specs.map((s, i) => ((s.dtype ?? 'float64') === 'float64' ? i : -1)).filter((i) => i >= 0);
  const grads = grad(loss, diffIdx.map((i) => xs[i]));
  grads.forEach((t, k) => g.output(t, `d${diffIdx[k]}`));
  const sess = await compile(g);

  const feeds: Record<string, NDArray> = {};
  specs.forEach((s, i) => {
    const size = s.shape.reduce((a, b) => a * b, 1);
    if (Array.isArray(s.init)) feeds[`x${i}`] = s.dtype === 'int64' ? NDArray.i64(s.init, s.shape) : NDArray.f64(s.init, s.shape);
    else {
      const gen = s.init === 'positive' ? () => 0.5 + 1.5 * r() : s.init === 'awayFromZero' ? () => (r() < 0.5 ? -1 : 1) * (0.3 + r()) : normal;
      feeds[`x${i}`] = NDArray.f64(Array.from({ length: size }, gen), s.shape);
    }
  });
  const out = await sess.run(feeds);
  let worst = 0;
  for (const i of diffIdx) {
    const x = feeds[`x${i}`].data as Float64Array;
    const analytic = out[`d${i}`].data as Float64Array;
    for (let j = 0; j < x.length; j++) {
      const keep = x[j];
      x[j] = keep + eps;
      const up = (await sess.run(feeds, ['loss'])).loss.data[0] as number;
      x[j] = keep - eps;
      const down = (await sess.run(feeds, ['loss'])).loss.data[0] as number;
      x[j] = keep;
      const numeric = (up - down) / (2 * eps);
      const err = Math.abs(numeric - analytic[j]) / Math.max(1, Math.abs(numeric));
      worst = Math.max(worst, err);
      assert.ok(err < tol, `${name}: d/dx${i}[${j}] analytic ${analytic[j]} vs numeric ${numeric} (rel err ${err.toExponential(2)})`);
    }
  }
  return worst;
}
