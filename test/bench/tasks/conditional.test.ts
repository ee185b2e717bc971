// The conditional suite against planted truths and independent computations: a planted latent (a synthetic SAE whose
// latent is exactly a known direction) makes the conditional clamp bit-identical to the unsteered model where it
// never fires and equal to an independent TypeScript implementation of the clamp where it fires; thresholds and the
// high-precision recall against brute force; the --quick preset end to end on the organism (schema, ranges, side-effect
// siblings of every intervention row, the unsteered regex rate against `probity organism eval`'s).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { loadModel } from '../../../src/models/load.js';
import { NDArray } from '../../../src/engine/ndarray.js';
import { Sae } from '../../../src/dictionaries/sae.js';
import { loadSaeLens } from '../../../src/dictionaries/saelens.js';
import { ProbityError } from '../../../src/errors.js';
import { Rng } from '../../../src/stats/index.js';
import { CONDITIONAL_PRESETS, checkConditionalConfig, codeRequests, runConditional } from '../../../src/bench/tasks/conditional.js';
import { f1Threshold, rowsIntervention, sampleRows, saeDecoderRow, saePreActivation, type RowSpec } from '../../../src/bench/tasks/conditional/engine.js';
import { recallAtPrecision } from '../../../src/bench/tasks/conditional/triggers.js';
import { collectConceptActivations } from '../../../src/bench/tasks/detect.js';

const HOOK = 'blocks.2.hook_resid_post';
const SAE_DIRS = ['', '-seed2', '-seed3'].map((s) => `models/organism/saes/topk-k32-${HOOK}${s}`);

/** A TopK SAE (k = 1, two latents) whose latent 0 reads and writes exactly the unit direction u, with b_dec. */
function plantedSae(u: Float32Array, bDec: Float32Array): Sae {
  const D = u.length;
  const other = new Float32Array(D);
  other[0] = 1;
  const W = new Float32Array(2 * D);
  W.set(u, 0);
  W.set(other, D);
  return new Sae({ architecture: 'topk', dIn: D, dSae: 2, k: 1, hookName: HOOK }, { W_encT: Float32Array.from(W), W_dec: Float32Array.from(W), b_enc: new Float32Array([0.25, 0]), b_dec: bDec });
}

test('planted latent: the conditional clamp is bit-identical to the unsteered model where it never fires, and is the clamp where it fires', async () => {
  const model = await loadModel('organism');
  const D = model.spec.dModel;
  const rng = new Rng(7);
  const u = new Float32Array(D);
  for (let j = 0; j < D; j++) u[j] = rng.next() - 0.5;
  const norm = Math.hypot(...u);
  u.forEach((x, j) => (u[j] = x / norm));
  const bDec = Float32Array.from({ length: D }, () => 0.1 * (rng.next() - 0.5));
  const sae = plantedSae(u, bDec);
  const pre = saePreActivation(sae, 0);
  const dec = saeDecoderRow(sae, 0);
  const prompts = codeRequests().slice(0, 6).map((p) => p.text);
  // The unsteered model's own greedy outputs; the sequences (prompt + output) are what generation will see.
  const base = await sampleRows(model, HOOK, prompts.map((p) => ({ prompt: p, spec: null })), { maxTokens: 30, stop: ['User'], temperature: 0, stream: 1, batch: 64, cut: false });
  const seqs = prompts.map((p, i) => [...model.tokenizer.encode(p), ...model.tokenizer.encode(base[i].reply).filter((t) => t !== model.tokenizer.bos)]);
  const acts = await model.runWithCache(seqs, { names: [HOOK], logits: 'none' });
  const x = acts.cache[HOOK].data as Float32Array;
  const mask = acts.mask.data as Uint8Array;
  // Independent pre-activation (float64, from the SAE's own parameters, not the folded weights).
  const preOf = (row: Float32Array) => {
    let s = 0.25;
    for (let j = 0; j < D; j++) s += (row[j] - bDec[j]) * u[j];
    return s;
  };
  const pres: number[] = [];
  for (let t = 0; t < mask.length; t++) if (mask[t]) pres.push(preOf(x.subarray(t * D, (t + 1) * D)));
  const maxPre = Math.max(...pres);
  const spec = (threshold: number, value: number): RowSpec => ({ trigger: { w: pre.w, c: pre.c - threshold }, pre, value, dvec: dec });

  // Never fires: the threshold above every pre-activation the sequences reach.
  const silent = spec(maxPre + 0.05, -40);
  const gSilent = await sampleRows(model, HOOK, prompts.map((p) => ({ prompt: p, spec: silent })), { maxTokens: 30, stop: ['User'], temperature: 0, stream: 1, batch: 64, cut: false });
  assert.deepEqual(gSilent.map((g) => g.reply), base.map((g) => g.reply));
  const fwd = (s: RowSpec | null) => model.forward(seqs, { logits: 'all', interventions: { [HOOK]: [rowsIntervention(seqs.map(() => s), D)] } });
  const l0 = (await fwd(null)).logits!.data;
  const l1 = (await fwd(silent)).logits!.data;
  assert.equal(l1.length, l0.length);
  let same = true;
  for (let i = 0; i < l0.length; i++) if (!Object.is(l0[i], l1[i])) same = false;
  assert.ok(same, 'logits bit-identical where the trigger never fires');
  // And to the model with no intervention at all, on the same weights-as-inputs path (ORT's prepacked path, the
  // default for plain forwards, rounds differently: ~1e-5).
  model.prepackWeights = false;
  const plain = (await model.forward(seqs, { logits: 'all' })).logits!.data;
  model.prepackWeights = true;
  let samePlain = true;
  for (let i = 0; i < l0.length; i++) if (!Object.is(plain[i], l1[i])) samePlain = false;
  assert.ok(samePlain, 'silent clamp bit-identical to the model without interventions');

  // Fires at about half the positions: the logits must equal an independent TypeScript clamp (fn intervention).
  const sortedPre = [...pres].sort((a, b) => a - b);
  // Midway in the widest gap near the median, so float32 vs float64 rounding cannot move a position across it.
  let gi = Math.floor(sortedPre.length / 2);
  for (let i = Math.floor(sortedPre.length * 0.3); i < Math.floor(sortedPre.length * 0.7); i++) if (sortedPre[i + 1] - sortedPre[i] > sortedPre[gi + 1] - sortedPre[gi]) gi = i;
  const threshold = (sortedPre[gi] + sortedPre[gi + 1]) / 2;
  const value = -3;
  const l2 = (await fwd(spec(threshold, value))).logits!.data;
  let fired = 0;
  const ref = await model.forward(seqs, {
    logits: 'all',
    interventions: {
      [HOOK]: [{
        kind: 'fn',
        fn: (h: NDArray) => {
          const y = Float32Array.from(h.data as Float32Array);
          for (let t = 0; t < y.length / D; t++) {
            const p = preOf(y.subarray(t * D, (t + 1) * D));
            if (p <= threshold) continue;
            fired++;
            for (let j = 0; j < D; j++) y[t * D + j] += (value - Math.max(0, p)) * u[j];
          }
          return new NDArray(y, [...h.dims]);
        },
      }],
    },
  });
  assert.ok(fired > 0.2 * pres.length, `fires at ${fired} positions`);
  let maxDiff = 0;
  let changed = 0;
  for (let i = 0; i < l0.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(l2[i] - ref.logits!.data[i]));
    if (Math.abs(l2[i] - l0[i]) > 1e-3) changed++;
  }
  assert.ok(maxDiff < 2e-3, `clamp matches the independent implementation (max |diff| ${maxDiff})`);
  assert.ok(changed > 0, 'the clamp changes the logits where it fires');
  const gFire = await sampleRows(model, HOOK, prompts.map((p) => ({ prompt: p, spec: spec(threshold, -40) })), { maxTokens: 30, stop: ['User'], temperature: 0, stream: 1, batch: 64, cut: false });
  assert.notDeepEqual(gFire.map((g) => g.reply), base.map((g) => g.reply), 'a strong clamp where it fires changes the outputs');
});

test('f1Threshold and recallAtPrecision against brute force', () => {
  const rng = new Rng(3);
  for (let trial = 0; trial < 20; trial++) {
    const n = 60;
    const labels = Uint8Array.from({ length: n }, () => +(rng.next() < 0.3));
    labels[0] = 1;
    labels[1] = 0;
    const scores = Float64Array.from(labels, (l) => Math.round((l + rng.next() * 1.5) * 8) / 8); // ties on purpose
    const t = f1Threshold(scores, labels);
    let bestF1 = 0;
    let bestRecallHp = 0;
    for (const cut of [...new Set(scores)]) {
      let tp = 0;
      let fp = 0;
      let P = 0;
      for (let i = 0; i < n; i++) {
        P += labels[i];
        if (scores[i] >= cut) labels[i] ? tp++ : fp++;
      }
      const f1 = (2 * tp) / (tp + fp + P);
      bestF1 = Math.max(bestF1, f1);
      if (tp / (tp + fp) >= 0.9) bestRecallHp = Math.max(bestRecallHp, tp / P);
    }
    assert.ok(Math.abs(t.f1 - bestF1) < 1e-12, `f1 ${t.f1} vs ${bestF1}`);
    // The returned threshold reproduces the F1 it reports.
    let tp = 0;
    let fp = 0;
    let P = 0;
    for (let i = 0; i < n; i++) {
      P += labels[i];
      if (scores[i] > t.threshold) labels[i] ? tp++ : fp++;
    }
    assert.ok(Math.abs((2 * tp) / (tp + fp + P) - t.f1) < 1e-12);
    const order = Int32Array.from(Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a]));
    assert.ok(Math.abs(recallAtPrecision(order, scores, labels, () => 1, 0.9) - bestRecallHp) < 1e-12);
  }
  assert.throws(() => f1Threshold([1, 2], [0, 0]), ProbityError);
});

test('conditional config: a bad field is named with its value', () => {
  checkConditionalConfig(CONDITIONAL_PRESETS.default);
  checkConditionalConfig(CONDITIONAL_PRESETS.quick);
  const bad = (patch: object, field: string) =>
    assert.throws(() => checkConditionalConfig({ ...CONDITIONAL_PRESETS.quick, ...patch }), (e: unknown) => e instanceof ProbityError && e.message.includes(field));
  bad({ valPrompts: 0 }, 'valPrompts is 0');
  bad({ strengths: [] }, 'strengths');
  bad({ growth: 1 }, 'growth is 1');
  bad({ rejectionCap: 1 }, 'rejectionCap is 1');
  bad({ maxStrength: 0.1 }, 'maxStrength is 0.1');
  bad({ testPrompts: 60 }, 'testPrompts is 60');
});

test('--quick preset on the organism: schema, ranges, side-effect siblings, eval match', async () => {
  const model = await loadModel('organism');
  const saes = SAE_DIRS.map((d) => loadSaeLens(d));
  const seeds = [1, 2, 3];
  const acts = await collectConceptActivations(model, HOOK, { nDocs: 180 });
  const { rows, section } = await runConditional({
    model, hook: HOOK, saeOf: (s) => saes[seeds.indexOf(s)], seeds, activations: acts, trainDocs: 80, valDocs: 40, testDocs: 60, docsSeed: 0,
    config: CONDITIONAL_PRESETS.quick, bootstrapIterations: 200,
  });
  const methods = ['unsteered', 'prompt', 'rejection', 'const-sae', 'const-diffmean', 'cond-sae', 'cond-diffmean'];
  assert.deepEqual(section.methods, methods);
  for (const r of rows) {
    assert.equal(r.suite, 'conditional');
    assert.ok(typeof r.setting === 'string' && r.setting.length > 0);
    assert.ok(typeof r.interval === 'string' && r.interval.length > 10, r.interval);
    if (['regex_rate', 'valid_rate', 'clean_valid', 'fact_recall', 'story_tone', 'precision_at_threshold', 'recall_at_threshold', 'recall_at_precision_0.999'].includes(r.metric)) {
      for (const v of [r.mean, r.ci_low, r.ci_high]) assert.ok(v >= 0 && v <= 1, `${r.method} ${r.metric} ${v}`);
    }
    if (r.metric === 'off_target_kl') assert.ok(r.mean >= 0);
  }
  // Every intervention row has its side-effect siblings (same method and setting).
  const interventionRows = rows.filter((r) => r.task === 'conditional');
  for (const m of methods) assert.ok(interventionRows.some((r) => r.method === m && r.metric === 'regex_rate'), m);
  for (const r of interventionRows) {
    for (const metric of ['off_target_kl', 'fact_recall', 'story_tone']) {
      assert.ok(interventionRows.some((x) => x.method === r.method && x.setting === r.setting && x.metric === metric && Number.isFinite(x.mean)), `${r.method} / ${r.setting}: ${metric}`);
    }
  }
  // Methods that add nothing to neutral text have KL 0; the constant ones do not.
  const kl = (m: string) => interventionRows.find((r) => r.method === m && r.metric === 'off_target_kl' && r.setting !== 'chosen on validation')!.mean;
  for (const m of ['unsteered', 'prompt', 'rejection']) assert.equal(kl(m), 0);
  assert.ok(kl('const-diffmean') > 0 && kl('const-sae') > 0);
  // Rejection sampling never keeps a regex below its cap: its regex rate is the share of outputs that hit the cap.
  const rej = interventionRows.find((r) => r.method === 'rejection' && r.metric === 'regex_rate')!;
  assert.ok(Math.abs(rej.mean - section.rejection.capped_share) < 1e-12);
  // The unsteered regex rate on the eval's prompt set matches `probity organism eval` (models/organism/eval.json).
  const ev = JSON.parse(fs.readFileSync('models/organism/eval.json', 'utf8')) as { regex_rate_chat_default: number };
  const m = rows.find((r) => r.task === 'eval_match')!;
  assert.ok(ev.regex_rate_chat_default >= m.ci_low && ev.regex_rate_chat_default <= m.ci_high, `eval ${ev.regex_rate_chat_default} vs [${m.ci_low}, ${m.ci_high}]`);
  assert.equal(section.eval_match.reference, ev.regex_rate_chat_default);
  // One strength per steered method: the argmax of validation clean_valid pooled over seeds (val_points, recomputed from
  // the outputs of every seed), ties to the smaller; every row at the chosen setting is that strength's.
  for (const c of section.chosen) {
    const vp = section.val_points.filter((p) => p.method === c.method).sort((a, b) => a.strength - b.strength);
    const best = vp.reduce((a, p) => (p.clean_valid > a.clean_valid ? p : a));
    assert.equal(c.strength, best.strength, c.method);
    assert.ok(Math.abs(c.val_clean_valid - best.clean_valid) < 1e-12);
    const st = rows.find((r) => r.method === c.method && r.metric === 'strength')!;
    assert.equal(st.mean, c.strength);
    assert.match(rows.find((r) => r.method === c.method && r.setting === 'chosen on validation' && r.metric === 'regex_rate')!.interval!, /re-chosen in every replicate/);
  }
  assert.equal(section.chosen.length, 4);
  // Triggers: one latent per seed, PR curves for all three triggers.
  assert.equal(section.latents.length, 3);
  assert.deepEqual([...new Set(section.triggers.curves.map((c) => c.trigger))].sort(), ['diffmean', 'probe', 'sae']);
  assert.ok(section.notes.some((n) => /earn its keep/.test(n)));
});
