// The GGUF files probity and llama.cpp both read in `npm run bench -- peers`: one random-weight Llama (768 x 12
// layers by default) written by probity's own GGUF writer in F32, F16 (matrices F16, norms F32, as llama.cpp's
// converter writes them) and Q8_0 (matrices quantized by src/models/loaders/quant/, norms F32). Made once into a cache
// folder outside the repository (PROBITY_BENCH_CACHE, else the OS temp folder) and reused while the spec and seed
// that name the file stay the same.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeGguf, type GgufFloatTensorInput, type GgufMetadataInput } from '../../src/models/loaders/gguf.js';
import { ggufLlamaVocab } from '../../test/models/tiny-models.js';
import { randn } from '../util.js';

export const GGUF_KINDS = ['F32', 'F16', 'Q8_0'] as const;
export type GgufKind = (typeof GGUF_KINDS)[number];

export interface RandomLlamaSpec {
  d: number;
  layers: number;
  heads: number;
  kvHeads: number;
  ffn: number;
  vocab: number;
  ctx: number;
  seed: number;
}

/** GPT-2-small-sized Llama: d 768, 12 layers, 12 heads, SwiGLU 2048 (2/3 of 4d), Llama-2's 32k vocabulary, untied. */
export const BENCH_LLAMA: RandomLlamaSpec = { d: 768, layers: 12, heads: 12, kvHeads: 12, ffn: 2048, vocab: 32000, ctx: 2048, seed: 1 };

export function cacheDir(): string {
  return process.env.PROBITY_BENCH_CACHE || path.join(os.tmpdir(), 'probity-bench-peers');
}

function specTag(s: RandomLlamaSpec): string {
  return `llama-d${s.d}-l${s.layers}-h${s.heads}-kv${s.kvHeads}-f${s.ffn}-v${s.vocab}-s${s.seed}`;
}

/** Tensors in GGUF names, [out, in] (row-major) shapes; matrices N(0, 0.02^2), norm weights N(1, 0.1^2). */
function randomLlamaTensors(s: RandomLlamaSpec): { name: string; shape: number[]; data: Float32Array }[] {
  const dHead = s.d / s.heads;
  const out: { name: string; shape: number[]; data: Float32Array }[] = [];
  let seed = s.seed * 1000;
  const put = (name: string, shape: number[], norm = false) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = randn(n, seed++, norm ? 0.1 : 0.02);
    if (norm) for (let i = 0; i < n; i++) data[i] += 1;
    out.push({ name, shape, data });
  };
  put('token_embd.weight', [s.vocab, s.d]);
  for (let l = 0; l < s.layers; l++) {
    const p = `blk.${l}.`;
    put(`${p}attn_norm.weight`, [s.d], true);
    put(`${p}attn_q.weight`, [s.heads * dHead, s.d]);
    put(`${p}attn_k.weight`, [s.kvHeads * dHead, s.d]);
    put(`${p}attn_v.weight`, [s.kvHeads * dHead, s.d]);
    put(`${p}attn_output.weight`, [s.d, s.heads * dHead]);
    put(`${p}ffn_norm.weight`, [s.d], true);
    put(`${p}ffn_gate.weight`, [s.ffn, s.d]);
    put(`${p}ffn_up.weight`, [s.ffn, s.d]);
    put(`${p}ffn_down.weight`, [s.d, s.ffn]);
  }
  put('output_norm.weight', [s.d], true);
  put('output.weight', [s.vocab, s.d]);
  return out;
}

function llamaMetadata(s: RandomLlamaSpec, kind: GgufKind): Record<string, GgufMetadataInput> {
  const u32 = (value: number) => ({ type: 'uint32' as const, value });
  return {
    'general.architecture': 'llama',
    'general.name': `probity-bench-random-llama-${kind}`,
    'llama.context_length': u32(s.ctx),
    'llama.embedding_length': u32(s.d),
    'llama.block_count': u32(s.layers),
    'llama.feed_forward_length': u32(s.ffn),
    'llama.rope.dimension_count': u32(s.d / s.heads),
    'llama.attention.head_count': u32(s.heads),
    'llama.attention.head_count_kv': u32(s.kvHeads),
    'llama.attention.layer_norm_rms_epsilon': { type: 'float32', value: 1e-5 },
    'llama.rope.freq_base': { type: 'float32', value: 10000 },
    ...ggufLlamaVocab(s.vocab),
  };
}

export interface BenchGguf {
  kind: GgufKind;
  path: string;
  bytes: number;
  /** Written by this run (false: found in the cache). */
  made: boolean;
}

/** The files of `kinds` for spec `s` in `dir`, written where absent (to a temporary name, then renamed). */
export function benchGgufFiles(kinds: readonly GgufKind[] = GGUF_KINDS, s: RandomLlamaSpec = BENCH_LLAMA, dir = cacheDir()): BenchGguf[] {
  fs.mkdirSync(dir, { recursive: true });
  let tensors: ReturnType<typeof randomLlamaTensors> | null = null;
  return kinds.map((kind) => {
    const file = path.join(dir, `${specTag(s)}-${kind}.gguf`);
    const made = !fs.existsSync(file);
    if (made) {
      tensors ??= randomLlamaTensors(s);
      const typed: GgufFloatTensorInput[] = tensors.map((t) => ({ ...t, type: t.shape.length === 1 ? 'F32' : kind }));
      const tmp = `${file}.${process.pid}.tmp`;
      writeGguf(tmp, { metadata: llamaMetadata(s, kind), tensors: typed });
      fs.renameSync(tmp, file);
    }
    return { kind, path: file, bytes: fs.statSync(file).size, made };
  });
}
