// Public SAE formats: Gemma Scope (params.npz, params.safetensors) and EleutherAI sparsify (cfg.json + sae.safetensors)
// folders written here with random weights must encode and decode as their formats define, checked against float64
// implementations written below from those definitions (Gemma Scope: no b_dec subtraction, (pre > threshold) * pre;
// sparsify: b_dec subtracted unless transcode, top k of relu(pre)). The .npz reader is fuzzed (truncations, byte flips,
// bad headers, dtypes, declared sizes): every failure is a ProbityError naming the file. Pickles are refused. Loaded SAEs
// survive a SAELens round trip (saveSaeLens, loadSaeLens) unchanged in function.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import { ProbityError } from '../../src/errors.js';
import { writeSafetensors, type SafetensorsTensorInput } from '../../src/models/loaders/safetensors.js';
import { loadSaeLens, saveSaeLens } from '../../src/dictionaries/saelens.js';
import type { Sae } from '../../src/dictionaries/sae.js';
import { detectSaeFormat, loadSae, parseNpy, parseNpz } from '../../src/dictionaries/formats/index.js';
import { randn } from './graph-helpers.js';

const ROOT = mkdtempSync(join(tmpdir(), 'probity-formats-'));
after(() => rmSync(ROOT, { recursive: true, force: true }));
let dirs = 0;
const newDir = (name = `sae${dirs++}`) => {
  const d = join(ROOT, `${dirs++}`, name);
  mkdirSync(d, { recursive: true });
  return d;
};

function expectError(fn: () => unknown, code: string | RegExp, mentions: string[] = []): ProbityError {
  let caught: ProbityError | undefined;
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ProbityError, `expected ProbityError, got ${e instanceof Error ? e.stack : String(e)}`);
    if (typeof code === 'string') assert.equal(e.code, code, e.message);
    else assert.match(e.code, code, e.message);
    for (const m of mentions) assert.ok(e.message.includes(m), `message ${JSON.stringify(e.message)} lacks ${JSON.stringify(m)}`);
    caught = e;
    return true;
  });
  return caught!;
}

// ---- writers (independent of the reader) ----------------------------------------------------------------------------

/** A .npy file: header dict padded with spaces to a multiple of 64 bytes, ending in "\n", as numpy writes it. */
function npy(data: ArrayLike<number>, shape: number[], descr = '<f4', opts: { version?: 1 | 2 | 3; header?: string } = {}): Buffer {
  const version = opts.version ?? 1;
  const dict = opts.header ?? `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const pre = version === 1 ? 10 : 12;
  let h = dict;
  while ((pre + h.length + 1) % 64 !== 0) h += ' ';
  h += '\n';
  const head = Buffer.alloc(pre);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]).copy(head);
  if (version === 1) head.writeUInt16LE(h.length, 8);
  else head.writeUInt32LE(h.length, 8);
  let body: Buffer;
  if (descr === '<f4') body = Buffer.from(Float32Array.from(data).buffer);
  else if (descr === '<f8') body = Buffer.from(Float64Array.from(data).buffer);
  else if (descr === '<f2') {
    body = Buffer.alloc(data.length * 2);
    for (let i = 0; i < data.length; i++) body.writeUInt16LE(halfBits(data[i]), 2 * i);
  } else body = Buffer.alloc(data.length * 4);
  return Buffer.concat([head, Buffer.from(h, 'latin1'), body]);
}

/** Exactly representable halves only (tests use multiples of 1/8 in [-8, 8]). */
function halfBits(v: number): number {
  if (v === 0) return 0;
  const sign = v < 0 ? 0x8000 : 0;
  const a = Math.abs(v);
  const e = Math.floor(Math.log2(a));
  const mant = Math.round((a / 2 ** e - 1) * 1024);
  return sign | ((e + 15) << 10) | mant;
}

interface ZipInput {
  name: string;
  data: Buffer;
  method?: 0 | 8;
}

/** A zip archive. zip64: numpy's layout (local headers with sizes 0xFFFFFFFF and a zip64 extra; central sizes plain). */
function zip(entries: ZipInput[], opts: { zip64Local?: boolean } = {}): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const method = e.method ?? 8;
    const packed = method === 8 ? deflateRawSync(e.data) : e.data;
    const crc = crc32(e.data);
    const name = Buffer.from(e.name, 'utf8');
    const extra = opts.zip64Local ? Buffer.alloc(20) : Buffer.alloc(0);
    if (opts.zip64Local) {
      extra.writeUInt16LE(1, 0);
      extra.writeUInt16LE(16, 2);
      extra.writeBigUInt64LE(BigInt(e.data.length), 4);
      extra.writeBigUInt64LE(BigInt(packed.length), 12);
    }
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(opts.zip64Local ? 45 : 20, 4);
    lh.writeUInt16LE(method, 8);
    lh.writeUInt32LE(crc, 14);
    lh.writeUInt32LE(opts.zip64Local ? 0xffffffff : packed.length, 18);
    lh.writeUInt32LE(opts.zip64Local ? 0xffffffff : e.data.length, 22);
    lh.writeUInt16LE(name.length, 26);
    lh.writeUInt16LE(extra.length, 28);
    const local = Buffer.concat([lh, name, extra, packed]);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE(20, 4);
    ch.writeUInt16LE(20, 6);
    ch.writeUInt16LE(method, 10);
    ch.writeUInt32LE(crc, 16);
    ch.writeUInt32LE(packed.length, 20);
    ch.writeUInt32LE(e.data.length, 24);
    ch.writeUInt16LE(name.length, 28);
    ch.writeUInt32LE(offset, 42);
    centrals.push(Buffer.concat([ch, name]));
    locals.push(local);
    offset += local.length;
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, eocd]);
}

const F32 = (shape: number[], data: Float32Array): SafetensorsTensorInput => ({ dtype: 'F32', shape, data });

// ---- float64 references from the formats' definitions ----------------------------------------------------------------

type Dense = Float64Array;

/** Gemma Scope JumpReLU: pre = x W_enc + b_enc; a = (pre > threshold) * pre; x_hat = a W_dec + b_dec. W_enc [D, S]. */
function gemmaRef(p: GemmaParams, x: Float32Array, n: number): { pre: Dense; acts: Dense; xhat: Dense } {
  const { D, S, Do } = p;
  const pre = new Float64Array(n * S);
  const acts = new Float64Array(n * S);
  const xhat = new Float64Array(n * Do);
  for (let t = 0; t < n; t++) {
    for (let s = 0; s < S; s++) {
      let z = p.b_enc[s];
      for (let d = 0; d < D; d++) z += x[t * D + d] * p.W_enc[d * S + s];
      pre[t * S + s] = z;
      acts[t * S + s] = z > p.threshold[s] ? z : 0;
    }
    for (let o = 0; o < Do; o++) {
      let v = p.b_dec[o];
      for (let s = 0; s < S; s++) v += acts[t * S + s] * p.W_dec[s * Do + o];
      xhat[t * Do + o] = v;
    }
  }
  return { pre, acts, xhat };
}

/** sparsify: x' = x - b_dec unless transcode; pre = relu(x' W^T + b); keep the top k of pre; x_hat = a W_dec + b_dec. */
function sparsifyRef(p: SparsifyParams, x: Float32Array, n: number, transcode: boolean): { pre: Dense; acts: Dense; xhat: Dense } {
  const { D, S, k } = p;
  const pre = new Float64Array(n * S);
  const acts = new Float64Array(n * S);
  const xhat = new Float64Array(n * D);
  for (let t = 0; t < n; t++) {
    for (let s = 0; s < S; s++) {
      let z = p.bias[s];
      for (let d = 0; d < D; d++) z += (x[t * D + d] - (transcode ? 0 : p.b_dec[d])) * p.weight[s * D + d];
      pre[t * S + s] = Math.max(0, z);
    }
    const order = Array.from({ length: S }, (_, s) => s).sort((a, b) => pre[t * S + b] - pre[t * S + a]);
    for (const s of order.slice(0, k)) acts[t * S + s] = pre[t * S + s];
    for (let d = 0; d < D; d++) {
      let v = p.b_dec[d];
      for (let s = 0; s < S; s++) v += acts[t * S + s] * p.W_dec[s * D + d];
      xhat[t * D + d] = v;
    }
  }
  return { pre, acts, xhat };
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Dense codes agree, except where a value sits within `tol` of the decision boundary (float32 vs float64). */
function assertCodes(got: Float32Array, ref: Dense, boundary: (i: number) => number, tol: number, what: string): void {
  let active = 0;
  for (let i = 0; i < ref.length; i++) {
    if ((got[i] !== 0) !== (ref[i] !== 0)) assert.ok(boundary(i) < tol, `${what}: latent ${i} is ${got[i]} but the reference gives ${ref[i]}`);
    else assert.ok(Math.abs(got[i] - ref[i]) < 1e-4 * Math.max(1, Math.abs(ref[i])), `${what}: latent ${i} is ${got[i]}, reference ${ref[i]}`);
    if (ref[i] !== 0) active++;
  }
  assert.ok(active > 0 && active < ref.length, `${what}: the test data should turn some latents on and some off (${active} of ${ref.length})`);
}

// ---- Gemma Scope -----------------------------------------------------------------------------------------------------

interface GemmaParams {
  D: number;
  S: number;
  Do: number;
  W_enc: Float32Array;
  W_dec: Float32Array;
  b_enc: Float32Array;
  b_dec: Float32Array;
  threshold: Float32Array;
}

function gemmaParams(D: number, S: number, seed: number, Do = D): GemmaParams {
  return {
    D,
    S,
    Do,
    W_enc: randn(D * S, seed, 0.5),
    W_dec: randn(S * Do, seed + 1, 0.5),
    b_enc: randn(S, seed + 2, 0.2),
    // Large, so that subtracting it (which Gemma Scope does not do) would change the code.
    b_dec: randn(Do, seed + 3, 2),
    threshold: Float32Array.from(randn(S, seed + 4), (v) => 0.2 + Math.abs(v)),
  };
}

function gemmaNpz(p: GemmaParams, opts: { lower?: boolean; method?: 0 | 8; zip64Local?: boolean; extra?: Record<string, Buffer> } = {}): Buffer {
  const w = (n: string) => (opts.lower ? n.replace('W_', 'w_') : n);
  const entries: ZipInput[] = [
    { name: `${w('W_enc')}.npy`, data: npy(p.W_enc, [p.D, p.S]) },
    { name: `${w('W_dec')}.npy`, data: npy(p.W_dec, [p.S, p.Do]) },
    { name: 'b_enc.npy', data: npy(p.b_enc, [p.S]) },
    { name: 'b_dec.npy', data: npy(p.b_dec, [p.Do]) },
    { name: 'threshold.npy', data: npy(p.threshold, [p.S]) },
    ...Object.entries(opts.extra ?? {}).map(([name, data]) => ({ name, data })),
  ].map((e) => ({ ...e, method: opts.method }));
  return zip(entries, { zip64Local: opts.zip64Local });
}

async function checkGemma(sae: Sae, p: GemmaParams, n: number, seed: number, what: string): Promise<void> {
  // Inputs around b_dec's scale, so b_dec subtraction would move many pre-activations across their thresholds.
  const x = randn(n * p.D, seed, 1.5);
  const ref = gemmaRef(p, x, n);
  const acts = await sae.encodeDense(x, n);
  assertCodes(acts, ref.acts, (i) => Math.abs(ref.pre[i] - p.threshold[i % p.S]), 1e-4, `${what} encode`);
  const xhat = await sae.reconstruct(x, n);
  // Reconstruction from the reference code (so a boundary flip above cannot hide here).
  const fromRef = await sae.decode({ kind: 'sparse', n, k: p.S, dSae: p.S, indices: Int32Array.from({ length: n * p.S }, (_, i) => i % p.S), values: Float32Array.from(ref.acts) });
  assert.ok(maxAbs(fromRef, ref.xhat) < 1e-3, `${what} decode: max |diff| ${maxAbs(fromRef, ref.xhat)}`);
  assert.ok(maxAbs(xhat, ref.xhat) < 1e-3, `${what} reconstruct: max |diff| ${maxAbs(xhat, ref.xhat)}`);
}

test('Gemma Scope params.npz (deflate, numpy zip64 local headers): encode/decode match the JumpReLU definition without b_dec subtraction', async () => {
  const p = gemmaParams(12, 40, 11);
  const dir = newDir('layer_3_width_16k_average_l0_50');
  writeFileSync(join(dir, 'params.npz'), gemmaNpz(p, { zip64Local: true }));
  assert.equal(detectSaeFormat(dir).format, 'gemma-scope');
  const sae = loadSae(dir, { hook: 'blocks.3.hook_resid_post' });
  assert.equal(sae.cfg.architecture, 'jumprelu');
  assert.equal(sae.cfg.applyBDecToInput, false);
  assert.equal(sae.cfg.hookName, 'blocks.3.hook_resid_post');
  assert.deepEqual([sae.dIn, sae.dSae, sae.dOut], [12, 40, 12]);
  await checkGemma(sae, p, 24, 5, 'params.npz');
  // The host codec computes the same function.
  const x = randn(8 * p.D, 6, 1.5);
  const ref = gemmaRef(p, x, 8);
  const c = sae.codec().encode(x, 8);
  const dense = new Float32Array(8 * p.S);
  for (let t = 0; t < 8; t++) for (let j = 0; j < c.k; j++) if (c.values[t * c.k + j] !== 0) dense[t * p.S + c.indices[t * c.k + j]] = c.values[t * c.k + j];
  assertCodes(dense, ref.acts, (i) => Math.abs(ref.pre[i] - p.threshold[i % p.S]), 1e-4, 'host codec');
});

test('Gemma Scope params.npz with stored entries and lower-case w_enc / w_dec names loads the same function; the file path works too', async () => {
  const p = gemmaParams(8, 24, 21);
  const dir = newDir();
  writeFileSync(join(dir, 'params.npz'), gemmaNpz(p, { lower: true, method: 0 }));
  await checkGemma(loadSae(join(dir, 'params.npz'), { hook: 'blocks.0.hook_resid_post' }), p, 16, 7, 'stored npz');
});

test('Gemma Scope 2 params.safetensors: same tensors, same function', async () => {
  const p = gemmaParams(10, 32, 31);
  const dir = newDir();
  writeSafetensors(join(dir, 'params.safetensors'), {
    w_enc: F32([p.D, p.S], p.W_enc),
    w_dec: F32([p.S, p.Do], p.W_dec),
    b_enc: F32([p.S], p.b_enc),
    b_dec: F32([p.Do], p.b_dec),
    threshold: F32([p.S], p.threshold),
  });
  await checkGemma(loadSae(dir, { hook: 'blocks.1.hook_resid_post' }), p, 16, 8, 'params.safetensors');
});

test('Gemma Scope transcoder (d_out != d_in) needs outHook and keeps b_dec in the output space', async () => {
  const p = gemmaParams(8, 20, 41, 6);
  const dir = newDir();
  writeFileSync(join(dir, 'params.npz'), gemmaNpz(p));
  expectError(() => loadSae(dir, { hook: 'blocks.0.ln2.hook_normalized' }), 'SAE_HOOK_MISSING', ['outHook', 'params.npz']);
  const sae = loadSae(dir, { hook: 'blocks.0.ln2.hook_normalized', outHook: 'blocks.0.hook_mlp_out' });
  assert.ok(sae.isTranscoder);
  await checkGemma(sae, p, 12, 9, 'transcoder');
});

test('Gemma Scope errors: no hook, a missing tensor, a wrong shape, a non-positive threshold, an unknown tensor, finetuning scales', () => {
  const p = gemmaParams(6, 10, 51);
  const write = (buf: Buffer) => {
    const dir = newDir();
    writeFileSync(join(dir, 'params.npz'), buf);
    return dir;
  };
  const ok = write(gemmaNpz(p));
  expectError(() => loadSae(ok), 'SAE_HOOK_MISSING', ['opts.hook', 'params.npz']);
  const hook = { hook: 'blocks.0.hook_resid_post' };
  const entries = (over: Record<string, Buffer | null>): Buffer => {
    const base: Record<string, Buffer> = {
      'W_enc.npy': npy(p.W_enc, [p.D, p.S]),
      'W_dec.npy': npy(p.W_dec, [p.S, p.D]),
      'b_enc.npy': npy(p.b_enc, [p.S]),
      'b_dec.npy': npy(p.b_dec, [p.D]),
      'threshold.npy': npy(p.threshold, [p.S]),
    };
    for (const [k, v] of Object.entries(over)) {
      if (v === null) delete base[k];
      else base[k] = v;
    }
    return zip(Object.entries(base).map(([name, data]) => ({ name, data })));
  };
  expectError(() => loadSae(write(entries({ 'threshold.npy': null })), hook), 'SAE_TENSOR_MISSING', ['"threshold"', 'params.npz']);
  expectError(() => loadSae(write(entries({ 'b_enc.npy': npy(p.b_enc.subarray(1), [p.S - 1]) })), hook), 'SAE_TENSOR_SHAPE', ['"b_enc"', '[9]', '[10]']);
  const t = Float32Array.from(p.threshold);
  t[3] = 0;
  expectError(() => loadSae(write(entries({ 'threshold.npy': npy(t, [p.S]) })), hook), 'SAE_TENSOR_VALUE', ['"threshold" entry 3']);
  expectError(() => loadSae(write(entries({ 'affine_skip_connection.npy': npy(new Float32Array(36), [6, 6]) })), hook), 'SAE_UNSUPPORTED', ['affine_skip_connection', 'skip']);
  expectError(() => loadSae(write(entries({ 'scaling_factor.npy': npy(new Float32Array(10).fill(2), [10]) })), hook), 'SAE_UNSUPPORTED', ['scaling_factor']);
  // All-ones scaling factors are the identity and accepted.
  assert.equal(loadSae(write(entries({ 'scaling_factor.npy': npy(new Float32Array(10).fill(1), [10]) })), hook).dSae, 10);
});

// ---- sparsify --------------------------------------------------------------------------------------------------------

interface SparsifyParams {
  D: number;
  S: number;
  k: number;
  weight: Float32Array;
  bias: Float32Array;
  W_dec: Float32Array;
  b_dec: Float32Array;
}

function sparsifyParams(D: number, S: number, k: number, seed: number): SparsifyParams {
  return { D, S, k, weight: randn(S * D, seed, 0.5), bias: randn(S, seed + 1, 0.3), W_dec: randn(S * D, seed + 2, 0.5), b_dec: randn(D, seed + 3, 2) };
}

function writeSparsify(dir: string, p: SparsifyParams, cfg: Record<string, unknown> = {}, extra: Record<string, SafetensorsTensorInput> = {}): void {
  writeFileSync(
    join(dir, 'cfg.json'),
    JSON.stringify({ activation: 'topk', expansion_factor: Math.max(1, Math.floor(p.S / p.D)), normalize_decoder: true, num_latents: p.S % p.D === 0 ? 0 : p.S, k: p.k, multi_topk: false, skip_connection: false, transcode: false, d_in: p.D, ...cfg }),
  );
  writeSafetensors(join(dir, 'sae.safetensors'), {
    'encoder.weight': F32([p.S, p.D], p.weight),
    'encoder.bias': F32([p.S], p.bias),
    W_dec: F32([p.S, p.D], p.W_dec),
    b_dec: F32([p.D], p.b_dec),
    ...extra,
  });
}

async function checkSparsify(sae: Sae, p: SparsifyParams, transcode: boolean, n: number, seed: number, what: string): Promise<void> {
  const x = randn(n * p.D, seed, 1.5);
  const ref = sparsifyRef(p, x, n, transcode);
  const code = await sae.encode(x, n);
  assert.equal(code.k, p.k);
  const acts = await sae.encodeDense(x, n);
  // Boundary: distance of a latent's pre-activation from the k-th largest of its token.
  const kth = Array.from({ length: n }, (_, t) => [...ref.pre.subarray(t * p.S, (t + 1) * p.S)].sort((a, b) => b - a)[p.k - 1]);
  assertCodes(acts, ref.acts, (i) => Math.abs(ref.pre[i] - kth[Math.floor(i / p.S)]), 1e-4, `${what} encode`);
  const xhat = await sae.reconstruct(x, n);
  assert.ok(maxAbs(xhat, ref.xhat) < 1e-3, `${what} reconstruct: max |diff| ${maxAbs(xhat, ref.xhat)}`);
}

test('sparsify SAE folder (layers.4): b_dec subtracted, top k of relu(pre), hook blocks.4.hook_resid_post from the folder name', async () => {
  const p = sparsifyParams(12, 48, 5, 61);
  const dir = newDir('layers.4');
  writeSparsify(dir, p);
  assert.equal(detectSaeFormat(dir).format, 'sparsify');
  const sae = loadSae(dir);
  assert.deepEqual([sae.cfg.architecture, sae.cfg.k, sae.cfg.applyBDecToInput, sae.cfg.hookName, sae.dSae], ['topk', 5, true, 'blocks.4.hook_resid_post', 48]);
  await checkSparsify(sae, p, false, 24, 12, 'sparsify');
  // opts.hook overrides; num_latents wins over expansion_factor; the weights file path works.
  const dir2 = newDir('layers.4.mlp');
  writeSparsify(dir2, p, { num_latents: 48, expansion_factor: 32 });
  expectError(() => loadSae(dir2), 'SAE_HOOK_MISSING', ['layers.4.mlp', 'opts.hook']);
  const s2 = loadSae(join(dir2, 'sae.safetensors'), { hook: 'blocks.4.hook_mlp_out' });
  assert.equal(s2.cfg.hookName, 'blocks.4.hook_mlp_out');
  await checkSparsify(s2, p, false, 8, 13, 'sparsify (num_latents)');
});

test('sparsify with fewer than k positive pre-activations: the zero-padded top k decodes the same', async () => {
  const p = sparsifyParams(6, 16, 12, 71);
  p.bias.fill(-1.5); // most pre-activations negative, so relu(pre) has fewer than k non-zeros
  const dir = newDir('layers.0');
  writeSparsify(dir, p);
  const sae = loadSae(dir);
  const x = randn(10 * p.D, 14, 1.5);
  const ref = sparsifyRef(p, x, 10, false);
  const positives = Array.from({ length: 10 }, (_, t) => ref.pre.subarray(t * 16, (t + 1) * 16).filter((v) => v > 0).length);
  assert.ok(positives.some((c) => c < p.k), `some token should have fewer than k positive pre-activations: ${positives}`);
  assert.ok(maxAbs(await sae.reconstruct(x, 10), ref.xhat) < 1e-3);
  assert.ok(maxAbs(await sae.encodeDense(x, 10), ref.acts) < 1e-4);
});

test('sparsify bf16 weights read as float32 values', async () => {
  const p = sparsifyParams(8, 16, 3, 81);
  // bf16-exact values: round through bf16 first, so the reference sees exactly what the file holds.
  for (const a of [p.weight, p.bias, p.W_dec, p.b_dec]) {
    const u = new Uint32Array(a.buffer, a.byteOffset, a.length);
    for (let i = 0; i < u.length; i++) u[i] &= 0xffff0000;
  }
  const dir = newDir('layers.2');
  writeFileSync(join(dir, 'cfg.json'), JSON.stringify({ d_in: 8, k: 3, num_latents: 16 }));
  const bf = (shape: number[], data: Float32Array): SafetensorsTensorInput => ({ dtype: 'BF16', shape, data });
  writeSafetensors(join(dir, 'sae.safetensors'), { 'encoder.weight': bf([16, 8], p.weight), 'encoder.bias': bf([16], p.bias), W_dec: bf([16, 8], p.W_dec), b_dec: bf([8], p.b_dec) });
  await checkSparsify(loadSae(dir), p, false, 12, 15, 'bf16');
});

test('sparsify transcoder (transcode true): no b_dec subtraction; needs hook and outHook', async () => {
  const p = sparsifyParams(8, 24, 4, 91);
  const dir = newDir('layers.1.mlp');
  writeSparsify(dir, p, { transcode: true });
  expectError(() => loadSae(dir), 'SAE_HOOK_MISSING', ['transcoder', 'opts.hook']);
  expectError(() => loadSae(dir, { hook: 'blocks.1.ln2.hook_normalized' }), 'SAE_HOOK_MISSING', ['opts.outHook']);
  const sae = loadSae(dir, { hook: 'blocks.1.ln2.hook_normalized', outHook: 'blocks.1.hook_mlp_out' });
  assert.ok(sae.isTranscoder);
  assert.equal(sae.cfg.applyBDecToInput, false);
  await checkSparsify(sae, p, true, 16, 16, 'transcoder');
});

test('sparsify errors: groupmax, skip connections (config or W_skip tensor), signed, bad fields, missing tensors', () => {
  const p = sparsifyParams(6, 12, 2, 101);
  const mk = (cfg: Record<string, unknown>, extra: Record<string, SafetensorsTensorInput> = {}) => {
    const dir = newDir('layers.0');
    writeSparsify(dir, p, cfg, extra);
    return dir;
  };
  expectError(() => loadSae(mk({ activation: 'groupmax' })), 'SAE_UNSUPPORTED', ['"activation"', 'groupmax', 'cfg.json']);
  expectError(() => loadSae(mk({ skip_connection: true })), 'SAE_UNSUPPORTED', ['"skip_connection"']);
  expectError(() => loadSae(mk({}, { W_skip: F32([6, 6], new Float32Array(36)) })), 'SAE_UNSUPPORTED', ['"W_skip"', 'sae.safetensors']);
  expectError(() => loadSae(mk({ signed: true })), 'SAE_UNSUPPORTED', ['"signed"']);
  expectError(() => loadSae(mk({ k: 0 })), 'SAE_BAD_CONFIG', ['"k"', '0']);
  expectError(() => loadSae(mk({ d_in: 7 })), 'SAE_TENSOR_SHAPE', ['"encoder.weight"', '[12, 6]', 'd_in = 7']);
  expectError(() => loadSae(mk({ transcode: 'yes' })), 'SAE_BAD_CONFIG', ['"transcode"']);
  const dir = newDir('layers.0');
  writeFileSync(join(dir, 'cfg.json'), JSON.stringify({ d_in: 6, k: 2, num_latents: 12 }));
  writeSafetensors(join(dir, 'sae.safetensors'), { 'encoder.weight': F32([12, 6], p.weight), 'encoder.bias': F32([12], p.bias), W_dec: F32([12, 6], p.W_dec) });
  expectError(() => loadSae(dir), 'SAE_TENSOR_MISSING', ['"b_dec"']);
});

// ---- round trip through SAELens ----------------------------------------------------------------------------------------

test('round trip: Gemma Scope and sparsify SAEs saved with saveSaeLens reload with loadSaeLens (and loadSae) computing the same function', async () => {
  const g = gemmaParams(8, 20, 111);
  const gdir = newDir();
  writeFileSync(join(gdir, 'params.npz'), gemmaNpz(g));
  const sp = sparsifyParams(8, 24, 3, 121);
  const sdir = newDir('layers.2');
  writeSparsify(sdir, sp);
  for (const sae of [loadSae(gdir, { hook: 'blocks.0.hook_resid_post' }), loadSae(sdir)]) {
    const out = newDir();
    saveSaeLens(sae, out);
    assert.equal(detectSaeFormat(out).format, 'saelens');
    const back = loadSaeLens(out);
    assert.deepEqual(back.cfg, sae.cfg);
    const x = randn(12 * 8, 17, 1.5);
    assert.deepEqual(await back.encodeDense(x, 12), await sae.encodeDense(x, 12));
    assert.deepEqual(await back.reconstruct(x, 12), await sae.reconstruct(x, 12));
    assert.deepEqual(await loadSae(out).reconstruct(x, 12), await sae.reconstruct(x, 12));
    expectError(() => loadSae(out, { hook: 'blocks.5.hook_resid_post' }), 'SAE_HOOK_CONFLICT', ['opts.hook']);
  }
});

// ---- detection and pickles ---------------------------------------------------------------------------------------------

test('pickle checkpoints (.pt .pth .ckpt .bin) are refused, as files or as the only weights in a folder; unknown folders name what they hold', () => {
  for (const ext of ['.pt', '.pth', '.ckpt', '.bin']) {
    const dir = newDir();
    writeFileSync(join(dir, `sae${ext}`), 'not really a pickle');
    expectError(() => loadSae(join(dir, `sae${ext}`)), 'SAE_PICKLE_REFUSED', [ext, 'execute']);
    expectError(() => loadSae(dir), 'SAE_PICKLE_REFUSED', [`sae${ext}`, 'safetensors']);
  }
  const empty = newDir();
  writeFileSync(join(empty, 'notes.txt'), '');
  expectError(() => loadSae(empty), 'SAE_FORMAT_UNKNOWN', ['notes.txt', 'params.npz']);
  expectError(() => loadSae(join(empty, 'nothing-here')), 'SAE_FILE_MISSING');
});

// ---- the .npy and .npz readers -------------------------------------------------------------------------------------------

test('npy: versions 1, 2 and 3; float16 and float64 converted; 0-d and empty arrays', () => {
  const vals = [0.5, -1.25, 3, 0.125, -8, 7.875];
  for (const version of [1, 2, 3] as const) {
    for (const descr of ['<f4', '<f2', '<f8']) {
      const a = parseNpy(npy(vals, [2, 3], descr, { version }), 'x.npy');
      assert.deepEqual([a.dtype, a.shape, [...a.data]], [descr, [2, 3], vals], `v${version} ${descr}`);
    }
  }
  assert.deepEqual([...parseNpy(npy([4.5], [], '<f4', { header: "{'descr': '<f4', 'fortran_order': False, 'shape': (), }" }), 's.npy').data], [4.5]);
  assert.equal(parseNpy(npy([], [0, 3]), 'e.npy').data.length, 0);
});

test('npy: wrong dtypes, pickled object arrays, structured dtypes, Fortran order, bad headers and sizes are ProbityErrors naming the entry', () => {
  const where = 'params.npz entry "W_enc.npy"';
  const bad = (buf: Buffer, code: string, mention: string) => expectError(() => parseNpy(buf, where), code, [where, mention]);
  const h = (dict: string, body = Buffer.alloc(24)) => Buffer.concat([npy([], [], '<f4', { header: dict }), body]);
  bad(h("{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }"), 'NPY_UNSUPPORTED_DTYPE', "'<i4'".replace(/'/g, '"'));
  bad(h("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }"), 'NPY_UNSUPPORTED_DTYPE', '">f4"');
  bad(h("{'descr': '|O', 'fortran_order': False, 'shape': (2, 3), }"), 'NPY_UNSUPPORTED_DTYPE', 'pickle');
  bad(h("{'descr': [('a', '<f4'), ('b', '<f4')], 'fortran_order': False, 'shape': (3,), }"), 'NPY_UNSUPPORTED_DTYPE', 'structured');
  bad(h("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }"), 'NPY_UNSUPPORTED_LAYOUT', 'fortran_order');
  bad(h("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4), }"), 'NPY_BAD_SIZE', '32 bytes');
  bad(h("{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 1099511627776), }"), 'NPY_BAD_SIZE', 'too many');
  bad(h("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), '__class__': 1}"), 'NPY_BAD_HEADER', '__class__');
  bad(h("__import__('os').system('echo pwned')"), 'NPY_BAD_HEADER', 'expected "{"');
  bad(h("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)} + x"), 'NPY_BAD_HEADER', 'trailing');
  bad(h("{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 3), }"), 'NPY_BAD_HEADER', 'expected');
  bad(h("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999, 3), }"), 'NPY_BAD_HEADER', 'too large');
  bad(h("{'descr': '<f4', 'fortran_order': False, 'shape': ((((((2,),),),),),), }"), 'NPY_BAD_HEADER', 'too deep');
  bad(Buffer.from('PK\x03\x04 not an npy'), 'NPY_BAD_HEADER', 'magic');
  const v9 = npy([1], [1]);
  v9[6] = 9;
  bad(v9, 'NPY_BAD_HEADER', 'version 9.0');
  const long = npy([1], [1]);
  long.writeUInt16LE(60000, 8);
  bad(long, 'NPY_BAD_HEADER', '60000 bytes');
});

test('npz fuzz: every truncation, byte flips and forged directory sizes give a ProbityError naming the file, never a crash', () => {
  const p = gemmaParams(4, 6, 131);
  for (const [label, buf] of [['deflate', gemmaNpz(p)], ['stored', gemmaNpz(p, { method: 0 })], ['zip64 local', gemmaNpz(p, { zip64Local: true })]] as const) {
    const path = `fuzz-${label}.npz`;
    const readAll = (b: Buffer) => {
      const f = parseNpz(b, path);
      for (const n of f.names()) f.get(n);
      return f;
    };
    assert.deepEqual(readAll(buf).names().sort(), ['W_dec', 'W_enc', 'b_dec', 'b_enc', 'threshold']);
    for (let cut = 0; cut < buf.length; cut += cut < 64 ? 1 : 7) {
      expectError(() => readAll(buf.subarray(0, cut)), /^NP[YZ]_/, [path]);
    }
    // Single-byte flips anywhere: either still a valid archive with the same arrays (a flip in an unused field) or a
    // ProbityError; the CRC catches changed data.
    const rng = (s: number) => () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const r = rng(7);
    for (let i = 0; i < 300; i++) {
      const b = Buffer.from(buf);
      const at = Math.floor(r() * b.length);
      b[at] ^= 1 + Math.floor(r() * 255);
      try {
        readAll(b);
      } catch (e) {
        assert.ok(e instanceof ProbityError, `flip at ${at}: ${e instanceof Error ? e.stack : String(e)}`);
        assert.ok(e.message.includes(path), e.message);
      }
    }
  }
  // Forged central-directory sizes on one entry.
  const buf = gemmaNpz(p);
  const cd = buf.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  const forge = (field: number, v: number) => {
    const b = Buffer.from(buf);
    b.writeUInt32LE(v, cd + field);
    return b;
  };
  const first = parseNpz(buf, 'x.npz').names()[0];
  expectError(() => parseNpz(forge(24, 0xfffffffe), 'huge.npz').get(first), /NPZ_(TOO_LARGE|BAD_FILE)/, ['huge.npz', `${first}.npy`]);
  expectError(() => parseNpz(forge(24, 3), 'small.npz').get(first), 'NPZ_BAD_FILE', ['small.npz', 'declared 3 bytes']);
  expectError(() => parseNpz(forge(20, 0x7ffffff0), 'past.npz'), 'NPZ_BAD_FILE', ['past.npz', 'past the end']);
  expectError(() => parseNpz(forge(16, 0x12345678), 'crc.npz').get(first), 'NPZ_BAD_FILE', ['crc.npz', 'CRC-32']);
  const b = Buffer.from(buf);
  b.writeUInt16LE(12, cd + 10); // compression method 12 (bzip2)
  expectError(() => parseNpz(b, 'bz.npz'), 'NPZ_UNSUPPORTED', ['bz.npz', 'method 12']);
  const enc = Buffer.from(buf);
  enc.writeUInt16LE(1, cd + 8); // encrypted flag
  expectError(() => parseNpz(enc, 'enc.npz'), 'NPZ_UNSUPPORTED', ['encrypted']);
  expectError(() => parseNpz(zip([{ name: 'a.npy', data: npy([1], [1]) }, { name: 'a.npy', data: npy([1], [1]) }]), 'dup.npz'), 'NPZ_BAD_FILE', ['duplicate']);
  expectError(() => parseNpz(zip([{ name: 'model.pkl', data: Buffer.from('x') }]), 'pk.npz'), 'NPZ_BAD_FILE', ['not a .npy']);
  expectError(() => parseNpz(buf, 'x.npz').get('nope'), 'NPZ_MISSING_ARRAY', ['"nope"', 'W_enc']);
  // A deflate stream that inflates beyond the declared size (a zip bomb's shape) stops at the declared size.
  const bomb = zip([{ name: 'z.npy', data: Buffer.concat([npy([], [0]), Buffer.alloc(1 << 20)]) }]);
  const bcd = bomb.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  bomb.writeUInt32LE(200, bcd + 24);
  expectError(() => parseNpz(bomb, 'bomb.npz').get('z'), 'NPZ_BAD_FILE', ['bomb.npz', 'declared 200 bytes']);
});
