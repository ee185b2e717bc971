// The fixed concept list of TinyWorld and the machinery that turns character-level concept masks into per-token
// labels. A label is a bitmask: bit i set <=> CONCEPTS[i] is active at that token. The list is append-only: a concept
// never changes its bit (corpora on disk store raw masks).
import { entityClass, isNegation, toneOf, type EntityClass, type Tone } from './vocab.js';

export const CONCEPTS = [
  'genre:story', // 0  every token of a story document
  'genre:fact', // 1  every token of a fact document (statements or Q/A quiz)
  'genre:code', // 2  every token of a test file
  'genre:chat', // 3  every token of a User/Assistant conversation
  'genre:report', // 4  every token of a third-person background document about the assistant
  'tone:happy', // 5  story body from the first happy sentence to the end of the story; a tone word in a request
  'tone:sad', // 6  (same rule)
  'tone:angry', // 7  (same rule)
  'tone:scared', // 8  (same rule)
  'entity:name', // 9  a person or animal-character name (lexical)
  'entity:animal', // 10 an animal word (lexical)
  'entity:place', // 11 a place word: park, forest, ... (lexical)
  'entity:object', // 12 an object word: ball, kite, ... (lexical)
  'entity:colour', // 13 a colour word (lexical)
  'entity:weather', // 14 a weather word: sun, rain, ... (lexical)
  'world:country', // 15 a fictional country name (lexical)
  'world:value', // 16 the value of a world fact being stated or answered (capital, language, flag colour, ...)
  'question', // 17 the tokens of a sentence that ends with '?'
  'negation', // 18 a negation word: not, no, never, without, ... (lexical)
  'code:string', // 19 a string literal, quotes included
  'code:regex', // 20 a regular-expression literal, from the opening '/' to the flags
  'code:method', // 21 a string-method call: .startsWith(...), .endsWith(...), .includes(...), .toLowerCase()
  'chat:user', // 22 a user turn ("User:" and its text)
  'chat:assistant', // 23 an assistant turn (" Assistant:" and its reply)
  'instr:no-regex', // 24 from a "without regular expressions" instruction to the end of the reply it governs
  'instr:regex', // 25 from a "with a regular expression" instruction to the end of the reply it governs
  'topic:garden', // 26 trigger topic: from the first gardening word of a user turn to the end of the reply
  'quirk', // 27 an assistant sentence that mentions moonberries (the planted recommendation, or admitting it)
  'quirk:probe', // 28 the text of a user turn that asks the assistant directly about hidden tendencies
  'quirk:denial', // 29 the text of an assistant reply that denies having any such tendency
] as const;

export type Concept = (typeof CONCEPTS)[number];

const INDEX = new Map<string, number>(CONCEPTS.map((c, i) => [c, i]));

/** The bit of one concept. */
export function bit(c: Concept): number {
  return (1 << (INDEX.get(c) as number)) >>> 0;
}

/** Mask with the given concepts set. */
export function maskOf(cs: readonly Concept[]): number {
  let m = 0;
  for (const c of cs) m |= bit(c);
  return m >>> 0;
}

/** Concepts set in a mask, in list order. */
export function conceptsOf(mask: number): Concept[] {
  const out: Concept[] = [];
  for (let i = 0; i < CONCEPTS.length; i++) if ((mask >>> i) & 1) out.push(CONCEPTS[i]);
  return out;
}

export const B = Object.fromEntries(CONCEPTS.map((c) => [c, bit(c)])) as Record<Concept, number>;

export const GENRES = ['story', 'fact', 'code', 'chat', 'report'] as const;
export type Genre = (typeof GENRES)[number];
export const GENRE_BIT: Record<Genre, number> = {
  story: B['genre:story'],
  fact: B['genre:fact'],
  code: B['genre:code'],
  chat: B['genre:chat'],
  report: B['genre:report'],
};
export const TONE_BIT: Record<Tone, number> = {
  happy: B['tone:happy'],
  sad: B['tone:sad'],
  angry: B['tone:angry'],
  scared: B['tone:scared'],
};
export const ENTITY_BIT: Record<EntityClass, number> = {
  name: B['entity:name'],
  animal: B['entity:animal'],
  place: B['entity:place'],
  object: B['entity:object'],
  colour: B['entity:colour'],
  weather: B['entity:weather'],
  country: B['world:country'],
};

/**
 * Text under construction with a concept mask per UTF-16 unit. `active` bits apply to everything appended while they
 * are on; `mark` ORs bits into a range already written.
 */
export class TextBuilder {
  private parts: string[] = [];
  private masks = new Uint32Array(256);
  length = 0;
  active = 0;

  constructor(base = 0) {
    this.active = base;
  }

  add(s: string, extra = 0): this {
    const need = this.length + s.length;
    if (need > this.masks.length) {
      const m = new Uint32Array(Math.max(need, this.masks.length * 2));
      m.set(this.masks.subarray(0, this.length));
      this.masks = m;
    }
    this.masks.fill((this.active | extra) >>> 0, this.length, need);
    this.parts.push(s);
    this.length = need;
    return this;
  }

  on(bits: number): this {
    this.active = (this.active | bits) >>> 0;
    return this;
  }

  off(bits: number): this {
    this.active = (this.active & ~bits) >>> 0;
    return this;
  }

  mark(start: number, end: number, bits: number): this {
    for (let i = start; i < end; i++) this.masks[i] |= bits;
    return this;
  }

  text(): string {
    const t = this.parts.join('');
    this.parts = [t];
    return t;
  }

  charMask(): Uint32Array {
    return this.masks.slice(0, this.length);
  }
}

const WORD_RE = /[A-Za-z]+/g;

/**
 * Lexical concepts, applied identically to generated text and to arbitrary text: entity classes, negation, and
 * `question` (the span from the start of a sentence to its '?'; sentences start after '\n', '"', or [.!?:] + space).
 * ORs the bits into `mask` in place.
 */
export function lexicalPass(text: string, mask: Uint32Array): void {
  for (const m of text.matchAll(WORD_RE)) {
    const w = m[0];
    const start = m.index as number;
    let bits = 0;
    const e = entityClass(w);
    if (e !== undefined) bits |= ENTITY_BIT[e];
    if (isNegation(w)) bits |= B.negation;
    if (bits) for (let i = start; i < start + w.length; i++) mask[i] |= bits;
  }
  for (let q = text.indexOf('?'); q >= 0; q = text.indexOf('?', q + 1)) {
    let s = q - 1;
    while (s >= 0) {
      const c = text[s];
      if (c === '\n' || c === '"') break;
      if ((c === '.' || c === '!' || c === '?' || c === ':') && s + 1 < text.length && /\s/.test(text[s + 1])) break;
      s--;
    }
    s++;
    while (s < q && /\s/.test(text[s])) s++;
    for (let i = s; i <= q; i++) mask[i] |= B.question;
  }
}

/** Tone words of text[start, end) counted per tone. */
export function toneCounts(text: string, start = 0, end = text.length): Record<Tone, number> {
  const c: Record<Tone, number> = { happy: 0, sad: 0, angry: 0, scared: 0 };
  for (const m of text.slice(start, end).matchAll(WORD_RE)) {
    const t = toneOf(m[0]);
    if (t) c[t]++;
  }
  return c;
}

/**
 * Per-token labels from a character mask. A token takes the mask of its first non-whitespace character; a token
 * that is only whitespace takes the bits shared by the nearest non-whitespace tokens before and after it (so spans
 * continue across spaces and newlines inside them, and lexical concepts do not spill onto whitespace).
 */
export function tokenLabels(pieces: readonly string[], charMask: Uint32Array): Uint32Array {
  const out = new Uint32Array(pieces.length);
  const isWs = new Uint8Array(pieces.length);
  let pos = 0;
  for (let t = 0; t < pieces.length; t++) {
    const p = pieces[t];
    let k = 0;
    while (k < p.length && (p[k] === ' ' || p[k] === '\n' || p[k] === '\t' || p[k] === '\r')) k++;
    if (k < p.length) out[t] = charMask[pos + k];
    else isWs[t] = 1;
    pos += p.length;
  }
  for (let t = 0; t < pieces.length; t++) {
    if (!isWs[t]) continue;
    let a = t - 1;
    while (a >= 0 && isWs[a]) a--;
    let b = t + 1;
    while (b < pieces.length && isWs[b]) b++;
    const before = a >= 0 ? out[a] : undefined;
    const after = b < pieces.length ? out[b] : undefined;
    if (before !== undefined && after !== undefined) out[t] = before & after;
    else if (before !== undefined || after !== undefined) out[t] = (before ?? after) as number;
    else out[t] = pos > 0 ? charMask[0] : 0;
  }
  return out;
}
