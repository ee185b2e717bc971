import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  parseSafetensors,
  readSafetensors,
  writeSafetensors,
  type SafetensorsTensorInput,
} from '../../../src/models/loaders/safetensors.js';
import { rawSafetensors, tempDir, throwsCode } from './helpers.js';

const dir = tempDir('safetensors');

describe('safetensors round trip', () => {
  const path = join(dir, 'roundtrip.safetensors');
  const tensors: Record<string, SafetensorsTensorInput> = {
    'z.f32': { dtype: 'F32', shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 0, 1e-30, -7]) },
    'a.f64': { dtype: 'F64', shape: [3], data: Float64Array.from([Math.PI, -1e300, 0.1]) },
    'f16.bits': { dtype: 'F16', shape: [3], data: Uint16Array.from([0x3c00, 0xc000, 0x7c00]) },
    'bf16.bits': { dtype: 'BF16', shape: [2], data: Uint16Array.from([0x3f80, 0xbfc0]) },
    'i64': { dtype: 'I64', shape: [2], data: BigInt64Array.from([-(2n ** 63n), 42n]) },
    'u64': { dtype: 'U64', shape: [1], data: BigUint64Array.from([2n ** 64n - 1n]) },
    'i32': { dtype: 'I32', shape: [1, 2], data: Int32Array.from([-5, 2 ** 31 - 1]) },
    'u32': { dtype: 'U32', shape: [1], data: Uint32Array.from([2 ** 32 - 1]) },
    'i16': { dtype: 'I16', shape: [2], data: Int16Array.from([-32768, 7]) },
    'u16': { dtype: 'U16', shape: [1], data: Uint16Array.from([65535]) },
    'i8': { dtype: 'I8', shape: [3], data: Int8Array.from([-128, 0, 127]) },
    'u8': { dtype: 'U8', shape: [2, 2], data: Uint8Array.from([0, 1, 254, 255]) },
    'mask': { dtype: 'BOOL', shape: [3], data: Uint8Array.from([1, 0, 1]) },
    'scalar': { dtype: 'F32', shape: [], data: Float32Array.from([9]) },
    'empty': { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
  };
  const metadata = { format: 'pt', note: 'héllo' };
  writeSafetensors(path, tensors, metadata);
  const f = readSafetensors(path);

  test('every dtype comes back with identical shape and data', () => {
    assert.deepEqual(f.metadata, metadata);
    assert.deepEqual(new Set(f.names()), new Set(Object.keys(tensors)));
    for (const [name, t] of Object.entries(tensors)) {
      const got = f.tensor(name);
      assert.equal(got.dtype, t.dtype, name);
      assert.deepEqual(got.shape, t.shape, name);
      assert.deepEqual(got.data, t.data, name);
    }
  });

  test('layout: header padded with spaces to 8 bytes, data in sorted name order', () => {
    const bytes = readFileSync(path);
    const n = Number(bytes.readBigUInt64LE(0));
    assert.equal((8 + n) % 8, 0);
    assert.match(bytes.toString('utf8', 8, 8 + n), /} *$/);
    const byOffset = [...f.tensors].sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0]).map((t) => t.name);
    assert.deepEqual(byOffset, Object.keys(tensors).sort());
    let pos = 0;
    for (const name of byOffset) {
      const t = f.info(name);
      assert.equal(t.dataOffsets[0], pos, 'tensors are packed without gaps');
      pos = t.dataOffsets[1];
    }
    assert.equal(8 + n + pos, bytes.length);
  });

  test('float32(): F32 zero-copy when aligned, F16/BF16/F64 converted', () => {
    const a = f.float32('z.f32');
    assert.deepEqual(a, tensors['z.f32'].data);
    if (f.info('z.f32').offset % 4 === 0) assert.equal(a.buffer, f.buffer.buffer);
    assert.deepEqual([...f.float32('f16.bits')], [1, -2, Infinity]);
    assert.deepEqual([...f.float32('bf16.bits')], [1, -1.5]);
    assert.deepEqual([...f.float32('a.f64')], [Math.PI, -1e300, 0.1].map(Math.fround));
    throwsCode(() => f.float32('i32'), 'SAFETENSORS_NOT_FLOAT', ['"i32"', 'I32', path]);
  });

  test('misaligned data is copied, not viewed', () => {
    // A 1-byte F32 offset can only happen in a file written by someone else: build it by hand.
    const data = Buffer.alloc(9);
    data.writeFloatLE(2.5, 1);
    data.writeFloatLE(-1, 5);
    const g = parseSafetensors(rawSafetensors({ pad: { dtype: 'U8', shape: [1], data_offsets: [0, 1] }, w: { dtype: 'F32', shape: [2], data_offsets: [1, 9] } }, data));
    assert.deepEqual([...g.float32('w')], [2.5, -1]);
    assert.deepEqual([...(g.tensor('w').data as Float32Array)], [2.5, -1]);
  });

  test('Float32Array input is converted for F16, BF16 and F64', () => {
    const p = join(dir, 'convert.safetensors');
    const v = Float32Array.from([0.5, -3, 1024]);
    writeSafetensors(p, { h: { dtype: 'F16', shape: [3], data: v }, b: { dtype: 'BF16', shape: [3], data: v }, d: { dtype: 'F64', shape: [3], data: v } });
    const g = readSafetensors(p);
    for (const name of ['h', 'b', 'd']) assert.deepEqual(g.float32(name), v, name);
    assert.deepEqual(g.metadata, {});
  });

  test('missing tensor', () => {
    throwsCode(() => f.tensor('lm_head.weight'), 'SAFETENSORS_MISSING_TENSOR', ['"lm_head.weight"', path]);
  });
});

describe('safetensors writer validation', () => {
  const p = join(dir, 'bad-write.safetensors');
  test('shape / data mismatch', () => {
    throwsCode(() => writeSafetensors(p, { w: { dtype: 'F32', shape: [2, 2], data: new Float32Array(3) } }), 'SAFETENSORS_WRITE_BAD_TENSOR', ['"w"', '[2, 2]']);
  });
  test('typed array that does not match the dtype', () => {
    throwsCode(() => writeSafetensors(p, { w: { dtype: 'I32', shape: [2], data: new Float32Array(2) } }), 'SAFETENSORS_WRITE_BAD_TENSOR', ['Float32Array', 'I32']);
  });
});

describe('safetensors bad input', () => {
  const parse = (b: Buffer) => () => parseSafetensors(b, 'bad.safetensors');
  const entry = (o: object) => rawSafetensors({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8], ...o } }, Buffer.alloc(8));

  test('hand-built minimal file parses', () => {
    assert.deepEqual(parseSafetensors(entry({})).float32('w'), new Float32Array(2));
  });
  test('too short for the length prefix', () => {
    throwsCode(parse(Buffer.from([1, 2, 3])), 'SAFETENSORS_TRUNCATED', ['bad.safetensors', '3 bytes']);
  });
  test('header length past the end of the file', () => {
    throwsCode(parse(entry({}).subarray(0, 20)), 'SAFETENSORS_BAD_HEADER', ['header length']);
    const huge = Buffer.alloc(16, 0xff);
    throwsCode(parse(huge), 'SAFETENSORS_BAD_HEADER', ['18446744073709551615']);
  });
  test('header that is not JSON / not an object / not UTF-8', () => {
    throwsCode(parse(rawSafetensors('{"w": ')), 'SAFETENSORS_BAD_HEADER', ['not valid JSON']);
    throwsCode(parse(rawSafetensors('[1, 2]')), 'SAFETENSORS_BAD_HEADER', ['"{"']);
    throwsCode(parse(rawSafetensors('{"w": [1]}')), 'SAFETENSORS_BAD_HEADER', ['"w"', 'dtype, shape, data_offsets']);
    throwsCode(parse(rawSafetensors(Buffer.from([0x7b, 0xff, 0x7d]).toString('latin1'))), 'SAFETENSORS_BAD_HEADER');
  });
  test('unknown dtype', () => {
    throwsCode(parse(entry({ dtype: 'F8_E4M3' })), 'SAFETENSORS_BAD_DTYPE', ['"w"', '"F8_E4M3"', 'F32']);
    throwsCode(parse(entry({ dtype: undefined })), 'SAFETENSORS_BAD_DTYPE', ['undefined']);
  });
  test('bad shape', () => {
    throwsCode(parse(entry({ shape: [-2] })), 'SAFETENSORS_BAD_SHAPE', ['"w"', '[-2]']);
    throwsCode(parse(entry({ shape: [1.5] })), 'SAFETENSORS_BAD_SHAPE', ['1.5']);
    throwsCode(parse(entry({ shape: '2' })), 'SAFETENSORS_BAD_SHAPE', ['"2"']);
    throwsCode(parse(entry({ shape: [2 ** 40, 2 ** 40] })), 'SAFETENSORS_BAD_SHAPE', ['too many']);
  });
  test('bad data_offsets', () => {
    throwsCode(parse(entry({ data_offsets: [0, 16] })), 'SAFETENSORS_BAD_OFFSETS', ['"w"', '[0, 16]', '8-byte data section']);
    throwsCode(parse(entry({ data_offsets: [8, 0] })), 'SAFETENSORS_BAD_OFFSETS', ['[8, 0]']);
    throwsCode(parse(entry({ data_offsets: [0, 4] })), 'SAFETENSORS_BAD_OFFSETS', ['span 4 bytes', 'needs 8']);
    throwsCode(parse(entry({ data_offsets: [0] })), 'SAFETENSORS_BAD_OFFSETS', ['[0]']);
    throwsCode(parse(entry({ data_offsets: null })), 'SAFETENSORS_BAD_OFFSETS', ['null']);
  });
  test('overlapping tensors', () => {
    const h = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } };
    throwsCode(parse(rawSafetensors(h, Buffer.alloc(8))), 'SAFETENSORS_BAD_OFFSETS', ['"a"', '"b"', 'overlap']);
  });
  test('bad __metadata__', () => {
    throwsCode(parse(rawSafetensors({ __metadata__: { n: 1 } })), 'SAFETENSORS_BAD_METADATA', ['"n"', '1']);
    throwsCode(parse(rawSafetensors({ __metadata__: 'x' })), 'SAFETENSORS_BAD_METADATA', ['"x"']);
  });
  test('missing file', () => {
    throwsCode(() => readSafetensors(join(dir, 'nope.safetensors')), 'FILE_NOT_FOUND', ['nope.safetensors']);
  });
});
