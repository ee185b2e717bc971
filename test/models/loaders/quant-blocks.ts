// An independent reading of the ggml block layouts for the quantized-GGUF tests: element index -> value, one element
// at a time, written from the format definition (ggml-common.h), sharing no code with src/models/loaders/quant.
// Slow and plain on purpose. Values are rounded to float32 once, as ggml's float arithmetic does.

/** IEEE half from its bits, by the definition (not the reader's lookup table). */
export function halfFromBits(h: number): number {
  const sign = h >> 15 ? -1 : 1;
  const exp = (h >> 10) & 31;
  const frac = h & 1023;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return exp === 0 ? sign * frac * 2 ** -24 : sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const half = (b: Uint8Array, o: number) => halfFromBits(b[o] | (b[o + 1] << 8));
const int8 = (v: number) => (v > 127 ? v - 256 : v);
const nibble = (byte: number, high: boolean) => (high ? byte >> 4 : byte & 15);
const bit = (v: number, i: number) => Math.floor(v / 2 ** i) % 2;

/** Bytes per block and elements per block of each type. */
export const GEOMETRY: Record<string, [elems: number, bytes: number]> = {
  Q8_0: [32, 34], Q4_0: [32, 18], Q4_1: [32, 20], Q5_0: [32, 22], Q5_1: [32, 24], Q4_K: [256, 144], Q5_K: [256, 176], Q6_K: [256, 210],
};

/** Legacy 32-element blocks: element j < 16 is the low nibble of qs[j], element j >= 16 the high nibble of qs[j - 16]. */
function legacyNibble(b: Uint8Array, qs: number, j: number): number {
  return nibble(b[qs + (j % 16)], j >= 16);
}

/** The 6-bit scale and min of k-quant sub-block `sub` (0..7) from the 12 scale bytes at `s`. */
function kScaleMin(b: Uint8Array, s: number, sub: number): [number, number] {
  if (sub < 4) return [b[s + sub] % 64, b[s + sub + 4] % 64];
  // Low 4 bits from the nibbles of byte sub + 4, high 2 bits from the top bits of bytes sub - 4 (scale) and sub (min).
  const top2 = (v: number) => v >> 6;
  return [(b[s + sub + 4] & 15) + 16 * top2(b[s + sub - 4]), (b[s + sub + 4] >> 4) + 16 * top2(b[s + sub])];
}

/** Value of element `e` of a tensor of `type` stored as `b`. */
export function elementValue(type: string, b: Uint8Array, e: number): number {
  const [elems, bytes] = GEOMETRY[type];
  const base = Math.floor(e / elems) * bytes;
  const i = e % elems;
  switch (type) {
    case 'Q8_0':
      return half(b, base) * int8(b[base + 2 + i]);
    case 'Q4_0':
      return half(b, base) * (legacyNibble(b, base + 2, i) - 8);
    case 'Q4_1':
      return Math.fround(half(b, base) * legacyNibble(b, base + 4, i) + half(b, base + 2));
    case 'Q5_0': {
      const qh = b[base + 2] + 256 * b[base + 3] + 65536 * b[base + 4] + 16777216 * b[base + 5];
      return half(b, base) * (legacyNibble(b, base + 6, i) + 16 * bit(qh, i) - 16);
    }
    case 'Q5_1': {
      const qh = b[base + 4] + 256 * b[base + 5] + 65536 * b[base + 6] + 16777216 * b[base + 7];
      return Math.fround(half(b, base) * (legacyNibble(b, base + 8, i) + 16 * bit(qh, i)) + half(b, base + 2));
    }
    case 'Q4_K':
    case 'Q5_K': {
      // 64 elements per 32 quant bytes: the first 32 are low nibbles (sub-block 2c), the next 32 high (2c + 1).
      const c = Math.floor(i / 64);
      const w = i % 64;
      const sub = Math.floor(i / 32);
      const qs = type === 'Q4_K' ? base + 16 : base + 48;
      let q = nibble(b[qs + 32 * c + (w % 32)], w >= 32);
      if (type === 'Q5_K') q += 16 * bit(b[base + 16 + (w % 32)], sub);
      const [sc, m] = kScaleMin(b, base + 4, sub);
      return Math.fround(half(b, base) * sc * q - half(b, base + 2) * m);
    }
    case 'Q6_K': {
      // Halves of 128; in a half, quarter k of 32 takes its low 4 bits from ql[l] (k = 0, 2) or ql[32 + l] (k = 1, 3),
      // low nibble for k < 2, and its top 2 bits from qh[l] bits 2k, 2k + 1.
      const h = Math.floor(i / 128);
      const k = Math.floor((i % 128) / 32);
      const l = i % 32;
      const low = nibble(b[base + 64 * h + 32 * (k % 2) + l], k >= 2);
      const high = (b[base + 128 + 32 * h + l] >> (2 * k)) & 3;
      const sc = int8(b[base + 192 + Math.floor(i / 16)]);
      return Math.fround(half(b, base + 208) * sc * (low + 16 * high - 32));
    }
  }
  throw new Error(`no reference layout for ${type}`);
}

/** Every element of a tensor of `type` with `n` elements stored as `b`. */
export function referenceDequantize(type: string, b: Uint8Array, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let e = 0; e < n; e++) out[e] = elementValue(type, b, e);
  return out;
}
