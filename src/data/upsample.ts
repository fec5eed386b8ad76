import type { GeometricOp } from './sharp-stages.js';

/**
 * libvips enlarges with a different pixel alignment from PIL (measured: about half a source pixel off),
 * while it shrinks with the same triangle filter. So an enlarging final resize is done here instead, the
 * way PIL's bilinear filter does it when upscaling: pixel centres aligned, (x + 0.5) * in / out - 0.5,
 * edges clamped, horizontal pass then vertical, each rounded to 8 bits.
 */
export interface Enlargement {
  /** Size sharp delivers (axes that shrink are already resized there). */
  inWidth: number;
  inHeight: number;
  /** Size of the full resized image. */
  outWidth: number;
  outHeight: number;
  /** The part of the resized image to keep (crops that followed the resize). */
  box: { left: number; top: number; width: number; height: number };
}

/** Splits off the last resize when it enlarges an axis and only crops follow it. */
export function splitEnlargement(
  ops: readonly GeometricOp[],
  start: { width: number; height: number },
): { sharpOps: GeometricOp[]; enlargement: Enlargement | undefined } {
  const sizes: Array<{ width: number; height: number }> = [start];
  for (const op of ops) sizes.push({ width: op.width, height: op.height });
  let last = -1;
  ops.forEach((op, i) => { if (op.op === 'resize') last = i; });
  const resize = ops[last];
  if (!resize) return { sharpOps: [...ops], enlargement: undefined };
  const before = sizes[last]!;
  const enlargeX = resize.width > before.width;
  const enlargeY = resize.height > before.height;
  if (!enlargeX && !enlargeY) return { sharpOps: [...ops], enlargement: undefined };
  const inWidth = enlargeX ? before.width : resize.width;
  const inHeight = enlargeY ? before.height : resize.height;
  const sharpOps = ops.slice(0, last);
  if (inWidth !== before.width || inHeight !== before.height) sharpOps.push({ op: 'resize', width: inWidth, height: inHeight });
  let box = { left: 0, top: 0, width: resize.width, height: resize.height };
  for (const op of ops.slice(last + 1)) {
    box = { left: box.left + (op as { left: number }).left, top: box.top + (op as { top: number }).top, width: op.width, height: op.height };
  }
  return { sharpOps, enlargement: { inWidth, inHeight, outWidth: resize.width, outHeight: resize.height, box } };
}

interface Taps {
  first: Int32Array;
  second: Int32Array;
  weight: Float32Array;
}

function bilinearTaps(inSize: number, outSize: number, start: number, count: number): Taps {
  const scale = inSize / outSize;
  const first = new Int32Array(count);
  const second = new Int32Array(count);
  const weight = new Float32Array(count);
  for (let k = 0; k < count; k++) {
    const position = (start + k + 0.5) * scale - 0.5;
    const floor = Math.floor(position);
    first[k] = Math.min(Math.max(floor, 0), inSize - 1);
    second[k] = Math.min(Math.max(floor + 1, 0), inSize - 1);
    weight[k] = position - floor;
  }
  return { first, second, weight };
}

/** Applies an Enlargement to 8-bit HWC pixels; returns the kept box as 8-bit HWC. */
export function enlarge(pixels: Uint8Array, channels: number, e: Enlargement): Uint8Array {
  const { box } = e;
  // Horizontal pass over every input row, producing only the kept columns.
  let rows = pixels;
  let rowWidth = e.inWidth;
  if (e.outWidth !== e.inWidth || box.left !== 0 || box.width !== e.inWidth) {
    const taps = e.outWidth === e.inWidth ? undefined : bilinearTaps(e.inWidth, e.outWidth, box.left, box.width);
    rows = new Uint8Array(e.inHeight * box.width * channels);
    // Per output column: byte offsets of its two source pixels within a row, and the weight of the second.
    const firstOffset = new Int32Array(box.width);
    const secondOffset = new Int32Array(box.width);
    const weight = new Float32Array(box.width);
    for (let x = 0; x < box.width; x++) {
      firstOffset[x] = (taps ? taps.first[x]! : box.left + x) * channels;
      secondOffset[x] = (taps ? taps.second[x]! : box.left + x) * channels;
      weight[x] = taps ? taps.weight[x]! : 0;
    }
    for (let y = 0; y < e.inHeight; y++) {
      const inRow = y * e.inWidth * channels;
      let o = y * box.width * channels;
      for (let x = 0; x < box.width; x++) {
        const a = inRow + firstOffset[x]!;
        const b = inRow + secondOffset[x]!;
        const w = weight[x]!;
        for (let c = 0; c < channels; c++, o++) {
          const pa = pixels[a + c]!;
          rows[o] = Math.round(pa + (pixels[b + c]! - pa) * w);
        }
      }
    }
    rowWidth = box.width;
  }
  // Vertical pass producing only the kept rows.
  const stride = rowWidth * channels;
  const out = new Uint8Array(box.height * stride);
  if (e.outHeight === e.inHeight) {
    out.set(rows.subarray(box.top * stride, (box.top + box.height) * stride));
    return out;
  }
  const taps = bilinearTaps(e.inHeight, e.outHeight, box.top, box.height);
  for (let y = 0; y < box.height; y++) {
    const a = taps.first[y]! * stride;
    const b = taps.second[y]! * stride;
    const w = taps.weight[y]!;
    const o = y * stride;
    for (let i = 0; i < stride; i++) out[o + i] = Math.round(rows[a + i]! + (rows[b + i]! - rows[a + i]!) * w);
  }
  return out;
}
