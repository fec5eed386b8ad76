import type { ImageSource } from './dataset.js';
import type { DecodedCache } from './decoded-cache.js';
import { nodeImageBackend } from './image-backend-node.js';
import type { GeometricOp, ImageInfo, RawPixels } from './sharp-stages.js';

/**
 * Decoding and resampling, the only platform-specific part of the transforms: sharp in Node
 * (data/sharp-stages.ts), canvas + PIL-style resampling in the browser (browser/canvas-images.ts).
 * Crop geometry, random draws, flips and normalization are shared (data/transforms.ts).
 */
export interface ImageBackend {
  imageDimensions(source: ImageSource): Promise<ImageInfo>;
  /** `cache` (optional; a backend may ignore it) keeps decoded images for later calls on the same source. */
  decodeAndResample(source: ImageSource, ops: readonly GeometricOp[], channels: 1 | 3, info?: ImageInfo, cache?: DecodedCache): Promise<RawPixels>;
  /** Bytes a loader's decoded-image cache may hold unless told otherwise; absent or 0: no cache (the browser). */
  defaultDecodedCacheBytes?(): number;
  /** Why a file failed to decode, from a decode of it alone (libvips may report another file's error). */
  explainDecodeFailure?(file: string, pixelLimit: number | undefined, fallback: string): Promise<string>;
}

let backend: ImageBackend | undefined = nodeImageBackend;

export function useImageBackend(next: ImageBackend): void {
  backend = next;
}

export function imageBackend(): ImageBackend {
  if (!backend) throw new Error('no image backend: call useImageBackend first (the browser entry does)');
  return backend;
}
