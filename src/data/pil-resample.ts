import type { RawPixels } from './sharp-stages.js';

/** torchvision's InterpolationMode for PIL images (BILINEAR, BICUBIC): PIL's antialiased filters. */
export type Interpolation = 'bilinear' | 'bicubic';

/** PIL's Resample.c filters: support at scale 1, and the kernel. Bicubic is Keys' cubic with a = -0.5. */
const FILTERS: Record<Interpolation, { support: number; at: (x: number) => number }> = {
  bilinear: { support: 1, at: (x) => (x < 1 ? 1 - x : 0) },
  bicubic: {
    support: 2,
    at: (x) => {
      const a = -0.5;
      if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
      if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
      return 0;
    },
  },
};

/** PIL's fixed point for 8-bit resampling (Resample.c): coefficients scaled by 2^22. */
const PRECISION_BITS = 22;
const HALF = 1 << (PRECISION_BITS - 1);

interface Kernel {
  /** First source index and tap count per output index; fixed-point weights, `taps` per output. */
  start: Int32Array;
  count: Int32Array;
  weights: Int32Array;
  taps: number;
}

/** PIL's precompute_coeffs: the filter's support widens with the reduction factor (antialiasing). */
function kernel(inSize: number, outSize: number, interpolation: Interpolation): Kernel {
  const filter = FILTERS[interpolation];
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filter.support * filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * taps);
  const w = new Float64Array(taps);
  for (let x = 0; x < outSize; x++) {
    const center = (x + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let total = 0;
    for (let j = 0; j < xmax; j++) {
      const t = Math.abs((j + xmin - center + 0.5) / filterScale);
      w[j] = filter.at(t);
      total += w[j]!;
    }
    for (let j = 0; j < xmax; j++) {
      const k = total !== 0 ? w[j]! / total : 0;
      weights[x * taps + j] = k < 0 ? Math.trunc(-0.5 + k * (1 << PRECISION_BITS)) : Math.trunc(0.5 + k * (1 << PRECISION_BITS));
    }
    start[x] = xmin;
    count[x] = xmax;
  }
  return { start, count, weights, taps };
}

function clip8(value: number): number {
  const shifted = value >> PRECISION_BITS;
  return shifted < 0 ? 0 : shifted > 255 ? 255 : shifted;
}

/**
 * Resizes 8-bit HWC pixels like PIL's `resize(..., BILINEAR | BICUBIC)` (libvips' linear and cubic
 * kernels compute nearly the same when shrinking): horizontal pass, then vertical, each rounded to 8 bits.
 */
export function resample(pixels: RawPixels, outWidth: number, outHeight: number, interpolation: Interpolation = 'bilinear'): RawPixels {
  const c = pixels.channels;
  let data = pixels.data;
  let width = pixels.width;
  if (outWidth !== width) {
    const k = kernel(width, outWidth, interpolation);
    const out = new Uint8Array(outWidth * pixels.height * c);
    for (let y = 0; y < pixels.height; y++) {
      const row = y * width * c;
      for (let x = 0; x < outWidth; x++) {
        const first = k.start[x]!;
        const n = k.count[x]!;
        const wBase = x * k.taps;
        for (let ch = 0; ch < c; ch++) {
          let sum = HALF;
          for (let j = 0; j < n; j++) sum += data[row + (first + j) * c + ch]! * k.weights[wBase + j]!;
          out[(y * outWidth + x) * c + ch] = clip8(sum);
        }
      }
    }
    data = out;
    width = outWidth;
  }
  if (outHeight !== pixels.height) {
    const k = kernel(pixels.height, outHeight, interpolation);
    const stride = width * c;
    const out = new Uint8Array(outHeight * stride);
    for (let y = 0; y < outHeight; y++) {
      const first = k.start[y]!;
      const n = k.count[y]!;
      const wBase = y * k.taps;
      for (let i = 0; i < stride; i++) {
        let sum = HALF;
        for (let j = 0; j < n; j++) sum += data[(first + j) * stride + i]! * k.weights[wBase + j]!;
        out[y * stride + i] = clip8(sum);
      }
    }
    data = out;
  }
  return { data, width: outWidth, height: outHeight, channels: c };
}
