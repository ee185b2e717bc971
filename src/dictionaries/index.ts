// Dictionaries: sparse autoencoders and transcoders (architectures, the Sae object, SAELens files, public formats
// (Gemma Scope, sparsify) in ./formats, training).
// Metrics and the activation store live in ./metrics and ./store.
export type { ArchitectureName, GraphCode, HostCode, InitContext, ParamSpec, SaeArchitecture, SaeConfig, TrainScalars } from './architectures/types.js';
export { architectureNames, getArchitecture, hasArchitecture, registerArchitecture } from './architectures/registry.js';
export { standard } from './architectures/standard.js';
export { topk } from './architectures/topk.js';
export { batchtopk } from './architectures/batchtopk.js';
export { jumprelu, jumpRelu, heaviside } from './architectures/jumprelu.js';
export { gated } from './architectures/gated.js';
export { normalizeConfig, Rng, Sae, type SaeConfigInput, type SaeInitOptions } from './sae.js';
export {
  checkAgainstModel,
  configFromSaeLens,
  configToSaeLens,
  hookWidth,
  loadSaeLens,
  saveSaeLens,
  shippedSaes,
  tensorsToSaeLens,
  SAE_CFG_FILENAME,
  SAE_WEIGHTS_FILENAME,
  type HookedModel,
} from './saelens.js';
export {
  learningRate,
  sparsityCoefficientAt,
  trainSae,
  TOKENS_SINCE_FIRED,
  type Batch,
  type BatchSource,
  type TrainProgress,
  type TrainResult,
  type TrainSaeOptions,
} from './train/trainer.js';
export { loadCheckpoint, saveCheckpoint, type Checkpoint, type CheckpointState } from './train/checkpoint.js';
export {
  detectSaeFormat,
  gemmaScopeFile,
  isPickle,
  loadGemmaScope,
  loadSae,
  loadSparsify,
  NpzFile,
  parseNpy,
  parseNpz,
  PICKLE_EXTENSIONS,
  readNpz,
  sparsifyHook,
  GEMMA_SCOPE_FILES,
  SPARSIFY_CFG_FILENAME,
  SPARSIFY_WEIGHTS_FILENAME,
  type FormatLoadOptions,
  type LoadSaeOptions,
  type NpyArray,
  type NpyDtype,
  type SaeFormat,
} from './formats/index.js';
