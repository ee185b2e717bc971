// The spurious-correlation suite against planted truths and independent computations: a planted spurious direction in
// synthetic activations (projection must remove it and keep tone), the validation rule on hand-made candidates, the
// story splits and deletions against the labeller's labels, the probe-hook ablation computed two ways (inside the
// model forward vs on pooled latents), and the --quick preset end to end on the shipped organism.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/stats/index.js';
import { ProbityError } from '../../../src/errors.js';
import { B } from '../../../src/organism/concepts.js';
import { organismTokenizer } from '../../../src/organism/tokenizer.js';
import { WEATHER_WORDS } from '../../../src/organism/vocab.js';
import { loadModel } from '../../../src/models/load.js';
import { loadSaeLens, shippedSaes } from '../../../src/dictionaries/saelens.js';
import { chooseK, fitHead, logits, metricsOf, outcomes, predict, projectOut, weatherDirection, weatherReliance, type Pooled } from '../../../src/bench/tasks/spurious/core.js';
import { cutStory, deleteWeather, makeSplits, makeStory, type PairSpec } from '../../../src/bench/tasks/spurious/data.js';
import {
  SPURIOUS_METRICS, SPURIOUS_PRESETS, ablatePooled, collect, decoderRows, encodeRows, pooledLatents, runSpurious, shippedSaesAt,
} from '../../../src/bench/tasks/spurious.js';

const PAIR: PairSpec = { tones: ['happy', 'sad'], weathers: [['sunny'], ['rainy', 'cloudy']] };

/** Pooled features with tone along e0 and weather along e1 (strength `ws`), plus noise; weather tokens see only weather. */
function planted(rng: Rng, groups: number[], perGroup: number, d: number, ws: number): Pooled {
  const n = groups.length * perGroup;
  const x = new Float32Array(n * d);
  const weatherTok = new Float32Array(n * d);
  const tone = new Uint8Array(n);
  const weather = new Uint8Array(n);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
  let i = 0;
  for (const g of groups) {
    for (let k = 0; k < perGroup; k++, i++) {
      tone[i] = g >> 1;
      weather[i] = g & 1;
      const t = tone[i] ? 1 : -1;
      const w = weather[i] ? 1 : -1;
      for (let j = 0; j < d; j++) {
        x[i * d + j] = gauss();
        weatherTok[i * d + j] = gauss();
      }
      // Tone is noisier than weather (a weak intended signal, a clean spurious one): the probe leans on weather.
      x[i * d] += 0.8 * t + 0.8 * gauss();
      x[i * d + 1] += ws * w;
      weatherTok[i * d + 1] += 3 * w;
    }
  }
  return { n, d, x, weatherTok, weatherCount: new Int32Array(n).fill(1), tone, weather };
}

test('a planted spurious direction: the original probe leans on it, projection removes it and keeps tone', async () => {
  const rng = new Rng(5);
  const d = 12;
  const train = planted(rng, [0, 3], 200, d, 2);
  const bal = planted(rng, [0, 1, 2, 3], 150, d, 2);
  const rev = planted(rng, [1, 2], 150, d, 2);
  const score = (h: Awaited<ReturnType<typeof fitHead>>, b: Pooled, r: Pooled) =>
    metricsOf(outcomes(predict(logits(b.x, b.n, d, h)), b.tone, b.weather), outcomes(predict(logits(r.x, r.n, d, h)), r.tone, r.weather));
  const orig = score(await fitHead(train, 1), bal, rev);
  assert.ok(orig.worst_group_acc < orig.tone_acc - 0.2, `the bias is real: worst ${orig.worst_group_acc} vs balanced ${orig.tone_acc}`);
  assert.ok(orig.weather_acc > 0.75, `the original reads weather: ${orig.weather_acc}`);
  const u = weatherDirection(train);
  assert.ok(Math.abs(u[1]) > 0.95, `the weather direction is the planted axis: ${Array.from(u).map((v) => v.toFixed(2))}`);
  const p = (q: Pooled): Pooled => ({ ...q, x: projectOut(q.x, q.n, d, u) });
  const proj = score(await fitHead(p(train), 1), p(bal), p(rev));
  assert.ok(Math.abs(proj.weather_acc - 0.5) < 0.06, `weather near chance after projection: ${proj.weather_acc}`);
  // Tone alone reads at Phi(0.8 / sqrt(1 + 0.8^2)) ~ 0.73 here; projection must keep that, not lose it.
  assert.ok(proj.tone_acc > 0.68 && proj.worst_group_acc > 0.62, `tone stays: ${proj.tone_acc}, worst group ${proj.worst_group_acc}`);
  const oracle = score(await fitHead(bal, 1), bal, rev);
  assert.ok(Math.abs(proj.tone_acc - oracle.tone_acc) < 0.06, `projection ~ oracle on planted data: ${proj.tone_acc} vs ${oracle.tone_acc}`);
});

test('weather reliance and the choice of k on validation', () => {
  // Margin 2 per story, of which the weather sentence gives 0.5: reliance 0.25 (signs by tone).
  const tone = Uint8Array.of(1, 0, 1, 0);
  const z = Float64Array.of(2, -2, 2, -2);
  const zDel = Float64Array.of(1.5, -1.5, 1.5, -1.5);
  assert.ok(Math.abs(weatherReliance(z, zDel, tone) - 0.25) < 1e-12);
  const c = [
    { k: 0, val_acc: 0.9, reliance: 0.5 },
    { k: 1, val_acc: 0.89, reliance: 0.4 },
    { k: 2, val_acc: 0.85, reliance: 0.1 }, // lowest reliance but loses more than the tolerance
    { k: 4, val_acc: 0.9, reliance: 0.4 }, // ties k = 1: the smaller k wins
  ];
  assert.equal(chooseK(c, 0.02).k, 1);
  assert.equal(chooseK(c, 0.06).k, 2);
  assert.equal(chooseK([{ k: 0, val_acc: 1, reliance: 0.2 }, { k: 8, val_acc: 1, reliance: 0.3 }], 0.02).k, 0, 'no k helps: none ablated');
});

test('stories: splits hold the planned groups, disjoint; cut and deletions match the labeller', () => {
  const sizes = { train: 6, val: 3, test: 4 };
  const sp = makeSplits(0, PAIR, sizes, [1, 2, 3], 1);
  const ids = new Set<string>();
  for (const s of sp) {
    const groups = (xs: { tone: number; weather: number }[]) => [0, 1, 2, 3].map((g) => xs.filter((x) => x.tone * 2 + x.weather === g).length);
    assert.deepEqual(groups(s.train), [6, 0, 0, 6], 'ambiguous train: weather agrees with tone');
    assert.deepEqual(groups(s.val), [3, 0, 0, 3]);
    assert.deepEqual(groups(s.oracleTrain), [3, 3, 3, 3]);
    assert.deepEqual(groups(s.testBalanced), [4, 4, 4, 4]);
    assert.deepEqual(groups(s.testReversed), [0, 4, 4, 0]);
    for (const x of [...s.train, ...s.val, ...s.oracleTrain, ...s.testBalanced, ...s.testReversed]) {
      assert.ok(!ids.has(x.id), `story ${x.id} used twice`);
      ids.add(x.id);
      assert.ok(PAIR.weathers[x.weather].includes(x.weatherName));
    }
  }
  const tok = organismTokenizer();
  const tones = B['tone:happy'] | B['tone:sad'];
  for (let i = 0; i < 30; i++) {
    const full = makeStory(0, i % 2 ? 'sad' : 'happy', i);
    const c = cutStory(full.tokens, full.labels, 1);
    const text = tok.decode(Array.from(c.tokens));
    // Independent: the cut text is a prefix of the story ending at the first sentence that holds a tone word's label.
    assert.ok(full.text.startsWith(text), text);
    assert.ok(/[.!?]$/.test(text) && text.length < full.text.length, text);
    const sentences = text.match(/[^.!?]+[.!?]/g)!;
    const toneIdx = Array.from(c.labels).findIndex((l) => (l & tones) !== 0);
    assert.ok(toneIdx > 0, 'the cut story holds a tone sentence');
    assert.ok(sentences.length >= 4, 'intro, setting, weather, object come before the first tone sentence');
    const story = { id: `s${i}`, tokens: c.tokens, labels: c.labels, tone: 0 as const, weather: 0 as const, weatherName: 'sunny' as const };
    const words = deleteWeather(story, 'words').story;
    const wText = tok.decode(Array.from(words.tokens));
    for (const w of Object.keys(WEATHER_WORDS)) assert.ok(!new RegExp(`\\b${w}\\b`, 'i').test(wText), `${w} left in "${wText}"`);
    const nWeather = Array.from(c.labels).filter((l) => (l & B['entity:weather']) !== 0).length;
    assert.equal(c.tokens.length - words.tokens.length, nWeather);
    const sent = deleteWeather(story, 'sentence').story;
    const sText = tok.decode(Array.from(sent.tokens)).trim();
    const kept = sentences.filter((s) => !Object.keys(WEATHER_WORDS).some((w) => new RegExp(`\\b${w}\\b`, 'i').test(s)));
    assert.equal(sText.replace(/\s+/g, ' '), kept.join('').trim().replace(/\s+/g, ' '), 'exactly the weather sentences go');
  }
});

test('probe-hook ablation: inside the model forward = on pooled latents (x - sum a_i d_i, error term kept)', async () => {
  const model = await loadModel('organism');
  const dir = shippedSaes(model.source).find((d) => d.includes('blocks.2.hook_resid_post'));
  assert.ok(dir, 'a shipped SAE at blocks.2');
  const sae = loadSaeLens(dir);
  const hook = sae.cfg.hookName;
  const stories = makeSplits(0, PAIR, { train: 4, val: 1, test: 1 }, [1], 1)[0].train;
  const clean = await collect(model, hook, stories, { keep: true, batchRows: 3 });
  const code = await encodeRows(sae, clean.tokens!, clean.rows);
  // The latents most active on these stories (so the ablation moves the activations a lot).
  const mass = new Map<number, number>();
  for (let i = 0; i < code.indices.length; i++) mass.set(code.indices[i], (mass.get(code.indices[i]) ?? 0) + code.values[i]);
  const latents = [...mass.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5).map((e) => e[0]);
  const dec = decoderRows(sae);
  const viaForward = await collect(model, hook, stories, { batchRows: 2, ablate: { hook, dec, D: model.spec.dModel, k: code.k, indices: code.indices, values: code.values, rowStart: clean.offsets, latents: new Set(latents) } });
  const analytic = ablatePooled(clean.pooled, pooledLatents(code, clean.offsets, latents), latents, latents, dec);
  let maxDiff = 0;
  let moved = 0;
  for (let i = 0; i < analytic.x.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(analytic.x[i] - viaForward.pooled.x[i]));
    moved = Math.max(moved, Math.abs(analytic.x[i] - clean.pooled.x[i]));
  }
  assert.ok(moved > 0.1, `the ablation moves the pooled activations (${moved})`);
  assert.ok(maxDiff < 1e-4, `forward vs analytic ablation differ by ${maxDiff} (moved ${moved})`);
});

test('--quick preset on the organism: schema, ranges, balanced test groups, a real bias, the oracle on top', async () => {
  const model = await loadModel('organism');
  const saes = shippedSaes(model.source).map(loadSaeLens).filter((s) => s.cfg.hookName === 'blocks.2.hook_resid_post');
  const seeds = [1, 2, 3];
  const c = SPURIOUS_PRESETS.quick;
  const { rows, section } = await runSpurious({
    model, hook: 'blocks.2.hook_resid_post', saeOf: (s) => saes[seeds.indexOf(s) % saes.length], seeds, activations: undefined as never,
    trainDocs: 0, valDocs: 0, testDocs: 0, docsSeed: 0, config: c, bootstrapIterations: 300,
  });
  const methods = section.methods.map((m) => m.name);
  const early = shippedSaesAt(model, 'blocks.0.hook_resid_post').length > 0;
  for (const m of ['original', 'projection', 'delete-weather-words', 'delete-weather-sentence', 'oracle', 'shift@blocks.2.hook_resid_post', 'shift@blocks.2.hook_resid_post+retrain', ...(early ? ['shift@blocks.0.hook_resid_post', 'shift@blocks.0.hook_resid_post+retrain'] : [])]) {
    assert.ok(methods.includes(m), `method ${m} present`);
  }
  for (const r of rows) {
    assert.equal(r.suite, 'spurious');
    assert.ok((SPURIOUS_METRICS as readonly string[]).includes(r.metric), r.metric);
    assert.equal(r.n_seeds, 3);
    assert.match(r.interval ?? '', /cluster bootstrap over test stories/);
    if (r.metric !== 'scr') for (const v of [r.mean, r.ci_low, r.ci_high]) assert.ok(v >= 0 && v <= 1, `${r.method} ${r.metric} ${v}`);
    assert.ok(r.ci_low <= r.ci_high, `${r.method} ${r.metric}`);
  }
  const test = section.group_counts.find((g) => g.split === 'test (balanced)')!;
  assert.deepEqual(test.counts, [c.test, c.test, c.test, c.test]);
  assert.deepEqual(section.group_counts.find((g) => g.split === 'train (ambiguous)')!.counts, [c.train, 0, 0, c.train]);
  const get = (m: string, metric: string) => rows.find((r) => r.method === m && r.metric === metric)!;
  // Independent recomputation: the row's mean is the mean of the per-seed values, and the worst group of the group table.
  const ps = section.per_seed.find((p) => p.method === 'original' && p.metric === 'tone_acc')!;
  assert.ok(Math.abs(get('original', 'tone_acc').mean - ps.values.reduce((a, b) => a + b, 0) / 3) < 1e-12);
  assert.ok(get('original', 'worst_group_acc').mean < get('original', 'tone_acc').mean, 'the bias is real');
  assert.ok(get('original', 'worst_group_acc').ci_high < get('original', 'tone_acc').ci_low, 'the bias is real beyond the intervals');
  for (const metric of ['tone_acc', 'worst_group_acc']) {
    const o = get('oracle', metric);
    for (const m of methods.filter((x) => x !== 'oracle')) assert.ok(get(m, metric).mean <= o.ci_high, `${m} ${metric} ${get(m, metric).mean} above the oracle's interval ${o.ci_high}`);
  }
  for (const s of section.shift) {
    assert.ok(s.grid.some((g) => g.k === 0) && s.grid.some((g) => g.k === s.k));
    assert.equal(s.chosen.length, s.k);
    for (const l of s.chosen) assert.ok(l.auroc_train > 0.5 && l.contexts.every((x) => x.text.includes('[[')));
  }
  assert.ok(section.notes.some((n) => n.startsWith('original probe:')));
  await assert.rejects(() => runSpurious({ model, hook: 'blocks.2.hook_resid_post', saeOf: () => undefined, seeds, activations: undefined as never, trainDocs: 0, valDocs: 0, testDocs: 0, docsSeed: 0, config: { ...c, kGrid: [0] }, bootstrapIterations: 10 }),
    (e: unknown) => e instanceof ProbityError && /spurious\.kGrid/.test(e.message) && /0/.test(e.message));
  await assert.rejects(() => runSpurious({ model, hook: 'blocks.2.hook_resid_post', saeOf: () => undefined, seeds, activations: undefined as never, trainDocs: 0, valDocs: 0, testDocs: 0, docsSeed: 0, config: { ...c, tones: ['happy', 'happy'] }, bootstrapIterations: 10 }),
    (e: unknown) => e instanceof ProbityError && /spurious\.tones/.test(e.message) && /happy/.test(e.message));
});
