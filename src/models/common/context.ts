// What an architecture's forward builder sees: token/position/mask inputs, weights (as graph inputs, fed zero-copy
// from the loaded file), the hook function, and the KV-cache plumbing. The builder itself stays a plain description
// of the model; every hook, intervention and cut decision happens here.
import { Graph, type Tensor } from '../../engine/graph/graph.js';
import * as op from '../../engine/ops/index.js';
import type { NDArray } from '../../engine/ndarray.js';
import { ProbityError, show } from '../../errors.js';
import type { TransformerSpec } from '../spec.js';
import { softCap } from './norm.js';
import { applyIntervention, type FeedValue, type Intervention } from '../hooks/interventions.js';

export type Layout = 'out_in' | 'in_out';

export interface WeightStore {
  get(name: string): NDArray<Float32Array>;
  has(name: string): boolean;
  /** Matrix layout of linear weights: PyTorch Linear [out, in] or GPT-2 Conv1D [in, out]. */
  layout(name: string): Layout;
}

export interface BuildOptions {
  /** Feed past keys/values and return present ones (generation). */
  withPast: boolean;
  logits: 'all' | 'last' | 'none';
  /** Hooks whose values become outputs `cache.<name>`. */
  cache: ReadonlySet<string>;
  /** Graph-level interventions per hook (no `fn` kinds). */
  interventions: Readonly<Record<string, readonly Intervention[]>>;
  /** Hooks whose value is fed from outside (`cut.<name>`), because TypeScript ran on it between graphs. */
  cutInputs: ReadonlySet<string>;
  /** If set, the graph ends at this hook: its value is the output `cut.<name>`. */
  stopAt?: string;
  /**
   * Weights as constants whose bytes stay in the weight store (Graph.external) instead of graph inputs: ORT then
   * prepacks them for its GEMMs (measured 10-18% on stacks of 1024x768 matmuls), at the cost of one packed copy of
   * the weights per compiled session. Model uses it for its cached graphs without interventions.
   */
  constantWeights?: boolean;
}

export class BuildContext {
  readonly g: Graph;
  readonly tokens: Tensor; // [B, T] int64
  readonly positions: Tensor; // [B, T] int64, absolute positions (left padding shifts them)
  readonly keyMask: Tensor; // [B, S] bool, S = past + T: false at padding
  readonly feeds = new Map<string, FeedValue>();
  readonly seen: string[] = [];
  private maskCache = new Map<number | null, Tensor>();

  /**
   * `embed` builds inside an existing graph instead (training): it supplies the token/position/mask tensors and the
   * weight tensors (e.g. trainable parameters), so the same architecture code gives the training loss.
   */
  constructor(
    readonly spec: TransformerSpec,
    readonly weights: WeightStore,
    readonly opts: BuildOptions,
    embed?: { graph: Graph; tokens: Tensor; positions: Tensor; keyMask: Tensor; weight: (name: string) => Tensor },
  ) {
    if (embed) {
      this.g = embed.graph;
      this.tokens = embed.tokens;
      this.positions = embed.positions;
      this.keyMask = embed.keyMask;
      this.external = embed.weight;
      return;
    }
    this.g = new Graph(`${spec.arch}_forward`);
    this.tokens = this.g.input('tokens', 'int64', ['B', 'T']);
    this.positions = this.g.input('positions', 'int64', ['B', 'T']);
    this.keyMask = this.g.input('key_mask', 'bool', ['B', opts.withPast ? 'P+T' : 'T']);
  }

  private external?: (name: string) => Tensor;

  /** A weight `w.<name>` with its stored dims: a graph input, or a constant kept in the store (`constantWeights`). */
  w(name: string): Tensor {
    if (this.external) return this.external(name);
    const full = `w.${name}`;
    const known = this.g.inputs.find((t) => t.name === full) ?? this.g.externals.find((t) => t.name === full);
    if (known) return known;
    if (!this.weights.has(name)) throw new ProbityError('WEIGHT_MISSING', `model weight "${name}" is missing`);
    const w = this.weights.get(name);
    if (this.opts.constantWeights) return this.g.external(full, w.data, 'float32', [...w.dims]);
    return this.g.input(full, 'float32', [...w.dims]);
  }

  /** x @ W (+ b) for a weight in either layout; ORT fuses the transpose into the matmul. */
  linear(x: Tensor, name: string, bias?: string): Tensor {
    const W = this.w(name);
    const y = op.matmul(x, this.weights.layout(name) === 'out_in' ? op.transpose(W, [1, 0]) : W);
    return bias ? op.add(y, this.w(bias)) : y;
  }

  /** The hook point: cache, intervene, cut. Returns the (possibly replaced) value. */
  hook(name: string, x: Tensor): Tensor {
    this.seen.push(name);
    let v = x;
    // A cut value comes from the graph that stopped here, after this hook's graph-level interventions and its fn ones:
    // applying the graph-level ones again would double them.
    if (this.opts.cutInputs.has(name)) v = this.g.input(`cut.${name}`, x.dtype, x.shape);
    else {
      (this.opts.interventions[name] ?? []).forEach((iv, i) => {
        v = applyIntervention(v, iv, (n, value, dims) => this.feedInput(n, value, dims), `iv.${name}.${i}`, name);
      });
    }
    if (this.opts.stopAt === name) this.g.output(v, `cut.${name}`);
    if (this.opts.cache.has(name)) this.g.output(v, `cache.${name}`);
    return v;
  }

  private feedInput(name: string, value: FeedValue, dims: (number | string)[]): Tensor {
    this.feeds.set(name, value);
    const dtype = typeof value === 'function' ? 'float32' : value.dtype;
    return this.g.input(name, dtype, dims);
  }

  /** Keys/values for layer l including the cache: [B, K, S, Dh]. Adds present outputs when generating. */
  withCache(l: number, k: Tensor, v: Tensor): { k: Tensor; v: Tensor } {
    if (!this.opts.withPast) return { k, v };
    const { nKvHeads: K, dHead: Dh } = this.spec;
    const pk = this.g.input(`past.${l}.k`, 'float32', ['B', K, 'P', Dh]);
    const pv = this.g.input(`past.${l}.v`, 'float32', ['B', K, 'P', Dh]);
    const kk = op.concat([pk, k], 2);
    const vv = op.concat([pv, v], 2);
    this.g.output(kk, `present.${l}.k`);
    this.g.output(vv, `present.${l}.v`);
    return { k: kk, v: vv };
  }

  /**
   * [B, 1, T, S] bool: key j visible from query i when j <= past + i and key j is not padding; with a sliding
   * `window`, also j > past + i - window (the window counts the query itself, as HF's sliding_window_overlay).
   * Slot distance is position distance: padding is only ever on the left, before every real token.
   */
  attentionMask(q: Tensor, k: Tensor, window: number | null = null): Tensor {
    const hit = this.maskCache.get(window);
    if (hit) return hit;
    const S = op.gather(op.shapeOf(k), this.g.ints([2]));
    const T = op.gather(op.shapeOf(q), this.g.ints([2]));
    const qIdx = op.add(op.arange(q, 2), op.sub(S, T)); // [T] absolute index of each query
    const kIdx = op.arange(k, 2); // [S]
    let visible = op.lessOrEqual(op.unsqueeze(kIdx, 0), op.unsqueeze(qIdx, 1)); // [T, S]
    if (window !== null) visible = op.and(visible, op.greater(op.unsqueeze(kIdx, 0), op.unsqueeze(op.sub(qIdx, window), 1)));
    const pad = op.unsqueeze(this.keyMask, [1, 2]); // [B, 1, 1, S]
    const m = op.and(op.unsqueeze(visible, [0, 1]), pad);
    this.maskCache.set(window, m);
    return m;
  }

  /** Logits (or nothing) from the final normalised residual. */
  unembed(x: Tensor): void {
    if (this.opts.logits === 'none') return;
    const h = this.opts.logits === 'last' ? op.slice(x, [-1], [Infinity], [1]) : x; // [B, T|1, D]
    const name = this.spec.tied ? 'embed.W_E' : 'unembed.W_U';
    const W = this.w(name); // [V, D] (Linear layout) for both
    if (W.shape[0] !== this.spec.vocab) throw new ProbityError('WEIGHT_SHAPE', `${name} has dims ${show(W.shape)}, expected [${this.spec.vocab}, ${this.spec.dModel}]`);
    const logits = op.matmul(h, op.transpose(W, [1, 0])); // [B, T, V]
    this.logits = this.spec.finalSoftcap ? softCap(logits, this.spec.finalSoftcap) : logits;
    if (!this.external) this.g.output(this.logits, 'logits');
  }

  /** The logits tensor once unembed() ran (training builds its loss on it). */
  logits: Tensor | null = null;
}
