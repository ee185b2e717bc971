// A training step as ONE graph: forward, reverse-mode gradients, optional clipping, optimizer update. Parameters and
// optimizer state go in as inputs and come out updated, written by ORT directly into the idle buffer of each pair.
import { ProbityError } from '../../errors.js';
import { Graph, type Tensor } from '../graph/graph.js';
import type { DType } from '../graph/dtype.js';
import type { Shape } from '../graph/shape.js';
import { grad } from '../grad/backward.js';
import { compile, type GraphRunner, type SessionOptions } from '../session/session.js';
import { NDArray } from '../ndarray.js';
import { Parameters } from './parameters.js';
import { clipByGlobalNorm, stateNames, stepScalars, update, type OptimizerConfig } from './optim.js';

export interface TrainStepSpec {
  name?: string;
  params: Parameters;
  /** Batch inputs: name -> dtype and (symbolic) shape. */
  inputs: Record<string, { dtype: DType; shape: Shape }>;
  /** Build the loss from parameter and input tensors; extra named scalars are reported as metrics. */
  loss: (p: Record<string, Tensor>, x: Record<string, Tensor>) => { loss: Tensor; metrics?: Record<string, Tensor> };
  optimizer: OptimizerConfig;
  /** Train only these (default: all parameters). */
  trainable?: string[];
  clipNorm?: number | null;
  /** Whether weight decay applies to a parameter (default: tensors of rank >= 2). */
  decay?: (name: string, dims: number[]) => boolean;
  /** Rewrite a gradient before the update (e.g. remove the component parallel to SAE decoder rows). */
  gradTransform?: Record<string, (g: Tensor, p: Tensor) => Tensor>;
  /** Rewrite a parameter after the update (e.g. renormalise decoder rows). */
  postUpdate?: Record<string, (p: Tensor) => Tensor>;
  session?: SessionOptions;
  /** Share optimizer state with another step built over the same parameters (e.g. variants of one loss). */
  state?: Parameters;
}

export interface StepResult {
  loss: number;
  gradNorm: number;
  metrics: Record<string, number>;
}

export class TrainStep {
  private t = 0;
  private constructor(
    private readonly spec: TrainStepSpec,
    private readonly sess: GraphRunner,
    readonly state: Parameters,
    private readonly trainable: string[],
    private readonly metricNames: string[],
  ) {}

  static async create(spec: TrainStepSpec): Promise<TrainStep> {
    const { params } = spec;
    const trainable = spec.trainable ?? params.names;
    const g = new Graph(spec.name ?? 'train_step');
    const p: Record<string, Tensor> = {};
    for (const n of params.names) p[n] = g.input(`p.${n}`, 'float32', params.dims(n));
    const x: Record<string, Tensor> = {};
    for (const [n, s] of Object.entries(spec.inputs)) x[n] = g.input(n, s.dtype, s.shape);
    const scalars = { lr: g.input('lr', 'float32', []), lrT: g.input('lrT', 'float32', []), epsT: g.input('epsT', 'float32', []) };
    const state = spec.state ?? new Parameters();
    const sn = stateNames(spec.optimizer);
    const st: Record<string, Record<string, Tensor>> = {};
    for (const n of trainable) {
      st[n] = {};
      for (const k of sn) {
        if (!spec.state) state.add(`${k}.${n}`, params.dims(n));
        else if (!state.has(`${k}.${n}`)) throw new ProbityError('TRAIN_STATE', `shared optimizer state has no ${k}.${n}`);
        st[n][k] = g.input(`${k}.${n}`, 'float32', params.dims(n));
      }
    }

    const { loss, metrics = {} } = spec.loss(p, x);
    g.output(loss, 'loss');
    let grads = grad(loss, trainable.map((n) => p[n]));
    grads = grads.map((d, i) => spec.gradTransform?.[trainable[i]]?.(d, p[trainable[i]]) ?? d);
    const clipped = clipByGlobalNorm(grads, spec.clipNorm ?? null);
    g.output(clipped.norm, 'grad_norm');
    const decay = spec.decay ?? ((_n: string, dims: number[]) => dims.length >= 2);
    trainable.forEach((n, i) => {
      const u = update(spec.optimizer, p[n], clipped.grads[i], st[n], scalars, decay(n, params.dims(n)));
      const post = spec.postUpdate?.[n];
      g.output(post ? post(u.p) : u.p, `new.p.${n}`);
      for (const k of sn) g.output(u.state[k], `new.${k}.${n}`);
    });
    for (const [k, t] of Object.entries(metrics)) g.output(t, `metric.${k}`);
    const sess = await compile(g, spec.session);
    return new TrainStep(spec, sess, state, trainable, Object.keys(metrics));
  }

  get stepCount(): number {
    return this.t;
  }
  /** Restore the step counter (bias corrections depend on it) when resuming. */
  set stepCount(t: number) {
    this.t = t;
  }

  async step(batch: Record<string, NDArray>, lr: number): Promise<StepResult> {
    const { params, optimizer } = this.spec;
    this.t++;
    const sc = stepScalars(optimizer, lr, this.t);
    const feeds: Record<string, NDArray> = { ...batch, lr: NDArray.scalar(sc.lr), lrT: NDArray.scalar(sc.lrT), epsT: NDArray.scalar(sc.epsT) };
    for (const n of params.names) feeds[`p.${n}`] = params.get(n);
    for (const n of this.state.names) feeds[n] = this.state.get(n);
    const into: Record<string, NDArray> = {};
    for (const n of this.trainable) into[`new.p.${n}`] = params.backBuffer(n);
    for (const n of this.state.names) into[`new.${n}`] = this.state.backBuffer(n);
    const fetch = ['loss', 'grad_norm', ...Object.keys(into), ...this.metricNames.map((m) => `metric.${m}`)];
    const out = await this.sess.run(feeds, fetch, into);
    params.swap(this.trainable);
    this.state.swap(this.state.names);
    const loss = Number(out.loss.data[0]);
    if (!Number.isFinite(loss)) throw new ProbityError('TRAIN_NONFINITE', `training step ${this.t}: loss is ${loss}`);
    const metrics: Record<string, number> = {};
    for (const m of this.metricNames) metrics[m] = Number(out[`metric.${m}`].data[0]);
    return { loss, gradNorm: Number(out.grad_norm.data[0]), metrics };
  }

  release(): void {
    this.sess.release();
  }
}
