// An attribution (attribution.ts) and its pruning (prune.ts) as the graph file viewers read (graph-json.ts).
import type { Attribution } from './attribution.js';
import type { Pruned } from './prune.js';
import {
  errorNodeId, featureNodeId, logitNodeId, tokenNodeId,
  type AttributionGraphFile, type GraphNode, type GraphProbityBlock,
} from './graph-json.js';

export interface GraphFileInfo {
  slug: string;
  prompt: string;
  /** Each token as text. */
  tokenTexts: string[];
  probity: Omit<GraphProbityBlock, 'counts'>;
}

/** Node id of adjacency index i. */
export function nodeIdOf(a: Attribution, i: number): string {
  const T = a.tokens.length;
  if (i < a.errorStart) {
    const f = a.features[i];
    return featureNodeId(f.layer, f.latent, f.pos);
  }
  if (i < a.tokenStart) {
    const k = i - a.errorStart;
    return errorNodeId(Math.floor(k / T), k % T);
  }
  if (i < a.logitStart) return tokenNodeId(a.tokens[i - a.tokenStart], i - a.tokenStart);
  return logitNodeId(a.nLayers, a.logits[i - a.logitStart].token, T - 1);
}

export function toGraphFile(a: Attribution, p: Pruned, info: GraphFileInfo): AttributionGraphFile {
  const T = a.tokens.length;
  const base = { token_prob: 0, is_target_logit: false, run_idx: 0, reverse_ctx_idx: 0, clerp: '', activation: null as number | null };
  const node = (i: number): GraphNode => {
    const node_id = nodeIdOf(a, i);
    const influence = p.cumulative[i];
    if (i < a.errorStart) {
      const f = a.features[i];
      return { ...base, node_id, feature: f.latent, layer: String(f.layer), ctx_idx: f.pos, feature_type: 'cross layer transcoder', jsNodeId: `${f.layer}_${f.latent}-0`, influence, activation: f.activation };
    }
    if (i < a.tokenStart) {
      const k = i - a.errorStart;
      const layer = Math.floor(k / T);
      return { ...base, node_id, feature: -1, layer: String(layer), ctx_idx: k % T, feature_type: 'mlp reconstruction error', jsNodeId: `${layer}_${k % T}-0`, influence };
    }
    if (i < a.logitStart) {
      const pos = i - a.tokenStart;
      return { ...base, node_id, feature: pos, layer: 'E', ctx_idx: pos, feature_type: 'embedding', jsNodeId: `E_${a.tokens[pos]}-${pos}`, influence };
    }
    const k = i - a.logitStart;
    const lg = a.logits[k];
    const text = info.tokenTexts[T + k] ?? String(lg.token);
    return {
      ...base, node_id, feature: lg.token, layer: String(a.nLayers + 1), ctx_idx: T - 1, feature_type: 'logit', token_prob: lg.prob, is_target_logit: k === 0,
      jsNodeId: `L_${lg.token}-${T - 1}`, clerp: `Output "${text}" (p=${lg.prob.toFixed(3)})`, influence,
    };
  };
  const used = new Set<number>();
  for (const [t, s] of p.edges) (used.add(t), used.add(s));
  const nodes: GraphNode[] = [];
  for (let i = 0; i < a.n; i++) if (p.nodeMask[i] && (used.has(i) || i >= a.tokenStart)) nodes.push(node(i));
  const links = p.edges.map(([t, s]) => ({ source: nodeIdOf(a, s), target: nodeIdOf(a, t), weight: a.adjacency[t * a.n + s] }));
  return {
    metadata: {
      slug: info.slug,
      scan: `probity:${info.probity.model}`,
      transcoder_list: info.probity.transcoders,
      prompt_tokens: info.tokenTexts.slice(0, T),
      prompt: info.prompt,
      node_threshold: info.probity.node_threshold,
      probity: {
        ...info.probity,
        counts: { active_features: a.features.length, error_nodes: a.nLayers * T, tokens: T, logits: a.logits.length, kept_nodes: nodes.length, kept_links: links.length },
      },
    },
    qParams: { pinnedIds: [], supernodes: [], linkType: 'both', clickedId: '', sg_pos: '' },
    nodes,
    links,
  };
}
