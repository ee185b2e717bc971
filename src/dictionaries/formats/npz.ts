// numpy .npz reader (what np.savez / np.savez_compressed write): a zip archive of .npy files. Read-only, float arrays
// only, and nothing is ever evaluated: the .npy header is a Python dict literal, parsed here by a tiny grammar that
// accepts strings, True/False, integers and tuples of integers. Object arrays ('|O', which numpy stores pickled) and
// structured dtypes are refused.
//   zip:  end-of-central-directory record (and its zip64 variant), central directory entries (sizes from there:
//         numpy writes local headers with force_zip64, whose sizes read 0xFFFFFFFF), stored (0) or deflate (8) entries,
//         CRC-32 checked. Encrypted entries, other methods and multi-disk archives are refused.
//   .npy: magic \x93NUMPY, version 1.0 (uint16 header length), 2.0 / 3.0 (uint32; 3.0 is utf-8), then the header dict
//         {'descr': '<f4' | '<f2' | '<f8', 'fortran_order': False, 'shape': (...)} and exactly prod(shape) values.
// https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html, PKWARE APPNOTE.TXT 4.3.x.
import { inflateRawSync } from 'node:zlib';
import { constants as bufferConstants } from 'node:buffer';
import { ProbityError, show } from '../../errors.js';
import { f16ToF32, float32At, readWholeFile, safeProduct } from '../../models/loaders/common.js';

export type NpyDtype = '<f2' | '<f4' | '<f8';
const ITEM_SIZE: Record<NpyDtype, number> = { '<f2': 2, '<f4': 4, '<f8': 8 };
// numpy itself refuses headers over 10,000 bytes unless told otherwise (max_header_size); ours are a few dozen.
const MAX_HEADER_BYTES = 1 << 16;

export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  /** Values as float32 (f2 and f8 converted). */
  data: Float32Array;
}

const fail = (where: string, msg: string, code = 'NPZ_BAD_FILE'): never => {
  throw new ProbityError(code, `${where}: ${msg}`);
};

// ---- .npy -----------------------------------------------------------------------------------------------------------

type PyValue = string | boolean | number | PyValue[];

/** Parse the header's dict literal: { 'key': value, ... } with values str / bool / int / tuple. Nothing is evaluated. */
function parseHeaderDict(text: string, where: string): Record<string, PyValue> {
  let i = 0;
  const bad = (what: string): never => fail(where, `.npy header ${show(text.trim().slice(0, 200))}: ${what} at character ${i}`, 'NPY_BAD_HEADER');
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const value = (depth: number): PyValue => {
    ws();
    const c = text[i];
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) bad('unterminated string');
      const s = text.slice(i + 1, end);
      if (s.includes('\\')) bad('escapes in strings are not supported');
      i = end + 1;
      return s;
    }
    if (c === '(' || c === '[') {
      if (depth > 2) bad('nesting too deep');
      const close = c === '(' ? ')' : ']';
      i++;
      const items: PyValue[] = [];
      for (;;) {
        ws();
        if (text[i] === close) break;
        items.push(value(depth + 1));
        ws();
        if (text[i] === ',') i++;
        else if (text[i] !== close) bad(`expected "," or "${close}"`);
      }
      i++;
      return items;
    }
    const m = /^(True|False|\d+)/.exec(text.slice(i, i + 32));
    if (!m) return bad('expected a string, True, False, an integer or a tuple');
    i += m[0].length;
    if (m[0] === 'True' || m[0] === 'False') return m[0] === 'True';
    const n = Number(m[0]);
    if (!Number.isSafeInteger(n)) bad(`integer ${m[0]} is too large`);
    return n;
  };
  ws();
  if (text[i] !== '{') bad('expected "{"');
  i++;
  const out: Record<string, PyValue> = {};
  for (;;) {
    ws();
    if (text[i] === '}') break;
    const key = value(0);
    if (typeof key !== 'string') bad('expected a string key');
    ws();
    if (text[i] !== ':') bad('expected ":"');
    i++;
    if (Object.hasOwn(out, key as string)) bad(`duplicate key ${show(key)}`);
    out[key as string] = value(0);
    ws();
    if (text[i] === ',') i++;
    else if (text[i] !== '}') bad('expected "," or "}"');
  }
  i++;
  ws();
  if (i !== text.length) bad('trailing characters after "}"');
  return out;
}

/** Parse one .npy file held in memory. `where` names it in errors (e.g. "params.npz entry W_enc.npy"). */
export function parseNpy(buf: Uint8Array, where: string): NpyArray {
  const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
  if (buf.length < 10 || MAGIC.some((b, i) => buf[i] !== b)) fail(where, 'not a .npy file (no \\x93NUMPY magic)', 'NPY_BAD_HEADER');
  const major = buf[6];
  const minor = buf[7];
  if (![1, 2, 3].includes(major) || minor !== 0) fail(where, `.npy format version ${major}.${minor}, expected 1.0, 2.0 or 3.0`, 'NPY_BAD_HEADER');
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const lenBytes = major === 1 ? 2 : 4;
  if (buf.length < 8 + lenBytes) fail(where, 'truncated .npy header', 'NPY_BAD_HEADER');
  const hlen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const start = 8 + lenBytes;
  if (start + hlen > buf.length) fail(where, `.npy header declares ${hlen} bytes but only ${buf.length - start} follow`, 'NPY_BAD_HEADER');
  if (hlen > MAX_HEADER_BYTES) fail(where, `.npy header declares ${hlen} bytes, more than the ${MAX_HEADER_BYTES} accepted`, 'NPY_BAD_HEADER');
  const raw = Buffer.from(buf.buffer, buf.byteOffset + start, hlen);
  // Versions 1 and 2 are latin-1 (numpy only writes ASCII there); 3 is utf-8.
  const text = raw.toString(major === 3 ? 'utf8' : 'latin1');
  const h = parseHeaderDict(text, where);
  for (const k of Object.keys(h)) if (!['descr', 'fortran_order', 'shape'].includes(k)) fail(where, `.npy header has unexpected key ${show(k)}`, 'NPY_BAD_HEADER');
  const descr = h.descr;
  if (typeof descr !== 'string') {
    fail(where, `.npy descr is ${JSON.stringify(descr)}; structured dtypes are not supported (expected '<f4', '<f2' or '<f8')`, 'NPY_UNSUPPORTED_DTYPE');
  }
  if (descr === '|O' || descr === 'O' || descr === '<O') {
    fail(where, `.npy descr ${show(descr)} is an object array, which numpy stores pickled (pickle can execute code); refused`, 'NPY_UNSUPPORTED_DTYPE');
  }
  if (!Object.hasOwn(ITEM_SIZE, descr as string)) fail(where, `.npy descr ${show(descr)}, expected '<f4', '<f2' or '<f8' (little-endian float)`, 'NPY_UNSUPPORTED_DTYPE');
  if (h.fortran_order !== false) fail(where, `.npy fortran_order is ${show(h.fortran_order)}, expected False`, 'NPY_UNSUPPORTED_LAYOUT');
  const shape = h.shape;
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number')) fail(where, `.npy shape is ${JSON.stringify(shape)}, expected a tuple of integers`, 'NPY_BAD_HEADER');
  const dims = shape as number[];
  const dtype = descr as NpyDtype;
  const size = ITEM_SIZE[dtype];
  const n = safeProduct(dims);
  const dataStart = start + hlen;
  const have = buf.length - dataStart;
  if (n === undefined || n * size !== have) {
    fail(where, `.npy shape ${show(dims)} of ${dtype} needs ${n === undefined ? 'too many' : n * size} bytes of data, the entry has ${have}`, 'NPY_BAD_SIZE');
  }
  const count = n as number;
  let data: Float32Array;
  if (dtype === '<f4') data = Float32Array.from(float32At(buf, dataStart, count));
  else if (dtype === '<f2') data = f16ToF32(buf, dataStart, count);
  else {
    data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = dv.getFloat64(dataStart + 8 * i, true);
  }
  return { dtype, shape: [...dims], data };
}

// ---- zip ------------------------------------------------------------------------------------------------------------

let crcTable: Uint32Array | undefined;
function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

interface ZipEntry {
  name: string;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

const MAX_ENTRY_BYTES = bufferConstants.MAX_LENGTH;

function u64(dv: DataView, at: number, where: string, field: string): number {
  const v = dv.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(where, `${field} ${v} is too large`);
  return Number(v);
}

/** The central directory of a zip archive held in memory. */
function readCentralDirectory(buf: Buffer, path: string): ZipEntry[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const EOCD = 0x06054b50;
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (dv.getUint32(i, true) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) fail(path, 'not a zip archive (no end-of-central-directory record; truncated?)');
  if (dv.getUint16(eocd + 4, true) !== 0 || dv.getUint16(eocd + 6, true) !== 0) fail(path, 'multi-disk zip archives are not supported');
  let count = dv.getUint16(eocd + 10, true);
  let cdSize = dv.getUint32(eocd + 12, true);
  let cdOffset = dv.getUint32(eocd + 16, true);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    // Zip64: a locator (20 bytes) just before the EOCD points at the zip64 end-of-central-directory record.
    const loc = eocd - 20;
    if (loc < 0 || dv.getUint32(loc, true) !== 0x07064b50) fail(path, 'zip64 archive without a zip64 end-of-central-directory locator');
    const rec = u64(dv, loc + 8, path, 'zip64 end-of-central-directory offset');
    if (rec + 56 > buf.length || dv.getUint32(rec, true) !== 0x06064b50) fail(path, `zip64 end-of-central-directory record at ${rec} is missing or truncated`);
    count = u64(dv, rec + 32, path, 'zip64 entry count');
    cdSize = u64(dv, rec + 40, path, 'zip64 central directory size');
    cdOffset = u64(dv, rec + 48, path, 'zip64 central directory offset');
  }
  if (cdOffset + cdSize > buf.length) fail(path, `central directory (${cdSize} bytes at ${cdOffset}) lies past the end of the ${buf.length}-byte file (truncated?)`);
  if (count > cdSize / 46) fail(path, `central directory declares ${count} entries in ${cdSize} bytes`);
  const entries: ZipEntry[] = [];
  let p = cdOffset;
  const end = cdOffset + cdSize;
  for (let e = 0; e < count; e++) {
    if (p + 46 > end || dv.getUint32(p, true) !== 0x02014b50) fail(path, `central directory entry ${e} at ${p} is malformed`);
    const flags = dv.getUint16(p + 8, true);
    const method = dv.getUint16(p + 10, true);
    const crc = dv.getUint32(p + 16, true);
    let compressedSize = dv.getUint32(p + 20, true);
    let size = dv.getUint32(p + 24, true);
    const nameLen = dv.getUint16(p + 28, true);
    const extraLen = dv.getUint16(p + 30, true);
    const commentLen = dv.getUint16(p + 32, true);
    if (dv.getUint16(p + 34, true) !== 0) fail(path, `central directory entry ${e} is on another disk`);
    let localOffset = dv.getUint32(p + 42, true);
    const next = p + 46 + nameLen + extraLen + commentLen;
    if (next > end) fail(path, `central directory entry ${e} runs past the directory's end`);
    const name = buf.subarray(p + 46, p + 46 + nameLen).toString(flags & 0x800 ? 'utf8' : 'latin1');
    const where = `${path} entry ${show(name)}`;
    // Zip64 extended information: the 64-bit values, in this order, for whichever 32-bit fields read 0xFFFFFFFF.
    for (let x = p + 46 + nameLen; x + 4 <= p + 46 + nameLen + extraLen; ) {
      const id = dv.getUint16(x, true);
      const len = dv.getUint16(x + 2, true);
      if (x + 4 + len > p + 46 + nameLen + extraLen) fail(where, 'extra field runs past its entry');
      if (id === 0x0001) {
        let q = x + 4;
        const take = (field: string): number => {
          if (q + 8 > x + 4 + len) fail(where, `zip64 extra field lacks ${field}`);
          const v = u64(dv, q, where, field);
          q += 8;
          return v;
        };
        if (size === 0xffffffff) size = take('uncompressed size');
        if (compressedSize === 0xffffffff) compressedSize = take('compressed size');
        if (localOffset === 0xffffffff) localOffset = take('local header offset');
      }
      x += 4 + len;
    }
    if (flags & 0x1) fail(where, 'entry is encrypted', 'NPZ_UNSUPPORTED');
    if (method !== 0 && method !== 8) fail(where, `compression method ${method}, expected 0 (stored) or 8 (deflate)`, 'NPZ_UNSUPPORTED');
    if (size > MAX_ENTRY_BYTES) fail(where, `declared size ${size} bytes exceeds the ${MAX_ENTRY_BYTES} bytes one buffer can hold`, 'NPZ_TOO_LARGE');
    if (localOffset + 30 > buf.length || compressedSize > buf.length) fail(where, `entry (${compressedSize} bytes at ${localOffset}) lies past the end of the ${buf.length}-byte file (truncated?)`);
    entries.push({ name, method, crc, compressedSize, size, localOffset });
    p = next;
  }
  return entries;
}

/** An .npz archive: arrays by name (without the .npy suffix), decompressed and parsed on first use. */
export class NpzFile {
  private readonly entries = new Map<string, ZipEntry>();
  private readonly cache = new Map<string, NpyArray>();

  constructor(
    readonly path: string,
    private readonly buffer: Buffer,
  ) {
    for (const e of readCentralDirectory(buffer, path)) {
      if (e.name.endsWith('/')) continue;
      if (!e.name.endsWith('.npy')) fail(path, `entry ${show(e.name)} is not a .npy array (an .npz holds only .npy files)`);
      const key = e.name.slice(0, -4);
      if (this.entries.has(key)) fail(path, `duplicate entry ${show(e.name)}`);
      this.entries.set(key, e);
    }
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** Raw bytes of an entry's .npy file (inflated, CRC-checked). */
  private bytes(e: ZipEntry): Uint8Array {
    const where = `${this.path} entry ${show(e.name)}`;
    const dv = new DataView(this.buffer.buffer, this.buffer.byteOffset, this.buffer.byteLength);
    const lh = e.localOffset;
    if (dv.getUint32(lh, true) !== 0x04034b50) fail(where, `no local file header at offset ${lh}`);
    const start = lh + 30 + dv.getUint16(lh + 26, true) + dv.getUint16(lh + 28, true);
    if (start + e.compressedSize > this.buffer.length) fail(where, `data (${e.compressedSize} bytes at ${start}) runs past the end of the ${this.buffer.length}-byte file (truncated?)`);
    const packed = this.buffer.subarray(start, start + e.compressedSize);
    let out: Uint8Array;
    if (e.method === 0) {
      if (e.compressedSize !== e.size) fail(where, `stored entry has compressed size ${e.compressedSize} but size ${e.size}`);
      out = packed;
    } else {
      try {
        out = inflateRawSync(packed, { maxOutputLength: Math.max(1, e.size) });
      } catch (err) {
        return fail(where, `deflate data is corrupt or larger than the declared ${e.size} bytes (${(err as Error).message})`);
      }
      if (out.length !== e.size) fail(where, `inflated to ${out.length} bytes, the directory declares ${e.size}`);
    }
    const crc = crc32(out);
    if (crc !== e.crc) fail(where, `CRC-32 is ${crc.toString(16)}, the directory declares ${e.crc.toString(16)} (corrupt file)`);
    return out;
  }

  /** The array stored as `<name>.npy`. */
  get(name: string): NpyArray {
    const hit = this.cache.get(name);
    if (hit) return hit;
    const e = this.entries.get(name);
    if (!e) throw new ProbityError('NPZ_MISSING_ARRAY', `${this.path}: no array ${show(name)} (the file has ${show(this.names())})`);
    const a = parseNpy(this.bytes(e), `${this.path} entry ${show(e.name)}`);
    this.cache.set(name, a);
    return a;
  }
}

/** Parse an .npz archive already in memory; `path` is only used in error messages. */
export function parseNpz(buf: Buffer, path = '<buffer>'): NpzFile {
  return new NpzFile(path, buf);
}

export function readNpz(path: string): NpzFile {
  return parseNpz(readWholeFile(path, 'npz file'), path);
}
