// Engine benchmarks (issue: engine). Prints JSON and writes bench/results/engine.json.
//  - matmul 4096x768 @ 768x3072 fp32 through the engine vs the same ONNX model built by hand and run on
//    onnxruntime-node directly (same process, interleaved runs, medians).
//  - TopK SAE training step 768 -> 12288, k = 32, batch 4096, Adam: tokens/s with exact and int8 latent selection.
import ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { Graph } from '../src/engine/graph/graph.js';
import * as op from '../src/engine/ops/index.js';
import { compile } from '../src/engine/session/session.js';
import { NDArray } from '../src/engine/ndarray.js';
import { Parameters } from '../src/engine/train/parameters.js';
import { TrainStep } from '../src/engine/train/step.js';
import { topkForward, type SparseSums } from '../src/dictionaries/architectures/topk-core.js';
import { resolveSelection, type TopKSelection } from '../src/dictionaries/architectures/topk-select.js';
import { int8SelectionRecall } from '../src/dictionaries/train/selection-recall.js';
import { Sae } from '../src/dictionaries/sae.js';
import { median, randn } from './util.js';

const { onnx } = onnxProto;
const M = 4096, K = 768, N = 3072;

async function directSession() {
  const vi = (name: string, dims: number[]) =>
    onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
  const graph = onnx.GraphProto.create({
    name: 'direct',
    node: [onnx.NodeProto.create({ opType: 'MatMul', input: ['a', 'b'], output: ['c'] })],
    input: [vi('a', [M, K]), vi('b', [K, N])],
    output: [onnx.ValueInfoProto.create({ name: 'c', type: { tensorType: { elemType: 1 } } })],
  });
  const bytes = onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 9, opsetImport: [{ domain: '', version: 20 }], graph })).finish();
  return ort.InferenceSession.create(bytes, { intraOpNumThreads: (await import('node:os')).availableParallelism(), interOpNumThreads: 1, graphOptimizationLevel: 'all' });
}

export async function benchMatmul(reps = 15) {
  const a = randn(M * K, 1), b = randn(K * N, 2);
  const g = new Graph('matmul');
  g.output(op.matmul(g.input('a', 'float32', [M, K]), g.input('b', 'float32', [K, N])), 'c');
  const eng = await compile(g);
  const direct = await directSession();
  const feedsE = { a: new NDArray(a, [M, K]), b: new NDArray(b, [K, N]) };
  const te: number[] = [], td: number[] = [];
  const runEngine = async () => {
    const t0 = performance.now();
    await eng.run(feedsE);
    return performance.now() - t0;
  };
  const runDirect = async () => {
    const t0 = performance.now();
    await direct.run({ a: new ort.Tensor('float32', a, [M, K]), b: new ort.Tensor('float32', b, [K, N]) });
    return performance.now() - t0;
  };
  // Interleaved, alternating which goes first, so drift in machine load hits both equally.
  for (let i = 0; i < reps + 2; i++) {
    const [e, d] = i % 2 ? [await runEngine(), await runDirect()] : [0, await runDirect()].map(Number);
    const e2 = i % 2 ? e : await runEngine();
    if (i >= 2) { te.push(e2); td.push(d); }
  }
  const flop = 2 * M * K * N;
  const gE = flop / (median(te) / 1e3) / 1e9, gD = flop / (median(td) / 1e3) / 1e9;
  eng.release();
  await direct.release();
  return { matmul_gflops_engine: gE, matmul_gflops_ort_direct: gD, matmul_engine_over_direct: gE / gD };
}

/** A TopK SAE training step (768 -> 12288 by default) on random weights, with the given latent selection. */
export async function topkSaeStep(selection: TopKSelection, dIn = 768, dSae = 12288, k = 32, profilePrefix?: string, sums: SparseSums = 'host') {
  const params = new Parameters()
    .add('W_encT', [dSae, dIn], randn(dSae * dIn, 3, 1 / Math.sqrt(dIn)))
    .add('b_enc', [dSae])
    .add('W_dec', [dSae, dIn], randn(dSae * dIn, 4, 1 / Math.sqrt(dIn)))
    .add('b_dec', [dIn]);
  const step = await TrainStep.create({
    name: `topk_sae_bench_${selection}_${sums}`,
    params,
    inputs: { x: { dtype: 'float32', shape: ['B', dIn] } },
    loss: (p, x) => {
      const f = topkForward({ W_encT: p.W_encT, b_enc: p.b_enc, W_dec: p.W_dec, b_dec: p.b_dec }, x.x, k, true, { selection, sums });
      const err = op.sub(f.xhat, x.x);
      return { loss: op.reduceMean(op.reduceSum(op.mul(err, err), -1), 0) };
    },
    optimizer: { kind: 'adam' },
    session: { profilePrefix },
  });
  return { step, params };
}

/**
 * TopK SAE training step 768 -> 12288, k = 32, batch 4096, Adam, with exact and int8 latent selection, and (int8)
 * with the sparse gradients summed by onnxruntime's racing ScatterND instead of the exact host kernels, the way
 * steps ran before (steps of the three interleaved, so machine drift hits all), plus how often int8 chose the exact
 * latents on the bench's batch. The headline key is the trainer's default: 'auto' selection, host sums.
 */
export async function benchTopkSaeStep(reps = 8, batch = 4096, dIn = 768, dSae = 12288, k = 32) {
  const x = new NDArray(randn(batch * dIn, 5), [batch, dIn]);
  const kinds = ['exact', 'int8', 'int8_unordered'] as const;
  const runs = {
    exact: await topkSaeStep('exact', dIn, dSae, k),
    int8: await topkSaeStep('int8', dIn, dSae, k),
    int8_unordered: await topkSaeStep('int8', dIn, dSae, k, undefined, 'unordered'),
  };
  const times: Record<(typeof kinds)[number], number[]> = { exact: [], int8: [], int8_unordered: [] };
  for (let i = 0; i < reps + 2; i++) {
    for (const kind of i % 2 ? kinds : [...kinds].reverse()) {
      const t0 = performance.now();
      await runs[kind].step.step({ x }, 1e-4);
      if (i >= 2) times[kind].push(performance.now() - t0);
    }
  }
  const p = runs.int8.params;
  const sae = new Sae({ architecture: 'topk', dIn, dSae, k, hookName: 'bench' }, Object.fromEntries(p.names.map((n) => [n, p.get(n).data as Float32Array])));
  const recall = await int8SelectionRecall(sae, x.data as Float32Array, batch);
  for (const r of Object.values(runs)) r.step.release();
  const auto: TopKSelection = resolveSelection('auto', dSae, k);
  const ms = { exact: median(times.exact), int8: median(times.int8), int8_unordered: median(times.int8_unordered) };
  return {
    topk_sae_step_ms: ms[auto],
    topk_sae_train_tokens_per_s: batch / (ms[auto] / 1e3),
    topk_sae_selection: auto,
    topk_sae_sparse_sums: 'host',
    topk_sae_train_tokens_per_s_exact: batch / (ms.exact / 1e3),
    topk_sae_train_tokens_per_s_int8: batch / (ms.int8 / 1e3),
    topk_sae_int8_over_exact: ms.exact / ms.int8,
    topk_sae_train_tokens_per_s_int8_unordered_scatter: batch / (ms.int8_unordered / 1e3),
    topk_sae_host_sums_over_unordered_scatter: ms.int8_unordered / ms.int8,
    topk_sae_int8_selection_recall: recall.recall,
    topk_sae_int8_candidates: recall.candidates,
    topk_sae_config: { batch, d_in: dIn, d_sae: dSae, k, optimizer: 'adam', steps_timed: reps },
    topk_sae_pytorch_anchor_tokens_per_s: 1332,
  };
}
