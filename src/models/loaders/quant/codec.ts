// What every ggml block format provides: its block geometry, a dequantizer (the file reader's path) and a quantizer
// (writes the same bytes, for building test files). Shared half-float helpers for the block scales.
import { f16Table, f32ToF16Bits } from '../common.js';

export interface BlockCodec {
  /** Elements per block (32 for the legacy formats, 256 for the k-quant super-blocks). */
  readonly blockElems: number;
  /** Bytes per block, exactly ggml's sizeof(block_...). */
  readonly blockBytes: number;
  /**
   * Decodes `nBlocks` whole blocks starting at byte `src` of `buf` into `out[dst ...]`. The caller has checked that
   * the bytes and the output range exist; nothing is allocated per block.
   */
  dequantize(buf: Uint8Array, src: number, nBlocks: number, out: Float32Array, dst: number): void;
  /**
   * Encodes `nBlocks` blocks of `x[src ...]` into `out[dst ...]` in the same layout. A plain round-to-nearest
   * quantizer (not llama-quantize's search for the best scales): its bytes are valid blocks, its error a bit larger.
   */
  quantize(x: Float32Array, src: number, nBlocks: number, out: Uint8Array, dst: number): void;
}

/** Little-endian IEEE half at byte `o`, as float. */
export function halfAt(buf: Uint8Array, o: number): number {
  return f16Table()[buf[o] | (buf[o + 1] << 8)];
}

/** Writes `v` as a little-endian half at byte `o` and returns the value the reader will see. */
export function putHalf(out: Uint8Array, o: number, v: number): number {
  const h = f32ToF16Bits(v);
  out[o] = h & 0xff;
  out[o + 1] = h >> 8;
  return f16Table()[h];
}

export const clamp = (v: number, lo: number, hi: number): number => (v < lo ? lo : v > hi ? hi : v);

/** Round to nearest; 0 for a non-finite quotient (a zero scale). */
export const roundq = (v: number): number => (Number.isFinite(v) ? Math.round(v) : 0);
