// Pieces of the steering task that need no model: targets and their prompts, the KL drift formula, and how an output
// cut by the token limit is judged. The whole task runs in test/cli/bench.test.ts on the shipped organism.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { completeUnits, meanKl } from '../../../src/bench/tasks/steer.js';
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

test('meanKl: 0 for identical distributions, the closed form on two outcomes, and >= 0', () => {
  const lp = (ps: number[]) => Float64Array.from(ps, Math.log);
  assert.equal(meanKl([lp([0.3, 0.7])], [lp([0.3, 0.7])]), 0);
  const kl = 0.3 * Math.log(0.3 / 0.6) + 0.7 * Math.log(0.7 / 0.4);
  assert.ok(Math.abs(meanKl([lp([0.3, 0.7]), lp([0.5, 0.5])], [lp([0.6, 0.4]), lp([0.5, 0.5])]) - kl / 2) < 1e-12);
  assert.ok(meanKl([lp([0.9, 0.1])], [lp([0.1, 0.9])]) > 0);
  assert.throws(() => meanKl([lp([1])], []));
});

test('an output cut by the token limit is judged on its complete units', () => {
  const story = 'Once upon a time, there was a little fox named Tom. One day, Tom went to the park. It was a sunny';
  assert.equal(completeUnits(story, 'story'), 'Once upon a time, there was a little fox named Tom. One day, Tom went to the park.');
  assert.equal(completeUnits('Once upon a', 'story'), '');
  assert.equal(checkGrammar(completeUnits('Once upon a', 'story'), 'story').valid, false);
  const code = 'Here is a test with string methods.\ntest("greet starts with hello", () => {\n  const s = gre';
  assert.equal(completeUnits(code, 'code'), 'Here is a test with string methods.\ntest("greet starts with hello", () => {');
});
