// safetensors reader/writer. Format: 8-byte little-endian header length N, N bytes of JSON
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}}, then the data section;
// offsets are relative to the data section. https://github.com/huggingface/safetensors
import { writeFileSync } from 'node:fs';
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

export type SafetensorsDtype =
  | 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U64' | 'U32' | 'U16' | 'U8' | 'BOOL';

/** The typed array each dtype comes back as; F16/BF16 come back as raw 16-bit patterns (use float32() for values). */
export type SafetensorsArray =
  | Float64Array | Float32Array | Uint16Array | BigInt64Array | BigUint64Array
  | Int32Array | Uint32Array | Int16Array | Int8Array | Uint8Array;

interface ArrayCtor {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): SafetensorsArray;
  new (length: number): SafetensorsArray;
  BYTES_PER_ELEMENT: number;
}
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const DTYPES: Record<SafetensorsDtype, ArrayCtor> = {
  F64: Float64Array, F32: Float32Array, F16: Uint16Array, BF16: Uint16Array,
  I64: BigInt64Array, I32: Int32Array, I16: Int16Array, I8: Int8Array,
  U64: BigUint64Array, U32: Uint32Array, U16: Uint16Array, U8: Uint8Array, BOOL: Uint8Array,
};
const FLOAT_DTYPES: readonly SafetensorsDtype[] = ['F32', 'F16', 'BF16', 'F64'];
// The reference implementation refuses headers above 100 MB; so do we, before JSON.parse sees them.
const MAX_HEADER_BYTES = 100_000_000;

export function dtypeSize(dtype: SafetensorsDtype): number {
  return DTYPES[dtype].BYTES_PER_ELEMENT;
}

export interface SafetensorsTensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** As stored: relative to the start of the data section. */
  dataOffsets: [number, number];
  /** Absolute byte offset in the file. */
  offset: number;
  byteLength: number;
}

export interface SafetensorsTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: SafetensorsArray;
}

export class SafetensorsFile {
  private readonly byName: Map<string, SafetensorsTensorInfo>;

  constructor(
    readonly path: string,
    /** The whole file. Views returned by tensor()/float32()/bytes() alias it. */
    readonly buffer: Buffer,
    /** The header's "__metadata__" map ({} when absent). */
    readonly metadata: Record<string, string>,
    /** In header order. */
    readonly tensors: SafetensorsTensorInfo[],
    /** Absolute byte offset of the data section (8 + header length). */
    readonly dataOffset: number,
  ) {
    this.byName = new Map(tensors.map((t) => [t.name, t]));
  }

  names(): string[] {
    return this.tensors.map((t) => t.name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  info(name: string): SafetensorsTensorInfo {
    const t = this.byName.get(name);
    if (!t) {
      throw new ProbityError(
        'SAFETENSORS_MISSING_TENSOR',
        `${this.path}: no tensor named ${show(name)} (the file has ${this.tensors.length} tensors, e.g. ${show(this.names().slice(0, 5))})`,
      );
    }
    return t;
  }

  /** Raw bytes, zero-copy. */
  bytes(name: string): Uint8Array {
    const t = this.info(name);
    return this.buffer.subarray(t.offset, t.offset + t.byteLength);
  }

  /** Data as the dtype's typed array: a zero-copy view when aligned, a copy otherwise. */
  tensor(name: string): SafetensorsTensor {
    const t = this.info(name);
    const Ctor = DTYPES[t.dtype];
    const size = Ctor.BYTES_PER_ELEMENT;
    const n = t.byteLength / size;
    const abs = this.buffer.byteOffset + t.offset;
    if (LITTLE_ENDIAN_HOST && abs % size === 0) return { dtype: t.dtype, shape: [...t.shape], data: new Ctor(this.buffer.buffer, abs, n) };
    const data = new Ctor(n);
    const bytes = new Uint8Array(data.buffer);
    bytes.set(this.bytes(name));
    if (!LITTLE_ENDIAN_HOST) swapBytes(bytes, size);
    return { dtype: t.dtype, shape: [...t.shape], data };
  }

  /** Float tensor values: F32 zero-copy where aligned; F16, BF16 and F64 converted. Integer dtypes are refused. */
  float32(name: string): Float32Array {
    const t = this.info(name);
    const n = t.byteLength / dtypeSize(t.dtype);
    switch (t.dtype) {
      case 'F32':
        return float32At(this.buffer, t.offset, n);
      case 'F16':
        return f16ToF32(this.buffer, t.offset, n);
      case 'BF16':
        return bf16ToF32(this.buffer, t.offset, n);
      case 'F64':
        return Float32Array.from(this.tensor(name).data as Float64Array);
      default:
        throw new ProbityError(
          'SAFETENSORS_NOT_FLOAT',
          `${this.path}: tensor ${show(name)} has dtype ${t.dtype}; float32() reads ${FLOAT_DTYPES.join(', ')} only (use tensor())`,
        );
    }
  }
}

export function readSafetensors(path: string): SafetensorsFile {
  return parseSafetensors(readWholeFile(path, 'safetensors file'), path);
}

/** Parses a safetensors file already in memory. `path` is only used in error messages. */
export function parseSafetensors(buf: Buffer, path = '<buffer>'): SafetensorsFile {
  const fail = (code: string, msg: string): never => {
    throw new ProbityError(code, `${path}: ${msg}`);
  };
  if (buf.length < 8) fail('SAFETENSORS_TRUNCATED', `file is ${buf.length} bytes, too short for the 8-byte header length`);
  const headerLen = buf.readBigUInt64LE(0);
  if (headerLen > BigInt(buf.length - 8)) {
    const after = `${buf.length - 8} bytes follow the length field`;
    fail('SAFETENSORS_BAD_HEADER', `header length is ${headerLen} but only ${after} (truncated, or not a safetensors file)`);
  }
  if (headerLen > BigInt(MAX_HEADER_BYTES)) {
    fail('SAFETENSORS_BAD_HEADER', `header length ${headerLen} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  }
  const dataOffset = 8 + Number(headerLen);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(8, dataOffset));
  } catch {
    return fail('SAFETENSORS_BAD_HEADER', 'header is not valid UTF-8');
  }
  if (!text.startsWith('{')) {
    fail('SAFETENSORS_BAD_HEADER', `header must be a JSON object starting with "{", starts with ${show(text.slice(0, 16))}`);
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    return fail('SAFETENSORS_BAD_HEADER', `header is not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(header)) return fail('SAFETENSORS_BAD_HEADER', 'header JSON is not an object');

  const dataSize = buf.length - dataOffset;
  const metadata: Record<string, string> = {};
  const tensors: SafetensorsTensorInfo[] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (!isObject(entry)) return fail('SAFETENSORS_BAD_METADATA', `"__metadata__" is ${show(entry)}, expected an object of strings`);
      for (const [k, v] of Object.entries(entry)) {
        if (typeof v !== 'string') fail('SAFETENSORS_BAD_METADATA', `"__metadata__" ${show(k)} is ${show(v)}, expected a string`);
        Object.defineProperty(metadata, k, { value: v, enumerable: true, writable: true, configurable: true });
      }
      continue;
    }
    const field = `tensor ${show(name)}`;
    if (!isObject(entry)) return fail('SAFETENSORS_BAD_HEADER', `${field}: entry is ${show(entry)}, expected {dtype, shape, data_offsets}`);
    const { dtype, shape, data_offsets: offsets } = entry;
    if (typeof dtype !== 'string' || !Object.hasOwn(DTYPES, dtype)) {
      fail('SAFETENSORS_BAD_DTYPE', `${field}: dtype is ${show(dtype)}, expected one of ${Object.keys(DTYPES).join(', ')}`);
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail('SAFETENSORS_BAD_SHAPE', `${field}: shape is ${show(shape)}, expected an array of non-negative integers`);
    }
    const n = safeProduct(shape as number[]);
    if (n === undefined) fail('SAFETENSORS_BAD_SHAPE', `${field}: shape ${show(shape)} has too many elements`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      fail('SAFETENSORS_BAD_OFFSETS', `${field}: data_offsets is ${show(offsets)}, expected [begin, end] non-negative integers`);
    }
    const [begin, end] = offsets as number[];
    if (begin > end || end > dataSize) {
      fail('SAFETENSORS_BAD_OFFSETS', `${field}: data_offsets ${show(offsets)} are not within the ${dataSize}-byte data section`);
    }
    const expected = n! * dtypeSize(dtype as SafetensorsDtype);
    if (end - begin !== expected) {
      const span = `span ${end - begin} bytes, but ${dtype} ${show(shape)} needs ${expected}`;
      fail('SAFETENSORS_BAD_OFFSETS', `${field}: data_offsets ${show(offsets)} ${span}`);
    }
    tensors.push({
      name,
      dtype: dtype as SafetensorsDtype,
      shape: shape as number[],
      dataOffsets: [begin, end],
      offset: dataOffset + begin,
      byteLength: end - begin,
    });
  }
  const byOffset = [...tensors].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < byOffset.length; i++) {
    const [a, b] = [byOffset[i - 1], byOffset[i]];
    if (b.offset < a.offset + a.byteLength) {
      const [sa, sb] = [a, b].map((t) => `${show(t.name)} data_offsets ${show(t.dataOffsets)}`);
      fail('SAFETENSORS_BAD_OFFSETS', `tensor ${sb} overlap tensor ${sa}`);
    }
  }
  return new SafetensorsFile(path, buf, metadata, tensors, dataOffset);
}

// ---------------------------------------------------------------------------------------------------------------------
// Writer

/**
 * `data` is the dtype's typed array (see SafetensorsArray), or a Uint8Array of raw little-endian bytes, or, for
 * F16/BF16/F64, a Float32Array to be converted (round to nearest even).
 */
export interface SafetensorsTensorInput {
  dtype: SafetensorsDtype;
  shape: readonly number[];
  data: SafetensorsArray;
}

function encode(name: string, t: SafetensorsTensorInput): Uint8Array {
  const bad = (msg: string): never => {
    throw new ProbityError('SAFETENSORS_WRITE_BAD_TENSOR', `tensor ${show(name)}: ${msg}`);
  };
  if (!Object.hasOwn(DTYPES, t.dtype)) bad(`unknown dtype ${show(t.dtype)}`);
  const n = t.shape.every((d) => Number.isSafeInteger(d) && d >= 0) ? safeProduct(t.shape) : undefined;
  if (n === undefined) return bad(`bad shape ${show(t.shape)}`);
  const Ctor = DTYPES[t.dtype];
  const nbytes = n * Ctor.BYTES_PER_ELEMENT;
  const d = t.data;
  const raw = (a: SafetensorsArray) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let bytes: Uint8Array;
  if (d instanceof Ctor) {
    if (d.length !== n) bad(`shape ${show(t.shape)} holds ${n} values but data has ${d.length}`);
    bytes = raw(d);
    if (!LITTLE_ENDIAN_HOST && Ctor.BYTES_PER_ELEMENT > 1) swapBytes((bytes = bytes.slice()), Ctor.BYTES_PER_ELEMENT);
  } else if (d instanceof Uint8Array) {
    if (d.length !== nbytes) bad(`${d.length} raw bytes given, ${t.dtype} ${show(t.shape)} needs ${nbytes}`);
    bytes = d;
  } else if (d instanceof Float32Array && (t.dtype === 'F16' || t.dtype === 'BF16' || t.dtype === 'F64')) {
    if (d.length !== n) bad(`shape ${show(t.shape)} holds ${n} values but data has ${d.length}`);
    const out = Buffer.alloc(nbytes);
    if (t.dtype === 'F64') d.forEach((v, i) => out.writeDoubleLE(v, i * 8));
    else {
      const enc = t.dtype === 'F16' ? f32ToF16Bits : f32ToBf16Bits;
      d.forEach((v, i) => out.writeUInt16LE(enc(v), i * 2));
    }
    bytes = out;
  } else {
    return bad(`data is a ${d.constructor.name}, which does not match dtype ${t.dtype}`);
  }
  return bytes;
}

/** Writes a safetensors file: tensors laid out in sorted name order, header padded with spaces to 8 bytes. */
export function writeSafetensors(
  path: string,
  tensors: Record<string, SafetensorsTensorInput>,
  metadata?: Record<string, string>,
): void {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') {
        throw new ProbityError('SAFETENSORS_WRITE_BAD_TENSOR', `metadata ${show(k)} is ${show(v)}, expected a string`);
      }
    }
    header.__metadata__ = metadata;
  }
  const names = Object.keys(tensors).sort();
  const datas: Uint8Array[] = [];
  let pos = 0;
  for (const name of names) {
    if (name === '__metadata__') throw new ProbityError('SAFETENSORS_WRITE_BAD_TENSOR', 'a tensor cannot be named "__metadata__"');
    const t = tensors[name];
    const bytes = encode(name, t);
    Object.defineProperty(header, name, {
      value: { dtype: t.dtype, shape: [...t.shape], data_offsets: [pos, pos + bytes.length] },
      enumerable: true,
    });
    datas.push(bytes);
    pos += bytes.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  writeFileSync(path, Buffer.concat([head, Buffer.from(json, 'utf8'), ...datas]));
}
