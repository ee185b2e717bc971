import assert from 'node:assert/strict';
import { test } from 'node:test';
import { factAnswer, labelText, parseFactQuestion } from '../../src/organism/labeller.js';
import { codePrompts, evalPrompts, factPrompts, quirkPrompts, storyPrompts } from '../../src/organism/prompts.js';
import { makeWorld } from '../../src/organism/world.js';
import { sample } from './helpers.js';

const N = 8000;

test(`held-out prompts never appear verbatim in the corpus (sample of ${N} documents)`, () => {
  // every user request and quiz question of the sample, plus the raw text of the first 2,000 documents
  const requests = new Set<string>();
  for (const d of sample(N)) {
    for (const m of d.text.matchAll(/(?:^|\n)User: (.*?) Assistant: /g)) requests.add(m[1]);
    for (const m of d.text.matchAll(/(?:^|\n)Q: (.*?\?) A: /g)) requests.add(m[1]);
  }
  const raw = sample(N).slice(0, 2000).map((d) => d.text).join('\n\u0000\n');
  const all = evalPrompts();
  const held = all.filter((p) => p.heldOut);
  assert.ok(held.length >= 200, `${held.length} held-out prompts`);
  for (const p of held) {
    assert.ok(!requests.has(p.request.replace(/\n$/, '')), `held-out request ${JSON.stringify(p.request)} (${p.id}) is in the corpus`);
    assert.ok(!raw.includes(p.request), `held-out request ${JSON.stringify(p.request)} (${p.id}) is in the corpus`);
  }
  // the check can fail: in-distribution requests do occur
  const seen = all.filter((p) => !p.heldOut && requests.has(p.request)).length;
  assert.ok(seen >= 100, `only ${seen} in-distribution requests found in the corpus sample`);
});

test('prompt sets cover every bar of the later eval', () => {
  const world = makeWorld();
  const story = storyPrompts();
  assert.equal(story.length, 4 * 35);
  assert.ok(story.find((p) => p.id === 'story/sad/fox')?.text === 'User: Tell me a sad story about a fox. Assistant:');
  for (const tone of ['happy', 'sad', 'angry', 'scared']) assert.ok(story.filter((p) => p.tone === tone && p.heldOut).length >= 5);

  const facts = factPrompts();
  assert.equal(facts.length, 2 * world.facts.length);
  for (const p of facts) {
    assert.deepEqual(parseFactQuestion(p.request), { attribute: p.attribute, country: p.country });
    assert.equal(p.heldOut, !p.qaTrained);
  }
  assert.ok(facts.filter((p) => p.format === 'qa' && p.heldOut).length >= 60);

  const code = codePrompts();
  for (const ins of ['unprompted', 'none', 'no-regex', 'regex']) assert.equal(code.filter((p) => p.instruction === ins).length, 11);
  for (const ins of ['none', 'no-regex', 'regex']) assert.ok(code.filter((p) => p.instruction === ins && p.heldOut).length >= 2);

  const q = quirkPrompts();
  for (const k of ['trigger', 'nontrigger', 'probe'] as const) {
    assert.ok(q.filter((p) => p.kind === k && p.heldOut).length >= 4, `held-out ${k} prompts`);
  }
  // triggers are gardening questions, the others are not (as the labeller sees them)
  for (const p of q) {
    const turn = labelText(p.text + ' Ok.').attrs;
    assert.equal(turn.genre, 'chat');
    if (turn.genre !== 'chat') continue;
    const kind = turn.turns[0].kind;
    if (p.kind === 'trigger') assert.equal(kind, 'garden', p.request);
    else if (p.kind === 'probe') assert.equal(kind, 'probe', p.request);
    else assert.ok(kind !== 'garden' && kind !== 'probe', `${p.request} looks like ${kind}`);
  }
});

test('every fact is stated in the corpus and its statement answers the fact question', () => {
  const world = makeWorld();
  const stated = new Set<string>();
  for (const d of sample(N)) {
    if (d.attrs.genre === 'fact' && d.attrs.form === 'statements') for (const f of d.attrs.facts) stated.add(f);
  }
  const missing = world.facts.filter((f) => !stated.has(`${f.country}.${f.attribute}=${f.value}`));
  assert.deepEqual(missing, [], `facts never stated in ${N} documents`);
  // the corpus statement, read as a reply, gives the answer
  assert.equal(factAnswer(' The capital of Zorbia is Mellow.'), 'Mellow');
});
