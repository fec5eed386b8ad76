import sharp from 'sharp';
import { DEFAULT_PIXEL_LIMIT, type SkippedFile } from './bad-images.js';
import { mapLimited } from '../util/concurrency.js';

export interface ImageCheckOptions {
  /** Decode every pixel (finds truncated files, slow) instead of reading the header only. */
  decode?: boolean;
  /** Width x height above which an image is refused; 0 = no limit. Default: sharp's. */
  pixelLimit?: number;
}

export type ImageCheck =
  | { ok: true; info: { width: number; height: number; hasAlpha: boolean; format: string } }
  | { ok: false; problem: Omit<SkippedFile, 'path'> };

// The same strictness as the decode path (sharp-stages.ts), so a file that passes here decodes there.
const OPEN_OPTIONS = { autoOrient: true, failOn: 'truncated' } as const;

/** Whether sharp can read `file`: its header, or (`decode`) all of it; never allocates a bomb's pixels. */
export async function checkImageFile(file: string, options: ImageCheckOptions = {}): Promise<ImageCheck> {
  const limit = options.pixelLimit ?? DEFAULT_PIXEL_LIMIT;
  let info: { width: number; height: number; hasAlpha: boolean; format: string };
  try {
    // Without sharp's limit here, so the message can give the size; the header alone costs no memory.
    const metadata = await sharp(file, { ...OPEN_OPTIONS, limitInputPixels: 0 }).metadata();
    info = { width: metadata.autoOrient.width, height: metadata.autoOrient.height, hasAlpha: metadata.hasAlpha, format: metadata.format };
  } catch (error) {
    return { ok: false, problem: { kind: 'bad-image', reason: `cannot decode: ${firstLine(error)}` } };
  }
  const pixels = info.width * info.height;
  if (limit > 0 && pixels > limit) {
    return { ok: false, problem: { kind: 'too-many-pixels', reason: `${info.width}x${info.height} is ${pixels} pixels, above the pixel limit of ${limit}` } };
  }
  if (options.decode) {
    try {
      await sharp(file, { ...OPEN_OPTIONS, limitInputPixels: limit }).raw().toBuffer();
    } catch (error) {
      return { ok: false, problem: { kind: 'bad-image', reason: `cannot decode: ${firstLine(error)}` } };
    }
  }
  return { ok: true, info };
}

/**
 * checkImageFile over many files, `concurrency` at once, results in input order. libvips keeps one error
 * buffer for all threads, so failures that overlap swap their messages ("Unknown error" for a truncated
 * JPEG, the PNG's message for it); each failure is checked again alone for its own reason.
 */
export async function checkImageFiles(
  files: readonly string[], options: ImageCheckOptions & { concurrency: number; onProgress?: (done: number, total: number) => void },
): Promise<ImageCheck[]> {
  let done = 0;
  const checks = await mapLimited(files, options.concurrency, async (file) => {
    const check = await checkImageFile(file, options);
    options.onProgress?.(++done, files.length);
    return check;
  });
  for (const [k, check] of checks.entries()) {
    if (!check.ok && check.problem.kind === 'bad-image') checks[k] = await checkImageFile(files[k]!, options);
  }
  return checks;
}

let alone: Promise<unknown> = Promise.resolve();

/**
 * Why `file` fails to decode, found by decoding it again, one explanation at a time: the message a failure
 * got while other images were decoding may be another file's, or none ("Unknown error": a concurrent
 * operation cleared the buffer first), so that is tried again a few times before it is believed.
 */
export function explainDecodeFailure(file: string, pixelLimit: number | undefined, fallback: string): Promise<string> {
  const run = alone.then(async () => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const check = await checkImageFile(file, { decode: true, pixelLimit });
      if (check.ok) return fallback;
      if (!/unknown error/i.test(check.problem.reason)) return check.problem.reason;
    }
    return fallback;
  });
  alone = run.catch(() => undefined);
  return run;
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}

