// The attribution graph file: the JSON that circuit-tracer's `create_graph_files` writes and Neuronpedia's graph
// viewer reads (circuit_tracer/frontend/graph_models.py: Metadata, QParams, Node, Link), plus probity's own block
// `metadata.probity` (error accounting, thresholds, provenance). Field names and node-id spellings follow that source:
//   feature  node_id `${layer}_${latent}_${pos}`, feature = latent (+ offset * layer with a scan offset; we use none),
//            feature_type "cross layer transcoder" (circuit-tracer writes this for per-layer transcoders too)
//   error    node_id `err_${layer}_${pos}`, feature -1, feature_type "mlp reconstruction error". circuit-tracer writes
//            `0_${layer}_${pos}`, which is also the id of feature `layer` at layer 0 and position `pos`: the links of
//            the two would merge, so probity deviates here (the viewer keys nodes by node_id only)
//   token    node_id `E_${tokenId}_${pos}`, layer "E", feature = pos, feature_type "embedding"
//   logit    node_id `${nLayers + 1}_${tokenId}_${pos}`, layer String(nLayers + 1), feature = tokenId, feature_type "logit"
// Links: { source, target, weight } with node ids; weight = the direct effect of source on target.
// The JSON Schema of this file is docs/attribution-graph.schema.json (tests validate every written graph with ajv).

export type FeatureType = 'cross layer transcoder' | 'mlp reconstruction error' | 'embedding' | 'logit';

export interface GraphNode {
  node_id: string;
  feature: number;
  layer: string;
  ctx_idx: number;
  feature_type: FeatureType;
  token_prob: number;
  is_target_logit: boolean;
  run_idx: number;
  reverse_ctx_idx: number;
  jsNodeId: string;
  clerp: string;
  /** Cumulative influence rank score (circuit-tracer's `cumulative_scores`: the share of total influence of the nodes
   *  at least as influential as this one; small = most influential). */
  influence: number | null;
  activation: number | null;
}

export interface GraphLink {
  source: string;
  target: string;
  weight: number;
}

/** Error accounting, stored in every graph and printed with it. */
export interface GraphScores {
  /** circuit-tracer's replacement score: token influence / (token + error influence), on the unpruned graph. */
  replacement_score: number;
  /** circuit-tracer's completeness score: influence-weighted share of each node's normalised inputs from non-error
   *  nodes. */
  completeness_score: number;
  /** Share of the (absolute, normalised) influence on the logits that reaches them through error nodes: the summed
   *  node influence of error nodes over the summed influence of all source nodes (features, errors, tokens). */
  error_influence_share: number;
  /** The same, error nodes of each layer (index = layer). */
  error_influence_share_by_layer: number[];
  /** Signed direct logit attribution of the target logit (demeaned), split by source kind: features, errors,
   *  tokens, and the remainder carried by biases (b_dec, attention / norm biases) that have no node. */
  target_logit_direct: { features: number; errors: number; tokens: number; biases: number; total: number };
}

export interface GraphProbityBlock {
  schema: 'probity-attribution-graph/1';
  model: string;
  transcoders: string[];
  /** Node and edge thresholds of the pruning (cumulative influence), and what survived. */
  node_threshold: number;
  edge_threshold: number;
  counts: { active_features: number; error_nodes: number; tokens: number; logits: number; kept_nodes: number; kept_links: number };
  scores: GraphScores;
  /** Per-layer transcoder reconstruction on this prompt: FVE of the MLP output over the prompt's positions. */
  layer_fve: number[];
  code_version: string | null;
  wall_s: number;
}

export interface GraphMetadata {
  slug: string;
  scan: string;
  transcoder_list: string[];
  prompt_tokens: string[];
  prompt: string;
  node_threshold: number | null;
  probity: GraphProbityBlock;
}

export interface GraphQParams {
  pinnedIds: string[];
  supernodes: string[][];
  linkType: string;
  clickedId: string;
  sg_pos: string;
}

export interface AttributionGraphFile {
  metadata: GraphMetadata;
  qParams: GraphQParams;
  nodes: GraphNode[];
  links: GraphLink[];
}

export const featureNodeId = (layer: number, latent: number, pos: number) => `${layer}_${latent}_${pos}`;
export const errorNodeId = (layer: number, pos: number) => `err_${layer}_${pos}`;
export const tokenNodeId = (tokenId: number, pos: number) => `E_${tokenId}_${pos}`;
export const logitNodeId = (nLayers: number, tokenId: number, pos: number) => `${nLayers + 1}_${tokenId}_${pos}`;
