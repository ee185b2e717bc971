// SAELens folders: round trips for every architecture (and transcoders), hand-made folders in the layouts SAELens
// writes (pre-6.0 top-level config, 6.x "metadata" config, TopK, JumpReLU, Gated) whose encode/decode must match a hand
// computation, and the errors: unknown architecture, missing tensor, wrong shape, a hook the model lacks, a width that
// differs from the hook's.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProbityError } from '../../src/errors.js';
import { writeSafetensors, type SafetensorsTensorInput } from '../../src/models/loaders/safetensors.js';
import { hookNames } from '../../src/models/hooks/names.js';
import type { TransformerSpec } from '../../src/models/spec.js';
import { Sae, type SaeConfigInput } from '../../src/dictionaries/sae.js';
import { checkAgainstModel, loadSaeLens, saveSaeLens } from '../../src/dictionaries/saelens.js';
import { randn } from './graph-helpers.js';

const ROOT = mkdtempSync(join(tmpdir(), 'probity-saelens-'));
after(() => rmSync(ROOT, { recursive: true, force: true }));
let dirs = 0;
const newDir = () => join(ROOT, `sae${dirs++}`);

function expectError(fn: () => unknown, code: string, mentions: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ProbityError, `expected ProbityError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    for (const m of mentions) assert.ok(e.message.includes(m), `message ${JSON.stringify(e.message)} lacks ${JSON.stringify(m)}`);
    return true;
  });
}

/** A random SAE whose every parameter is non-trivial (biases non-zero, thresholds varied). */
function randomSae(cfg: SaeConfigInput, seed: number): Sae {
  const sae = Sae.create(cfg, seed);
  let k = 0;
  for (const s of sae.specs) {
    const v = sae.params[s.name];
    if (s.name === 'log_threshold') v.set(randn(v.length, seed + ++k, 0.5).map((x) => x - 1));
    else if (s.name === 'threshold') v.fill(0.125);
    else if (!s.name.startsWith('W_')) v.set(randn(v.length, seed + ++k, 0.3));
  }
  return sae;
}

const META = { model_name: 'tiny-gpt2', context_size: 16, dataset_path: 'synthetic', seed: 7 };

const ROUND_TRIPS: { cfg: SaeConfigInput; saeLensArch: string }[] = [
  { cfg: { architecture: 'standard', dIn: 6, dSae: 10, hookName: 'blocks.1.hook_resid_pre', sparsityCoefficient: 0.5, metadata: META }, saeLensArch: 'standard' },
  { cfg: { architecture: 'topk', dIn: 6, dSae: 10, k: 3, hookName: 'blocks.0.hook_mlp_out', auxK: 4, auxKCoefficient: 0.1, topkSelection: 'int8', topkCandidates: 5 }, saeLensArch: 'topk' },
  { cfg: { architecture: 'batchtopk', dIn: 6, dSae: 10, k: 2, hookName: 'blocks.0.hook_resid_post', metadata: META }, saeLensArch: 'jumprelu' },
  { cfg: { architecture: 'jumprelu', dIn: 6, dSae: 10, hookName: 'blocks.0.hook_resid_post', bandwidth: 0.01, sparsityCoefficient: 2 }, saeLensArch: 'jumprelu' },
  { cfg: { architecture: 'gated', dIn: 6, dSae: 10, hookName: 'blocks.1.attn.hook_z', applyBDecToInput: false }, saeLensArch: 'gated' },
  { cfg: { architecture: 'standard', dIn: 6, dOut: 4, dSae: 10, hookName: 'blocks.0.ln2.hook_normalized', outHookName: 'blocks.0.hook_mlp_out' }, saeLensArch: 'transcoder' },
  { cfg: { architecture: 'jumprelu', dIn: 6, dOut: 4, dSae: 10, hookName: 'blocks.0.ln2.hook_normalized', outHookName: 'blocks.0.hook_mlp_out' }, saeLensArch: 'jumprelu_transcoder' },
  { cfg: { architecture: 'topk', dIn: 6, dOut: 6, k: 2, dSae: 10, hookName: 'blocks.0.ln2.hook_normalized', outHookName: 'blocks.0.hook_mlp_out' }, saeLensArch: 'topk' },
];

for (const { cfg, saeLensArch } of ROUND_TRIPS) {
  const label = `${cfg.architecture}${cfg.outHookName ? ' transcoder' : ''}`;
  test(`round trip: ${label} written as SAELens "${saeLensArch}" reads back with identical tensors and config`, async () => {
    const sae = randomSae(cfg, 100 + dirs);
    const dir = newDir();
    saveSaeLens(sae, dir);
    const written = JSON.parse(readFileSync(join(dir, 'cfg.json'), 'utf8'));
    assert.equal(written.architecture, saeLensArch);
    assert.equal(written.d_in, cfg.dIn);
    assert.equal(written.hook_name, cfg.hookName);
    assert.equal(written.normalize_activations, 'none');
    if (cfg.architecture === 'topk') assert.deepEqual([written.activation_fn, written.activation_fn_kwargs, written.k], ['topk', { k: cfg.k }, cfg.k]);
    if (cfg.outHookName) assert.deepEqual([written.d_out, written.hook_name_out], [cfg.dOut ?? cfg.dIn, cfg.outHookName]);
    const back = loadSaeLens(dir);
    assert.deepEqual(back.cfg, sae.cfg);
    for (const s of sae.specs) {
      const a = sae.params[s.name], b = back.params[s.name];
      if (s.name === 'log_threshold') a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-6, `${s.name}[${i}]`));
      else assert.deepEqual(b, a, s.name);
    }
    // Same function.
    const x = randn(5 * cfg.dIn, 3);
    assert.deepEqual(await back.reconstruct(x, 5), await sae.reconstruct(x, 5));
  });
}

/** Write a folder as SAELens would: cfg.json and sae_weights.safetensors (F32). */
function writeFolder(dir: string, cfg: object, tensors: Record<string, [number[], number[]]>): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'cfg.json'), JSON.stringify(cfg));
  const t: Record<string, SafetensorsTensorInput> = {};
  for (const [k, [shape, data]] of Object.entries(tensors)) t[k] = { dtype: 'F32', shape, data: Float32Array.from(data) };
  writeSafetensors(join(dir, 'sae_weights.safetensors'), t, { format: 'pt' });
  return dir;
}

// d_in 2, d_sae 3 by hand. W_enc [2, 3], W_dec [3, 2].
const W_ENC = [1, 0, 1, /**/ 0, 1, -1];
const W_DEC = [1, 0, /**/ 0, 2, /**/ 1, 1];
const X = [3, 1, /**/ -1, 2];

function close(a: ArrayLike<number>, b: number[], what: string): void {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-5, `${what}[${i}] = ${a[i]}, expected ${b[i]}`);
}

async function checkBothPaths(sae: Sae, codes: number[], recon: number[]) {
  close(await sae.encodeDense(Float32Array.from(X), 2), codes, 'graph code');
  const host = sae.codec();
  const c = host.encode(Float32Array.from(X), 2);
  const dense = new Array(6).fill(0);
  for (let t = 0; t < 2; t++) for (let j = 0; j < c.k; j++) if (c.values[t * c.k + j]) dense[t * 3 + c.indices[t * c.k + j]] = c.values[t * c.k + j];
  close(dense, codes, 'host code');
  close(await sae.reconstruct(Float32Array.from(X), 2), recon, 'graph reconstruction');
  close(host.decode(c), recon, 'host reconstruction');
  close(await sae.decode(await sae.encode(Float32Array.from(X), 2)), recon, 'graph decode(encode)');
}

test('hand-made SAELens folder (pre-6.0 "standard", top-level hook_point) loads and matches a hand computation', async () => {
  const dir = writeFolder(newDir(), {
    architecture: 'standard', d_in: 2, d_sae: 3, dtype: 'float32', device: 'cpu', model_name: 'gpt2-small', hook_point: 'blocks.0.hook_resid_pre',
    hook_point_layer: 0, activation_fn_str: 'relu', apply_b_dec_to_input: true, normalize_activations: false, context_size: 128, prepend_bos: true,
    dataset_path: 'Skylion007/openwebtext', finetuning_scaling_factor: false, sae_lens_training_version: '3.5.0',
  }, { W_enc: [[2, 3], W_ENC], b_enc: [[3], [0, -1, 0.5]], W_dec: [[3, 2], W_DEC], b_dec: [[2], [1, 0]] });
  const sae = loadSaeLens(dir);
  assert.equal(sae.cfg.hookName, 'blocks.0.hook_resid_pre');
  assert.equal(sae.cfg.metadata?.model_name, 'gpt2-small');
  // x - b_dec = [2, 1] and [-2, 2]; pre = xc W_enc + b_enc = [2, 0, 1.5] and [-2, 1, -3.5]; f = relu.
  // xhat = f W_dec + b_dec: [2 + 1.5 + 1, 1.5] = [4.5, 1.5]; [0 + 0 + 1, 2] = [1, 2].
  await checkBothPaths(sae, [2, 0, 1.5, 0, 1, 0], [4.5, 1.5, 1, 2]);
});

test('hand-made SAELens TopK (pre-6.0 "standard" + activation_fn_str "topk", k in activation_fn_kwargs) matches by hand', async () => {
  const dir = writeFolder(newDir(), {
    architecture: 'standard', d_in: 2, d_sae: 3, hook_name: 'blocks.0.hook_mlp_out', activation_fn_str: 'topk', activation_fn_kwargs: { k: 1 },
    apply_b_dec_to_input: false, normalize_activations: 'none', dtype: 'float32',
  }, { W_enc: [[2, 3], W_ENC], b_enc: [[3], [0, -1, 0.5]], W_dec: [[3, 2], W_DEC], b_dec: [[2], [1, 0]] });
  const sae = loadSaeLens(dir);
  assert.equal(sae.cfg.architecture, 'topk');
  assert.equal(sae.cfg.k, 1);
  // pre = x W_enc + b_enc = [3, 0, 2.5] and [-1, 1, -2.5]: top-1 keeps latent 0 (3) and latent 1 (1).
  // xhat = [3 + 1, 0] = [4, 0]; [0 + 1, 2] = [1, 2].
  await checkBothPaths(sae, [3, 0, 0, 0, 1, 0], [4, 0, 1, 2]);
});

test('hand-made SAELens 6.x JumpReLU folder (hook_name in "metadata", threshold tensor) matches by hand', async () => {
  const dir = writeFolder(newDir(), {
    architecture: 'jumprelu', d_in: 2, d_sae: 3, dtype: 'float32', device: 'cpu', apply_b_dec_to_input: false, normalize_activations: 'none',
    reshape_activations: 'none', metadata: { model_name: 'gemma-2-2b', hook_name: 'blocks.3.hook_resid_post', hook_layer: 3, sae_lens_version: '6.5.0', prepend_bos: true },
  }, { W_enc: [[2, 3], W_ENC], b_enc: [[3], [0, -1, 0.5]], W_dec: [[3, 2], W_DEC], b_dec: [[2], [1, 0]], threshold: [[3], [2.9, 0.5, 2.6]] });
  const sae = loadSaeLens(dir);
  assert.equal(sae.cfg.hookName, 'blocks.3.hook_resid_post');
  assert.deepEqual(sae.cfg.metadata, { model_name: 'gemma-2-2b', hook_layer: 3, sae_lens_version: '6.5.0', prepend_bos: true });
  // pre = [3, 0, 2.5] and [-1, 1, -2.5]; thresholds [2.9, 0.5, 2.6]: row 0 keeps latent 0 only (2.5 < 2.6), row 1 latent 1.
  await checkBothPaths(sae, [3, 0, 0, 0, 1, 0], [4, 0, 1, 2]);
});

test('hand-made SAELens Gated folder (W_enc shared by gate and magnitude, b_gate, r_mag, b_mag) matches by hand', async () => {
  const dir = writeFolder(newDir(), {
    architecture: 'gated', d_in: 2, d_sae: 3, hook_name: 'blocks.0.hook_resid_pre', apply_b_dec_to_input: false, normalize_activations: 'none', dtype: 'float32',
  }, {
    W_enc: [[2, 3], W_ENC], b_gate: [[3], [0, 0, -3]], r_mag: [[3], [Math.log(2), 0, 0]], b_mag: [[3], [-1, 0.5, 1]], W_dec: [[3, 2], W_DEC], b_dec: [[2], [0, 0]],
  });
  const sae = loadSaeLens(dir);
  // x W_enc = [3, 1, 2] and [-1, 2, -3]. gate = xW + b_gate = [3, 1, -1], [-1, 2, -6]: open (0,0), (0,1), (1,1).
  // mag = x (W_enc * exp(r_mag)) + b_mag = [6 - 1, 1.5, 3] and [-2 - 1, 2.5, -2]; f = open * relu(mag) = [5, 1.5, 0], [0, 2.5, 0].
  // xhat = [5, 3] and [0, 5].
  await checkBothPaths(sae, [5, 1.5, 0, 0, 2.5, 0], [5, 3, 0, 5]);
});

test('SAELens read errors name the file, the field or tensor, and the value', () => {
  const base = { architecture: 'standard', d_in: 2, d_sae: 3, hook_name: 'blocks.0.hook_resid_pre' };
  const tensors: Record<string, [number[], number[]]> = { W_enc: [[2, 3], W_ENC], b_enc: [[3], [0, 0, 0]], W_dec: [[3, 2], W_DEC], b_dec: [[2], [0, 0]] };
  const d1 = writeFolder(newDir(), { ...base, architecture: 'matryoshka_batchtopk' }, tensors);
  expectError(() => loadSaeLens(d1), 'SAE_ARCHITECTURE_UNKNOWN', [join(d1, 'cfg.json'), '"architecture"', '"matryoshka_batchtopk"', 'standard, transcoder, topk, batchtopk, jumprelu']);
  const { b_enc: _drop, ...noBias } = tensors;
  const d2 = writeFolder(newDir(), base, noBias);
  expectError(() => loadSaeLens(d2), 'SAE_TENSOR_MISSING', [join(d2, 'sae_weights.safetensors'), '"b_enc"']);
  const d3 = writeFolder(newDir(), base, { ...tensors, W_enc: [[3, 2], W_ENC] });
  expectError(() => loadSaeLens(d3), 'SAE_TENSOR_SHAPE', [join(d3, 'sae_weights.safetensors'), '"W_enc"', '[3, 2]', '[d_in, d_sae] = [2, 3]', 'd_in = 2, d_sae = 3']);
  const d4 = writeFolder(newDir(), { ...base, d_sae: 'wide' }, tensors);
  expectError(() => loadSaeLens(d4), 'SAE_BAD_CONFIG', [join(d4, 'cfg.json'), '"d_sae"', '"wide"']);
  const d5 = writeFolder(newDir(), { ...base, hook_name: undefined }, tensors);
  expectError(() => loadSaeLens(d5), 'SAE_BAD_CONFIG', ['"hook_name"', 'missing']);
  const d6 = writeFolder(newDir(), { ...base, architecture: 'topk' }, tensors);
  expectError(() => loadSaeLens(d6), 'SAE_BAD_CONFIG', ['"activation_fn_kwargs.k"', 'missing']);
  const d7 = writeFolder(newDir(), { ...base, normalize_activations: 'layer_norm' }, tensors);
  expectError(() => loadSaeLens(d7), 'SAE_UNSUPPORTED', ['"normalize_activations"', '"layer_norm"']);
  expectError(() => loadSaeLens(join(ROOT, 'nowhere')), 'SAE_FILE_MISSING', ['cfg.json']);
});

test('checkAgainstModel: unknown hook names the nearest ones; d_in must equal the hook width (hook_z flattened)', () => {
  const spec: TransformerSpec = { arch: 'gpt2', dModel: 16, nLayers: 2, nHeads: 4, nKvHeads: 4, dHead: 4, dMlp: 64, vocab: 300, nCtx: 32, normEps: 1e-5, act: 'gelu_tanh', tied: true };
  const model = { hookNames: hookNames(spec), spec, source: '/models/tiny' };
  const mk = (hookName: string, dIn: number, extra: Partial<SaeConfigInput> = {}) => {
    const s = Sae.create({ architecture: 'standard', dIn, dSae: 8, hookName, ...extra }, 1);
    s.source = '/saes/x';
    return s;
  };
  checkAgainstModel(mk('blocks.1.hook_resid_post', 16), model);
  checkAgainstModel(mk('blocks.0.attn.hook_z', 16), model);
  checkAgainstModel(mk('blocks.0.mlp.hook_post', 64), model);
  expectError(() => checkAgainstModel(mk('blocks.7.hook_resid_post', 16), model), 'SAE_HOOK_UNKNOWN', ['/saes/x', 'hook_name', '"blocks.7.hook_resid_post"', 'blocks.1.hook_resid_post']);
  expectError(() => checkAgainstModel(mk('blocks.1.hook_resid_post', 32), model), 'SAE_HOOK_WIDTH', ['/saes/x', 'd_in is 32', 'width 16', '/models/tiny']);
  expectError(() => checkAgainstModel(mk('blocks.0.mlp.hook_post', 16), model), 'SAE_HOOK_WIDTH', ['d_in is 16', 'width 64']);
  const tc = mk('blocks.0.ln2.hook_normalized', 16, { dOut: 32, outHookName: 'blocks.0.hook_mlp_out' });
  expectError(() => checkAgainstModel(tc, model), 'SAE_HOOK_WIDTH', ['d_out is 32', '"blocks.0.hook_mlp_out"', 'width 16']);
});
