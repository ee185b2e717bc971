// Per-layer transcoders through the CLI entry point on a tiny random Llama (2 layers, d_model 16): the files, resuming
// a killed run (bit-identical to an uninterrupted one) and skipping finished layers, the train / eval document split
// (planted overlap refused), and the metrics against independent computations: FVE in float64 from the model's own
// activations, CE with every MLP replaced from the float64 reference model with the transcoders applied by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { main } from '../../src/cli/main.js';
import { ProbityError } from '../../src/errors.js';
import { loadModel } from '../../src/models/load.js';
import { Sae } from '../../src/dictionaries/sae.js';
import { saveSaeLens } from '../../src/dictionaries/saelens.js';
import { loadTranscoderSet, textDocuments, trainingRows, trainTranscoders } from '../../src/circuits/transcoders.js';
import { llamaFixture, prng, tempDir } from '../models/tiny-models.js';

const root = tempDir('transcoders');
const fx = llamaFixture(path.join(root, 'model'), { seed: 5 });
const TEXT = path.join(root, 'docs.txt');
const EVAL_DOCS = 40;
const EVAL_TOKENS = 240;
{
  // Eval lines carry words no training line has (a planted marker), so a leak would be visible in the rows.
  const rand = prng(11);
  const word = (n: number) => Array.from({ length: n }, () => 'abcdefghijklmnoprstu'[Math.floor(rand() * 20)]).join('');
  const line = (i: number) => [...(i < EVAL_DOCS ? [`zqxv${i}`] : []), ...Array.from({ length: 2 + Math.floor(rand() * 5) }, () => word(2 + Math.floor(rand() * 5)))].join(' ');
  fs.writeFileSync(TEXT, Array.from({ length: 700 }, (_, i) => line(i)).join('\n') + '\n');
}
const RECIPE = ['--layers', '0,1', '--width', '64', '--k', '4', '--tokens', '3840', '--batch', '64', '--lr', '1e-2', '--seed', '3', '--eval-docs', String(EVAL_DOCS), '--eval-tokens', String(EVAL_TOKENS)];
const train = (out: string, ...extra: string[]) => main(['transcoders', 'train', '--model', fx.path, '--text', TEXT, '--out', out, ...RECIPE, ...extra]);
const setA = path.join(root, 'a');
const read = (f: string) => JSON.parse(fs.readFileSync(f, 'utf8'));

async function throwsCode(p: Promise<unknown>, code: string, mentions: string[]) {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ProbityError, String(e));
    assert.equal(e.code, code, e.message);
    for (const m of mentions) assert.ok(e.message.includes(m), `${e.message} lacks ${m}`);
    return true;
  });
}

test('transcoders train writes each layer in SAELens layout with its training record, then metrics.json and a README from it', { timeout: 60_000 }, async () => {
  assert.equal(await train(setA), 0);
  assert.deepEqual(fs.readdirSync(setA).sort(), ['README.md', 'blocks.0', 'blocks.1', 'metrics.json']);
  for (const L of [0, 1]) {
    assert.deepEqual(fs.readdirSync(path.join(setA, `blocks.${L}`)).sort(), ['cfg.json', 'sae_weights.safetensors', 'training.json'], 'no checkpoint left behind');
    const cfg = read(path.join(setA, `blocks.${L}`, 'cfg.json'));
    assert.equal(cfg.hook_name, `blocks.${L}.ln2.hook_normalized`);
    assert.equal(cfg.hook_name_out, `blocks.${L}.hook_mlp_out`);
    assert.equal(cfg.d_out, 16);
    const t = read(path.join(setA, `blocks.${L}`, 'training.json'));
    assert.equal(t.tokens_trained, 3840);
    assert.equal(t.steps, 60);
  }
  const set = loadTranscoderSet(setA);
  assert.deepEqual(set.map((l) => [l.layer, l.sae.cfg.architecture, l.sae.dSae, l.sae.cfg.k]), [[0, 'topk', 64, 4], [1, 'topk', 64, 4]]);
  const m = read(path.join(setA, 'metrics.json'));
  assert.equal(m.layers.length, 2);
  assert.equal(m.transcoders[1].tokens_trained, 3840);
  assert.match(m.transcoders[0].weights_sha256, /^[0-9a-f]{64}$/);
  assert.ok(m.data.tokens >= EVAL_TOKENS);
  const readme = fs.readFileSync(path.join(setA, 'README.md'), 'utf8');
  assert.ok(readme.includes(m.ce.score_all.toFixed(3)) && readme.includes(m.layers[1].fve.toFixed(3)), readme);
});

test('a killed run resumes bit for bit; finished layers are skipped; another recipe in the same folder is refused', { timeout: 60_000 }, async () => {
  const model = await loadModel(fx.path);
  // "Killed" after 7 of layer 0's 60 steps: a checkpoint (and the data cursor) on disk, no weights. Set d also loses
  // its cursor file: the data stream then starts over and is skipped to the checkpoint's step.
  for (const [name, keepCursor] of [['b', true], ['d', false]] as const) {
    const dir = path.join(root, name);
    await trainTranscoders(model, { out: dir, stream: textDocuments(model, TEXT), evalDocs: EVAL_DOCS, layers: [0, 1], width: 64, k: 4, tokens: 3840, batch: 64, lr: 1e-2, seed: 3, stopAtStep: 7 });
    assert.deepEqual(fs.readdirSync(path.join(dir, 'blocks.0')).sort(), ['checkpoint.safetensors', 'cursor.json']);
    if (!keepCursor) fs.rmSync(path.join(dir, 'blocks.0', 'cursor.json'));
    await throwsCode(Promise.resolve().then(() => loadTranscoderSet(dir)), 'TRANSCODER_SET', ['blocks.0', 'unfinished']);
    assert.equal(await train(dir), 0);
    for (const L of [0, 1]) {
      const w = (s: string) => fs.readFileSync(path.join(s, `blocks.${L}`, 'sae_weights.safetensors'));
      assert.ok(w(dir).equals(w(setA)), `set ${name}, blocks.${L}: resumed weights differ from the uninterrupted run's`);
    }
  }
  // Rerun on the finished set: nothing is retrained (training.json, written once, keeps its bytes and mtime).
  const t0 = path.join(setA, 'blocks.0', 'training.json');
  const before = [fs.readFileSync(t0, 'utf8'), fs.statSync(t0).mtimeMs];
  assert.equal(await train(setA), 0);
  assert.deepEqual([fs.readFileSync(t0, 'utf8'), fs.statSync(t0).mtimeMs], before);
  await throwsCode(train(setA, '--width', '32'), 'TRANSCODER_RESUME', ['blocks.0', '"width":64', '"width":32']);
});

test('training reads only documents after the held-out ones; eval refuses a planted overlap and too many tokens', { timeout: 60_000 }, async () => {
  const model = await loadModel(fx.path);
  const stream = textDocuments(model, TEXT);
  const lines = fs.readFileSync(TEXT, 'utf8').split('\n').filter((l) => l.trim());
  const evalRows = new Set(lines.slice(0, EVAL_DOCS).map((l) => model.tokenizer.encode(l).join(',')));
  const marker = model.tokenizer.encode('zqxv').slice(-3).join(',');
  const rows = [...(trainingRows(stream, EVAL_DOCS).source.rows() as Iterable<ArrayLike<number>>)].map((r) => Array.from(r).join(','));
  assert.equal(rows.length, lines.length - EVAL_DOCS);
  assert.ok(rows.every((r) => !evalRows.has(r) && !r.includes(marker)), 'a held-out document reached training');
  const m = read(path.join(setA, 'metrics.json'));
  assert.equal(m.transcoders[0].train_documents.first, EVAL_DOCS);
  assert.ok(m.data.eval_documents.end <= EVAL_DOCS && m.data.eval_documents.first === 0);
  assert.deepEqual(m.data.train_documents_checked.map((t: { first: number }) => t.first), [EVAL_DOCS, EVAL_DOCS]);
  // Plant an overlap: say layer 1 was trained from document 5 on.
  const setC = path.join(root, 'c');
  fs.cpSync(setA, setC, { recursive: true });
  const tf = path.join(setC, 'blocks.1', 'training.json');
  const t = read(tf);
  t.train_documents.first = 5;
  fs.writeFileSync(tf, JSON.stringify(t));
  await throwsCode(main(['transcoders', 'eval', setC, '--tokens', String(EVAL_TOKENS)]), 'TRANSCODER_DATA', ['layer 1', 'training documents [5,', 'overlap']);
  // A folder holding a plain SAE, or a transcoder of another layer, is not a layer of a transcoder set.
  const setE = path.join(root, 'e');
  saveSaeLens(Sae.create({ architecture: 'topk', dIn: 16, dSae: 8, k: 2, hookName: 'blocks.0.hook_resid_post' }, 1), path.join(setE, 'blocks.0'));
  await throwsCode(Promise.resolve().then(() => loadTranscoderSet(setE)), 'TRANSCODER_SET', ['blocks.0', 'not a transcoder']);
  fs.rmSync(path.join(setE, 'blocks.0'), { recursive: true });
  fs.cpSync(path.join(setA, 'blocks.1'), path.join(setE, 'blocks.0'), { recursive: true });
  await throwsCode(Promise.resolve().then(() => loadTranscoderSet(setE)), 'TRANSCODER_SET', ['blocks.1.ln2.hook_normalized', 'layer-0 MLP transcoder reads blocks.0.ln2.hook_normalized']);
  await throwsCode(main(['transcoders', 'eval', setA, '--tokens', '100000']), 'CLI_ARG', ['--tokens 100000', `${EVAL_DOCS} documents`]);
  await throwsCode(main(['transcoders', 'train', '--model', fx.path, '--text', TEXT, '--out', setC, '--layers', '0,7']), 'CLI_ARG', ['--layers', 'layer 7', '0 .. 1']);
  await throwsCode(main(['transcoders', 'train', '--model', fx.path, '--text', TEXT, '--out', setC, '--arch', 'gated']), 'CLI_ARG', ['--arch', 'gated', 'topk, jumprelu']);
});

/** TopK transcoder in float64 from the stored parameters: b_dec + sum over the k largest pre-activations (ReLU'd). */
function transcode(sae: Sae, x: ArrayLike<number>): Float64Array {
  const { dIn: D, dSae: S, dOut: Do } = sae;
  const k = sae.cfg.k!;
  const { W_encT, b_enc, W_dec, b_dec } = sae.params;
  const pre = Array.from({ length: S }, (_, s) => {
    let v = b_enc[s];
    for (let j = 0; j < D; j++) v += x[j] * W_encT[s * D + j];
    return [v, s];
  }).sort((a, b) => b[0] - a[0]);
  const out = Float64Array.from(b_dec);
  for (const [v, s] of pre.slice(0, k)) if (v > 0) for (let j = 0; j < Do; j++) out[j] += v * W_dec[s * Do + j];
  return out;
}

test('metrics match independent float64 computations: FVE from the stored activations, CE with every MLP replaced on the reference model', { timeout: 60_000 }, async () => {
  const model = await loadModel(fx.path);
  const m = read(path.join(setA, 'metrics.json'));
  const set = loadTranscoderSet(setA);
  const bos = model.tokenizer.bos;
  // Windows rebuilt here: 32 tokens from a document start, whole documents, the rest of the last one dropped.
  const docs = fs.readFileSync(TEXT, 'utf8').split('\n').filter((l) => l.trim()).slice(0, EVAL_DOCS).map((l) => model.tokenizer.encode(l));
  const windows: number[][] = [];
  let positions = 0;
  for (let doc = 0; positions < EVAL_TOKENS; ) {
    const w: number[] = [];
    while (w.length < 32) w.push(...docs[doc++]);
    windows.push(w.slice(0, 32));
    positions += w.slice(0, 32).filter((t, i) => i > 0 && t !== bos).length;
  }
  assert.equal(m.data.tokens, positions);
  const codec = (w: number[], i: number) => i > 0 && w[i] !== bos;
  const scored = (w: number[], i: number) => codec(w, i) && i + 1 < w.length && w[i + 1] !== bos;

  // FVE: 1 - sum_j Var(y_j - yhat_j) / sum_j Var(y_j), two-pass float64, on the model's own activations.
  for (const [i, l] of set.entries()) {
    const ys: Float64Array[] = [];
    const es: Float64Array[] = [];
    for (const w of windows) {
      const r = await model.forward([w], { cache: [`blocks.${l.layer}.ln2.hook_normalized`, `blocks.${l.layer}.hook_mlp_out`], logits: 'none' });
      const x = r.cache[`blocks.${l.layer}.ln2.hook_normalized`].data as Float32Array;
      const y = r.cache[`blocks.${l.layer}.hook_mlp_out`].data as Float32Array;
      for (let t = 0; t < 32; t++) {
        if (!codec(w, t)) continue;
        const yt = Float64Array.from(y.subarray(t * 16, (t + 1) * 16));
        const yh = transcode(l.sae, x.subarray(t * 16, (t + 1) * 16));
        ys.push(yt);
        es.push(yt.map((v, j) => v - yh[j]));
      }
    }
    const variance = (rows: Float64Array[]) => {
      let total = 0;
      for (let j = 0; j < 16; j++) {
        const mu = rows.reduce((a, r) => a + r[j], 0) / rows.length;
        total += rows.reduce((a, r) => a + (r[j] - mu) ** 2, 0);
      }
      return total;
    };
    const fve = 1 - variance(es) / variance(ys);
    console.log(`# layer ${l.layer} FVE: metrics ${m.layers[i].fve}, float64 ${fve}`);
    assert.ok(Math.abs(fve - m.layers[i].fve) < 1e-4, `layer ${l.layer}: FVE ${m.layers[i].fve} vs float64 ${fve}`);
    assert.ok(m.layers[i].fve_ci.lo <= m.layers[i].fve && m.layers[i].fve <= m.layers[i].fve_ci.hi);
  }

  // CE on the float64 reference model: clean, every MLP output zeroed, every MLP output replaced by its transcoder
  // (reading the replaced model's own ln2 output), at the codec positions only; scored where the next token counts.
  const ce = (mode: 'clean' | 'zero' | 'spliced') => {
    let sum = 0;
    let n = 0;
    for (const w of windows) {
      let ln2: Float64Array | null = null;
      const r = fx.reference(w, (name, x) => {
        if (/^blocks\.\d+\.ln2\.hook_normalized$/.test(name)) ln2 = x.slice();
        const hit = /^blocks\.(\d+)\.hook_mlp_out$/.exec(name);
        if (!hit || mode === 'clean') return;
        const sae = set[Number(hit[1])].sae;
        for (let t = 0; t < 32; t++) {
          if (!codec(w, t)) continue;
          const rep = mode === 'zero' ? new Float64Array(16) : transcode(sae, ln2!.subarray(t * 16, (t + 1) * 16));
          x.set(rep, t * 16);
        }
      });
      for (let t = 0; t < 32; t++) {
        if (!scored(w, t)) continue;
        const row = r.logits[t];
        const mx = Math.max(...row);
        const lse = mx + Math.log(row.reduce((a, v) => a + Math.exp(v - mx), 0));
        sum += lse - row[w[t + 1]];
        n++;
      }
    }
    assert.equal(n, m.ce.n_scored);
    return sum / n;
  };
  const [clean, zero, spliced] = [ce('clean'), ce('zero'), ce('spliced')];
  console.log(`# CE clean ${clean} / ${m.ce.clean}, zero ${zero} / ${m.ce.zero_all}, spliced ${spliced} / ${m.ce.spliced_all}`);
  assert.ok(Math.abs(clean - m.ce.clean) < 1e-4);
  assert.ok(Math.abs(zero - m.ce.zero_all) < 1e-4);
  assert.ok(Math.abs(spliced - m.ce.spliced_all) < 1e-4);
  const score = (zero - spliced) / (zero - clean);
  assert.ok(Math.abs(score - m.ce.score_all) < 1e-3, `score ${m.ce.score_all} vs ${score}`);
  assert.ok(m.ce.score_all_ci.lo <= m.ce.score_all && m.ce.score_all <= m.ce.score_all_ci.hi);
});

test('jumprelu transcoders train and evaluate through the same path', { timeout: 60_000 }, async () => {
  const out = path.join(root, 'jumprelu');
  assert.equal(await main(['transcoders', 'train', '--model', fx.path, '--text', TEXT, '--out', out, '--layers', '1', '--arch', 'jumprelu', '--sparsity', '0.01', '--width', '64', '--tokens', '1280', '--batch', '64', '--lr', '1e-2', '--eval-docs', String(EVAL_DOCS), '--eval-tokens', String(EVAL_TOKENS)]), 0);
  assert.equal(read(path.join(out, 'blocks.1', 'cfg.json')).architecture, 'jumprelu_transcoder');
  const [l] = loadTranscoderSet(out);
  assert.equal(l.sae.cfg.architecture, 'jumprelu');
  const m = read(path.join(out, 'metrics.json'));
  assert.deepEqual(m.layers.map((x: { layer: number }) => x.layer), [1]);
  assert.ok(Number.isFinite(m.layers[0].fve) && m.layers[0].l0 > 0 && Number.isFinite(m.ce.score_all), JSON.stringify(m.layers[0]));
});
