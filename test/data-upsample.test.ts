/** The JS enlargement (PIL's bilinear upscaling, data/upsample.ts) against the formula written out plainly. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { enlarge, type Enlargement } from '../src/data/upsample.js';
import { mulberry32 } from '../src/data/random.js';

/** PIL's two passes, one output value at a time: fixed point with 22 bits, rounded to 8 bits after each pass, clamped. */
function reference(pixels: Uint8Array, channels: number, e: Enlargement): Uint8Array {
  const ONE = 1 << 22;
  const weights = (inSize: number, outSize: number, k: number): [number, number, number, number] => {
    const position = (k + 0.5) * (inSize / outSize) - 0.5;
    const floor = Math.floor(position);
    const fraction = position - floor;
    const clamp = (i: number) => Math.min(Math.max(i, 0), inSize - 1);
    return [clamp(floor), clamp(floor + 1), Math.round((1 - fraction) * ONE), Math.round(fraction * ONE)];
  };
  const mix = (a: number, b: number, wa: number, wb: number) => Math.min(255, Math.max(0, Math.floor((a * wa + b * wb + ONE / 2) / ONE)));
  const horizontal = (y: number, x: number, c: number): number => {
    if (e.outWidth === e.inWidth) return pixels[(y * e.inWidth + x) * channels + c]!;
    const [i, j, wi, wj] = weights(e.inWidth, e.outWidth, x);
    return mix(pixels[(y * e.inWidth + i) * channels + c]!, pixels[(y * e.inWidth + j) * channels + c]!, wi, wj);
  };
  const out = new Uint8Array(e.box.width * e.box.height * channels);
  for (let y = 0; y < e.box.height; y++) {
    for (let x = 0; x < e.box.width; x++) {
      for (let c = 0; c < channels; c++) {
        const [X, Y] = [e.box.left + x, e.box.top + y];
        let value: number;
        if (e.outHeight === e.inHeight) value = horizontal(Y, X, c);
        else {
          const [i, j, wi, wj] = weights(e.inHeight, e.outHeight, Y);
          value = mix(horizontal(i, X, c), horizontal(j, X, c), wi, wj);
        }
        out[(y * e.box.width + x) * channels + c] = value;
      }
    }
  }
  return out;
}

test('enlarge equals PIL-style bilinear upscaling written out plainly, for RGB and grey, one or both axes, with a kept box', () => {
  const random = mulberry32(7);
  const cases: Array<[number, number, number, number]> = [[37, 29, 64, 64], [64, 20, 64, 48], [20, 64, 48, 64], [63, 17, 64, 70], [5, 5, 64, 64]];
  for (const [inWidth, inHeight, outWidth, outHeight] of cases) {
    for (const channels of [1, 3]) {
      const pixels = Uint8Array.from({ length: inWidth * inHeight * channels }, () => Math.floor(random.next() * 256));
      for (const box of [{ left: 0, top: 0, width: outWidth, height: outHeight }, { left: 3, top: 2, width: outWidth - 7, height: outHeight - 5 }]) {
        const e: Enlargement = { inWidth, inHeight, outWidth, outHeight, box };
        assert.deepEqual(enlarge(pixels, channels, e), reference(pixels, channels, e), `${inWidth}x${inHeight} -> ${outWidth}x${outHeight}, ${channels} channels, box ${JSON.stringify(box)}`);
      }
    }
  }
});
