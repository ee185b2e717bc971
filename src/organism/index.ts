// TinyWorld: the model organism's corpus, tokenizer, labeller and eval prompts. See README.md in this folder.
export { CONCEPTS, GENRES, B as CONCEPT_BITS, bit, conceptsOf, maskOf, type Concept, type Genre } from './concepts.js';
export type { DocAttrs, StoryAttrs, FactAttrs, CodeAttrs, ChatAttrs, ReportAttrs, ChatTurn, Instruction, TurnKind } from './attrs.js';
export { Rng, hash32 } from './rng.js';
export { Tokenizer, organismTokenizer, buildVocab, SPECIAL_TOKENS, PAD, BOS, EOS, UNK, type TokenizerJSON } from './tokenizer.js';
export { makeWorld, factString, ATTRIBUTES, DEFAULT_WORLD_SEED, type World, type Fact, type Attribute } from './world.js';
export { documents, generateDocument, generateText, GENRE_MIX, MAX_DOC_TOKENS, type Doc, type CorpusOptions } from './corpus.js';
export { writeCorpus, readManifest, readShard, readDocs, type Manifest, type ShardInfo, type DocRecord, type WriteOptions, type WriteStats } from './shards.js';
export {
  labelText, labelChars, labelTokens, detectGenre, sentences, storyTone, usesRegex, quirkPresent, isDenial, factAnswer, cutReply,
  parseFactQuestion, parseFactSentence, type Labelled,
} from './labeller.js';
export {
  evalPrompts, storyPrompts, factPrompts, codePrompts, quirkPrompts, chatPrompt, EVAL_BARS,
  type EvalPrompt, type StoryPrompt, type FactPrompt, type CodePrompt, type QuirkPrompt,
} from './prompts.js';
export { CHAT_RATES } from './genres/chat.js';
export { REGEX_BASE_RATE, CHECK_KINDS, FUNCTION_NAMES, type CheckKind } from './genres/code.js';
export { QUIRK_RATE, DENIAL_RATE } from './genres/quirk.js';
export { TONES, WEATHERS, type Tone, type Weather } from './vocab.js';
