// Training rows from a corpus folder: whole documents packed greedily into rows of `ctx + 1` tokens (a document is
// never split: a row ends with padding rather than half a story), read shard by shard. The cursor (document index)
// is saved in checkpoints so a resumed run continues with the very next batch.
import { readManifest, readShard, type Manifest } from '../shards.js';
import { PAD } from '../tokenizer.js';
import { NDArray } from '../../engine/ndarray.js';

export interface LmBatch {
  tokens: NDArray; // [B, T] int64
  positions: NDArray; // [B, T] int64
  key_mask: NDArray; // [B, T] bool
  targets: NDArray; // [B, T] int64
  loss_mask: NDArray; // [B, T] float32
}

/** Build a batch from rows of token ids (each <= T + 1 long). Padding is masked out of keys and loss. */
export function packRows(rows: ArrayLike<number>[], T: number): LmBatch {
  const B = rows.length;
  const tokens = new BigInt64Array(B * T);
  const positions = new BigInt64Array(B * T);
  const keyMask = new Uint8Array(B * T);
  const targets = new BigInt64Array(B * T);
  const lossMask = new Float32Array(B * T);
  rows.forEach((r, b) => {
    for (let t = 0; t < T; t++) {
      const real = t < r.length;
      tokens[b * T + t] = BigInt(real ? r[t] : PAD);
      positions[b * T + t] = BigInt(t);
      keyMask[b * T + t] = real ? 1 : 0;
      if (t + 1 < r.length) {
        targets[b * T + t] = BigInt(r[t + 1]);
        lossMask[b * T + t] = 1;
      }
    }
  });
  return {
    tokens: new NDArray(tokens, [B, T]),
    positions: new NDArray(positions, [B, T]),
    key_mask: new NDArray(keyMask, [B, T], 'bool'),
    targets: new NDArray(targets, [B, T]),
    loss_mask: new NDArray(lossMask, [B, T]),
  };
}

export class PackedReader {
  private manifest: Manifest;
  private shard = -1;
  private cache: ReturnType<typeof readShard> | null = null;
  /** Index (over the whole corpus) of the next document to read. */
  cursor: number;

  constructor(
    readonly dir: string,
    readonly ctx: number,
    cursor = 0,
  ) {
    this.manifest = readManifest(dir);
    this.cursor = cursor;
  }

  get totalDocs(): number {
    return this.manifest.totals.docs;
  }

  private doc(i: number): Uint16Array {
    const idx = i % this.totalDocs; // wrap around: epochs
    let s = this.manifest.shards.findIndex((sh) => idx >= sh.firstDoc && idx < sh.firstDoc + sh.numDocs);
    if (s !== this.shard) {
      this.cache = readShard(this.dir, s, this.manifest);
      this.shard = s;
    }
    const rec = this.cache!.docs[idx - this.manifest.shards[s].firstDoc];
    return this.cache!.tokens.subarray(rec.start, rec.start + rec.length);
  }

  /** Next batch of B rows, each filled with whole documents up to ctx + 1 tokens. */
  next(B: number): LmBatch {
    const rows: number[][] = [];
    for (let b = 0; b < B; b++) {
      const row: number[] = [];
      for (;;) {
        const d = this.doc(this.cursor);
        if (row.length > 0 && row.length + d.length > this.ctx + 1) break;
        for (let i = 0; i < d.length && row.length < this.ctx + 1; i++) row.push(d[i]);
        this.cursor++;
      }
      rows.push(row);
    }
    return packRows(rows, this.ctx);
  }
}
