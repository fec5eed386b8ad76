import type { ImageSource } from '../data/dataset.js';
import { describeSource } from '../data/dataset.js';
import type { ImageBackend } from '../data/image-backend.js';
import type { GeometricOp, ImageInfo, RawPixels } from '../data/sharp-stages.js';
import { resample } from '../data/pil-resample.js';

type Drawable = ImageBitmap | HTMLCanvasElement | OffscreenCanvas | HTMLImageElement | ImageData;

/** 8-bit RGB pixels of an image, canvas or ImageData in the page, as an image source for the transforms. */
export function pixelsFromImage(image: Drawable): ImageSource & { kind: 'pixels' } {
  const rgba = image instanceof ImageData ? image : drawToImageData(image);
  return { kind: 'pixels', data: dropAlpha(rgba.data), width: rgba.width, height: rgba.height, channels: 3 };
}

function drawToImageData(image: Exclude<Drawable, ImageData>): ImageData {
  const width = 'naturalWidth' in image ? image.naturalWidth : image.width;
  const height = 'naturalHeight' in image ? image.naturalHeight : image.height;
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext('2d', { willReadFrequently: true });
  if (!context) throw new Error('no 2d canvas context');
  context.drawImage(image, 0, 0);
  return context.getImageData(0, 0, width, height);
}

/** PIL's convert('RGB') drops alpha without compositing; so does this. */
function dropAlpha(rgba: Uint8ClampedArray): Uint8Array {
  const rgb = new Uint8Array((rgba.length / 4) * 3);
  for (let i = 0, o = 0; i < rgba.length; i += 4, o += 3) {
    rgb[o] = rgba[i]!;
    rgb[o + 1] = rgba[i + 1]!;
    rgb[o + 2] = rgba[i + 2]!;
  }
  return rgb;
}

async function decode(source: ImageSource): Promise<RawPixels> {
  switch (source.kind) {
    case 'pixels':
      return { data: source.data, width: source.width, height: source.height, channels: source.channels };
    case 'encoded': {
      // The browser decodes (JPEG, PNG, WebP...) and applies EXIF orientation, as sharp's autoOrient does.
      const bitmap = await createImageBitmap(new Blob([source.data as Uint8Array<ArrayBuffer>]), { imageOrientation: 'from-image' });
      try {
        const { data, width, height } = pixelsFromImage(bitmap);
        return { data, width, height, channels: 3 };
      } finally {
        bitmap.close();
      }
    }
    case 'file':
      throw new Error(`${describeSource(source)}: a web page has no file paths; read the file's bytes (File.arrayBuffer) into an 'encoded' source`);
  }
}

/** ITU-R 601 luminance, as libvips' b-w and PIL's convert('L'). */
function toLuminance(pixels: RawPixels): RawPixels {
  if (pixels.channels === 1) return pixels;
  const plane = pixels.width * pixels.height;
  const out = new Uint8Array(plane);
  for (let p = 0; p < plane; p++) {
    const i = p * pixels.channels;
    out[p] = Math.round((pixels.data[i]! * 299 + pixels.data[i + 1]! * 587 + pixels.data[i + 2]! * 114) / 1000);
  }
  return { data: out, width: pixels.width, height: pixels.height, channels: 1 };
}

function extract(pixels: RawPixels, op: GeometricOp & { op: 'extract' }): RawPixels {
  if (op.left < 0 || op.top < 0 || op.left + op.width > pixels.width || op.top + op.height > pixels.height) {
    throw new Error(`crop ${op.width}x${op.height} at [${op.top}, ${op.left}] does not fit the ${pixels.width}x${pixels.height} image`);
  }
  const c = pixels.channels;
  const out = new Uint8Array(op.width * op.height * c);
  for (let y = 0; y < op.height; y++) {
    const from = ((op.top + y) * pixels.width + op.left) * c;
    out.set(pixels.data.subarray(from, from + op.width * c), y * op.width * c);
  }
  return { data: out, width: op.width, height: op.height, channels: c };
}

/**
 * The transforms' decode and resample step in a web page: the browser decodes, crops are copies and
 * resizes are PIL's antialiased bilinear or bicubic filter (what sharp's linear and cubic kernels compute when shrinking).
 */
export const canvasImageBackend: ImageBackend = {
  async imageDimensions(source: ImageSource): Promise<ImageInfo> {
    if (source.kind === 'pixels') return { width: source.width, height: source.height, hasAlpha: false };
    const pixels = await decode(source);
    return { width: pixels.width, height: pixels.height, hasAlpha: false };
  },

  async decodeAndResample(source: ImageSource, ops: readonly GeometricOp[], channels: 1 | 3): Promise<RawPixels> {
    let pixels = await decode(source);
    if (channels === 1) pixels = toLuminance(pixels);
    for (const op of ops) {
      pixels = op.op === 'extract' ? extract(pixels, op) : resample(pixels, op.width, op.height, op.interpolation);
    }
    return pixels;
  },
};
