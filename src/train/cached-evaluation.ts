/**
 * The final evaluation of a run whose leading stages were frozen, from the val features its validation
 * already computed: the frozen prefix is a fixed function of each image (weights never trained, BN in
 * inference mode, the same int8 graph), so best.ckpt changes only the trained stages, and only those run
 * again. Tutorial bench (ResNet-50 --precision int8, 60 val JPEGs, 2-core AMD EPYC, loaded, rough): the final
 * evaluation decoded and ran the backbone over every val image again, ~2.2 s wall and ~3.3 s CPU of a 1-epoch
 * run; from the features it runs fc alone and decodes the grid's 12 images.
 */
import type { Module } from '../nn/module.js';
import type { Int8Report } from '../runtime/int8.js';
import { InferenceRunner } from '../runtime/inference.js';
import { stagesOf } from '../runtime/stages.js';
import { numel } from '../tensor.js';
import type { Evaluation } from './evaluate.js';
import { evaluateStream, type InputBatch, type InputStream } from './infer.js';

/** The frozen prefix's outputs of every val batch of one complete validation pass (fit's FitResult.valFeatures). */
export interface FrozenFeatures {
  batches: readonly InputBatch[];
  /** One example's features ([C, H, W] or [C]). */
  shape: readonly number[];
  /** The int8 graph that computed them (none: float32). */
  int8?: Int8Report;
}

/**
 * The evaluation of `net` with its first `frozenStages` stages replaced by `features`, example by example in
 * `order` (dataset positions, e.g. a shuffled loader's `order(0)`), `batchSize` at a time. Positions without
 * features are left out, as the loader drops an image that failed to decode (the validation pass dropped it
 * too). Undefined when the features hold none of `order`.
 */
export async function evaluateOnFeatures(net: Module, features: FrozenFeatures, frozenStages: number, order: ArrayLike<number>, batchSize: number): Promise<Evaluation | undefined> {
  const size = numel(features.shape);
  const rows = new Map<number, { values: Float32Array; label: number }>();
  for (const batch of features.batches) {
    for (let k = 0; k < batch.labels.length; k++) rows.set(batch.indices[k]!, { values: batch.images.subarray(k * size, (k + 1) * size), label: batch.labels[k]! });
  }
  const kept = Array.from(order).filter((index) => rows.has(index));
  if (kept.length === 0) return undefined;
  const stream: InputStream = {
    steps: Math.ceil(kept.length / batchSize),
    epoch: async function* () {
      for (let start = 0; start < kept.length; start += batchSize) {
        const indices = Int32Array.from(kept.slice(start, start + batchSize));
        const images = new Float32Array(indices.length * size);
        indices.forEach((index, k) => images.set(rows.get(index)!.values, k * size));
        yield { images, labels: Int32Array.from(indices, (index) => rows.get(index)!.label), indices };
      }
    },
  };
  const stages = stagesOf(net);
  if (frozenStages <= 0 || frozenStages >= stages.length) throw new Error(`evaluateOnFeatures: ${frozenStages} frozen stages of ${stages.length}; the features must stand for a proper prefix`);
  const runner = await InferenceRunner.create(stages.slice(frozenStages), features.shape);
  try {
    return (await evaluateStream(runner, stream)).evaluation;
  } finally {
    await runner.release();
  }
}
