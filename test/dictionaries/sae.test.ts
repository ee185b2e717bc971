// The Sae object: compiled encode/decode/reconstruct against the host Codec, dense-to-sparse codes, scale folding,
// and splicing into a model forward (a graph with [B, T, D] and [B, T, H, Dh] hook values, then a tiny GPT-2, for an
// SAE and for a transcoder).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph, type Tensor } from '../../src/engine/graph/graph.js';
import { compile } from '../../src/engine/session/session.js';
import { NDArray } from '../../src/engine/ndarray.js';
import { evaluateCodec } from '../../src/dictionaries/metrics/index.js';
import { Sae, type SaeConfigInput } from '../../src/dictionaries/sae.js';
import type { ArchitectureName } from '../../src/dictionaries/architectures/types.js';
import { gpt2Fixture, load, tempDir } from '../models/tiny-models.js';
import { randn } from './graph-helpers.js';
import { maxAbsDiff } from './synthetic.js';

/** An SAE with non-trivial biases and thresholds, so every parameter matters. */
function randomSae(cfg: SaeConfigInput, seed: number): Sae {
  const sae = Sae.create(cfg, seed, { decoderInitNorm: 0.5 });
  let k = 0;
  for (const s of sae.specs) {
    const v = sae.params[s.name];
    if (s.name === 'log_threshold') v.set(randn(v.length, seed + ++k, 0.3).map((x) => x - 2));
    else if (s.name === 'threshold') v.fill(0.1);
    else if (!s.name.startsWith('W_')) v.set(randn(v.length, seed + ++k, 0.2));
  }
  return sae;
}

const ARCHES: ArchitectureName[] = ['standard', 'topk', 'batchtopk', 'jumprelu', 'gated'];

for (const a of ARCHES) {
  test(`${a}: compiled encode/decode agree with the host Codec; codes are sparse with k = max L0`, async () => {
    const D = 8, S = 24, n = 20;
    const sae = randomSae({ architecture: a, dIn: D, dSae: S, k: 4, hookName: 'h', inputScale: 1.7 }, 9);
    const x = randn(n * D, 10);
    const code = await sae.encode(x, n);
    const host = sae.codec();
    const hcode = host.encode(x, n);
    assert.equal(code.k, hcode.k);
    let maxL0 = 0;
    for (let t = 0; t < n; t++) maxL0 = Math.max(maxL0, code.values.subarray(t * code.k, (t + 1) * code.k).filter((v) => v !== 0).length);
    assert.equal(code.k, a === 'topk' ? 4 : Math.max(1, maxL0));
    const dense = await sae.encodeDense(x, n);
    const hdense = new Float32Array(n * S);
    for (let t = 0; t < n; t++) for (let j = 0; j < hcode.k; j++) if (hcode.values[t * hcode.k + j]) hdense[t * S + hcode.indices[t * hcode.k + j]] = hcode.values[t * hcode.k + j];
    assert.ok(maxAbsDiff(dense, hdense) < 1e-5, `codes differ by ${maxAbsDiff(dense, hdense)}`);
    const xhat = await sae.reconstruct(x, n);
    assert.ok(maxAbsDiff(await sae.decode(code), xhat) < 1e-5);
    assert.ok(maxAbsDiff(host.decode(hcode), xhat) < 1e-5);
    // evaluate (compiled) and evaluateCodec (host) report the same metrics.
    const m1 = (await sae.evaluate(x, n, { batchSize: 7 })).metrics();
    const m2 = evaluateCodec(host, x, n, 7).metrics();
    for (const k of ['fve', 'l0', 'mse_per_token'] as const) assert.ok(Math.abs(m1[k] - m2[k]) < 1e-4, `${k}: ${m1[k]} vs ${m2[k]}`);
    // A cap keeps each token's largest values.
    const capped = await sae.encode(x, n, { maxK: 1 });
    if (a !== 'topk') assert.equal(capped.k, 1);
  });
}

test('folding the input/output scales into the weights gives the same reconstructions on unscaled data', async () => {
  const n = 16;
  for (const cfg of [
    { architecture: 'standard', dIn: 8, dSae: 16, hookName: 'h', inputScale: 2.5 },
    { architecture: 'jumprelu', dIn: 8, dSae: 16, hookName: 'h', inputScale: 0.4 },
    { architecture: 'topk', dIn: 8, dOut: 6, dSae: 16, k: 3, hookName: 'a', outHookName: 'b', inputScale: 3, outputScale: 0.5 },
    { architecture: 'gated', dIn: 8, dSae: 16, hookName: 'h', inputScale: 1.9 },
  ] as SaeConfigInput[]) {
    const sae = randomSae(cfg, 4);
    const folded = sae.foldScale();
    assert.equal(folded.cfg.inputScale, 1);
    assert.equal(folded.cfg.outputScale, undefined);
    const x = randn(n * sae.dIn, 5, 2);
    const a = await sae.reconstruct(x, n);
    const b = await folded.reconstruct(x, n);
    const scale = Math.max(...Array.from(a, Math.abs));
    assert.ok(maxAbsDiff(a, b) < 1e-5 * scale, `${cfg.architecture}: folded differs by ${maxAbsDiff(a, b)}`);
    assert.deepEqual((await sae.encode(x, n)).indices, (await folded.encode(x, n)).indices);
  }
});

/** Run an intervention's build on a graph input of the given (symbolic) shape; feed `value`. */
async function runBuild(build: (x: Tensor, input: (name: string, v: NDArray) => Tensor) => Tensor, shape: (number | string)[], value: NDArray): Promise<Float32Array> {
  const g = new Graph('splice');
  const x = g.input('x', 'float32', shape);
  const feeds: Record<string, NDArray> = { x: value };
  const y = build(x, (name, v) => {
    feeds[name] = v;
    return g.input(name, 'float32', [...v.dims]);
  });
  g.output(y, 'y');
  const out = await (await compile(g, { threads: 1 })).run(feeds);
  assert.deepEqual(out.y.dims, value.dims);
  return out.y.data as Float32Array;
}

test('spliceIntervention equals reconstruct() on [B, T, D] and on hook_z-shaped [B, T, H, Dh] values', async () => {
  const sae = randomSae({ architecture: 'topk', dIn: 12, dSae: 20, k: 3, hookName: 'blocks.0.hook_resid_post', inputScale: 1.3 }, 2);
  const iv = sae.spliceIntervention();
  assert.equal(iv.kind, 'graph');
  if (iv.kind !== 'graph') return;
  const x = randn(2 * 5 * 12, 6);
  const want = await sae.reconstruct(x, 10);
  assert.ok(maxAbsDiff(await runBuild(iv.build, ['B', 'T', 12], new NDArray(x, [2, 5, 12])), want) < 1e-6);
  assert.ok(maxAbsDiff(await runBuild(iv.build, ['B', 'T', 3, 4], new NDArray(x, [2, 5, 3, 4])), want) < 1e-6);
});

test('splicing into a tiny GPT-2: the SAE and the transcoder splices equal patching in reconstruct() by hand', async () => {
  const fx = gpt2Fixture(tempDir('sae-splice'), { seed: 3 });
  const m = await load(fx.path);
  const D = m.spec.dModel;
  const rows = [
    [5, 17, 99, 3, 42, 7],
    [8, 1, 250, 64, 9, 11],
  ];
  const [Bn, T] = [rows.length, rows[0].length];
  const clean = await m.forward(rows, { cache: ['blocks.0.hook_resid_post', 'blocks.1.ln2.hook_normalized'] });

  const sae = randomSae({ architecture: 'jumprelu', dIn: D, dSae: 48, hookName: 'blocks.0.hook_resid_post' }, 8);
  const spliced = await m.forward(rows, { interventions: sae.spliceInterventions() });
  const recon = await sae.reconstruct(clean.cache['blocks.0.hook_resid_post'].data as Float32Array, Bn * T);
  const patched = await m.forward(rows, { interventions: { 'blocks.0.hook_resid_post': [{ kind: 'patch', source: new NDArray(recon, [Bn, T, D]) }] } });
  const d1 = maxAbsDiff(spliced.logits!.data, patched.logits!.data);
  assert.ok(d1 < 1e-4, `SAE splice vs patch: ${d1}`);
  assert.ok(maxAbsDiff(spliced.logits!.data, clean.logits!.data) > 1e-3, 'the splice changed the forward');

  const tc = randomSae({ architecture: 'topk', dIn: D, dSae: 40, k: 4, hookName: 'blocks.1.ln2.hook_normalized', outHookName: 'blocks.1.hook_mlp_out' }, 12);
  const viaTc = await m.forward(rows, { interventions: tc.spliceInterventions() });
  const out = await tc.reconstruct(clean.cache['blocks.1.ln2.hook_normalized'].data as Float32Array, Bn * T);
  const patched2 = await m.forward(rows, { interventions: { 'blocks.1.hook_mlp_out': [{ kind: 'patch', source: new NDArray(out, [Bn, T, D]) }] } });
  const d2 = maxAbsDiff(viaTc.logits!.data, patched2.logits!.data);
  assert.ok(d2 < 1e-4, `transcoder splice vs patch: ${d2}`);
});
