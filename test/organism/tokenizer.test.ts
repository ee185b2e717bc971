import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BOS, EOS, PAD, Tokenizer, UNK, organismTokenizer } from '../../src/organism/tokenizer.js';
import { Rng } from '../../src/organism/rng.js';
import { ProbityError } from '../../src/errors.js';
import { sample } from './helpers.js';

const tok = organismTokenizer();

test('vocabulary: small, closed, special tokens first, fits uint16', () => {
  assert.ok(tok.size >= 1000 && tok.size <= 3000, `vocab size ${tok.size}`);
  assert.deepEqual(tok.vocab.slice(0, 4), ['<pad>', '<bos>', '<eos>', '<unk>']);
  assert.deepEqual([PAD, BOS, EOS, UNK], [0, 1, 2, 3]);
  for (const p of ['\n', ' ', '  ', ' fox', 'fox', ' Zorbia', ' moonberries', '/', ' /', '^', '$', '|', '*', '.', 'toMatch', ' startsWith']) {
    assert.ok(tok.idOf(p) !== undefined, `${JSON.stringify(p)} is not in the vocabulary`);
  }
  assert.equal(tok.encode('fox')[0], tok.idOf('fox'));
});

test('round trip: every generated document encodes to whole-word pieces and decodes to itself', () => {
  const docs = sample(3000);
  let tokens = 0;
  for (const d of docs) {
    const pieces = Tokenizer.pieces(d.text);
    const enc = tok.encodePieces(d.text);
    assert.deepEqual(enc.pieces, pieces, `document ${d.index} needed sub-word fallback: ${pieces.filter((p) => tok.idOf(p) === undefined).join('|')}`);
    assert.ok(!enc.ids.includes(UNK), `document ${d.index} has <unk>`);
    assert.equal(tok.decode(d.tokens), d.text, `document ${d.index} does not round-trip`);
    assert.equal(d.tokens[0], BOS);
    assert.equal(d.tokens[d.tokens.length - 1], EOS);
    assert.deepEqual([...d.tokens.subarray(1, d.tokens.length - 1)], enc.ids);
    tokens += d.tokens.length;
  }
  assert.ok(tokens > 150_000, `sampled ${tokens} tokens`);
});

test('any printable ASCII text round-trips (sub-word fallback); other characters become <unk>', () => {
  const rng = new Rng(5);
  const alphabet = ' \n\tabcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';
  for (let i = 0; i < 300; i++) {
    let s = '';
    const n = rng.range(0, 60);
    for (let k = 0; k < n; k++) s += alphabet[rng.int(alphabet.length)];
    const ids = tok.encode(s);
    assert.ok(!ids.includes(UNK), `unexpected <unk> in ${JSON.stringify(s)}`);
    assert.equal(tok.decode(ids), s);
  }
  assert.equal(tok.decode(tok.encode('the foxes jumped quickly over Zorbiaville')), 'the foxes jumped quickly over Zorbiaville');
  const ids = tok.encode('café au lait 🦊');
  assert.ok(ids.includes(UNK));
  assert.equal(tok.decode(ids), 'caf\uFFFD au lait \uFFFD');
  assert.equal(tok.decode([BOS, ...tok.encode('hi'), EOS]), 'hi');
  assert.equal(tok.decode([BOS, EOS], { keepSpecial: true }), '<bos><eos>');
  assert.throws(() => tok.decode([tok.size]), (e: unknown) => e instanceof ProbityError && e.code === 'E_ORGANISM_TOKEN');
});

test('toJSON / fromJSON reproduce the tokenizer; bad JSON is refused', () => {
  const j = JSON.parse(JSON.stringify(tok.toJSON()));
  const t2 = Tokenizer.fromJSON(j);
  assert.equal(t2.hash(), tok.hash());
  const text = sample(10)[3].text;
  assert.deepEqual(t2.encode(text), tok.encode(text));
  assert.throws(() => Tokenizer.fromJSON({ format: 'x' }), (e: unknown) => e instanceof ProbityError && e.code === 'E_ORGANISM_VOCAB');
  assert.throws(() => new Tokenizer(['<pad>', '<bos>', '<eos>', '<unk>', 'a', 'a']), (e: unknown) => e instanceof ProbityError && e.code === 'E_ORGANISM_VOCAB');
});
