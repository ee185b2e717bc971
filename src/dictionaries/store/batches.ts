// The batch interface shared by the disk store (reader.ts) and the on-the-fly source (on-the-fly.ts), and the shuffle
// both use. A pass (epoch) is cut into windows of at most `shuffleBuffer` positions (disk: groups of whole shards, in
// a seeded random order; on the fly: consecutive model batches). The rows of a window are emitted in a seeded random
// order, so every position comes exactly once per epoch. A batch may take rows from two windows, never from two
// epochs. Everything is a function of (seed, epoch, window), so a cursor {epoch, window, offset} resumes exactly.
import { ProbityError, show } from '../../errors.js';
import { NDArray } from '../../engine/ndarray.js';
import { checkPositiveInt, checkSeed, mix32, permutation, type HookInfo } from './format.js';

export interface BatchCursor {
  epoch: number;
  /** Window of the epoch, and rows of it already emitted. */
  window: number;
  offset: number;
  /** The settings the cursor is valid for. */
  seed: number;
  shuffleBuffer: number;
  shuffle: boolean;
}

export interface BatchOptions {
  /** One hook, or several (e.g. [input, output] for a transcoder): all get the same rows in the same order. */
  hook: string | readonly string[];
  batchSize: number;
  /** Default 0. */
  seed?: number;
  /** Passes over the data (default 1; Infinity for an endless stream). */
  epochs?: number;
  /** Positions mixed together (bounded memory: this many positions per hook in float32). Disk: at least one shard. */
  shuffleBuffer?: number;
  /** false: positions in stored order (no shuffling). Default true. */
  shuffle?: boolean;
  /** Drop the last, smaller batch of each epoch (default false: it is yielded with fewer rows). */
  dropLast?: boolean;
  /** Continue after the batch that returned this cursor. */
  cursor?: BatchCursor;
}

export interface ActivationBatch {
  /** [rows, d] float32 of the first hook. */
  x: NDArray<Float32Array>;
  /** [rows, d2] of the second hook, same positions (when two or more hooks were asked for). */
  y?: NDArray<Float32Array>;
  /** Every hook asked for, in order. */
  acts: NDArray<Float32Array>[];
  rows: number;
  /** Index of each row's position within the pass (disk: its position in the store, 0 .. tokens-1). */
  index: Float64Array;
  epoch: number;
  /** Pass this as `cursor` to continue with the next batch (e.g. from a trainer checkpoint). */
  cursor: BatchCursor;
}

/** Anything that yields shuffled activation batches: an on-disk store or the on-the-fly source. */
export interface ActivationSource {
  readonly hooks: readonly HookInfo[];
  /** Values per position of a hook. */
  d(hook: string): number;
  batches(opts: BatchOptions): AsyncGenerator<ActivationBatch>;
}

/** Rows of one window: activations per requested hook (float32, [rows, d]) and each row's index in the pass. */
export interface Window {
  rows: number;
  acts: Float32Array[];
  index: Float64Array;
}

export interface WindowProvider {
  /** Window `w` of pass `epoch`, or null past the last window. Called with increasing w within an epoch. */
  window(epoch: number, w: number): Promise<Window | null>;
}

export interface ResolvedBatchOptions {
  hooks: HookInfo[];
  batchSize: number;
  seed: number;
  epochs: number;
  shuffleBuffer: number;
  shuffle: boolean;
  dropLast: boolean;
  start: { epoch: number; window: number; offset: number };
}

export function resolveBatchOptions(o: BatchOptions, all: readonly HookInfo[], defaultBuffer: number): ResolvedBatchOptions {
  if (!o || typeof o !== 'object') throw new ProbityError('STORE_OPTIONS', 'batches: options are required ({ hook, batchSize, ... })');
  const names = typeof o.hook === 'string' ? [o.hook] : o.hook;
  if (!Array.isArray(names) || names.length === 0) throw new ProbityError('STORE_OPTIONS', `batches: hook must be a hook name or a non-empty list, got ${show(o.hook)}`);
  const hooks = names.map((n) => {
    const h = all.find((x) => x.name === n);
    if (!h) throw new ProbityError('STORE_HOOK', `batches: hook ${show(n)} is not in this source; it has ${all.map((x) => x.name).join(', ')}`);
    return h;
  });
  const batchSize = checkPositiveInt(o.batchSize, 'batches: batchSize');
  const seed = checkSeed(o.seed ?? 0, 'batches: seed');
  const epochs = o.epochs ?? 1;
  if (epochs !== Infinity) checkPositiveInt(epochs, 'batches: epochs');
  const shuffleBuffer = checkPositiveInt(o.shuffleBuffer ?? defaultBuffer, 'batches: shuffleBuffer');
  const shuffle = o.shuffle ?? true;
  const start = { epoch: 0, window: 0, offset: 0 };
  const c = o.cursor;
  if (c) {
    const ok = [c.epoch, c.window, c.offset].every((v) => Number.isSafeInteger(v) && v >= 0);
    if (!ok) throw new ProbityError('STORE_CURSOR', `batches: malformed cursor ${JSON.stringify(c)}`);
    if (c.seed !== seed || c.shuffleBuffer !== shuffleBuffer || c.shuffle !== shuffle) {
      throw new ProbityError('STORE_CURSOR', `batches: the cursor was made with seed ${c.seed}, shuffleBuffer ${c.shuffleBuffer}, shuffle ${c.shuffle}; this call has seed ${seed}, shuffleBuffer ${shuffleBuffer}, shuffle ${shuffle}`);
    }
    Object.assign(start, { epoch: c.epoch, window: c.window, offset: c.offset });
  }
  return { hooks, batchSize, seed, epochs, shuffleBuffer, shuffle, dropLast: o.dropLast ?? false, start };
}

/** Seed of the row permutation of one window. */
export const windowSeed = (seed: number, epoch: number, w: number) => mix32(seed, epoch, w, 0x57a7);

export async function* shuffledBatches(p: WindowProvider, o: ResolvedBatchOptions): AsyncGenerator<ActivationBatch> {
  const widths = o.hooks.map((h) => h.d);
  const B = o.batchSize;
  for (let epoch = o.start.epoch; epoch < o.epochs; epoch++) {
    const resumeHere = epoch === o.start.epoch;
    let w = resumeHere ? o.start.window : 0;
    let offset = resumeHere ? o.start.offset : 0;
    let bufs = widths.map((d) => new Float32Array(B * d));
    let index = new Float64Array(B);
    let fill = 0;
    const emit = (rows: number, cursor: BatchCursor): ActivationBatch => {
      const acts = bufs.map((b, i) => new NDArray(rows === B ? b : b.slice(0, rows * widths[i]), [rows, widths[i]]));
      const batch: ActivationBatch = { x: acts[0], acts, rows, index: rows === B ? index : index.slice(0, rows), epoch, cursor };
      if (acts.length > 1) batch.y = acts[1];
      bufs = widths.map((d) => new Float32Array(B * d));
      index = new Float64Array(B);
      fill = 0;
      return batch;
    };
    const cursorAt = (e: number, win: number, off: number): BatchCursor => ({ epoch: e, window: win, offset: off, seed: o.seed, shuffleBuffer: o.shuffleBuffer, shuffle: o.shuffle });
    for (;;) {
      const win = await p.window(epoch, w);
      if (!win) break;
      const perm = o.shuffle ? permutation(win.rows, windowSeed(o.seed, epoch, w)) : null;
      for (let i = offset; i < win.rows; i++) {
        const r = perm ? perm[i] : i;
        for (let h = 0; h < widths.length; h++) {
          const d = widths[h];
          bufs[h].set(win.acts[h].subarray(r * d, (r + 1) * d), fill * d);
        }
        index[fill] = win.index[r];
        fill++;
        if (fill === B) yield emit(B, i + 1 === win.rows ? cursorAt(epoch, w + 1, 0) : cursorAt(epoch, w, i + 1));
      }
      w++;
      offset = 0;
    }
    if (fill > 0 && !o.dropLast) yield emit(fill, cursorAt(epoch + 1, 0, 0));
  }
}
