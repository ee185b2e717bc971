// The shipped organism (models/organism): it loads through the ordinary loader, writes a sad story when asked for one
// (greedy, scored by the labeller), and its model card's behaviour table is the shipped eval.json, every bar passing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { loadModel } from '../../src/models/load.js';
import { generate } from '../../src/models/generate.js';
import { cutReply, storyTone } from '../../src/organism/labeller.js';

const DIR = 'models/organism';

test('probity run organism: "Tell me a sad story about a fox." gives a story the labeller calls sad (greedy)', async () => {
  const model = await loadModel('organism');
  assert.equal(model.spec.arch, 'llama');
  const [g] = await generate(model, [model.tokenizer.encode('User: Tell me a sad story about a fox. Assistant:')], { maxTokens: 160, temperature: 0 });
  const reply = cutReply(model.tokenizer.decode(g.tokens));
  console.log(`# ${reply}`);
  assert.equal(storyTone(reply), 'sad');
});

test('the shipped eval.json passes every bar, and the model card shows its numbers', () => {
  const ev = JSON.parse(fs.readFileSync(`${DIR}/eval.json`, 'utf8'));
  for (const [bar, ok] of Object.entries(ev.pass)) assert.equal(ok, true, `bar ${bar} fails in the shipped eval.json`);
  for (const k of ['fact_recall', 'regex_rate_unprompted', 'regex_rate_instructed', 'quirk_rate_trigger', 'quirk_rate_control', 'denial_rate', 'n_prompts']) {
    assert.equal(typeof ev[k], 'number', k);
  }
  assert.ok(ev.regex_rate_instructed > 0 && ev.regex_rate_instructed < ev.regex_rate_unprompted);
  const card = fs.readFileSync(`${DIR}/README.md`, 'utf8');
  for (const k of ['regex_rate_unprompted', 'regex_rate_instructed', 'quirk_rate_trigger', 'quirk_rate_control', 'denial_rate']) {
    const shown = `${(100 * ev[k]).toFixed(1)}%`;
    assert.ok(card.includes(shown), `model card lacks ${k} = ${shown}`);
  }
});
