import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { canvasImageBackend } from '../src/browser/canvas-images.js';
import type { ImageSource } from '../src/data/dataset.js';
import { imageBackend, useImageBackend } from '../src/data/image-backend.js';
import { mulberry32 } from '../src/data/random.js';
import { CenterCrop, compose, Crop, Decode, HWC2CHW, RandomCropDecodeResize, RandomHorizontalFlip, Resize, type TransformStep } from '../src/data/transforms.js';

function testImage(width: number, height: number, channels: 1 | 3): ImageSource & { kind: 'pixels' } {
  const data = new Uint8Array(width * height * channels);
  const random = mulberry32(11);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        // Gradients, a hard edge and some noise: what resampling filters disagree on.
        const edge = x > width / 3 ? 90 : 0;
        data[(y * width + x) * channels + c] = Math.min(255, Math.round((x * 3 + y * 2 + c * 40 + edge) % 200 + random.next() * 40));
      }
    }
  }
  return { kind: 'pixels', data, width, height, channels };
}

async function withBackend<T>(backend: ReturnType<typeof imageBackend>, run: () => Promise<T>): Promise<T> {
  const before = imageBackend();
  useImageBackend(backend);
  try {
    return await run();
  } finally {
    useImageBackend(before);
  }
}

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'data');

/** The PNG fixture as the 8-bit pixels a page gets from canvas (PNG decoding is lossless, so the same in both). */
async function fixturePixels(): Promise<ImageSource> {
  const { data, info } = await sharp(path.join(FIXTURES, 'transform-input.png')).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { kind: 'pixels', data: new Uint8Array(data), width: info.width, height: info.height, channels: 3 };
}

function levels(a: Float32Array | Uint8Array, b: Float32Array | Uint8Array, hwcB = false, shape?: readonly number[]): { max: number; mean: number } {
  let max = 0;
  let sum = 0;
  const [c, h, w] = shape ?? [1, 1, a.length];
  for (let i = 0; i < a.length; i++) {
    // a is CHW; b is CHW too unless it is a PIL reference (HWC).
    const ch = Math.floor(i / (h! * w!));
    const p = i % (h! * w!);
    const d = Math.abs(a[i]! - b[hwcB ? p * c! + ch : i]!);
    max = Math.max(max, d);
    sum += d;
  }
  return { max, mean: sum / a.length };
}

test('canvas-pixel transforms (the browser backend) equal torchvision/PIL on the reference crops and resizes', async () => {
  const source = await fixturePixels();
  for (const [name, steps] of [
    ['png-eval', [Decode(), Resize(144), CenterCrop(112), HWC2CHW()]],
    ['png-resized_crop', [Decode(), Crop([20, 30], [150, 200]), Resize([112, 112]), HWC2CHW()]],
    ['png-resized_crop_up', [Decode(), Crop([40, 60], [50, 70]), Resize([112, 112]), HWC2CHW()]],
    ['png-resized_crop_mixed', [Decode(), Crop([10, 20], [60, 180]), Resize([112, 112]), HWC2CHW()]],
    ['png-eval_bicubic', [Decode(), Resize(144, 'bicubic'), CenterCrop(112), HWC2CHW()]],
    ['png-eval_bicubic_up', [Decode(), Resize(256, 'bicubic'), CenterCrop(224), HWC2CHW()]],
  ] as const) {
    const out = await withBackend(canvasImageBackend, () => compose(steps).apply(source));
    const reference = readFileSync(path.join(FIXTURES, `reference-${name}.bin`));
    const { max, mean } = levels(out.data, reference, true, out.shape);
    // PIL's fixed-point bilinear and bicubic filters, reimplemented: sharp's libvips differs from PIL by up to 8 levels here.
    assert.ok(max <= 1, `${name}: max error ${max} levels`);
    assert.ok(mean < 0.05, `${name}: mean error ${mean} levels`);
  }
});

// Grey output is PIL's convert('L') luminance; sharp's b-w differs from it by ~10 levels, so RGB to grey is not compared.
test('canvas-pixel transforms draw the same random crops and flips as the sharp ones, grey and RGB', async () => {
  const image = await fixturePixels();
  const grey: ImageSource = { kind: 'pixels', data: testImage(56, 56, 1).data as Uint8Array, width: 56, height: 56, channels: 1 };
  const cases: Array<{ name: string; steps: TransformStep[]; image: ImageSource; channels?: 1 | 3 }> = [
    { name: 'random crop + flip', steps: [RandomCropDecodeResize(64, { scale: [0.3, 1], ratio: [0.75, 1.333] }), RandomHorizontalFlip(0.5), HWC2CHW()], image },
    { name: 'eval enlarge', steps: [Decode(), Resize(400), CenterCrop(380), HWC2CHW()], image },
    { name: 'grey to RGB', steps: [Decode(), Resize([20, 16]), HWC2CHW()], image: grey },
  ];
  for (const { name, steps, image: source, channels } of cases) {
    const pipeline = compose(steps, { channels });
    for (const seed of [1, 2, 3]) {
      const fromSharp = await pipeline.apply(source, mulberry32(seed));
      const fromCanvas = await withBackend(canvasImageBackend, () => pipeline.apply(source, mulberry32(seed)));
      assert.deepEqual(fromCanvas.shape, fromSharp.shape, name);
      const { max, mean } = levels(fromCanvas.data, fromSharp.data);
      // Same boxes and flips; the filters differ as sharp and PIL do (measured: max 14, mean < 0.5 levels;
      // a wrong box or flip is tens of levels off on average).
      assert.ok(max <= 16, `${name} seed ${seed}: max difference ${max} levels`);
      assert.ok(mean < 0.6, `${name} seed ${seed}: mean difference ${mean} levels`);
    }
  }
});

test('the canvas backend names the problem with a file path source', async () => {
  await assert.rejects(canvasImageBackend.decodeAndResample({ kind: 'file', path: '/x/cat.jpg' }, [], 3), /\/x\/cat\.jpg: a web page has no file paths/);
});
