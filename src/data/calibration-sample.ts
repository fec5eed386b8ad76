import { createHash } from 'node:crypto';
import { DatasetView, describeSource, type SourceDataset } from './dataset.js';
import { DataLoader } from './loader.js';
import { mulberry32, shuffleInPlace } from './random.js';
import type { Pipeline } from './transforms.js';
import type { ImageSample } from '../runtime/int8.js';

export interface CalibrationSampleOptions {
  /** Images to calibrate on (fewer when the dataset is smaller). */
  calibration: number;
  /** Further images, disjoint from the calibration ones, for the int8 vs float32 agreement. */
  heldOut: number;
  seed: number;
  /** Where the images come from, for the run record (e.g. the folder). */
  name: string;
  /** Transforms without random steps (the evaluation ones), so calibration sees what inference sees. */
  transforms: Pipeline;
  batchSize?: number;
}

/**
 * A seeded random sample of `dataset` for int8 calibration, and a disjoint held-out sample (from the same
 * dataset, or from `heldOutFrom` when given, e.g. the validation split).
 */
export function calibrationSamples(
  dataset: SourceDataset,
  options: CalibrationSampleOptions,
  heldOutFrom?: { dataset: SourceDataset; name: string },
): { calibration: ImageSample; heldOut?: ImageSample } {
  if (options.transforms.isRandom) throw new Error('int8 calibration needs transforms without random steps (the evaluation transforms)');
  const order = Int32Array.from({ length: dataset.length }, (_, i) => i);
  shuffleInPlace(order, mulberry32(options.seed));
  const calibrationCount = Math.min(options.calibration, dataset.length);
  const calibration = sample(dataset, order.slice(0, calibrationCount), options, options.name, dataset.length);
  let heldOut: ImageSample | undefined;
  if (heldOutFrom) {
    const other = Int32Array.from({ length: heldOutFrom.dataset.length }, (_, i) => i);
    shuffleInPlace(other, mulberry32(options.seed + 1));
    const count = Math.min(options.heldOut, other.length);
    if (count > 0) heldOut = sample(heldOutFrom.dataset, other.slice(0, count), options, heldOutFrom.name, heldOutFrom.dataset.length);
  } else {
    const count = Math.min(options.heldOut, dataset.length - calibrationCount);
    if (count > 0) heldOut = sample(dataset, order.slice(calibrationCount, calibrationCount + count), options, `${options.name} (not among the calibration images)`, dataset.length);
  }
  return { calibration, heldOut };
}

function sample(dataset: SourceDataset, indices: Int32Array, options: CalibrationSampleOptions, name: string, of: number): ImageSample {
  const view = new DatasetView(dataset, indices);
  const hash = createHash('sha256').update(JSON.stringify(options.transforms.steps));
  for (let i = 0; i < view.length; i++) {
    const source = view.sourceAt(i);
    hash.update(source.kind === 'file' ? source.path : source.data).update(`|${describeSource(source)}|`);
  }
  return {
    count: view.length,
    description: `${view.length} of ${of} images of ${name} (seeded random sample, seed ${options.seed}, evaluation transforms)`,
    key: hash.digest('hex'),
    async *batches() {
      const loader = new DataLoader(view, { batchSize: options.batchSize ?? 16, transforms: options.transforms, decodedCache: 0 });
      for await (const batch of loader.epoch(0)) yield { images: batch.images, count: batch.labels.length };
    },
  };
}
