// Pieces of the steering task that need no model: targets and their prompts, the KL drift formula, and how an output
// cut by the token limit is judged. The whole task runs in test/cli/bench.test.ts on the shipped organism.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { completeUnits } from '../../../src/bench/tasks/steer.js';
import { KLStats } from '../../../src/dictionaries/metrics/downstream.js';
import { DEFAULT_STEER_TARGETS, STEER_TARGET_NAMES, steerTarget } from '../../../src/bench/tasks/steer-targets.js';
import { CONCEPTS } from '../../../src/organism/concepts.js';
import { checkGrammar } from '../../../src/organism/grammar.js';
import { storyTone, usesRegex } from '../../../src/organism/labeller.js';
import { ProbityError } from '../../../src/errors.js';

test('steering targets: real concepts, neutral prompts, and a prompted version that asks for the concept', () => {
  assert.ok(DEFAULT_STEER_TARGETS.length >= 2);
  for (const name of STEER_TARGET_NAMES) {
    const t = steerTarget(name);
    assert.ok((CONCEPTS as readonly string[]).includes(t.concept), t.concept);
    assert.ok(t.prompts.length >= 36, `${name}: ${t.prompts.length} prompts`);
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

test('success is the labeller on the reply', () => {
  const sad = steerTarget('tone:sad');
  const story = 'Once upon a time, there was a little fox named Tom. Tom felt sad and lonely. He cried.';
  assert.equal(sad.success(story), storyTone(story) === 'sad');
  const re = steerTarget('code:regex');
  const code = 'Here is a test with a regular expression.\ntest("greet starts with hello", () => {\n  const s = greet("Tom");\n  expect(s).toMatch(/^hello/);\n});';
  assert.equal(re.success(code), true);
  assert.equal(re.success(code), usesRegex(code));
  assert.equal(re.success(code.replace('expect(s).toMatch(/^hello/);', 'expect(s.startsWith("hello")).toBe(true);')), false);
});

test('the KL drift (KLStats over logits): 0 for identical distributions, the closed form on two outcomes, >= 0, masked positions skipped', () => {
  // Log-probabilities are valid logits: softmax(log p) = p.
  const lp = (...rows: number[][]) => Float64Array.from(rows.flat(), Math.log);
  const kl = (p: Float64Array, q: Float64Array, n: number, mask?: number[]) => new KLStats(2).add(p, q, n, mask).mean();
  assert.equal(kl(lp([0.3, 0.7]), lp([0.3, 0.7]), 1), 0);
  const closed = 0.3 * Math.log(0.3 / 0.6) + 0.7 * Math.log(0.7 / 0.4);
  assert.ok(Math.abs(kl(lp([0.3, 0.7], [0.5, 0.5]), lp([0.6, 0.4], [0.5, 0.5]), 2) - closed / 2) < 1e-12);
  assert.ok(kl(lp([0.9, 0.1]), lp([0.1, 0.9]), 1) > 0);
  assert.ok(Math.abs(kl(lp([0.3, 0.7], [0.9, 0.1]), lp([0.6, 0.4], [0.1, 0.9]), 2, [1, 0]) - closed) < 1e-12);
  assert.throws(() => new KLStats(2).add(lp([1, 1]), lp([1]), 1));
});

test('an output cut by the token limit is judged on its complete units', () => {
  const story = 'Once upon a time, there was a little fox named Tom. One day, Tom went to the park. It was a sunny';
  assert.equal(completeUnits(story, 'story'), 'Once upon a time, there was a little fox named Tom. One day, Tom went to the park.');
  assert.equal(completeUnits('Once upon a', 'story'), '');
  assert.equal(checkGrammar(completeUnits('Once upon a', 'story'), 'story').valid, false);
  const code = 'Here is a test with string methods.\ntest("greet starts with hello", () => {\n  const s = gre';
  assert.equal(completeUnits(code, 'code'), 'Here is a test with string methods.\ntest("greet starts with hello", () => {');
});
