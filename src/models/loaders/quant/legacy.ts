// ggml's first block formats: 32 elements per block, one half-float scale d (and a min m for the _1 types).
// Layouts (ggml-common.h):
//   Q8_0  34 B: d, qs[32] int8                          x[j] = d * qs[j]
//   Q4_0  18 B: d, qs[16]                               x[j] = d * (nib - 8)
//   Q4_1  20 B: d, m, qs[16]                            x[j] = d * nib + m
//   Q5_0  22 B: d, qh[4], qs[16]                        x[j] = d * ((nib | hi << 4) - 16)
//   Q5_1  24 B: d, m, qh[4], qs[16]                     x[j] = d * (nib | hi << 4) + m
// Nibbles: qs[j] & 15 is element j, qs[j] >> 4 is element j + 16 (j < 16). The fifth bit of element j is bit j of
// qh read as a little-endian uint32.
// Every product d * q is exact in float32 (11-bit d times a <= 8-bit q), so evaluating in doubles and storing into a
// Float32Array gives ggml's float32 results bit for bit (one rounding, after the + m).
import { type BlockCodec, clamp, halfAt, putHalf, roundq } from './codec.js';

const QK = 32;

/** The element of largest magnitude, with its sign (ggml's symmetric formats map it to the most negative level). */
function signedAbsMax(x: Float32Array, o: number): number {
  let max = 0;
  let amax = 0;
  for (let j = 0; j < QK; j++) {
    const a = Math.abs(x[o + j]);
    if (a > amax) {
      amax = a;
      max = x[o + j];
    }
  }
  return max;
}

function minMax(x: Float32Array, o: number): [number, number] {
  let mn = Infinity;
  let mx = -Infinity;
  for (let j = 0; j < QK; j++) {
    const v = x[o + j];
    if (v < mn) mn = v;
    if (v > mx) mx = v;
  }
  return [mn, mx];
}

const u32At = (b: Uint8Array, o: number): number => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;

function putU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = v >>> 24;
}

export const Q8_0: BlockCodec = {
  blockElems: QK,
  blockBytes: 34,
  dequantize(buf, src, nBlocks, out, dst) {
    for (let b = 0; b < nBlocks; b++, src += 34, dst += QK) {
      const d = halfAt(buf, src);
      for (let j = 0; j < QK; j++) out[dst + j] = d * ((buf[src + 2 + j] << 24) >> 24);
    }
  },
  quantize(x, src, nBlocks, out, dst) {
    for (let b = 0; b < nBlocks; b++, src += QK, dst += 34) {
      const d = putHalf(out, dst, Math.abs(signedAbsMax(x, src)) / 127);
      for (let j = 0; j < QK; j++) out[dst + 2 + j] = clamp(roundq(x[src + j] / d), -128, 127) & 0xff;
    }
  },
};

export const Q4_0: BlockCodec = {
  blockElems: QK,
  blockBytes: 18,
  dequantize(buf, src, nBlocks, out, dst) {
    for (let b = 0; b < nBlocks; b++, src += 18, dst += QK) {
      const d = halfAt(buf, src);
      for (let j = 0; j < 16; j++) {
        const q = buf[src + 2 + j];
        out[dst + j] = d * ((q & 15) - 8);
        out[dst + j + 16] = d * ((q >> 4) - 8);
      }
    }
  },
  quantize(x, src, nBlocks, out, dst) {
    for (let b = 0; b < nBlocks; b++, src += QK, dst += 18) {
      const d = putHalf(out, dst, signedAbsMax(x, src) / -8);
      const level = (v: number) => clamp(roundq(v / d) + 8, 0, 15);
      for (let j = 0; j < 16; j++) out[dst + 2 + j] = level(x[src + j]) | (level(x[src + j + 16]) << 4);
    }
  },
};

export const Q4_1: BlockCodec = {
  blockElems: QK,
  blockBytes: 20,
  dequantize(buf, src, nBlocks, out, dst) {
    for (let b = 0; b < nBlocks; b++, src += 20, dst += QK) {
      const d = halfAt(buf, src);
      const m = halfAt(buf, src + 2);
      for (let j = 0; j < 16; j++) {
        const q = buf[src + 4 + j];
        out[dst + j] = d * (q & 15) + m;
        out[dst + j + 16] = d * (q >> 4) + m;
      }
    }
  },
  quantize(x, src, nBlocks, out, dst) {
    for (let b = 0; b < nBlocks; b++, src += QK, dst += 20) {
      const [mn, mx] = minMax(x, src);
      const d = putHalf(out, dst, (mx - mn) / 15);
      const m = putHalf(out, dst + 2, mn);
      const level = (v: number) => clamp(roundq((v - m) / d), 0, 15);
      for (let j = 0; j < 16; j++) out[dst + 4 + j] = level(x[src + j]) | (level(x[src + j + 16]) << 4);
    }
  },
};

export const Q5_0: BlockCodec = {
  blockElems: QK,
  blockBytes: 22,
  dequantize(buf, src, nBlocks, out, dst) {
    for (let b = 0; b < nBlocks; b++, src += 22, dst += QK) {
      const d = halfAt(buf, src);
      const qh = u32At(buf, src + 2);
      for (let j = 0; j < 16; j++) {
        const q = buf[src + 6 + j];
        out[dst + j] = d * (((q & 15) | (((qh >>> j) & 1) << 4)) - 16);
        out[dst + j + 16] = d * (((q >> 4) | (((qh >>> (j + 16)) & 1) << 4)) - 16);
      }
    }
  },
  quantize(x, src, nBlocks, out, dst) {
    for (let b = 0; b < nBlocks; b++, src += QK, dst += 22) {
      const d = putHalf(out, dst, signedAbsMax(x, src) / -16);
      let qh = 0;
      for (let j = 0; j < 16; j++) {
        const lo = clamp(roundq(x[src + j] / d) + 16, 0, 31);
        const hi = clamp(roundq(x[src + j + 16] / d) + 16, 0, 31);
        out[dst + 6 + j] = (lo & 15) | ((hi & 15) << 4);
        qh |= ((lo >> 4) << j) | ((hi >> 4) << (j + 16));
      }
      putU32(out, dst + 2, qh >>> 0);
    }
  },
};

export const Q5_1: BlockCodec = {
  blockElems: QK,
  blockBytes: 24,
  dequantize(buf, src, nBlocks, out, dst) {
    for (let b = 0; b < nBlocks; b++, src += 24, dst += QK) {
      const d = halfAt(buf, src);
      const m = halfAt(buf, src + 2);
      const qh = u32At(buf, src + 4);
      for (let j = 0; j < 16; j++) {
        const q = buf[src + 8 + j];
        out[dst + j] = d * ((q & 15) | (((qh >>> j) & 1) << 4)) + m;
        out[dst + j + 16] = d * ((q >> 4) | (((qh >>> (j + 16)) & 1) << 4)) + m;
      }
    }
  },
  quantize(x, src, nBlocks, out, dst) {
    for (let b = 0; b < nBlocks; b++, src += QK, dst += 24) {
      const [mn, mx] = minMax(x, src);
      const d = putHalf(out, dst, (mx - mn) / 31);
      const m = putHalf(out, dst + 2, mn);
      let qh = 0;
      for (let j = 0; j < 16; j++) {
        const lo = clamp(roundq((x[src + j] - m) / d), 0, 31);
        const hi = clamp(roundq((x[src + j + 16] - m) / d), 0, 31);
        out[dst + 8 + j] = (lo & 15) | ((hi & 15) << 4);
        qh |= ((lo >> 4) << j) | ((hi >> 4) << (j + 16));
      }
      putU32(out, dst + 4, qh >>> 0);
    }
  },
};
