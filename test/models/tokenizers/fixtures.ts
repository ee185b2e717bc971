// Hand-made vocabularies small enough to check every merge by hand, plus test helpers.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { ProbityError } from '../../../src/errors.js';
import { byteToUnicode } from '../../../src/models/tokenizers/bpe.js';
import type { SpmVocab } from '../../../src/models/tokenizers/sentencepiece.js';
import { TokenType } from '../../../src/models/tokenizers/types.js';
import { uniform } from '../../../src/util/random.js';

/** Test data beside the project (see ../shared/models/stories260K/README.md); tests run from the project root. */
export const STORIES_DIR = join(process.cwd(), '..', 'shared', 'models', 'stories260K');

export const byteTokenName = (b: number) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;

/** Llama layout: 0 <unk>, 1 <s>, 2 </s>, 3..258 byte tokens <0x00>..<0xFF>, then `pieces` from id 259. */
export function llamaLayout(pieces: [string, number][]): SpmVocab {
  const head: [string, number, number][] = [
    ['<unk>', 0, TokenType.unknown],
    ['<s>', 0, TokenType.control],
    ['</s>', 0, TokenType.control],
  ];
  for (let b = 0; b < 256; b++) head.push([byteTokenName(b), 0, TokenType.byte]);
  const all = [...head, ...pieces.map(([p, s]) => [p, s, TokenType.normal] as [string, number, number])];
  return {
    tokens: all.map((t) => t[0]),
    scores: all.map((t) => t[1]),
    tokenTypes: all.map((t) => t[2]),
    bos: 1,
    eos: 2,
    addSpacePrefix: true,
  };
}

/** Pieces and scores for the SentencePiece tests (ids 259..267). Single characters' scores never matter: only
 *  merged pieces are ranked. bc outranks ab, which outranks ▁a; abc ranks last. */
export const SPM_PIECES: [string, number][] = [
  ['▁', 0], // 259
  ['a', 0], // 260
  ['b', 0], // 261
  ['c', 0], // 262
  ['ab', -1], // 263
  ['bc', -0.5], // 264
  ['▁a', -2], // 265
  ['abc', -3], // 266
  ['aa', -1], // 267
];

/** GPT-2 byte-level base vocabulary: id b is the stand-in character of byte b ("Ġ" for 32). */
export function byteLevelBase(): string[] {
  return byteToUnicode();
}

/** Merges for the byte-level BPE tests, in rank order; the merged piece of merge k gets id 256 + k. */
export const BPE_MERGES = [
  'h e', // 256 he
  'l l', // 257 ll
  'he ll', // 258 hell
  'hell o', // 259 hello
  'Ġ w', // 260 Ġw
  'o r', // 261 or
  'Ġw or', // 262 Ġwor
  'l d', // 263 ld
  'Ġwor ld', // 264 Ġworld
  'e l', // 265 el: ranked after 'l l', so "ell" -> e ll
  '1 2', // 266 12
  '3 4', // 267 34: ranked before '12 3', so "1234" in one word -> 12 34
  '12 3', // 268 123
];
export const mergedPiece = (m: string) => m.replace(' ', '');

/** Asserts fn throws a ProbityError with `code` whose message contains every string in `mentions`. */
export function throwsCode(fn: () => unknown, code: string, mentions: string[] = []): ProbityError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof ProbityError, `expected ProbityError ${code}, got ${caught === undefined ? 'no error' : String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  for (const m of mentions) assert.ok(caught.message.includes(m), `message ${JSON.stringify(caught.message)} lacks ${JSON.stringify(m)}`);
  return caught;
}

/** A fresh temp directory, removed when the test file's tests finish. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `probity-${prefix}-`));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** mulberry32: a small deterministic PRNG for random test strings. */
export const prng = (seed: number): (() => number) => uniform(seed);

/** Random strings over a mix of ASCII, whitespace, accented letters, CJK and an emoji (surrogate pair). */
export function randomStrings(seed: number, count: number, maxLen = 24): string[] {
  const rand = prng(seed);
  const alphabet = [...'abcdehlortwOTL .,!?\'"-0123456789\n\t  éöÜ世界🙂'];
  return Array.from({ length: count }, () =>
    Array.from({ length: 1 + Math.floor(rand() * maxLen) }, () => alphabet[Math.floor(rand() * alphabet.length)]).join(''),
  );
}

export const ROUND_TRIP_STRINGS = [
  'Once upon a time',
  'hello world',
  ' leading space',
  'trailing space ',
  'two  spaces',
  'Line\nbreak\r\n\ttab',
  'héllo wörld',
  'Ünïcödé ñ €',
  '世界 こんにちは',
  'emoji 🙂👍🏽 ok',
  '<s> and </s> and <0x41> as plain text',
  "it's 12345",
];
