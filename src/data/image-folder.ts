import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { checkIndex, ImageSource, Sample, SourceDataset } from './dataset.js';
import { compose } from './transforms.js';

/** Extensions sharp's bundled libvips decodes (BMP is not among them). */
export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.jpe', '.jfif', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif'];

export interface ImageFolderWarning {
  path: string;
  message: string;
}

export interface ImageFolderOptions {
  /** Lower-case, with the dot; default IMAGE_EXTENSIONS. */
  extensions?: readonly string[];
  /** What to do with a file that has an image extension but does not decode: warn and skip (default) or fail. */
  onCorrupt?: 'skip' | 'fail';
  /** Receives each skipped file; default prints to stderr. */
  onWarning?: (warning: ImageFolderWarning) => void;
  /** 'header' (default) reads each header, 'decode' decodes every image fully, 'none' trusts the extensions. */
  verify?: 'none' | 'header' | 'decode';
}

export interface ImageFolderSample {
  path: string;
  label: number;
  /** After EXIF orientation; known when the folder was verified. */
  width?: number;
  height?: number;
  hasAlpha?: boolean;
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
  ) {}

  static async open(root: string, options: ImageFolderOptions = {}): Promise<ImageFolder> {
    const extensions = new Set((options.extensions ?? IMAGE_EXTENSIONS).map((e) => e.toLowerCase()));
    const warn = options.onWarning ?? ((w: ImageFolderWarning) => process.stderr.write(`warning: ${w.path}: ${w.message}\n`));
    const verify = options.verify ?? 'header';
    let entries;
    try {
      entries = await fs.readdir(root, { withFileTypes: true });
    } catch (error) {
      throw new Error(`cannot read image folder ${root}: ${(error as Error).message}`);
    }
    const classNames: string[] = [];
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const full = path.join(root, entry.name);
      if (entry.isDirectory() || (entry.isSymbolicLink() && (await fs.stat(full)).isDirectory())) classNames.push(entry.name);
    }
    classNames.sort(compareCodePoints);
    if (classNames.length === 0) throw new Error(`image folder ${root} has no class sub-folders`);

    const samples: ImageFolderSample[] = [];
    for (const [label, name] of classNames.entries()) {
      const files = await listFiles(path.join(root, name));
      let found = 0;
      for (const file of files) {
        if (!extensions.has(path.extname(file).toLowerCase())) {
          warn({ path: file, message: 'not an image (unknown extension), skipped' });
          continue;
        }
        const checked = verify === 'none' ? { ok: true as const } : await checkImage(file, verify);
        if (!checked.ok) {
          if (options.onCorrupt === 'fail') throw new Error(`corrupt image ${file}: ${checked.message}`);
          warn({ path: file, message: `cannot decode (${checked.message}), skipped` });
          continue;
        }
        samples.push({ path: file, label, ...('info' in checked ? checked.info : {}) });
        found++;
      }
      if (found === 0) throw new Error(`class folder ${path.join(root, name)} has no readable images`);
    }
    return new ImageFolder(root, classNames, samples);
  }

  get length(): number {
    return this.samples.length;
  }

  labelAt(index: number): number {
    return this.samples[checkIndex(index, this.length)]!.label;
  }

  sourceAt(index: number): ImageSource {
    const sample = this.samples[checkIndex(index, this.length)]!;
    return { kind: 'file', path: sample.path, width: sample.width, height: sample.height, hasAlpha: sample.hasAlpha };
  }

  /** The whole image, decoded to RGB, CHW on the 0-255 scale. */
  async get(index: number): Promise<Sample> {
    const output = await WHOLE_IMAGE.apply(this.sourceAt(index));
    return { image: output.data, shape: output.shape, label: this.labelAt(index) };
  }
}

const WHOLE_IMAGE = compose([{ kind: 'decode' }, { kind: 'hwc2chw' }]);

/** Byte order, like Python's sorted(), so labels match torchvision's whatever the locale. */
function compareCodePoints(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

async function listFiles(directory: string): Promise<string[]> {
  const out: string[] = [];
  const entries = (await fs.readdir(directory, { withFileTypes: true })).sort((a, b) => compareCodePoints(a.name, b.name));
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const full = path.join(directory, entry.name);
    const stat = entry.isSymbolicLink() ? await fs.stat(full) : entry;
    if (stat.isDirectory()) out.push(...(await listFiles(full)));
    else if (stat.isFile()) out.push(full);
  }
  return out;
}

type CheckResult =
  | { ok: true; info: { width: number; height: number; hasAlpha: boolean } }
  | { ok: false; message: string };

async function checkImage(file: string, verify: 'header' | 'decode'): Promise<CheckResult> {
  try {
    const image = sharp(file, { autoOrient: true, failOn: 'truncated' });
    const metadata = await image.metadata();
    if (verify === 'decode') await image.raw().toBuffer();
    return { ok: true, info: { width: metadata.autoOrient.width, height: metadata.autoOrient.height, hasAlpha: metadata.hasAlpha } };
  } catch (error) {
    return { ok: false, message: (error as Error).message.split('\n')[0]! };
  }
}
