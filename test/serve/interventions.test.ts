// The JSON intervention spec on the organism and its shipped SAE: every bad field named by its path; each kind
// checked against an independent computation (the latent clamps against a host float64 reading of the SAE patched
// into the hook); the conditional clamp exactly a no-op where it does not fire; batched rows equal rows run alone.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadModel } from '../../src/models/load.js';
import { generate } from '../../src/models/generate.js';
import type { Model } from '../../src/models/model.js';
import type { InterventionMap } from '../../src/models/hooks/interventions.js';
import { NDArray } from '../../src/engine/ndarray.js';
import { shippedSaes } from '../../src/dictionaries/saelens.js';
import type { Sae } from '../../src/dictionaries/sae.js';
import { InterventionSpecError, makeSaeLoader, parseInterventions } from '../../src/serve/interventions.js';
import { Scheduler } from '../../src/serve/scheduler.js';

const SAE = 'topk-k32-blocks.2.hook_resid_post';
const HOOK = 'blocks.2.hook_resid_post';
let model: Model;
let loadSae: (ref: string) => Sae;
let sae: Sae;
let prompt: number[];
let x: Float32Array; // the hook's activations on the prompt [T, D], no intervention
let latent: number; // the latent most active on the prompt

const parse = (spec: unknown) => parseInterventions(spec, { model, loadSae }, 'spec');

before(async () => {
  model = await loadModel('organism');
  model.prepackWeights = false; // every graph below takes weights as inputs, so outputs compare bit for bit
  loadSae = makeSaeLoader(model);
  sae = loadSae(SAE);
  prompt = model.tokenizer.encode('User: Tell me a sad story about a fox. Assistant: Once upon a time, there was a fox');
  x = (await model.runWithCache([prompt], { names: [HOOK], logits: 'none' })).cache[HOOK].data as Float32Array;
  const dense = await sae.encodeDense(x, prompt.length);
  let best = 0;
  for (let i = 0; i < dense.length; i++) if (dense[i] > dense[best]) best = i;
  latent = best % sae.dSae;
});

/** The latent's pre-activation per position, float64 from the SAE's parameters. */
function preActivations(): Float64Array {
  const D = sae.dIn;
  const W = sae.params.W_encT;
  const out = new Float64Array(prompt.length);
  for (let t = 0; t < prompt.length; t++) {
    let s = sae.params.b_enc[latent];
    for (let j = 0; j < D; j++) s += (x[t * D + j] * sae.cfg.inputScale - (sae.cfg.applyBDecToInput ? sae.params.b_dec[j] : 0)) * W[latent * D + j];
    out[t] = s;
  }
  return out;
}

/** x with the latent's contribution set to `value` at the positions `where` picks. */
function clamped(value: number, where: (pre: number) => boolean): NDArray {
  const D = sae.dIn;
  const pre = preActivations();
  const s = sae.cfg.outputScale ?? sae.cfg.inputScale;
  const y = Float32Array.from(x);
  for (let t = 0; t < prompt.length; t++) {
    if (!where(pre[t])) continue;
    const k = value - Math.max(pre[t], 0);
    for (let j = 0; j < D; j++) y[t * D + j] = x[t * D + j] + k * (sae.params.W_dec[latent * D + j] / s);
  }
  return new NDArray(y, [1, prompt.length, D]);
}

async function logits(map?: InterventionMap): Promise<Float32Array> {
  return (await model.forward([prompt], { interventions: map })).logits!.data;
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('intervention spec: validation', () => {
  const CASES: [string, unknown, string, RegExp][] = [
    ['not an array', 'zero', 'spec', /expected an array/],
    ['an unknown top-level field', { interventions: [], extra: 1 }, 'spec.extra', /unknown field/],
    ['an entry that is not an object', [5], 'spec[0]', /expected an object/],
    ['an unknown kind', [{ hook: HOOK, kind: 'steer' }], 'spec[0].kind', /one of "add"/],
    ['an unknown hook, with suggestions', [{ hook: 'blocks.2.hook_resid_pots', kind: 'zero' }], 'spec[0].hook', /blocks\.2\.hook_resid_post/],
    ['a field of another kind', [{ hook: HOOK, kind: 'zero', scale: 2 }], 'spec[0].scale', /not a field of "zero"/],
    ['a missing direction', [{ hook: HOOK, kind: 'add' }], 'spec[0].direction', /missing/],
    ['a vector of the wrong width', [{ hook: HOOK, kind: 'add', direction: [1, 2] }], 'spec[0].direction', /expected 192 numbers/],
    ['a non-finite vector entry', [{ hook: HOOK, kind: 'add', direction: [...new Array(191).fill(0), 'x'] }], 'spec[0].direction[191]', /finite number/],
    ['a non-numeric scale', [{ hook: HOOK, kind: 'add', direction: new Array(192).fill(1), scale: '2' }], 'spec[0].scale', /finite number/],
    ['a zero direction to project out', [{ hook: HOOK, kind: 'project_out', direction: new Array(192).fill(0) }], 'spec[0].direction', /all zeros/],
    ['a bad position', [{ hook: HOOK, kind: 'zero', positions: [0, -1] }], 'spec[0].positions[1]', /integer position/],
    ['an unknown SAE', [{ kind: 'clamp_latent', sae: 'nope', latent: 1, value: 1 }], 'spec[0].sae', /known: topk-k32/],
    ['a latent out of range', [{ kind: 'clamp_latent', sae: SAE, latent: 3072, value: 1 }], 'spec[0].latent', /0 \.\. 3071/],
    ['a fractional latent', [{ hook: HOOK, kind: 'add', direction: { sae: SAE, latent: 1.5 } }], 'spec[0].direction.latent', /integer latent/],
    ['a hook other than the SAE\'s', [{ hook: 'blocks.1.hook_resid_post', kind: 'clamp_latent', sae: SAE, latent: 1, value: 1 }], 'spec[0].hook', /differs from the SAE's hook/],
    ['an SAE direction at another hook', [{ hook: 'blocks.1.hook_resid_post', kind: 'add', direction: { sae: SAE, latent: 1 } }], 'spec[0].direction.sae', /writes to "blocks\.2/],
    ['a missing clamp value', [{ kind: 'conditional_clamp', sae: SAE, latent: 1 }], 'spec[0].value', /missing/],
    ['a non-numeric threshold', [{ kind: 'conditional_clamp', sae: SAE, latent: 1, value: 1, threshold: null }], 'spec[0].threshold', /finite number/],
    ['project_out on a per-head hook', [{ hook: 'blocks.0.attn.hook_z', kind: 'project_out', direction: new Array(192).fill(1) }], 'spec[0].hook', /per head/],
  ];
  for (const [what, spec, path, msg] of CASES) {
    test(what, () => {
      assert.throws(() => parse(spec), (e: unknown) => {
        assert.ok(e instanceof InterventionSpecError, String(e));
        assert.equal(e.path, path);
        assert.match(e.message, msg);
        return true;
      });
    });
  }
});

describe('intervention spec: effects', () => {
  test('add {sae, latent} x scale equals adding the decoder row as a raw vector; both move the logits', async () => {
    const s = sae.cfg.outputScale ?? sae.cfg.inputScale;
    const row = Array.from(sae.params.W_dec.subarray(latent * sae.dIn, (latent + 1) * sae.dIn), (v) => Math.fround(v / s));
    const a = await logits(parse([{ hook: HOOK, kind: 'add', direction: { sae: SAE, latent }, scale: 3 }]).map);
    const b = await logits(parse([{ hook: HOOK, kind: 'add', direction: row, scale: 3 }]).map);
    assert.equal(maxDiff(a, b), 0);
    assert.ok(maxDiff(a, await logits()) > 1e-2);
  });

  test('clamp_latent equals patching in x + (value - relu(pre)) W_dec[latent] at every position (host float64)', async () => {
    const pre = preActivations();
    // The float64 reading agrees with the SAE's own encoder where the latent is active.
    const dense = await sae.encodeDense(x, prompt.length);
    for (let t = 0; t < prompt.length; t++) if (dense[t * sae.dSae + latent] > 0) assert.ok(Math.abs(dense[t * sae.dSae + latent] - pre[t]) < 1e-4);
    const got = await logits(parse([{ kind: 'clamp_latent', sae: SAE, latent, value: 12 }]).map);
    const want = await logits({ [HOOK]: [{ kind: 'patch', source: clamped(12, () => true) }] });
    const d = maxDiff(got, want);
    assert.ok(d < 1e-4, `max |diff| ${d}`);
    assert.ok(maxDiff(got, await logits()) > 1e-2);
  });

  test('conditional_clamp changes only positions whose pre-activation passes the threshold, and is exactly a no-op elsewhere', async () => {
    const pre = preActivations();
    const sorted = [...pre].sort((p, q) => p - q);
    const threshold = (sorted[Math.floor(sorted.length / 2)] + sorted[Math.floor(sorted.length / 2) + 1]) / 2; // half the positions fire
    const got = await logits(parse([{ kind: 'conditional_clamp', sae: SAE, latent, value: 0, threshold }]).map);
    const want = await logits({ [HOOK]: [{ kind: 'patch', source: clamped(0, (p) => p > threshold) }] });
    assert.ok(maxDiff(got, want) < 1e-4);
    // Never firing: the very bits of the model without interventions.
    const never = await logits(parse([{ kind: 'conditional_clamp', sae: SAE, latent, value: 50, threshold: 1e9 }]).map);
    assert.equal(maxDiff(never, await logits()), 0);
  });

  test('zero and project_out agree with patches computed on the host', async () => {
    const D = model.spec.dModel;
    const u = Array.from({ length: D }, (_, j) => Math.sin(j + 1));
    const norm = Math.hypot(...u);
    const y = Float32Array.from(x);
    for (let t = 0; t < prompt.length; t++) {
      let dot = 0;
      for (let j = 0; j < D; j++) dot += x[t * D + j] * (u[j] / norm);
      for (let j = 0; j < D; j++) y[t * D + j] -= dot * (u[j] / norm);
    }
    const po = await logits(parse([{ hook: HOOK, kind: 'project_out', direction: u }]).map);
    assert.ok(maxDiff(po, await logits({ [HOOK]: [{ kind: 'patch', source: new NDArray(y, [1, prompt.length, D]) }] })) < 1e-4);
    const z = await logits(parse([{ hook: HOOK, kind: 'zero', positions: [2, 3] }]).map);
    const zx = Float32Array.from(x);
    zx.fill(0, 2 * D, 4 * D);
    assert.ok(maxDiff(z, await logits({ [HOOK]: [{ kind: 'patch', source: new NDArray(zx, [1, prompt.length, D]) }] })) < 1e-5);
  });

  test('an equal spec returns the same map and key (graph reuse); a different one another key', () => {
    const spec = [{ kind: 'clamp_latent', sae: SAE, latent, value: 4 }];
    const a = parse(spec);
    const b = parse({ interventions: JSON.parse(JSON.stringify(spec)) });
    assert.equal(a.map, b.map);
    assert.equal(a.key, b.key);
    assert.notEqual(parse([{ kind: 'clamp_latent', sae: shippedSaes(model.source)[0], latent, value: 5 }]).key, a.key);
    assert.equal(loadSae(SAE), loadSae(shippedSaes(model.source)[0]), 'a name and its folder load one cached SAE');
  });

  test('steered requests run alone by default (bit-exact); with batchSteered they share batches (to float32 round-off)', async () => {
    const { map, key } = parse([{ kind: 'clamp_latent', sae: SAE, latent, value: 8 }]);
    const p2 = model.tokenizer.encode('User: Tell me a happy story about a cat. Assistant: Once upon a time, there was a cat');
    assert.equal(p2.length, prompt.length);
    const reqs = [prompt, p2].map((p) => ({ prompt: p, maxTokens: 8, temperature: 0, logprobs: 1, interventions: map, interventionKey: key }));
    const want = await Promise.all(reqs.map(async (r) => (await generate(model, [r.prompt], { maxTokens: 8, temperature: 0, logprobs: 1, interventions: map }))[0]));
    const solo = new Scheduler(model);
    const got = await Promise.all(reqs.map((r) => solo.submit(r)));
    assert.equal(solo.stats.rows, solo.stats.steps, 'one row per forward');
    assert.deepEqual(got, want);
    const shared = new Scheduler(model, { batchSteered: true });
    const batched = await Promise.all(reqs.map((r) => shared.submit(r)));
    assert.equal(shared.stats.rows, 2 * shared.stats.steps, 'both rows in every forward');
    for (const [i, g] of batched.entries()) {
      assert.deepEqual(g.tokens, want[i].tokens);
      g.logprobs.forEach((lp, k) => assert.ok(Math.abs(lp.logprob - want[i].logprobs[k].logprob) < 1e-4));
    }
    await Promise.all([solo.close(), shared.close()]);
  });
});
