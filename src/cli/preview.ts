import { existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { intOption, seedOption } from './shared-options.js';
import { renderImageGrid } from '../report/grid.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { Dataset } from '../data/dataset.js';
import { loadFashionMnist } from '../data/fashion-mnist.js';
import { ImageFolder } from '../data/image-folder.js';
import { DataLoader } from '../data/loader.js';
import { IMAGENET_MEAN_255, IMAGENET_STD_255, trainTransforms } from '../data/transforms.js';

export interface PreviewOptions {
  out: string;
  split?: string;
  count?: number;
  seed?: number;
  size?: number;
}

/** `fashion-mnist` names the bundled dataset; anything else is an image folder, or one with a <split>/ sub-folder. */
async function openDataset(dataDir: string, split: string): Promise<Dataset> {
  if (dataDir === 'fashion-mnist') {
    if (split !== 'train' && split !== 'test') throw new Error(`fashion-mnist has splits train and test, not ${split}`);
    return loadFashionMnist({ split });
  }
  if (!existsSync(dataDir) || !statSync(dataDir).isDirectory()) throw new Error(`data directory ${dataDir} does not exist`);
  const splitDir = path.join(dataDir, split);
  const root = existsSync(splitDir) && statSync(splitDir).isDirectory() ? splitDir : dataDir;
  return ImageFolder.open(root);
}

/**
 * The tutorial's preview: a few shuffled training images after the training transforms, de-normalized,
 * titled with their class names. Returns the PNG path.
 */
export async function writePreview(dataDir: string, options: PreviewOptions): Promise<string> {
  const count = options.count ?? 4;
  if (!Number.isInteger(count) || count <= 0) throw new Error(`--count must be a positive integer, got ${options.count}`);
  const dataset = await openDataset(dataDir, options.split ?? 'train');
  const loader = new DataLoader(dataset, {
    batchSize: Math.min(count, dataset.length),
    shuffle: true,
    seed: options.seed ?? 0,
    transforms: trainTransforms(options.size ?? 224),
    decodedCache: 0, // one batch
  });
  const iterator = loader.epoch(0)[Symbol.asyncIterator]();
  const first = await iterator.next();
  await iterator.return?.(undefined);
  if (first.done) throw new Error(`${dataDir} has no images`);
  const batch = first.value;
  const [n, c, h, w] = batch.shape;
  const size = c * h * w;
  const images = Array.from({ length: n }, (_, k) => batch.images.subarray(k * size, (k + 1) * size));
  const cols = Math.ceil(Math.sqrt(n));
  const png = await renderImageGrid({
    images,
    shape: [c, h, w],
    mean: IMAGENET_MEAN_255,
    std: IMAGENET_STD_255,
    titles: Array.from(batch.labels, (label) => dataset.classNames[label]!),
    rows: Math.ceil(n / cols),
    cols,
  });
  await writeFileAtomic(options.out, png);
  return options.out;
}

export function register(program: Command): void {
  program
    .command('preview')
    .description('write a grid of training images after the training transforms (random resized crop, flip), titled with class names')
    .argument('<data-dir>', 'image folder (class sub-folders), a folder with a <split>/ sub-folder, or "fashion-mnist"')
    .requiredOption('--out <file>', 'PNG to write')
    .option('--split <name>', 'sub-folder to read when present', 'train')
    .addOption(intOption('--count <n>', 'number of images', 4))
    .addOption(seedOption('shuffle and augmentation seed'))
    .action(async (dataDir: string, options: { out: string; split: string; count: number; seed: number }) => {
      process.stdout.write(`${await writePreview(dataDir, options)}\n`);
    });
}
