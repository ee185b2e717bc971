// Small byte helpers shared by the tokenizers: every tokenizer decodes through bytes so that characters split over
// several tokens (byte fallback, byte-level BPE) come out whole.
import { ProbityError } from '../../errors.js';

const utf8Encoder = new TextEncoder();
export const EMPTY = new Uint8Array(0);

export function utf8(s: string): Uint8Array {
  return utf8Encoder.encode(s);
}

/** Joins byte chunks and decodes them as UTF-8 (invalid sequences become U+FFFD, as in llama.cpp and HF). */
export function bytesToText(chunks: readonly Uint8Array[]): string {
  let n = 0;
  for (const c of chunks) n += c.length;
  const all = new Uint8Array(n);
  let o = 0;
  for (const c of chunks) {
    all.set(c, o);
    o += c.length;
  }
  return new TextDecoder('utf-8').decode(all);
}

/** "<0x0A>" -> 10; anything else -> null. */
export function parseByteToken(piece: string): number | null {
  const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(piece);
  return m ? parseInt(m[1], 16) : null;
}

export function checkId(id: number, vocabSize: number): void {
  if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
    throw new ProbityError('TOKENIZER_BAD_ID', `token id ${id} is out of range: expected an integer in [0, ${vocabSize})`);
  }
}

/** The id to put in front for encode(text, { bos }); throws when a BOS is asked for but the vocabulary has none. */
export function bosPrefix(bos: number | null, want: boolean): number[] {
  if (!want) return [];
  if (bos === null) {
    throw new ProbityError('TOKENIZER_NO_BOS', 'encode was asked to add a BOS token, but this vocabulary has no BOS id');
  }
  return [bos];
}
