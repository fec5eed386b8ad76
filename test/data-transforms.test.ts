import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { centerCropBox, randomResizedCropBox, roundHalfEven, shorterSideSize } from '../src/data/crop-geometry.js';
import { mulberry32 } from '../src/data/random.js';
import {
  CenterCrop, compose, Crop, Decode, HWC2CHW, IMAGENET_MEAN_255, IMAGENET_STD_255, Normalize, RandomCropDecodeResize,
  RandomHorizontalFlip, Resize, applyTransform, trainTransforms,
} from '../src/data/transforms.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'data');

test('random resized crop sampling stays inside scale and ratio bounds', () => {
  const random = mulberry32(3);
  const [width, height] = [500, 375];
  const fractions: number[] = [];
  for (let k = 0; k < 3000; k++) {
    const box = randomResizedCropBox(width, height, [0.08, 1], [0.75, 1.333], random);
    assert.ok(box.left >= 0 && box.top >= 0 && box.left + box.width <= width && box.top + box.height <= height);
    if (box.fallback) continue;
    const fraction = (box.width * box.height) / (width * height);
    // Rounding w and h to integers moves area and ratio by at most about one pixel's worth.
    assert.ok(fraction > 0.08 * 0.97 && fraction <= 1, `area fraction ${fraction}`);
    const ratio = box.width / box.height;
    assert.ok(ratio > 0.75 * 0.97 && ratio < 1.333 * 1.03, `ratio ${ratio}`);
    fractions.push(fraction);
  }
  // Tries whose crop does not fit are redrawn, so large areas are under-represented: the mean of the
  // accepted fractions is below the uniform 0.54 but well above the lower bound.
  const mean = fractions.reduce((a, b) => a + b, 0) / fractions.length;
  assert.ok(mean > 0.3 && mean < 0.54, `mean area fraction ${mean}`);
  assert.ok(fractions.length > 2900);
});

test('random resized crop falls back to a centred crop clamped to the ratio range', () => {
  const impossible: [number, number] = [2, 3]; // area larger than the image: every try fails
  const wide = randomResizedCropBox(1000, 100, impossible, [0.75, 1.333], mulberry32(1));
  assert.deepEqual(wide, { top: 0, left: 433, height: 100, width: 133, fallback: true });
  const tall = randomResizedCropBox(100, 1000, impossible, [0.75, 1.333], mulberry32(1));
  assert.deepEqual(tall, { top: 433, left: 0, height: 133, width: 100, fallback: true });
  const square = randomResizedCropBox(300, 300, impossible, [0.75, 1.333], mulberry32(1));
  assert.deepEqual(square, { top: 0, left: 0, height: 300, width: 300, fallback: true });
});

test('torchvision rounding: center crop offsets and shorter-side resize', () => {
  assert.equal(roundHalfEven(0.5), 0);
  assert.equal(roundHalfEven(1.5), 2);
  assert.equal(roundHalfEven(2.5), 2);
  assert.deepEqual(centerCropBox(225, 227, 224, 224), { top: 2, left: 0, height: 224, width: 224 });
  assert.deepEqual(shorterSideSize(500, 375, 256), { width: 341, height: 256 });
  assert.deepEqual(shorterSideSize(375, 500, 256), { width: 256, height: 341 });
  assert.throws(() => centerCropBox(100, 100, 224, 224), /larger than the 100x100 image/);
});

function reference(name: string): Uint8Array {
  return readFileSync(path.join(FIXTURES, `reference-${name}.bin`));
}

/** Compares CHW normalized output against a PIL uint8 HWC reference; returns [max, mean] error in pixel levels. */
function compare(chw: Float32Array, hwc: Uint8Array, mean: number[], std: number[]): [number, number] {
  const plane = hwc.length / 3;
  let max = 0;
  let sum = 0;
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) {
      const level = chw[c * plane + p]! * std[c]! + mean[c]!;
      const error = Math.abs(level - hwc[p * 3 + c]!);
      max = Math.max(max, error);
      sum += error;
    }
  }
  return [max, sum / (plane * 3)];
}

for (const ext of ['png', 'jpg']) {
  test(`eval transforms match torchvision/PIL on a ${ext.toUpperCase()} (Resize + CenterCrop + Normalize)`, async () => {
    const pipeline = compose([Decode(), Resize(144), CenterCrop(112), Normalize(IMAGENET_MEAN_255, IMAGENET_STD_255), HWC2CHW()]);
    const out = await pipeline.apply({ kind: 'file', path: path.join(FIXTURES, `transform-input.${ext}`) });
    assert.deepEqual(out.shape, [3, 112, 112]);
    const [max, mean] = compare(out.data, reference(`${ext}-eval`), IMAGENET_MEAN_255, IMAGENET_STD_255);
    // libvips' linear kernel and PIL's bilinear filter are the same triangle; fixed-point rounding and
    // edge handling differ by a level or two.
    assert.ok(mean < 0.6, `mean error ${mean} levels`);
    assert.ok(max <= 8, `max error ${max} levels`);
  });

  test(`crop + shrinking resize matches torchvision's resized_crop on a ${ext.toUpperCase()}`, async () => {
    // The same single sharp call RandomCropDecodeResize makes (pre-resize extract + resize), with the
    // crop box the fixture used: F.resized_crop(img, top=20, left=30, height=150, width=200, [112, 112]).
    const source = { kind: 'file' as const, path: path.join(FIXTURES, `transform-input.${ext}`) };
    const out = await compose([Decode(), Crop([20, 30], [150, 200]), Resize([112, 112]), HWC2CHW()]).apply(source);
    assert.deepEqual(out.shape, [3, 112, 112]);
    const [max, mean] = compare(out.data, reference(`${ext}-resized_crop`), [0, 0, 0], [1, 1, 1]);
    assert.ok(mean < 0.6, `mean error ${mean} levels`);
    assert.ok(max <= 8, `max error ${max} levels`);
  });
}

for (const ext of ['png', 'jpg']) {
  for (const [name, top, left, height, width] of [['resized_crop_up', 40, 60, 50, 70], ['resized_crop_mixed', 10, 20, 60, 180]] as const) {
    test(`enlarging crop + resize matches torchvision exactly-ish (${name}, ${ext.toUpperCase()})`, async () => {
      const source = { kind: 'file' as const, path: path.join(FIXTURES, `transform-input.${ext}`) };
      const out = await compose([Decode(), Crop([top, left], [height, width]), Resize([112, 112]), HWC2CHW()]).apply(source);
      const [max, mean] = compare(out.data, reference(`${ext}-${name}`), [0, 0, 0], [1, 1, 1]);
      // Enlarged axes are computed by tlkit itself, as PIL does; only rounding of the shrunk axis may differ.
      assert.ok(max <= (name === 'resized_crop_up' ? 1 : 3), `max error ${max} levels`);
      assert.ok(mean < 0.3, `mean error ${mean} levels`);
    });
  }
}

for (const ext of ['png', 'jpg']) {
  test(`bicubic eval resize matches torchvision's BICUBIC (PIL), shrinking and enlarging, on a ${ext.toUpperCase()}`, async () => {
    const source = { kind: 'file' as const, path: path.join(FIXTURES, `transform-input.${ext}`) };
    const shrunk = await compose([Decode(), Resize(144, 'bicubic'), CenterCrop(112), HWC2CHW()]).apply(source);
    const [max, mean] = compare(shrunk.data, reference(`${ext}-eval_bicubic`), [0, 0, 0], [1, 1, 1]);
    // libvips' cubic kernel is PIL's a = -0.5 cubic; fixed-point rounding differs by a level or two.
    assert.ok(max <= 3, `max error ${max} levels`);
    assert.ok(mean < 0.3, `mean error ${mean} levels`);
    // The same resize with the bilinear filter is visibly further from torchvision's bicubic output.
    const bilinear = await compose([Decode(), Resize(144), CenterCrop(112), HWC2CHW()]).apply(source);
    const [, bilinearMean] = compare(bilinear.data, reference(`${ext}-eval_bicubic`), [0, 0, 0], [1, 1, 1]);
    assert.ok(bilinearMean > 2 * mean && bilinearMean > 0.4, `bilinear is ${bilinearMean} levels from bicubic, bicubic ${mean}`);
    // Enlarging (200 -> 256) is PIL's own resample, computed by tlkit.
    const enlarged = await compose([Decode(), Resize(256, 'bicubic'), CenterCrop(224), HWC2CHW()]).apply(source);
    const [upMax, upMean] = compare(enlarged.data, reference(`${ext}-eval_bicubic_up`), [0, 0, 0], [1, 1, 1]);
    assert.ok(upMax <= 1, `enlarged: max error ${upMax} levels (mean ${upMean})`);
  });
}

test('Resize refuses an unknown interpolation', () => {
  assert.throws(() => Resize(256, 'nearest' as 'bicubic'), /Resize: interpolation must be 'bilinear' or 'bicubic', got "nearest"/);
});

test('a crop after an enlarging resize takes the same pixels as cropping the enlarged image', async () => {
  const small = await sharp(path.join(FIXTURES, 'transform-input.png')).extract({ left: 0, top: 0, width: 100, height: 70 }).png().toBuffer();
  const source = { kind: 'encoded' as const, data: small };
  const whole = await compose([Decode(), Resize(128), HWC2CHW()]).apply(source);
  assert.deepEqual(whole.shape, [3, 128, 182]); // int(128 * 100 / 70)
  const cropped = await compose([Decode(), Resize(128), CenterCrop([100, 120]), HWC2CHW()]).apply(source);
  const box = centerCropBox(182, 128, 120, 100);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < 100; y++) {
      const expected = whole.data.subarray(c * 128 * 182 + (box.top + y) * 182 + box.left, c * 128 * 182 + (box.top + y) * 182 + box.left + 120);
      assert.deepEqual(cropped.data.subarray(c * 100 * 120 + y * 120, c * 100 * 120 + (y + 1) * 120), expected);
    }
  }
});

async function rgbPixels(input: Buffer, steps = [Decode(), HWC2CHW()]): Promise<{ data: Float32Array; shape: number[] }> {
  return compose(steps).apply({ kind: 'encoded', data: input });
}

function pixelAt(out: { data: Float32Array; shape: number[] }, x: number, y: number): number[] {
  const [, h, w] = out.shape as [number, number, number];
  return [0, 1, 2].map((c) => Math.round(out.data[c * h * w + y * w + x]!));
}

test('grayscale, CMYK, alpha, 16-bit and EXIF-rotated inputs decode to 8-bit RGB', async () => {
  const gray = await sharp(Buffer.from([10, 200, 60, 90]), { raw: { width: 2, height: 2, channels: 1 } }).png().toBuffer();
  const grayOut = await rgbPixels(gray);
  assert.deepEqual(grayOut.shape, [3, 2, 2]);
  assert.deepEqual(pixelAt(grayOut, 1, 0), [200, 200, 200]);

  const orange = { r: 230, g: 120, b: 30 }; // a CMYK JPEG with an embedded CMYK profile, as print workflows write
  const cmyk = await sharp({ create: { width: 8, height: 8, channels: 3, background: orange } }).toColourspace('cmyk').withIccProfile('cmyk').jpeg().toBuffer();
  assert.equal((await sharp(cmyk).metadata()).space, 'cmyk');
  const cmykPixel = pixelAt(await rgbPixels(cmyk), 4, 4);
  [orange.r, orange.g, orange.b].forEach((v, c) => assert.ok(Math.abs(cmykPixel[c]! - v) <= 25, `CMYK channel ${c}: ${cmykPixel[c]} vs ${v}`));

  // Fully transparent pixels keep their colour (PIL's convert('RGB') drops alpha), even through a resize.
  const rgba = Buffer.alloc(4 * 4 * 4);
  for (let p = 0; p < 16; p++) rgba.set([200, 50, 50, p < 8 ? 0 : 255], p * 4);
  const alpha = await sharp(rgba, { raw: { width: 4, height: 4, channels: 4 } }).png().toBuffer();
  assert.deepEqual(pixelAt(await rgbPixels(alpha), 0, 0), [200, 50, 50]);
  const resized = await rgbPixels(alpha, [Decode(), Resize(8), HWC2CHW()]);
  assert.deepEqual(resized.shape, [3, 8, 8]);
  assert.deepEqual(pixelAt(resized, 1, 1), [200, 50, 50]);

  const deep = new Uint16Array([65535, 32896, 0, 257 * 10, 257 * 20, 257 * 30]);
  const png16 = await sharp(deep, { raw: { width: 2, height: 1, channels: 3 } }).toColourspace('rgb16').png().toBuffer();
  assert.equal((await sharp(png16).metadata()).depth, 'ushort');
  const deepOut = await rgbPixels(png16);
  assert.deepEqual([pixelAt(deepOut, 0, 0), pixelAt(deepOut, 1, 0)], [[255, 128, 0], [10, 20, 30]]);

  // 40x20: red left half, blue right half; orientation 6 means "rotate 90° clockwise to display".
  const halves = Buffer.alloc(40 * 20 * 3);
  for (let y = 0; y < 20; y++) for (let x = 0; x < 40; x++) halves.set(x < 20 ? [255, 0, 0] : [0, 0, 255], (y * 40 + x) * 3);
  const rotated = await sharp(halves, { raw: { width: 40, height: 20, channels: 3 } }).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer();
  const upright = await rgbPixels(rotated);
  assert.deepEqual(upright.shape, [3, 40, 20]);
  const top = pixelAt(upright, 10, 5);
  const bottom = pixelAt(upright, 10, 34);
  assert.ok(top[0]! > 200 && top[2]! < 60, `top is red: ${top}`);
  assert.ok(bottom[2]! > 200 && bottom[0]! < 60, `bottom is blue: ${bottom}`);
  // A crop of the oriented image: its left half (x < 10 of 20) spans red on top and blue below.
  const crop = await rgbPixels(rotated, [Decode(), CenterCrop([40, 10]), HWC2CHW()]);
  assert.deepEqual(crop.shape, [3, 40, 10]);
  assert.ok(pixelAt(crop, 5, 5)[0]! > 200 && pixelAt(crop, 5, 34)[2]! > 200);
});

test('horizontal flip mirrors, including crops taken after it', async () => {
  const pixels = Uint8Array.from({ length: 4 * 3 }, (_, i) => i * 10); // 4x3 single channel
  const source = { kind: 'pixels' as const, data: pixels, width: 4, height: 3, channels: 1 as const };
  const pipeline = compose([RandomHorizontalFlip(1), HWC2CHW()], { channels: 1 });
  const flipped = await pipeline.apply(source);
  assert.deepEqual(Array.from(flipped.data.subarray(0, 4)), [30, 20, 10, 0]);
  const kept = await compose([RandomHorizontalFlip(0), HWC2CHW()], { channels: 1 }).apply(source);
  assert.deepEqual(Array.from(kept.data.subarray(0, 4)), [0, 10, 20, 30]);
  // Flip then crop the left 2 columns of 4 (offset 1 rounds to... 4-2=2, /2=1): mirrored columns 2,1.
  const cropAfterFlip = await compose([RandomHorizontalFlip(1), CenterCrop([1, 2]), HWC2CHW()], { channels: 1 }).apply(source);
  assert.deepEqual(Array.from(cropAfterFlip.data), [60, 50]); // row 1 mirrored is 70 60 50 40; centre pair 60 50
  // RGB to CHW takes a separate fast path.
  const rgb = { kind: 'pixels' as const, data: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), width: 3, height: 1, channels: 3 as const };
  const rgbFlipped = await compose([RandomHorizontalFlip(1), Normalize([1, 2, 3], [1, 1, 2]), HWC2CHW()]).apply(rgb);
  assert.deepEqual(Array.from(rgbFlipped.data), [6, 3, 0, 6, 3, 0, 3, 1.5, 0]);
});

test('Normalize and HWC2CHW layout, and Normalize placement rules', async () => {
  const source = { kind: 'pixels' as const, data: Uint8Array.from([10, 20, 30, 40, 50, 60]), width: 2, height: 1, channels: 3 as const };
  const hwc = await applyTransform(Normalize([10, 20, 30], [2, 4, 5]), source);
  assert.equal(hwc.layout, 'HWC');
  assert.deepEqual(hwc.shape, [1, 2, 3]);
  assert.deepEqual(Array.from(hwc.data), [0, 0, 0, 15, 7.5, 6]);
  const chw = await compose([Normalize([10, 20, 30], [2, 4, 5]), HWC2CHW()]).apply(source);
  assert.deepEqual(Array.from(chw.data), [0, 15, 0, 7.5, 0, 6]);
  assert.throws(() => compose([Normalize([0], [1]), Resize(4)]), /normalize must come after every crop and resize/);
  assert.throws(() => compose([Resize(4), Decode()]), /decode decodes the image, so it must be the first step/);
});

test('training transforms: 3x224x224 output, reproducible per seed, varying across seeds', async () => {
  const source = { kind: 'file' as const, path: path.join(FIXTURES, 'transform-input.jpg') };
  const pipeline = compose(trainTransforms(224));
  assert.ok(pipeline.isRandom);
  const a = await pipeline.apply(source, mulberry32(5));
  const b = await pipeline.apply(source, mulberry32(5));
  const c = await pipeline.apply(source, mulberry32(6));
  assert.deepEqual(a.shape, [3, 224, 224]);
  assert.deepEqual(a.data, b.data);
  assert.notDeepEqual(a.data, c.data);
  // Grayscale in-memory pixels (Fashion-MNIST style) go through the same steps to RGB.
  const digit = { kind: 'pixels' as const, data: Uint8Array.from({ length: 28 * 28 }, (_, i) => i % 256), width: 28, height: 28, channels: 1 as const };
  const out = await compose([RandomCropDecodeResize(64), HWC2CHW()]).apply(digit, mulberry32(1));
  assert.deepEqual(out.shape, [3, 64, 64]);
  assert.deepEqual(out.data.subarray(0, 64 * 64), out.data.subarray(64 * 64, 2 * 64 * 64));
});

test('crops of in-memory pixels (made without sharp) equal sharp\'s extract, nested crops included', async () => {
  const { decodeAndResample } = await import('../src/data/sharp-stages.js');
  for (const channels of [1, 3] as const) {
    const [width, height] = [29, 23];
    const data = Uint8Array.from({ length: width * height * channels }, (_, i) => (i * 37 + (i >> 3)) % 256);
    const source = { kind: 'pixels' as const, data, width, height, channels };
    const outer = { op: 'extract' as const, left: 3, top: 2, width: 20, height: 17 };
    const inner = { op: 'extract' as const, left: 5, top: 1, width: 11, height: 9 };
    const ours = await decodeAndResample(source, [outer, inner], channels);
    const theirs = await sharp(data, { raw: { width, height, channels } })
      .extract({ left: outer.left + inner.left, top: outer.top + inner.top, width: inner.width, height: inner.height })
      .toColourspace(channels === 3 ? 'srgb' : 'b-w').raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([ours.width, ours.height, ours.channels], [theirs.info.width, theirs.info.height, theirs.info.channels]);
    assert.deepEqual(Array.from(ours.data), Array.from(theirs.data));
    await assert.rejects(decodeAndResample(source, [{ op: 'extract', left: 20, top: 0, width: 10, height: 5 }], channels), /does not fit the 29x23 image/);
  }
});
