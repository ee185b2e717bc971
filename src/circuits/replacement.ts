// The local replacement model of one prompt, linearised (circuit-tracer's construction): the model's own forward
// builder runs inside one graph with graph-level interventions that
//   - freeze every attention pattern (hook_pattern replaced by the clean pattern, a constant),
//   - freeze every normalisation's scale: y = x c (RMSNorm) or (x - mean x) c + b (LayerNorm) with c = w / rms or
//     w / sigma of the clean input, a constant, so the value is the model's and the map is linear,
//   - cut every MLP: hook_mlp_out = clean mlp_out + z_L, with z_L a zero input whose gradient is the direct effect of
//     anything written into that MLP's output (transcoder features, error terms),
//   - and likewise hook_embed = clean embed + z_E (token nodes).
// The targets read the frozen values: a transcoder feature's pre-activation (its encoder row . ln2 output at layer L,
// position p) or a logit node's demeaned unembedding row . ln_final output at the last position. Each batch row carries
// one target through seed inputs, so one backward pass gives the direct effects on a whole batch of targets:
//   loss = sum_L <ln2_L, seed_L> + <ln_final, seed_F>,  outputs d loss / d z_E, d loss / d z_L  ([B, T, D] each).
// The constants come from one clean forward. 'real' mode builds the model itself with the same injections (nothing
// frozen, every MLP live): the gradients attribution patching uses. Only architectures whose norms read a
// hooked residual are supported: llama (Qwen, Mistral) and gpt2; others are refused by name.
import { Graph, type Tensor } from '../engine/graph/graph.js';
import { NDArray } from '../engine/ndarray.js';
import * as op from '../engine/ops/index.js';
import { grad } from '../engine/grad/backward.js';
import { compile, type GraphRunner } from '../engine/session/session.js';
import { ProbityError } from '../errors.js';
import { BuildContext } from '../models/common/context.js';
import { buildForward } from '../models/forward.js';
import type { Intervention } from '../models/hooks/interventions.js';
import type { Model } from '../models/model.js';

/** Which residual each norm reads (the hook right before it) and its weight names. */
function normSites(model: Model): { out: string; input: string; w: string; b?: string }[] {
  const { spec } = model;
  if (spec.arch !== 'llama' && spec.arch !== 'gpt2') {
    throw new ProbityError('GRAPH_ARCH', `attribution graphs: architecture "${spec.arch}" (${spec.family ?? spec.arch}) is not supported; llama-style (Llama, Qwen, Mistral) and gpt2 are`);
  }
  const ln = spec.arch === 'gpt2';
  const sites: { out: string; input: string; w: string; b?: string }[] = [];
  for (let l = 0; l < spec.nLayers; l++) {
    const b = `blocks.${l}`;
    sites.push({ out: `${b}.ln1.hook_normalized`, input: `${b}.hook_resid_pre`, w: `${b}.ln1.w`, b: ln ? `${b}.ln1.b` : undefined });
    sites.push({ out: `${b}.ln2.hook_normalized`, input: `${b}.hook_resid_mid`, w: `${b}.ln2.w`, b: ln ? `${b}.ln2.b` : undefined });
  }
  sites.push({ out: 'ln_final.hook_normalized', input: `blocks.${spec.nLayers - 1}.hook_resid_post`, w: 'ln_final.w', b: ln ? 'ln_final.b' : undefined });
  return sites;
}

export interface ReplacementGraph {
  runner: GraphRunner;
  /** Batch rows the graph was built for. */
  B: number;
  T: number;
  /** Fixed feeds (tokens, positions, mask, weights, zero injections). */
  feeds: Record<string, NDArray>;
}

const g = (key: string, build: (x: Tensor) => Tensor): Intervention => ({ kind: 'graph', key, build });

export interface GradientGraphOptions {
  /** 'frozen' (default): the linearised replacement model; 'real': the model itself (attribution patching's
   *  gradients: nothing frozen, every MLP live). */
  mode?: 'frozen' | 'real';
  /** Also take gradients at every layer's mlp.hook_post (raw neurons; `grad.post.L`, [B, T, F]). */
  neurons?: boolean;
}

/** Builds and compiles the gradient graph for a prompt of T tokens, B target rows per run. */
export async function replacementGraph(model: Model, tokens: readonly number[], B: number, opts: GradientGraphOptions = {}): Promise<ReplacementGraph> {
  const { spec } = model;
  const frozen = (opts.mode ?? 'frozen') === 'frozen';
  const T = tokens.length;
  const D = spec.dModel;
  const sites = normSites(model);
  const graph = new Graph('replacement');
  const tok = graph.input('tokens', 'int64', [B, T]);
  const pos = graph.input('positions', 'int64', [B, T]);
  const mask = graph.input('key_mask', 'bool', [B, T]);
  const weightFeeds: Record<string, NDArray> = {};
  const weight = (name: string): Tensor => {
    const full = `w.${name}`;
    const known = graph.inputs.find((t) => t.name === full);
    if (known) return known;
    const w = model.weights.get(name);
    weightFeeds[full] = w;
    return graph.input(full, 'float32', [...w.dims]);
  };

  // Frozen mode: the clean forward's values the linear model holds fixed, fed as [1, ...] constants (every row runs
  // the same prompt): attention patterns, each norm's scale, the MLP outputs and the embedding. With them in place
  // the scores, softmaxes, MLPs and the embedding gather are dead code and drop out of the graph, so a row costs
  // only the linear path (V / O projections, pattern @ V, residual adds) and its transpose.
  const consts = new Map<string, NDArray>();
  const constInput = (name: string, value: NDArray) => {
    consts.set(name, value);
    return graph.input(name, 'float32', [...value.dims]);
  };
  let clean: Record<string, NDArray> = {};
  if (frozen) {
    const names = ['hook_embed', ...sites.map((x) => x.input), ...Array.from({ length: spec.nLayers }, (_, l) => [`blocks.${l}.attn.hook_pattern`, `blocks.${l}.hook_mlp_out`]).flat()];
    clean = (await model.forward([[...tokens]], { cache: [...new Set(names)], logits: 'none' })).cache;
  }
  /** w / rms(x) (RMSNorm) or w / sigma(x) (LayerNorm) per position and dim, from the clean input of a norm. */
  const frozenScale = (input: string, w: string, centre: boolean): NDArray => {
    const x = clean[input].data as Float32Array;
    const wv = model.weights.get(w).data;
    const c = new Float32Array(T * D);
    for (let p = 0; p < T; p++) {
      let m = 0;
      if (centre) for (let d = 0; d < D; d++) m += x[p * D + d] / D;
      let ms = 0;
      for (let d = 0; d < D; d++) ms += (x[p * D + d] - m) ** 2 / D;
      const inv = 1 / Math.sqrt(ms + spec.normEps);
      for (let d = 0; d < D; d++) c[p * D + d] = (spec.normPlusOne ? 1 + wv[d] : wv[d]) * inv;
    }
    return new NDArray(c, [1, T, D]);
  };

  const captured = new Map<string, Tensor>();
  const z: Tensor[] = [];
  const seeds: Tensor[] = [];
  const ivs: Record<string, Intervention[]> = {};
  const capture = (hook: string) => (ivs[hook] ??= []).push(g(`cap:${hook}`, (x) => (captured.set(hook, x), x)));
  const inject = (hook: string, name: string, width = D) =>
    (ivs[hook] ??= []).push(
      g(`inject:${hook}`, (x) => {
        const zi = graph.input(name, 'float32', [B, T, width]);
        z.push(zi);
        return op.add(frozen ? constInput(`const.${hook}`, clean[hook]) : x, zi);
      }),
    );
  inject('hook_embed', 'z.embed');
  for (const s of sites) {
    capture(s.input);
    const isLn2 = s.out.endsWith('ln2.hook_normalized') || s.out === 'ln_final.hook_normalized';
    (ivs[s.out] ??= []).push(
      g(`freeze:${s.out}`, (v) => {
        const x = captured.get(s.input);
        if (!x) throw new ProbityError('INTERNAL', `replacement graph: ${s.input} was not seen before ${s.out}`);
        let y = v;
        if (frozen) {
          const c = constInput(`const.scale.${s.out}`, frozenScale(s.input, s.w, !!s.b));
          y = op.mul(s.b ? op.sub(x, op.reduceMean(x, -1, true)) : x, c);
          if (s.b) y = op.add(y, weight(s.b));
        }
        if (isLn2) {
          const seed = graph.input(`seed.${s.out}`, 'float32', [B, T, D]);
          seeds.push(op.reduceSum(op.mul(y, seed), [0, 1, 2], false));
        }
        return y;
      }),
    );
  }
  for (let l = 0; l < spec.nLayers; l++) {
    const ph = `blocks.${l}.attn.hook_pattern`;
    if (frozen) (ivs[ph] ??= []).push(g('freeze:pattern', () => constInput(`const.${ph}`, clean[ph])));
    if (opts.neurons) {
      if (frozen) throw new ProbityError('INTERNAL', 'replacementGraph: neuron gradients are taken on the real model');
      inject(`blocks.${l}.mlp.hook_post`, `z.post.${l}`, spec.dMlp);
    }
    inject(`blocks.${l}.hook_mlp_out`, `z.mlp.${l}`);
  }

  const ctx = new BuildContext(
    spec,
    { get: (n) => model.weights.get(n), has: (n) => model.weights.has(n), layout: (n) => model.weights.layout(n) },
    { withPast: false, logits: 'none', cache: new Set(), interventions: ivs, cutInputs: new Set() },
    { graph, tokens: tok, positions: pos, keyMask: mask, weight },
  );
  buildForward(ctx);
  const loss = seeds.reduce((a, b) => op.add(a, b));
  const grads = grad(loss, z);
  z.forEach((zi, i) => graph.output(grads[i], zi.name.replace(/^z\./, 'grad.')));
  const runner = await compile(graph, model.session);

  const tokensArr = new BigInt64Array(B * T);
  const posArr = new BigInt64Array(B * T);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) ((tokensArr[b * T + t] = BigInt(tokens[t])), (posArr[b * T + t] = BigInt(t)));
  const feeds: Record<string, NDArray> = {
    tokens: new NDArray(tokensArr, [B, T]),
    positions: new NDArray(posArr, [B, T]),
    key_mask: new NDArray(new Uint8Array(B * T).fill(1), [B, T], 'bool'),
    ...weightFeeds,
    ...Object.fromEntries(consts),
  };
  for (const zi of z) feeds[zi.name] = new NDArray(new Float32Array(B * T * (zi.shape[2] as number)), [B, T, zi.shape[2] as number]);
  return { runner, B, T, feeds };
}

/** One target per row: a vector read at a hook (`blocks.L.ln2.hook_normalized` or `ln_final.hook_normalized`). */
export interface TargetSeed {
  hook: string;
  pos: number;
  vector: Float32Array;
}

/** Gradients of up to B targets: embed [B, T, D], mlp[L] [B, T, D] (direct effects in the frozen mode), and post[L]
 *  [B, T, F] when the graph was built with neurons. */
export async function targetGradients(rg: ReplacementGraph, model: Model, targets: readonly TargetSeed[]): Promise<{ embed: Float32Array; mlp: Float32Array[]; post: Float32Array[] }> {
  const { B, T } = rg;
  const D = model.spec.dModel;
  if (targets.length > B) throw new ProbityError('INTERNAL', `targetGradients: ${targets.length} targets for a graph of ${B} rows`);
  const hooks = [...Array.from({ length: model.spec.nLayers }, (_, l) => `blocks.${l}.ln2.hook_normalized`), 'ln_final.hook_normalized'];
  const seedArr = new Map(hooks.map((h) => [h, new Float32Array(B * T * D)]));
  targets.forEach((t, b) => {
    const a = seedArr.get(t.hook);
    if (!a) throw new ProbityError('INTERNAL', `targetGradients: no seed hook ${t.hook}`);
    a.set(t.vector, (b * T + t.pos) * D);
  });
  const feeds = { ...rg.feeds };
  for (const [h, a] of seedArr) feeds[`seed.${h}`] = new NDArray(a, [B, T, D]);
  const out = await rg.runner.run(feeds);
  return {
    embed: out['grad.embed'].data as Float32Array,
    mlp: Array.from({ length: model.spec.nLayers }, (_, l) => out[`grad.mlp.${l}`].data as Float32Array),
    post: out['grad.post.0'] ? Array.from({ length: model.spec.nLayers }, (_, l) => out[`grad.post.${l}`].data as Float32Array) : [],
  };
}
