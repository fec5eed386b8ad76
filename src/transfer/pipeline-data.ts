import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { compose, RandomCropDecodeResize, RandomHorizontalFlip, CenterCrop, HWC2CHW, Normalize, Resize, Decode, IMAGENET_MEAN_255, IMAGENET_STD_255, type Pipeline } from '../data/transforms.js';
import { ImageFolder } from '../data/image-folder.js';
import { InMemoryDataset, type SourceDataset } from '../data/dataset.js';
import { loadFashionMnist, FASHION_MNIST_CLASSES } from '../data/fashion-mnist.js';
import { readIdx } from '../data/idx.js';
import { formatShape } from '../tensor.js';

/** Fashion-MNIST's mean and standard deviation over all pixels, on the 0-255 scale. */
export const FASHION_MNIST_MEAN = [72.94];
export const FASHION_MNIST_STD = [90.02];

export interface PipelineData {
  dataset: SourceDataset;
  transforms: Pipeline;
  /** Random crops and flips for training the source model. */
  augmentation: Pipeline;
  inputShape: [number, number, number];
  normalization: { mean: number[]; std: number[] };
  description: string;
}

/** Mild crops (80-100% of the area) and flips: small images lose too much to the tutorial's 8%. */
function grayscaleAugmentation(size: number): Pipeline {
  return compose([RandomCropDecodeResize(size, { scale: [0.8, 1], ratio: [0.9, 1.1] }), RandomHorizontalFlip(0.5), Normalize(FASHION_MNIST_MEAN, FASHION_MNIST_STD), HWC2CHW()], { channels: 1 });
}

async function idxPair(images: string, labels: string): Promise<InMemoryDataset> {
  const x = await readIdx(images);
  const y = await readIdx(labels);
  if (x.shape.length !== 3) throw new Error(`${images}: expected N x H x W images, got dims ${formatShape(x.shape)}`);
  const [n, h, w] = x.shape as [number, number, number];
  const classes = Math.max(...Array.from(y.data as ArrayLike<number>)) + 1;
  return new InMemoryDataset({
    images: x.data as Uint8Array, shape: [n, 1, h, w], labels: Int32Array.from(y.data as ArrayLike<number>),
    classNames: classes === 10 && h === 28 ? FASHION_MNIST_CLASSES : Array.from({ length: classes }, (_, k) => String(k)),
  });
}

/**
 * The pipeline's data: the shipped Fashion-MNIST test split by default; `images.gz,labels.gz`
 * for another IDX pair; or an ImageFolder (resized and centre-cropped to `imageSize`).
 */
export async function loadPipelineData(data: string | undefined, imageSize = 64): Promise<PipelineData> {
  if (!data || data === 'fashion-mnist') {
    const dataset = await loadFashionMnist({ split: 'test' });
    return {
      dataset, inputShape: [1, 28, 28], normalization: { mean: FASHION_MNIST_MEAN, std: FASHION_MNIST_STD },
      transforms: compose([Normalize(FASHION_MNIST_MEAN, FASHION_MNIST_STD), HWC2CHW()], { channels: 1 }),
      augmentation: grayscaleAugmentation(28),
      description: 'Fashion-MNIST test split (10,000 images, Zalando Research, MIT licence)',
    };
  }
  if (data.includes(',')) {
    const [images, labels] = data.split(',') as [string, string];
    const dataset = await idxPair(images, labels);
    const [, , h, w] = dataset.shape;
    return {
      dataset, inputShape: [1, h, w], normalization: { mean: FASHION_MNIST_MEAN, std: FASHION_MNIST_STD },
      transforms: compose([Normalize(FASHION_MNIST_MEAN, FASHION_MNIST_STD), HWC2CHW()], { channels: 1 }),
      augmentation: grayscaleAugmentation(h),
      description: `IDX images ${images} with labels ${labels}`,
    };
  }
  const stat = await fs.stat(data).catch(() => null);
  if (!stat?.isDirectory()) throw new Error(`${data}: not a folder of class folders, nor an IDX pair "images.gz,labels.gz"`);
  const dataset = await ImageFolder.open(path.resolve(data));
  return {
    dataset, inputShape: [3, imageSize, imageSize], normalization: { mean: IMAGENET_MEAN_255, std: IMAGENET_STD_255 },
    transforms: compose([Decode(), Resize(Math.round(imageSize * 8 / 7)), CenterCrop(imageSize), Normalize(IMAGENET_MEAN_255, IMAGENET_STD_255), HWC2CHW()]),
    augmentation: compose([RandomCropDecodeResize(imageSize), RandomHorizontalFlip(0.5), Normalize(IMAGENET_MEAN_255, IMAGENET_STD_255), HWC2CHW()]),
    description: `image folder ${data}`,
  };
}
