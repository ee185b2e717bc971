// The on-disk format of an SAE's dashboard data (`probity sae dashboard-data`), shared by the builder, the server and
// the front end (type-only there). One folder, by default `<sae>/dashboard/`:
//   manifest.json            what was asked (SAE and model hashes, settings, document split) and how far the run got
//   acts/chunk-NNNNN.bin     phase 1, deleted when the run completes: the SAE code of every scored token, per chunk
//                            of documents (a killed run resumes after the last whole chunk)
//   latents/group-NNNNN.json phase 2: the detail of `groupSize` consecutive latents (a killed run resumes after the
//                            last whole group)
//   tokens.json              id -> token text, for the ids that appear in contexts and logit tables
//   index.json               written last: per-latent summary columns for the latent list (search, sort, paging)
//   .gitignore               "*": the folder is a generated cache wherever it lives
// Every file is written to a temporary name and renamed, so a file that exists is whole.

export const DASHBOARD_FORMAT = 'probity-dashboard/1';
export const DASHBOARD_DIR = 'dashboard';
export const MANIFEST_FILE = 'manifest.json';
export const INDEX_FILE = 'index.json';
export const TOKENS_FILE = 'tokens.json';

export interface DashboardSettings {
  /** Scored tokens asked for (whole documents are kept, so the run has at least this many). */
  tokens: number;
  /** Documents per phase-1 chunk. */
  docsPerChunk: number;
  /** Latents per phase-2 group file. */
  groupSize: number;
  /** Tokens shown before and after the activating token of a context. */
  contextBefore: number;
  contextAfter: number;
  /** Top-activating contexts per latent (one per document). */
  topContexts: number;
  /** Quantile bins of a latent's non-zero activations, and contexts sampled from each. */
  quantiles: number;
  perQuantile: number;
  /** Bins of the activation histogram (over the non-zero activations, 0 to the maximum). */
  histBins: number;
  /** Promoted and suppressed tokens per latent. */
  topLogits: number;
  /** Nearest latents by decoder cosine. */
  neighbours: number;
  /** Concept matches kept per latent (by AUROC), and sensitivity bars for the first `sensitivityConcepts` of them. */
  conceptMatches: number;
  sensitivityConcepts: number;
  /** Quantile bins of the non-zero activations in a sensitivity table (a zero bin comes first). */
  sensitivityBins: number;
  /** Seed of the quantile-context sampling. */
  seed: number;
}

export const DEFAULT_SETTINGS: DashboardSettings = {
  tokens: 200_000,
  docsPerChunk: 64,
  groupSize: 256,
  contextBefore: 16,
  contextAfter: 4,
  topContexts: 8,
  quantiles: 5,
  perQuantile: 3,
  histBins: 30,
  topLogits: 10,
  neighbours: 8,
  conceptMatches: 5,
  sensitivityConcepts: 3,
  sensitivityBins: 10,
  seed: 1,
};

/** Where the documents came from. */
export type DashboardSource =
  | { kind: 'organism-docs'; seed: number; split: string }
  | { kind: 'text-file'; path: string; lines: number };

export interface DashboardManifest {
  format: typeof DASHBOARD_FORMAT;
  /** The SAE folder as given (project-relative when inside the project). */
  sae: string;
  sae_sha256: { cfg: string; weights: string };
  model: string;
  model_sha256: string;
  hook: string;
  dSae: number;
  settings: DashboardSettings;
  source: DashboardSource;
  /** How the promoted / suppressed tokens were computed. */
  logits: string;
  /** Phase 1: whole chunks written and the scored tokens in them; `finished` once the token budget is reached. */
  phase1: { chunks: number; tokens: number; docs: number; finished: boolean };
  /** Phase 2: whole group files written. */
  phase2: { groups: number; total: number };
  complete: boolean;
  command: string;
}

/** One context: a window of a document with the latent's activation at every token. */
export interface Context {
  /** Corpus index (organism) or line number (text file) of the document. */
  doc: number;
  /** Index in `tokens` of the token the context was chosen for. */
  at: number;
  /** Token ids (tokens.json names them; the API returns the text). */
  tokens: number[];
  acts: number[];
  /** Concept bitmask per token (organism only). */
  labels?: number[];
}

export interface QuantileGroup {
  /** Activation range of the bin (non-zero activations, quantiles by count). */
  lo: number;
  hi: number;
  /** Active tokens in the bin. */
  n: number;
  contexts: Context[];
}

export interface ConceptMatch {
  concept: string;
  /** Token AUROC of the latent's activation (0 where inactive) for the concept's labels. */
  auroc: number;
  /** Share of the latent's active tokens that carry the concept, and of the concept's tokens where it is active. */
  precision: number;
  recall: number;
  f1: number;
  /** Concept tokens among the scored ones. */
  positives: number;
}

export interface SensitivityBin {
  lo: number;
  hi: number;
  n: number;
  fractionPositive: number;
}

export interface LatentDetail {
  id: number;
  /** Share of scored tokens where the latent is non-zero; its count; largest and mean non-zero activation. */
  density: number;
  active: number;
  maxAct: number;
  meanAct: number;
  /** Histogram of the non-zero activations: `counts[b]` in [edges[b], edges[b + 1]). `zeros` = inactive tokens. */
  histogram: { edges: number[]; counts: number[]; zeros: number };
  top: Context[];
  quantiles: QuantileGroup[];
  /** Output tokens whose logit the decoder direction raises / lowers most (token id, logit change per unit). */
  promoted: { token: number; value: number }[];
  suppressed: { token: number; value: number }[];
  neighbours: { latent: number; cosine: number }[];
  /** Organism only (empty otherwise): the best concepts by AUROC, and sensitivity bars for the first few. */
  concepts: ConceptMatch[];
  sensitivity: { concept: string; base: number; bins: SensitivityBin[] }[];
}

/** The latent list as columns (index = latent id), small enough to load whole for 16k+ latents. */
export interface DashboardIndex {
  format: typeof DASHBOARD_FORMAT;
  sae: string;
  hook: string;
  dSae: number;
  tokens: number;
  docs: number;
  source: DashboardSource;
  groupSize: number;
  concepts: boolean;
  density: number[];
  maxAct: number[];
  meanAct: number[];
  /** The most frequent token texts among each latent's top activations, and its best context's text. */
  topTokens: string[][];
  snippet: string[];
  /** Best concept by F1 (precision/recall at "active") and by AUROC; null without concepts or for dead latents. */
  bestConcept: (string | null)[];
  bestF1: (number | null)[];
  aurocConcept: (string | null)[];
  bestAuroc: (number | null)[];
}

export const chunkFile = (i: number): string => `acts/chunk-${String(i).padStart(5, '0')}.bin`;
export const groupFile = (g: number): string => `latents/group-${String(g).padStart(5, '0')}.json`;
