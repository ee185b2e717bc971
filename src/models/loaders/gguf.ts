// GGUF (v2/v3, little-endian) reader and a small writer (F32/F16/BF16, and the quantized types for test files).
// Format: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
// A float file is read into one Buffer (F32 tensors are zero-copy views of it); every read is bounds-checked first so
// corrupt input becomes a ProbityError with a stable code, never a RangeError. Quantized tensors (quant/: Q8_0, Q4_0,
// Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K) are dequantized block by block straight into the Float32Array tensorData()
// returns. A large file holding quantized tensors is read lazily: only its header stays in memory, and each tensor's
// bytes are read from disk in chunks of at most CHUNK_BYTES as they are dequantized, so loading needs the float32
// weights plus one chunk, not also the file.
import { closeSync, fstatSync, openSync, readSync, writeFileSync } from 'node:fs';
import { ProbityError, show } from '../../errors.js';
import {
  bf16ToF32,
  f16ToF32,
  f32ToBf16Bits,
  f32ToF16Bits,
  float32At,
  LITTLE_ENDIAN_HOST,
  readWholeFile,
  safeProduct,
  swapBytes,
} from './common.js';
import { isQuantType, QUANT_CODECS, QUANT_TYPES, type QuantType } from './quant/index.js';

export type GgufScalarType =
  | 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'float32'
  | 'bool' | 'string' | 'uint64' | 'int64' | 'float64';
export type GgufValueType = GgufScalarType | 'array';
export type GgufScalar = number | bigint | boolean | string;
/** Metadata value as JS sees it; 64-bit integers are numbers when safe, bigints otherwise. */
export type GgufValue = GgufScalar | GgufValue[];

/** Metadata value with its GGUF type, as written and as read back (`GgufFile.typedMetadata`). */
export type GgufTypedValue = { type: GgufScalarType; value: GgufScalar } | GgufTypedArray;
/** For itemType 'array' (nested arrays) the elements are themselves GgufTypedArrays. */
export interface GgufTypedArray {
  type: 'array';
  itemType: GgufValueType;
  value: (GgufScalar | GgufTypedArray)[];
}

// Index = GGUF value type id.
const VALUE_TYPES: readonly GgufValueType[] = [
  'uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32', 'float32', 'bool', 'string', 'array', 'uint64', 'int64', 'float64',
];
// Smallest encoding of one value of each type: lets counts be checked against the bytes left before looping.
const MIN_SIZE: Record<GgufValueType, number> = {
  uint8: 1, int8: 1, bool: 1, uint16: 2, int16: 2, uint32: 4, int32: 4, float32: 4,
  uint64: 8, int64: 8, float64: 8, string: 8, array: 12,
};
// Real files never nest arrays (ggml itself rejects it); the cap keeps recursion off the stack limit.
const MAX_ARRAY_DEPTH = 8;

// ggml type id -> [name, elements per block, bytes per block], from ggml.h / ggml.c type_traits.
// Missing ids (4, 5, 31-33, 36-38) are types ggml removed; files using them are rejected.
const GGML_TYPES: Readonly<Record<number, readonly [string, number, number]>> = {
  0: ['F32', 1, 4], 1: ['F16', 1, 2], 2: ['Q4_0', 32, 18], 3: ['Q4_1', 32, 20], 6: ['Q5_0', 32, 22],
  7: ['Q5_1', 32, 24], 8: ['Q8_0', 32, 34], 9: ['Q8_1', 32, 36], 10: ['Q2_K', 256, 84], 11: ['Q3_K', 256, 110],
  12: ['Q4_K', 256, 144], 13: ['Q5_K', 256, 176], 14: ['Q6_K', 256, 210], 15: ['Q8_K', 256, 292],
  16: ['IQ2_XXS', 256, 66], 17: ['IQ2_XS', 256, 74], 18: ['IQ3_XXS', 256, 98], 19: ['IQ1_S', 256, 50],
  20: ['IQ4_NL', 32, 18], 21: ['IQ3_S', 256, 110], 22: ['IQ2_S', 256, 82], 23: ['IQ4_XS', 256, 136],
  24: ['I8', 1, 1], 25: ['I16', 1, 2], 26: ['I32', 1, 4], 27: ['I64', 1, 8], 28: ['F64', 1, 8],
  29: ['IQ1_M', 256, 56], 30: ['BF16', 1, 2], 34: ['TQ1_0', 256, 54], 35: ['TQ2_0', 256, 66], 39: ['MXFP4', 32, 17],
};
const GGML_TYPE_IDS: ReadonlyMap<string, number> = new Map(Object.entries(GGML_TYPES).map(([id, t]) => [t[0], Number(id)]));
/** ggml float types that tensorData() reads or converts to float32. */
export const GGUF_FLOAT_TYPES = ['F32', 'F16', 'BF16'] as const;
/** Every ggml type tensorData() returns as float32: the float types, then the quantized ones it dequantizes. */
export const GGUF_READABLE_TYPES: readonly string[] = [...GGUF_FLOAT_TYPES, ...QUANT_TYPES];

// llama.cpp's llama_ftype (general.file_type): what llama-quantize was asked for. The tensors' own types say what the
// file holds (a Q4_K_M file has Q4_K, Q6_K and F32 tensors); this is only the label.
const FILE_TYPES: Readonly<Record<number, string>> = {
  0: 'ALL_F32', 1: 'MOSTLY_F16', 2: 'MOSTLY_Q4_0', 3: 'MOSTLY_Q4_1', 4: 'MOSTLY_Q4_1_SOME_F16', 7: 'MOSTLY_Q8_0',
  8: 'MOSTLY_Q5_0', 9: 'MOSTLY_Q5_1', 10: 'MOSTLY_Q2_K', 11: 'MOSTLY_Q3_K_S', 12: 'MOSTLY_Q3_K_M', 13: 'MOSTLY_Q3_K_L',
  14: 'MOSTLY_Q4_K_S', 15: 'MOSTLY_Q4_K_M', 16: 'MOSTLY_Q5_K_S', 17: 'MOSTLY_Q5_K_M', 18: 'MOSTLY_Q6_K',
  19: 'MOSTLY_IQ2_XXS', 20: 'MOSTLY_IQ2_XS', 21: 'MOSTLY_Q2_K_S', 22: 'MOSTLY_IQ3_XS', 23: 'MOSTLY_IQ3_XXS',
  24: 'MOSTLY_IQ1_S', 25: 'MOSTLY_IQ4_NL', 26: 'MOSTLY_IQ3_S', 27: 'MOSTLY_IQ3_M', 28: 'MOSTLY_IQ2_S', 29: 'MOSTLY_IQ2_M',
};

/** One ggml type's share of a file (GgufFile.typeSummary). */
export interface GgufTypeCount {
  type: string;
  tensors: number;
  elements: number;
  bytes: number;
  /** Whether tensorData() reads this type. */
  readable: boolean;
}

/** Name of a ggml type id ('Q4_K', ...), or undefined for an unknown/removed id. */
export function ggmlTypeName(id: number): string | undefined {
  return GGML_TYPES[id]?.[0];
}

export interface GgufTensorInfo {
  name: string;
  /** Row-major (PyTorch) order: ggml's `ne` reversed. token_embd.weight of a dim-64, vocab-512 model is [512, 64]. */
  shape: number[];
  /** ggml order, fastest-varying first, as stored in the file. */
  ne: number[];
  type: string;
  typeId: number;
  nElements: number;
  /** Absolute byte offset in the file. */
  offset: number;
  /** Offset as stored: relative to the start of the data section. */
  relativeOffset: number;
  byteLength: number;
}

export const GGUF_MAGIC = 'GGUF';
const DEFAULT_ALIGNMENT = 32;

/** Where tensor bytes come from when they are not in GgufFile.buffer: byte ranges of the file on disk. */
export interface GgufByteSource {
  readonly size: number;
  read(offset: number, length: number): Buffer;
}

// Largest read of a lazy file's tensor bytes at once (rounded down to whole blocks).
const CHUNK_BYTES = 4 << 20;
// Quantized files from this size on are read lazily by default (below it, holding the file costs little).
const LAZY_MIN_BYTES = 64 << 20;

export class GgufFile {
  private readonly byName: Map<string, GgufTensorInfo>;

  constructor(
    readonly path: string,
    /**
     * The whole file, or for a lazily read file (`lazy` true) only its header. Views returned by tensorData() and
     * tensorBytes() of an F32 tensor alias it when it holds the tensor.
     */
    readonly buffer: Buffer,
    readonly version: number,
    readonly metadata: Record<string, GgufValue>,
    readonly typedMetadata: Record<string, GgufTypedValue>,
    readonly tensors: GgufTensorInfo[],
    readonly alignment: number,
    /** Absolute byte offset of the (aligned) tensor data section. */
    readonly dataOffset: number,
    /** Tensor bytes past `buffer` are read from here (readGguf of a quantized file). */
    private readonly source?: GgufByteSource,
  ) {
    this.byName = new Map(tensors.map((t) => [t.name, t]));
  }

  /** True when tensor bytes are read from disk on demand rather than held in `buffer`. */
  get lazy(): boolean {
    return this.source !== undefined;
  }

  /** `length` bytes at absolute `offset`: a view of `buffer` when it holds them, else read from the file. */
  private bytesAt(offset: number, length: number): Buffer {
    if (offset + length <= this.buffer.length) return this.buffer.subarray(offset, offset + length);
    if (!this.source || offset + length > this.source.size) {
      throw new ProbityError('GGUF_TENSOR_OUT_OF_BOUNDS', `${this.path}: bytes ${offset}..${offset + length} are past the end of the file`);
    }
    return this.source.read(offset, length);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  tensor(name: string): GgufTensorInfo {
    const t = this.byName.get(name);
    if (!t) {
      throw new ProbityError(
        'GGUF_MISSING_TENSOR',
        `${this.path}: no tensor named ${show(name)} (the file has ${this.tensors.length} tensors, e.g. ${show(
          this.tensors.slice(0, 5).map((x) => x.name),
        )})`,
      );
    }
    return t;
  }

  /** Raw tensor bytes: zero-copy, or (lazy file) read from disk. */
  tensorBytes(name: string): Uint8Array {
    const t = this.tensor(name);
    return this.bytesAt(t.offset, t.byteLength);
  }

  /**
   * F32 as a zero-copy view where aligned (a copy otherwise, or read from disk for a lazy file); F16/BF16 converted;
   * the quantized types in GGUF_READABLE_TYPES dequantized block by block into the returned array (the only memory
   * used besides, for a lazy file, one read chunk of at most 4 MiB). Other types (IQ*, Q2_K, Q3_K, ...) are refused,
   * naming the tensor and the type.
   */
  tensorData(name: string): Float32Array {
    const t = this.tensor(name);
    if (t.type === 'F32') return float32At(this.bytesAt(t.offset, t.byteLength), 0, t.nElements);
    return this.decodeRows(t, 0, t.nElements / this.rowLength(t));
  }

  /**
   * Rows [first, first + count) of a tensor as float32, a row being ne[0] elements (one row of a [out, in] matrix, one
   * token's embedding): reads only those rows' blocks, so a caller can keep a large quantized tensor in the file and
   * dequantize on demand. Always a fresh array.
   */
  tensorRows(name: string, first: number, count: number): Float32Array {
    const t = this.tensor(name);
    const rows = t.nElements / this.rowLength(t);
    if (!Number.isSafeInteger(first) || !Number.isSafeInteger(count) || first < 0 || count < 0 || first + count > rows) {
      throw new ProbityError('GGUF_BAD_ROWS', `${this.path}: tensor ${show(name)} has ${rows} rows; cannot read ${count} rows from row ${first}`);
    }
    if (t.type === 'F32') return float32At(this.bytesAt(t.offset + first * this.rowLength(t) * 4, count * this.rowLength(t) * 4), 0, count * this.rowLength(t)).slice();
    return this.decodeRows(t, first, count);
  }

  /** The ggml types in the file, in order of first appearance, with their tensor counts and sizes. */
  typeSummary(): GgufTypeCount[] {
    const by = new Map<string, GgufTypeCount>();
    for (const t of this.tensors) {
      let c = by.get(t.type);
      if (!c) by.set(t.type, (c = { type: t.type, tensors: 0, elements: 0, bytes: 0, readable: GGUF_READABLE_TYPES.includes(t.type) }));
      c.tensors++;
      c.elements += t.nElements;
      c.bytes += t.byteLength;
    }
    return [...by.values()];
  }

  /** llama.cpp's label for the file from general.file_type ('MOSTLY_Q4_K_M'), undefined when absent or unknown. */
  get fileType(): string | undefined {
    const v = this.metadata['general.file_type'];
    return typeof v === 'number' ? FILE_TYPES[v] : undefined;
  }

  private rowLength(t: GgufTensorInfo): number {
    return t.ne.length > 0 && t.ne[0] > 0 ? t.ne[0] : 1;
  }

  private decodeRows(t: GgufTensorInfo, first: number, count: number): Float32Array {
    const rowLen = this.rowLength(t);
    const start = first * rowLen;
    const n = count * rowLen;
    if (t.type === 'F16') return f16ToF32(this.bytesAt(t.offset + start * 2, n * 2), 0, n);
    if (t.type === 'BF16') return bf16ToF32(this.bytesAt(t.offset + start * 2, n * 2), 0, n);
    if (!isQuantType(t.type)) {
      throw new ProbityError(
        'GGUF_UNSUPPORTED_TYPE',
        `${this.path}: tensor ${show(t.name)} has ggml type ${t.type} (id ${t.typeId}), which probity cannot read; ` +
          `supported types are ${GGUF_READABLE_TYPES.join(', ')} (requantize the model to one of them, e.g. Q4_K_M, ` +
          `Q5_K_M, Q6_K or Q8_0 with llama-quantize, or export it as F16)`,
      );
    }
    const c = QUANT_CODECS[t.type];
    // parseGguf checked all of this; a GgufFile built by hand might not have been.
    const src = t.offset + (start / c.blockElems) * c.blockBytes;
    const nBlocks = n / c.blockElems;
    const size = this.source?.size ?? this.buffer.length;
    if (!Number.isInteger(nBlocks) || !Number.isInteger(src) || src + nBlocks * c.blockBytes > Math.min(size, t.offset + t.byteLength)) {
      throw new ProbityError(
        'GGUF_TENSOR_OUT_OF_BOUNDS',
        `${this.path}: tensor ${show(t.name)} (${t.type} ${show(t.shape)}): ${n} elements from element ${start} need ` +
          `${nBlocks} whole ${c.blockBytes}-byte blocks at byte ${src}, which the ${size}-byte file does not hold`,
      );
    }
    const out = new Float32Array(n);
    const perChunk = Math.max(1, Math.floor(CHUNK_BYTES / c.blockBytes));
    for (let b = 0; b < nBlocks; b += perChunk) {
      const k = Math.min(perChunk, nBlocks - b);
      c.dequantize(this.bytesAt(src + b * c.blockBytes, k * c.blockBytes), 0, k, out, b * c.blockElems);
    }
    return out;
  }
}

export interface ReadGgufOptions {
  /**
   * Keep only the header in memory and read tensor bytes from disk when asked. Default: lazy when the file holds a
   * tensor that is not F32/F16/BF16 and is at least LAZY_MIN_BYTES, so a large quantized file is never held in memory
   * beside its dequantized weights, while float files (and small ones) keep their zero-copy F32 views.
   */
  lazy?: boolean;
}

export function readGguf(path: string, opts: ReadGgufOptions = {}): GgufFile {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return parseGguf(readWholeFile(path, 'GGUF file'), path); // readWholeFile words the error (missing file, ...)
  }
  let size: number;
  let head: GgufFile;
  try {
    size = fstatSync(fd).size;
    head = parseHeader(fd, size, path);
  } finally {
    closeSync(fd);
  }
  const quantized = head.tensors.some((t) => !(GGUF_FLOAT_TYPES as readonly string[]).includes(t.type));
  if (!(opts.lazy ?? (quantized && size >= LAZY_MIN_BYTES))) return parseGguf(readWholeFile(path, 'GGUF file'), path);
  return head;
}

/**
 * Parses the header from a prefix of the file, growing the prefix while the header runs past it. Every check against
 * the file's size uses the real size, so the result (or the error) is the one parsing the whole file would give.
 */
function parseHeader(fd: number, size: number, path: string): GgufFile {
  const source: GgufByteSource = { size, read: (offset, length) => readRange(path, offset, length) };
  for (let n = 1 << 20; n < size; n *= 4) {
    const prefix = Buffer.allocUnsafeSlow(n);
    const got = readSync(fd, prefix, 0, n, 0);
    try {
      return parseGgufInternal(prefix.subarray(0, got), path, size, source);
    } catch (e) {
      const ranOut = e instanceof ProbityError && ['GGUF_TRUNCATED', 'GGUF_BAD_COUNT', 'GGUF_BAD_LENGTH'].includes(e.code);
      if (!ranOut) throw e;
    }
  }
  // A header as large as the file (or a small file): parse the whole file, which gives the error a prefix cannot.
  return parseGgufInternal(readWholeFile(path, 'GGUF file'), path, size, source);
}

/** One byte range of a file, read now (the file is opened per read: nothing stays open between tensors). */
function readRange(path: string, offset: number, length: number): Buffer {
  const out = Buffer.allocUnsafeSlow(length);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new ProbityError('FILE_READ_ERROR', `GGUF file ${path}: cannot reopen to read tensor data (${e instanceof Error ? e.message : String(e)})`);
  }
  try {
    for (let pos = 0; pos < length; ) {
      const n = readSync(fd, out, pos, Math.min(length - pos, 1 << 30), offset + pos);
      if (n === 0) {
        throw new ProbityError('FILE_READ_ERROR', `GGUF file ${path}: file shrank while being read (bytes ${offset}..${offset + length} expected)`);
      }
      pos += n;
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

/** Bounds-checked little-endian reads; `field` names what is being read for error messages. */
class Cursor {
  pos = 0;
  constructor(
    readonly buf: Buffer,
    readonly path: string,
  ) {}

  fail(code: string, msg: string): never {
    throw new ProbityError(code, `${this.path}: ${msg}`);
  }

  need(n: number, field: string): void {
    const left = this.buf.length - this.pos;
    if (n > left) {
      this.fail(
        'GGUF_TRUNCATED',
        `file truncated: ${field} needs ${n} bytes at byte ${this.pos} but only ${left} remain (file size ${this.buf.length})`,
      );
    }
  }

  /**
   * A length/count read from the file, checked against the bytes left. Truncation and corruption look alike here; a
   * value more than the whole file could hold is called corrupt (`absurdCode`), a smaller one truncation.
   */
  count(field: string, unitSize: number, absurdCode: string): number {
    const at = this.pos;
    const n = this.u64(field);
    const size = BigInt(this.buf.length);
    const needed = n * BigInt(unitSize);
    const left = size - BigInt(this.pos);
    if (needed > left) {
      const what = `${field} = ${n} at byte ${at} needs at least ${needed} bytes but only ${left} remain in the ${size}-byte file`;
      if (needed > size) this.fail(absurdCode, `${what} (corrupt value, or a badly truncated file)`);
      this.fail('GGUF_TRUNCATED', `file truncated (or corrupt): ${what}`);
    }
    return Number(n);
  }

  u8(f: string): number { this.need(1, f); return this.buf.readUInt8(this.pos++); }
  i8(f: string): number { this.need(1, f); return this.buf.readInt8(this.pos++); }
  u16(f: string): number { this.need(2, f); const v = this.buf.readUInt16LE(this.pos); this.pos += 2; return v; }
  i16(f: string): number { this.need(2, f); const v = this.buf.readInt16LE(this.pos); this.pos += 2; return v; }
  u32(f: string): number { this.need(4, f); const v = this.buf.readUInt32LE(this.pos); this.pos += 4; return v; }
  i32(f: string): number { this.need(4, f); const v = this.buf.readInt32LE(this.pos); this.pos += 4; return v; }
  f32(f: string): number { this.need(4, f); const v = this.buf.readFloatLE(this.pos); this.pos += 4; return v; }
  f64(f: string): number { this.need(8, f); const v = this.buf.readDoubleLE(this.pos); this.pos += 8; return v; }
  u64(f: string): bigint { this.need(8, f); const v = this.buf.readBigUInt64LE(this.pos); this.pos += 8; return v; }
  i64(f: string): bigint { this.need(8, f); const v = this.buf.readBigInt64LE(this.pos); this.pos += 8; return v; }

  string(field: string): string {
    const n = this.count(`${field} length`, 1, 'GGUF_BAD_LENGTH');
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
}

const toSafe = (v: bigint): number | bigint =>
  v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;

function readScalar(c: Cursor, type: GgufScalarType, field: string): GgufScalar {
  switch (type) {
    case 'uint8': return c.u8(field);
    case 'int8': return c.i8(field);
    case 'uint16': return c.u16(field);
    case 'int16': return c.i16(field);
    case 'uint32': return c.u32(field);
    case 'int32': return c.i32(field);
    case 'float32': return c.f32(field);
    case 'float64': return c.f64(field);
    case 'uint64': return toSafe(c.u64(field));
    case 'int64': return toSafe(c.i64(field));
    case 'string': return c.string(field);
    case 'bool': {
      const at = c.pos;
      const b = c.u8(field);
      if (b > 1) c.fail('GGUF_BAD_VALUE', `${field} at byte ${at}: bool byte is ${b}, expected 0 or 1`);
      return b === 1;
    }
  }
}

function readValueType(c: Cursor, field: string): GgufValueType {
  const at = c.pos;
  const id = c.u32(`${field} type`);
  const t = VALUE_TYPES[id];
  if (t === undefined) {
    c.fail('GGUF_BAD_VALUE_TYPE', `${field} at byte ${at}: unknown GGUF value type ${id} (expected 0..${VALUE_TYPES.length - 1})`);
  }
  return t;
}

/** Reads one value; arrays come back both plain (GgufValue) and typed, sharing the same JS array when flat. */
function readValue(c: Cursor, type: GgufValueType, field: string, depth = 0): [GgufValue, GgufTypedValue] {
  if (type !== 'array') {
    const v = readScalar(c, type, field);
    return [v, { type, value: v }];
  }
  if (depth >= MAX_ARRAY_DEPTH) c.fail('GGUF_BAD_VALUE', `${field}: arrays nested more than ${MAX_ARRAY_DEPTH} deep`);
  const itemType = readValueType(c, `${field} array item`);
  const n = c.count(`${field} array length`, MIN_SIZE[itemType], 'GGUF_BAD_COUNT');
  if (itemType !== 'array') {
    const items: GgufScalar[] = new Array(n);
    for (let i = 0; i < n; i++) items[i] = readScalar(c, itemType, `${field}[${i}]`);
    return [items, { type: 'array', itemType, value: items }];
  }
  const plain: GgufValue[] = [];
  const typed: GgufTypedArray[] = [];
  for (let i = 0; i < n; i++) {
    const [p, t] = readValue(c, 'array', `${field}[${i}]`, depth + 1);
    plain.push(p);
    typed.push(t as GgufTypedArray);
  }
  return [plain, { type: 'array', itemType, value: typed }];
}

function describeMagic(b: Buffer): string {
  const ascii = [...b].map((x) => (x >= 0x20 && x < 0x7f ? String.fromCharCode(x) : '.')).join('');
  return `${show(ascii)} (hex ${b.toString('hex')})`;
}

/** Parses a GGUF file already in memory. `path` is only used in error messages. */
export function parseGguf(buf: Buffer, path = '<buffer>'): GgufFile {
  return parseGgufInternal(buf, path, buf.length);
}

/** `buf` is the whole file, or a prefix of a `fileSize`-byte file whose tensor bytes `source` reads. */
function parseGgufInternal(buf: Buffer, path: string, fileSize: number, source?: GgufByteSource): GgufFile {
  const c: Cursor = new Cursor(buf, path); // explicit type: lets `c.fail()` (never) narrow
  if (buf.length < 4) {
    c.fail('GGUF_TRUNCATED', `file is ${buf.length} bytes, too short for the 4-byte magic "GGUF"`);
  }
  if (buf.toString('latin1', 0, 4) !== GGUF_MAGIC) {
    c.fail('GGUF_BAD_MAGIC', `not a GGUF file: first 4 bytes are ${describeMagic(buf.subarray(0, 4))}, expected "GGUF"`);
  }
  c.pos = 4;
  const version = c.u32('header version');
  if (version !== 2 && version !== 3) {
    const hint =
      version === 1 ? ' (GGUF v1 is obsolete; re-convert the model)'
      : version !== 0 && (version & 0xffff) === 0 ? ' (this looks like a big-endian GGUF file, which probity does not read)'
      : '';
    c.fail('GGUF_UNSUPPORTED_VERSION', `header version is ${version}, expected 2 or 3${hint}`);
  }
  // Smallest tensor info: name length + n_dims + type + offset; smallest key/value: key length + type + 1 byte.
  const tensorCount = c.count('header tensor_count', 24, 'GGUF_BAD_COUNT');
  const kvCount = c.count('header metadata_kv_count', 13, 'GGUF_BAD_COUNT');

  const metadata: Record<string, GgufValue> = {};
  const typedMetadata: Record<string, GgufTypedValue> = {};
  for (let i = 0; i < kvCount; i++) {
    const keyAt = c.pos;
    const key = c.string(`metadata key #${i}`);
    if (Object.hasOwn(metadata, key)) c.fail('GGUF_DUPLICATE_KEY', `metadata key ${show(key)} at byte ${keyAt} appears twice`);
    const field = `metadata ${show(key)}`;
    const [plain, typed] = readValue(c, readValueType(c, field), field);
    // defineProperty: a key named "__proto__" must stay an ordinary entry.
    Object.defineProperty(metadata, key, { value: plain, enumerable: true, writable: true, configurable: true });
    Object.defineProperty(typedMetadata, key, { value: typed, enumerable: true, writable: true, configurable: true });
  }

  const alignment = readAlignment(c, typedMetadata);

  type Raw = Omit<GgufTensorInfo, 'offset'>;
  const raws: Raw[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const name = c.string(`tensor info #${i} name`);
    const field = `tensor ${show(name)}`;
    if (seen.has(name)) c.fail('GGUF_DUPLICATE_TENSOR', `${field} appears twice in the tensor infos`);
    seen.add(name);
    const nDims = c.u32(`${field} n_dims`);
    if (nDims > 4) c.fail('GGUF_BAD_SHAPE', `${field}: n_dims is ${nDims}, expected at most 4`);
    const ne: number[] = [];
    for (let d = 0; d < nDims; d++) {
      const v = c.u64(`${field} ne[${d}]`);
      if (v > BigInt(Number.MAX_SAFE_INTEGER)) c.fail('GGUF_BAD_SHAPE', `${field}: ne[${d}] = ${v} is absurdly large`);
      ne.push(Number(v));
    }
    const typeId = c.u32(`${field} type`);
    const traits = GGML_TYPES[typeId];
    if (!traits) c.fail('GGUF_UNKNOWN_TENSOR_TYPE', `${field}: unknown ggml type id ${typeId}`);
    const [type, blockSize, blockBytes] = traits;
    const nElements = safeProduct(ne);
    if (nElements === undefined) c.fail('GGUF_BAD_SHAPE', `${field}: element count of ne ${show(ne)} overflows`);
    if (nDims > 0 && ne[0] % blockSize !== 0) {
      c.fail(
        'GGUF_BAD_SHAPE',
        `${field}: ne[0] = ${ne[0]} (the innermost dimension) is not a multiple of the ${type} block size ${blockSize}`,
      );
    }
    if (nDims === 0 && blockSize > 1) c.fail('GGUF_BAD_SHAPE', `${field}: a 0-dim tensor cannot be ${type} (blocks of ${blockSize})`);
    const byteLength = (nElements / blockSize) * blockBytes;
    const rel = c.u64(`${field} offset`);
    if (rel > BigInt(fileSize)) {
      c.fail('GGUF_TENSOR_OUT_OF_BOUNDS', `${field}: data offset ${rel} is past the end of the ${fileSize}-byte file`);
    }
    const relativeOffset = Number(rel);
    if (relativeOffset % alignment !== 0) {
      c.fail('GGUF_BAD_OFFSET', `${field}: data offset ${relativeOffset} is not a multiple of the alignment ${alignment}`);
    }
    raws.push({ name, shape: [...ne].reverse(), ne, type, typeId, nElements, relativeOffset, byteLength });
  }

  const dataOffset = Math.ceil(c.pos / alignment) * alignment;
  const span = (t: GgufTensorInfo) => `${show(t.name)} (${t.type} ${show(t.shape)}, bytes ${t.offset}..${t.offset + t.byteLength})`;
  const tensors: GgufTensorInfo[] = raws.map((r) => ({ ...r, offset: dataOffset + r.relativeOffset }));
  for (const t of tensors) {
    if (t.offset + t.byteLength > fileSize) {
      c.fail('GGUF_TENSOR_OUT_OF_BOUNDS', `tensor ${span(t)} runs past the end of the ${fileSize}-byte file`);
    }
  }
  const byOffset = [...tensors].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < byOffset.length; i++) {
    const [a, b] = [byOffset[i - 1], byOffset[i]];
    if (b.offset < a.offset + a.byteLength) c.fail('GGUF_TENSOR_OVERLAP', `tensor ${span(b)} overlaps tensor ${span(a)}`);
  }
  // A lazy file keeps only its header (a copy, so the prefix read for parsing is not kept alive).
  const kept = source ? Buffer.from(buf.subarray(0, Math.min(buf.length, dataOffset))) : buf;
  return new GgufFile(path, kept, version, metadata, typedMetadata, tensors, alignment, dataOffset, source);
}

function readAlignment(c: Cursor, typed: Record<string, GgufTypedValue>): number {
  const a = typed['general.alignment'];
  if (a === undefined) return DEFAULT_ALIGNMENT;
  const v = a.value;
  if (a.type !== 'uint32' || typeof v !== 'number' || v === 0 || (v & (v - 1)) !== 0) {
    c.fail('GGUF_BAD_ALIGNMENT', `metadata "general.alignment" is ${a.type} ${show(a.value)}, expected a uint32 power of two`);
  }
  return v;
}

// ---------------------------------------------------------------------------------------------------------------------
// Writer

/** Bare strings, booleans and string arrays have an obvious GGUF type; numbers must say which one they are. */
export type GgufMetadataInput = GgufTypedValue | string | boolean | string[];

/**
 * Float data, stored as F32 (default), converted to F16/BF16 (round to nearest even), or quantized to one of the
 * QUANT_TYPES with quant/'s plain round-to-nearest quantizer (the last shape dim must be whole blocks).
 */
export interface GgufFloatTensorInput {
  name: string;
  /** Row-major (PyTorch) order. */
  shape: readonly number[];
  data: Float32Array;
  type?: 'F32' | 'F16' | 'BF16' | QuantType;
}
/** Already-encoded bytes of any ggml type (e.g. Q8_0 blocks); mainly for tests. */
export interface GgufRawTensorInput {
  name: string;
  shape: readonly number[];
  type: string;
  raw: Uint8Array;
}
export interface GgufWriteInput {
  metadata?: Record<string, GgufMetadataInput>;
  tensors?: (GgufFloatTensorInput | GgufRawTensorInput)[];
}

const INT_RANGES: Partial<Record<GgufScalarType, readonly [bigint, bigint]>> = {
  uint8: [0n, 0xffn], int8: [-0x80n, 0x7fn], uint16: [0n, 0xffffn], int16: [-0x8000n, 0x7fffn],
  uint32: [0n, 0xffffffffn], int32: [-0x80000000n, 0x7fffffffn],
  uint64: [0n, 0xffffffffffffffffn], int64: [-0x8000000000000000n, 0x7fffffffffffffffn],
};

class ByteWriter {
  private chunks: Buffer[] = [];
  length = 0;
  push(b: Buffer): void {
    this.chunks.push(b);
    this.length += b.length;
  }
  num(write: (b: Buffer) => void, size: number): void {
    const b = Buffer.alloc(size);
    write(b);
    this.push(b);
  }
  u32(v: number): void { this.num((b) => b.writeUInt32LE(v), 4); }
  u64(v: number | bigint): void { this.num((b) => b.writeBigUInt64LE(BigInt(v)), 8); }
  string(s: string): void {
    const bytes = Buffer.from(s, 'utf8');
    this.u64(bytes.length);
    this.push(bytes);
  }
  pad(alignment: number): void {
    const n = (alignment - (this.length % alignment)) % alignment;
    if (n) this.push(Buffer.alloc(n));
  }
  concat(): Buffer {
    return Buffer.concat(this.chunks, this.length);
  }
}

function writeBad(msg: string): never {
  throw new ProbityError('GGUF_WRITE_BAD_VALUE', msg);
}

function toTyped(key: string, v: GgufMetadataInput): GgufTypedValue {
  if (typeof v === 'string') return { type: 'string', value: v };
  if (typeof v === 'boolean') return { type: 'bool', value: v };
  if (Array.isArray(v)) {
    if (!v.every((s) => typeof s === 'string')) {
      writeBad(`metadata ${show(key)}: a bare array must hold strings; give {type: 'array', itemType, value} for others`);
    }
    return { type: 'array', itemType: 'string', value: v };
  }
  if (typeof v !== 'object' || v === null || !VALUE_TYPES.includes(v.type)) {
    writeBad(`metadata ${show(key)}: value ${show(v)} needs an explicit GGUF type, e.g. {type: 'uint32', value: 5}`);
  }
  return v;
}

function writeScalar(w: ByteWriter, type: GgufScalarType, v: unknown, field: string): void {
  const bad = (): never => writeBad(`${field}: ${show(v)} is not a valid ${type}`);
  if (type === 'string') return typeof v === 'string' ? w.string(v) : bad();
  if (type === 'bool') return typeof v === 'boolean' ? w.num((b) => b.writeUInt8(v ? 1 : 0), 1) : bad();
  if (type === 'float32' || type === 'float64') {
    if (typeof v !== 'number') bad();
    return type === 'float32' ? w.num((b) => b.writeFloatLE(v as number), 4) : w.num((b) => b.writeDoubleLE(v as number), 8);
  }
  if (!(typeof v === 'bigint' || Number.isSafeInteger(v))) bad();
  const big = BigInt(v as number | bigint);
  const [lo, hi] = INT_RANGES[type]!;
  if (big < lo || big > hi) bad();
  const n = Number(big);
  switch (type) {
    case 'uint8': return w.num((b) => b.writeUInt8(n), 1);
    case 'int8': return w.num((b) => b.writeInt8(n), 1);
    case 'uint16': return w.num((b) => b.writeUInt16LE(n), 2);
    case 'int16': return w.num((b) => b.writeInt16LE(n), 2);
    case 'uint32': return w.num((b) => b.writeUInt32LE(n), 4);
    case 'int32': return w.num((b) => b.writeInt32LE(n), 4);
    case 'uint64': return w.num((b) => b.writeBigUInt64LE(big), 8);
    case 'int64': return w.num((b) => b.writeBigInt64LE(big), 8);
  }
}

function writeArrayBody(w: ByteWriter, a: GgufTypedArray, field: string): void {
  if (!VALUE_TYPES.includes(a.itemType) || !Array.isArray(a.value)) writeBad(`${field}: bad array ${show(a.itemType)}`);
  w.u32(VALUE_TYPES.indexOf(a.itemType));
  w.u64(a.value.length);
  a.value.forEach((item, i) => {
    if (a.itemType !== 'array') return writeScalar(w, a.itemType, item, `${field}[${i}]`);
    const inner = item as GgufTypedArray;
    if (typeof inner !== 'object' || inner === null || inner.type !== 'array') writeBad(`${field}[${i}]: expected a typed array`);
    writeArrayBody(w, inner, `${field}[${i}]`);
  });
}

function encodeTensor(t: GgufFloatTensorInput | GgufRawTensorInput): { type: string; bytes: Buffer } {
  const field = `tensor ${show(t.name)}`;
  const n = safeProduct(t.shape);
  if (n === undefined || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0) || t.shape.length > 4) {
    throw new ProbityError('GGUF_WRITE_BAD_TENSOR', `${field}: bad shape ${show(t.shape)} (up to 4 non-negative integer dims)`);
  }
  if ('raw' in t) {
    const traits = GGML_TYPES[GGML_TYPE_IDS.get(t.type) ?? -1];
    const expected = traits && (t.shape.at(-1) ?? 1) % traits[1] === 0 ? (n / traits[1]) * traits[2] : undefined;
    if (expected !== t.raw.length) {
      const msg = `${field}: ${t.raw.length} raw bytes do not fit type ${show(t.type)} and shape ${show(t.shape)}`;
      throw new ProbityError('GGUF_WRITE_BAD_TENSOR', msg);
    }
    return { type: t.type, bytes: Buffer.from(t.raw.buffer, t.raw.byteOffset, t.raw.byteLength) };
  }
  if (n !== t.data.length) {
    throw new ProbityError('GGUF_WRITE_BAD_TENSOR', `${field}: shape ${show(t.shape)} holds ${n} values but data has ${t.data.length}`);
  }
  const type = t.type ?? 'F32';
  if (type === 'F32') {
    const bytes = Buffer.from(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    if (!LITTLE_ENDIAN_HOST) swapBytes(bytes, 4);
    return { type, bytes };
  }
  if (isQuantType(type)) {
    const codec = QUANT_CODECS[type];
    if (t.shape.length === 0 || t.shape[t.shape.length - 1] % codec.blockElems !== 0) {
      const msg = `${field}: shape ${show(t.shape)} cannot be ${type}: its last dim must be a multiple of ${codec.blockElems}`;
      throw new ProbityError('GGUF_WRITE_BAD_TENSOR', msg);
    }
    const bytes = Buffer.alloc((n / codec.blockElems) * codec.blockBytes);
    codec.quantize(t.data, 0, n / codec.blockElems, bytes, 0);
    return { type, bytes };
  }
  if (type !== 'F16' && type !== 'BF16') throw new ProbityError('GGUF_WRITE_BAD_TENSOR', `${field}: cannot encode floats as ${show(type)}`);
  const enc = type === 'F16' ? f32ToF16Bits : f32ToBf16Bits;
  const bytes = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) bytes.writeUInt16LE(enc(t.data[i]), i * 2);
  return { type, bytes };
}

/** Writes a GGUF v3 file. Metadata keeps insertion order; tensor data follows in the given order, each aligned. */
export function writeGguf(path: string, input: GgufWriteInput): void {
  const metadata = Object.entries(input.metadata ?? {}).map(([k, v]) => [k, toTyped(k, v)] as const);
  const align = metadata.find(([k]) => k === 'general.alignment')?.[1];
  const alignment = align === undefined ? DEFAULT_ALIGNMENT : (align.value as number);
  if (align && (align.type !== 'uint32' || typeof alignment !== 'number' || alignment <= 0 || (alignment & (alignment - 1)) !== 0)) {
    writeBad(`metadata "general.alignment" must be {type: 'uint32', value: power of two}, got ${show(align.type)} ${show(align.value)}`);
  }
  const tensors = (input.tensors ?? []).map((t) => ({ t, ...encodeTensor(t) }));
  if (new Set(tensors.map((x) => x.t.name)).size !== tensors.length) {
    throw new ProbityError('GGUF_WRITE_BAD_TENSOR', `tensor names are not unique: ${show(tensors.map((x) => x.t.name))}`);
  }

  const w = new ByteWriter();
  w.push(Buffer.from(GGUF_MAGIC, 'latin1'));
  w.u32(3);
  w.u64(tensors.length);
  w.u64(metadata.length);
  for (const [key, v] of metadata) {
    w.string(key);
    w.u32(VALUE_TYPES.indexOf(v.type));
    if (v.type === 'array') writeArrayBody(w, v, `metadata ${show(key)}`);
    else writeScalar(w, v.type, v.value, `metadata ${show(key)}`);
  }
  let rel = 0;
  for (const { t, type, bytes } of tensors) {
    w.string(t.name);
    w.u32(t.shape.length);
    for (const d of [...t.shape].reverse()) w.u64(d);
    w.u32(GGML_TYPE_IDS.get(type)!);
    w.u64(rel);
    rel += Math.ceil(bytes.length / alignment) * alignment;
  }
  w.pad(alignment);
  for (const { bytes } of tensors) {
    w.push(bytes);
    w.pad(alignment);
  }
  writeFileSync(path, w.concat());
}
