// A small hand-built attribution graph file (src/circuits/graph-json.ts) for the viewers' tests: 2 layers, 4
// positions, 5 features, 3 error nodes, 4 token nodes, 2 logits at the last position, 14 links of both signs. Written
// as the graph command writes it (graph-file.ts): ids from graph-json.ts's helpers, logit clerps `Output "t" (p=..)`.
import { errorNodeId, featureNodeId, logitNodeId, tokenNodeId, type AttributionGraphFile, type GraphLink, type GraphNode } from '../../src/circuits/graph-json.js';

const N_LAYERS = 2;
const PROMPT_TOKENS = ['<bos>', 'The', ' capital', ' of'];
const TOKEN_IDS = [1, 412, 3051, 287];

const base = { token_prob: 0, is_target_logit: false, run_idx: 0, reverse_ctx_idx: 0, clerp: '', activation: null as number | null };

const feature = (layer: number, latent: number, pos: number, activation: number, influence: number, clerp = ''): GraphNode => ({
  ...base, node_id: featureNodeId(layer, latent, pos), feature: latent, layer: String(layer), ctx_idx: pos, feature_type: 'cross layer transcoder',
  jsNodeId: `${layer}_${latent}-0`, clerp, influence, activation,
});
const error = (layer: number, pos: number, influence: number): GraphNode => ({
  ...base, node_id: errorNodeId(layer, pos), feature: -1, layer: String(layer), ctx_idx: pos, feature_type: 'mlp reconstruction error', jsNodeId: `${layer}_${pos}-0`, influence,
});
const token = (pos: number, influence: number): GraphNode => ({
  ...base, node_id: tokenNodeId(TOKEN_IDS[pos], pos), feature: pos, layer: 'E', ctx_idx: pos, feature_type: 'embedding', jsNodeId: `E_${TOKEN_IDS[pos]}-${pos}`, influence,
});
const logit = (tokenId: number, text: string, prob: number, target: boolean, influence: number): GraphNode => ({
  ...base, node_id: logitNodeId(N_LAYERS, tokenId, PROMPT_TOKENS.length - 1), feature: tokenId, layer: String(N_LAYERS + 1), ctx_idx: PROMPT_TOKENS.length - 1,
  feature_type: 'logit', token_prob: prob, is_target_logit: target, jsNodeId: `L_${tokenId}-${PROMPT_TOKENS.length - 1}`, clerp: `Output "${text}" (p=${prob.toFixed(3)})`, influence,
});

/** A fresh copy each call (tests mutate it). */
export function sampleGraph(): AttributionGraphFile {
  const nodes: GraphNode[] = [
    feature(0, 17, 1, 3.25, 0.31, 'country words'),
    feature(0, 230, 2, 1.5, 0.52),
    feature(1, 5, 2, 2.75, 0.18, 'capital cities'),
    feature(1, 88, 3, 0.875, 0.44),
    feature(1, 230, 3, 4.5, 0.07, 'say a capital'),
    error(0, 2, 0.61),
    error(1, 3, 0.23),
    error(1, 2, 0.74),
    token(0, 0.95),
    token(1, 0.66),
    token(2, 0.12),
    token(3, 0.38),
    logit(6342, ' France', 0.612, true, 0),
    logit(15, ' the', 0.088, false, 0.02),
  ];
  const id = (i: number) => nodes[i].node_id;
  const link = (s: number, t: number, weight: number): GraphLink => ({ source: id(s), target: id(t), weight });
  const links: GraphLink[] = [
    link(9, 0, 0.8), link(10, 1, 1.2), link(10, 2, 0.9), link(0, 2, 0.6), link(1, 3, -0.4), link(5, 2, 0.3),
    link(1, 4, 1.5), link(3, 12, -0.7), link(11, 3, 0.5), link(6, 12, 0.45), link(7, 12, 0.2),
    link(4, 12, 2.1), link(4, 13, -0.9), link(8, 12, 0.05),
  ];
  return {
    metadata: {
      slug: 'capital-of',
      scan: 'probity:organism',
      transcoder_list: ['transcoders/blocks.0', 'transcoders/blocks.1'],
      prompt_tokens: [...PROMPT_TOKENS],
      prompt: 'The capital of',
      node_threshold: 0.8,
      probity: {
        schema: 'probity-attribution-graph/1',
        model: 'organism',
        transcoders: ['transcoders/blocks.0', 'transcoders/blocks.1'],
        node_threshold: 0.8,
        edge_threshold: 0.98,
        counts: { active_features: 23, error_nodes: N_LAYERS * PROMPT_TOKENS.length, tokens: PROMPT_TOKENS.length, logits: 2, kept_nodes: nodes.length, kept_links: links.length },
        scores: {
          replacement_score: 0.734,
          completeness_score: 0.861,
          error_influence_share: 0.193,
          error_influence_share_by_layer: [0.071, 0.122],
          target_logit_direct: { features: 2.1, errors: 0.45, tokens: 0.05, biases: 0.3, total: 2.9 },
        },
        layer_fve: [0.91, 0.84],
        code_version: 'v0-test',
        wall_s: 1.5,
      },
    },
    qParams: { pinnedIds: [], supernodes: [], linkType: 'both', clickedId: '', sg_pos: '' },
    nodes,
    links,
  };
}
