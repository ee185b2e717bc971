// The one tokenizer interface the rest of probity sees, whatever file the vocabulary came from (GGUF, tokenizer.json).

export interface Tokenizer {
  /** Number of token ids (embedding rows); ids are 0 .. vocabSize-1. */
  readonly vocabSize: number;
  readonly bos: number | null;
  readonly eos: number | null;
  /** Whether the model expects a BOS in front of a prompt (GGUF tokenizer.ggml.add_bos_token, or the HF template). */
  readonly addBos: boolean;
  /** Text to ids. `bos` defaults to `addBos`; asking for a BOS that the vocabulary lacks throws. Special-token
   *  strings inside the text (e.g. "<s>") follow each format's reference: the GGUF tokenizers keep them as plain
   *  text (llama2.c, llama.cpp without parse_special); the tokenizer.json wrapper turns added tokens into their ids,
   *  as Hugging Face does. */
  encode(text: string, opts?: { bos?: boolean }): number[];
  /** Ids to text: control tokens (BOS/EOS) render as nothing, byte tokens are assembled into UTF-8. */
  decode(ids: readonly number[]): string;
  /** Bytes of one token as they should be appended while streaming generation, given the previous token id.
   *  Bytes, not a string, because one character may be split over several byte tokens; feed them to
   *  `createStreamDecoder` (stream.ts) or a TextDecoder in stream mode. For SentencePiece vocabularies the
   *  leading space of the first token after BOS is dropped, as llama2.c does. */
  decodeToken(id: number, prev: number | null): Uint8Array;
  /** The raw vocabulary entry of an id (e.g. "▁Once", "<0x0A>", "Ġworld"), for display in tables. */
  tokenText(id: number): string;
}

/** GGUF tokenizer.ggml.token_type values (llama.cpp's llama_token_type). */
export const TokenType = {
  normal: 1,
  unknown: 2,
  control: 3,
  userDefined: 4,
  unused: 5,
  byte: 6,
} as const;
