import type { Module } from '../nn/module.js';
import type { Stages } from '../runtime/compile.js';
import type { BatchStream } from '../train/evaluate.js';
import { collectOutputs, withRunner } from '../train/infer.js';
import type { FeatureMatrix } from './tensor-classifier.js';
import type { Int8Options, Int8Report } from '../runtime/int8.js';

export interface ExtractedFeatures extends FeatureMatrix {
  labels: Int32Array;
}

/**
 * Runs the network up to `stage` (default: the pooled, flattened features) over a loader; given
 * stages instead of a network, runs them all.
 */
export async function extractFeatures(net: Module | Stages, loader: BatchStream, inputShape: readonly number[], stage = 'flatten', int8?: Int8Options): Promise<ExtractedFeatures & { int8?: Int8Report }> {
  const { values, rows, dimension, labels, int8: report } = await withRunner(
    net, inputShape, async (runner) => ({ ...(await collectOutputs(runner, loader)), int8: runner.int8 }), { ...(Array.isArray(net) ? {} : { until: stage }), int8 },
  );
  return { values, rows, dimension, labels, ...(report ? { int8: report } : {}) };
}
