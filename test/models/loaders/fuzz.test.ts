// Corrupt valid files at random (seeded, so failures reproduce) and check that the readers only ever succeed or
// throw ProbityError: no RangeError from a Buffer read, no TypeError from a malformed header, no hang.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ProbityError } from '../../../src/errors.js';
import { parseGguf, readGguf, writeGguf } from '../../../src/models/loaders/gguf.js';
import { QUANT_CODECS, QUANT_TYPES } from '../../../src/models/loaders/quant/index.js';
import { llamaConfigFromGguf } from '../../../src/models/loaders/hf-config.js';
import { parseSafetensors, writeSafetensors } from '../../../src/models/loaders/safetensors.js';
import { prng, tempDir } from './helpers.js';

const dir = tempDir('fuzz');
const ROUNDS = 400;
const floats = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i));

function smallGguf(): Buffer {
  const path = join(dir, 'small.gguf');
  writeGguf(path, {
    metadata: {
      'general.architecture': 'llama',
      'llama.embedding_length': { type: 'uint32', value: 8 },
      'llama.feed_forward_length': { type: 'uint32', value: 16 },
      'llama.block_count': { type: 'uint32', value: 1 },
      'llama.attention.head_count': { type: 'uint32', value: 2 },
      'llama.attention.layer_norm_rms_epsilon': { type: 'float32', value: 1e-5 },
      'llama.context_length': { type: 'uint64', value: 64 },
      'tokenizer.ggml.tokens': ['<unk>', '<s>', '</s>', '▁a'],
      'tokenizer.ggml.scores': { type: 'array', itemType: 'float32', value: [0, 0, 0, -1] },
      'flag': true,
      'nested': { type: 'array', itemType: 'array', value: [{ type: 'array', itemType: 'int16', value: [1, -1] }] },
    },
    tensors: [
      { name: 'token_embd.weight', shape: [4, 8], data: floats(32) },
      { name: 'h', shape: [8], data: floats(8), type: 'F16' },
      { name: 'b', shape: [2, 2], data: floats(4), type: 'BF16' },
      { name: 'q', shape: [32], type: 'Q8_0', raw: new Uint8Array(34) },
    ],
  });
  return readFileSync(path);
}

function smallSafetensors(): Buffer {
  const path = join(dir, 'small.safetensors');
  writeSafetensors(
    path,
    {
      'model.embed_tokens.weight': { dtype: 'F32', shape: [4, 8], data: floats(32) },
      'h': { dtype: 'F16', shape: [3], data: floats(3) },
      'b': { dtype: 'BF16', shape: [3], data: floats(3) },
      'i': { dtype: 'I64', shape: [2], data: BigInt64Array.from([1n, -1n]) },
    },
    { format: 'pt' },
  );
  return readFileSync(path);
}

/** One random corruption: a truncation, 1-4 byte overwrites (mostly in the header, where parsing happens), or both. */
function mutate(src: Buffer, headerLen: number, rand: () => number): Buffer {
  const b = Buffer.from(src);
  const kind = rand();
  if (kind < 0.65) {
    const special = [0x00, 0xff, 0x7f, 0x80, 0x01];
    for (let k = 1 + Math.floor(rand() * 4); k > 0; k--) {
      const pos = Math.floor(rand() * (rand() < 0.85 ? headerLen : b.length));
      b[pos] = rand() < 0.5 ? special[Math.floor(rand() * special.length)] : Math.floor(rand() * 256);
    }
  }
  return kind < 0.35 || kind >= 0.65 ? b.subarray(0, Math.floor(rand() * b.length)) : b;
}

function fuzz(name: string, src: Buffer, headerLen: number, seed: number, exercise: (b: Buffer) => void): void {
  const rand = prng(seed);
  let ok = 0;
  const codes = new Map<string, number>();
  for (let i = 0; i < ROUNDS; i++) {
    const b = mutate(src, headerLen, rand);
    try {
      exercise(b);
      ok++;
    } catch (e) {
      if (!(e instanceof ProbityError)) {
        assert.fail(`${name} round ${i} (seed ${seed}): ${e instanceof Error ? e.stack : String(e)}`);
      }
      codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
    }
  }
  // Guard against a fuzz loop that never reaches the parser's interesting paths.
  assert.ok(codes.size >= 4, `${name}: only codes ${[...codes.keys()]}`);
  assert.ok(ok > 0 && ok < ROUNDS, `${name}: ${ok} of ${ROUNDS} parses succeeded`);
}

test('GGUF: random truncations and byte flips give a result or a ProbityError', () => {
  const src = smallGguf();
  const headerLen = parseGguf(src).dataOffset;
  fuzz('gguf', src, headerLen, 1234, (b) => {
    const g = parseGguf(b, 'fuzz.gguf');
    for (const t of g.tensors) {
      if (t.type === 'F32' || t.type === 'F16' || t.type === 'BF16') g.tensorData(t.name);
    }
    llamaConfigFromGguf(g);
  });
});

/** One tensor of every quantized type probity reads (two rows each), plus one type it refuses (Q2_K). */
function quantizedGguf(): Buffer {
  const path = join(dir, 'quantized.gguf');
  writeGguf(path, {
    metadata: { 'general.architecture': 'llama', 'general.file_type': { type: 'uint32', value: 15 } },
    tensors: [
      ...QUANT_TYPES.map((type) => {
        const n = QUANT_CODECS[type].blockElems;
        return { name: `w.${type}`, shape: [2, n], data: floats(2 * n), type };
      }),
      { name: 'w.Q2_K', shape: [256], type: 'Q2_K', raw: new Uint8Array(84) },
    ],
  });
  return readFileSync(path);
}

test('quantized GGUF: random truncations and byte flips give a result or a ProbityError', () => {
  const src = quantizedGguf();
  const headerLen = parseGguf(src).dataOffset;
  fuzz('gguf-quantized', src, headerLen, 4321, (b) => {
    const g = parseGguf(b, 'fuzz-quantized.gguf');
    g.typeSummary();
    for (const t of g.tensors) {
      // A flipped scale may give NaN or Infinity; a flipped type id or shape must give a ProbityError.
      if (t.type === 'Q2_K') {
        assert.throws(() => g.tensorData(t.name), (e) => e instanceof ProbityError && e.code === 'GGUF_UNSUPPORTED_TYPE');
        continue;
      }
      assert.equal(g.tensorData(t.name).length, t.nElements);
      const rows = t.nElements / (t.ne[0] || 1);
      if (rows > 0) assert.equal(g.tensorRows(t.name, rows - 1, 1).length, t.nElements / rows);
    }
  });
});

test('safetensors: random truncations and byte flips give a result or a ProbityError', () => {
  const src = smallSafetensors();
  const headerLen = parseSafetensors(src).dataOffset;
  fuzz('safetensors', src, headerLen, 5678, (b) => {
    const f = parseSafetensors(b, 'fuzz.safetensors');
    for (const t of f.tensors) {
      f.tensor(t.name);
      if (t.dtype !== 'I64') f.float32(t.name);
    }
  });
});

test('a few corrupted GGUF files through readGguf from disk', () => {
  const src = smallGguf();
  const rand = prng(99);
  const path = join(dir, 'corrupt.gguf');
  for (let i = 0; i < 20; i++) {
    writeFileSync(path, mutate(src, 256, rand));
    try {
      readGguf(path);
    } catch (e) {
      assert.ok(e instanceof ProbityError, String(e));
    }
  }
});
