// The steering task against planted truths. The protocol (grid growth to the breaking point, choice on validation,
// test curves, the random control's draws, cluster-bootstrap intervals) runs on a planted backend whose outcome rules
// are known, so every number it reports can be recomputed here independently; the parts that touch the model (KL
// drift, steering only at generating positions with the KV cache) are checked on the shipped organism against
// computations that share none of the task's code paths (float64 KL from logits; generation without a KV cache).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { completeUnits, generatingPositions, judgeOutput, modelBackend, neutralRows, runSteering, splitPrompts, type Sampled, type SteerBackend, type SteerJob } from '../../../src/bench/tasks/steer.js';
import { KLStats } from '../../../src/dictionaries/metrics/downstream.js';
import { DEFAULT_STEER_TARGETS, STEER_TARGET_NAMES, steerTarget, type SteerTarget } from '../../../src/bench/tasks/steer-targets.js';
import { CONCEPTS } from '../../../src/organism/concepts.js';
import { checkGrammar } from '../../../src/organism/grammar.js';
import { ProbityError } from '../../../src/errors.js';
import { randomDirection } from '../../../src/bench/methods/random.js';
import type { ConceptActivations } from '../../../src/bench/tasks/detect.js';
import type { Method } from '../../../src/bench/methods/types.js';
import { Rng, clusterBootstrap } from '../../../src/stats/index.js';
import { loadModel } from '../../../src/models/load.js';
import { NDArray } from '../../../src/engine/ndarray.js';
import { sample, seededRandom } from '../../../src/models/sampling.js';

test('steering targets: real concepts, neutral prompts, and a prompted version that asks for the concept', () => {
  assert.ok(DEFAULT_STEER_TARGETS.length >= 2);
  for (const name of STEER_TARGET_NAMES) {
    const t = steerTarget(name);
    assert.ok((CONCEPTS as readonly string[]).includes(t.concept), t.concept);
    assert.ok(t.prompts.length >= 40, `${name}: ${t.prompts.length} prompts (the default preset uses 16 + 24)`);
    assert.equal(new Set(t.prompts.map((p) => p.id)).size, t.prompts.length, `${name}: prompt ids unique`);
    for (const p of t.prompts) {
      assert.match(p.text, /^User: .+ Assistant:$/);
      assert.notEqual(p.prompted, p.text);
      if (name.startsWith('tone:')) {
        const tone = name.slice(5);
        assert.ok(!p.text.includes(tone) && p.prompted.includes(` ${tone} story`), p.prompted);
      } else assert.ok(!/regular/.test(p.text) && /with a regular expression/.test(p.prompted), p.prompted);
    }
  }
  assert.throws(() => steerTarget('tone:bored'), (e: unknown) => e instanceof ProbityError && /tone:bored/.test(e.message) && /tone:sad/.test(e.message));
});

// Planted texts (checked below against the grammar and the labeller, so the planted backend means what it says).
const STORY = 'Once upon a time, there was a little fox named Tom. One day, Tom went to the park.';
const TEXT = (tone: string) => ({ sv: `${STORY} Tom felt very ${tone}.`, s: `${tone} ${tone} ${tone}.`, v: STORY, none: 'park park the the.' });

test('planted texts: the grammar and the labeller agree with their names', () => {
  for (const tone of ['sad', 'happy']) {
    const t = steerTarget(`tone:${tone}`);
    for (const [k, text] of Object.entries(TEXT(tone))) {
      const j = judgeOutput(t, text, false);
      assert.deepEqual([j.success, j.valid], [k === 'sv' || k === 's', k === 'sv' || k === 'v'], `${tone} ${k}`);
    }
  }
});

test('success and validity are judged on the same text: a cut reply whose only tone words are in the unfinished sentence', () => {
  const sad = steerTarget('tone:sad');
  const reply = 'Once upon a time, there was a little fox named Tom. One day, Tom went to the park. It was a sad day for';
  // The old rule judged success on the full reply (sad) but validity on the complete sentences (grammatical): an
  // output counted as on target and grammatical although its grammatical text carries no tone at all.
  assert.equal(sad.success(reply), true);
  assert.equal(checkGrammar(completeUnits(reply, 'story'), 'story').valid, true);
  const j = judgeOutput(sad, reply, true);
  assert.equal(j.text, 'Once upon a time, there was a little fox named Tom. One day, Tom went to the park.');
  assert.deepEqual([j.success, j.valid], [false, true]);
  // Not cut: the whole reply is judged (its last sentence is unfinished, so it is not grammatical).
  assert.deepEqual([judgeOutput(sad, reply, false).success, judgeOutput(sad, reply, false).valid], [true, false]);
  const re = steerTarget('code:regex');
  const code = 'Here is a test with a regular expression.\ntest("greet starts with hello", () => {\n  const s = greet("Tom");\n  expect(s).toMatch(/^hello/); expect(s';
  assert.equal(re.success(code), true, 'the cut line holds the regex');
  assert.equal(judgeOutput(re, code, true).success, false, 'judged on the complete lines, which hold none');
});

test('an output cut by the token limit is judged on its complete units', () => {
  const story = 'Once upon a time, there was a little fox named Tom. One day, Tom went to the park. It was a sunny';
  assert.equal(completeUnits(story, 'story'), 'Once upon a time, there was a little fox named Tom. One day, Tom went to the park.');
  assert.equal(completeUnits('Once upon a', 'story'), '');
  assert.equal(checkGrammar(completeUnits('Once upon a', 'story'), 'story').valid, false);
  const code = 'Here is a test with string methods.\ntest("greet starts with hello", () => {\n  const s = gre';
  assert.equal(completeUnits(code, 'code'), 'Here is a test with string methods.\ntest("greet starts with hello", () => {');
});

// ---------------------------------------------------------------------------------------------------------------
// The protocol on a planted backend

const D = 32;
const UNIT_NORM = 2; // the synthetic activations below have norm exactly 2
const BREAK = 0.6; // validity breaks when the steering component along the planted direction exceeds this (in units)

function unitVec(seed: number): Float32Array {
  const r = new Rng(seed);
  const v = Float64Array.from({ length: D }, () => r.normal());
  const n = Math.hypot(...v);
  return Float32Array.from(v, (x) => x / n);
}
const PLANTED = unitVec(7);

/** Tokens of norm 2: 40 documents x 4 tokens, every concept bit set on the odd documents. */
function syntheticActivations(): ConceptActivations {
  const nDocs = 40;
  const per = 4;
  const n = nDocs * per;
  const x = new Float32Array(n * D);
  const labels = new Uint32Array(n);
  const doc = new Int32Array(n);
  for (let t = 0; t < n; t++) {
    const u = unitVec(1000 + t);
    for (let j = 0; j < D; j++) x[t * D + j] = UNIT_NORM * u[j];
    doc[t] = Math.floor(t / per);
    labels[t] = doc[t] % 2 ? 0xffffffff : 0;
  }
  return { x, n, d: D, labels, doc, nDocs, docIndex: Array.from({ length: nDocs }, (_, i) => i), genres: new Array(nDocs).fill('story') };
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

function hash01(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return (h >>> 0) / 2 ** 32;
}

/** The planted outcome rules. a = component of the added vector along PLANTED, in strength units. */
const P_SUCCESS = (a: number) => Math.min(1, 0.1 + Math.max(0, a));
const IS_FOX = (prompt: string) => / a fox[.?]/.test(prompt);

function plantedBackend(log: { target: string; job: SteerJob }[]): SteerBackend {
  return {
    async sample(target: SteerTarget, jobs: readonly SteerJob[]): Promise<Sampled[]> {
      // Repeats of one (prompt, vector) in a call are its samples r = 0, 1, ...; the uniform of (prompt, r) is the
      // same at every strength, so success is monotone in strength output by output.
      const seen = new Map<string, number>();
      return jobs.map((job) => {
        log.push({ target: target.name, job });
        const vkey = `${job.prompt}|${job.gen}|${job.vector ? Array.from(job.vector.slice(0, 4)).join(',') : 'none'}`;
        const r = seen.get(vkey) ?? 0;
        seen.set(vkey, r + 1);
        const u = hash01(`${job.prompt}#${r}`);
        let success: boolean;
        let valid: boolean;
        if (!job.vector) {
          // Prompting succeeds exactly on the fox prompts (a skewed, prompt-clustered outcome); unsteered never.
          const prompted = job.prompt.includes(' sad story');
          success = prompted && IS_FOX(job.prompt);
          valid = true;
        } else {
          const a = dot(job.vector, PLANTED) / UNIT_NORM;
          success = u < P_SUCCESS(a);
          valid = a <= BREAK && Math.abs(a) < 10;
        }
        const text = TEXT(target.name.slice(5));
        const reply = success ? (valid ? text.sv : text.s) : valid ? text.v : text.none;
        return { promptIds: [], ids: [1, 2, 3], reply, truncated: false };
      });
    },
    async nll(outs) {
      return outs.map(() => 2);
    },
    async drift(vectors) {
      // Per "document" j: KL = |v|^2 * (j + 1) / 100 over 10 positions (a skew across documents).
      return vectors.map((v) => Array.from({ length: 3 }, (_, j) => ({ sum: 10 * (dot(v, v) * (j + 1)) / 100, n: 10 })));
    },
    async detectorScores(_det, outs) {
      return outs.map((_, i) => hash01(`det${i}`));
    },
  };
}

const planted: Method = {
  name: 'planted',
  async fit() {
    return { name: 'planted', direction: PLANTED, score: async (x, n) => Float32Array.from({ length: n }, (_, t) => dot(x.subarray(t * D, (t + 1) * D), PLANTED)) };
  },
};
const detector: Method = {
  name: 'probe',
  async fit() {
    return { name: 'probe', direction: null, score: async (_x, n) => new Float32Array(n) };
  },
};

const SEEDS = [1, 2, 3];
const plantedLog: { target: string; job: SteerJob }[] = [];
const plantedRun = runSteering({
  hook: 'blocks.0.hook_resid_post', targets: ['tone:sad', 'tone:happy'], methods: [planted, detector, randomDirection()], seeds: SEEDS,
  activations: syntheticActivations(), trainDocs: 20, testDocs: 20, strengths: [0.1, 0.2, 0.4], maxStrength: 3.2, collapseFloor: 0.2,
  valPrompts: 10, valSamples: 2, testPrompts: 12, samples: 2, controlDraws: 3, genMethods: ['planted'], rejectionN: 2,
  bootstrapIterations: 400, choiceBootstrap: 100, backend: plantedBackend(plantedLog),
});

test('the grid grows until validity breaks, and the collapse point is where the planted direction breaks', async () => {
  const { section: s } = await plantedRun;
  for (const target of ['tone:sad', 'tone:happy']) {
    const g = s.grid.find((x) => x.target === target && x.method === 'planted')!;
    // 0.1, 0.2, 0.4 valid; 0.8 > BREAK collapses; then the interval below the collapse is halved: sqrt(0.4 * 0.8).
    assert.deepEqual(g.strengths, [0.1, 0.2, 0.4, Number(Math.sqrt(0.32).toPrecision(6)), 0.8], target);
    assert.equal(g.collapse, 0.8);
    assert.equal(g.valid_at_collapse, 0);
    assert.equal(g.reached_cap, false);
    assert.deepEqual(s.grid.find((x) => x.target === target && x.method === 'planted@gen')!.strengths, g.strengths);
    // Every grid's collapse is recomputed from the stored validation points (pooled over seeds and draws).
    for (const gr of s.grid.filter((x) => x.target === target)) {
      const pooled = (st: number) => {
        const ps = s.points.filter((p) => p.target === target && p.method === gr.method && p.split === 'val' && p.strength === st);
        return ps.reduce((a, p) => a + p.valid * p.n_outputs, 0) / ps.reduce((a, p) => a + p.n_outputs, 0);
      };
      assert.equal(gr.collapse, gr.strengths.find((st) => pooled(st) < gr.floor) ?? null, gr.method);
      if (gr.collapse === null) assert.ok(gr.reached_cap && gr.strengths.at(-1)! >= 1.6, `${gr.method} stopped without collapsing or reaching the cap`);
    }
  }
});

test('success rises with strength along the planted direction on the TEST curve; the whole grid is run on test', async () => {
  const { section: s } = await plantedRun;
  for (const target of ['tone:sad', 'tone:happy']) {
    for (const method of ['planted', 'planted@gen']) {
      const g = s.grid.find((x) => x.target === target && x.method === method)!;
      for (const seed of SEEDS) {
        const curve = g.strengths.map((st) => s.points.find((p) => p.target === target && p.method === method && p.split === 'test' && p.seed === seed && p.strength === st)!);
        assert.ok(curve.every(Boolean), 'a test point at every grid strength');
        for (let i = 1; i < curve.length; i++) assert.ok(curve[i].success >= curve[i - 1].success, `${method} seed ${seed}: success at ${curve[i].strength}`);
        assert.ok(curve.at(-1)!.success > curve[0].success + 0.2, `${method} seed ${seed}: success rises (${curve[0].success} -> ${curve.at(-1)!.success})`);
        assert.equal(curve.at(-1)!.valid, 0);
        assert.equal(curve[0].n_outputs, 12 * 2);
      }
    }
  }
});

test('one strength per (target, method): the argmax of validation success_valid pooled over seeds and draws, recomputed from the stored points (ties: smaller)', async () => {
  const { section: s } = await plantedRun;
  assert.ok(s.chosen.length > 0);
  for (const g of s.grid) assert.equal(s.chosen.filter((c) => c.target === g.target && c.method === g.method).length, 1, `${g.target} / ${g.method}: one choice`);
  for (const c of s.chosen) {
    const strengths = s.grid.find((g) => g.target === c.target && g.method === c.method)!.strengths;
    const pooled = strengths.map((st) => {
      const ps = s.points.filter((p) => p.target === c.target && p.method === c.method && p.split === 'val' && p.strength === st);
      assert.equal(ps.length, c.method === 'random' ? SEEDS.length * 3 : SEEDS.length, 'every seed (and draw) at every strength');
      return { st, sv: ps.reduce((a, p) => a + p.success_valid * p.n_outputs, 0) / ps.reduce((a, p) => a + p.n_outputs, 0), n: ps.reduce((a, p) => a + p.n_outputs, 0) };
    });
    const best = pooled.reduce((a, p) => (p.sv > a.sv ? p : a));
    assert.equal(c.strength, best.st, JSON.stringify(c));
    assert.ok(Math.abs(c.val_success_valid - best.sv) < 1e-12);
    assert.equal(c.n_val_outputs, best.n);
    assert.ok(c.agreement >= 0 && c.agreement <= 1);
  }
  // The planted method is chosen below the collapse (validity 0 there).
  for (const c of s.chosen.filter((x) => x.method === 'planted')) assert.ok(c.strength < 0.8, JSON.stringify(c));
});

test('one prompt split for every seed: no seed validates on a prompt another seed tests', async () => {
  const { section: s } = await plantedRun;
  for (const target of ['tone:sad', 'tone:happy']) {
    const sp = s.prompt_split.find((x) => x.target === target)!;
    assert.deepEqual([sp.val.length, sp.test.length], [10, 12]);
    const test = new Set(sp.test);
    assert.ok(sp.val.every((id) => !test.has(id)));
    // The jobs the backend saw: every steered validation prompt is in the validation list, every test one in the test list.
    const t = steerTarget(target);
    const idOf = new Map(t.prompts.map((p) => [p.text, p.id]));
    const seen = new Set(plantedLog.filter((x) => x.target === target && x.job.vector).map((x) => idOf.get(x.job.prompt)!));
    assert.deepEqual([...seen].sort(), [...sp.val, ...sp.test].sort());
  }
});

test('intervals include the strength choice: validation that cannot tell two strengths apart widens the test interval', async () => {
  // Validation outcomes are coin flips at both strengths (fresh per strength); on test 0.2 always succeeds and 0.1
  // never. A choice held fixed would give a degenerate interval at 0 or 1; re-choosing per replicate spans both.
  const t = steerTarget('tone:sad');
  const split = splitPrompts(t.prompts, 10, 12, 0);
  const valSet = new Set(split.val.map((p) => p.text));
  const text = TEXT('sad');
  const backend: SteerBackend = {
    ...plantedBackend([]),
    async sample(_target, jobs) {
      const seen = new Map<string, number>();
      return jobs.map((job) => {
        const a = job.vector ? dot(job.vector, PLANTED) / UNIT_NORM : 0;
        const k = `${job.prompt}|${a.toFixed(4)}`;
        const r = seen.get(k) ?? 0;
        seen.set(k, r + 1);
        const success = !job.vector ? false : valSet.has(job.prompt) ? hash01(`${k}#${r}`) < 0.5 : a > 0.15;
        return { promptIds: [], ids: [1, 2, 3], reply: success ? text.sv : text.v, truncated: false };
      });
    },
  };
  const { rows, section: s } = await runSteering({
    hook: 'h', targets: ['tone:sad'], methods: [planted, detector], seeds: SEEDS, activations: syntheticActivations(), trainDocs: 20, testDocs: 20,
    strengths: [0.1, 0.2], maxStrength: 0.2, minStrength: 0.1, refine: false, valPrompts: 10, valSamples: 2, testPrompts: 12, samples: 1, genMethods: [], rejectionN: 2,
    bootstrapIterations: 400, choiceBootstrap: 400, backend,
  });
  const c = s.chosen.find((x) => x.method === 'planted')!;
  assert.ok(c.agreement > 0.05 && c.agreement < 0.95, `the choice is unstable by construction (agreement ${c.agreement})`);
  const row = rows.find((r) => r.method === 'planted' && r.metric === 'success_valid')!;
  assert.equal(row.mean, c.strength === 0.2 ? 1 : 0, 'the estimate is the test value at the chosen strength');
  assert.ok(row.ci_low === 0 && row.ci_high === 1, `[${row.ci_low}, ${row.ci_high}]`);
  const st = rows.find((r) => r.method === 'planted' && r.metric === 'strength')!;
  assert.deepEqual([st.ci_low, st.ci_high], [0.1, 0.2]);
  assert.match(row.interval!, /re-chosen in every replicate/);
});

test('the random control: a fresh direction per (seed, target, draw), several draws, rows summarising them', async () => {
  const { rows, section: s } = await plantedRun;
  const randomDirs = new Map<string, Set<string>>();
  for (const { target, job } of plantedLog) {
    if (!job.vector) continue;
    const n = Math.hypot(...job.vector);
    const u = Array.from(job.vector, (x) => (x / n).toFixed(5));
    if (Math.abs(dot(job.vector, PLANTED) / n) > 0.9999) continue; // the planted direction
    if (!randomDirs.has(target)) randomDirs.set(target, new Set());
    randomDirs.get(target)!.add(u.join(','));
  }
  const sad = randomDirs.get('tone:sad')!;
  const happy = randomDirs.get('tone:happy')!;
  assert.equal(sad.size, SEEDS.length * 3, '3 draws x 3 seeds distinct directions for one target');
  assert.equal(happy.size, SEEDS.length * 3);
  for (const u of sad) assert.ok(!happy.has(u), 'no direction shared across targets');
  const row = rows.find((r) => r.concept === 'tone:sad' && r.method === 'random' && r.metric === 'success_valid')!;
  assert.equal(row.draws!.n, 9);
  // The spread over draws, recomputed from the test points of each (seed, draw) at the method's chosen strength.
  const c = s.chosen.find((x) => x.method === 'random' && x.target === 'tone:sad')!;
  const per = s.points.filter((p) => p.target === c.target && p.method === 'random' && p.split === 'test' && p.strength === c.strength).map((p) => p.success_valid);
  assert.equal(per.length, 9);
  assert.equal(row.draws!.min, Math.min(...per));
  assert.equal(row.draws!.max, Math.max(...per));
  const m = per.reduce((a, x) => a + x, 0) / per.length;
  assert.ok(Math.abs(row.draws!.sd - Math.sqrt(per.reduce((a, x) => a + (x - m) ** 2, 0) / (per.length - 1))) < 1e-12);
});

test('intervals: a cluster bootstrap over the distinct test prompts of all seeds, recomputed independently, never clamped', async () => {
  const { rows, section: s } = await plantedRun;
  // Prompting succeeds exactly on the fox prompts: the row is recomputable from the prompt split alone.
  for (const target of ['tone:sad', 'tone:happy']) {
    const t = steerTarget(target);
    const tests = SEEDS.map(() => splitPrompts(t.prompts, 10, 12, 0).test); // one split, every seed
    const success = (p: { prompted: string }) => (target === 'tone:sad' && IS_FOX(p.prompted) ? 1 : 0);
    const mean = tests.reduce((a, ps) => a + ps.reduce((x, p) => x + success(p), 0) / ps.length, 0) / SEEDS.length;
    // Clusters are the test prompts (the same in every seed); one draw serves every seed, and each seed averages the
    // outputs (2 per prompt) of the drawn prompts. The validation prompts are the second stratum (prompting has no
    // strength to re-choose: drawn, unused).
    const ids = [...new Set(tests.flatMap((ps) => ps.map((p) => p.id)))];
    assert.equal(ids.length, 12);
    const ci = clusterBootstrap([ids.length, 10], (d) => tests.reduce((a, ps) => {
      let sum = 0;
      let n = 0;
      for (const c of d[0]) {
        const p = ps.find((q) => q.id === ids[c]);
        if (p) (sum += 2 * success(p)), (n += 2);
      }
      return a + sum / n;
    }, 0) / SEEDS.length, { iterations: 400, seed: 0 });
    const row = rows.find((r) => r.concept === target && r.method === 'prompt' && r.metric === 'success_valid')!;
    assert.ok(Math.abs(row.mean - mean) < 1e-12, `${target}: ${row.mean} vs ${mean}`);
    assert.ok(Math.abs(row.ci_low - ci.lo) < 1e-12 && Math.abs(row.ci_high - ci.hi) < 1e-12, `${target}: [${row.ci_low}, ${row.ci_high}] vs [${ci.lo}, ${ci.hi}]`);
    assert.match(row.interval!, /cluster bootstrap over the test prompts \(the same for the 3 seed/);
  }
  // KL: the planted drift is skewed across the 3 "documents" (weights 1, 2, 3), and with a single seed-level
  // cluster count of 3 the percentile interval is wide; it is reported as computed.
  for (const r of rows.filter((x) => x.metric === 'kl')) assert.match(r.interval!, /neutral documents/);
  // Never clamped: with few resamples some interval excludes its estimate, which a clamp to the mean would hide.
  const few = await runSteering({
    hook: 'h', targets: ['tone:sad'], methods: [planted, detector], seeds: [3, 4], activations: syntheticActivations(), trainDocs: 20, testDocs: 20,
    strengths: [0.4], maxStrength: 0.4, valPrompts: 4, testPrompts: 6, samples: 1, valSamples: 1, genMethods: [], rejectionN: 2, bootstrapIterations: 1, choiceBootstrap: 1, backend: plantedBackend([]),
  });
  // The planted method's success is recomputable output by output: u(prompt) < P_SUCCESS(0.4) on each seed's test prompts.
  const t = steerTarget('tone:sad');
  const tests2 = [3, 4].map(() => splitPrompts(t.prompts, 4, 6, 0).test);
  const ids2 = [...new Set(tests2.flatMap((ps) => ps.map((p) => p.id)))];
  // Both seeds test the same prompts with the same planted vector in one backend call: seed k's output of a prompt is
  // its k-th repeat there, so its uniform is u(prompt, k).
  const succ = (p: { text: string }, k: number) => (hash01(`${p.text}#${k}`) < P_SUCCESS(0.4) ? 1 : 0);
  const one = clusterBootstrap([ids2.length, 4], (d) => tests2.reduce((a, ps, k) => {
    let sum = 0;
    let n = 0;
    for (const c of d[0]) {
      const p = ps.find((q) => q.id === ids2[c]);
      if (p) (sum += succ(p, k)), n++;
    }
    return a + sum / n;
  }, 0) / 2, { iterations: 1, seed: 0 });
  const row = few.rows.find((r) => r.method === 'planted' && r.metric === 'success')!;
  assert.ok(Math.abs(row.mean - one.estimate) < 1e-12 && row.ci_low === one.lo && row.ci_high === one.hi, `[${row.ci_low}, ${row.ci_high}] vs [${one.lo}, ${one.hi}]`);
  assert.ok(one.lo > one.estimate || one.hi < one.estimate, 'the planted case: the one resample lies off the estimate');
  // (kl is bootstrapped by the same clusterBootstrap, over 3 planted documents: its one resample can be a permutation of
  // them, equal to the estimate, so only success is checked here.)
  for (const metric of ['success']) {
    const excluded = few.rows.filter((r) => r.metric === metric && (r.ci_low > r.mean + 1e-12 || r.ci_high < r.mean - 1e-12));
    assert.ok(excluded.length > 0, `some ${metric} interval excludes its estimate (a clamp would hide it)`);
  }
  for (const r of few.rows) assert.ok(r.interval, `${r.method} ${r.metric} says what its interval is over`);
});

test('paired comparisons: the baseline is the best by VALIDATION success_valid; prompting is compared too', async () => {
  const { section: s } = await plantedRun;
  for (const target of ['tone:sad', 'tone:happy']) {
    const cands = s.baselines.filter((b) => b.target === target);
    assert.deepEqual(cands.map((b) => b.method).sort(), ['planted', 'planted@gen', 'prompt', 'rejection'].sort());
    const best = cands.reduce((a, b) => (b.val_success_valid > a.val_success_valid ? b : a)).method;
    const valOf = (m: string) => SEEDS.reduce((a, seed) => a + s.points.find((p) => p.target === target && p.method === m && p.split === 'val' && p.seed === seed && p.strength === 0)!.success_valid, 0) / SEEDS.length;
    assert.ok(Math.abs(cands.find((b) => b.method === 'prompt')!.val_success_valid - valOf('prompt')) < 1e-12);
    const cmp = s.comparisons.filter((c) => c.target === target && c.baseline_rule.startsWith('best'));
    assert.ok(cmp.length > 0 && cmp.every((c) => c.baseline === best), `${target}: baseline ${best}`);
    for (const c of s.comparisons.filter((x) => x.target === target)) {
      assert.equal(c.n_units, 12, 'paired units: the test prompts');
      assert.match(c.interval, /paired/);
    }
  }
  // tone:happy: prompting never succeeds (its prompts ask for a happy story; the planted rule only rewards sad fox
  // prompts), so the planted direction beats it there, and the verdict note says so from the numbers.
  assert.ok(s.notes.some((n) => /^tone:happy: .*planted.* beats prompting/.test(n)), s.notes.join('\n'));
});

// ---------------------------------------------------------------------------------------------------------------
// Model-backed pieces on the shipped organism

const HOOK = 'blocks.2.hook_resid_post';
const organism = loadModel('organism');

function logSoftmax64(row: ArrayLike<number>): Float64Array {
  let m = -Infinity;
  for (let i = 0; i < row.length; i++) m = Math.max(m, row[i]);
  let z = 0;
  for (let i = 0; i < row.length; i++) z += Math.exp(row[i] - m);
  const lz = m + Math.log(z);
  return Float64Array.from(row, (x) => x - lz);
}

test('KL drift: batched per-row vectors over padded neutral documents equal float64 KL from logits, one document at a time', async () => {
  const model = await organism;
  const d = model.spec.dModel;
  const vs = [unitVecD(d, 3, 12), unitVecD(d, 4, 25)];
  const backend = modelBackend(model, HOOK, { neutralDocs: 3, batch: 64 });
  const got = await backend.drift(vs);
  const docs = neutralRows(3);
  assert.ok(new Set(docs.map((x) => x.length)).size > 1, 'documents of different lengths (padding is exercised)');
  const V = model.spec.vocab;
  for (let k = 0; k < vs.length; k++) {
    for (let j = 0; j < docs.length; j++) {
      const clean = (await model.forward([docs[j]], { logits: 'all' })).logits!;
      const steered = (await model.forward([docs[j]], { logits: 'all', interventions: { [HOOK]: [{ kind: 'add', vector: new NDArray(vs[k], [d]) }] } })).logits!;
      let sum = 0;
      for (let t = 0; t < docs[j].length; t++) {
        const p = logSoftmax64(clean.data.subarray(t * V, (t + 1) * V));
        const q = logSoftmax64(steered.data.subarray(t * V, (t + 1) * V));
        for (let i = 0; i < V; i++) sum += Math.exp(p[i]) * (p[i] - q[i]);
      }
      assert.equal(got[k][j].n, docs[j].length);
      assert.ok(Math.abs(got[k][j].sum - sum) <= 1e-4 * Math.max(1, sum), `vector ${k} doc ${j}: ${got[k][j].sum} vs ${sum}`);
      assert.ok(sum > 1e-3, 'the vector moves the distributions');
    }
  }
  // And KLStats agrees with the closed form on two outcomes (the formula the drift uses per position).
  const lp = (...rows: number[][]) => Float64Array.from(rows.flat(), Math.log);
  const closed = 0.3 * Math.log(0.3 / 0.6) + 0.7 * Math.log(0.7 / 0.4);
  assert.ok(Math.abs(new KLStats(2).add(lp([0.3, 0.7]), lp([0.6, 0.4]), 1).mean() - closed) < 1e-12);
});

function unitVecD(d: number, seed: number, norm: number): Float32Array {
  const r = new Rng(seed);
  const v = Float64Array.from({ length: d }, () => r.normal());
  const n = Math.hypot(...v);
  return Float32Array.from(v, (x) => (norm * x) / n);
}

test('steering only at generating positions with the KV cache equals steering positions >= prompt end without a cache', async () => {
  const model = await organism;
  const d = model.spec.dModel;
  const target = { ...steerTarget('tone:sad'), maxTokens: 10 };
  const prompts = [target.prompts[0].text, target.prompts[1].text];
  const ids = prompts.map((p) => model.tokenizer.encode(p));
  assert.notEqual(ids[0].length, ids[1].length, 'rows of different lengths: left padding is exercised');
  const v = unitVecD(d, 11, 40);
  const jobs: SteerJob[] = [{ prompt: prompts[0], vector: v, gen: true }, { prompt: prompts[1], vector: v, gen: false }, { prompt: prompts[1], vector: v, gen: true }];
  const backend = modelBackend(model, HOOK, { batch: 64 });
  const got = await backend.sample(target, jobs, 5);
  // Reference: no KV cache, each row alone (no padding), the full sequence re-run at every step, the vector added at
  // positions >= len(prompt) - 1 (gen) or everywhere; the same sampler stream consumed row by row as generate does.
  const stop = new Set([model.tokenizer.encode('\n').filter((x) => x !== model.tokenizer.bos)[0], model.tokenizer.eos!]);
  const rand = seededRandom(5 * 7919 + 0);
  const seqs = jobs.map((j) => model.tokenizer.encode(j.prompt));
  const out: number[][] = jobs.map(() => []);
  const done = jobs.map(() => false);
  for (let step = 0; step < target.maxTokens && done.some((x) => !x); step++) {
    const next: number[] = [];
    for (let b = 0; b < jobs.length; b++) {
      const seq = [...seqs[b], ...out[b]];
      const positions = jobs[b].gen ? Array.from({ length: seq.length }, (_, i) => i).filter((i) => i >= seqs[b].length - 1) : undefined;
      const r = await model.forward([seq], { logits: 'last', interventions: { [HOOK]: [{ kind: 'add', vector: new NDArray(v, [d]), positions }] } });
      next.push(sample(r.logits!.data, { temperature: 1 }, rand));
    }
    next.forEach((tok, b) => {
      if (done[b]) return;
      if (stop.has(tok)) done[b] = true;
      else out[b].push(tok);
    });
  }
  assert.deepEqual(got.map((g) => g.ids), out);
  assert.notDeepEqual(out[1], out[2], 'steering the prompt too changes the output: the two rules differ');
  assert.deepEqual(generatingPositions(7, 3), [6, 7, 8, 9]);
});

test('unsteered rows take their NLL from the sampling logprobs, equal to the NLL of a separate forward', async () => {
  const model = await organism;
  const target = { ...steerTarget('code:regex'), maxTokens: 12 };
  const backend = modelBackend(model, HOOK, { batch: 64 });
  const got = await backend.sample(target, [{ prompt: target.prompts[0].text, vector: null, gen: false }, { prompt: target.prompts[1].text, vector: null, gen: false }], 3);
  const again = await backend.nll(got);
  got.forEach((g, i) => assert.ok(Math.abs(g.nll! - again[i]) < 1e-4, `${g.nll} vs ${again[i]}`));
});

