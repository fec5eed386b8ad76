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

    const perClass = await Promise.all(classNames.map((name) => listFiles(path.join(root, name))));
    const candidates = perClass.flatMap((files, label) =>
      files.filter((file) => {
        if (extensions.has(path.extname(file).toLowerCase())) return true;
        warn({ path: file, message: 'not an image (unknown extension), skipped' });
        return false;
      }).map((file) => ({ file, label })),
    );
    // Header reads run on the libuv threadpool; a few at a time keeps every thread busy.
    const checks = await mapLimited(candidates, 8, ({ file }) =>
      verify === 'none' ? Promise.resolve<CheckResult>({ ok: true }) : checkImage(file, verify),
    );
    const samples: ImageFolderSample[] = [];
    const found = new Array<number>(classNames.length).fill(0);
    candidates.forEach(({ file, label }, k) => {
      const checked = checks[k]!;
      if (!checked.ok) {
        if (options.onCorrupt === 'fail') throw new Error(`corrupt image ${file}: ${checked.message}`);
        warn({ path: file, message: `cannot decode (${checked.message}), skipped` });
        return;
      }
      samples.push({ path: file, label, ...checked.info });
      found[label]!++;
    });
    const empty = found.findIndex((n) => n === 0);
    if (empty >= 0) throw new Error(`class folder ${path.join(root, classNames[empty]!)} has no readable images`);
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
    return { kind: 'file', path: sample.path, width: sample.width, height: sample.height, hasAlpha: sample.hasAlpha, format: sample.format };
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
  | { ok: true; info?: { width: number; height: number; hasAlpha: boolean; format: string } }
  | { ok: false; message: string };

async function mapLimited<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const k = next++;
      results[k] = await task(items[k]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

async function checkImage(file: string, verify: 'header' | 'decode'): Promise<CheckResult> {
  try {
    const image = sharp(file, { autoOrient: true, failOn: 'truncated' });
    const metadata = await image.metadata();
    if (verify === 'decode') await image.raw().toBuffer();
    return { ok: true, info: { width: metadata.autoOrient.width, height: metadata.autoOrient.height, hasAlpha: metadata.hasAlpha, format: metadata.format } };
  } catch (error) {
    return { ok: false, message: (error as Error).message.split('\n')[0]! };
  }
}
