import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ProbityError } from '../../../src/errors.js';
import {
  ggmlTypeName,
  parseGguf,
  readGguf,
  writeGguf,
  type GgufMetadataInput,
  type GgufTypedValue,
} from '../../../src/models/loaders/gguf.js';
import { kv, rawGguf, str, STORIES_GGUF, tempDir, throwsCode, tinfo, u32, u64, u8 } from './helpers.js';

const dir = tempDir('gguf');
const seq = (n: number, f = (i: number) => i * 0.25 - 3) => Float32Array.from({ length: n }, (_, i) => f(i));

const METADATA: Record<string, GgufMetadataInput> = {
  'general.architecture': 'llama',
  'general.flag': true,
  'u8': { type: 'uint8', value: 255 },
  'i8': { type: 'int8', value: -128 },
  'u16': { type: 'uint16', value: 65535 },
  'i16': { type: 'int16', value: -32768 },
  'u32': { type: 'uint32', value: 4294967295 },
  'i32': { type: 'int32', value: -2147483648 },
  'f32': { type: 'float32', value: 0.5 },
  'f64': { type: 'float64', value: 1e-300 },
  'u64.small': { type: 'uint64', value: 12345 },
  'u64.big': { type: 'uint64', value: 0xffffffffffffffffn },
  'i64.neg': { type: 'int64', value: -(2n ** 63n) },
  'str.utf8': { type: 'string', value: 'héllo ▁world 🙂' },
  'tokens': ['<unk>', '<s>', '▁a', ''],
  'scores': { type: 'array', itemType: 'float32', value: [0, -1.5, 2.25] },
  'types': { type: 'array', itemType: 'int32', value: [1, 3, -6] },
  'bools': { type: 'array', itemType: 'bool', value: [true, false] },
  'u64s': { type: 'array', itemType: 'uint64', value: [1, 2n ** 60n] },
  'nested': {
    type: 'array',
    itemType: 'array',
    value: [
      { type: 'array', itemType: 'string', value: ['x', 'y'] },
      { type: 'array', itemType: 'uint8', value: [7] },
    ],
  },
  'empty': { type: 'array', itemType: 'uint32', value: [] },
};

describe('gguf round trip', () => {
  const path = join(dir, 'roundtrip.gguf');
  const emb = seq(6 * 4);
  const norm = seq(4, (i) => i + 1);
  const cube = seq(2 * 3 * 5);
  // Values exactly representable in half precision / bfloat16, so the round trip is exact.
  const halves = Float32Array.from([0, -0, 1, -2, 0.5, 65504, 2 ** -24, Infinity]);
  const bhalves = Float32Array.from([0, -0, 1, -2, 0.5, 65536 * 1.5, 2 ** -130, -Infinity]);
  const q8 = Uint8Array.from({ length: 34 * 2 }, (_, i) => i);
  writeGguf(path, {
    metadata: METADATA,
    tensors: [
      { name: 'token_embd.weight', shape: [6, 4], data: emb },
      { name: 'output_norm.weight', shape: [4], data: norm },
      { name: 'cube', shape: [2, 3, 5], data: cube },
      { name: 'half', shape: [2, 4], data: halves, type: 'F16' },
      { name: 'brain', shape: [8], data: bhalves, type: 'BF16' },
      { name: 'quant', shape: [2, 32], type: 'Q8_0', raw: q8 },
    ],
  });
  const g = readGguf(path);

  test('header and metadata, typed and plain', () => {
    assert.equal(g.version, 3);
    assert.equal(g.alignment, 32);
    assert.equal(g.dataOffset % 32, 0);
    const expectedTyped: Record<string, GgufTypedValue> = {};
    for (const [k, v] of Object.entries(METADATA)) {
      expectedTyped[k] =
        typeof v === 'string' ? { type: 'string', value: v }
        : typeof v === 'boolean' ? { type: 'bool', value: v }
        : Array.isArray(v) ? { type: 'array', itemType: 'string', value: v }
        : v;
    }
    assert.deepEqual(g.typedMetadata, expectedTyped);
    assert.deepEqual(Object.keys(g.metadata), Object.keys(METADATA));
    assert.equal(g.metadata['u64.small'], 12345);
    assert.equal(g.metadata['u64.big'], 0xffffffffffffffffn);
    assert.deepEqual(g.metadata['tokens'], ['<unk>', '<s>', '▁a', '']);
    assert.deepEqual(g.metadata['nested'], [['x', 'y'], [7]]);
    assert.deepEqual(g.metadata['u64s'], [1, 2n ** 60n]);
  });

  test('tensor infos: row-major shape, ggml ne, offsets', () => {
    assert.deepEqual(g.tensors.map((t) => t.name), ['token_embd.weight', 'output_norm.weight', 'cube', 'half', 'brain', 'quant']);
    const cubeInfo = g.tensor('cube');
    assert.deepEqual(cubeInfo.shape, [2, 3, 5]);
    assert.deepEqual(cubeInfo.ne, [5, 3, 2]);
    assert.equal(cubeInfo.nElements, 30);
    assert.equal(cubeInfo.byteLength, 120);
    assert.equal(cubeInfo.type, 'F32');
    for (const t of g.tensors) {
      assert.equal(t.relativeOffset % 32, 0);
      assert.equal(t.offset, g.dataOffset + t.relativeOffset);
    }
    assert.equal(g.tensor('quant').byteLength, 68);
    assert.equal(g.tensor('quant').type, 'Q8_0');
    assert.equal(g.has('nope'), false);
  });

  test('F32 data is a zero-copy view; F16 and BF16 are converted', () => {
    const e = g.tensorData('token_embd.weight');
    assert.deepEqual(e, emb);
    assert.equal(e.buffer, g.buffer.buffer, 'F32 data should alias the file buffer');
    assert.deepEqual(g.tensorData('output_norm.weight'), norm);
    assert.deepEqual(g.tensorData('cube'), cube);
    assert.deepEqual(g.tensorData('half'), halves);
    assert.deepEqual(g.tensorData('brain'), bhalves);
    assert.deepEqual([...g.tensorBytes('quant')], [...q8]);
  });

  test('F16/BF16 writing rounds to nearest even', () => {
    const p = join(dir, 'rounding.gguf');
    const vals = Float32Array.from([1 + 2 ** -11, 1 + 3 * 2 ** -11, 70000, 1e-9, 1 + 2 ** -8, 1 + 3 * 2 ** -8, NaN]);
    writeGguf(p, { tensors: [{ name: 'h', shape: [7], data: vals, type: 'F16' }, { name: 'b', shape: [7], data: vals, type: 'BF16' }] });
    const r = readGguf(p);
    assert.deepEqual([...r.tensorData('h')], [1, 1 + 2 ** -9, Infinity, 0, 1 + 2 ** -8, 1 + 3 * 2 ** -8, NaN]);
    const b = [...r.tensorData('b')];
    assert.deepEqual([b[0], b[1], b[2], b[4], b[5], b[6]], [1, 1, 70144, 1, 1 + 2 ** -6, NaN]);
    assert.ok(Math.abs(b[3] - 1e-9) < 1e-9 * 2 ** -8, `bf16(1e-9) = ${b[3]}`);
  });

  test('Q8_0 is dequantized (d * int8 per 32-value block); types without a reader are refused by name', () => {
    // Bytes 0..67: block 0 has d = half 0x0100 (2^-16) and quants 2..33, block 1 d = half 0x2322 and quants 36..67.
    const d0 = 2 ** -16;
    const d1 = (1 + 0x322 / 1024) * 2 ** (0x08 - 15);
    const expected = Float32Array.from({ length: 64 }, (_, i) => (i < 32 ? d0 * (i + 2) : d1 * (i + 4)));
    assert.deepEqual(g.tensorData('quant'), expected);
    const q2k = parseGguf(rawGguf({ infos: [tinfo('blk.0.attn_q.weight', [256], 10, 0)], data: Buffer.alloc(96) }), path);
    throwsCode(() => q2k.tensorData('blk.0.attn_q.weight'), 'GGUF_UNSUPPORTED_TYPE', ['"blk.0.attn_q.weight"', 'Q2_K', 'F32, F16, BF16', 'Q4_K', path]);
  });

  test('missing tensor', () => {
    throwsCode(() => g.tensorData('blk.9.attn_q.weight'), 'GGUF_MISSING_TENSOR', ['"blk.9.attn_q.weight"', path]);
  });

  test('custom general.alignment is honoured', () => {
    const p = join(dir, 'align64.gguf');
    writeGguf(p, {
      metadata: { 'general.alignment': { type: 'uint32', value: 64 } },
      tensors: [{ name: 'a', shape: [3], data: seq(3) }, { name: 'b', shape: [5], data: seq(5) }],
    });
    const r = readGguf(p);
    assert.equal(r.alignment, 64);
    assert.equal(r.dataOffset % 64, 0);
    assert.deepEqual(r.tensors.map((t) => t.relativeOffset), [0, 64]);
    assert.deepEqual(r.tensorData('b'), seq(5));
  });

  test('version 2 files are read', () => {
    const bytes = readFileSync(path);
    bytes.writeUInt32LE(2, 4);
    const r = parseGguf(bytes, 'v2.gguf');
    assert.equal(r.version, 2);
    assert.deepEqual(r.tensorData('cube'), cube);
  });

  test('a file with no tensors and no metadata', () => {
    const p = join(dir, 'empty.gguf');
    writeGguf(p, {});
    const r = readGguf(p);
    assert.deepEqual(r.tensors, []);
    assert.deepEqual(r.metadata, {});
  });

  test('unaligned F32 data comes back as a copy with the same values', () => {
    const bytes = readFileSync(path);
    const shifted = Buffer.alloc(bytes.length + 1).subarray(1);
    bytes.copy(shifted);
    const r = parseGguf(shifted);
    const e = r.tensorData('token_embd.weight');
    assert.notEqual(e.buffer, shifted.buffer);
    assert.deepEqual(e, emb);
  });
});

describe('gguf writer validation', () => {
  const p = join(dir, 'bad-write.gguf');
  test('numbers need an explicit type', () => {
    throwsCode(() => writeGguf(p, { metadata: { n: 5 as unknown as GgufMetadataInput } }), 'GGUF_WRITE_BAD_VALUE', ['"n"', "type: 'uint32'"]);
  });
  test('out-of-range integers', () => {
    throwsCode(() => writeGguf(p, { metadata: { n: { type: 'uint8', value: 256 } } }), 'GGUF_WRITE_BAD_VALUE', ['256', 'uint8']);
    throwsCode(() => writeGguf(p, { metadata: { n: { type: 'int32', value: 1.5 } } }), 'GGUF_WRITE_BAD_VALUE');
  });
  test('shape / data mismatch', () => {
    throwsCode(() => writeGguf(p, { tensors: [{ name: 'w', shape: [2, 3], data: seq(5) }] }), 'GGUF_WRITE_BAD_TENSOR', ['"w"', '[2, 3]']);
  });
});

describe('gguf bad input', () => {
  const F32 = 0;
  const parse = (b: Buffer) => () => parseGguf(b, 'bad.gguf');
  const oneTensor = () => rawGguf({ infos: [tinfo('w', [8], F32, 0)], data: Buffer.alloc(32) });

  test('hand-built minimal file parses', () => {
    const g = parseGguf(oneTensor());
    assert.deepEqual(g.tensorData('w'), new Float32Array(8));
  });
  test('wrong magic names the bytes seen and "GGUF"', () => {
    throwsCode(parse(Buffer.from('PK\x03\x04rest of a zip file')), 'GGUF_BAD_MAGIC', ['bad.gguf', '"PK.."', '504b0304', '"GGUF"']);
  });
  test('file shorter than the magic', () => {
    throwsCode(parse(Buffer.from('GG')), 'GGUF_TRUNCATED', ['2 bytes']);
  });
  test('unsupported versions', () => {
    throwsCode(parse(rawGguf({ version: 1 })), 'GGUF_UNSUPPORTED_VERSION', ['version is 1', 'obsolete']);
    throwsCode(parse(rawGguf({ version: 4 })), 'GGUF_UNSUPPORTED_VERSION', ['version is 4']);
    throwsCode(parse(rawGguf({ version: 0x03000000 })), 'GGUF_UNSUPPORTED_VERSION', ['big-endian']);
  });
  test('truncated header', () => {
    throwsCode(parse(rawGguf({}).subarray(0, 10)), 'GGUF_TRUNCATED', ['tensor_count', 'byte 8']);
  });
  test('truncated metadata', () => {
    const full = rawGguf({ kvs: [kv('general.name', 8, str('tiny')), kv('n', 4, u32(7))] });
    throwsCode(parse(full.subarray(0, 24 + 8 + 12 + 4 + 8 + 2)), 'GGUF_TRUNCATED', ['"general.name"']);
    // 24-byte header, 36-byte first pair, then "n": key (9) + type (4) + 2 of its 4 value bytes.
    throwsCode(parse(full.subarray(0, 24 + 36 + 9 + 4 + 2)), 'GGUF_TRUNCATED', ['"n"']);
  });
  test('absurd counts', () => {
    throwsCode(parse(rawGguf({ tensorCount: 1n << 40n })), 'GGUF_BAD_COUNT', ['tensor_count', String(1n << 40n)]);
    throwsCode(parse(rawGguf({ kvCount: 0xffffffffffffffffn })), 'GGUF_BAD_COUNT', ['metadata_kv_count']);
    const arr = Buffer.concat([u32(4), u64(1n << 50n)]);
    throwsCode(parse(rawGguf({ kvs: [kv('a', 9, arr)] })), 'GGUF_BAD_COUNT', ['"a" array length']);
  });
  test('absurd string length', () => {
    const bad = Buffer.concat([u64(1n << 62n), Buffer.from('x')]);
    throwsCode(parse(rawGguf({ kvs: [kv('s', 8, bad)] })), 'GGUF_BAD_LENGTH', ['"s" length', String(1n << 62n)]);
  });
  test('unknown value types', () => {
    throwsCode(parse(rawGguf({ kvs: [kv('odd', 13, u32(0))] })), 'GGUF_BAD_VALUE_TYPE', ['"odd"', '13']);
    throwsCode(parse(rawGguf({ kvs: [kv('odd', 9, Buffer.concat([u32(99), u64(0)]))] })), 'GGUF_BAD_VALUE_TYPE', ['99']);
  });
  test('bad bool byte', () => {
    throwsCode(parse(rawGguf({ kvs: [kv('b', 7, u8(2))] })), 'GGUF_BAD_VALUE', ['"b"', 'bool byte is 2']);
  });
  test('arrays nested too deep', () => {
    let payload = Buffer.concat([u32(4), u64(0)]);
    for (let i = 0; i < 10; i++) payload = Buffer.concat([u32(9), u64(1), payload]);
    throwsCode(parse(rawGguf({ kvs: [kv('deep', 9, payload)] })), 'GGUF_BAD_VALUE', ['nested']);
  });
  test('duplicate keys and tensor names', () => {
    throwsCode(parse(rawGguf({ kvs: [kv('k', 4, u32(1)), kv('k', 4, u32(2))] })), 'GGUF_DUPLICATE_KEY', ['"k"']);
    const infos = [tinfo('w', [8], F32, 0), tinfo('w', [8], F32, 32)];
    throwsCode(parse(rawGguf({ infos, data: Buffer.alloc(64) })), 'GGUF_DUPLICATE_TENSOR', ['"w"']);
  });
  test('bad general.alignment', () => {
    throwsCode(parse(rawGguf({ kvs: [kv('general.alignment', 4, u32(24))] })), 'GGUF_BAD_ALIGNMENT', ['24']);
    throwsCode(parse(rawGguf({ kvs: [kv('general.alignment', 8, str('32'))] })), 'GGUF_BAD_ALIGNMENT', ['string']);
  });
  test('tensor data past the end of the file', () => {
    throwsCode(parse(oneTensor().subarray(0, -4)), 'GGUF_TENSOR_OUT_OF_BOUNDS', ['"w"', 'past the end']);
    throwsCode(parse(rawGguf({ infos: [tinfo('w', [8], F32, 1 << 20)], data: Buffer.alloc(32) })), 'GGUF_TENSOR_OUT_OF_BOUNDS', ['"w"']);
  });
  test('overlapping tensors', () => {
    const infos = [tinfo('a', [16], F32, 0), tinfo('b', [8], F32, 32)];
    throwsCode(parse(rawGguf({ infos, data: Buffer.alloc(96) })), 'GGUF_TENSOR_OVERLAP', ['"a"', '"b"']);
  });
  test('misaligned tensor offset', () => {
    throwsCode(parse(rawGguf({ infos: [tinfo('w', [8], F32, 4)], data: Buffer.alloc(64) })), 'GGUF_BAD_OFFSET', ['"w"', '4', '32']);
  });
  test('unknown or removed ggml type ids', () => {
    throwsCode(parse(rawGguf({ infos: [tinfo('w', [8], 4, 0)], data: Buffer.alloc(64) })), 'GGUF_UNKNOWN_TENSOR_TYPE', ['"w"', 'id 4']);
    throwsCode(parse(rawGguf({ infos: [tinfo('w', [8], 1000, 0)], data: Buffer.alloc(64) })), 'GGUF_UNKNOWN_TENSOR_TYPE', ['1000']);
  });
  test('bad shapes', () => {
    throwsCode(parse(rawGguf({ infos: [tinfo('w', [1, 1, 1, 1, 1], F32, 0)], data: Buffer.alloc(32) })), 'GGUF_BAD_SHAPE', ['n_dims is 5']);
    throwsCode(parse(rawGguf({ infos: [tinfo('q', [16], 8, 0)], data: Buffer.alloc(64) })), 'GGUF_BAD_SHAPE', ['Q8_0', '32']);
    throwsCode(parse(rawGguf({ infos: [tinfo('w', [2 ** 40, 2 ** 40], F32, 0)] })), 'GGUF_BAD_SHAPE', ['overflows']);
  });
  test('missing file', () => {
    throwsCode(() => readGguf(join(dir, 'nope.gguf')), 'FILE_NOT_FOUND', ['nope.gguf']);
  });
  test('ggml type table', () => {
    assert.equal(ggmlTypeName(12), 'Q4_K');
    assert.equal(ggmlTypeName(30), 'BF16');
    assert.equal(ggmlTypeName(4), undefined);
  });
});

describe('stories260K.gguf', () => {
  const present = existsSync(STORIES_GGUF);
  test('metadata, tensor names and shapes', (t) => {
    if (!present) return t.skip(`${STORIES_GGUF} absent`);
    const g = readGguf(STORIES_GGUF);
    assert.equal(g.version, 3);
    assert.equal(g.metadata['general.architecture'], 'llama');
    assert.equal(g.metadata['llama.embedding_length'], 64);
    assert.equal(g.metadata['llama.feed_forward_length'], 172);
    assert.equal(g.metadata['llama.block_count'], 5);
    assert.equal(g.metadata['llama.attention.head_count'], 8);
    assert.equal(g.metadata['llama.attention.head_count_kv'], 4);
    assert.equal(g.metadata['tokenizer.ggml.bos_token_id'], 1);
    assert.equal(g.metadata['tokenizer.ggml.eos_token_id'], 2);
    const tokens = g.metadata['tokenizer.ggml.tokens'] as string[];
    assert.equal(tokens.length, 512);
    assert.equal(tokens[403], '▁Once');
    assert.equal(tokens[3], '<0x00>');
    assert.equal(g.tensors.length, 3 + 5 * 9);
    const shapes = Object.fromEntries(g.tensors.map((t) => [t.name, t.shape]));
    assert.deepEqual(shapes['token_embd.weight'], [512, 64]);
    assert.deepEqual(shapes['output_norm.weight'], [64]);
    assert.deepEqual(shapes['blk.0.attn_q.weight'], [64, 64]);
    assert.deepEqual(shapes['blk.0.attn_k.weight'], [32, 64]);
    assert.deepEqual(shapes['blk.4.ffn_down.weight'], [64, 172]);
    assert.deepEqual(shapes['blk.4.ffn_up.weight'], [172, 64]);
    assert.ok(g.tensors.every((t) => t.type === 'F32'));
    const emb = g.tensorData('token_embd.weight');
    assert.equal(emb.length, 512 * 64);
    assert.equal(emb.buffer, g.buffer.buffer);
    assert.ok(emb.every(Number.isFinite));
  });
});

test('errors are ProbityErrors, not RangeErrors, for every prefix of a valid file', () => {
  const p = join(dir, 'prefix.gguf');
  writeGguf(p, { metadata: { 'general.name': 'x', k: { type: 'uint64', value: 3 } }, tensors: [{ name: 'w', shape: [4], data: seq(4) }] });
  const full = readFileSync(p);
  for (let n = 0; n < full.length; n++) {
    try {
      parseGguf(full.subarray(0, n));
    } catch (e) {
      assert.ok(e instanceof ProbityError, `prefix ${n}: ${String(e)}`);
      continue;
    }
    // Only the zero padding after the last tensor may be cut without losing data.
    assert.ok(n >= full.length - 16, `prefix of ${n} bytes parsed`);
  }
});
