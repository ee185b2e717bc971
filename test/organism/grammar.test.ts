// The grammar checker (src/organism/grammar.ts) is the steering benchmark's fluency metric, so it must be right in
// both directions: what the corpus generator writes passes, and the ways a steered model degrades (word salad,
// repeats, a wrong word class, truncation, broken code lines) fail. It must also never throw on model output.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { ChatAttrs } from '../../src/organism/attrs.js';
import { documents, type Doc } from '../../src/organism/corpus.js';
import { STORY_WORDS } from '../../src/organism/genres/story.js';
import { checkGrammar, type GrammarCheck } from '../../src/organism/grammar.js';
import { cutReply, sentences } from '../../src/organism/labeller.js';
import { ANIMALS, COLOURS, lexiconWords } from '../../src/organism/vocab.js';
import { Mulberry32 } from '../../src/util/random.js';

type Kind = 'story' | 'code';
interface Sample {
  what: 'story doc' | 'code doc' | 'chat story reply' | 'chat code reply';
  kind: Kind;
  text: string;
}

/** The assistant replies of a chat document with their turn kinds (turns found as the labeller finds them). */
function chatReplies(d: Doc): { kind: string; reply: string }[] {
  const starts = [...d.text.matchAll(/(?:^|\n)User: /g)].map((m) => m.index! + (m[0].startsWith('\n') ? 1 : 0));
  return (d.attrs as ChatAttrs).turns.map((turn, i) => {
    const end = i + 1 < starts.length ? starts[i + 1] - 1 : d.text.length;
    const a = d.text.indexOf(' Assistant: ', starts[i]) + ' Assistant: '.length;
    return { kind: turn.kind, reply: d.text.slice(a, end).trim() };
  });
}

let cached: Sample[] | null = null;
/** Story and code documents and the story and code replies of chat documents, from a slice of one corpus. */
function generated(): Sample[] {
  if (cached) return cached;
  const out: Sample[] = [];
  for (const d of documents(11, { start: 4000, count: 1500 })) {
    if (d.genre === 'story') out.push({ what: 'story doc', kind: 'story', text: d.text });
    if (d.genre === 'code') out.push({ what: 'code doc', kind: 'code', text: d.text });
    if (d.genre !== 'chat') continue;
    for (const r of chatReplies(d)) {
      if (r.kind === 'story') out.push({ what: 'chat story reply', kind: 'story', text: r.reply });
      if (r.kind === 'code') out.push({ what: 'chat code reply', kind: 'code', text: r.reply });
    }
  }
  return (cached = out);
}

/** The invariants every result must keep, whatever the input. */
function assertConsistent(r: GrammarCheck, input: string): void {
  const where = `on ${JSON.stringify(input.slice(0, 120))}: ${JSON.stringify(r)}`;
  assert.ok(Number.isInteger(r.units) && Number.isInteger(r.invalid), where);
  assert.ok(r.units >= r.invalid && r.invalid >= 0, where);
  assert.equal(r.valid, r.units >= 1 && r.invalid === 0, where);
  assert.equal(r.firstInvalid === null, r.invalid === 0, where);
}

test('>= 99.5% of generated stories, code documents and chat story/code replies are grammatical', (ctx) => {
  const tally = new Map<string, { n: number; ok: number; okAny: number; units: number; bad: string[] }>();
  for (const s of generated()) {
    const t = tally.get(s.what) ?? { n: 0, ok: 0, okAny: 0, units: 0, bad: [] };
    const r = checkGrammar(s.text, s.kind);
    assertConsistent(r, s.text);
    t.n++;
    t.units += r.units;
    if (r.valid) t.ok++;
    else t.bad.push(`${r.firstInvalid} in ${JSON.stringify(s.text.slice(0, 200))}`);
    if (checkGrammar(s.text).valid) t.okAny++; // 'any' must tell the two apart by itself
    tally.set(s.what, t);
  }
  assert.equal(tally.size, 4, `expected four kinds of sample, got ${[...tally.keys()]}`);
  for (const [what, c] of tally) ctx.diagnostic(`${what}: ${c.ok}/${c.n} valid (${c.okAny} under 'any'), ${c.units} units`);
  for (const [what, c] of tally) {
    assert.ok(c.n >= 50, `only ${c.n} ${what} samples`);
    assert.ok(c.units >= c.n * 4, `${what}: ${c.units} units in ${c.n} texts; the splitter is not splitting`);
    assert.ok(c.ok >= c.n * 0.995, `${what}: ${c.ok} of ${c.n} valid, e.g.\n${c.bad.slice(0, 3).join('\n')}`);
    assert.ok(c.okAny >= c.n * 0.995, `${what}: ${c.okAny} of ${c.n} valid under kind 'any'`);
  }
});

// ---------------------------------------------------------------- corruptions

const stories = () => generated().filter((s) => s.kind === 'story').map((s) => s.text);
const codeReplies = () => generated().filter((s) => s.what === 'chat code reply').map((s) => s.text);
const isWord = (w: string) => /^[A-Za-z]+$/.test(w);

/** Apply a corruption to many valid texts; return the share judged invalid and a counterexample. */
function caught(texts: string[], corrupt: (t: string, rng: Mulberry32) => string | null, kind: Kind): { rate: number; n: number; miss?: string } {
  const rng = new Mulberry32(12345);
  let n = 0;
  let bad = 0;
  let miss: string | undefined;
  for (const t of texts) {
    const c = corrupt(t, rng);
    if (c === null || c === t) continue;
    n++;
    const r = checkGrammar(c, kind);
    assertConsistent(r, c);
    if (!r.valid) bad++;
    else miss ??= c;
  }
  return { rate: n ? bad / n : 0, n, miss };
}

/** Rewrite the words of one random sentence of a story. */
function inSentence(t: string, rng: Mulberry32, edit: (ws: string[]) => string[] | null): string | null {
  const spans = sentences(t);
  const [a, b] = spans[rng.int(spans.length)];
  const ws = edit(t.slice(a, b).split(' '));
  return ws ? t.slice(0, a) + ws.join(' ') + t.slice(b) : null;
}

test('two words swapped in a sentence make a story invalid', (ctx) => {
  const res = caught(stories(), (t, rng) => inSentence(t, rng, (ws) => {
    const pairs = ws.flatMap((w, i) => (i + 1 < ws.length && isWord(w) && isWord(ws[i + 1]) && w !== ws[i + 1] ? [i] : []));
    if (pairs.length === 0) return null;
    const i = pairs[rng.int(pairs.length)];
    return [...ws.slice(0, i), ws[i + 1], ws[i], ...ws.slice(i + 2)];
  }), 'story');
  ctx.diagnostic(`caught ${res.n * res.rate} of ${res.n}`);
  assert.ok(res.n >= 100 && res.rate >= 0.99, `caught ${res.rate} of ${res.n}; missed ${res.miss}`);
});

test('a repeated word ("the the") or a repeated sentence makes a story invalid', (ctx) => {
  const word = caught(stories(), (t, rng) => inSentence(t, rng, (ws) => {
    const i = rng.int(ws.length);
    return isWord(ws[i]) ? [...ws.slice(0, i + 1), ws[i], ...ws.slice(i + 1)] : null;
  }), 'story');
  ctx.diagnostic(`repeated word: caught ${word.n * word.rate} of ${word.n}`);
  assert.ok(word.n >= 100 && word.rate >= 0.99, `caught ${word.rate} of ${word.n}; missed ${word.miss}`);
  const sentence = caught(stories(), (t, rng) => {
    const spans = sentences(t);
    const [a, b] = spans[rng.int(spans.length)];
    return t.slice(0, b) + ' ' + t.slice(a, b) + t.slice(b);
  }, 'story');
  assert.equal(sentence.rate, 1, `missed ${sentence.miss}`);
});

test('a slot filled with the wrong word class (an animal where a colour goes) makes a story invalid', () => {
  const colour = new RegExp(`\\b(?:${COLOURS.join('|')})\\b`);
  const res = caught(stories(), (t, rng) => (colour.test(t) ? t.replace(colour, ANIMALS[rng.int(ANIMALS.length)]) : null), 'story');
  assert.ok(res.n >= 100, `only ${res.n} stories with a colour`);
  assert.equal(res.rate, 1, `missed ${res.miss}`);
});

test('a story cut in the middle of its last sentence is invalid', () => {
  const res = caught(stories(), (t, rng) => {
    const spans = sentences(t);
    const [a, b] = spans[spans.length - 1];
    const spaces = [...t.slice(a, b).matchAll(/ /g)].map((m) => a + m.index!);
    return spaces.length ? t.slice(0, spaces[rng.int(spaces.length)]) : null;
  }, 'story');
  assert.ok(res.n >= 100, `only ${res.n} cuttable stories`);
  assert.equal(res.rate, 1, `missed ${res.miss}`);
});

test('random vocabulary words and the empty string are invalid', () => {
  const vocab = [...new Set([...lexiconWords(), ...STORY_WORDS.split(/[^A-Za-z]+/).filter(Boolean)])];
  const rng = new Mulberry32(7);
  for (let i = 0; i < 300; i++) {
    const n = 2 + rng.int(10);
    const ws = Array.from({ length: n }, () => vocab[rng.int(vocab.length)]);
    const text = ws.join(' ') + '.';
    const r = checkGrammar(text, 'story');
    assert.equal(r.valid, false, `word salad passed: ${text}`);
    assertConsistent(r, text);
  }
  for (const empty of ['', '  \n ']) {
    for (const kind of ['story', 'code', 'any'] as const) {
      const r = checkGrammar(empty, kind);
      assert.deepEqual(r, { valid: false, units: 0, invalid: 0, firstInvalid: null });
    }
  }
});

test('agreement inside a sentence: pronouns, {kind} and the hero share a gender; adjectives follow the tone', () => {
  // Pairs that differ in one word: the first is one the generator can write, the second is not.
  const pairs: [string, string][] = [
    ['In her hand, she held a red kite.', 'In her hand, he held a red kite.'],
    ['Lily was a kind little girl.', 'Tom was a kind little girl.'],
    ['That night, Pip cried until he fell asleep.', 'That night, Pip cried until she fell asleep.'],
    ['Mia smiled at Tom, and he felt proud.', 'Mia smiled at Tom, and he felt furious.'],
    ['Once upon a time, there was an owl called Dot.', 'Once upon a time, there was a owl called Dot.'],
  ];
  for (const [good, bad] of pairs) {
    assert.equal(checkGrammar(good, 'story').valid, true, good);
    assert.equal(checkGrammar(bad, 'story').valid, false, bad);
  }
  // A chat story may open with a lead, but only as its first sentence.
  assert.equal(checkGrammar('Sure! Pip looked around.', 'story').valid, true);
  assert.equal(checkGrammar('Pip looked around. Sure!', 'story').valid, false);
});

test('code replies with a broken line are invalid', (ctx) => {
  const replies = codeReplies();
  // A check line repeated, a closing line dropped between blocks, the text cut inside a line: each always breaks the
  // grammar (a text cut between lines is a valid prefix, tested below).
  const always: Record<string, (t: string, rng: Mulberry32) => string | null> = {
    'repeated check': (t, rng) => {
      const ls = t.split('\n');
      const checks = ls.flatMap((l, i) => (l.startsWith('  expect(') ? [i] : []));
      const i = checks[rng.int(checks.length)];
      return [...ls.slice(0, i + 1), ls[i], ...ls.slice(i + 1)].join('\n');
    },
    'dropped "});"': (t, rng) => {
      const ls = t.split('\n');
      const closes = ls.flatMap((l, i) => (l === '});' && i < ls.length - 1 ? [i] : []));
      if (closes.length === 0) return null;
      const i = closes[rng.int(closes.length)];
      return [...ls.slice(0, i), ...ls.slice(i + 1)].join('\n');
    },
    'cut mid-line': (t, rng) => {
      // A cut that leaves part of a line (more than its indentation) and not all of it.
      const cuts = [...t].flatMap((_, p) => {
        const line = t.slice(t.lastIndexOf('\n', p - 1) + 1, p);
        return t[p] !== '\n' && line.trim() !== '' ? [p] : [];
      });
      return t.slice(0, cuts[rng.int(cuts.length)]);
    },
    'unknown function': (t) => t.replace(/const s = [a-z]+\(/, 'const s = hello('),
    'wrong argument class': (t) => t.replace(/const s = ([a-z]+)\("[A-Za-z]+"/, 'const s = $1("cloudy"'), // no first argument is a weather
  };
  for (const [what, f] of Object.entries(always)) {
    const res = caught(replies, f, 'code');
    assert.ok(res.n >= 20, `${what}: only ${res.n} samples`);
    assert.equal(res.rate, 1, `${what}: missed ${res.miss}`);
  }
  // One character dropped anywhere: occasionally harmless ("hat" -> "at" is a word a check may use), nearly always not.
  const drop = caught(replies, (t, rng) => {
    const i = rng.int(t.length);
    return t[i] === '\n' ? null : t.slice(0, i) + t.slice(i + 1);
  }, 'code');
  ctx.diagnostic(`dropped character: caught ${drop.n * drop.rate} of ${drop.n}`);
  assert.ok(drop.n >= 50 && drop.rate >= 0.95, `caught ${drop.rate} of ${drop.n}; missed ${drop.miss}`);
});

test('validity is prefix-closed at unit boundaries: a text cut after a full sentence or line stays valid', () => {
  let n = 0;
  for (const s of generated().slice(0, 300)) {
    const cuts = s.kind === 'story'
      ? sentences(s.text).map(([, b]) => b)
      : [...s.text.matchAll(/\n/g)].map((m) => m.index!);
    for (const c of cuts) {
      const r = checkGrammar(s.text.slice(0, c), s.kind);
      assert.ok(r.valid, `${s.what} cut at ${c} is invalid at ${JSON.stringify(r.firstInvalid)}: ${JSON.stringify(s.text.slice(0, c))}`);
      n++;
    }
  }
  assert.ok(n >= 1000, `only ${n} prefixes`);
});

// ---------------------------------------------------------------- model outputs and fuzz

test('real model outputs (models/organism/eval.json examples) get consistent counts', (t) => {
  const file = fileURLToPath(new URL('../../../models/organism/eval.json', import.meta.url));
  if (!fs.existsSync(file)) return t.skip(`${file} is not there`);
  const examples = JSON.parse(fs.readFileSync(file, 'utf8')).examples as Record<string, { prompt: string; completion: string }[]>;
  let n = 0;
  for (const [group, list] of Object.entries(examples)) {
    for (const { prompt, completion } of list) {
      // Chat completions are cut at the next user turn; an unprompted code completion continues its header.
      const text = prompt.includes('Assistant:') ? cutReply(completion) : prompt.startsWith('//') ? prompt + completion : completion;
      for (const kind of ['story', 'code', 'any'] as const) assertConsistent(checkGrammar(text, kind), `${group}: ${text}`);
      n++;
    }
  }
  assert.ok(n >= 10, `only ${n} examples`);
});

test('never throws on arbitrary strings', () => {
  const rng = new Mulberry32(2024);
  const pieces = [...generated().slice(0, 40).flatMap((s) => s.text.split(/(?<=[ \n(),."])/)), '\n', ' ', '', '"', '/', '{', '}', '\\'];
  for (let i = 0; i < 3000; i++) {
    let text = '';
    const n = rng.int(40);
    for (let j = 0; j < n; j++) {
      // Mostly real pieces in a wrong order (plausible model output), sometimes raw characters, including non-ASCII.
      text += rng.next() < 0.7 ? pieces[rng.int(pieces.length)] : String.fromCharCode(rng.int(rng.next() < 0.9 ? 128 : 0x3000));
    }
    for (const kind of ['story', 'code', 'any'] as const) assertConsistent(checkGrammar(text, kind), text);
  }
});
