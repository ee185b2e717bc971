// ggml's k-quant super-blocks: 256 elements, sub-block scales quantized against one or two half-float scales.
// Layouts (ggml-common.h; QK_K = 256):
//   Q4_K 144 B: d, dmin, scales[12], qs[128]            8 sub-blocks of 32: x = d * sc * q - dmin * m, q in 0..15
//   Q5_K 176 B: d, dmin, scales[12], qh[32], qs[128]    same, q in 0..31 with its fifth bit in qh
//   Q6_K 210 B: ql[128], qh[64], scales[16] int8, d      16 sub-blocks of 16: x = d * sc * (q - 32), q in 0..63
// Q4_K/Q5_K element order: 64 elements per 32 qs bytes; qs[32c + l] & 15 is element 64c + l (sub-block 2c) and
// qs[32c + l] >> 4 is element 64c + 32 + l (sub-block 2c + 1). Q5_K's fifth bit of those two is bit 2c / 2c + 1 of
// qh[l]. The 6-bit scale sc and min m of sub-block j (12 bytes s): j < 4: sc = s[j] & 63, m = s[j + 4] & 63;
// j >= 4: sc = (s[j + 4] & 15) | (s[j - 4] >> 6) << 4, m = (s[j + 4] >> 4) | (s[j] >> 6) << 4.
// Q6_K, per half h of 128 elements (ql from 64h, qh from 32h), l < 32: element 128h + l + 32k takes
// its low 4 bits from ql[l] (k = 0, 2: low/high nibble) or ql[l + 32] (k = 1, 3) and bits 4-5 from qh[l] >> 2k;
// element e's scale is scales[e >> 4].
// d * sc is exact in float32 and (d * sc) * q is one rounding, as in ggml's float code, so the doubles stored into a
// Float32Array are ggml's float32 results bit for bit.
import { type BlockCodec, clamp, halfAt, putHalf, roundq } from './codec.js';

const QK_K = 256;

/** Sub-block j's 6-bit scale from the 12 packed bytes at `s` (the first half of ggml's get_scale_min_k4). */
const scaleOf = (b: Uint8Array, s: number, j: number): number =>
  j < 4 ? b[s + j] & 63 : (b[s + j + 4] & 15) | ((b[s + j - 4] >> 6) << 4);
/** Sub-block j's 6-bit min (the second half). */
const minOf = (b: Uint8Array, s: number, j: number): number =>
  j < 4 ? b[s + j + 4] & 63 : (b[s + j + 4] >> 4) | ((b[s + j] >> 6) << 4);

/** Inverse of scaleOf / minOf: packs eight 6-bit (scale, min) pairs into 12 bytes at `s`. */
function putScaleMin(out: Uint8Array, s: number, ls: number[], lm: number[]): void {
  out.fill(0, s, s + 12);
  for (let j = 0; j < 4; j++) {
    out[s + j] = ls[j];
    out[s + j + 4] = lm[j];
  }
  for (let j = 4; j < 8; j++) {
    out[s + j + 4] = (ls[j] & 15) | ((lm[j] & 15) << 4);
    out[s + j - 4] |= (ls[j] >> 4) << 6;
    out[s + j] |= (lm[j] >> 4) << 6;
  }
}

/** Dequantizes Q4_K (bits 4) or Q5_K (bits 5). */
function dequantizeKx(bits: 4 | 5, buf: Uint8Array, src: number, nBlocks: number, out: Float32Array, dst: number): void {
  const bytes = bits === 4 ? 144 : 176;
  for (let b = 0; b < nBlocks; b++, src += bytes, dst += QK_K) {
    const d = halfAt(buf, src);
    const dmin = halfAt(buf, src + 2);
    const qh = src + 16;
    const qs = bits === 4 ? src + 16 : src + 48;
    for (let c = 0; c < 4; c++) {
      const d1 = d * scaleOf(buf, src + 4, 2 * c);
      const n1 = dmin * minOf(buf, src + 4, 2 * c);
      const d2 = d * scaleOf(buf, src + 4, 2 * c + 1);
      const n2 = dmin * minOf(buf, src + 4, 2 * c + 1);
      const o = dst + 64 * c;
      for (let l = 0; l < 32; l++) {
        const q = buf[qs + 32 * c + l];
        let lo = q & 15;
        let hi = q >> 4;
        if (bits === 5) {
          const h = buf[qh + l];
          lo |= ((h >> (2 * c)) & 1) << 4;
          hi |= ((h >> (2 * c + 1)) & 1) << 4;
        }
        out[o + l] = d1 * lo - n1;
        out[o + 32 + l] = d2 * hi - n2;
      }
    }
  }
}

/**
 * Quantizes Q4_K / Q5_K: per sub-block of 32 an affine range [min(0, x), max x]; the eight scales and mins to 6 bits
 * against d = max scale / 63 and dmin = max min / 63; then every element against its quantized scale and min.
 */
function quantizeKx(bits: 4 | 5, x: Float32Array, src: number, nBlocks: number, out: Uint8Array, dst: number): void {
  const bytes = bits === 4 ? 144 : 176;
  const qmax = bits === 4 ? 15 : 31;
  const scales = new Array<number>(8);
  const mins = new Array<number>(8);
  for (let b = 0; b < nBlocks; b++, src += QK_K, dst += bytes) {
    for (let j = 0; j < 8; j++) {
      let mn = 0;
      let mx = -Infinity;
      for (let l = 0; l < 32; l++) {
        const v = x[src + 32 * j + l];
        if (v < mn) mn = v;
        if (v > mx) mx = v;
      }
      scales[j] = Math.max(0, mx - mn) / qmax;
      mins[j] = -mn;
    }
    const d = putHalf(out, dst, Math.max(...scales) / 63);
    const dmin = putHalf(out, dst + 2, Math.max(...mins) / 63);
    const ls = scales.map((s) => clamp(roundq(s / d), 0, 63));
    const lm = mins.map((m) => clamp(roundq(m / dmin), 0, 63));
    putScaleMin(out, dst + 4, ls, lm);
    const qh = dst + 16;
    const qs = bits === 4 ? dst + 16 : dst + 48;
    if (bits === 5) out.fill(0, qh, qh + 32);
    for (let c = 0; c < 4; c++) {
      for (let half = 0; half < 2; half++) {
        const j = 2 * c + half;
        const dd = d * ls[j];
        const mm = dmin * lm[j];
        for (let l = 0; l < 32; l++) {
          const q = clamp(roundq((x[src + 32 * j + l] + mm) / dd), 0, qmax);
          const at = qs + 32 * c + l;
          out[at] = half === 0 ? q & 15 : out[at] | ((q & 15) << 4);
          if (bits === 5) out[qh + l] |= (q >> 4) << j;
        }
      }
    }
  }
}

export const Q4_K: BlockCodec = {
  blockElems: QK_K,
  blockBytes: 144,
  dequantize: (buf, src, n, out, dst) => dequantizeKx(4, buf, src, n, out, dst),
  quantize: (x, src, n, out, dst) => quantizeKx(4, x, src, n, out, dst),
};

export const Q5_K: BlockCodec = {
  blockElems: QK_K,
  blockBytes: 176,
  dequantize: (buf, src, n, out, dst) => dequantizeKx(5, buf, src, n, out, dst),
  quantize: (x, src, n, out, dst) => quantizeKx(5, x, src, n, out, dst),
};

export const Q6_K: BlockCodec = {
  blockElems: QK_K,
  blockBytes: 210,
  dequantize(buf, src, nBlocks, out, dst) {
    for (let b = 0; b < nBlocks; b++, src += 210, dst += QK_K) {
      const d = halfAt(buf, src + 208);
      const sc = src + 192;
      for (let h = 0; h < 2; h++) {
        const ql = src + 64 * h;
        const qh = src + 128 + 32 * h;
        const o = dst + 128 * h;
        for (let l = 0; l < 32; l++) {
          const a = buf[ql + l];
          const c = buf[ql + l + 32];
          const hb = buf[qh + l];
          // Element 128h + 32k + l lies in group (32k + l) >> 4 of this half: scale index 8h + 2k + (l >> 4).
          const s = sc + 8 * h + (l >> 4);
          out[o + l] = d * ((buf[s] << 24) >> 24) * (((a & 15) | ((hb & 3) << 4)) - 32);
          out[o + 32 + l] = d * ((buf[s + 2] << 24) >> 24) * (((c & 15) | (((hb >> 2) & 3) << 4)) - 32);
          out[o + 64 + l] = d * ((buf[s + 4] << 24) >> 24) * (((a >> 4) | (((hb >> 4) & 3) << 4)) - 32);
          out[o + 96 + l] = d * ((buf[s + 6] << 24) >> 24) * (((c >> 4) | (((hb >> 6) & 3) << 4)) - 32);
        }
      }
    }
  },
  quantize(x, src, nBlocks, out, dst) {
    const groupScale = new Array<number>(16);
    for (let b = 0; b < nBlocks; b++, src += QK_K, dst += 210) {
      // Each group of 16 maps its largest-magnitude element to level -32 (as ggml's symmetric formats do).
      let best = 0;
      for (let g = 0; g < 16; g++) {
        let max = 0;
        for (let l = 0; l < 16; l++) if (Math.abs(x[src + 16 * g + l]) > Math.abs(max)) max = x[src + 16 * g + l];
        groupScale[g] = max / -32;
        if (Math.abs(groupScale[g]) > Math.abs(best)) best = groupScale[g];
      }
      const d = putHalf(out, dst + 208, best / -128);
      out.fill(0, dst, dst + 192);
      const q = new Array<number>(QK_K);
      for (let g = 0; g < 16; g++) {
        const s = clamp(roundq(groupScale[g] / d), -128, 127);
        out[dst + 192 + g] = s & 0xff;
        for (let l = 0; l < 16; l++) q[16 * g + l] = clamp(roundq(x[src + 16 * g + l] / (d * s)), -32, 31) + 32;
      }
      for (let h = 0; h < 2; h++) {
        for (let l = 0; l < 32; l++) {
          const [q0, q1, q2, q3] = [0, 1, 2, 3].map((k) => q[128 * h + 32 * k + l]);
          out[dst + 64 * h + l] = (q0 & 15) | ((q2 & 15) << 4);
          out[dst + 64 * h + l + 32] = (q1 & 15) | ((q3 & 15) << 4);
          out[dst + 128 + 32 * h + l] = (q0 >> 4) | ((q1 >> 4) << 2) | ((q2 >> 4) << 4) | ((q3 >> 4) << 6);
        }
      }
    }
  },
};
