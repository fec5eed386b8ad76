import sharp from 'sharp';

type Sharp = ReturnType<typeof sharp>;
import { ImageDecodeError } from './bad-images.js';
import { describeSource, ImageSource } from './dataset.js';

/** A crop or a resize in the coordinates of the image at that point of the pipeline. */
export type GeometricOp =
  | { op: 'extract'; left: number; top: number; width: number; height: number }
  | { op: 'resize'; width: number; height: number };

export interface ImageInfo {
  /** After EXIF orientation. */
  width: number;
  height: number;
  hasAlpha: boolean;
}

export interface RawPixels {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

type Box = { left: number; top: number; width: number; height: number };

/** What one sharp call can do: crop, resize, crop (sharp's pre- and post-resize extraction). */
interface Stage {
  pre?: Box;
  resize?: { width: number; height: number };
  post?: Box;
}

// PIL's bilinear resize is a triangle filter widened by the reduction factor; libvips' linear kernel is the
// same filter. Shrink-on-load would decode JPEGs at 1/2, 1/4.. scale first and change the numbers.
const RESIZE_OPTIONS = { fit: 'fill', kernel: 'linear', fastShrinkOnLoad: false } as const;
// PIL refuses truncated images by default; sharp's stricter default 'warning' also rejects harmless warnings.
const DECODE_OPTIONS = { autoOrient: true, failOn: 'truncated' } as const;

export async function imageDimensions(source: ImageSource): Promise<ImageInfo> {
  if (source.kind === 'pixels') return { width: source.width, height: source.height, hasAlpha: false };
  if (source.kind === 'file' && source.width !== undefined && source.height !== undefined && source.hasAlpha !== undefined) {
    return { width: source.width, height: source.height, hasAlpha: source.hasAlpha };
  }
  try {
    const metadata = await openSource(source).metadata();
    return { width: metadata.autoOrient.width, height: metadata.autoOrient.height, hasAlpha: metadata.hasAlpha };
  } catch (error) {
    throw new ImageDecodeError(describeSource(source), (error as Error).message);
  }
}

/**
 * Decodes `source`, applies the crops and resizes with as few sharp calls as possible (one for the
 * tutorial's pipelines) and returns 8-bit pixels in `channels` channels (sRGB or luminance).
 * `info` (from imageDimensions) saves a second header read.
 */
export async function decodeAndResample(
  source: ImageSource,
  ops: readonly GeometricOp[],
  channels: 1 | 3,
  info?: ImageInfo,
): Promise<RawPixels> {
  if (ops.length === 0 && source.kind === 'pixels' && (source.channels === channels || source.channels === 1)) {
    return { data: source.data, width: source.width, height: source.height, channels: source.channels };
  }
  try {
    let input: Sharp = openSource(source);
    const stages = planStages(ops);
    if (stages.length > 0 && (info ?? (await imageDimensions(source))).hasAlpha) {
      // PIL's convert('RGB') drops alpha before any resampling; sharp would resample premultiplied colours.
      input = fromRaw(await toRaw(input, channels));
    }
    if (stages.length === 0) return await toRaw(input, channels);
    let pixels: RawPixels | undefined;
    for (const stage of stages) {
      let image = pixels ? fromRaw(pixels) : input;
      if (stage.pre) image = image.extract(stage.pre);
      if (stage.resize) image = image.resize(stage.resize.width, stage.resize.height, RESIZE_OPTIONS);
      if (stage.post) image = image.extract(stage.post);
      pixels = await toRaw(image, channels);
    }
    return pixels!;
  } catch (error) {
    throw error instanceof ImageDecodeError ? error : new ImageDecodeError(describeSource(source), (error as Error).message);
  }
}

function openSource(source: ImageSource): Sharp {
  switch (source.kind) {
    case 'file': return sharp(source.path, { ...DECODE_OPTIONS, ...(source.pixelLimit === undefined ? {} : { limitInputPixels: source.pixelLimit }) });
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
      stage.resize = { width: op.width, height: op.height };
    }
  }
  return stages;
}

function within(outer: Box, inner: Box): Box {
  return { left: outer.left + inner.left, top: outer.top + inner.top, width: inner.width, height: inner.height };
}
