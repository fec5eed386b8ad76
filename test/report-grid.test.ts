import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { denormalizeToRgb } from '../src/report/denormalize.js';
import { renderImageGrid, renderImageGridSvg, renderPredictionGrid } from '../src/report/grid.js';

const IMAGENET_MEAN = [0.485 * 255, 0.456 * 255, 0.406 * 255];
const IMAGENET_STD = [0.229 * 255, 0.224 * 255, 0.225 * 255];

/** A CHW image whose every pixel de-normalizes to `rgb` under the given mean/std. */
function uniformImage(rgb: number[], size: number, mean: number[], std: number[]): Float32Array {
  const image = new Float32Array(rgb.length * size * size);
  rgb.forEach((value, c) => image.fill((value - mean[c]!) / std[c]!, c * size * size, (c + 1) * size * size));
  return image;
}

async function decode(png: Buffer): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

function countPixels(
  image: { data: Buffer; width: number; channels: number },
  box: { left: number; top: number; right: number; bottom: number },
  predicate: (r: number, g: number, b: number) => boolean,
): number {
  let count = 0;
  for (let y = box.top; y < box.bottom; y++) {
    for (let x = box.left; x < box.right; x++) {
      const i = (y * image.width + x) * image.channels;
      if (predicate(image.data[i]!, image.data[i + 1]!, image.data[i + 2]!)) count++;
    }
  }
  return count;
}

const isBlue = (r: number, g: number, b: number) => b > 120 && b - r > 60 && b - g > 40;
const isRed = (r: number, g: number, b: number) => r > 120 && r - g > 60 && r - b > 60;

test('de-normalization maps a known pixel back to its 0-255 value and clips the rest', () => {
  // 200, 100, 50 normalized with ImageNet statistics, then undone.
  const image = uniformImage([200, 100, 50], 2, IMAGENET_MEAN, IMAGENET_STD);
  assert.notEqual(image[0], 200);
  const rgb = denormalizeToRgb(image, [3, 2, 2], IMAGENET_MEAN, IMAGENET_STD);
  assert.deepEqual([...rgb.subarray(0, 6)], [200, 100, 50, 200, 100, 50]);

  const outOfRange = new Float32Array([-10, 10, 0.5, 0]);
  const gray = denormalizeToRgb(outOfRange, [1, 2, 2], [127.5], [127.5]);
  // 1 channel becomes gray RGB; -10 clips to 0, +10 to 255, 0.5 -> 191.25 -> 191.
  assert.deepEqual([...gray], [0, 0, 0, 255, 255, 255, 191, 191, 191, 128, 128, 128]);
});

test('de-normalization rejects a shape that does not match the data', () => {
  assert.throws(() => denormalizeToRgb(new Float32Array(10), [1, 3, 3], [0], [1]), /10 values.*needs 9/);
  assert.throws(() => denormalizeToRgb(new Float32Array(12), [3, 2, 2], [0, 0], [1, 1, 1]), /mean has 2 values/);
  assert.throws(() => denormalizeToRgb(new Float32Array(8), [2, 2, 2], [0], [1]), /1 or 3 channels/);
});

test('the grid PNG has the laid-out size and shows the de-normalized colour exactly', async () => {
  const images = Array.from({ length: 6 }, () => uniformImage([200, 100, 50], 28, IMAGENET_MEAN, IMAGENET_STD));
  const png = await renderImageGrid({
    images,
    shape: [3, 28, 28],
    mean: IMAGENET_MEAN,
    std: IMAGENET_STD,
    titles: ['a', 'b', 'c', 'd', 'e', 'f'],
    rows: 2,
    cols: 3,
    cellSize: 160,
  });
  const image = await decode(png);
  // 12 px padding each side, 160 px cells, 12 px gaps; each cell is a 24 px title band over 160 px.
  assert.equal(image.width, 12 * 2 + 3 * 160 + 2 * 12);
  assert.equal(image.height, 12 * 2 + 2 * (24 + 160) + 12);
  // 28 px images are enlarged 5x (140 px) and centred in the cell: first image spans x 22..162, y 46..186.
  const centre = ((12 + 24 + 10 + 70) * image.width + (22 + 70)) * image.channels;
  assert.deepEqual([...image.data.subarray(centre, centre + 3)], [200, 100, 50]);
});

test('prediction titles are blue when right and red when wrong', async () => {
  const gray = (value: number) => uniformImage([value], 28, [127.5], [127.5]);
  const png = await renderPredictionGrid({
    images: [gray(30), gray(200), gray(90), gray(250)],
    shape: [1, 28, 28],
    mean: [127.5],
    std: [127.5],
    predicted: [0, 1, 1, 0],
    actual: [0, 0, 1, 1],
    classNames: ['dogs', 'wolves'],
    rows: 2,
    cols: 2,
  });
  const image = await decode(png);
  const cellWidth = 160;
  const expectations = [true, false, true, false];
  for (let index = 0; index < 4; index++) {
    const left = 12 + (index % 2) * (cellWidth + 12);
    const top = 12 + Math.floor(index / 2) * (24 + 160 + 12);
    const band = { left, top, right: left + cellWidth, bottom: top + 24 };
    const blue = countPixels(image, band, isBlue);
    const red = countPixels(image, band, isRed);
    if (expectations[index]) {
      assert.ok(blue > 30, `cell ${index}: expected a blue title, found ${blue} blue pixels`);
      assert.equal(red, 0, `cell ${index}: right prediction has red pixels`);
    } else {
      assert.ok(red > 30, `cell ${index}: expected a red title, found ${red} red pixels`);
      assert.equal(blue, 0, `cell ${index}: wrong prediction has blue pixels`);
    }
  }
});

test('the SVG variant carries titles as text and images as PNG data URIs', async () => {
  const svg = await renderImageGridSvg({
    images: [new Float32Array(4), new Float32Array(4)],
    shape: [1, 2, 2],
    mean: [0],
    std: [1],
    titles: ['predict:<dogs>', 'two\nlines'],
    rows: 1,
    cols: 2,
  });
  assert.match(svg, /^<svg /);
  assert.equal(svg.match(/href="data:image\/png;base64,/g)?.length, 2);
  assert.ok(svg.includes('predict:&lt;dogs&gt;'));
  assert.equal(svg.match(/<tspan/g)?.length, 3);
});

test('grid arguments are checked with clear messages', async () => {
  const base = { images: [new Float32Array(4)], shape: [1, 2, 2] as [number, number, number], mean: [0], std: [1], rows: 1, cols: 1 };
  await assert.rejects(renderImageGrid({ ...base, titles: [] }), /1 images but 0 titles/);
  await assert.rejects(renderImageGrid({ ...base, titles: ['x'], rows: 0 }), /rows and cols must be positive/);
  await assert.rejects(renderPredictionGrid({ ...base, predicted: [3], actual: [0], classNames: ['a', 'b'] }), /label 3 has no class name/);
});
