// The quantized ggml types probity dequantizes, by ggml type name. These are the types llama-quantize's Q4_K_M,
// Q5_K_M, Q6_K and Q8_0 files (and the older Q4_0/Q4_1/Q5_0/Q5_1 files) contain; IQ*, Q2_K, Q3_K, TQ*, MXFP4 are not.
import { ProbityError } from '../../../errors.js';
import type { BlockCodec } from './codec.js';
import { Q4_K, Q5_K, Q6_K } from './k-quants.js';
import { Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 } from './legacy.js';

export const QUANT_TYPES = ['Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q4_K', 'Q5_K', 'Q6_K'] as const;
export type QuantType = (typeof QUANT_TYPES)[number];

export const QUANT_CODECS: { readonly [T in QuantType]: BlockCodec } = { Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K };

export function isQuantType(t: string): t is QuantType {
  return (QUANT_TYPES as readonly string[]).includes(t);
}

/** Quantizes `x` (a whole number of blocks) into a new byte array in `type`'s exact block layout. */
export function quantize(type: QuantType, x: Float32Array): Uint8Array {
  const c = QUANT_CODECS[type];
  if (x.length % c.blockElems !== 0) {
    throw new ProbityError('QUANT_BAD_LENGTH', `${type}: ${x.length} values are not whole ${c.blockElems}-element blocks`);
  }
  const nBlocks = x.length / c.blockElems;
  const out = new Uint8Array(nBlocks * c.blockBytes);
  c.quantize(x, 0, nBlocks, out, 0);
  return out;
}

/** Dequantizes whole blocks of `type` (bytes as stored in a GGUF file) into a new Float32Array. */
export function dequantize(type: QuantType, bytes: Uint8Array): Float32Array {
  const c = QUANT_CODECS[type];
  if (bytes.length % c.blockBytes !== 0) {
    throw new ProbityError('QUANT_BAD_LENGTH', `${type}: ${bytes.length} bytes are not whole ${c.blockBytes}-byte blocks`);
  }
  const nBlocks = bytes.length / c.blockBytes;
  const out = new Float32Array(nBlocks * c.blockElems);
  c.dequantize(bytes, 0, nBlocks, out, 0);
  return out;
}

export type { BlockCodec };
