import type { Module } from '../nn/module.js';
import { InferenceRunner } from '../runtime/inference.js';
import type { BatchStream } from '../train/evaluate.js';
import type { FeatureMatrix } from './tensor-classifier.js';

export interface ExtractedFeatures extends FeatureMatrix {
  labels: Int32Array;
}

/** Runs the network up to `stage` (default: the pooled, flattened features) over a loader. */
export async function extractFeatures(net: Module, loader: BatchStream, inputShape: readonly number[], stage = 'flatten'): Promise<ExtractedFeatures> {
  const runner = await InferenceRunner.create(net, inputShape, { until: stage });
  const chunks: Float32Array[] = [];
  const labels: number[] = [];
  let dimension = 0;
  try {
    for await (const batch of loader.epoch(0)) {
      const out = await runner.run(batch.images, batch.labels.length);
      dimension = out.shape.slice(1).reduce((a, b) => a * b, 1);
      chunks.push(out.data);
      labels.push(...batch.labels);
    }
  } finally {
    await runner.release();
  }
  const values = new Float32Array(labels.length * dimension);
  let offset = 0;
  for (const c of chunks) {
    values.set(c, offset);
    offset += c.length;
  }
  return { values, rows: labels.length, dimension, labels: Int32Array.from(labels) };
}
