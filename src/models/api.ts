// probity/models: load a model (GGUF file, Hugging Face folder, or a shipped name), run it with TransformerLens hook
// names, cache activations, intervene, generate. The public entry point of this area (package.json `exports`).
export { loadModel, listShipped, shippedModelDir, type LoadOptions } from './load.js';
export { Model, type ForwardOptions, type ForwardResult, type KVCache } from './model.js';
export { generate, type GenerateOptions, type Generation } from './generate.js';
export { sample, seededRandom, logSoftmax, argmax, tokenLogprob, type SamplingOptions, type TokenLogprob } from './sampling.js';
export { hookNames, checkHookName } from './hooks/names.js';
export type { Intervention, InterventionMap } from './hooks/interventions.js';
export type { TransformerSpec } from './spec.js';
export type { Tokenizer } from './tokenizers/types.js';
export { NDArray } from '../engine/ndarray.js';
