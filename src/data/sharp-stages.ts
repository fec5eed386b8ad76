import { promises as fs } from 'node:fs';
import sharp from 'sharp';

type Sharp = ReturnType<typeof sharp>;
import { ImageDecodeError } from './bad-images.js';
import { describeSource, ImageSource } from './dataset.js';
import type { DecodedCache } from './decoded-cache.js';
import type { Interpolation } from './pil-resample.js';

/** A crop or a resize in the coordinates of the image at that point of the pipeline. */
export type GeometricOp =
  | { op: 'extract'; left: number; top: number; width: number; height: number }
  | { op: 'resize'; width: number; height: number; interpolation?: Interpolation };

export interface ImageInfo {
  /** After EXIF orientation. */
  width: number;
  height: number;
  hasAlpha: boolean;
  /** sharp's name of the file format ('jpeg', 'png'...), where known. */
  format?: string;
}

export interface RawPixels {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

type Box = { left: number; top: number; width: number; height: number };

/** What one sharp call can do: crop, resize, crop (sharp's pre- and post-resize extraction). */
export interface Stage {
  pre?: Box;
  resize?: { width: number; height: number; interpolation?: Interpolation };
  post?: Box;
}

// PIL's bilinear resize is a triangle filter widened by the reduction factor; libvips' linear kernel is the
// same filter. sharp's own shrink-on-load (with fastShrinkOnLoad: false it leaves a 2x margin for the resize)
// skips pipelines with a pre-resize extract, i.e. every crop; jpegShrink below does it for those, same margin.
// PIL's bicubic (a = -0.5) is libvips' cubic (Catmull-Rom) kernel, widened the same way. Shrinking the
// 300x200 fixture 2x, cubic is at most 2 levels from PIL (mean 0.19; mitchell 12, lanczos3 4, linear 16).
// torchvision's Resize(256, BICUBIC) + CenterCrop(224) on real photos: 640 px wide JPEGs, max 1-4 levels
// (mean 0.14-0.18, as bilinear vs BILINEAR); 2560-4272 px ones (DCT shrink-on-load) max 6-15, mean 0.27-0.52.
// Enlarging, libvips' alignment differs, so tlkit enlarges itself (upsample.ts): 0 levels from PIL.
// Shrinking stays in sharp although it is dear: a crop -> 224x224 resize adds ~1 CPU ms to the call, about
// 0.6 ms of it fixed (30x30 -> 20x20 costs as much; callgrind: building reduceh + reducev is 2.6M of the 4.3M
// instructions sharp spends per call on its libuv thread), yet a PIL-exact JS resample fused with the normalize
// pass took 1.6-2.3 ms per crop on the same web-photo crops (bench/loader-cost.ts, loaded 2-core EPYC, 2026-12-01).
const RESIZE_OPTIONS = { fit: 'fill', fastShrinkOnLoad: false } as const;
const KERNELS = { bilinear: 'linear', bicubic: 'cubic' } as const;
/**
 * libjpeg's DCT scaling (decode at 1/2, 1/4, 1/8) is used only while the decoded crop keeps at least this many
 * times the output size on both axes, so the triangle filter still reduces by 2x or more. PIL decodes at full
 * size and filters once; against that full-size decode the output moves by 0.2-0.8 levels on average (the crop's
 * edges land on the nearest decoded pixel; measured on photo-like JPEGs with per-pixel grain, 4000x3000 with the
 * tutorial's random crops and test/data-shrink-on-load.test.ts), while a 4000x3000 decode costs ~46 ms in full
 * and ~10 ms at 1/4.
 */
export const JPEG_SHRINK_MARGIN = 2;
// PIL refuses truncated images by default; sharp's stricter default 'warning' also rejects harmless warnings.
// Other settings measured for cost on the web photos' calls (paired blocks, 2026-12-01): sequentialRead,
// sharp.cache(false), failOn 'none', no autoOrient/toColourspace each moved CPU per image by under 5% (noise).
const DECODE_OPTIONS = { autoOrient: true, failOn: 'truncated' } as const;

export async function imageDimensions(source: ImageSource): Promise<ImageInfo> {
  if (source.kind === 'pixels') return { width: source.width, height: source.height, hasAlpha: false };
  if (source.kind === 'file' && source.width !== undefined && source.height !== undefined && source.hasAlpha !== undefined) {
    return { width: source.width, height: source.height, hasAlpha: source.hasAlpha, format: source.format };
  }
  try {
    const metadata = await openSource(source).metadata();
    return { width: metadata.autoOrient.width, height: metadata.autoOrient.height, hasAlpha: metadata.hasAlpha, format: metadata.format };
  } catch (error) {
    throw new ImageDecodeError(describeSource(source), (error as Error).message);
  }
}

/**
 * Decodes `source`, applies the crops and resizes with as few sharp calls as possible (one for the
 * tutorial's pipelines) and returns 8-bit pixels in `channels` channels (sRGB or luminance).
 * `info` (from imageDimensions) saves a second header read. With `cache`, a file decoded at full size is
 * decoded once: its whole decoded image (after autoOrient, sRGB/luminance and alpha removal, i.e. what the
 * crop and resize start from) is kept while the budget lasts, and later calls resample those pixels.
 */
export async function decodeAndResample(
  source: ImageSource,
  ops: readonly GeometricOp[],
  channels: 1 | 3,
  info?: ImageInfo,
  cache?: DecodedCache,
): Promise<RawPixels> {
  if (source.kind === 'pixels' && (source.channels === channels || source.channels === 1) && ops.every((op) => op.op === 'extract')) {
    return cropPixels(source, ops as Array<Extract<GeometricOp, { op: 'extract' }>>);
  }
  try {
    const stages = planStages(ops);
    const header = stages.length > 0 ? info ?? (await imageDimensions(source)) : undefined;
    const shrunk = header && source.kind === 'file' ? jpegShrink(source.path, header, stages[0]!) : undefined;
    if (shrunk) stages[0] = shrunk.stage;
    // With no crop or resize (an enlargement is done in JS), the output is the whole decode itself, whatever the format.
    const whole = cache && !shrunk && source.kind === 'file' && (stages.length === 0 || worthCaching(header!, stages[0]!, channels))
      ? await cachedWhole(source, header, channels, cache)
      : undefined;
    if (whole && stages.length === 0) return whole;
    let input: Sharp = whole ? fromRaw(whole) : shrunk && source.kind === 'file' ? openSource({ ...source, path: shrunk.path }) : await openWhole(source);
    if (header?.hasAlpha && !whole) {
      // PIL's convert('RGB') drops alpha before any resampling; sharp would resample premultiplied colours.
      input = fromRaw(await toRaw(input, channels));
    }
    if (stages.length === 0) return await toRaw(input, channels);
    let pixels: RawPixels | undefined;
    for (const stage of stages) {
      let image = pixels ? fromRaw(pixels) : input;
      if (stage.pre) image = image.extract(stage.pre);
      if (stage.resize) image = image.resize(stage.resize.width, stage.resize.height, { ...RESIZE_OPTIONS, kernel: KERNELS[stage.resize.interpolation ?? 'bilinear'] });
      if (stage.post) image = image.extract(stage.post);
      pixels = await toRaw(image, channels);
    }
    return pixels!;
  } catch (error) {
    throw error instanceof ImageDecodeError ? error : new ImageDecodeError(describeSource(source), (error as Error).message);
  }
}

/**
 * Images whose whole decode is what this call would resample anyway, so caching it changes no output:
 * images with alpha (the path above decodes those whole to raw first, whatever the format) and JPEGs that
 * shrink-on-load can never apply to (not even for the whole image: every crop is smaller), i.e. web-size
 * photos. Phone photos are decoded at 1/2-1/8 scale for most crops, fast already, and ~36 MB each in full.
 * Other formats are left out: a 16-bit PNG resampled before the 8-bit conversion differs from one after it;
 * so is 1-channel output (test/data-decoded-cache.test.ts saw luminance-then-resize differ from sharp's order).
 * sharp converts a JPEG's colour (ICC profile, CMYK) to sRGB before resizing, so the cached sRGB pixels are
 * what its resize starts from (test/data-decoded-cache.test.ts compares CMYK, ICC-tagged and grey JPEGs too).
 */
function worthCaching(header: ImageInfo, first: Stage, channels: 1 | 3): boolean {
  if (header.hasAlpha) return true;
  // Luminance output: sharp resizes the colour image and converts after; cached luminance would round otherwise.
  if (channels !== 3) return false;
  return header.format === 'jpeg' && (!first.resize || shrinkFactor(header, { left: 0, top: 0, width: header.width, height: header.height }, first.resize) === undefined);
}

/**
 * The whole decoded image from `cache`, or decoded now and stored while the budget lasts; undefined when it
 * will not fit (the caller decodes as without a cache). Keyed by path and channels, versioned by size and
 * mtime (one stat on the libuv pool), so a file changed on disk is decoded again. Callers only read the pixels.
 */
async function cachedWhole(source: Extract<ImageSource, { kind: 'file' }>, header: ImageInfo | undefined, channels: 1 | 3, cache: DecodedCache): Promise<RawPixels | undefined> {
  const key = `${channels}:${source.path}`;
  const bytes = header ? header.width * header.height * channels : 0;
  // Once the budget is spent, an image not held costs no stat.
  if (!cache.mayHold(key, bytes)) return undefined;
  const stat = await fs.stat(source.path);
  const version = `${stat.size}:${stat.mtimeMs}`;
  const cached = cache.get(key, version);
  if (cached) return cached;
  if (!cache.fits(bytes)) return undefined;
  const pixels = await toRaw(await openWhole(source), channels);
  cache.set(key, version, pixels);
  return pixels;
}

/**
 * Crops of pixels already in memory are row copies: made here, not by a sharp call, whose fixed
 * cost (~0.4 ms) was nearly all of the demo's Fashion-MNIST augmentation (28 ms of CPU per batch of
 * 64 28x28 images, on the cores the training step runs on). The same pixels as sharp's extract.
 */
function cropPixels(source: RawPixels, crops: ReadonlyArray<Extract<GeometricOp, { op: 'extract' }>>): RawPixels {
  let left = 0;
  let top = 0;
  let width = source.width;
  let height = source.height;
  for (const crop of crops) {
    if (crop.left < 0 || crop.top < 0 || crop.left + crop.width > width || crop.top + crop.height > height) {
      throw new Error(`crop ${crop.width}x${crop.height} at [${crop.top}, ${crop.left}] does not fit the ${width}x${height} image`);
    }
    left += crop.left;
    top += crop.top;
    width = crop.width;
    height = crop.height;
  }
  if (width === source.width && height === source.height) return { data: source.data, width, height, channels: source.channels };
  const c = source.channels;
  const data = new Uint8Array(width * height * c);
  for (let y = 0; y < height; y++) {
    const from = ((top + y) * source.width + left) * c;
    data.set(source.data.subarray(from, from + width * c), y * width * c);
  }
  return { data, width, height, channels: c };
}

/**
 * A file read by Node and handed to sharp as bytes: libvips' own file loader cost 0.5 ms more per
 * 470x376 JPEG decoded to raw (2.79 vs 2.24 ms, 2026-12-01, AMD EPYC), and bench/loader.js's web
 * photos took 4.49-4.54 instead of 4.68-4.90 CPU ms per image. Shrink-on-load needs the path (its
 * load option rides on the file name), so that case keeps openSource. readFileSync saved under 1% of the
 * loader's CPU (paired epochs), not worth blocking the event loop on a slow disk.
 */
async function openWhole(source: ImageSource): Promise<Sharp> {
  if (source.kind !== 'file') return openSource(source);
  return sharp(await fs.readFile(source.path), fileDecodeOptions(source));
}

function fileDecodeOptions(source: Extract<ImageSource, { kind: 'file' }>) {
  return { ...DECODE_OPTIONS, ...(source.pixelLimit === undefined ? {} : { limitInputPixels: source.pixelLimit }) };
}

function openSource(source: ImageSource): Sharp {
  switch (source.kind) {
    case 'file': return sharp(source.path, fileDecodeOptions(source));
    case 'encoded': return sharp(source.data, DECODE_OPTIONS);
    case 'pixels': return fromRaw(source);
  }
}

function fromRaw(pixels: { data: Uint8Array; width: number; height: number; channels: number }): Sharp {
  const channels = pixels.channels as 1 | 2 | 3 | 4;
  return sharp(pixels.data, { raw: { width: pixels.width, height: pixels.height, channels } });
}

async function toRaw(image: Sharp, channels: 1 | 3): Promise<RawPixels> {
  const { data, info } = await image
    .toColourspace(channels === 3 ? 'srgb' : 'b-w')
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (data.length !== info.width * info.height * info.channels) {
    throw new Error(`decoded to ${data.length} bytes for ${info.width}x${info.height}x${info.channels}; expected 8-bit pixels`);
  }
  return { data, width: info.width, height: info.height, channels: info.channels };
}

/**
 * The first sharp call at a JPEG decode scale of 1/s (libvips' `[shrink=s]` load option), its crop mapped to
 * the decoded grid; undefined where full size is needed. Only files: sharp passes no load options for buffers.
 */
export function jpegShrink(file: string, info: ImageInfo, stage: Stage): { path: string; stage: Stage; shrink: number } | undefined {
  if (!stage.resize || file.includes('[')) return undefined;
  const box = stage.pre ?? { left: 0, top: 0, width: info.width, height: info.height };
  const shrink = shrinkFactor(info, box, stage.resize);
  if (shrink === undefined) return undefined;
  // libjpeg rounds scaled sizes up; decoded pixel j covers full-size pixels [j*s, (j+1)*s).
  const width = Math.ceil(info.width / shrink);
  const height = Math.ceil(info.height / shrink);
  const left = Math.min(Math.round(box.left / shrink), width - 1);
  const top = Math.min(Math.round(box.top / shrink), height - 1);
  const right = Math.max(left + 1, Math.min(width, Math.round((box.left + box.width) / shrink)));
  const bottom = Math.max(top + 1, Math.min(height, Math.round((box.top + box.height) / shrink)));
  return {
    path: `${file}[shrink=${shrink}]`,
    stage: { ...stage, pre: { left, top, width: right - left, height: bottom - top } },
    shrink,
  };
}

/** The largest JPEG decode scale that keeps JPEG_SHRINK_MARGIN times the output size of `box`; undefined for none. */
function shrinkFactor(info: ImageInfo, box: Box, resize: { width: number; height: number }): number | undefined {
  if (info.format !== 'jpeg') return undefined;
  return [8, 4, 2].find((s) => box.width / s >= JPEG_SHRINK_MARGIN * resize.width && box.height / s >= JPEG_SHRINK_MARGIN * resize.height);
}

/** Groups crops and resizes into sharp calls; consecutive crops merge, a second resize starts a new call. */
export function planStages(ops: readonly GeometricOp[]): Stage[] {
  const stages: Stage[] = [];
  for (const op of ops) {
    let stage = stages[stages.length - 1];
    if (op.op === 'extract') {
      const box: Box = { left: op.left, top: op.top, width: op.width, height: op.height };
      if (!stage) stages.push({ pre: box });
      else if (stage.resize) stage.post = stage.post ? within(stage.post, box) : box;
      else stage.pre = stage.pre ? within(stage.pre, box) : box;
    } else {
      if (!stage || stage.resize) {
        stage = {};
        stages.push(stage);
      }
      stage.resize = op.interpolation ? { width: op.width, height: op.height, interpolation: op.interpolation } : { width: op.width, height: op.height };
    }
  }
  return stages;
}

function within(outer: Box, inner: Box): Box {
  return { left: outer.left + inner.left, top: outer.top + inner.top, width: inner.width, height: inner.height };
}
