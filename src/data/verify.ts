import * as path from 'node:path';
import type { SkippedFile } from './bad-images.js';
import { FolderWalker } from './folder-walk.js';
import { IMAGE_EXTENSIONS } from './image-folder.js';
import { checkImageFiles } from './image-check.js';
import { defaultConcurrency } from './loader.js';

export interface VerifyOptions {
  /** Lower-case, with the dot; default IMAGE_EXTENSIONS. */
  extensions?: readonly string[];
  /** Width x height above which an image counts as bad; 0 = no limit. Default: sharp's. */
  pixelLimit?: number;
  /** Images decoded at once (default: the loader's). */
  concurrency?: number;
  /** After each image: how many are done, of how many. */
  onProgress?: (done: number, total: number) => void;
}

export interface VerifyResult {
  /** Files with an image extension, each decoded in full. */
  checked: number;
  /** The ones that decode, in folder order. */
  good: string[];
  /** The ones that did not decode or are above the pixel limit, in folder order. */
  bad: SkippedFile[];
  /** Links not followed (loops, leaving the folder, broken). */
  links: SkippedFile[];
  /** Files without an image extension, not checked. */
  others: number;
}

/**
 * fastai's verify_images for a folder tree: every file with an image extension, at any depth, decoded in
 * full as training would (so truncated files are found, not only unreadable headers), several at once.
 */
export async function verifyImages(root: string, options: VerifyOptions = {}): Promise<VerifyResult> {
  const extensions = new Set((options.extensions ?? IMAGE_EXTENSIONS).map((e) => e.toLowerCase()));
  let walker: FolderWalker;
  try {
    walker = await FolderWalker.create(root);
  } catch (error) {
    throw new Error(`cannot read folder ${root}: ${(error as Error).message}`);
  }
  const links: SkippedFile[] = [];
  const files = await walker.allFiles((file) => links.push(file));
  const images = files.filter((file) => extensions.has(path.extname(file).toLowerCase()));
  const checks = await checkImageFiles(images, {
    decode: true, pixelLimit: options.pixelLimit, concurrency: options.concurrency ?? defaultConcurrency(), onProgress: options.onProgress,
  });
  const bad = checks.flatMap((check, k) => (check.ok ? [] : [{ path: images[k]!, ...check.problem }]));
  const good = images.filter((_, k) => checks[k]!.ok);
  return { checked: images.length, good, bad, links, others: files.length - images.length };
}
