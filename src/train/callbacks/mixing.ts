/**
 * mixup (Zhang et al. 2018) and cutmix (Yun et al. 2019) as a batch callback: each batch is
 * blended with a shuffled copy of itself and trained against the blended one-hot targets
 * (soft-target cross-entropy), with the blend weight drawn from Beta(alpha, alpha) per batch.
 */
import { formatShape, numel } from '../../tensor.js';
import { beta, mulberry32, permutation, type RandomSource } from '../../util/random.js';
import type { Callback, TrainBatch, TrainingRun } from './callback.js';

/** The graph input that carries the blended targets [N, classes]. */
export const SOFT_TARGETS = 'soft_targets';

export interface MixOptions {
  kind: 'mixup' | 'cutmix';
  /** Beta(alpha, alpha) draws the share of the original image; 0.2-0.4 for mixup and 1 for cutmix are the papers' values. */
  alpha: number;
  seed?: number;
}

export interface MixedBatch {
  images: Float32Array;
  targets: Float32Array;
  /** The original images' share of each blended one (cutmix: of the pixels). */
  lambda: number;
}

function blendTargets(labels: ArrayLike<number>, partner: Int32Array, classes: number, lambda: number): Float32Array {
  const targets = new Float32Array(labels.length * classes);
  for (let i = 0; i < labels.length; i++) {
    targets[i * classes + labels[i]!]! += lambda;
    targets[i * classes + labels[partner[i]!]!]! += 1 - lambda;
  }
  return targets;
}

/** mixup: x = lambda x + (1 - lambda) x[partner], targets likewise. */
export function mixupBatch(images: Float32Array, labels: ArrayLike<number>, classes: number, lambda: number, partner: Int32Array): MixedBatch {
  const per = images.length / labels.length;
  const mixed = new Float32Array(images.length);
  for (let i = 0; i < labels.length; i++) {
    for (let k = 0; k < per; k++) mixed[i * per + k] = lambda * images[i * per + k]! + (1 - lambda) * images[partner[i]! * per + k]!;
  }
  return { images: mixed, targets: blendTargets(labels, partner, classes, lambda), lambda };
}

/** The cutmix box: a (1 - lambda) share of the area at a uniform centre, clipped to the image (the paper's rand_bbox). */
export function cutmixBox(height: number, width: number, lambda: number, random: RandomSource): { top: number; left: number; bottom: number; right: number } {
  const ratio = Math.sqrt(1 - lambda);
  const [cutH, cutW] = [Math.floor(height * ratio), Math.floor(width * ratio)];
  const [cy, cx] = [Math.floor(random() * height), Math.floor(random() * width)];
  const clip = (v: number, max: number) => Math.min(max, Math.max(0, v));
  return { top: clip(cy - Math.floor(cutH / 2), height), bottom: clip(cy + Math.floor(cutH / 2), height), left: clip(cx - Math.floor(cutW / 2), width), right: clip(cx + Math.floor(cutW / 2), width) };
}

/** cutmix: a box of each image replaced by the partner's; lambda becomes the share of pixels kept. */
export function cutmixBatch(images: Float32Array, labels: ArrayLike<number>, sampleShape: readonly number[], classes: number, lambda: number, partner: Int32Array, random: RandomSource): MixedBatch {
  const [channels, height, width] = sampleShape as [number, number, number];
  const per = numel(sampleShape);
  const box = cutmixBox(height, width, lambda, random);
  const mixed = Float32Array.from(images);
  for (let i = 0; i < labels.length; i++) {
    for (let c = 0; c < channels; c++) {
      for (let y = box.top; y < box.bottom; y++) {
        const row = c * height * width + y * width;
        mixed.set(images.subarray(partner[i]! * per + row + box.left, partner[i]! * per + row + box.right), i * per + row + box.left);
      }
    }
  }
  const kept = 1 - ((box.bottom - box.top) * (box.right - box.left)) / (height * width);
  return { images: mixed, targets: blendTargets(labels, partner, classes, kept), lambda: kept };
}

export class Mixing implements Callback {
  private readonly random: RandomSource;

  constructor(private readonly options: MixOptions, private readonly classes: number, private readonly sampleShape: readonly number[]) {
    if (!(options.alpha > 0)) throw new Error(`${options.kind}: alpha must be positive, got ${options.alpha}`);
    if (options.kind === 'cutmix' && sampleShape.length !== 3) throw new Error(`cutmix cuts boxes from images [C, H, W], not samples of shape ${formatShape(sampleShape)}`);
    this.random = mulberry32(options.seed ?? 0);
  }

  onBatchBegin(_run: TrainingRun, batch: TrainBatch): void {
    if (!batch.images) throw new Error(`${this.options.kind} blends images, so the frozen prefix's outputs cannot come from the feature cache`);
    const lambda = beta(this.random, this.options.alpha, this.options.alpha);
    const partner = permutation(batch.labels.length, this.random);
    const mixed = this.options.kind === 'mixup'
      ? mixupBatch(batch.images, batch.labels, this.classes, lambda, partner)
      : cutmixBatch(batch.images, batch.labels, this.sampleShape, this.classes, lambda, partner, this.random);
    batch.images = mixed.images;
    batch.feeds[SOFT_TARGETS] = mixed.targets;
  }
}
