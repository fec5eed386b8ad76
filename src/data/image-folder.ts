import * as path from 'node:path';
import { BadDataError, DEFAULT_PIXEL_LIMIT, printSkipWarning, type SkippedFile } from './bad-images.js';
import { checkIndex, ImageSource, Sample, SourceDataset } from './dataset.js';
import { FolderWalker } from './folder-walk.js';
import { checkImageFiles } from './image-check.js';
import { compose } from './transforms.js';

/** Extensions sharp's bundled libvips decodes (BMP is not among them). */
export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.jpe', '.jfif', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif'];

/** A file of the folder that is not among the examples, and why. */
export type ImageFolderWarning = SkippedFile;

export interface ImageFolderOptions {
  /** Lower-case, with the dot; default IMAGE_EXTENSIONS. */
  extensions?: readonly string[];
  /** What to do with a file that has an image extension but does not decode: warn and skip (default) or fail. */
  onCorrupt?: 'skip' | 'fail';
  /** Receives each skipped file; default prints to stderr. */
  onWarning?: (warning: ImageFolderWarning) => void;
  /** 'header' (default) reads each header, 'decode' decodes every image fully, 'none' trusts the extensions. */
  verify?: 'none' | 'header' | 'decode';
  /** Images with more pixels (width x height) are skipped, here and when decoded; 0 = no limit. Default: sharp's. */
  pixelLimit?: number;
}

export interface ImageFolderSample {
  path: string;
  label: number;
  /** After EXIF orientation; known when the folder was verified. */
  width?: number;
  height?: number;
  hasAlpha?: boolean;
  /** sharp's format name ('jpeg'...): JPEGs may be decoded at reduced scale. */
  format?: string;
}

/**
 * torchvision's / MindSpore's ImageFolder: each sub-folder of `root` is a class, labelled 0..n-1 in
 * sorted name order; images are found recursively inside it. Hidden files and folders are ignored.
 */
export class ImageFolder implements SourceDataset {
  private constructor(
    readonly root: string,
    readonly classNames: readonly string[],
    readonly samples: readonly ImageFolderSample[],
    /** What the scan left out (unknown extensions, unreadable images, links not followed), in scan order. */
    readonly skipped: readonly SkippedFile[],
    readonly pixelLimit: number,
  ) {}

  static async open(root: string, options: ImageFolderOptions = {}): Promise<ImageFolder> {
    const extensions = new Set((options.extensions ?? IMAGE_EXTENSIONS).map((e) => e.toLowerCase()));
    const warn = options.onWarning ?? printSkipWarning;
    const verify = options.verify ?? 'header';
    const pixelLimit = options.pixelLimit ?? DEFAULT_PIXEL_LIMIT;
    if (!Number.isInteger(pixelLimit) || pixelLimit < 0) throw new Error(`image folder: the pixel limit must be an integer >= 0, got ${pixelLimit}`);
    const skipped: SkippedFile[] = [];
    const skip = (file: SkippedFile) => {
      skipped.push(file);
      warn(file);
    };
    let walker: FolderWalker;
    try {
      walker = await FolderWalker.create(root);
    } catch (error) {
      throw new Error(`cannot read image folder ${root}: ${(error as Error).message}`);
    }
    const classes = await walker.classFolders(skip);
    const classNames = classes.map((c) => c.name);
    if (classNames.length === 0) throw new Error(`image folder ${root} has no class sub-folders`);

    const candidates: Array<{ file: string; label: number }> = [];
    for (const [label, folder] of classes.entries()) {
      for (const file of await walker.files(folder, skip)) {
        if (extensions.has(path.extname(file).toLowerCase())) candidates.push({ file, label });
        else skip({ path: file, kind: 'not-an-image', reason: 'not an image (unknown extension)' });
      }
    }
    // Header reads run on the libuv threadpool; a few at a time keeps every thread busy.
    const checks = verify === 'none' ? [] : await checkImageFiles(candidates.map((c) => c.file), { decode: verify === 'decode', pixelLimit, concurrency: 8 });
    const samples: ImageFolderSample[] = [];
    const bad: SkippedFile[] = [];
    const found = new Array<number>(classNames.length).fill(0);
    candidates.forEach(({ file, label }, k) => {
      const checked = checks[k];
      if (checked && !checked.ok) {
        const problem = { path: file, ...checked.problem };
        if (options.onCorrupt === 'fail') bad.push(problem);
        else skip(problem);
        return;
      }
      samples.push({ path: file, label, ...checked?.info });
      found[label]!++;
    });
    if (bad.length > 0) throw new BadDataError(bad);
    const empty = found.findIndex((n) => n === 0);
    if (empty >= 0) throw new Error(`class folder ${path.join(root, classNames[empty]!)} has no readable images`);
    return new ImageFolder(root, classNames, samples, skipped, pixelLimit);
  }

  get length(): number {
    return this.samples.length;
  }

  labelAt(index: number): number {
    return this.samples[checkIndex(index, this.length)]!.label;
  }

  sourceAt(index: number): ImageSource {
    const sample = this.samples[checkIndex(index, this.length)]!;
    return { kind: 'file', path: sample.path, width: sample.width, height: sample.height, hasAlpha: sample.hasAlpha, pixelLimit: this.pixelLimit, format: sample.format };
  }

  /** The whole image, decoded to RGB, CHW on the 0-255 scale. */
  async get(index: number): Promise<Sample> {
    const output = await WHOLE_IMAGE.apply(this.sourceAt(index));
    return { image: output.data, shape: output.shape, label: this.labelAt(index) };
  }
}

const WHOLE_IMAGE = compose([{ kind: 'decode' }, { kind: 'hwc2chw' }]);

