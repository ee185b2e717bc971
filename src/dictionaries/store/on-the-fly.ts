// Activations generated as they are consumed, with no disk: the same batches() interface as an on-disk store.
// A pass reads the token source from the start, runs the model in batches of `batchRows` rows, and cuts the stream
// into windows of at least `shuffleBuffer` positions (a window ends after the model batch that fills it); the rows
// of a window are emitted in a seeded random order (batches.ts). Window boundaries depend only on row lengths, so a
// cursor resumes exactly: the windows before it are skipped without running the model.
import { ProbityError, show } from '../../errors.js';
import type { Model } from '../../models/model.js';
import { checkPositiveInt, hookInfos, type HookInfo } from './format.js';
import { resolveBatchOptions, shuffledBatches, type ActivationBatch, type ActivationSource, type BatchOptions, type Window, type WindowProvider } from './batches.js';
import { runHooks, DEFAULT_BATCH_ROWS } from './harvest.js';
import { toTokenSource, type TokenInput, type TokenRow, type TokenSource } from './sources.js';

export const DEFAULT_FLY_BUFFER = 65536;

export interface OnTheFlyOptions {
  model: Model;
  /** Hooks that batches() may ask for. */
  hooks: readonly string[];
  tokens: TokenInput;
  /** Rows per model batch (default 16). */
  batchRows?: number;
  /** Truncate rows to this many tokens (default and maximum: the model's context). */
  ctx?: number;
  /** Leave out position 0 of every row (default true), as harvest does. */
  skipBos?: boolean;
  /** End each pass after this many positions (default: when the source ends). */
  maxTokens?: number;
}

type Batch = { rows: number[][]; positions: number };

class FlyWindows implements WindowProvider {
  private it: Iterator<TokenRow> | AsyncIterator<TokenRow> | null = null;
  private epoch = -1;
  private nextWindow = 0;
  private done = false;
  /** Positions of the pass emitted so far (index of the next one). */
  private index = 0;

  constructor(
    private readonly src: OnTheFlySource,
    private readonly hooks: HookInfo[],
    private readonly buffer: number,
  ) {}

  private restart(epoch: number): void {
    const rows = this.src.source.rows();
    const a = (rows as AsyncIterable<TokenRow>)[Symbol.asyncIterator];
    this.it = a ? a.call(rows) : (rows as Iterable<TokenRow>)[Symbol.iterator]();
    this.epoch = epoch;
    this.nextWindow = 0;
    this.done = false;
    this.index = 0;
  }

  /** The next model batch: up to batchRows rows that hold at least one stored position, cut at maxTokens. */
  private async readBatch(): Promise<Batch | null> {
    const { ctx, skipBos, batchRows, maxTokens } = this.src;
    const rows: number[][] = [];
    let positions = 0;
    while (!this.done && rows.length < batchRows && this.index + positions < maxTokens) {
      const r = await this.it!.next();
      if (r.done) {
        this.done = true;
        break;
      }
      const raw = r.value;
      let len = Math.min(raw.length, ctx);
      let n = len - (skipBos ? 1 : 0);
      if (n <= 0) continue;
      const left = maxTokens - this.index - positions;
      if (n > left) {
        n = left;
        len = n + (skipBos ? 1 : 0);
      }
      const row = new Array<number>(len);
      for (let i = 0; i < len; i++) row[i] = raw[i];
      rows.push(row);
      positions += n;
    }
    if (this.index + positions >= maxTokens) this.done = true;
    return rows.length ? { rows, positions } : null;
  }

  /** Read one window; run the model only when `run` (otherwise just skip it). */
  private async collect(run: boolean): Promise<Window | null> {
    const cap = this.buffer + this.src.batchRows * this.src.ctx;
    const acts = run ? this.hooks.map((h) => new Float32Array(cap * h.d)) : [];
    const index = run ? new Float64Array(cap) : new Float64Array(0);
    let fill = 0;
    while (fill < this.buffer) {
      const b = await this.readBatch();
      if (!b) break;
      if (run) {
        const { T, srcs } = await runHooks(this.src.model, this.hooks, b.rows);
        b.rows.forEach((row, r) => {
          const t0 = this.src.skipBos ? 1 : 0;
          const k = row.length - t0;
          const at = r * T + (T - row.length) + t0;
          this.hooks.forEach((h, i) => acts[i].set(srcs[i].subarray(at * h.d, (at + k) * h.d), fill * h.d));
          for (let j = 0; j < k; j++) index[fill + j] = this.index + j;
          fill += k;
          this.index += k;
        });
      } else {
        fill += b.positions;
        this.index += b.positions;
      }
    }
    if (fill === 0) return null;
    return { rows: fill, acts: acts.map((a, i) => a.subarray(0, fill * this.hooks[i].d)), index: index.subarray(0, fill) };
  }

  async window(epoch: number, w: number): Promise<Window | null> {
    if (epoch !== this.epoch || w < this.nextWindow) this.restart(epoch);
    while (this.nextWindow < w) {
      if (!(await this.collect(false))) return null;
      this.nextWindow++;
    }
    const win = await this.collect(true);
    this.nextWindow++;
    if (!win && epoch === 0 && w === 0) throw new ProbityError('STORE_EMPTY', 'on-the-fly: the token source yielded no positions');
    return win;
  }
}

export class OnTheFlySource implements ActivationSource {
  readonly hooks: readonly HookInfo[];
  readonly source: TokenSource;
  readonly batchRows: number;
  readonly ctx: number;
  readonly skipBos: boolean;
  readonly maxTokens: number;

  constructor(
    readonly model: Model,
    opts: OnTheFlyOptions,
  ) {
    this.hooks = hookInfos(model, opts.hooks);
    this.source = toTokenSource(opts.tokens);
    this.batchRows = checkPositiveInt(opts.batchRows ?? DEFAULT_BATCH_ROWS, 'onTheFly: batchRows');
    this.ctx = checkPositiveInt(opts.ctx ?? model.spec.nCtx, 'onTheFly: ctx');
    if (this.ctx > model.spec.nCtx) throw new ProbityError('STORE_OPTIONS', `onTheFly: ctx ${this.ctx} exceeds the model's context of ${model.spec.nCtx}`);
    this.skipBos = opts.skipBos ?? true;
    if (typeof this.skipBos !== 'boolean') throw new ProbityError('STORE_OPTIONS', `onTheFly: skipBos must be a boolean, got ${show(this.skipBos)}`);
    this.maxTokens = opts.maxTokens === undefined || opts.maxTokens === Infinity ? Infinity : checkPositiveInt(opts.maxTokens, 'onTheFly: maxTokens');
  }

  d(name: string): number {
    const h = this.hooks.find((x) => x.name === name);
    if (!h) throw new ProbityError('STORE_HOOK', `on-the-fly: hook ${show(name)} was not set up; it has ${this.hooks.map((x) => x.name).join(', ')}`);
    return h.d;
  }

  /** Shuffled batches (see batches.ts); default shuffleBuffer 65536 positions. Only the hooks asked for are computed. */
  batches(opts: BatchOptions): AsyncGenerator<ActivationBatch> {
    const o = resolveBatchOptions(opts, this.hooks, DEFAULT_FLY_BUFFER);
    const provider = new FlyWindows(this, o.hooks, o.shuffleBuffer);
    return shuffledBatches(provider, o);
  }
}

export function onTheFly(opts: OnTheFlyOptions): OnTheFlySource {
  return new OnTheFlySource(opts.model, opts);
}
