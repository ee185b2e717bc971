// The organism's word-level tokenizer behind the models' Tokenizer interface, so the organism loads and runs like
// any other checkpoint (`tokenizer.organism.json` in its folder).
import fs from 'node:fs';
import type { Tokenizer as ModelTokenizer } from '../models/tokenizers/types.js';
import { BOS, EOS, SPECIAL_TOKENS, Tokenizer } from './tokenizer.js';

export const ORGANISM_TOKENIZER_FILE = 'tokenizer.organism.json';

export function asModelTokenizer(tok: Tokenizer): ModelTokenizer {
  const enc = new TextEncoder();
  const special = SPECIAL_TOKENS.length;
  return {
    vocabSize: tok.size,
    bos: BOS,
    eos: EOS,
    addBos: true,
    encode: (text, opts) => tok.encode(text, { bos: opts?.bos ?? true }),
    decode: (ids) => tok.decode(ids),
    decodeToken: (id) => (id < special ? new Uint8Array(0) : enc.encode(tok.vocab[id] ?? '')),
    tokenText: (id) => tok.vocab[id] ?? '',
  };
}

export function loadOrganismTokenizer(file: string): ModelTokenizer {
  return asModelTokenizer(Tokenizer.fromJSON(JSON.parse(fs.readFileSync(file, 'utf8'))));
}
