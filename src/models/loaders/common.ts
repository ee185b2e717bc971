// Shared by the checkpoint readers: whole-file reads and half-precision conversions.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { constants as bufferConstants } from 'node:buffer';
import { ProbityError } from '../../errors.js';

/** Every typed-array view onto file bytes assumes this; on a big-endian host we copy and swap instead. */
export const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Reads a whole file into one Buffer with its own ArrayBuffer at byteOffset 0, so an offset that is a multiple of 4
 * in the file is a valid Float32Array offset. readFileSync is not used because it refuses files over 2 GiB.
 */
export function readWholeFile(path: string, what: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw ioError(path, what, e);
  }
  try {
    const size = fstatSync(fd).size;
    if (size > bufferConstants.MAX_LENGTH) {
      throw new ProbityError(
        'FILE_TOO_LARGE',
        `${what} ${path}: file is ${size} bytes, more than the ${bufferConstants.MAX_LENGTH} bytes one Buffer can hold`,
      );
    }
    const buf = Buffer.allocUnsafeSlow(size);
    for (let pos = 0; pos < size; ) {
      const n = readSync(fd, buf, pos, Math.min(size - pos, 1 << 30), pos);
      if (n === 0) {
        throw new ProbityError('FILE_READ_ERROR', `${what} ${path}: file shrank to ${pos} bytes while being read (expected ${size})`);
      }
      pos += n;
    }
    return buf;
  } catch (e) {
    throw e instanceof ProbityError ? e : ioError(path, what, e);
  } finally {
    closeSync(fd);
  }
}

function ioError(path: string, what: string, e: unknown): ProbityError {
  const code = (e as { code?: string }).code;
  const detail = e instanceof Error ? e.message : String(e);
  if (code === 'ENOENT') return new ProbityError('FILE_NOT_FOUND', `${what} ${path}: no such file`);
  return new ProbityError('FILE_READ_ERROR', `${what} ${path}: cannot read file (${detail})`);
}

/** Copy of `n` little-endian float32 values at `offset`; a zero-copy view when alignment and host endianness allow. */
export function float32At(buf: Uint8Array, offset: number, n: number): Float32Array {
  const abs = buf.byteOffset + offset;
  if (LITTLE_ENDIAN_HOST && abs % 4 === 0) return new Float32Array(buf.buffer, abs, n);
  const out = new Float32Array(n);
  const bytes = new Uint8Array(out.buffer);
  bytes.set(buf.subarray(offset, offset + n * 4));
  if (!LITTLE_ENDIAN_HOST) swapBytes(bytes, 4);
  return out;
}

/** Reverses each `size`-byte element in place (little-endian file <-> big-endian host). */
export function swapBytes(bytes: Uint8Array, size: number): void {
  for (let i = 0; i + size <= bytes.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = t;
    }
  }
}

let halfTable: Float32Array | undefined;

// A 65536-entry table (256 KiB, built once) makes F16 conversion a single load per element.
export function f16Table(): Float32Array {
  if (halfTable) return halfTable;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) t[h] = sign * mant * 2 ** -24;
    else if (exp === 31) t[h] = mant ? NaN : sign * Infinity;
    else t[h] = sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
  return (halfTable = t);
}

/** `n` little-endian IEEE half floats at `offset` -> Float32Array. */
export function f16ToF32(buf: Uint8Array, offset: number, n: number): Float32Array {
  const table = f16Table();
  const out = new Float32Array(n);
  for (let i = 0, o = offset; i < n; i++, o += 2) out[i] = table[buf[o] | (buf[o + 1] << 8)];
  return out;
}

/** `n` little-endian bfloat16 values at `offset` -> Float32Array (bf16 is the top half of an f32). */
export function bf16ToF32(buf: Uint8Array, offset: number, n: number): Float32Array {
  const out = new Float32Array(n);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0, o = offset; i < n; i++, o += 2) bits[i] = ((buf[o] | (buf[o + 1] << 8)) << 16) >>> 0;
  return out;
}

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** float -> IEEE half bits, round to nearest even (the same rounding PyTorch and numpy use). */
export function f32ToF16Bits(v: number): number {
  scratchF32[0] = v;
  const x = scratchU32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (up to infinity).
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

/** float -> bfloat16 bits, round to nearest even; NaN stays a quiet NaN. */
export function f32ToBf16Bits(v: number): number {
  scratchF32[0] = v;
  const x = scratchU32[0];
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return (x >>> 16) | 0x40;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Product of dims, or undefined when it is not a safe integer. */
export function safeProduct(dims: readonly number[]): number | undefined {
  let n = 1;
  for (const d of dims) {
    n *= d;
    if (!Number.isSafeInteger(n)) return undefined;
  }
  return n;
}
