// The contract every SAE architecture file fulfils (one file per architecture, SAELens-style). An architecture is a
// set of graph fragments over engine tensors: parameters, encode, decode, training loss. The trainer and the metrics
// never see which architecture they run; the registry maps names to these objects.
// Dims: B batch, D d_in, S d_sae, K k (TopK-style), Do d_out (transcoders; = D for SAEs).
//
// Parameter-name conventions every architecture keeps (Sae relies on them for initialisation and scale folding):
//   W_encT [S, D]  encoder rows, one per latent (SAELens stores the transpose W_enc [D, S])
//   W_dec  [S, Do] decoder rows
//   b_dec  [Do]    decoder bias (subtracted from the input first when applyBDecToInput)
// Input scale s_in multiplies W_encT when folded; output scale s_out divides W_dec and b_dec. Every other parameter
// (biases of the latents, thresholds, r_mag) acts on pre-activations and is scale-free.
import type { Tensor } from '../../engine/graph/graph.js';
import type { SparseSums } from './topk-core.js';

export type ArchitectureName = 'standard' | 'topk' | 'batchtopk' | 'jumprelu' | 'gated';

export interface SaeConfig {
  architecture: ArchitectureName;
  dIn: number;
  dSae: number;
  /** Output width; equals dIn unless this is a transcoder. */
  dOut: number;
  /** TopK / BatchTopK: active latents per token (BatchTopK: on average over the batch). */
  k?: number;
  /** Sparsity penalty weight: L1 (standard, gated) or L0 (jumprelu). The trainer may warm it up. */
  sparsityCoefficient?: number;
  /** JumpReLU: width of the rectangle kernel for the threshold's pseudo-derivative (Rajamanoharan et al. 2024). */
  bandwidth?: number;
  /** JumpReLU: initial threshold (default 0.001, as SAELens's jumprelu_init_threshold). */
  initThreshold?: number;
  /** TopK / BatchTopK: AuxK latents and weight for dead-latent revival (Gao et al. 2024). */
  auxK?: number;
  auxKCoefficient?: number;
  /**
   * TopK training only: how the k latents are chosen in the training step (topk-select.ts). 'exact' is the float32
   * definition; 'int8' ranks with an int8 GEMM and re-scores `topkCandidates` latents exactly; 'auto' (default) is
   * int8 for wide SAEs, where it is faster. Encoding, evaluation and saved weights are always float32 and exact.
   */
  topkSelection?: 'exact' | 'int8' | 'auto';
  topkCandidates?: number;
  /** Subtract b_dec from the input before encoding (SAELens `apply_b_dec_to_input`). Needs dOut = dIn. */
  applyBDecToInput: boolean;
  /** Input scaling not yet folded in: x is multiplied by this before encoding (1 = none). */
  inputScale: number;
  /** Output scaling not yet folded in: the reconstruction is divided by this (default inputScale; transcoders differ). */
  outputScale?: number;
  /** Where it reads (and for transcoders, where it writes) in the model. */
  hookName: string;
  outHookName?: string;
  /** Provenance: model the SAE was trained on, data, seeds. */
  metadata?: Record<string, unknown>;
}

/** What a parameter initialiser sees: the parameters initialised before it (in `params()` order), and options. */
export interface InitContext {
  prev: Record<string, Float32Array>;
  /** Norm of each freshly drawn decoder row. */
  decoderInitNorm: number;
}

export interface ParamSpec {
  /** Internal name, e.g. W_encT [S, D], W_dec [S, Do], b_enc [S], b_dec [Do], threshold [S], ... */
  name: string;
  dims: number[];
  init: (n: number, rng: () => number, ctx: InitContext) => Float32Array;
  /** false: not trained by the optimizer (a statistic the trainer keeps, e.g. BatchTopK's threshold). Default true. */
  trainable?: boolean;
}

/** The code as graph tensors: dense [B, S] post-activation, or sparse K per token. */
export type GraphCode = { kind: 'dense'; acts: Tensor } | { kind: 'sparse'; idx: Tensor; acts: Tensor };

export interface TrainScalars {
  /** Current sparsity coefficient (warm-up is applied by the trainer). */
  sparsityCoefficient: Tensor;
  /** [S] float, 1 for latents that have not fired for more than the trainer's dead window (for AuxK). */
  deadMask?: Tensor;
  /** How sparse gradients are summed into weight rows (default 'host'; see topk-core.ts). */
  sums?: SparseSums;
}

/** A code computed on the host (the synchronous Codec path): dense [n, S], or k (index, value) pairs per token. */
export type HostCode = { kind: 'dense'; values: Float32Array } | { kind: 'sparse'; k: number; indices: Int32Array; values: Float32Array };

export interface SaeArchitecture {
  name: ArchitectureName;
  /** Architecture name written to SAELens's cfg.json (BatchTopK is saved as "jumprelu"). */
  saeLensArchitecture: string;
  /** Default norm of initial decoder rows (Sae.create may override). */
  decoderInitNorm: number;
  params(cfg: SaeConfig): ParamSpec[];
  encode(p: Record<string, Tensor>, x: Tensor, cfg: SaeConfig): GraphCode;
  decode(p: Record<string, Tensor>, code: GraphCode, cfg: SaeConfig): Tensor;
  /**
   * Training loss on a batch x [B, D] with reconstruction target [B, Do] (= x for SAEs). Metrics are scalars.
   * `firing` [S]: on how many tokens of the batch each latent was non-zero (the trainer's dead-latent clock).
   */
  loss(p: Record<string, Tensor>, x: Tensor, target: Tensor, cfg: SaeConfig, s: TrainScalars): { loss: Tensor; metrics: Record<string, Tensor>; firing: Tensor };
  /** Per-parameter rewrites after each optimizer step (e.g. unit-norm decoder rows). */
  postUpdate?(cfg: SaeConfig): Record<string, (p: Tensor) => Tensor>;
  /** Per-parameter gradient rewrites (e.g. remove the gradient component parallel to decoder rows). */
  gradTransform?(cfg: SaeConfig): Record<string, (g: Tensor, p: Tensor) => Tensor>;
  /** Host-side update of non-trained parameters from a step's metrics (step is 1-based). */
  afterStep?(params: Record<string, Float32Array>, metrics: Record<string, number>, step: number, cfg: SaeConfig): void;
  /** Reference encoder on the host (TypeScript), for the synchronous metrics Codec; x is [n, D] already scaled. */
  encodeHost(p: Record<string, Float32Array>, x: Float32Array, n: number, cfg: SaeConfig): HostCode;
  /**
   * SAELens tensor name of each internal parameter; `transpose`: the stored matrix is the transpose of ours;
   * `exp`: the stored tensor is exp(ours) (JumpReLU's log_threshold is saved as threshold).
   */
  saeLens: Record<string, { name: string; transpose?: boolean; exp?: boolean }>;
}
