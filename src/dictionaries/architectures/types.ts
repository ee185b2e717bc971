// The contract every SAE architecture file fulfils (one file per architecture, SAELens-style). An architecture is a
// set of graph fragments over engine tensors: parameters, encode, decode, training loss. The trainer and the metrics
// never see which architecture they run; the registry maps names to these objects.
// Dims: B batch, D d_in, S d_sae, K k (TopK-style), Do d_out (transcoders; = D for SAEs).
import type { Tensor } from '../../engine/graph/graph.js';

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
  /** TopK: AuxK latents and weight for dead-latent revival (Gao et al. 2024). */
  auxK?: number;
  auxKCoefficient?: number;
  /** Subtract b_dec from the input before encoding (SAELens `apply_b_dec_to_input`). */
  applyBDecToInput: boolean;
  /** Input scaling folded in: x is multiplied by this before encoding and the output divided by it (1 = none). */
  inputScale: number;
  /** Where it reads (and for transcoders, where it writes) in the model. */
  hookName: string;
  outHookName?: string;
  /** Provenance: model the SAE was trained on, data, seeds. */
  metadata?: Record<string, unknown>;
}

export interface ParamSpec {
  /** Internal name, e.g. W_enc [D, S], W_dec [S, Do], b_enc [S], b_dec [Do], threshold [S], ... */
  name: string;
  dims: number[];
  init: (n: number, rng: () => number) => Float32Array;
}

/** The code as graph tensors: dense [B, S] post-activation, or sparse K per token. */
export type GraphCode = { kind: 'dense'; acts: Tensor } | { kind: 'sparse'; idx: Tensor; acts: Tensor };

export interface TrainScalars {
  /** Current sparsity coefficient (warm-up is applied by the trainer). */
  sparsityCoefficient: Tensor;
  /** Running count of tokens since each latent last fired [S] (for AuxK); fed by the trainer. */
  tokensSinceFired?: Tensor;
}

export interface SaeArchitecture {
  name: ArchitectureName;
  params(cfg: SaeConfig): ParamSpec[];
  encode(p: Record<string, Tensor>, x: Tensor, cfg: SaeConfig): GraphCode;
  decode(p: Record<string, Tensor>, code: GraphCode, cfg: SaeConfig): Tensor;
  /** Training loss on a batch x [B, D] with reconstruction target [B, Do] (= x for SAEs). Metrics are scalars. */
  loss(p: Record<string, Tensor>, x: Tensor, target: Tensor, cfg: SaeConfig, s: TrainScalars): { loss: Tensor; metrics: Record<string, Tensor>; firing: Tensor };
  /** Per-parameter rewrites after each optimizer step (e.g. unit-norm decoder rows). */
  postUpdate?(cfg: SaeConfig): Record<string, (p: Tensor) => Tensor>;
  /** Per-parameter gradient rewrites (e.g. remove the gradient component parallel to decoder rows). */
  gradTransform?(cfg: SaeConfig): Record<string, (g: Tensor, p: Tensor) => Tensor>;
  /** SAELens tensor name of each internal parameter, and whether the stored matrix is the transpose of ours. */
  saeLens: Record<string, { name: string; transpose?: boolean }>;
}
