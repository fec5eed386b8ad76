import { freemem } from 'node:os';
import type { ImageBackend } from './image-backend.js';
import { explainDecodeFailure } from './image-check.js';
import { decodeAndResample, imageDimensions } from './sharp-stages.js';

/** A quarter of the free memory, at most 1 GiB: ~2000 web photos (~0.5 MB each decoded), the tutorial's data many times over. */
function defaultDecodedCacheBytes(): number {
  return Math.min(2 ** 30, Math.floor(freemem() / 4));
}

/** Node decodes and resamples with sharp (libvips). */
export const nodeImageBackend: ImageBackend | undefined = { imageDimensions, decodeAndResample, explainDecodeFailure, defaultDecodedCacheBytes };
