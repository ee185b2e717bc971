// Quantized GGUF tensors: each block layout against hand-built blocks (expected values worked out by hand) and against
// an independent per-element reading of the format (quant-blocks.ts), the quantizer used to write test files, row
// reads, type summaries, and the errors for unsupported types, bad shapes and truncated data.
import assert from 'node:assert/strict';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseGguf, readGguf, writeGguf } from '../../../src/models/loaders/gguf.js';
import { dequantize, quantize, QUANT_CODECS, QUANT_TYPES, type QuantType } from '../../../src/models/loaders/quant/index.js';
import { GEOMETRY, halfFromBits, referenceDequantize } from './quant-blocks.js';
import { prng, rawGguf, tempDir, throwsCode, tinfo } from './helpers.js';

const dir = tempDir('quant');
const TYPE_IDS: Record<string, number> = { Q4_0: 2, Q4_1: 3, Q5_0: 6, Q5_1: 7, Q8_0: 8, Q2_K: 10, Q3_K: 11, Q4_K: 12, Q5_K: 13, Q6_K: 14 };

/** One block of `type`, zero except for the given bytes. */
function block(type: string, bytes: Record<number, number>): Uint8Array {
  const b = new Uint8Array(GEOMETRY[type][1]);
  for (const [i, v] of Object.entries(bytes)) b[Number(i)] = v;
  return b;
}
const h16 = (bits: number): Record<number, number> => ({ 0: bits & 0xff, 1: bits >> 8 });
const at = (o: number, bits: number): Record<number, number> => ({ [o]: bits & 0xff, [o + 1]: bits >> 8 });

/** Dequantizes one tensor through the real reader: written to a GGUF file as raw bytes, read back. */
function throughFile(type: string, raw: Uint8Array, shape: number[]): Float32Array {
  const p = join(dir, `${type}-${shape.join('x')}.gguf`);
  writeGguf(p, { tensors: [{ name: 'w', shape, type, raw }] });
  return readGguf(p).tensorData('w');
}

// Half bits used below: 0x3c00 = 1, 0x3800 = 0.5, 0x3400 = 0.25, 0x4000 = 2, 0xbc00 = -1.
describe('hand-built blocks', () => {
  const cases: [string, Uint8Array, Record<number, number>][] = [
    // d = 0.5; qs are int8: 127 -> 63.5, 0x80 = -128 -> -64, 0xff = -1 -> -0.5.
    ['Q8_0', block('Q8_0', { ...h16(0x3800), 2: 0x7f, 3: 0x80, 33: 0xff }), { 0: 63.5, 1: -64, 31: -0.5, 5: 0 }],
    // d = 2; x = d (q - 8); qs[0] = 0x1f: element 0 low nibble 15 -> 14, element 16 high nibble 1 -> -14;
    // qs[15] = 0x80: element 15 -> 0 - 8 -> -16, element 31 -> 8 - 8 -> 0; an all-zero byte gives -16.
    ['Q4_0', block('Q4_0', { ...h16(0x4000), 2: 0x1f, 17: 0x80 }), { 0: 14, 16: -14, 15: -16, 31: 0, 1: -16 }],
    // d = 1, m = -1; x = d q + m; qs[0] = 0x2a: element 0 -> 10 - 1 = 9, element 16 -> 2 - 1 = 1.
    ['Q4_1', block('Q4_1', { ...h16(0x3c00), ...at(2, 0xbc00), 4: 0x2a }), { 0: 9, 16: 1, 1: -1 }],
    // d = 1; qh = bits 0 and 16 (bytes 2..5 = 01 00 01 00); x = d (q - 16); qs[0] = 0x21:
    // element 0 = 1 | 16 -> 1, element 16 = 2 | 16 -> 2; element 1 (no high bit) -> -16.
    ['Q5_0', block('Q5_0', { ...h16(0x3c00), 2: 0x01, 4: 0x01, 6: 0x21 }), { 0: 1, 16: 2, 1: -16, 17: -16 }],
    // d = 0.5, m = 0.25; qh bit 31 (byte 7 = 0x80); qs[15] = 0xf0: element 15 -> 0 + 0.25, element 31 -> 31 * 0.5 + 0.25.
    ['Q5_1', block('Q5_1', { ...h16(0x3800), ...at(2, 0x3400), 7: 0x80, 23: 0xf0 }), { 15: 0.25, 31: 15.75, 0: 0.25 }],
    // d = 1, dmin = 0.5; scales at 4..15: sub-block 0 (scale 3, min 2), sub-block 1 (scale 5, min 0), sub-block 4
    // (scale 35 = 0b10_0011, min 17 = 0b01_0001): byte 12 (= 4 + 8) = 3 | 1 << 4, top bits of byte 4 (scale 0) = 2,
    // top bits of byte 8 (min 0) = 1; so byte 4 = 0x83, byte 8 = 0x42. qs at 16: qs[0] = 0x74 -> element 0 (sub 0)
    // = 3 * 4 - 0.5 * 2 = 11, element 32 (sub 1) = 5 * 7 = 35; qs[64] = 0x0a -> element 128 (sub 4) = 35 * 10 -
    // 0.5 * 17 = 341.5; element 160 (sub 5: scale 0, min 0) = 0; element 1 (q 0) = -1.
    [
      'Q4_K',
      block('Q4_K', { ...h16(0x3c00), ...at(2, 0x3800), 4: 0x83, 5: 5, 8: 0x42, 12: 0x13, 16: 0x74, 80: 0x0a }),
      { 0: 11, 32: 35, 128: 341.5, 160: 0, 1: -1 },
    ],
    // d = dmin = 1; sub-block 0 (scale 1, min 1): bytes 4, 8; sub-block 7 (scale 2, min 3): byte 15 = 2 | 3 << 4.
    // qh at 16, qs at 48. Element 0: qs[0] = 0x0f, qh[0] bit 0 -> q = 31 -> 31 - 1 = 30. Element 255 (chunk 3, high
    // nibble, l = 31): qs[96 + 31] = 0x50 -> 5, qh[31] bit 7 -> q = 21 -> 2 * 21 - 3 = 39. Element 1: q 0 -> -1.
    [
      'Q5_K',
      block('Q5_K', { ...h16(0x3c00), ...at(2, 0x3c00), 4: 1, 8: 1, 15: 0x32, 16: 0x01, 47: 0x80, 48: 0x0f, 175: 0x50 }),
      { 0: 30, 255: 39, 1: -1 },
    ],
    // d = 0.5 at 208; int8 scales at 192: group 0 -> 2, group 4 -> 1, group 15 -> -3 (0xfd).
    // Element 0: ql[0] low nibble 1, qh[0] bits 0-1 = 2 -> q = 33 -> 0.5 * 2 * 1 = 1.
    // Element 69 (half 0, quarter 2, l = 5, group 4): ql[5] high nibble 15, qh[5] bits 4-5 = 3 -> q = 63 -> 15.5.
    // Element 255 (half 1, quarter 3, l = 31, group 15): ql[127], qh[63] zero -> q = 0 -> 0.5 * -3 * -32 = 48.
    [
      'Q6_K',
      block('Q6_K', { ...at(208, 0x3800), 192: 2, 196: 1, 207: 0xfd, 0: 0x01, 128: 0x02, 5: 0xf0, 133: 0x30 }),
      { 0: 1, 69: 15.5, 255: 48 },
    ],
  ];
  for (const [type, raw, expected] of cases) {
    test(`${type}: hand-derived values`, () => {
      const n = GEOMETRY[type][0];
      const got = throughFile(type, raw, [n]);
      for (const [e, v] of Object.entries(expected)) assert.equal(got[Number(e)], v, `${type} element ${e}`);
      assert.deepEqual(referenceDequantize(type, raw, n), got, `${type}: reader and the per-element reading differ`);
    });
  }
});

/** Random block bytes whose half-float scales are finite and moderate (random bits elsewhere). */
function randomBlocks(type: string, nBlocks: number, rand: () => number): Uint8Array {
  const [, bytes] = GEOMETRY[type];
  const out = Uint8Array.from({ length: nBlocks * bytes }, () => Math.floor(rand() * 256));
  const halves: Record<string, number[]> = { Q8_0: [0], Q4_0: [0], Q4_1: [0, 2], Q5_0: [0], Q5_1: [0, 2], Q4_K: [0, 2], Q5_K: [0, 2], Q6_K: [208] };
  for (let b = 0; b < nBlocks; b++) {
    for (const o of halves[type]) {
      // sign, exponent 5..24 (2^-10 .. 2^9), any mantissa.
      const bits = (rand() < 0.5 ? 0x8000 : 0) | ((5 + Math.floor(rand() * 20)) << 10) | Math.floor(rand() * 1024);
      out[b * bytes + o] = bits & 0xff;
      out[b * bytes + o + 1] = bits >> 8;
    }
  }
  return out;
}

describe('random blocks: reader equals the per-element reading of the layout, bit for bit', () => {
  const rand = prng(16);
  for (const type of QUANT_TYPES) {
    test(type, () => {
      const [elems] = GEOMETRY[type];
      const shape = [3, 2 * elems]; // 6 blocks, rows of 2 blocks
      const raw = randomBlocks(type, 6, rand);
      const got = throughFile(type, raw, shape);
      const want = referenceDequantize(type, raw, 6 * elems);
      assert.equal(got.length, want.length);
      for (let i = 0; i < got.length; i++) {
        if (!Object.is(got[i], want[i])) assert.fail(`${type} element ${i}: reader ${got[i]}, layout ${want[i]}`);
      }
      assert.deepEqual(dequantize(type, raw), got);
    });
  }
});

describe('quantizer (test files are written with it)', () => {
  const g = prng(7);
  const normal = () => Math.sqrt(-2 * Math.log(1 - g())) * Math.cos(2 * Math.PI * g());
  const x = Float32Array.from({ length: 4096 }, () => normal());
  x[5] = 7; // an outlier inside a block
  // Relative RMS error of plain round-to-nearest on N(0, 1) data; a wrong bit layout gives errors near 1.
  const bound: Record<QuantType, number> = { Q8_0: 0.01, Q6_K: 0.03, Q5_0: 0.06, Q5_1: 0.06, Q5_K: 0.06, Q4_0: 0.13, Q4_1: 0.12, Q4_K: 0.13 };
  for (const type of QUANT_TYPES) {
    test(`${type}: quantize then dequantize stays close; bytes decode the same through the reference reading`, () => {
      const raw = quantize(type, x);
      assert.equal(raw.length, (x.length / QUANT_CODECS[type].blockElems) * QUANT_CODECS[type].blockBytes);
      const y = dequantize(type, raw);
      assert.deepEqual(referenceDequantize(type, raw, x.length), y);
      let se = 0;
      let ss = 0;
      for (let i = 0; i < x.length; i++) {
        se += (x[i] - y[i]) ** 2;
        ss += x[i] ** 2;
      }
      const rel = Math.sqrt(se / ss);
      console.log(`# ${type}: relative RMS quantization error ${rel.toFixed(4)}`);
      assert.ok(rel < bound[type], `${type}: relative RMS error ${rel}`);
    });
  }
  test('all-zero and constant blocks', () => {
    for (const type of QUANT_TYPES) {
      const n = QUANT_CODECS[type].blockElems;
      assert.ok(dequantize(type, quantize(type, new Float32Array(n))).every((v) => v === 0), type);
      const y = dequantize(type, quantize(type, new Float32Array(n).fill(0.75)));
      assert.ok(y.every((v) => Math.abs(v - 0.75) < 0.05), `${type}: ${y.slice(0, 4)}`);
    }
  });
  test('writer: floats with a quantized type, and shapes that are not whole blocks', () => {
    const p = join(dir, 'writer.gguf');
    writeGguf(p, { tensors: [{ name: 'a', shape: [2, 256], data: x.subarray(0, 512), type: 'Q4_K' }] });
    const r = readGguf(p);
    assert.equal(r.tensor('a').type, 'Q4_K');
    assert.equal(r.tensor('a').byteLength, 2 * 144);
    assert.deepEqual(r.tensorData('a'), dequantize('Q4_K', quantize('Q4_K', x.subarray(0, 512))));
    throwsCode(() => writeGguf(p, { tensors: [{ name: 'b', shape: [256, 2], data: x.subarray(0, 512), type: 'Q4_K' }] }), 'GGUF_WRITE_BAD_TENSOR', ['"b"', '256']);
    throwsCode(() => quantize('Q8_0', new Float32Array(33)), 'QUANT_BAD_LENGTH', ['Q8_0', '33']);
    throwsCode(() => dequantize('Q6_K', new Uint8Array(211)), 'QUANT_BAD_LENGTH', ['Q6_K', '211']);
  });
});

describe('reader', () => {
  const rand = prng(99);
  const p = join(dir, 'mixed.gguf');
  const types = ['Q8_0', 'Q4_K', 'Q6_K', 'Q5_0'] as const;
  const data = types.map(() => Float32Array.from({ length: 4 * 256 }, () => rand() - 0.5));
  writeGguf(p, {
    metadata: { 'general.file_type': { type: 'uint32', value: 15 } },
    tensors: [
      ...types.map((type, i) => ({ name: `t${i}`, shape: [4, 256], data: data[i], type })),
      { name: 'norm', shape: [256], data: data[0].subarray(0, 256) },
      { name: 'half', shape: [4, 256], data: data[1], type: 'F16' as const },
    ],
  });
  const g = readGguf(p);

  test('tensorRows reads only the asked rows, equal to the same rows of tensorData', () => {
    for (const name of ['t0', 't1', 't2', 't3', 'norm', 'half']) {
      const all = g.tensorData(name);
      const rowLen = g.tensor(name).ne[0];
      const rows = all.length / rowLen;
      for (const [first, count] of [[0, rows], [1, 2], [rows - 1, 1], [rows, 0]].filter(([f, c]) => f + c <= rows)) {
        assert.deepEqual(g.tensorRows(name, first, count), all.slice(first * rowLen, (first + count) * rowLen), `${name} rows ${first}+${count}`);
      }
      throwsCode(() => g.tensorRows(name, rows, 1), 'GGUF_BAD_ROWS', [`"${name}"`, String(rows)]);
      throwsCode(() => g.tensorRows(name, -1, 1), 'GGUF_BAD_ROWS');
    }
  });

  test('typeSummary and fileType show the quantization found', () => {
    assert.equal(g.fileType, 'MOSTLY_Q4_K_M');
    const s = g.typeSummary();
    assert.deepEqual(s.map((c) => [c.type, c.tensors, c.elements, c.readable]), [
      ['Q8_0', 1, 1024, true], ['Q4_K', 1, 1024, true], ['Q6_K', 1, 1024, true], ['Q5_0', 1, 1024, true], ['F32', 1, 256, true], ['F16', 1, 1024, true],
    ]);
    assert.deepEqual(s.map((c) => c.bytes), [32 * 34, 4 * 144, 4 * 210, 32 * 22, 1024, 2048]);
  });

  test('half-float scales decode like the definition (test helper sanity)', () => {
    assert.equal(halfFromBits(0x3c00), 1);
    assert.equal(halfFromBits(0xc000), -2);
    assert.equal(halfFromBits(0x0001), 2 ** -24);
    assert.equal(halfFromBits(0x7bff), 65504);
  });
});

describe('lazy reading (large quantized files keep only the header in memory)', () => {
  const rand = prng(5);
  const p = join(dir, 'lazy.gguf');
  // A header larger than the first 1 MiB prefix read, and a Q8_0 tensor larger than one 4 MiB read chunk.
  const tokens = Array.from({ length: 120_000 }, (_, i) => `tok${i}`);
  const big = Float32Array.from({ length: 160 * 32768 }, () => rand() - 0.5);
  writeGguf(p, {
    metadata: { 'general.architecture': 'llama', 'tokenizer.ggml.tokens': tokens },
    tensors: [
      { name: 'big', shape: [160, 32768], data: big, type: 'Q8_0' },
      { name: 'k', shape: [3, 256], data: big.subarray(0, 768), type: 'Q5_K' },
      { name: 'f', shape: [7], data: big.subarray(0, 7) },
      { name: 'h', shape: [5], data: big.subarray(0, 5), type: 'BF16' },
    ],
  });
  const eager = readGguf(p, { lazy: false });
  const lazy = readGguf(p, { lazy: true });

  test('same header, tensors and values as reading the whole file', () => {
    assert.equal(eager.lazy, false);
    assert.equal(lazy.lazy, true);
    assert.ok(lazy.buffer.length <= lazy.dataOffset && lazy.buffer.length > 1 << 20, `header bytes kept: ${lazy.buffer.length}`);
    assert.equal(eager.buffer.length, readFileSync(p).length);
    assert.deepEqual(lazy.metadata, eager.metadata);
    assert.deepEqual(lazy.tensors, eager.tensors);
    assert.ok(lazy.tensor('big').byteLength > 4 << 20, 'the big tensor spans several read chunks');
    for (const t of eager.tensors) {
      assert.deepEqual(lazy.tensorData(t.name), eager.tensorData(t.name), t.name);
      assert.deepEqual(lazy.tensorBytes(t.name), eager.tensorBytes(t.name), t.name);
      const rows = t.nElements / t.ne[0];
      assert.deepEqual(lazy.tensorRows(t.name, rows - 1, 1), eager.tensorRows(t.name, rows - 1, 1), t.name);
    }
  });

  test('by default, small files are read whole (quantized or not)', () => {
    assert.equal(readGguf(join(dir, 'mixed.gguf')).lazy, false);
  });

  test('errors of a truncated or shrinking file', () => {
    const cut = join(dir, 'lazy-cut.gguf');
    const bytes = readFileSync(p);
    writeFileSync(cut, bytes.subarray(0, bytes.length - 100));
    const e1 = throwsCode(() => readGguf(cut, { lazy: true }), 'GGUF_TENSOR_OUT_OF_BOUNDS', ['lazy-cut.gguf', 'past the end']);
    const e2 = throwsCode(() => readGguf(cut, { lazy: false }), 'GGUF_TENSOR_OUT_OF_BOUNDS');
    assert.equal(e1.message, e2.message);
    writeFileSync(cut, bytes.subarray(0, 3 << 19)); // inside the header: the prefix grows to the whole file, then fails
    assert.equal(throwsCode(() => readGguf(cut, { lazy: true }), 'GGUF_TRUNCATED').message, throwsCode(() => readGguf(cut), 'GGUF_TRUNCATED').message);
    writeFileSync(cut, bytes);
    const g = readGguf(cut, { lazy: true });
    truncateSync(cut, g.tensor('big').offset + 1000);
    throwsCode(() => g.tensorData('big'), 'FILE_READ_ERROR', ['lazy-cut.gguf', 'shrank']);
    throwsCode(() => readGguf(join(dir, 'absent.gguf')), 'FILE_NOT_FOUND', ['absent.gguf']);
  });
});

describe('bad quantized files', () => {
  const parse = (b: Buffer) => parseGguf(b, 'bad.gguf');
  test('unsupported quantized types are refused by name, tensor and the types that are read', () => {
    // [ggml id, name, block elems, block bytes]
    const others: [number, string, number, number][] = [[10, 'Q2_K', 256, 84], [11, 'Q3_K', 256, 110], [20, 'IQ4_NL', 32, 18], [16, 'IQ2_XXS', 256, 66], [23, 'IQ4_XS', 256, 136], [9, 'Q8_1', 32, 36]];
    for (const [id, name, elems, bytes] of others) {
      const g = parse(rawGguf({ infos: [tinfo('blk.3.ffn_up.weight', [elems, 2], id, 0)], data: Buffer.alloc(2 * bytes + 32) }));
      assert.equal(g.tensor('blk.3.ffn_up.weight').type, name);
      throwsCode(() => g.tensorData('blk.3.ffn_up.weight'), 'GGUF_UNSUPPORTED_TYPE', ['bad.gguf', '"blk.3.ffn_up.weight"', name, `id ${id}`, 'Q4_K', 'Q8_0']);
      throwsCode(() => g.tensorRows('blk.3.ffn_up.weight', 0, 1), 'GGUF_UNSUPPORTED_TYPE', [name]);
      assert.deepEqual(g.typeSummary().map((c) => [c.type, c.readable]), [[name, false]]);
    }
  });
  test('innermost dim not a whole number of blocks: the tensor, its type and the block size are named', () => {
    for (const type of QUANT_TYPES) {
      const { blockElems, blockBytes } = QUANT_CODECS[type];
      const bad = rawGguf({ infos: [tinfo('w', [blockElems / 2, 4], TYPE_IDS[type], 0)], data: Buffer.alloc(4 * blockBytes) });
      throwsCode(() => parse(bad), 'GGUF_BAD_SHAPE', ['"w"', type, String(blockElems), `ne[0] = ${blockElems / 2}`]);
    }
    throwsCode(() => parse(rawGguf({ infos: [tinfo('s', [], TYPE_IDS.Q8_0, 0)], data: Buffer.alloc(64) })), 'GGUF_BAD_SHAPE', ['"s"', 'Q8_0']);
  });
  test('truncated block data: the tensor and its byte range are named', () => {
    for (const type of QUANT_TYPES) {
      const { blockElems, blockBytes } = QUANT_CODECS[type];
      const whole = rawGguf({ infos: [tinfo('w', [blockElems, 3], TYPE_IDS[type], 0)], data: Buffer.alloc(3 * blockBytes) });
      assert.equal(parse(whole).tensorData('w').length, 3 * blockElems);
      throwsCode(() => parse(whole.subarray(0, whole.length - 1)), 'GGUF_TENSOR_OUT_OF_BOUNDS', ['"w"', type, 'past the end']);
    }
  });
  test('a tensor that would overlap the next one', () => {
    const infos = [tinfo('a', [256, 1], TYPE_IDS.Q6_K, 0), tinfo('b', [32], TYPE_IDS.Q8_0, 192)];
    throwsCode(() => parse(rawGguf({ infos, data: Buffer.alloc(512) })), 'GGUF_TENSOR_OVERLAP', ['"a"', '"b"', 'Q6_K']);
  });
});
