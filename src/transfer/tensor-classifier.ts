/**
 * Training a small model (a linear head) on feature vectors held in memory, with the same
 * compiled training step as the networks. Used for feature-based transfer and the pixel baseline.
 */
import { Dense } from '../nn/layers/dense.js';
import { Sequential } from '../nn/layers/sequential.js';
import type { OptimizerConfig } from '../graph/optim.js';
import { TrainStep } from '../runtime/train-step.js';
import { InferenceRunner } from '../runtime/inference.js';
import { argmaxRows } from '../train/metrics.js';
import { mulberry32, permutation } from '../util/random.js';

export interface FeatureMatrix {
  /** rows x dimension, row-major. */
  values: Float32Array;
  rows: number;
  dimension: number;
}

export interface Standardization {
  mean: Float32Array;
  std: Float32Array;
}

export function standardization(features: FeatureMatrix): Standardization {
  const { values, rows, dimension } = features;
  const mean = new Float32Array(dimension);
  const std = new Float32Array(dimension);
  for (let r = 0; r < rows; r++) for (let d = 0; d < dimension; d++) mean[d]! += values[r * dimension + d]! / rows;
  for (let r = 0; r < rows; r++) for (let d = 0; d < dimension; d++) std[d]! += (values[r * dimension + d]! - mean[d]!) ** 2 / rows;
  for (let d = 0; d < dimension; d++) std[d] = Math.sqrt(std[d]!) + 1e-6;
  return { mean, std };
}

export function standardize(features: FeatureMatrix, s: Standardization): FeatureMatrix {
  const out = new Float32Array(features.values.length);
  for (let r = 0; r < features.rows; r++) {
    for (let d = 0; d < features.dimension; d++) out[r * features.dimension + d] = (features.values[r * features.dimension + d]! - s.mean[d]!) / s.std[d]!;
  }
  return { ...features, values: out };
}

export interface SoftmaxRegressionOptions {
  classes: number;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  weightDecay?: number;
  seed?: number;
}

/** Multinomial logistic regression on standardized features, trained with Adam (weight decay as L2). */
export class SoftmaxRegression {
  private constructor(readonly head: Sequential, readonly scaling: Standardization, readonly classes: number) {}

  static async train(features: FeatureMatrix, labels: ArrayLike<number>, options: SoftmaxRegressionOptions): Promise<SoftmaxRegression> {
    const scaling = standardization(features);
    const x = standardize(features, scaling);
    const head = new Sequential(new Dense(features.dimension, options.classes));
    const batchSize = Math.min(options.batchSize ?? 64, features.rows);
    const step = await TrainStep.create(head, {
      inputShape: [features.dimension], optimizer: { kind: 'adam', weightDecay: options.weightDecay ?? 1e-3 } satisfies OptimizerConfig, bnTraining: false,
    });
    const random = mulberry32(options.seed ?? 0);
    try {
      for (let epoch = 0; epoch < (options.epochs ?? 100); epoch++) {
        const order = permutation(features.rows, random);
        for (let start = 0; start + batchSize <= features.rows; start += batchSize) {
          const rows = order.subarray(start, start + batchSize);
          const batch = new Float32Array(batchSize * features.dimension);
          rows.forEach((r, k) => batch.set(x.values.subarray(r * features.dimension, (r + 1) * features.dimension), k * features.dimension));
          await step.step(batch, Array.from(rows, (r) => labels[r]!), options.lr ?? 0.01);
        }
      }
      step.syncToNetwork();
    } finally {
      await step.release();
    }
    return new SoftmaxRegression(head, scaling, options.classes);
  }

  async predict(features: FeatureMatrix): Promise<Int32Array> {
    const runner = await InferenceRunner.create(this.head, [features.dimension]);
    try {
      const out = await runner.run(standardize(features, this.scaling).values, features.rows);
      return argmaxRows(out.data, this.classes);
    } finally {
      await runner.release();
    }
  }
}
