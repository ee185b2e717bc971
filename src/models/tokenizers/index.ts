export type { Tokenizer } from './types.js';
export { TokenType } from './types.js';
export { createStreamDecoder, type StreamDecoder } from './stream.js';
export { fromGgufVocab, SentencePieceTokenizer, type SpmVocab } from './sentencepiece.js';
export { bpeFromGgufVocab, ByteLevelBpeTokenizer, type BpeVocab } from './bpe.js';
export { tokenizerFromGgufMetadata } from './gguf-vocab.js';
export { loadHfTokenizer, hfTokenizerFromJson, type HfTokenizerOptions } from './hf-tokenizer-json.js';
