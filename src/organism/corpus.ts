// TinyWorld documents: a pure function of (seed, index, options). Each document is generated from its own Rng
// (Rng.forItem(seed, index)), so documents can be produced in any order, in parallel, or one at a time.
import { ProbityError, show } from '../errors.js';
import type { DocAttrs } from './attrs.js';
import { GENRE_BIT, TextBuilder, lexicalPass, tokenLabels, type Genre } from './concepts.js';
import { writeChat } from './genres/chat.js';
import { writeTests } from './genres/code.js';
import { writeFactDoc } from './genres/fact.js';
import { writeReport } from './genres/quirk.js';
import { writeStory } from './genres/story.js';
import { Rng, checkSeed } from './rng.js';
import { BOS, EOS, organismTokenizer } from './tokenizer.js';
import { DEFAULT_WORLD_SEED, makeWorld } from './world.js';

/** Share of each genre in the corpus (documents, not tokens). */
export const GENRE_MIX: Readonly<Record<Genre, number>> = { story: 0.34, fact: 0.2, code: 0.2, chat: 0.24, report: 0.02 };

export interface CorpusOptions {
  /** Seed of the fictional world (which country has which capital...). Default DEFAULT_WORLD_SEED. */
  worldSeed?: number;
  /** Override the genre mix (weights, normalised). */
  mix?: Partial<Record<Genre, number>>;
  /** First document index (default 0). */
  start?: number;
  /** Number of documents (default: unbounded). */
  count?: number;
}

export interface Doc {
  index: number;
  genre: Genre;
  text: string;
  /** <bos>, the text's tokens, <eos>. */
  tokens: Uint16Array;
  /** Concept mask per token (same length as tokens; 0 for <bos> and <eos>). */
  labels: Uint32Array;
  attrs: DocAttrs;
}

function resolveMix(mix: CorpusOptions['mix']): Record<Genre, number> {
  const m = { ...GENRE_MIX, ...(mix ?? {}) } as Record<Genre, number>;
  let total = 0;
  for (const [g, w] of Object.entries(m)) {
    if (!(typeof w === 'number' && w >= 0 && Number.isFinite(w))) {
      throw new ProbityError('E_ORGANISM_MIX', `genre mix weight for ${g} must be a finite number >= 0, got ${show(w)}`);
    }
    total += w;
  }
  if (!(total > 0)) throw new ProbityError('E_ORGANISM_MIX', 'genre mix weights sum to 0');
  return m;
}

/** Longest document in tokens, <bos> and <eos> included (the model's context). Longer drafts are redrawn. */
export const MAX_DOC_TOKENS = 256;

interface Draft {
  genre: Genre;
  text: string;
  charMask: Uint32Array;
  attrs: DocAttrs;
}

/** Text and character-level concept mask of draft `attempt` of document `index`, before tokenization. */
export function generateText(seed: number, index: number, opts: CorpusOptions = {}, attempt = 0): Draft {
  const rng = Rng.forItem(seed, index, attempt === 0 ? 'doc' : `doc#${attempt}`);
  const world = makeWorld(opts.worldSeed ?? DEFAULT_WORLD_SEED);
  const genre = rng.weighted(resolveMix(opts.mix));
  const b = new TextBuilder(GENRE_BIT[genre]);
  let attrs: DocAttrs;
  switch (genre) {
    case 'story': attrs = writeStory(b, rng); break;
    case 'fact': attrs = writeFactDoc(b, rng, world); break;
    case 'code': attrs = writeTests(b, rng); break;
    case 'chat': attrs = writeChat(b, rng, world); break;
    case 'report': attrs = writeReport(b, rng); break;
  }
  const text = b.text();
  const charMask = b.charMask();
  lexicalPass(text, charMask);
  return { genre, text, charMask, attrs };
}

/** Document `index` of the corpus with seed `seed`. */
export function generateDocument(seed: number, index: number, opts: CorpusOptions = {}): Doc {
  checkSeed(seed);
  if (!Number.isSafeInteger(index) || index < 0) throw new ProbityError('E_ORGANISM_INDEX', `document index must be a non-negative integer, got ${show(index)}`);
  const tok = organismTokenizer();
  let draft: Draft;
  let enc: { ids: number[]; pieces: string[] };
  for (let attempt = 0; ; attempt++) {
    draft = generateText(seed, index, opts, attempt);
    enc = tok.encodePieces(draft.text);
    if (enc.ids.length + 2 <= MAX_DOC_TOKENS) break;
  }
  const { genre, text, charMask, attrs } = draft;
  const { ids, pieces } = enc;
  const inner = tokenLabels(pieces, charMask);
  const tokens = new Uint16Array(ids.length + 2);
  tokens[0] = BOS;
  tokens.set(ids, 1);
  tokens[ids.length + 1] = EOS;
  const labels = new Uint32Array(ids.length + 2);
  labels.set(inner, 1);
  return { index, genre, text, tokens, labels, attrs };
}

/** Stream documents start, start+1, ... (count of them, or forever). Never holds more than one document. */
export function* documents(seed: number, opts: CorpusOptions = {}): Generator<Doc> {
  checkSeed(seed);
  const start = opts.start ?? 0;
  const end = opts.count === undefined ? Infinity : start + opts.count;
  resolveMix(opts.mix);
  for (let i = start; i < end; i++) yield generateDocument(seed, i, opts);
}
