import type { ImageBackend } from './image-backend.js';
import { explainDecodeFailure } from './image-check.js';
import { decodeAndResample, imageDimensions } from './sharp-stages.js';

/** Node decodes and resamples with sharp (libvips). */
export const nodeImageBackend: ImageBackend | undefined = { imageDimensions, decodeAndResample, explainDecodeFailure };
