// Real-model check: Karpathy's stories260K (llama2.c) in GGUF must reproduce llama2.c's greedy output byte for byte
// and its next-token probabilities after BOS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { loadModel } from '../../src/models/load.js';
import { generate } from '../../src/models/generate.js';
import { logSoftmax } from '../../src/models/sampling.js';

const DIR = path.resolve('../shared/models/stories260K');
const GGUF = path.join(DIR, 'stories260K.gguf');
const present = fs.existsSync(GGUF);
const why = `../shared/models/stories260K is absent (looked in ${DIR}): real-model tests skipped`;
if (!present) console.log(`# SKIP: ${why}`);

test('stories260K: next-token probabilities after BOS match the float64 reference to 1e-4', { skip: !present && why }, async () => {
  const model = await loadModel(GGUF);
  const { logits } = await model.forward([[1]]);
  const lp = logSoftmax(logits!.data.subarray(0, model.spec.vocab));
  const expected: [number, number][] = [
    [403, 0.783689], [385, 0.15551], [410, 0.015623], [317, 0.01113], [407, 0.007835],
    [274, 0.00697], [368, 0.002646], [301, 0.002426], [392, 0.001617], [307, 0.001413],
  ];
  let worst = 0;
  for (const [id, p] of expected) worst = Math.max(worst, Math.abs(Math.exp(lp[id]) - p));
  console.log(`# stories260K next-token max |p - p_ref| = ${worst.toExponential(2)}`);
  assert.ok(worst < 1e-4, `max probability difference ${worst}`);
});

test('stories260K: greedy generation from BOS for 200 tokens reproduces llama2.c byte for byte', { skip: !present && why }, async () => {
  const model = await loadModel(GGUF);
  // llama2.c generates exactly 200 tokens and stops early only at BOS (token 1).
  const [g] = await generate(model, [[1]], { maxTokens: 200, temperature: 0, stop: [1] });
  const chunks: Uint8Array[] = [];
  let prev = 1;
  for (const t of g.tokens) {
    chunks.push(model.tokenizer.decodeToken(t, prev));
    prev = t;
  }
  const text = Buffer.concat(chunks).toString('utf8') + '\n';
  const expected = fs.readFileSync(path.join(DIR, 'expected_greedy_200.txt'), 'utf8');
  assert.equal(text, expected);
});
