// The generation queue behind probity's servers. Requests wait in a FIFO; the scheduler steps *batches* of them through
// Model.forward with a KV cache, one token per step, and interleaves the active batches round-robin, so a new request
// starts (its prefill runs) between the steps of the batches already running rather than after them.
//
// Batching rule: rows of one batch share one forward call, so they must share the intervention map and the prompt
// length. Model.forward can left-pad ragged rows (the key mask hides padding), but a padded row's logits differ from
// its unpadded run by ~6e-6 (measured on the organism: the attention softmax then reduces over more keys), while
// plain rows of equal length give the very bits of a batch of one (onnxruntime's GEMMs on prepacked constant
// weights are batch-invariant). Graphs with interventions take the weights as inputs, and those GEMMs are not: a
// steered row batched with another differs from its run alone by ~5e-6 (measured). So by default a request with
// interventions runs as its own batch (interleaved with the others), and every answer, steered or not, equals
// `generate()` on that prompt alone bit for bit, whatever else the server is doing; `batchSteered` lets requests
// with equal `interventionKey`s share batches, for throughput, at float32 round-off. A finished or aborted row leaves
// its batch at the next step (its KV-cache rows are dropped), so its slot is free for the queue.
//
// Per request, sampling reproduces generate() on that prompt alone: its own seeded stream (`seededRandom(seed ?? 0)`),
// `sample` on the raw logits, `tokenLogprob` for the returned logprobs, the stop ids not returned.
import type { KVCache, Model } from '../models/model.js';
import type { Generation } from '../models/generate.js';
import type { InterventionMap } from '../models/hooks/interventions.js';
import { sample, seededRandom, tokenLogprob, type TokenLogprob } from '../models/sampling.js';
import { NDArray } from '../engine/ndarray.js';
import { ProbityError } from '../errors.js';

export interface GenerationRequest {
  prompt: number[]; // token ids (BOS included when the model wants one)
  maxTokens: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  seed?: number;
  stop?: number[]; // stop token ids (default: the tokenizer's EOS); a stop token is not returned
  logprobs?: number; // top alternatives per generated token (0 = the chosen token's only)
  interventions?: InterventionMap; // from src/models/hooks/interventions.ts
  interventionKey?: string; // requests with equal keys (and compatible shapes) may share a batch
  signal?: AbortSignal; // aborting frees the slot (a client that disconnects mid-stream)
  onToken?: (token: number, logprob: TokenLogprob) => void; // called as each token is sampled (streaming)
  /** Also score the prompt: `promptLogprobs` in the result (the prefill then computes logits at every position). */
  echo?: boolean;
  /** Called with the prompt's logprobs once the prefill has scored them (echo). */
  onPrompt?: (logprobs: (TokenLogprob | null)[]) => void;
  /** Logits as the *returned* logprobs see them (a test distortion); sampling always sees the model's own logits. */
  logprobLogits?: (logits: Float32Array) => ArrayLike<number>;
}

export interface ScheduledGeneration extends Generation {
  /** With `echo`: per prompt token its logprob given the tokens before it, with top alternatives; null for the first. */
  promptLogprobs?: (TokenLogprob | null)[];
}

export class QueueFullError extends Error {
  override name = 'QueueFullError';
}
/** submit() after close(). */
export class SchedulerClosedError extends Error {
  override name = 'SchedulerClosedError';
}
/** The request's signal was aborted before it finished. */
export class RequestAbortedError extends Error {
  override name = 'AbortError';
}

export interface SchedulerOptions {
  /** Requests waiting to start; one more is refused with QueueFullError (default 256). */
  maxQueue?: number;
  /** Rows per batch (default 8). */
  maxBatch?: number;
  /** Batches stepped in turn (default 8); more wait in the queue. */
  maxActive?: number;
  /** Let requests with equal interventionKeys share batches (equal to their runs alone to float32 round-off only). */
  batchSteered?: boolean;
}

interface Row {
  req: GenerationRequest;
  rand: () => number;
  stop: Set<number>;
  out: ScheduledGeneration;
  resolve: (g: ScheduledGeneration) => void;
  reject: (e: unknown) => void;
  /** The token to feed at the next step. */
  last: number;
  done: boolean;
}

interface Batch {
  rows: Row[];
  interventions?: InterventionMap;
  past?: KVCache;
}

export class Scheduler {
  readonly maxQueue: number;
  readonly maxBatch: number;
  readonly maxActive: number;
  readonly batchSteered: boolean;
  private queue: { row: Row; group: string }[] = [];
  private batches: Batch[] = [];
  private running = false;
  private closed = false;
  private idle: (() => void)[] = [];
  private solo = 0;
  /** Forward calls made (prefills + decode steps) and rows they carried: batching at work, for logs and tests. */
  readonly stats = { steps: 0, rows: 0 };

  constructor(
    readonly model: Model,
    opts: SchedulerOptions = {},
  ) {
    this.maxQueue = opts.maxQueue ?? 256;
    this.maxBatch = opts.maxBatch ?? 8;
    this.maxActive = opts.maxActive ?? 8;
    this.batchSteered = opts.batchSteered ?? false;
    for (const [k, v] of Object.entries({ maxQueue: this.maxQueue, maxBatch: this.maxBatch, maxActive: this.maxActive })) {
      if (!(Number.isInteger(v) && v >= 1)) throw new ProbityError('SCHEDULER_ARG', `Scheduler: ${k} must be an integer >= 1, got ${v}`);
    }
  }

  /** Requests waiting to start and rows running. */
  get load(): { queued: number; active: number } {
    return { queued: this.queue.length, active: this.batches.reduce((n, b) => n + b.rows.length, 0) };
  }

  submit(r: GenerationRequest): Promise<ScheduledGeneration> {
    if (this.closed) return Promise.reject(new SchedulerClosedError('the server is shutting down: no new requests'));
    if (this.queue.length >= this.maxQueue) return Promise.reject(new QueueFullError(`the generation queue is full (${this.maxQueue} requests waiting); retry later`));
    if (!(Number.isInteger(r.maxTokens) && r.maxTokens >= 0)) return Promise.reject(new ProbityError('GENERATE_ARG', `maxTokens must be an integer >= 0, got ${r.maxTokens}`));
    if (r.prompt.length === 0) return Promise.reject(new ProbityError('INPUT_EMPTY', 'the prompt has no tokens'));
    if (r.prompt.length + (r.maxTokens > 0 ? 1 : 0) > this.model.spec.nCtx) {
      const room = r.maxTokens > 0 ? ' with room for one generated token' : '';
      return Promise.reject(new ProbityError('INPUT_TOO_LONG', `the prompt has ${r.prompt.length} tokens; the model's context of ${this.model.spec.nCtx} holds at most ${this.model.spec.nCtx - (r.maxTokens > 0 ? 1 : 0)}${room}`));
    }
    if (r.signal?.aborted) return Promise.reject(new RequestAbortedError('the request was aborted before it started'));
    const eos = this.model.tokenizer.eos;
    return new Promise((resolve, reject) => {
      const row: Row = {
        req: r, rand: seededRandom(r.seed ?? 0), stop: new Set(r.stop ?? (eos !== null ? [eos] : [])),
        out: { tokens: [], logprobs: [], finishReason: 'length' }, resolve, reject, last: -1, done: false,
      };
      if (r.maxTokens === 0 && !r.echo) {
        resolve(row.out); // generate() does no forward either
        return;
      }
      const steered = r.interventions !== undefined && Object.keys(r.interventions).length > 0;
      const ivKey = !steered ? 'none' : this.batchSteered && r.interventionKey !== undefined ? `k:${r.interventionKey}` : `solo:${this.solo++}`;
      this.queue.push({ row, group: JSON.stringify([ivKey, r.prompt.length, !!r.echo]) });
      r.signal?.addEventListener('abort', () => this.kick(), { once: true });
      this.kick();
    });
  }

  /** Refuse new requests; resolves once every accepted one (queued or running) has finished. */
  close(): Promise<void> {
    this.closed = true;
    if (!this.running && this.queue.length === 0 && this.batches.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private kick(): void {
    if (this.running) return;
    this.running = true;
    // Start on the next turn of the event loop, so requests submitted together (n choices, concurrent clients)
    // are queued together and share the first batch.
    setImmediate(() => void this.loop());
  }

  private async loop(): Promise<void> {
    try {
      for (;;) {
        this.dropAborted();
        this.admit();
        if (this.batches.length === 0) break;
        for (const b of [...this.batches]) {
          this.dropAborted();
          if (b.rows.length > 0) await this.step(b);
          if (b.rows.length === 0) this.batches.splice(this.batches.indexOf(b), 1);
        }
      }
    } finally {
      this.running = false;
    }
    if (this.queue.length > 0) this.kick(); // an admission raced the exit
    else if (this.closed) for (const f of this.idle.splice(0)) f();
  }

  /** Start batches from the queue, oldest request first, each with the queued requests of its group. */
  private admit(): void {
    while (this.batches.length < this.maxActive && this.queue.length > 0) {
      const group = this.queue[0].group;
      const rows: Row[] = [];
      this.queue = this.queue.filter((q) => {
        if (q.group !== group || rows.length >= this.maxBatch) return true;
        rows.push(q.row);
        return false;
      });
      this.batches.push({ rows, interventions: rows[0].req.interventions });
    }
  }

  private dropAborted(): void {
    const aborted = (r: Row) => r.req.signal?.aborted === true;
    for (const q of this.queue) if (aborted(q.row)) q.row.reject(new RequestAbortedError('the request was aborted before it started'));
    this.queue = this.queue.filter((q) => !aborted(q.row));
    for (const b of this.batches) {
      for (const r of b.rows) {
        if (aborted(r)) {
          r.done = true;
          r.reject(new RequestAbortedError(`the request was aborted after ${r.out.tokens.length} tokens`));
        }
      }
      this.compact(b);
    }
  }

  /** One forward for the batch (its prefill, or one decode step) and one sampled token per row. */
  private async step(b: Batch): Promise<void> {
    const model = this.model;
    const prefill = !b.past;
    const echo = prefill && b.rows[0].req.echo === true;
    const inputs = prefill ? b.rows.map((r) => r.req.prompt) : b.rows.map((r) => [r.last]);
    let res;
    try {
      res = await model.forward(inputs, { past: b.past, logits: echo ? 'all' : 'last', interventions: b.interventions, returnPresent: true });
    } catch (e) {
      for (const r of b.rows) {
        r.done = true;
        r.reject(e);
      }
      b.rows = [];
      return;
    }
    this.stats.steps++;
    this.stats.rows += b.rows.length;
    b.past = res.present;
    const V = model.spec.vocab;
    const T = echo ? inputs[0].length : 1;
    const logits = res.logits!.data;
    b.rows.forEach((r, i) => {
      if (r.done) return; // aborted while the forward ran: compact() drops it below
      const at = (t: number) => logits.subarray((i * T + t) * V, (i * T + t + 1) * V);
      const seen = (x: Float32Array) => (r.req.logprobLogits ? r.req.logprobLogits(x) : x);
      const n = r.req.logprobs ?? 0;
      try {
        if (echo) {
          r.out.promptLogprobs = r.req.prompt.map((tok, t) => (t === 0 ? null : tokenLogprob(seen(at(t - 1)), tok, n)));
          r.req.onPrompt?.(r.out.promptLogprobs);
        }
        if (r.req.maxTokens === 0) return this.finish(r, 'length');
        const row = at(T - 1);
        const tok = sample(row, r.req, r.rand);
        if (r.stop.has(tok)) return this.finish(r, 'stop');
        const lp = tokenLogprob(seen(row), tok, n);
        r.out.tokens.push(tok);
        r.out.logprobs.push(lp);
        r.last = tok;
        r.req.onToken?.(tok, lp);
        // The context holds prompt + completion: a row that fills it ends as if by max_tokens.
        if (r.out.tokens.length >= r.req.maxTokens || r.req.prompt.length + r.out.tokens.length >= model.spec.nCtx) this.finish(r, 'length');
      } catch (e) {
        r.done = true;
        r.reject(e);
      }
    });
    this.compact(b);
  }

  private finish(r: Row, reason: 'stop' | 'length'): void {
    r.done = true;
    r.out.finishReason = reason;
    r.resolve(r.out);
  }

  /** Drop finished rows from a batch, and their rows of the KV cache. */
  private compact(b: Batch): void {
    const keep = b.rows.map((r, i) => (r.done ? -1 : i)).filter((i) => i >= 0);
    if (keep.length === b.rows.length) return;
    b.rows = keep.map((i) => b.rows[i]);
    if (b.past && keep.length > 0) b.past = keepRows(b.past, keep);
  }
}

/** The KV cache of the given batch rows only. */
function keepRows(c: KVCache, keep: number[]): KVCache {
  const take = (a: NDArray): NDArray => {
    const [B, ...rest] = a.dims;
    const n = a.size / B;
    const data = new Float32Array(keep.length * n);
    keep.forEach((b, j) => data.set((a.data as Float32Array).subarray(b * n, (b + 1) * n), j * n));
    return new NDArray(data, [keep.length, ...rest]);
  };
  const S = c.length;
  const mask = new Uint8Array(keep.length * S);
  keep.forEach((b, j) => mask.set(c.mask.subarray(b * S, (b + 1) * S), j * S));
  return { k: c.k.map(take), v: c.v.map(take), mask, batch: keep.length, length: S };
}
