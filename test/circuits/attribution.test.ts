// Attribution edges against an independent computation: the frozen replacement model run forward (TypeScript norms
// at frozen scales, clean attention patterns patched in, clean MLP outputs patched in) with one source's vector added,
// so the change of each target is that source's direct effect; an exact dictionary (GPT-2's own neurons) gives zero
// error nodes and a replacement score of 1; influence against a matrix inverse.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NDArray } from '../../src/engine/ndarray.js';
import { Sae } from '../../src/dictionaries/sae.js';
import type { InterventionMap } from '../../src/models/hooks/interventions.js';
import type { Model } from '../../src/models/model.js';
import { attribute, demeanedUnembed, type Attribution } from '../../src/circuits/attribution.js';
import { neuronDictionary, transcoderDictionary, type LayerDictionary } from '../../src/circuits/dictionaries.js';
import { graphScores, influence, normalizeRows, prune } from '../../src/circuits/prune.js';
import { gpt2Fixture, llamaFixture, load, prng, tempDir } from '../models/tiny-models.js';

const PROMPT = [0, 17, 42, 99, 5, 230, 12];

function randomTranscoders(model: Model, seed: number): LayerDictionary[] {
  const D = model.spec.dModel;
  return Array.from({ length: model.spec.nLayers }, (_, l) => {
    const sae = Sae.create({ architecture: 'topk', dIn: D, dSae: 48, dOut: D, k: 5, hookName: `blocks.${l}.ln2.hook_normalized`, outHookName: `blocks.${l}.hook_mlp_out` }, seed + l);
    // Positive encoder biases so that TopK keeps k latents with nonzero values at every position.
    sae.params.b_enc.fill(0.5);
    return transcoderDictionary(model, l, sae);
  });
}

interface Frozen {
  /** Demeaned logit of `token` at the last position. */
  logit(token: number): number;
  /** ln2 output of layer l at position p (the frozen one). */
  ln2(l: number, p: number): Float64Array;
}

/** The frozen replacement model run forward with `delta` [T, D] added at `hook` (hook_embed or an hook_mlp_out). */
async function frozenRun(model: Model, tokens: number[], delta?: { hook: string; pos: number; v: Float32Array }): Promise<Frozen> {
  const { nLayers: L, dModel: D, normEps: eps } = model.spec;
  const T = tokens.length;
  const names = ['hook_embed'];
  for (let l = 0; l < L; l++) names.push(`blocks.${l}.attn.hook_pattern`, `blocks.${l}.hook_mlp_out`, `blocks.${l}.hook_resid_pre`, `blocks.${l}.hook_resid_mid`);
  names.push(`blocks.${L - 1}.hook_resid_post`);
  const clean = await model.forward([tokens], { cache: names });
  const ivs: InterventionMap = {};
  const patched = (hook: string) => {
    const src = Float32Array.from(clean.cache[hook].data as Float32Array);
    if (delta && delta.hook === hook) for (let d = 0; d < D; d++) src[delta.pos * D + d] += delta.v[d];
    return { kind: 'patch' as const, source: new NDArray(src, clean.cache[hook].dims) };
  };
  ivs.hook_embed = [patched('hook_embed')];
  for (let l = 0; l < L; l++) {
    ivs[`blocks.${l}.attn.hook_pattern`] = [{ kind: 'patch', source: clean.cache[`blocks.${l}.attn.hook_pattern`] }];
    ivs[`blocks.${l}.hook_mlp_out`] = [patched(`blocks.${l}.hook_mlp_out`)];
  }
  const ln2: Float64Array[][] = [];
  const freeze = (input: string, out: string, w: string, record?: number) => {
    let x: Float32Array | null = null;
    const cleanX = clean.cache[input].data as Float32Array;
    const wv = model.weights.get(w).data;
    (ivs[input] ??= []).push({ kind: 'fn', fn: (a) => void (x = Float32Array.from(a.data as Float32Array)) });
    (ivs[out] ??= []).push({
      kind: 'fn',
      fn: () => {
        const y = new Float32Array(T * D);
        const rows: Float64Array[] = [];
        for (let p = 0; p < T; p++) {
          let ms = 0;
          for (let d = 0; d < D; d++) ms += cleanX[p * D + d] ** 2 / D;
          const inv = 1 / Math.sqrt(ms + eps);
          const row = new Float64Array(D);
          for (let d = 0; d < D; d++) row[d] = x![p * D + d] * inv * wv[d];
          y.set(row, p * D);
          rows.push(row);
        }
        if (record !== undefined) ln2[record] = rows;
        return new NDArray(y, [1, T, D]);
      },
    });
  };
  for (let l = 0; l < L; l++) {
    freeze(`blocks.${l}.hook_resid_pre`, `blocks.${l}.ln1.hook_normalized`, `blocks.${l}.ln1.w`);
    freeze(`blocks.${l}.hook_resid_mid`, `blocks.${l}.ln2.hook_normalized`, `blocks.${l}.ln2.w`, l);
  }
  freeze(`blocks.${L - 1}.hook_resid_post`, 'ln_final.hook_normalized', 'ln_final.w');
  const run = await model.forward([tokens], { interventions: ivs, logits: 'last' });
  const lg = run.logits!.data as Float32Array;
  let mean = 0;
  for (const v of lg) mean += v / lg.length;
  return { logit: (t) => lg[t] - mean, ln2: (l, p) => ln2[l][p] };
}

function dot64(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

test('attribution edges equal the frozen replacement model run forward with each source added (tiny Llama, random transcoders)', async () => {
  const model = await load(llamaFixture(tempDir('graph-llama')).path);
  const dicts = randomTranscoders(model, 11);
  const a = await attribute(model, dicts, PROMPT, { batch: 7 });
  const T = PROMPT.length;
  const D = model.spec.dModel;
  assert.ok(a.features.length > 20, `active features: ${a.features.length}`);
  assert.equal(a.zeroBos, model.tokenizer.bos === PROMPT[0]);

  const base = await frozenRun(model, PROMPT);
  // The frozen model reproduces the real model's logits (it is the clean forward with constants frozen).
  assert.ok(Math.abs(base.logit(a.logits[0].token) - a.logits[0].demeaned) < 1e-4);

  const targetValue = (f: Frozen, row: number): number => {
    if (row >= a.logitStart) return f.logit(a.logits[row - a.logitStart].token);
    const ft = a.features[row];
    return dot64(dicts[ft.layer].encoderRow(ft.latent), f.ln2(ft.layer, ft.pos));
  };
  const targetRows = [a.logitStart, ...a.features.map((_, i) => i).filter((i) => a.features[i].layer === 1).slice(0, 4)];
  const layer0 = a.features.map((_, i) => i).filter((i) => a.features[i].layer === 0);
  const sources: { col: number; hook: string; pos: number; v: Float32Array }[] = [];
  for (const i of [layer0[0], layer0[Math.floor(layer0.length / 2)], layer0[layer0.length - 1]]) {
    const f = a.features[i];
    sources.push({ col: i, hook: 'blocks.0.hook_mlp_out', pos: f.pos, v: Float32Array.from(dicts[0].decoderRow(f.latent), (x) => x * f.activation) });
  }
  const errPos = T - 2;
  sources.push({ col: a.errorStart + 1 * T + errPos, hook: 'blocks.1.hook_mlp_out', pos: errPos, v: a.errors[1].slice(errPos * D, (errPos + 1) * D) });
  sources.push({ col: a.tokenStart + 3, hook: 'hook_embed', pos: 3, v: model.weights.get('embed.W_E').data.slice(PROMPT[3] * D, (PROMPT[3] + 1) * D) });

  let checked = 0;
  for (const s of sources) {
    const moved = await frozenRun(model, PROMPT, s);
    for (const row of targetRows) {
      const want = targetValue(moved, row) - targetValue(base, row);
      const got = a.adjacency[row * a.n + s.col];
      assert.ok(Math.abs(got - want) <= 2e-4 + 2e-3 * Math.abs(want), `edge ${s.col} -> ${row}: adjacency ${got}, forward difference ${want}`);
      checked++;
    }
  }
  assert.equal(checked, sources.length * targetRows.length);
  // A feature at layer 1 has no edge into a layer-0 feature (sources must come first).
  const l0 = layer0[0];
  const l1 = a.features.findIndex((f) => f.layer === 1);
  assert.equal(a.adjacency[l0 * a.n + l1], 0);
});

test('with an exact dictionary (GPT-2 neurons) the error nodes are zero and the replacement score is 1', async () => {
  const model = await load(gpt2Fixture(tempDir('graph-gpt2')).path);
  const dicts = Array.from({ length: model.spec.nLayers }, (_, l) => neuronDictionary(model, l));
  const a = await attribute(model, dicts, PROMPT.slice(1), { zeroBos: false });
  for (const e of a.errors) for (const v of e) assert.ok(Math.abs(v) < 1e-5, `error entry ${v}`);
  for (const f of a.layerFve) assert.ok(f > 0.999999, `layer FVE ${f}`);
  const s = graphScores(a);
  assert.ok(s.replacement_score > 0.9999, `replacement score ${s.replacement_score}`);
  assert.ok(s.completeness_score > 0.9999, `completeness score ${s.completeness_score}`);
  assert.ok(s.error_influence_share < 1e-4, `error share ${s.error_influence_share}`);

  // The same prompt with random transcoders has real error nodes and a lower replacement score.
  const D = model.spec.dModel;
  const rnd = Array.from({ length: model.spec.nLayers }, (_, l) => {
    const sae = Sae.create({ architecture: 'topk', dIn: D, dSae: 32, dOut: D, k: 4, hookName: `blocks.${l}.ln2.hook_normalized`, outHookName: `blocks.${l}.hook_mlp_out` }, 5 + l);
    sae.params.b_enc.fill(0.5);
    return transcoderDictionary(model, l, sae);
  });
  const b = await attribute(model, rnd, PROMPT.slice(1), { zeroBos: false });
  assert.ok(graphScores(b).replacement_score < 0.9, `random transcoders: replacement score ${graphScores(b).replacement_score}`);
});

test('node influence equals w ((I - N)^-1 - I) by Gauss-Jordan inversion on a random DAG', () => {
  const n = 9;
  const rand = prng(3);
  const A = new Float32Array(n * n);
  for (let t = 0; t < n; t++) for (let s = 0; s < t; s++) if (rand() < 0.6) A[t * n + s] = rand() * 2 - 1;
  const N = normalizeRows(A, n);
  const w = new Float64Array(n);
  w[n - 1] = 0.7;
  w[n - 2] = 0.3;
  // Independent: M = (I - N)^-1 by Gauss-Jordan, influence = w (M - I).
  const M = Array.from({ length: n }, (_, i) => [...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0) - N[i * n + j]), ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < n; c++) {
    const piv = M[c][c];
    for (let j = 0; j < 2 * n; j++) M[c][j] /= piv;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = M[r][c];
      for (let j = 0; j < 2 * n; j++) M[r][j] -= f * M[c][j];
    }
  }
  const got = influence(N, n, w);
  for (let j = 0; j < n; j++) {
    let want = 0;
    for (let t = 0; t < n; t++) want += w[t] * (M[t][n + j] - (t === j ? 1 : 0));
    assert.ok(Math.abs(got[j] - want) < 1e-9, `node ${j}: ${got[j]} vs ${want}`);
  }
});

test('pruning keeps tokens and logits, keeps edges only between kept nodes, and a threshold of 1 keeps every influential node', async () => {
  const model = await load(llamaFixture(tempDir('graph-prune')).path);
  const a: Attribution = await attribute(model, randomTranscoders(model, 4), PROMPT);
  const loose = prune(a, 1, 1);
  const tight = prune(a, 0.5, 0.9);
  for (let i = a.tokenStart; i < a.n; i++) assert.equal(tight.nodeMask[i], 1);
  for (const [t, s] of tight.edges) assert.ok(tight.nodeMask[t] && tight.nodeMask[s]);
  const keptTight = tight.nodeMask.reduce((x, y) => x + y, 0);
  const keptLoose = loose.nodeMask.reduce((x, y) => x + y, 0);
  assert.ok(keptTight < keptLoose, `tight ${keptTight} vs loose ${keptLoose}`);
  assert.ok(tight.edges.length < loose.edges.length);
});

test('without <bos> left out and with zero b_dec, a Llama logit is exactly the sum of its direct edges (no constant terms)', async () => {
  const model = await load(llamaFixture(tempDir('graph-sum')).path);
  const dicts = randomTranscoders(model, 8);
  const a = await attribute(model, dicts, PROMPT, { zeroBos: false });
  for (let k = 0; k < a.logits.length; k++) {
    let sum = 0;
    for (let s = 0; s < a.logitStart; s++) sum += a.adjacency[(a.logitStart + k) * a.n + s];
    const want = a.logits[k].demeaned;
    assert.ok(Math.abs(sum - want) < 1e-4 + 1e-4 * Math.abs(want), `logit ${a.logits[k].token}: edges sum to ${sum}, demeaned logit ${want}`);
  }
  // With the bos position left out its features and error become constants: then the sum misses them.
  const b = await attribute(model, dicts, PROMPT, { zeroBos: true });
  if (b.zeroBos) assert.ok(Math.abs(graphScores(b).target_logit_direct.biases) > 1e-4);
});
