// Phase 1 of the dashboard data: documents through the model to the SAE's hook, the SAE code of every scored token,
// one binary file per chunk of documents. A chunk file is written whole (temporary name, then rename), so after a
// kill the run resumes at the first chunk file that is missing.
//
// Chunk file: u32 header length, header JSON (UTF-8), zero padding to 4 bytes, then
//   tokens  Int32  [n]       token id of each scored token
//   labels  Uint32 [n]       concept bitmask (0 without ground truth)
//   idx     Int32  [n * k]   the code's latent indices
//   val     Float32[n * k]   their activations (0 = padding of a dense code)
import fs from 'node:fs';
import path from 'node:path';
import type { Model } from '../../models/model.js';
import type { Sae } from '../../dictionaries/sae.js';
import { ProbityError } from '../../errors.js';

/** A document as the model reads it: `tokens` with BOS where the model wants one; scored positions [from, to). */
export interface SourceDoc {
  index: number;
  tokens: number[];
  labels?: Uint32Array;
  from: number;
  to: number;
}

export interface ChunkHeader {
  docs: { index: number; n: number }[];
  k: number;
  n: number;
}

export interface Chunk extends ChunkHeader {
  tokens: Int32Array;
  labels: Uint32Array;
  idx: Int32Array;
  val: Float32Array;
}

export function writeAtomic(file: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

export function writeChunk(file: string, c: Chunk): void {
  const head = Buffer.from(JSON.stringify({ docs: c.docs, k: c.k, n: c.n }), 'utf8');
  const pad = (4 - ((4 + head.length) % 4)) % 4;
  const parts: Buffer[] = [Buffer.from(new Uint32Array([head.length]).buffer), head, Buffer.alloc(pad)];
  for (const a of [c.tokens, c.labels, c.idx, c.val]) parts.push(Buffer.from(a.buffer as ArrayBuffer, a.byteOffset, a.byteLength));
  writeAtomic(file, Buffer.concat(parts));
}

export function readChunk(file: string): Chunk {
  const buf = fs.readFileSync(file);
  const bytes = new Uint8Array(buf.byteLength);
  bytes.set(buf);
  const headLen = new Uint32Array(bytes.buffer, 0, 1)[0];
  const h = JSON.parse(Buffer.from(bytes.buffer, 4, headLen).toString('utf8')) as ChunkHeader;
  let o = 4 + headLen;
  o += (4 - (o % 4)) % 4;
  const take = <T>(C: new (b: ArrayBuffer, o: number, n: number) => T, n: number): T => {
    const a = new C(bytes.buffer, o, n);
    o += n * 4;
    return a;
  };
  const c: Chunk = { ...h, tokens: take(Int32Array, h.n), labels: take(Uint32Array, h.n), idx: take(Int32Array, h.n * h.k), val: take(Float32Array, h.n * h.k) };
  if (o !== bytes.byteLength) throw new ProbityError('DASHBOARD_DATA', `${file}: ${bytes.byteLength} bytes, expected ${o} for ${h.n} tokens at k ${h.k}`);
  return c;
}

/** One chunk: the documents through the model (batches of `batchRows`), their scored tokens through the SAE. */
export async function encodeChunk(model: Model, sae: Sae, docs: readonly SourceDoc[], batchRows = 16): Promise<Chunk> {
  const hook = sae.cfg.hookName;
  const tokens: number[] = [];
  const labels: number[] = [];
  const xs: Float32Array[] = [];
  for (let b0 = 0; b0 < docs.length; b0 += batchRows) {
    const batch = docs.slice(b0, b0 + batchRows);
    const res = await model.runWithCache(batch.map((d) => d.tokens), { names: [hook], logits: 'none' });
    const act = res.cache[hook];
    const T = act.dims[1];
    const D = act.size / (act.dims[0] * T);
    if (D !== sae.dIn) throw new ProbityError('DASHBOARD_DATA', `hook ${hook} gives ${D} values per token; the SAE reads d_in ${sae.dIn}`);
    const data = act.data as Float32Array;
    batch.forEach((d, b) => {
      const off = T - d.tokens.length; // left padding
      for (let t = d.from; t < d.to; t++) {
        xs.push(data.subarray((b * T + off + t) * D, (b * T + off + t + 1) * D));
        tokens.push(d.tokens[t]);
        labels.push(d.labels ? d.labels[t] : 0);
      }
    });
  }
  const n = tokens.length;
  const x = new Float32Array(n * sae.dIn);
  xs.forEach((r, i) => x.set(r, i * sae.dIn));
  const code = await sae.encode(x, n);
  return {
    docs: docs.map((d) => ({ index: d.index, n: d.to - d.from })),
    k: code.k,
    n,
    tokens: Int32Array.from(tokens),
    labels: Uint32Array.from(labels),
    idx: Int32Array.from(code.indices),
    val: Float32Array.from(code.values),
  };
}
