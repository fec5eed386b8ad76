import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InMemoryDataset } from './dataset.js';
import { readIdx } from './idx.js';

export const FASHION_MNIST_CLASSES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
] as const;

/** Debian's dataset-fashion-mnist package installs all four files here. */
export const SYSTEM_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

export type FashionMnistSplit = 'train' | 'test';

export interface FashionMnistOptions {
  split: FashionMnistSplit;
  /** Looked in first; then the test split shipped in the package, then SYSTEM_FASHION_MNIST_DIR. */
  directory?: string;
}

const FILE_PREFIX: Record<FashionMnistSplit, string> = { train: 'train', test: 't10k' };

/** The shipped data lives at <package root>/data/fashion-mnist, whether running from src or dist. */
export function shippedFashionMnistDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'tlkit') {
      return path.join(dir, 'data', 'fashion-mnist');
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the tlkit package root above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

export function findFashionMnistFiles(options: FashionMnistOptions): { images: string; labels: string } {
  const prefix = FILE_PREFIX[options.split];
  const candidates = [options.directory, shippedFashionMnistDir(), SYSTEM_FASHION_MNIST_DIR].filter(
    (d): d is string => d !== undefined,
  );
  for (const dir of candidates) {
    for (const suffix of ['.gz', '']) {
      const images = path.join(dir, `${prefix}-images-idx3-ubyte${suffix}`);
      const labels = path.join(dir, `${prefix}-labels-idx1-ubyte${suffix}`);
      if (existsSync(images) && existsSync(labels)) return { images, labels };
    }
  }
  const hint = options.split === 'train' ? ' (install Debian\'s dataset-fashion-mnist or pass a directory)' : '';
  throw new Error(`Fashion-MNIST ${options.split} split not found in ${candidates.join(', ')}${hint}`);
}

/** Fashion-MNIST as an in-memory dataset of 1 x 28 x 28 uint8 images. */
export async function loadFashionMnist(options: FashionMnistOptions): Promise<InMemoryDataset> {
  const files = findFashionMnistFiles(options);
  const [images, labels] = await Promise.all([readIdx(files.images), readIdx(files.labels)]);
  if (images.dtype !== 'uint8' || images.shape.length !== 3) {
    throw new Error(`${files.images}: expected uint8 images of shape [N, H, W], got ${images.dtype} [${images.shape.join(', ')}]`);
  }
  if (labels.dtype !== 'uint8' || labels.shape.length !== 1) {
    throw new Error(`${files.labels}: expected uint8 labels of shape [N], got ${labels.dtype} [${labels.shape.join(', ')}]`);
  }
  const [count, height, width] = images.shape as [number, number, number];
  if (labels.shape[0] !== count) {
    throw new Error(`Fashion-MNIST ${options.split}: ${files.images} has ${count} images but ${files.labels} has ${labels.shape[0]} labels`);
  }
  return new InMemoryDataset({
    images: images.data as Uint8Array,
    shape: [count, 1, height, width],
    labels: Int32Array.from(labels.data),
    classNames: FASHION_MNIST_CLASSES,
  });
}
